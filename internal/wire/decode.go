package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	ecsdocument "github.com/aws/aws-sdk-go-v2/service/ecs/document"
)

// DecodeError is a request body that does not fit the model: not JSON, or a
// member of the wrong type. The protocol answers it as SerializationException.
type DecodeError struct {
	Path    string // e.g. "containerDefinitions[0].memory"
	Message string
}

func (e *DecodeError) Error() string { return e.Message }

// EnumError is a member whose string is not one of the model's enum values.
// ECS answers these as client errors naming the member, not as
// serialization failures, so the caller decides the wording.
type EnumError struct {
	Path  string
	Value string
	// Allowed are the model's values, sorted.
	Allowed []string
	// Declared are the model's values in the order the model declares
	// them, which is the order ECS lists them in ("should be one of
	// [ENABLED,DISABLED]").
	Declared []string
}

func (e *EnumError) Error() string {
	return fmt.Sprintf("%s: %q is not a valid value", e.Path, e.Value)
}

// Unmarshal decodes an AWS JSON 1.1 body into v, a pointer to an SDK
// struct. Unknown members are ignored, as AWS services do; null members are
// treated as absent. Enum values outside the model are kept and reported as
// the first *EnumError after the whole body has been decoded, so that a
// structural error always wins.
func Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("wire: Unmarshal needs a non-nil pointer, got %T", v)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		// The AWS CLI and SDKs always send at least "{}", but an empty body
		// is what a bare curl sends; treat it as an empty structure.
		data = []byte("{}")
	}
	pl := planFor(rv.Elem().Type())
	if fastUnmarshal(data, rv.Elem(), pl) {
		return nil
	}
	// Something the fast path leaves to the tree: decode from scratch.
	rv.Elem().SetZero()
	return unmarshalTree(data, rv.Elem(), pl)
}

// unmarshalTree parses data into a tree and walks it into v. It is the
// reference decoder: every error Unmarshal returns comes from here.
func unmarshalTree(data []byte, v reflect.Value, pl *plan) error {
	tree, err := parseJSON(data)
	switch err {
	case errNotJSON:
		return &DecodeError{Message: "The request body is not valid JSON."}
	case errTrailing:
		return &DecodeError{Message: "Unexpected content after the end of the JSON document."}
	}
	d := decoder{}
	if err := d.value(tree, v, pl, ""); err != nil {
		return err
	}
	if d.enumErr != nil {
		return d.enumErr
	}
	return nil
}

type decoder struct {
	enumErr *EnumError
}

func join(path, member string) string {
	if path == "" {
		return member
	}
	return path + "." + member
}

// valueToken names a JSON scalar the way AWS's JSON parser does in its
// SerializationException messages.
func valueToken(j any) string {
	switch x := j.(type) {
	case string:
		return "STRING_VALUE"
	case json.Number:
		return "NUMBER_VALUE"
	case bool:
		if x {
			return "TRUE_VALUE"
		}
		return "FALSE_VALUE"
	}
	return "VALUE"
}

// mismatch words a type error exactly as AWS JSON 1.1 services do, e.g.
// "STRING_VALUE can not be converted to an Integer".
func mismatch(path, want string, got any) error {
	var msg string
	switch got.(type) {
	case map[string]any:
		msg = "Start of structure or map found where not expected."
	case []any:
		msg = "Start of list found where not expected"
	default:
		switch want {
		case "list":
			msg = "Expected list or null"
		case "map":
			msg = "Expected map or null"
		case "structure", "union":
			msg = "Expected null"
		default:
			msg = valueToken(got) + " can not be converted to " + want
		}
	}
	return &DecodeError{Path: path, Message: msg}
}

