package wire

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func ptr[T any](v T) *T { return &v }

func newRegister() any { return new(ecs.RegisterTaskDefinitionInput) }
func newList() any     { return new(ecs.ListTaskDefinitionsInput) }

// newInstance decodes into a type with int64 and float64 members
// (totalResources[].longValue, .doubleValue).
func newInstance() any { return new(ecs.RegisterContainerInstanceInput) }

func TestUnmarshalTypeErrors(t *testing.T) {
	tests := []struct {
		name     string
		new      func() any
		body     string
		wantPath string
		wantMsg  string
	}{
		// Scalars of the wrong kind, worded as AWS's JSON parser words them.
		{"number for string", newRegister, `{"family":1}`, "family", "NUMBER_VALUE can not be converted to a String"},
		{"float for string", newRegister, `{"family":1.5}`, "family", "NUMBER_VALUE can not be converted to a String"},
		{"true for string", newRegister, `{"family":true}`, "family", "TRUE_VALUE can not be converted to a String"},
		{"false for string", newRegister, `{"family":false}`, "family", "FALSE_VALUE can not be converted to a String"},
		{"string for integer", newList, `{"maxResults":"5"}`, "maxResults", "STRING_VALUE can not be converted to an Integer"},
		{"true for integer", newList, `{"maxResults":true}`, "maxResults", "TRUE_VALUE can not be converted to an Integer"},
		{"false for integer", newList, `{"maxResults":false}`, "maxResults", "FALSE_VALUE can not be converted to an Integer"},
		{"string for long", newInstance, `{"totalResources":[{"longValue":"5"}]}`, "totalResources[0].longValue", "STRING_VALUE can not be converted to a Long"},
		{"string for boolean", newRegister, `{"containerDefinitions":[{"essential":"yes"}]}`, "containerDefinitions[0].essential", "STRING_VALUE can not be converted to a Boolean"},
		{"string for primitive integer", newRegister, `{"containerDefinitions":[{"cpu":"256"}]}`, "containerDefinitions[0].cpu", "STRING_VALUE can not be converted to an Integer"},
		{"string for enum in list", newRegister, `{"requiresCompatibilities":["EC2",1]}`, "requiresCompatibilities[1]", "NUMBER_VALUE can not be converted to a String"},
		{"index counts dropped nulls", newRegister, `{"requiresCompatibilities":[null,1]}`, "requiresCompatibilities[1]", "NUMBER_VALUE can not be converted to a String"},

		// Lists and objects where they do not belong.
		{"list for string", newRegister, `{"family":["web"]}`, "family", "Start of list found where not expected"},
		{"object for string", newRegister, `{"family":{"name":"web"}}`, "family", "Start of structure or map found where not expected."},
		{"list for integer", newList, `{"maxResults":[1]}`, "maxResults", "Start of list found where not expected"},
		{"object for integer", newList, `{"maxResults":{}}`, "maxResults", "Start of structure or map found where not expected."},
		{"object for list", newRegister, `{"containerDefinitions":{}}`, "containerDefinitions", "Start of structure or map found where not expected."},
		{"list for map", newRegister, `{"containerDefinitions":[{"dockerLabels":[]}]}`, "containerDefinitions[0].dockerLabels", "Start of list found where not expected"},
		{"list for structure", newRegister, `{"proxyConfiguration":[]}`, "proxyConfiguration", "Start of list found where not expected"},
		{"list at top level", newRegister, `[]`, "", "Start of list found where not expected"},
		{"nested list for string", newRegister, `{"containerDefinitions":[{"command":[["sh"]]}]}`, "containerDefinitions[0].command[0]", "Start of list found where not expected"},

		// Scalars where a container is expected.
		{"string for list", newRegister, `{"containerDefinitions":"app"}`, "containerDefinitions", "Expected list or null"},
		{"number for list", newRegister, `{"requiresCompatibilities":1}`, "requiresCompatibilities", "Expected list or null"},
		{"string for map", newRegister, `{"containerDefinitions":[{"dockerLabels":"a=b"}]}`, "containerDefinitions[0].dockerLabels", "Expected map or null"},
		{"true for map", newRegister, `{"containerDefinitions":[{"dockerLabels":true}]}`, "containerDefinitions[0].dockerLabels", "Expected map or null"},
		{"string for structure", newRegister, `{"proxyConfiguration":"x"}`, "proxyConfiguration", "Expected null"},
		{"number for structure", newRegister, `{"proxyConfiguration":5}`, "proxyConfiguration", "Expected null"},
		{"string for list element structure", newRegister, `{"containerDefinitions":["app"]}`, "containerDefinitions[0]", "Expected null"},

		// Numbers that do not fit.
		{"int32 overflow", newList, `{"maxResults":2147483648}`, "maxResults", "NUMBER_VALUE can not be converted to an Integer"},
		{"int32 underflow", newList, `{"maxResults":-2147483649}`, "maxResults", "NUMBER_VALUE can not be converted to an Integer"},
		{"int32 overflow in exponent form", newList, `{"maxResults":1e10}`, "maxResults", "NUMBER_VALUE can not be converted to an Integer"},
		{"int64 overflow", newInstance, `{"totalResources":[{"longValue":9223372036854775808}]}`, "totalResources[0].longValue", "NUMBER_VALUE can not be converted to a Long"},
		{"int64 overflow by 1000", newInstance, `{"totalResources":[{"longValue":9223372036854776807}]}`, "totalResources[0].longValue", "NUMBER_VALUE can not be converted to a Long"},
		{"int64 underflow", newInstance, `{"totalResources":[{"longValue":-9223372036854775809}]}`, "totalResources[0].longValue", "NUMBER_VALUE can not be converted to a Long"},
		{"int64 overflow in exponent form", newInstance, `{"totalResources":[{"longValue":1e19}]}`, "totalResources[0].longValue", "NUMBER_VALUE can not be converted to a Long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Unmarshal([]byte(tt.body), tt.new())
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Unmarshal(%s) = %v (%T), want *DecodeError", tt.body, err, err)
			}
			if de.Message != tt.wantMsg || de.Path != tt.wantPath {
				t.Errorf("Unmarshal(%s) = {path %q, %q}\n                    want {path %q, %q}", tt.body, de.Path, de.Message, tt.wantPath, tt.wantMsg)
			}
			if de.Error() != de.Message {
				t.Errorf("Error() = %q, want the message", de.Error())
			}
		})
	}
}

