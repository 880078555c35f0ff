package awsjson_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	cwlogs "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ecsd/ecsd/internal/awsjson"
	ecsd "github.com/ecsd/ecsd/internal/ecs"
)

const (
	defaultAccount = "000000000000"
	defaultRegion  = "us-east-1"
	contentType    = "application/x-amz-json-1.1"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// syncBuffer collects log output from concurrent requests.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newTestServer returns a server with handlers for a few operations whose
// behaviour the tests steer through the request.
func newTestServer(t testing.TB) (*awsjson.Server, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	srv := awsjson.NewServer(defaultAccount, defaultRegion, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	awsjson.HandleFunc(srv, "DescribeTaskDefinition", func(ctx context.Context, req *awsjson.Request, in *ecs.DescribeTaskDefinitionInput) (*ecs.DescribeTaskDefinitionOutput, error) {
		name := ""
		if in.TaskDefinition != nil {
			name = *in.TaskDefinition
		}
		switch name {
		case "panic":
			panic("handler bug: secret-panic-detail")
		case "goerror":
			return nil, errors.New("open /var/lib/ecsd/secret-go-error-detail: permission denied")
		case "missing":
			return nil, ecsd.ClientException("Unable to describe task definition.")
		case "nil":
			return nil, nil
		}
		return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: &types.TaskDefinition{Family: in.TaskDefinition}}, nil
	})
	awsjson.HandleFunc(srv, "RegisterTaskDefinition", func(ctx context.Context, req *awsjson.Request, in *ecs.RegisterTaskDefinitionInput) (*ecs.RegisterTaskDefinitionOutput, error) {
		// Echo the request so that the encoder sees what the decoder made.
		return &ecs.RegisterTaskDefinitionOutput{
			TaskDefinition: &types.TaskDefinition{
				Family: in.Family, ContainerDefinitions: in.ContainerDefinitions, Cpu: in.Cpu, Memory: in.Memory,
				NetworkMode: in.NetworkMode, Volumes: in.Volumes, RequiresCompatibilities: in.RequiresCompatibilities,
			},
			Tags: in.Tags,
		}, nil
	})
	return srv, logs
}

type response struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func call(t testing.TB, h http.Handler, r *http.Request) response {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := response{status: w.Code, header: w.Header(), raw: w.Body.String()}
	if err := json.Unmarshal(w.Body.Bytes(), &res.body); err != nil {
		t.Fatalf("response body %q is not a JSON object: %v", w.Body.String(), err)
	}
	return res
}

func request(op, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	if op != "" {
		r.Header.Set("X-Amz-Target", awsjson.TargetPrefix+op)
	}
	r.Header.Set("Content-Type", contentType)
	return r
}

// wantErrorResponse checks the one error shape every failure leaves in.
func wantErrorResponse(t *testing.T, res response, status int, code string) {
	t.Helper()
	if res.status != status {
		t.Errorf("status = %d, want %d (body %s)", res.status, status, res.raw)
	}
	if got := res.body["__type"]; got != code {
		t.Errorf("__type = %v, want %s (body %s)", got, code, res.raw)
	}
	if got := res.header.Get("x-amzn-ErrorType"); got != code {
		t.Errorf("x-amzn-ErrorType = %q, want %q", got, code)
	}
	wantCommonHeaders(t, res)
}

func wantCommonHeaders(t *testing.T, res response) {
	t.Helper()
	if got := res.header.Get("Content-Type"); got != contentType {
		t.Errorf("Content-Type = %q, want %q", got, contentType)
	}
	if id := res.header.Get("x-amzn-RequestId"); !uuidRE.MatchString(id) {
		t.Errorf("x-amzn-RequestId = %q, want a random UUID", id)
	}
}

func TestServerRouting(t *testing.T) {
	srv, _ := newTestServer(t)
	tests := []struct {
		name    string
		req     func() *http.Request
		code    string
		message string // exact; "-" for absent, "" to skip
	}{
		{"no target", func() *http.Request { return request("", `{}`) }, "UnknownOperationException", "-"},
		{"unknown operation", func() *http.Request { return request("DescribeEverything", `{}`) }, "UnknownOperationException", "-"},
		{"empty operation", func() *http.Request { return request("", `{}`) }, "UnknownOperationException", "-"},
		{"other service's target", func() *http.Request {
			r := request("", `{}`)
			r.Header.Set("X-Amz-Target", "Kinesis_20131202.ListStreams")
			return r
		}, "UnknownOperationException", "-"},
		{"operation name in wrong case", func() *http.Request { return request("describeTaskDefinition", `{}`) }, "UnknownOperationException", "-"},
		{"wrong path", func() *http.Request {
			r := request("DescribeTaskDefinition", `{}`)
			r.URL.Path = "/v1/describe"
			return r
		}, "UnknownOperationException", ""},
		{"GET", func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("X-Amz-Target", awsjson.TargetPrefix+"DescribeTaskDefinition")
			return r
		}, "UnknownOperationException", ""},
		{"not implemented", func() *http.Request { return request("CreateCluster", `{"clusterName":"x"}`) }, "UnsupportedFeatureException",
			"ecsd does not implement CreateCluster yet; see docs/compat.md for the operations it supports."},
		{"invalid JSON", func() *http.Request { return request("DescribeTaskDefinition", `{"taskDefinition":`) }, "SerializationException", ""},
		{"trailing garbage", func() *http.Request { return request("DescribeTaskDefinition", `{} {}`) }, "SerializationException", ""},
		{"wrong member type", func() *http.Request { return request("DescribeTaskDefinition", `{"taskDefinition":1}`) }, "SerializationException",
			"NUMBER_VALUE can not be converted to a String"},
		{"list at top level", func() *http.Request { return request("DescribeTaskDefinition", `[]`) }, "SerializationException",
			"Start of list found where not expected"},
		{"value outside an enum", func() *http.Request {
			return request("RegisterTaskDefinition", `{"family":"web","networkMode":"foo"}`)
		}, "InvalidParameterException", "networkMode should be one of [bridge,host,awsvpc,none]"},
		{"value outside an enum in a list", func() *http.Request {
			return request("RegisterTaskDefinition", `{"family":"web","requiresCompatibilities":["EC2","LAMBDA"]}`)
		}, "InvalidParameterException", "requiresCompatibilities should be one of [EC2,FARGATE,EXTERNAL,MANAGED_INSTANCES]"},
		{"value outside a nested enum", func() *http.Request {
			return request("RegisterTaskDefinition", `{"family":"web","containerDefinitions":[{"name":"a","logConfiguration":{"logDriver":"stdout"}}]}`)
		}, "InvalidParameterException", "containerDefinitions.logConfiguration.logDriver should be one of [json-file,syslog,journald,gelf,fluentd,awslogs,splunk,awsfirelens]"},
		{"domain error", func() *http.Request { return request("DescribeTaskDefinition", `{"taskDefinition":"missing"}`) }, "ClientException",
			"Unable to describe task definition."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := call(t, srv, tt.req())
			wantErrorResponse(t, res, http.StatusBadRequest, tt.code)
			msg, has := res.body["message"]
			switch tt.message {
			case "-":
				if has {
					t.Errorf("message = %v, want none (body %s)", msg, res.raw)
				}
			case "":
			default:
				if msg != tt.message {
					t.Errorf("message = %v, want %q", msg, tt.message)
				}
			}
		})
	}
	t.Run("unknown target body is exactly the bare type", func(t *testing.T) {
		res := call(t, srv, request("Nope", `{}`))
		if res.raw != `{"__type":"UnknownOperationException"}` {
			t.Errorf("body = %s", res.raw)
		}
	})
}

