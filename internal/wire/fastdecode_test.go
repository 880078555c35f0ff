package wire

import (
	"reflect"
	"sort"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fastTargets are the types fastUnmarshal is checked on: every
// operation's Input (requests) and Output (the documents ecsd stores are
// parts of them), and the stored documents themselves.
var fastTargets = sync.OnceValue(func() []reflect.Type {
	seen := map[reflect.Type]bool{}
	var out []reflect.Type
	add := func(t reflect.Type) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	for _, op := range Operations() {
		add(op.Input)
		add(op.Output)
	}
	for _, t := range []reflect.Type{reflect.TypeFor[types.TaskDefinition](), reflect.TypeFor[types.Task](),
		reflect.TypeFor[types.Service](), reflect.TypeFor[types.Cluster]()} {
		add(t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
})

var fastCases = []string{
	`{"family":"a","family":"b"}`, `{"family":"a","family":null}`, `{"family":null,"family":"a"}`,
	`{"containerDefinitions":[{"name":"a"}],"containerDefinitions":[]}`,
	`{"containerDefinitions":[{"name":"a","dockerLabels":{"k":"1","k":null}}]}`,
	`{"containerDefinitions":[{"name":"a","dockerLabels":{"k":null,"k":"1"}}]}`,
	`{"containerDefinitions":[{"dockerLabels":{},"environment":[],"command":[null]}]}`,
	`{"maxResults":1.5}`, `{"maxResults":1e2}`, `{"maxResults":99999999999}`, `{"maxResults":-0}`,
	`{"launchType":"EC2"}`, `{"launchType":"ec2"}`, `{"launchType":"EC2","launchType":"BAD"}`, `{"launchType":"BAD","launchType":"EC2"}`,
	`{"family":"a"}}`, `{"family":"a"}]`, `{"family":"a"} x`, `{"family":"a\u00e9\ud83d"}`, "{\"family\":\"a\xff\"}",
	`{"unknown":{"deep":[1,2,{"x":null}]},"family":"a"}`, `{"family":1}`, `{"family":["a"]}`, `null`, `[]`, `"x"`,
	`{"createdAt":1700000000.1234}`, `{"createdAt":1e12}`, `{"createdAt":"x"}`,
	`{"totalResources":[{"doubleValue":1e400}]}`, `{"totalResources":[{"doubleValue":-0.0}]}`,
}

// TestFastUnmarshalMatchesTree: whatever the fast path decodes, the tree
// decodes without error to the same value.
func TestFastUnmarshalMatchesTree(t *testing.T) {
	for _, s := range append(append(fastCases, fuzzSeeds...), string(benchTaskDefinition)) {
		checkFast(t, []byte(s))
	}
}

func FuzzFastUnmarshal(f *testing.F) {
	for _, s := range append(append(fastCases, fuzzSeeds...), string(benchTaskDefinition)) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkFast(t, data) })
}

// fastOpts compares decoded values as FuzzUnmarshal does.
var fastOpts = sync.OnceValue(func() cmp.Options {
	return cmp.Options{cmpopts.IgnoreUnexported(unexportedHolders(fastTargets()...)...), documentCmp}
})

func checkFast(t *testing.T, data []byte) {
	t.Helper()
	for _, typ := range fastTargets() {
		fast := reflect.New(typ)
		if !fastUnmarshal(data, fast.Elem(), planFor(typ)) {
			continue // Unmarshal decodes it with the tree, so nothing can differ
		}
		tree := reflect.New(typ)
		if err := unmarshalTree(data, tree.Elem(), planFor(typ)); err != nil {
			t.Fatalf("%v: fast path decoded %q, the tree refuses it: %v", typ, data, err)
		}
		if diff := cmp.Diff(tree.Interface(), fast.Interface(), fastOpts()); diff != "" {
			t.Fatalf("%v: %q decodes differently (-tree +fast):\n%s", typ, data, diff)
		}
	}
}

// TestFastUnmarshalTakesStoredDocuments: the documents ecsd stores take the
// fast path; if they fell back to the tree, the gain would be lost silently.
func TestFastUnmarshalTakesStoredDocuments(t *testing.T) {
	var td types.TaskDefinition
	if !fastUnmarshal(benchTaskDefinition, reflect.ValueOf(&td).Elem(), planFor(reflect.TypeFor[types.TaskDefinition]())) {
		t.Fatal("a stored task definition fell back to the tree")
	}
	for _, s := range fuzzSeeds[:6] {
		var ok bool
		for _, fo := range fuzzOps() {
			in := reflect.New(fo.op.Input)
			if fastUnmarshal([]byte(s), in.Elem(), planFor(fo.op.Input)) {
				ok = true
				break
			}
		}
		if !ok {
			t.Errorf("no operation's Input takes the fast path for %q", s)
		}
	}
}
