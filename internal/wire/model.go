package wire

import (
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	smithydoc "github.com/aws/smithy-go/document"

	smithy "github.com/aws/smithy-go"
)

// Operation is one operation of an official model (ECS, CloudWatch Logs): its name and the
// SDK's Input and Output types, discovered from the client's method set so
// that no operation is listed by hand.
type Operation struct {
	Name   string
	Input  reflect.Type // struct type, e.g. ecs.RegisterTaskDefinitionInput
	Output reflect.Type // struct type
}

var (
	opsOnce     sync.Once
	ops         map[string]Operation
	logsOpsOnce sync.Once
	logsOps     map[string]Operation
)

// Operations returns every operation of the official ECS API, by name.
func Operations() map[string]Operation {
	opsOnce.Do(func() { ops = operationsOf(reflect.TypeFor[*ecs.Client]()) })
	return ops
}

// LogsOperations returns every operation of the official CloudWatch Logs
// API, by name.
func LogsOperations() map[string]Operation {
	logsOpsOnce.Do(func() { logsOps = operationsOf(reflect.TypeFor[*cloudwatchlogs.Client]()) })
	return logsOps
}

// operationsOf lists the operations of an SDK client from its method set:
// every method (ctx, *<Op>Input, ...func(*Options)) (*<Op>Output, error).
func operationsOf(client reflect.Type) map[string]Operation {
	found := map[string]Operation{}
	ctxType := reflect.TypeFor[interface{ Done() <-chan struct{} }]()
	for i := range client.NumMethod() {
		m := client.Method(i)
		t := m.Type // receiver, ctx, *Input, ...func(*Options)
		if t.NumIn() != 4 || t.NumOut() != 2 || !t.In(1).Implements(ctxType) {
			continue
		}
		in, out := t.In(2), t.Out(0)
		if in.Kind() != reflect.Pointer || out.Kind() != reflect.Pointer ||
			in.Elem().Name() != m.Name+"Input" || out.Elem().Name() != m.Name+"Output" {
			continue
		}
		found[m.Name] = Operation{Name: m.Name, Input: in.Elem(), Output: out.Elem()}
	}
	return found
}

// schemaOf returns the model schema of a Go type of the SDK by running its
// generated Serialize against a recorder that keeps the first schema written.
func schemaOf(t reflect.Type) *smithy.Schema {
	v := reflect.New(t).Interface()
	s, ok := v.(smithy.Serializable)
	if !ok {
		return nil
	}
	var r schemaRecorder
	func() {
		// A zero value may make generated code dereference nil in unexpected
		// places; the recorder only needs the first write.
		defer func() { _ = recover() }()
		s.Serialize(&r)
	}()
	return r.first
}

// plan is the cached description of how one Go type maps onto the wire.
type plan struct {
	kind   planKind
	t      reflect.Type
	schema *smithy.Schema // struct/union schema
	fields []fieldPlan    // structs: in Go field order
	byName map[string]int // member name -> index into fields
	elem   *plan          // pointer, list and map values; union variant value
	// unions
	variants map[string]variantPlan // member name -> variant
	byType   map[reflect.Type]string
	enum     map[string]bool // allowed values of an enum string type
	// enumOrder lists the enum's values in the order the model declares
	// them, the order ECS names them in its errors.
	enumOrder []string
}

type variantPlan struct {
	t    reflect.Type // pointer to the variant struct
	elem *plan        // plan of its Value field
}

type fieldPlan struct {
	name   string // wire member name
	index  int
	plan   *plan
	member *smithy.Schema
}

type planKind int

const (
	kString planKind = iota
	kBool
	kInt32
	kInt64
	kInt
	kFloat32
	kFloat64
	kTime
	kBlob
	kBigInt
	kBigFloat
	kPointer
	kStruct
	kList
	kMap
	kDocument
	kUnion
)

var (
	plansMu sync.Mutex
	plans   sync.Map // reflect.Type -> *plan
)

var (
	timeType     = reflect.TypeFor[time.Time]()
	documentType = reflect.TypeFor[smithydoc.Marshaler]()
	bigIntType   = reflect.TypeFor[big.Int]()
	bigFloatType = reflect.TypeFor[big.Float]()
)