func TestServerSuccess(t *testing.T) {
	srv, _ := newTestServer(t)
	res := call(t, srv, request("RegisterTaskDefinition",
		`{"family":"web","containerDefinitions":[{"name":"app","image":"nginx","memory":128}],"tags":[{"key":"k","value":"v"}],"unknown":1}`))
	if res.status != http.StatusOK {
		t.Fatalf("status = %d, body %s", res.status, res.raw)
	}
	wantCommonHeaders(t, res)
	if got := res.header.Get("x-amzn-ErrorType"); got != "" {
		t.Errorf("x-amzn-ErrorType = %q on success", got)
	}
	want := map[string]any{
		"taskDefinition": map[string]any{
			"family":               "web",
			"revision":             float64(0),
			"containerDefinitions": []any{map[string]any{"name": "app", "image": "nginx", "memory": float64(128), "cpu": float64(0)}},
		},
		"tags": []any{map[string]any{"key": "k", "value": "v"}},
	}
	if diff := cmp.Diff(want, res.body); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}

	t.Run("empty body reads as {}", func(t *testing.T) {
		res := call(t, srv, request("DescribeTaskDefinition", ``))
		if res.status != http.StatusOK {
			t.Errorf("status = %d, body %s", res.status, res.raw)
		}
	})
	t.Run("typed nil output is {}", func(t *testing.T) {
		res := call(t, srv, request("DescribeTaskDefinition", `{"taskDefinition":"nil"}`))
		if res.status != http.StatusOK || res.raw != `{}` {
			t.Errorf("status %d body %s, want 200 {}", res.status, res.raw)
		}
	})
	t.Run("request ids differ", func(t *testing.T) {
		a := call(t, srv, request("DescribeTaskDefinition", `{}`)).header.Get("x-amzn-RequestId")
		b := call(t, srv, request("DescribeTaskDefinition", `{}`)).header.Get("x-amzn-RequestId")
		if a == b {
			t.Errorf("two requests share request id %s", a)
		}
	})
}