func (d *decoder) value(j any, v reflect.Value, p *plan, path string) error {
	switch p.kind {
	case kPointer:
		if j == nil {
			return nil
		}
		nv := reflect.New(p.t.Elem())
		if err := d.value(j, nv.Elem(), p.elem, path); err != nil {
			return err
		}
		v.Set(nv)
		return nil
	case kString:
		s, ok := j.(string)
		if !ok {
			return mismatch(path, "a String", j)
		}
		if p.enum != nil && !p.enum[s] && d.enumErr == nil {
			allowed := make([]string, 0, len(p.enum))
			for v := range p.enum {
				allowed = append(allowed, v)
			}
			sort.Strings(allowed)
			d.enumErr = &EnumError{Path: path, Value: s, Allowed: allowed, Declared: p.enumOrder}
		}
		v.SetString(s)
	case kBool:
		b, ok := j.(bool)
		if !ok {
			return mismatch(path, "a Boolean", j)
		}
		v.SetBool(b)
	case kInt32, kInt64, kInt:
		n, ok := j.(json.Number)
		want := "a Long"
		if p.kind == kInt32 {
			want = "an Integer"
		}
		if !ok {
			return mismatch(path, want, j)
		}
		overflow := &DecodeError{Path: path, Message: "NUMBER_VALUE can not be converted to " + want}
		// Whole numbers are parsed exactly: as a float64, 2^63 and a little
		// more look like MaxInt64 and would wrap. Only a fraction or an
		// exponent goes through float64, truncated as AWS does.
		i, err := strconv.ParseInt(string(n), 10, 64)
		if errors.Is(err, strconv.ErrRange) {
			return overflow
		}
		if err != nil {
			f, err := strconv.ParseFloat(string(n), 64)
			t := math.Trunc(f)
			if err != nil || !(t >= math.MinInt64 && t < -math.MinInt64) {
				return overflow
			}
			i = int64(t)
		}
		if p.kind == kInt32 && (i < math.MinInt32 || i > math.MaxInt32) {
			return overflow
		}
		v.SetInt(i)
	case kFloat32, kFloat64:
		n, ok := j.(json.Number)
		if !ok {
			return mismatch(path, "a Double", j)
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.IsInf(f, 0) {
			return &DecodeError{Path: path, Message: fmt.Sprintf("%s is out of range for a double: %s.", path, n)}
		}
		v.SetFloat(f)
	case kTime:
		n, ok := j.(json.Number)
		if !ok {
			return mismatch(path, "a Date", j)
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.IsInf(f, 0) || math.Abs(f) > 1e11 {
			return &DecodeError{Path: path, Message: fmt.Sprintf("%s is not a valid timestamp: %s.", path, n)}
		}
		v.Set(reflect.ValueOf(epochToTime(f)))
	case kBlob:
		s, ok := j.(string)
		if !ok {
			return mismatch(path, "a ByteBuffer", j)
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return &DecodeError{Path: path, Message: fmt.Sprintf("%s is not valid base64.", path)}
		}
		v.SetBytes(b)
	case kBigInt:
		n, ok := j.(json.Number)
		if !ok {
			return mismatch(path, "a BigDecimal", j)
		}
		if _, ok := v.Addr().Interface().(*big.Int).SetString(string(n), 10); !ok {
			return &DecodeError{Path: path, Message: "NUMBER_VALUE can not be converted to a BigInteger"}
		}
	case kBigFloat:
		n, ok := j.(json.Number)
		if !ok {
			return mismatch(path, "a BigDecimal", j)
		}
		if _, ok := v.Addr().Interface().(*big.Float).SetString(string(n)); !ok {
			return &DecodeError{Path: path, Message: fmt.Sprintf("%s is not a number: %s.", path, n)}
		}
	case kDocument:
		if j == nil {
			return nil
		}
		// Keep only documents the SDK's encoder can write back (it refuses
		// empty object keys and numbers beyond float64), so that whatever
		// decodes can be encoded again.
		invalid := &DecodeError{Path: path, Message: fmt.Sprintf("%s is not a document ecsd can represent.", path)}
		plain, ok := plainJSON(j)
		if !ok {
			return invalid
		}
		doc := ecsdocument.NewLazyDocument(plain)
		if raw, err := doc.MarshalSmithyDocument(); err != nil || !json.Valid(raw) {
			return invalid
		}
		v.Set(reflect.ValueOf(doc))
	case kList:
		if j == nil {
			return nil
		}
		arr, ok := j.([]any)
		if !ok {
			return mismatch(path, "list", j)
		}
		s := reflect.MakeSlice(p.t, 0, len(arr))
		for i, e := range arr {
			if e == nil {
				// Sparse lists are not part of the ECS model. AWS's JSON
				// services drop null entries; a zero entry in their place
				// would be a phantom (an empty container definition) or
				// not encodable at all (an empty enum is not a value).
				continue
			}
			ev := reflect.New(p.t.Elem()).Elem()
			if err := d.value(e, ev, p.elem, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
			s = reflect.Append(s, ev)
		}
		v.Set(s)
	case kMap:
		if j == nil {
			return nil
		}
		obj, ok := j.(map[string]any)
		if !ok {
			return mismatch(path, "map", j)
		}
		m := reflect.MakeMapWithSize(p.t, len(obj))
		for k, e := range obj {
			if e == nil {
				continue
			}
			ev := reflect.New(p.t.Elem()).Elem()
			if err := d.value(e, ev, p.elem, path+"["+strconv.Quote(k)+"]"); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(k).Convert(p.t.Key()), ev)
		}
		v.Set(m)
	case kStruct:
		obj, ok := j.(map[string]any)
		if !ok {
			return mismatch(path, "structure", j)
		}
		for name, e := range obj {
			i, ok := p.byName[name]
			if !ok || e == nil {
				continue // unknown members are ignored, as AWS does
			}
			f := p.fields[i]
			if err := d.value(e, v.Field(f.index), f.plan, join(path, name)); err != nil {
				return err
			}
		}
	case kUnion:
		if j == nil {
			return nil
		}
		obj, ok := j.(map[string]any)
		if !ok {
			return mismatch(path, "union", j)
		}
		var set []string
		for name, e := range obj {
			if e != nil {
				set = append(set, name)
			}
		}
		if len(set) != 1 {
			return &DecodeError{Path: path, Message: fmt.Sprintf("%s must set exactly one member, got %d.", path, len(set))}
		}
		vp, ok := p.variants[set[0]]
		if !ok {
			return &DecodeError{Path: path, Message: fmt.Sprintf("%s has no member %s.", path, set[0])}
		}
		nv := reflect.New(vp.t.Elem())
		if err := d.value(obj[set[0]], nv.Elem().FieldByName("Value"), vp.elem, join(path, set[0])); err != nil {
			return err
		}
		v.Set(nv)
	default:
		return fmt.Errorf("wire: no decoder for %v", p.t)
	}
	return nil
}

// plainJSON turns json.Number leaves into float64 or int64 so documents
// hold ordinary Go values. It reports false for a number beyond float64,
// which the SDK's document encoder cannot write (it panics on infinities).
func plainJSON(j any) (any, bool) {
	switch x := j.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, true
		}
		f, err := x.Float64()
		return f, err == nil
	case []any:
		for i := range x {
			v, ok := plainJSON(x[i])
			if !ok {
				return j, false
			}
			x[i] = v
		}
	case map[string]any:
		for k := range x {
			v, ok := plainJSON(x[k])
			if !ok {
				return j, false
			}
			x[k] = v
		}
	}
	return j, true
}

// epochToTime converts epoch seconds with a fraction to a time with
// millisecond precision, the precision ECS keeps.
func epochToTime(f float64) time.Time {
	ms := math.Round(f * 1000)
	return time.UnixMilli(int64(ms)).UTC()
}

// MemberName returns the wire member name of a Go field of an SDK struct,
// for messages that must name members as the client spelled them.
func MemberName(t reflect.Type, field string) string {
	p := planFor(t)
	for _, f := range p.fields {
		if strings.EqualFold(f.name, field) {
			return f.name
		}
	}
	return field
}
