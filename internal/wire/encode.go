package wire

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"

	smithydoc "github.com/aws/smithy-go/document"
)

// Marshal encodes v, an SDK struct or a pointer to one, as AWS JSON 1.1:
// lowerCamel member names from the model, timestamps as epoch seconds with
// millisecond fractions, absent optional members omitted.
//
// Members the model declares as primitives (non-pointer numbers and
// booleans, such as a container's cpu or a service's runningCount) are
// always written, zero included, because that is what ECS returns.
func Marshal(v any) ([]byte, error) {
	return AppendMarshal(nil, v)
}

// AppendMarshal is Marshal appending to b.
func AppendMarshal(b []byte, v any) (out []byte, err error) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return append(b, "{}"...), nil
		}
		rv = rv.Elem()
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("wire: marshal %T: %v", v, r)
		}
	}()
	return appendValue(b, rv, planFor(rv.Type()))
}

func appendValue(b []byte, v reflect.Value, p *plan) ([]byte, error) {
	switch p.kind {
	case kPointer:
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		return appendValue(b, v.Elem(), p.elem)
	case kString:
		return AppendString(b, v.String()), nil
	case kBool:
		return strconv.AppendBool(b, v.Bool()), nil
	case kInt32, kInt64, kInt:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case kFloat32, kFloat64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return append(b, "null"...), nil
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64), nil
	case kTime:
		return appendTime(b, v.Interface().(time.Time)), nil
	case kBlob:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v.Bytes())
		return append(b, '"'), nil
	case kBigInt:
		bi := v.Addr().Interface().(*big.Int)
		return bi.Append(b, 10), nil
	case kBigFloat:
		bf := v.Addr().Interface().(*big.Float)
		return bf.Append(b, 'g', -1), nil
	case kDocument:
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		raw, err := v.Interface().(smithydoc.Marshaler).MarshalSmithyDocument()
		if err != nil {
			return nil, err
		}
		if !json.Valid(raw) {
			return nil, fmt.Errorf("wire: document is not JSON")
		}
		return append(b, raw...), nil
	case kList:
		b = append(b, '[')
		for i := range v.Len() {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, v.Index(i), p.elem); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case kMap:
		b = append(b, '{')
		for i, it := 0, v.MapRange(); it.Next(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, it.Key().String())
			b = append(b, ':')
			var err error
			if b, err = appendValue(b, it.Value(), p.elem); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case kStruct:
		b = append(b, '{')
		first := true
		for _, f := range p.fields {
			fv := v.Field(f.index)
			if omit(fv, f.plan) {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = AppendString(b, f.name)
			b = append(b, ':')
			var err error
			if b, err = appendValue(b, fv, f.plan); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case kUnion:
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		variant := v.Elem()
		name, ok := p.byType[variant.Type()]
		if !ok {
			return nil, fmt.Errorf("wire: unknown variant %v of union %v", variant.Type(), p.t)
		}
		b = append(b, '{')
		b = AppendString(b, name)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, variant.Elem().FieldByName("Value"), p.variants[name].elem); err != nil {
			return nil, err
		}
		return append(b, '}'), nil
	}
	return nil, fmt.Errorf("wire: no encoder for %v", p.t)
}

// omit reports whether a struct member is absent on the wire.
func omit(v reflect.Value, p *plan) bool {
	switch p.kind {
	case kPointer, kList, kMap, kDocument, kUnion, kBlob:
		return v.IsNil()
	case kString:
		return v.Len() == 0 // unset enum
	case kTime:
		return v.Interface().(time.Time).IsZero()
	}
	return false
}

// appendTime writes epoch seconds with up to millisecond precision, the
// way ECS does (1700000000.123).
func appendTime(b []byte, t time.Time) []byte {
	ms := t.UnixMilli()
	// The text is sign, magnitude: -1.5 s is "-1.5", so split the
	// magnitude, not the signed value (which would floor to "-2.5").
	mag := uint64(ms)
	if ms < 0 {
		b = append(b, '-')
		mag = -mag
	}
	sec, frac := mag/1000, mag%1000
	b = strconv.AppendUint(b, sec, 10)
	if frac != 0 {
		b = append(b, '.')
		s := strconv.Itoa(int(frac) + 1000)[1:] // zero-padded to 3 digits
		for len(s) > 0 && s[len(s)-1] == '0' {
			s = s[:len(s)-1]
		}
		b = append(b, s...)
	}
	return b
}

const hexDigits = "0123456789abcdef"

// AppendString writes s as a JSON string. Invalid UTF-8 becomes U+FFFD so
// the output is always valid JSON.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