func TestServerFaults(t *testing.T) {
	srv, logs := newTestServer(t)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	post := func(body string) response {
		t.Helper()
		r, err := http.NewRequest(http.MethodPost, hs.URL+"/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("X-Amz-Target", awsjson.TargetPrefix+"DescribeTaskDefinition")
		r.Header.Set("Content-Type", contentType)
		resp, err := hs.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		res := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
		if err := json.Unmarshal(raw, &res.body); err != nil {
			t.Fatalf("body %q is not a JSON object: %v", raw, err)
		}
		return res
	}
	for _, tt := range []struct{ name, ident, secret string }{
		{"panic", "panic", "secret-panic-detail"},
		{"Go error", "goerror", "secret-go-error-detail"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := post(`{"taskDefinition":"` + tt.ident + `"}`)
			wantErrorResponse(t, res, http.StatusInternalServerError, "ServerException")
			if got := res.body["message"]; got != "Server exception." {
				t.Errorf("message = %v, want the generic %q", got, "Server exception.")
			}
			if strings.Contains(res.raw, tt.secret) {
				t.Errorf("response %s leaks the cause", res.raw)
			}
			// The cause goes to the log, under the request id.
			if l := logs.String(); !strings.Contains(l, tt.secret) || !strings.Contains(l, res.header.Get("x-amzn-RequestId")) {
				t.Errorf("log lacks the cause or the request id:\n%s", l)
			}
			// And the server keeps serving.
			if res := post(`{"taskDefinition":"web"}`); res.status != http.StatusOK {
				t.Errorf("after the fault: status %d body %s", res.status, res.raw)
			}
		})
	}
}

// endless is a body that, for any sane server, never ends, and counts
// what was read of it. It gives up after 64 MiB so that a server without a
// limit fails the test instead of hanging it.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	if e.n > 64<<20 {
		return 0, io.ErrUnexpectedEOF
	}
	for i := range p {
		p[i] = ' '
	}
	e.n += int64(len(p))
	return len(p), nil
}