// TestUnmarshalMalformed covers bodies that are not one JSON document. The
// wording is the protocol's business; here they must be DecodeErrors.
func TestUnmarshalMalformed(t *testing.T) {
	for _, body := range []string{`{`, `{"family":}`, `{} {}`, `{}x`, `{"family":"web"`, "\xff", `{'family':'web'}`} {
		t.Run(body, func(t *testing.T) {
			var de *DecodeError
			if err := Unmarshal([]byte(body), newRegister()); !errors.As(err, &de) {
				t.Errorf("Unmarshal(%q) = %v (%T), want *DecodeError", body, err, err)
			}
		})
	}
	t.Run("not a pointer", func(t *testing.T) {
		var de *DecodeError
		err := Unmarshal([]byte(`{}`), ecs.ListTaskDefinitionsInput{})
		if err == nil || errors.As(err, &de) {
			t.Errorf("Unmarshal into a non-pointer = %v, want a programming error, not a DecodeError", err)
		}
	})
}

func TestUnmarshalAccepts(t *testing.T) {
	ignore := cmpopts.IgnoreUnexported(unexportedHolders(
		reflect.TypeFor[ecs.RegisterTaskDefinitionInput](),
		reflect.TypeFor[ecs.ListTaskDefinitionsInput](),
		reflect.TypeFor[ecs.RegisterContainerInstanceInput]())...)
	tests := []struct {
		name string
		new  func() any
		body string
		want any
	}{
		{"empty body", newList, ``, &ecs.ListTaskDefinitionsInput{}},
		{"blank body", newList, " \n\t", &ecs.ListTaskDefinitionsInput{}},
		{"unknown members ignored", newRegister,
			`{"family":"web","bogus":1,"Family":"x","containerDefinitions":[{"name":"app","nope":{"x":[1,{"y":null}]}}],"extra":[[]]}`,
			&ecs.RegisterTaskDefinitionInput{Family: ptr("web"), ContainerDefinitions: []types.ContainerDefinition{{Name: ptr("app")}}}},
		{"null members are absent", newRegister,
			`{"family":null,"cpu":null,"containerDefinitions":null,"proxyConfiguration":null,"networkMode":null,"tags":[{"key":"a","value":null}]}`,
			&ecs.RegisterTaskDefinitionInput{Tags: []types.Tag{{Key: ptr("a")}}}},
		{"null map values dropped", newRegister,
			`{"containerDefinitions":[{"dockerLabels":{"a":null,"b":"x"}}]}`,
			&ecs.RegisterTaskDefinitionInput{ContainerDefinitions: []types.ContainerDefinition{{DockerLabels: map[string]string{"b": "x"}}}}},
		{"null primitive member keeps zero", newRegister,
			`{"containerDefinitions":[{"cpu":null}]}`,
			&ecs.RegisterTaskDefinitionInput{ContainerDefinitions: []types.ContainerDefinition{{}}}},
		{"null list entries dropped", newRegister,
			`{"requiresCompatibilities":["EC2",null],"containerDefinitions":[null,{"name":"app","command":[null,"x",null]}],"volumes":[null]}`,
			&ecs.RegisterTaskDefinitionInput{
				RequiresCompatibilities: []types.Compatibility{types.CompatibilityEc2},
				ContainerDefinitions:    []types.ContainerDefinition{{Name: ptr("app"), Command: []string{"x"}}},
				Volumes:                 []types.Volume{},
			}},
		{"float truncated", newList, `{"maxResults":5.9}`, &ecs.ListTaskDefinitionsInput{MaxResults: ptr(int32(5))}},
		{"negative float truncated toward zero", newList, `{"maxResults":-2.7}`, &ecs.ListTaskDefinitionsInput{MaxResults: ptr(int32(-2))}},
		{"exponent", newList, `{"maxResults":1e2}`, &ecs.ListTaskDefinitionsInput{MaxResults: ptr(int32(100))}},
		{"int32 max", newList, `{"maxResults":2147483647}`, &ecs.ListTaskDefinitionsInput{MaxResults: ptr(int32(math.MaxInt32))}},
		{"int32 max with fraction", newList, `{"maxResults":2147483647.9}`, &ecs.ListTaskDefinitionsInput{MaxResults: ptr(int32(math.MaxInt32))}},
		{"int32 min", newList, `{"maxResults":-2147483648}`, &ecs.ListTaskDefinitionsInput{MaxResults: ptr(int32(math.MinInt32))}},
		{"negative zero", newList, `{"maxResults":-0}`, &ecs.ListTaskDefinitionsInput{MaxResults: ptr(int32(0))}},
		{"int64 extremes", newInstance,
			`{"totalResources":[{"longValue":9223372036854775807},{"longValue":-9223372036854775808},{"longValue":12.9,"doubleValue":0.25}]}`,
			&ecs.RegisterContainerInstanceInput{TotalResources: []types.Resource{{LongValue: math.MaxInt64}, {LongValue: math.MinInt64}, {LongValue: 12, DoubleValue: 0.25}}}},
		{"strings keep escapes", newRegister, `{"family":"a\"b\\c\u00e9\u2028\n"}`, &ecs.RegisterTaskDefinitionInput{Family: ptr("a\"b\\c\u00e9\u2028\n")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.new()
			if err := Unmarshal([]byte(tt.body), got); err != nil {
				t.Fatalf("Unmarshal(%s): %v", tt.body, err)
			}
			if diff := cmp.Diff(tt.want, got, ignore); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnmarshalEnum(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantPath  string
		wantValue string
	}{
		{"member", `{"family":"web","networkMode":"foo"}`, "networkMode", "foo"},
		{"empty string", `{"networkMode":""}`, "networkMode", ""},
		{"case matters", `{"networkMode":"AWSVPC"}`, "networkMode", "AWSVPC"},
		{"in a list", `{"requiresCompatibilities":["EC2","LAMBDA"]}`, "requiresCompatibilities[1]", "LAMBDA"},
		{"nested", `{"containerDefinitions":[{"logConfiguration":{"logDriver":"stdout"}}]}`, "containerDefinitions[0].logConfiguration.logDriver", "stdout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := new(ecs.RegisterTaskDefinitionInput)
			err := Unmarshal([]byte(tt.body), in)
			var ee *EnumError
			if !errors.As(err, &ee) {
				t.Fatalf("Unmarshal(%s) = %v (%T), want *EnumError", tt.body, err, err)
			}
			if ee.Path != tt.wantPath || ee.Value != tt.wantValue {
				t.Errorf("EnumError = {%q, %q}, want {%q, %q}", ee.Path, ee.Value, tt.wantPath, tt.wantValue)
			}
		})
	}
	t.Run("declared order", func(t *testing.T) {
		// ECS lists the values as the model declares them (ENABLED before
		// DISABLED); Allowed stays sorted for CloudWatch Logs' wording.
		in := new(ecs.CreateCapacityProviderInput)
		err := Unmarshal([]byte(`{"autoScalingGroupProvider":{"managedTerminationProtection":"ON"}}`), in)
		var ee *EnumError
		if !errors.As(err, &ee) {
			t.Fatalf("Unmarshal = %v, want *EnumError", err)
		}
		if want := []string{"ENABLED", "DISABLED"}; !slices.Equal(ee.Declared, want) {
			t.Errorf("Declared = %v, want %v", ee.Declared, want)
		}
		if want := []string{"DISABLED", "ENABLED"}; !slices.Equal(ee.Allowed, want) {
			t.Errorf("Allowed = %v, want %v", ee.Allowed, want)
		}
	})
	t.Run("every model value accepted", func(t *testing.T) {
		for _, v := range types.NetworkMode("").Values() {
			in := new(ecs.RegisterTaskDefinitionInput)
			if err := Unmarshal([]byte(`{"networkMode":"`+string(v)+`"}`), in); err != nil || in.NetworkMode != v {
				t.Errorf("networkMode %q: err %v, got %q", v, err, in.NetworkMode)
			}
		}
	})
	t.Run("type error wins over an earlier enum error", func(t *testing.T) {
		err := Unmarshal([]byte(`{"networkMode":"foo","requiresCompatibilities":["LAMBDA"],"family":1}`), new(ecs.RegisterTaskDefinitionInput))
		var de *DecodeError
		if !errors.As(err, &de) || de.Path != "family" {
			t.Errorf("err = %v (%T), want the DecodeError for family", err, err)
		}
	})
}

func TestTimestamps(t *testing.T) {
	tests := []struct {
		name string
		t    time.Time
		wire string
	}{
		{"milliseconds", time.UnixMilli(1700000000123), "1700000000.123"},
		{"no trailing zeros", time.UnixMilli(1700000000100), "1700000000.1"},
		{"two digits", time.UnixMilli(1700000000120), "1700000000.12"},
		{"leading zeros kept", time.UnixMilli(1700000000001), "1700000000.001"},
		{"whole seconds", time.Unix(1700000000, 0), "1700000000"},
		{"sub-millisecond dropped", time.Unix(1700000000, 123456789), "1700000000.123"},
		{"other zone, same instant", time.UnixMilli(1700000000123).In(time.FixedZone("x", 5*3600)), "1700000000.123"},
		{"epoch", time.Unix(0, 0), "0"},
		{"before the epoch", time.UnixMilli(-1500), "-1.5"},
		{"just before the epoch", time.UnixMilli(-1), "-0.001"},
		{"whole seconds before the epoch", time.Unix(-2, 0), "-2"},
		{"far before the epoch", time.UnixMilli(-1700000000123), "-1700000000.123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Marshal(&types.TaskDefinition{RegisteredAt: &tt.t})
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("Marshal wrote invalid JSON %s: %v", b, err)
			}
			if got := string(m["registeredAt"]); got != tt.wire {
				t.Errorf("registeredAt = %s, want %s", got, tt.wire)
			}

			// And back, at the millisecond precision ECS keeps.
			var in ecs.SubmitTaskStateChangeInput
			if err := Unmarshal([]byte(`{"pullStartedAt":`+tt.wire+`}`), &in); err != nil {
				t.Fatal(err)
			}
			want := tt.t.Truncate(time.Millisecond)
			if tt.t.UnixNano() < 0 {
				want = time.UnixMilli(tt.t.UnixMilli())
			}
			if in.PullStartedAt == nil || !in.PullStartedAt.Equal(want) {
				t.Errorf("decoded %s as %v, want %v", tt.wire, in.PullStartedAt, want)
			}
		})
	}
	t.Run("zero time is absent", func(t *testing.T) {
		b, err := Marshal(types.Deployment{CreatedAt: nil})
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if _, ok := m["createdAt"]; ok {
			t.Errorf("nil createdAt written: %s", b)
		}
	})
	t.Run("decode rounds to milliseconds", func(t *testing.T) {
		var in ecs.SubmitTaskStateChangeInput
		if err := Unmarshal([]byte(`{"pullStartedAt":1700000000.1234,"pullStoppedAt":1700000000}`), &in); err != nil {
			t.Fatal(err)
		}
		if want := time.UnixMilli(1700000000123); !in.PullStartedAt.Equal(want) {
			t.Errorf("pullStartedAt = %v, want %v", in.PullStartedAt, want)
		}
		if want := time.Unix(1700000000, 0); !in.PullStoppedAt.Equal(want) {
			t.Errorf("pullStoppedAt = %v, want %v", in.PullStoppedAt, want)
		}
	})
	t.Run("decode refuses non-numbers", func(t *testing.T) {
		for _, body := range []string{`{"pullStartedAt":"2024-01-01T00:00:00Z"}`, `{"pullStartedAt":1e300}`, `{"pullStartedAt":true}`} {
			var de *DecodeError
			if err := Unmarshal([]byte(body), new(ecs.SubmitTaskStateChangeInput)); !errors.As(err, &de) {
				t.Errorf("Unmarshal(%s) = %v, want *DecodeError", body, err)
			}
		}
	})
}

