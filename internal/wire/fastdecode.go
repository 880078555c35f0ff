package wire

import (
	"encoding/base64"
	"math"
	"math/big"
	"reflect"
	"strconv"
)

// fastUnmarshal decodes data straight into v, without building the tree
// that unmarshalTree walks. It handles well-formed documents whose members
// all fit the model, which is every document ecsd stores and nearly every
// request, and reports false at the first thing it does not handle the same
// way: a syntax or type error, an enum value outside the model, trailing
// content, a member given twice. The caller then zeroes v and decodes again
// with unmarshalTree, so every error, and every oddity of the tree (the last
// of duplicate members wins), comes from that one place.
//
// Decoding stored documents was most of a DescribeTaskDefinition; this
// takes a quarter of the time and half of the allocations: no tree, and
// whole numbers are read without a string. Strings are copied one by one
// rather than sliced from one copy of the input, so that a decoded value
// kept for long (the task supervisor keeps every live task) does not keep
// its whole document alive.
func fastUnmarshal(data []byte, v reflect.Value, pl *plan) bool {
	f := fastDecoder{parser: parser{data: data}}
	f.skipSpace()
	if !f.decode(v, pl) {
		return false
	}
	f.skipSpace()
	// As parseJSON: a ']' or '}' after the document passes, anything else
	// is for unmarshalTree to refuse.
	return f.pos >= len(f.data) || f.data[f.pos] == ']' || f.data[f.pos] == '}'
}

type fastDecoder struct {
	parser
}

func (f *fastDecoder) peek() byte {
	if f.pos < len(f.data) {
		return f.data[f.pos]
	}
	return 0
}

// null consumes a null literal if one is next.
func (f *fastDecoder) null() bool {
	if f.peek() == 'n' && f.literal("null") == nil {
		return true
	}
	return false
}

// str reads a string.
func (f *fastDecoder) str() (string, bool) {
	if f.peek() != '"' {
		return "", false
	}
	d := f.data
	for i := f.pos + 1; i < len(d); i++ {
		c := d[i]
		if c == '"' {
			s := string(d[f.pos+1 : i])
			f.pos = i + 1
			return s, true
		}
		if c == '\\' || c < ' ' || c >= 0x80 {
			s, err := f.slowString(i)
			return s, err == nil
		}
	}
	return "", false
}

// num reads a number's text.
func (f *fastDecoder) num() ([]byte, bool) {
	c := f.peek()
	if c != '-' && (c < '0' || c > '9') {
		return nil, false
	}
	start := f.pos
	if f.scanNumber() != nil {
		return nil, false
	}
	return f.data[start:f.pos], true
}

// wholeNumber reads a number of at most 18 digits without a fraction or an
// exponent: every int32 and int64 the model's documents hold. Others go to
// the tree, which truncates fractions and refuses overflow as AWS does.
func wholeNumber(n []byte) (int64, bool) {
	neg := len(n) > 0 && n[0] == '-'
	if neg {
		n = n[1:]
	}
	if len(n) == 0 || len(n) > 18 {
		return 0, false
	}
	var i int64
	for _, c := range n {
		if c < '0' || c > '9' {
			return 0, false
		}
		i = i*10 + int64(c-'0')
	}
	if neg {
		i = -i
	}
	return i, true
}

// enter and leave count nesting as parseJSON does, so that a document too
// deep for it is refused here too.
func (f *fastDecoder) enter() bool {
	f.depth++
	return f.depth <= maxDepth
}

func (f *fastDecoder) leave() { f.depth-- }

// next moves past a ',' (true, more to come) or the closing byte (false).
// ok is false on anything else.
func (f *fastDecoder) next(closing byte) (more, ok bool) {
	f.skipSpace()
	switch f.peek() {
	case ',':
		f.pos++
		f.skipSpace()
		return true, true
	case closing:
		f.pos++
		return false, true
	}
	return false, false
}

// open moves past the opening byte and reports whether the container is
// empty (its closing byte consumed).
func (f *fastDecoder) open(opening, closing byte) (empty, ok bool) {
	if f.peek() != opening || !f.enter() {
		return false, false
	}
	f.pos++
	f.skipSpace()
	if f.peek() == closing {
		f.pos++
		f.leave()
		return true, true
	}
	return false, true
}

// key reads a member name and the colon after it.
func (f *fastDecoder) key() (string, bool) {
	k, ok := f.str()
	if !ok {
		return "", false
	}
	f.skipSpace()
	if f.peek() != ':' {
		return "", false
	}
	f.pos++
	f.skipSpace()
	return k, true
}

