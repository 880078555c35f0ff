package e2e

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

var requestIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestUnimplementedOperation(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	_, err := c.ListDaemons(t.Context(), &ecs.ListDaemonsInput{ClusterArn: aws.String("default")})
	wantAPIError[*types.UnsupportedFeatureException](t, err,
		"ecsd does not implement ListDaemons yet; see docs/compat.md for the operations it supports.")
}

// TestProtocolErrors sends what no SDK would, and checks the status, the
// exact error body and the headers every response must carry.
func TestProtocolErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t)

	tests := []struct {
		name       string
		target     string // full X-Amz-Target; "" sends none
		body       string
		wantStatus int
		wantBody   map[string]any // exact body; nil: only __type is checked
		wantType   string
	}{
		{name: "unknown operation", target: targetPrefix + "NoSuchOperation", body: `{}`,
			wantStatus: 400, wantBody: map[string]any{"__type": "UnknownOperationException"}},
		{name: "another service's target", target: "DynamoDB_20120810.ListTables", body: `{}`,
			wantStatus: 400, wantBody: map[string]any{"__type": "UnknownOperationException"}},
		{name: "no target", body: `{}`,
			wantStatus: 400, wantBody: map[string]any{"__type": "UnknownOperationException"}},
		{name: "invalid JSON", target: targetPrefix + "RegisterTaskDefinition", body: `{"family":`,
			wantStatus: 400, wantType: "SerializationException"},
		{name: "not an object", target: targetPrefix + "ListTaskDefinitions", body: `[1,2]`,
			wantStatus: 400, wantType: "SerializationException"},
		{name: "wrong member type", target: targetPrefix + "RegisterTaskDefinition", body: `{"family": 5}`,
			wantStatus: 400, wantBody: map[string]any{"__type": "SerializationException", "message": "NUMBER_VALUE can not be converted to a String"}},
		{name: "string for an integer", target: targetPrefix + "ListTaskDefinitions", body: `{"maxResults":"10"}`,
			wantStatus: 400, wantBody: map[string]any{"__type": "SerializationException", "message": "STRING_VALUE can not be converted to an Integer"}},
		{name: "unknown enum value", target: targetPrefix + "ListTaskDefinitions", body: `{"sort":"SIDEWAYS"}`,
			wantStatus: 400, wantType: "InvalidParameterException"},
		{name: "modelled error", target: targetPrefix + "DescribeTaskDefinition", body: `{"taskDefinition":"nope"}`,
			wantStatus: 400, wantBody: map[string]any{"__type": "ClientException", "message": "Unable to describe task definition."}},
		{name: "empty body is an empty input", target: targetPrefix + "ListTaskDefinitions", body: ``,
			wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL()+"/", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			if tt.target != "" {
				req.Header.Set("X-Amz-Target", tt.target)
			}
			resp, body := do(t, req)
			checkResponseHeaders(t, resp)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus == 200 {
				return
			}
			got := decodeJSON(t, body)
			if tt.wantBody != nil {
				if diff := cmp.Diff(tt.wantBody, got); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
			} else if got["__type"] != tt.wantType {
				t.Errorf("__type = %v, want %s; body %s", got["__type"], tt.wantType, body)
			}
			if msg, ok := got["message"]; ok && msg == "" {
				t.Errorf("empty message in %s", body)
			}
			if et := resp.Header.Get("x-amzn-ErrorType"); et != got["__type"] {
				t.Errorf("x-amzn-ErrorType = %q, want %v", et, got["__type"])
			}
		})
	}

	t.Run("wrong method or path", func(t *testing.T) {
		for _, r := range []struct{ method, path string }{{"GET", "/"}, {"POST", "/v1/clusters"}, {"PUT", "/"}} {
			req, _ := http.NewRequestWithContext(t.Context(), r.method, s.URL()+r.path, nil)
			req.Header.Set("X-Amz-Target", targetPrefix+"ListTaskDefinitions")
			resp, body := do(t, req)
			checkResponseHeaders(t, resp)
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Errorf("%s %s: status %d, want 4xx; body %s", r.method, r.path, resp.StatusCode, body)
			}
		}
	})

	t.Run("oversize body", func(t *testing.T) {
		// A syntactically valid request just over 1 MiB.
		var b bytes.Buffer
		b.WriteString(`{"family":"big","containerDefinitions":[{"name":"app","image":"busybox","memory":128,"command":["`)
		b.WriteString(strings.Repeat("x", 1<<20))
		b.WriteString(`"]}]}`)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL()+"/", &b)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", targetPrefix+"RegisterTaskDefinition")
		resp, body := do(t, req)
		checkResponseHeaders(t, resp)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Fatalf("status %d, want 4xx; body %.200s", resp.StatusCode, body)
		}
		if got := decodeJSON(t, body)["__type"]; got == "" || got == "ServerException" {
			t.Errorf("__type = %v", got)
		}
		// Nothing was registered, and the server still answers.
		s.postOK(t, "ListTaskDefinitionFamilies", `{}`)
		_, body = s.post(t, "DescribeTaskDefinition", `{"taskDefinition":"big"}`)
		if !bytes.Contains(body, []byte("Unable to describe task definition.")) {
			t.Errorf("big was registered: %s", body)
		}
	})

	t.Run("success carries a request id", func(t *testing.T) {
		resp, _ := s.post(t, "ListTaskDefinitions", `{}`)
		checkResponseHeaders(t, resp)
		if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
			t.Errorf("Content-Type = %q", ct)
		}
		// The SDK reads the same header into its result metadata.
		c := s.defaultClient()
		seen := map[string]bool{}
		for range 3 {
			out, err := c.ListTaskDefinitions(t.Context(), &ecs.ListTaskDefinitionsInput{})
			if err != nil {
				t.Fatal(err)
			}
			id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
			if !ok || !requestIDRE.MatchString(id) || seen[id] {
				t.Errorf("SDK request id %q (present %t, seen before %t)", id, ok, seen[id])
			}
			seen[id] = true
		}
	})

	t.Run("health", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL()+"/health", nil)
		resp, body := do(t, req)
		if resp.StatusCode != 200 {
			t.Fatalf("GET /health: %d %s", resp.StatusCode, body)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type = %q", ct)
		}
		if diff := cmp.Diff(map[string]any{"status": "ok"}, decodeJSON(t, body)); diff != "" {
			t.Errorf("health body (-want +got):\n%s", diff)
		}
	})
}

func checkResponseHeaders(t *testing.T, resp *http.Response) {
	t.Helper()
	if id := resp.Header.Get("x-amzn-RequestId"); !requestIDRE.MatchString(id) {
		t.Errorf("x-amzn-RequestId = %q, want a UUID", id)
	}
}