func TestAppendString(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // exact bytes
		// decoded is what a JSON parser reads back; "" means in itself.
		decoded string
	}{
		{name: "plain", in: "web", want: `"web"`},
		{name: "empty", in: "", want: `""`},
		{name: "quote and backslash", in: `a"b\c`, want: `"a\"b\\c"`},
		{name: "common controls", in: "\n\r\t", want: `"\n\r\t"`},
		{name: "other controls", in: "\x00\x01\x08\x0c\x1f", want: `"\u0000\u0001\u0008\u000c\u001f"`},
		{name: "DEL stays", in: "\x7f", want: "\"\x7f\""},
		{name: "slash and HTML stay", in: "</script>&", want: `"</script>&"`},
		{name: "multibyte stays", in: "\u00e9\u20ac\U0001F600", want: "\"\u00e9\u20ac\U0001F600\""},
		{name: "line separators escaped", in: "a\u2028b\u2029c", want: `"a\u2028b\u2029c"`},
		{name: "invalid byte", in: "a\xffb", want: `"a\ufffdb"`, decoded: "a\ufffdb"},
		{name: "truncated sequence", in: "a\xc3", want: `"a\ufffd"`, decoded: "a\ufffd"},
		{name: "encoded surrogate", in: "\xed\xa0\x80", want: `"\ufffd\ufffd\ufffd"`, decoded: "\ufffd\ufffd\ufffd"},
		{name: "overlong slash", in: "\xc0\xaf", want: `"\ufffd\ufffd"`, decoded: "\ufffd\ufffd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendString([]byte("prefix:"), tt.in)
			if string(got[:7]) != "prefix:" {
				t.Fatalf("AppendString lost the prefix: %q", got)
			}
			got = got[7:]
			if string(got) != tt.want {
				t.Errorf("AppendString(%q) = %s, want %s", tt.in, got, tt.want)
			}
			var s string
			if err := json.Unmarshal(got, &s); err != nil {
				t.Fatalf("AppendString(%q) = %s is not valid JSON: %v", tt.in, got, err)
			}
			want := tt.decoded
			if want == "" {
				want = tt.in
			}
			if s != want {
				t.Errorf("read back %q, want %q", s, want)
			}
		})
	}
	t.Run("every byte", func(t *testing.T) {
		for c := range 256 {
			for _, s := range []string{string([]byte{byte(c)}), "x" + string([]byte{byte(c)}) + "y"} {
				if b := AppendString(nil, s); !json.Valid(b) {
					t.Errorf("AppendString(%q) = %s is not valid JSON", s, b)
				}
			}
		}
	})
	t.Run("inside Marshal", func(t *testing.T) {
		b, err := Marshal(types.Tag{Key: ptr("k\x00\u2028"), Value: ptr("\xff\"")})
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"key":"k\u0000\u2028","value":"\ufffd\""}`; string(b) != want {
			t.Errorf("Marshal = %s, want %s", b, want)
		}
	})
}

// TestUnmarshalDocuments: a document member holds any JSON the SDK's
// document encoder can write back; anything else is refused when decoded
// rather than failing when the value is encoded again.
func TestUnmarshalDocuments(t *testing.T) {
	tests := []struct {
		name    string
		details string
		ok      bool
	}{
		{"object", `{"a":[1,2.5,"x",null,true],"b":{}}`, true},
		{"scalar", `"x"`, true},
		{"empty key", `{"":{}}`, false},
		{"nested empty key", `{"a":[{"":1}]}`, false},
		{"number beyond float64", `{"a":1e400}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"deploymentConfiguration":{"lifecycleHooks":[{"hookDetails":` + tt.details + `}]}}`
			var in ecs.CreateServiceInput
			err := Unmarshal([]byte(body), &in)
			if !tt.ok {
				var de *DecodeError
				if !errors.As(err, &de) || de.Path != "deploymentConfiguration.lifecycleHooks[0].hookDetails" {
					t.Fatalf("Unmarshal(%s) = %v (%T), want *DecodeError at hookDetails", body, err, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal(%s): %v", body, err)
			}
			if _, err := Marshal(&in); err != nil {
				t.Errorf("Marshal after decoding %s: %v", body, err)
			}
		})
	}
}