func (f *fastDecoder) decode(v reflect.Value, p *plan) bool {
	switch p.kind {
	case kPointer:
		if f.null() {
			return true
		}
		nv := reflect.New(p.t.Elem())
		if !f.decode(nv.Elem(), p.elem) {
			return false
		}
		v.Set(nv)
		return true
	case kString:
		s, ok := f.str()
		if !ok || p.enum != nil && !p.enum[s] {
			return false
		}
		v.SetString(s)
		return true
	case kBool:
		switch f.peek() {
		case 't':
			v.SetBool(true)
			return f.literal("true") == nil
		case 'f':
			v.SetBool(false)
			return f.literal("false") == nil
		}
		return false
	case kInt32, kInt64, kInt:
		n, ok := f.num()
		if !ok {
			return false
		}
		i, ok := wholeNumber(n)
		if !ok || p.kind == kInt32 && (i < math.MinInt32 || i > math.MaxInt32) {
			return false
		}
		v.SetInt(i)
		return true
	case kFloat32, kFloat64:
		n, ok := f.num()
		if !ok {
			return false
		}
		x, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.IsInf(x, 0) {
			return false
		}
		v.SetFloat(x)
		return true
	case kTime:
		n, ok := f.num()
		if !ok {
			return false
		}
		x, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.IsInf(x, 0) || math.Abs(x) > 1e11 {
			return false
		}
		v.Set(reflect.ValueOf(epochToTime(x)))
		return true
	case kBlob:
		s, ok := f.str()
		if !ok {
			return false
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return false
		}
		v.SetBytes(b)
		return true
	case kBigInt:
		n, ok := f.num()
		if !ok {
			return false
		}
		_, ok = v.Addr().Interface().(*big.Int).SetString(string(n), 10)
		return ok
	case kBigFloat:
		n, ok := f.num()
		if !ok {
			return false
		}
		_, ok = v.Addr().Interface().(*big.Float).SetString(string(n))
		return ok
	case kDocument, kUnion:
		// Rare, and both need the whole value before deciding anything:
		// parse it and let the tree walker decide.
		if f.null() {
			return true
		}
		j, err := f.value()
		if err != nil {
			return false
		}
		var d decoder
		return d.value(j, v, p, "") == nil && d.enumErr == nil
	case kList:
		return f.list(v, p)
	case kMap:
		return f.dict(v, p)
	case kStruct:
		return f.structure(v, p)
	}
	return false
}

func (f *fastDecoder) list(v reflect.Value, p *plan) bool {
	if f.null() {
		return true
	}
	empty, ok := f.open('[', ']')
	if !ok {
		return false
	}
	if empty {
		v.Set(reflect.MakeSlice(p.t, 0, 0))
		return true
	}
	// Lists of structures (container definitions, port mappings) are
	// short and their elements large: start with room for one.
	n := 4
	if p.t.Elem().Size() > 64 {
		n = 1
	}
	s := reflect.MakeSlice(p.t, 0, n)
	{
		for {
			if !f.null() {
				s = reflect.Append(s, reflect.Zero(p.t.Elem()))
				if !f.decode(s.Index(s.Len()-1), p.elem) {
					return false
				}
			}
			more, ok := f.next(']')
			if !ok {
				return false
			}
			if !more {
				break
			}
		}
		f.leave()
	}
	v.Set(s)
	return true
}

func (f *fastDecoder) dict(v reflect.Value, p *plan) bool {
	if f.null() {
		return true
	}
	empty, ok := f.open('{', '}')
	if !ok {
		return false
	}
	m := reflect.MakeMap(p.t)
	if !empty {
		var seen []string
		for {
			k, ok := f.key()
			if !ok {
				return false
			}
			for _, s := range seen {
				if s == k {
					return false // the tree keeps the last; let it
				}
			}
			seen = append(seen, k)
			if !f.null() {
				ev := reflect.New(p.t.Elem()).Elem()
				if !f.decode(ev, p.elem) {
					return false
				}
				m.SetMapIndex(reflect.ValueOf(k).Convert(p.t.Key()), ev)
			}
			more, ok := f.next('}')
			if !ok {
				return false
			}
			if !more {
				break
			}
		}
		f.leave()
	}
	v.Set(m)
	return true
}

func (f *fastDecoder) structure(v reflect.Value, p *plan) bool {
	empty, ok := f.open('{', '}')
	if !ok {
		return false
	}
	if empty {
		return true
	}
	// Members seen, by field: the model's largest structure has about 60.
	var seen [2]uint64
	for {
		k, ok := f.key()
		if !ok {
			return false
		}
		i, known := p.byName[k]
		switch {
		case !known:
			if _, err := f.value(); err != nil { // ignored, as AWS does
				return false
			}
		case i < 128 && seen[i/64]&(1<<(i%64)) != 0:
			return false // given twice: the tree keeps the last; let it
		case i >= 128:
			return false
		default:
			seen[i/64] |= 1 << (i % 64)
			if !f.null() {
				fp := p.fields[i]
				if !f.decode(v.Field(fp.index), fp.plan) {
					return false
				}
			}
		}
		more, ok := f.next('}')
		if !ok {
			return false
		}
		if !more {
			break
		}
	}
	f.leave()
	return true
}