func TestServerBodyLimit(t *testing.T) {
	srv, _ := newTestServer(t)
	srv.MaxBodyBytes = 1024
	for _, op := range []string{"DescribeTaskDefinition", "CreateCluster"} {
		t.Run(op, func(t *testing.T) {
			body := &endless{}
			r := httptest.NewRequest(http.MethodPost, "/", body)
			r.Header.Set("X-Amz-Target", awsjson.TargetPrefix+op)
			res := call(t, srv, r)
			if res.status < 400 || res.status > 499 {
				t.Errorf("status = %d, want 4xx", res.status)
			}
			if got := res.body["__type"]; got != "SerializationException" {
				t.Errorf("__type = %v, want SerializationException", got)
			}
			if body.n > srv.MaxBodyBytes+1 {
				t.Errorf("read %d bytes of an endless body, limit %d", body.n, srv.MaxBodyBytes)
			}
		})
	}
	t.Run("at the limit", func(t *testing.T) {
		body := `{"taskDefinition":"web"}`
		body += strings.Repeat(" ", int(srv.MaxBodyBytes)-len(body))
		if res := call(t, srv, request("DescribeTaskDefinition", body)); res.status != http.StatusOK {
			t.Errorf("body of exactly MaxBodyBytes: status %d body %s", res.status, res.raw)
		}
		if res := call(t, srv, request("DescribeTaskDefinition", body+" ")); res.status != http.StatusBadRequest {
			t.Errorf("body of MaxBodyBytes+1: status %d body %s", res.status, res.raw)
		}
	})
}

