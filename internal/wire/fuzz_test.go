package wire

import (
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fuzzSeeds are request bodies as the AWS CLI and SDKs send them.
var fuzzSeeds = []string{
	// RegisterTaskDefinition with most of what a real Fargate service uses.
	`{"family":"web","taskRoleArn":"arn:aws:iam::123456789012:role/task","executionRoleArn":"arn:aws:iam::123456789012:role/exec",` +
		`"networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"1024","memory":"2048",` +
		`"runtimePlatform":{"cpuArchitecture":"X86_64","operatingSystemFamily":"LINUX"},` +
		`"containerDefinitions":[{"name":"app","image":"123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1","cpu":512,"memory":1024,` +
		`"memoryReservation":512,"essential":true,"portMappings":[{"containerPort":80,"hostPort":80,"protocol":"tcp","name":"http","appProtocol":"http"}],` +
		`"environment":[{"name":"A","value":"1"}],"command":["sh","-c","echo \"hi\"\n"],"entryPoint":[],"dockerLabels":{"k":"v"},` +
		`"ulimits":[{"name":"nofile","softLimit":1024,"hardLimit":4096}],` +
		`"healthCheck":{"command":["CMD-SHELL","curl -f http://localhost/ || exit 1"],"interval":30,"timeout":5,"retries":3,"startPeriod":10},` +
		`"logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"/ecs/web","awslogs-region":"eu-west-1","awslogs-stream-prefix":"ecs"}},` +
		`"linuxParameters":{"initProcessEnabled":true,"capabilities":{"add":["SYS_PTRACE"]}},` +
		`"dependsOn":[{"containerName":"init","condition":"SUCCESS"}],` +
		`"secrets":[{"name":"DB","valueFrom":"arn:aws:ssm:eu-west-1:123456789012:parameter/db"}],"readonlyRootFilesystem":false,"stopTimeout":30},` +
		`{"name":"init","image":"busybox","essential":false,"command":["true"]}],` +
		`"volumes":[{"name":"data","efsVolumeConfiguration":{"fileSystemId":"fs-1","transitEncryption":"ENABLED","authorizationConfig":{"accessPointId":"fsap-1","iam":"ENABLED"}}}],` +
		`"placementConstraints":[{"type":"memberOf","expression":"attribute:ecs.os-type == linux"}],` +
		`"tags":[{"key":"team","value":"web"}],"ephemeralStorage":{"sizeInGiB":30},"pidMode":"task"}`,
	`{"taskDefinition":"web:3","include":["TAGS"]}`,
	`{"taskDefinition":"arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3"}`,
	`{"familyPrefix":"web","status":"ACTIVE","sort":"DESC","maxResults":10,"nextToken":"eyJxIjoidGQifQ"}`,
	`{"taskDefinitions":["web:1","arn:aws:ecs:eu-west-1:123456789012:task-definition/web:2"]}`,
	`{"resourceArn":"arn:aws:ecs:eu-west-1:123456789012:task-definition/web:1","tags":[{"key":"team","value":"web"},{"key":"env","value":""}]}`,
	// Members of the other kinds the model has: timestamps, longs and
	// doubles, documents.
	`{"cluster":"default","task":"t","status":"RUNNING","pullStartedAt":1700000000.123,"pullStoppedAt":1700000001,"executionStoppedAt":-1.5}`,
	`{"cluster":"default","totalResources":[{"name":"CPU","type":"INTEGER","integerValue":2048,"longValue":9223372036854775807,"doubleValue":0.5,"stringSetValue":["a"]}]}`,
	`{"serviceName":"web","deploymentConfiguration":{"lifecycleHooks":[{"hookTargetArn":"arn:aws:lambda:eu-west-1:123456789012:function:f","lifecycleStages":["PRE_SCALE_UP"],"hookDetails":{"a":[1,2.5,"x",null,true],"b":{}}}]}}`,
	`{}`, ``, `null`, `[]`, `"x"`, `{"family":null}`, `{"maxResults":1.5}`,
	`{"requiresCompatibilities":["EC2",null],"containerDefinitions":[null,{"name":"app","command":[null,"x"]}]}`,
}

type fuzzOp struct {
	op   Operation
	opts cmp.Options
}

var fuzzOps = sync.OnceValue(func() []fuzzOp {
	var out []fuzzOp
	for _, op := range Operations() {
		out = append(out, fuzzOp{op: op, opts: cmp.Options{
			cmpopts.IgnoreUnexported(unexportedHolders(op.Input)...), documentCmp,
		}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].op.Name < out[j].op.Name })
	return out
})

// FuzzUnmarshal decodes arbitrary bytes as the Input of every operation.
// Decoding must never panic and must fail only with the errors the
// protocol answers as client faults; whatever decodes must encode as valid
// JSON that decodes to the same value.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, fo := range fuzzOps() {
			in := reflect.New(fo.op.Input).Interface()
			err := Unmarshal(data, in)
			if err != nil {
				var de *DecodeError
				var ee *EnumError
				if !errors.As(err, &de) && !errors.As(err, &ee) {
					t.Fatalf("%s: Unmarshal(%q) = %v (%T), want *DecodeError or *EnumError", fo.op.Name, data, err, err)
				}
				continue
			}
			b, err := Marshal(in)
			if err != nil {
				t.Fatalf("%s: decoded %q but Marshal failed: %v", fo.op.Name, data, err)
			}
			if !json.Valid(b) {
				t.Fatalf("%s: Marshal of %q wrote invalid JSON %q", fo.op.Name, data, b)
			}
			again := reflect.New(fo.op.Input).Interface()
			if err := Unmarshal(b, again); err != nil {
				t.Fatalf("%s: %q re-encoded as %s, which does not decode: %v", fo.op.Name, data, b, err)
			}
			if diff := cmp.Diff(in, again, fo.opts); diff != "" {
				t.Fatalf("%s: %q re-encoded as %s decodes differently (-first +second):\n%s", fo.op.Name, data, b, diff)
			}
		}
	})
}
