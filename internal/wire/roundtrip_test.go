package wire

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecsdocument "github.com/aws/aws-sdk-go-v2/service/ecs/document"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ecsd/ecsd/internal/sdkhttp"
)

// filler builds values with every member set, so that a round trip proves
// each member's name and encoding.
type filler struct {
	rnd *rand.Rand
}

func (f *filler) fill(v reflect.Value, depth int) {
	t := v.Type()
	switch {
	case t == timeType:
		// ECS keeps milliseconds.
		v.Set(reflect.ValueOf(time.UnixMilli(1_600_000_000_000 + f.rnd.Int64N(1e11)).UTC()))
		return
	case t.Kind() == reflect.Interface && t.Implements(documentType):
		// No object nested inside the document: the SDK's own document
		// decoder (v1.105.1) intermittently fails on those, whatever the
		// server sends; that is the client's limitation, not the codec's.
		v.Set(reflect.ValueOf(ecsdocument.NewLazyDocument(map[string]any{"hooks": []any{"a", true, 3.5}})))
		return
	}
	switch t.Kind() {
	case reflect.String:
		if vals, _ := enumValues(t); t.PkgPath() != "" && len(vals) > 0 {
			keys := make([]string, 0, len(vals))
			for k := range vals {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			v.SetString(keys[f.rnd.IntN(len(keys))])
			return
		}
		v.SetString("s-" + strings.Repeat("x", f.rnd.IntN(4)) + "\"\\/\u00e9\u2028\n")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int32, reflect.Int64, reflect.Int:
		v.SetInt(1 + f.rnd.Int64N(1000))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(f.rnd.IntN(1000)) + 0.25)
	case reflect.Pointer:
		n := reflect.New(t.Elem())
		f.fill(n.Elem(), depth)
		v.Set(n)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte("blob"))
			return
		}
		s := reflect.MakeSlice(t, 2, 2)
		for i := range 2 {
			f.fill(s.Index(i), depth)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(t)
		for _, k := range []string{"k1", "k2"} {
			e := reflect.New(t.Elem()).Elem()
			f.fill(e, depth)
			m.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), e)
		}
		v.Set(m)
	case reflect.Interface:
		variants := unionVariants[t]
		n := reflect.New(reflect.TypeOf(variants[0]).Elem())
		f.fill(n.Elem().FieldByName("Value"), depth)
		v.Set(n)
	case reflect.Struct:
		if depth > 20 {
			return // recursive shapes end here
		}
		for i := range t.NumField() {
			sf := t.Field(i)
			if !sf.IsExported() || sf.Name == "ResultMetadata" {
				continue
			}
			f.fill(v.Field(i), depth+1)
		}
	}
}

var documentCmp = cmp.Comparer(func(a, b ecsdocument.Interface) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return documentJSON(a) == documentJSON(b)
})

// documentJSON normalises a document to canonical JSON text.
func documentJSON(d ecsdocument.Interface) string {
	raw, err := d.MarshalSmithyDocument()
	if err != nil {
		return "error: " + err.Error()
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "error: " + err.Error()
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// TestEveryOperationRoundTrips sends a fully populated Input of every ECS
// operation through the official aws-sdk-go-v2 client to a server that
// decodes it with this package, and answers with a fully populated Output
// encoded by this package that the client must decode to the same value.
func TestEveryOperationRoundTrips(t *testing.T) {
	var (
		mu       sync.Mutex
		gotInput any
		wantOut  any
		op       Operation
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		if got := r.Header.Get("X-Amz-Target"); got != "AmazonEC2ContainerServiceV20141113."+op.Name {
			t.Errorf("target %q, want %q", got, "AmazonEC2ContainerServiceV20141113."+op.Name)
		}
		in := reflect.New(op.Input).Interface()
		if err := Unmarshal(body, in); err != nil {
			t.Errorf("%s: decode input: %v\n%s", op.Name, err, body)
		}
		gotInput = in
		b, err := Marshal(wantOut)
		if err != nil {
			t.Errorf("%s: encode output: %v", op.Name, err)
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write(b)
	}))
	defer srv.Close()

	client := ecs.New(ecs.Options{
		Region:           "eu-west-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		RetryMaxAttempts: 1,
		// Without it the SDK now and then tears down its own connection
		// under a fast server ("use of closed network connection" on a 200);
		// see package sdkhttp.
		HTTPClient: sdkhttp.Client(),
	})
	ops := Operations()
	if len(ops) != 88 {
		t.Errorf("model has %d operations, want the 88 of aws-sdk-go-v2/service/ecs v1.105.1", len(ops))
	}
	names := make([]string, 0, len(ops))
	for n := range ops {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, name := range names {
		t.Run(name, func(t *testing.T) {
			f := &filler{rnd: rand.New(rand.NewPCG(uint64(i), 7))}
			in := reflect.New(ops[name].Input)
			f.fill(in.Elem(), 0)
			out := reflect.New(ops[name].Output)
			f.fill(out.Elem(), 0)
			mu.Lock()
			op, wantOut, gotInput = ops[name], out.Interface(), nil
			mu.Unlock()

			res := reflect.ValueOf(client).MethodByName(name).Call([]reflect.Value{reflect.ValueOf(context.Background()), in})
			if err, _ := res[1].Interface().(error); err != nil {
				t.Fatalf("client call: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			ignore := cmpopts.IgnoreUnexported(unexportedHolders(ops[name].Input, ops[name].Output)...)
			if diff := cmp.Diff(in.Interface(), gotInput, ignore, documentCmp); diff != "" {
				t.Errorf("input did not survive the round trip (-sent +decoded):\n%s", diff)
			}
			ignoreMeta := cmpopts.IgnoreFields(reflect.New(ops[name].Output).Elem().Interface(), "ResultMetadata")
			if diff := cmp.Diff(out.Elem().Interface(), res[0].Elem().Interface(), ignore, ignoreMeta, documentCmp); diff != "" {
				t.Errorf("output did not survive the round trip (-encoded +client decoded):\n%s", diff)
			}
		})
	}
}

// unexportedHolders lists every struct type reachable from the roots, for
// cmpopts.IgnoreUnexported (the SDK embeds an unexported marker in each).
func unexportedHolders(roots ...reflect.Type) []any {
	seen := map[reflect.Type]bool{}
	var out []any
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		if seen[t] {
			return
		}
		seen[t] = true
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map:
			walk(t.Elem())
		case reflect.Interface:
			for _, v := range unionVariants[t] {
				walk(reflect.TypeOf(v))
			}
		case reflect.Struct:
			if t == timeType {
				return
			}
			out = append(out, reflect.New(t).Elem().Interface())
			for i := range t.NumField() {
				if t.Field(i).IsExported() {
					walk(t.Field(i).Type)
				}
			}
		}
	}
	for _, r := range roots {
		walk(r)
	}
	return out
}