// planFor returns the plan for t, building and caching it on first use.
func planFor(t reflect.Type) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	plansMu.Lock()
	defer plansMu.Unlock()
	building := map[reflect.Type]*plan{}
	p, err := buildPlan(t, building)
	if err != nil {
		panic(err) // a model the codec cannot express is a programming error
	}
	for bt, bp := range building {
		plans.LoadOrStore(bt, bp)
	}
	return p
}

func buildPlan(t reflect.Type, building map[reflect.Type]*plan) (*plan, error) {
	if p, ok := plans.Load(t); ok {
		return p.(*plan), nil
	}
	if p, ok := building[t]; ok {
		return p, nil // recursive shapes
	}
	p := &plan{t: t}
	building[t] = p
	switch {
	case t == timeType:
		p.kind = kTime
		return p, nil
	case t == bigIntType:
		p.kind = kBigInt
		return p, nil
	case t == bigFloatType:
		p.kind = kBigFloat
		return p, nil
	case t.Kind() == reflect.Interface && t.Implements(documentType):
		p.kind = kDocument
		return p, nil
	}
	switch t.Kind() {
	case reflect.String:
		p.kind = kString
		if t.PkgPath() != "" {
			p.enum, p.enumOrder = enumValues(t)
		}
	case reflect.Bool:
		p.kind = kBool
	case reflect.Int32:
		p.kind = kInt32
	case reflect.Int64:
		p.kind = kInt64
	case reflect.Int:
		p.kind = kInt
	case reflect.Float32:
		p.kind = kFloat32
	case reflect.Float64:
		p.kind = kFloat64
	case reflect.Pointer:
		p.kind = kPointer
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			p.kind = kBlob
			return p, nil
		}
		p.kind = kList
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("wire: map key of %v is not a string", t)
		}
		p.kind = kMap
	case reflect.Interface:
		variants, ok := unionVariants[t]
		if !ok {
			variants, ok = logsUnionVariants[t]
		}
		if !ok {
			return nil, fmt.Errorf("wire: interface %v is neither a document nor a known union", t)
		}
		p.kind = kUnion
		p.variants = map[string]variantPlan{}
		p.byType = map[reflect.Type]string{}
		for _, v := range variants {
			vt := reflect.TypeOf(v)
			s := schemaOf(vt.Elem())
			if s == nil || s.MemberName() == "" {
				return nil, fmt.Errorf("wire: no member schema for union variant %v", vt)
			}
			vf, ok := vt.Elem().FieldByName("Value")
			if !ok {
				return nil, fmt.Errorf("wire: union variant %v has no Value", vt)
			}
			e, err := buildPlan(vf.Type, building)
			if err != nil {
				return nil, err
			}
			p.variants[s.MemberName()] = variantPlan{t: vt, elem: e}
			p.byType[vt] = s.MemberName()
		}
	case reflect.Struct:
		p.kind = kStruct
		p.schema = schemaOf(t)
		p.byName = map[string]int{}
		if p.schema == nil {
			// An operation whose answer is the model's Unit (CloudWatch
			// Logs' CreateLogGroup) writes a struct without a schema and
			// has no members: it is {} on the wire.
			if !unitStruct(t) {
				return nil, fmt.Errorf("wire: no schema for struct %v", t)
			}
			return p, nil
		}
		members := p.schema.Members()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || f.Name == "ResultMetadata" {
				continue
			}
			name, member := memberFor(members, f.Name)
			if member == nil {
				return nil, fmt.Errorf("wire: field %v.%s has no member in schema %s", t, f.Name, p.schema.ID().Name)
			}
			fp, err := buildPlan(f.Type, building)
			if err != nil {
				return nil, err
			}
			p.byName[name] = len(p.fields)
			p.fields = append(p.fields, fieldPlan{name: name, index: i, plan: fp, member: member})
		}
		if len(p.fields) != len(members) {
			return nil, fmt.Errorf("wire: %v has %d fields for %d schema members", t, len(p.fields), len(members))
		}
	default:
		return nil, fmt.Errorf("wire: unsupported kind %v for %v", t.Kind(), t)
	}
	// Pointers, lists and maps share one rule: plan the element type.
	if p.kind == kPointer || p.kind == kList || p.kind == kMap {
		e, err := buildPlan(t.Elem(), building)
		if err != nil {
			return nil, err
		}
		p.elem = e
	}
	return p, nil
}

