package wire

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

// referenceParse is what Unmarshal did before parseJSON: encoding/json's
// Decoder with UseNumber, then More to refuse trailing content.
func referenceParse(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, errNotJSON
	}
	if dec.More() {
		return nil, errTrailing
	}
	return tree, nil
}

var parseCases = []string{
	``, ` `, `{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `-0.5e-3`, `1E+2`, `123456789012345678901234567890`,
	`"x"`, `{"a":1,"a":2}`, `{"a":[1,{"b":null}],"c":"d"}`, ` { "a" : [ 1 , 2 ] } `,
	// Trailing content, including the ']' and '}' the Decoder lets pass.
	`{}}`, `{}]`, `{} {}`, `{}x`, `1}`, `01`, `truex`, `"a""b"`, `{} `,
	// Invalid documents.
	`{`, `{"a"}`, `{"a":}`, `{,}`, `{"a":1,}`, `[1,]`, `[,1]`, `[01]`, `-`, `1.`, `1e`, `1e+`, `.5`, `+1`,
	`tru`, `nul`, `{'a':1}`, `{"a":1 "b":2}`, `[1 2]`, `{"a" 1}`, `{1:2}`, "\"a\x01\"", `"\x"`, `"\u12"`, `"\u12G4"`,
	`"abc`, `"\`, `[`, `]`, `}`, "\xef\xbb\xbf{}",
	// Escapes, surrogates and invalid UTF-8.
	`"\"\\\/\b\f\n\r\t"`, `"\u0041\u00e9\u20ac"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ud83dx"`, `"\ude00\ud83d"`,
	`"\ud83d\u0041"`, `"\ud83d\ud83d\ude00"`, `"\ud83d\uZZZZ"`, "\"\xff\xfe\"", "\"a\xc3\"", "\"\xed\xa0\x80\"",
	"\"caf\xc3\xa9\"", "{\"k\xff\":1}", `"\'"`,
	// Nesting at and beyond encoding/json's limit.
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
	strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001),
}

// TestParseMatchesDecoder: parseJSON builds the same tree as the Decoder
// and refuses the same documents for the same reason.
func TestParseMatchesDecoder(t *testing.T) {
	for _, s := range append(parseCases, fuzzSeeds...) {
		checkParse(t, []byte(s))
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range append(parseCases, fuzzSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, data) })
}

func checkParse(t *testing.T, data []byte) {
	t.Helper()
	got, gotErr := parseJSON(data)
	want, wantErr := referenceParse(data)
	name := string(data)
	if len(name) > 60 {
		name = name[:60] + "..."
	}
	if gotErr != wantErr {
		t.Errorf("parse %q: error %v, want %v", name, gotErr, wantErr)
		return
	}
	// DeepEqual first: cmp takes minutes over 10000 levels of nesting.
	if reflect.DeepEqual(want, got) {
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parse %q: tree differs from encoding/json's (-want +got):\n%s", name, diff)
	}
}

// benchTaskDefinition is a stored Fargate revision of the usual size.
var benchTaskDefinition = []byte(`{"compatibilities":["EC2","FARGATE"],"containerDefinitions":[{"cpu":0,"environment":[{"name":"MODE","value":"bench"},` +
	`{"name":"LOG_LEVEL","value":"info"}],"essential":true,"image":"public.ecr.aws/docker/library/nginx:latest",` +
	`"logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"/ecs/bench","awslogs-region":"us-east-1","awslogs-stream-prefix":"app"}},` +
	`"memory":512,"mountPoints":[],"name":"app","portMappings":[{"containerPort":80,"hostPort":80,"protocol":"tcp"}],"systemControls":[],"volumesFrom":[]}],` +
	`"cpu":"256","executionRoleArn":"arn:aws:iam::000000000000:role/ecsTaskExecutionRole","memory":"512","networkMode":"awsvpc",` +
	`"placementConstraints":[],"registeredBy":"arn:aws:iam::000000000000:root","requiresAttributes":[{"name":"com.amazonaws.ecs.capability.logging-driver.awslogs"},` +
	`{"name":"ecs.capability.execution-role-awslogs"},{"name":"com.amazonaws.ecs.capability.docker-remote-api.1.19"},` +
	`{"name":"com.amazonaws.ecs.capability.docker-remote-api.1.18"},{"name":"ecs.capability.task-eni"}],"requiresCompatibilities":["FARGATE"],"volumes":[]}`)

// BenchmarkUnmarshalTaskDefinition decodes a stored revision, the bulk of
// DescribeTaskDefinition's own work.
func BenchmarkUnmarshalTaskDefinition(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var td types.TaskDefinition
		if err := Unmarshal(benchTaskDefinition, &td); err != nil {
			b.Fatal(err)
		}
	}
}
