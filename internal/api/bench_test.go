package api

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ecsd/ecsd/internal/awsjson"
	"github.com/ecsd/ecsd/internal/control"
	"github.com/ecsd/ecsd/internal/store/sqlitestore"
)

// benchTaskDefinition is a Fargate registration of the usual size, the one
// bench/run.sh sends.
const benchTaskDefinition = `{"family":"bench","executionRoleArn":"arn:aws:iam::000000000000:role/ecsTaskExecutionRole",` +
	`"networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",` +
	`"containerDefinitions":[{"name":"app","image":"public.ecr.aws/docker/library/nginx:latest","essential":true,"memory":512,` +
	`"portMappings":[{"containerPort":80,"protocol":"tcp"}],"environment":[{"name":"MODE","value":"bench"},{"name":"LOG_LEVEL","value":"info"}],` +
	`"logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"/ecs/bench","awslogs-region":"us-east-1","awslogs-stream-prefix":"app"}}}]}`

// serveBench answers one request in process, as ecsd's HTTP server would
// hand it to the protocol server.
func serveBench(b *testing.B, h http.Handler, op, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader([]byte(body)))
	r.Header.Set("X-Amz-Target", awsjson.TargetPrefix+op)
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		b.Fatalf("%s: %d %s", op, w.Code, w.Body)
	}
	return w
}

// BenchmarkDescribeTaskDefinition is ecsd's own work for one
// DescribeTaskDefinition, without the network: protocol, codec, use-case
// and store.
func BenchmarkDescribeTaskDefinition(b *testing.B) {
	st, err := sqlitestore.Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	srv := awsjson.NewServer("000000000000", "us-east-1", nil)
	Register(srv, control.New(st, nil))
	serveBench(b, srv, "RegisterTaskDefinition", benchTaskDefinition)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			serveBench(b, srv, "DescribeTaskDefinition", `{"taskDefinition":"bench:1"}`)
		}
	})
}