func TestServerScope(t *testing.T) {
	srv := awsjson.NewServer(defaultAccount, defaultRegion, nil)
	var got *awsjson.Request
	awsjson.HandleFunc(srv, "ListTaskDefinitions", func(ctx context.Context, req *awsjson.Request, in *ecs.ListTaskDefinitionsInput) (*ecs.ListTaskDefinitionsOutput, error) {
		got = req
		return &ecs.ListTaskDefinitionsOutput{}, nil
	})
	sig := func(cred string) string {
		return "AWS4-HMAC-SHA256 Credential=" + cred + ", SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0123abcd"
	}
	tests := []struct {
		name                string
		auth                string
		wantAcct, wantRegio string
	}{
		{"12-digit key", sig("123456789012/20240101/eu-west-2/ecs/aws4_request"), "123456789012", "eu-west-2"},
		{"ordinary access key", sig("AKIDEXAMPLE/20240101/eu-west-2/ecs/aws4_request"), defaultAccount, "eu-west-2"},
		{"11 digits", sig("12345678901/20240101/eu-west-2/ecs/aws4_request"), defaultAccount, "eu-west-2"},
		{"13 digits", sig("1234567890123/20240101/eu-west-2/ecs/aws4_request"), defaultAccount, "eu-west-2"},
		{"digits and a letter", sig("12345678901a/20240101/eu-west-2/ecs/aws4_request"), defaultAccount, "eu-west-2"},
		{"no Authorization", "", defaultAccount, defaultRegion},
		{"not SigV4", "Bearer abc", defaultAccount, defaultRegion},
		{"short scope", sig("123456789012/20240101/eu-west-2"), defaultAccount, defaultRegion},
		{"empty region", sig("123456789012/20240101//ecs/aws4_request"), "123456789012", defaultRegion},
		{"no spaces after commas", "AWS4-HMAC-SHA256 Credential=123456789012/20240101/ap-south-1/ecs/aws4_request,SignedHeaders=host,Signature=00",
			"123456789012", "ap-south-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			r := request("ListTaskDefinitions", `{}`)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			res := call(t, srv, r)
			if res.status != http.StatusOK || got == nil {
				t.Fatalf("status %d body %s; handler called: %v", res.status, res.raw, got != nil)
			}
			want := awsjson.Request{
				Operation: "ListTaskDefinitions",
				RequestID: res.header.Get("x-amzn-RequestId"),
				Account:   tt.wantAcct,
				Region:    tt.wantRegio,
				Caller:    "arn:aws:iam::" + tt.wantAcct + ":root",
				Host:      r.Host,
				API:       awsjson.ECS,
			}
			if got.API != awsjson.ECS {
				t.Errorf("request routed to %v, want ECS", got.API.Name)
			}
			if diff := cmp.Diff(want, *got, cmpopts.IgnoreFields(awsjson.Request{}, "API")); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServerRegistrationPanics(t *testing.T) {
	srv := awsjson.NewServer(defaultAccount, defaultRegion, nil)
	tests := []struct {
		name string
		f    func()
	}{
		{"unknown operation", func() {
			srv.Handle("DescribeEverything", func(context.Context, *awsjson.Request, any) (any, error) { return nil, nil })
		}},
		{"input type of another operation", func() {
			awsjson.HandleFunc(srv, "DescribeTaskDefinition", func(context.Context, *awsjson.Request, *ecs.ListTaskDefinitionsInput) (*ecs.DescribeTaskDefinitionOutput, error) {
				return nil, nil
			})
		}},
		{"output type of another operation", func() {
			awsjson.HandleFunc(srv, "DescribeTaskDefinition", func(context.Context, *awsjson.Request, *ecs.DescribeTaskDefinitionInput) (*ecs.ListTaskDefinitionsOutput, error) {
				return nil, nil
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("registration did not panic")
				}
			}()
			tt.f()
		})
	}
	if srv.Implemented("DescribeTaskDefinition") {
		t.Error("a refused registration left a handler behind")
	}
}

// TestSecondAPI routes a second target prefix (CloudWatch Logs) through the
// same server: its handlers, its not-implemented error and its fault code,
// while ECS targets keep theirs.
func TestSecondAPI(t *testing.T) {
	srv := awsjson.NewServer("000000000000", "us-east-1", nil)
	awsjson.HandleFunc(srv, "ListClusters", func(ctx context.Context, req *awsjson.Request, in *ecs.ListClustersInput) (*ecs.ListClustersOutput, error) {
		return &ecs.ListClustersOutput{}, nil
	})
	var api *awsjson.API
	awsjson.HandleAPIFunc(srv, awsjson.Logs, "CreateLogGroup", func(ctx context.Context, req *awsjson.Request, in *cwlogs.CreateLogGroupInput) (*cwlogs.CreateLogGroupOutput, error) {
		api = req.API
		if in.LogGroupName != nil && *in.LogGroupName == "boom" {
			return nil, fmt.Errorf("disk on fire")
		}
		return &cwlogs.CreateLogGroupOutput{}, nil
	})
	do := func(target, body string) response {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("X-Amz-Target", target)
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
		return call(t, srv, r)
	}
	if res := do("Logs_20140328.CreateLogGroup", `{"logGroupName":"g"}`); res.status != 200 || api != awsjson.Logs {
		t.Fatalf("CreateLogGroup: status %d body %s api %v", res.status, res.raw, api)
	}
	for _, tt := range []struct {
		target, body string
		status       int
		code         string
	}{
		{"Logs_20140328.DescribeQueries", `{}`, 400, "InvalidOperationException"},
		{"Logs_20140328.NoSuchThing", `{}`, 400, "UnknownOperationException"},
		{"Logs_20140328.CreateLogGroup", `{"logGroupName":"boom"}`, 500, "ServiceUnavailableException"},
		{"Logs_20140328.CreateLogGroup", `{"logGroupName":5}`, 400, "SerializationException"},
		{"AmazonEC2ContainerServiceV20141113.DescribeClusters", `{}`, 400, "UnsupportedFeatureException"},
		{"AmazonEC2ContainerServiceV20141113.ListClusters", `{}`, 200, ""},
	} {
		res := do(tt.target, tt.body)
		if res.status != tt.status || res.header.Get("x-amzn-ErrorType") != tt.code {
			t.Errorf("%s %s: status %d type %q body %s, want %d %q", tt.target, tt.body, res.status,
				res.header.Get("x-amzn-ErrorType"), res.raw, tt.status, tt.code)
		}
	}
}