// unitStruct reports whether t has no members: no exported field besides
// the SDK's ResultMetadata.
func unitStruct(t reflect.Type) bool {
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() && f.Name != "ResultMetadata" {
			return false
		}
	}
	return true
}

// memberFor finds the schema member that a Go field stands for. Smithy's Go
// generator capitalises member names, so the match is case-insensitive.
func memberFor(members map[string]*smithy.Schema, field string) (string, *smithy.Schema) {
	if m, ok := members[field]; ok {
		return field, m
	}
	for name, m := range members {
		if strings.EqualFold(name, field) {
			return name, m
		}
	}
	return "", nil
}

// enumValues returns the model's allowed values for an enum string type,
// from its generated Values method, as a set and in declared order.
func enumValues(t reflect.Type) (map[string]bool, []string) {
	m, ok := t.MethodByName("Values")
	if !ok || m.Type.NumIn() != 1 || m.Type.NumOut() != 1 {
		return nil, nil
	}
	out := m.Func.Call([]reflect.Value{reflect.Zero(t)})[0]
	vals := make(map[string]bool, out.Len())
	order := make([]string, 0, out.Len())
	for i := range out.Len() {
		vals[out.Index(i).String()] = true
		order = append(order, out.Index(i).String())
	}
	return vals, order
}

// schemaRecorder is a smithy.ShapeSerializer that remembers the first
// schema it is handed and ignores everything else.
type schemaRecorder struct{ first *smithy.Schema }

func (r *schemaRecorder) keep(s *smithy.Schema) {
	if r.first == nil {
		r.first = s
	}
}

func (r *schemaRecorder) Bytes() []byte                                     { return nil }
func (r *schemaRecorder) WriteInt8(s *smithy.Schema, _ int8)                { r.keep(s) }
func (r *schemaRecorder) WriteInt16(s *smithy.Schema, _ int16)              { r.keep(s) }
func (r *schemaRecorder) WriteInt32(s *smithy.Schema, _ int32)              { r.keep(s) }
func (r *schemaRecorder) WriteInt64(s *smithy.Schema, _ int64)              { r.keep(s) }
func (r *schemaRecorder) WriteFloat32(s *smithy.Schema, _ float32)          { r.keep(s) }
func (r *schemaRecorder) WriteFloat64(s *smithy.Schema, _ float64)          { r.keep(s) }
func (r *schemaRecorder) WriteBool(s *smithy.Schema, _ bool)                { r.keep(s) }
func (r *schemaRecorder) WriteString(s *smithy.Schema, _ string)            { r.keep(s) }
func (r *schemaRecorder) WriteBigInt(s *smithy.Schema, _ *big.Int)          { r.keep(s) }
func (r *schemaRecorder) WriteBigFloat(s *smithy.Schema, _ *big.Float)      { r.keep(s) }
func (r *schemaRecorder) WriteBlob(s *smithy.Schema, _ []byte)              { r.keep(s) }
func (r *schemaRecorder) WriteTime(s *smithy.Schema, _ time.Time)           { r.keep(s) }
func (r *schemaRecorder) WriteUnion(s, _ *smithy.Schema)                    { r.keep(s) }
func (r *schemaRecorder) CloseUnion()                                       {}
func (r *schemaRecorder) WriteDocument(s *smithy.Schema, _ smithydoc.Value) { r.keep(s) }
func (r *schemaRecorder) WriteNil(s *smithy.Schema)                         { r.keep(s) }
func (r *schemaRecorder) WriteStruct(s *smithy.Schema)                      { r.keep(s) }
func (r *schemaRecorder) CloseStruct()                                      {}
func (r *schemaRecorder) WriteList(s *smithy.Schema)                        { r.keep(s) }
func (r *schemaRecorder) CloseList()                                        {}
func (r *schemaRecorder) WriteMap(s *smithy.Schema)                         { r.keep(s) }
func (r *schemaRecorder) WriteKey(s *smithy.Schema, _ string)               { r.keep(s) }
func (r *schemaRecorder) CloseMap()                                         {}

var _ smithy.ShapeSerializer = (*schemaRecorder)(nil)
