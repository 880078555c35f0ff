package awsjson_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ecsd/ecsd/internal/awsjson"
)

// FuzzServer sends arbitrary targets, credentials and bodies to a server
// with handlers for a few operations. Whatever arrives, the answer is 200
// or a client error in the one error shape: a 500 would blame ecsd for the
// client's bytes, and a panic would take the connection down.
func FuzzServer(f *testing.F) {
	for _, s := range []struct{ target, auth, body string }{
		{"RegisterTaskDefinition", "AWS4-HMAC-SHA256 Credential=123456789012/20240101/eu-west-2/ecs/aws4_request, SignedHeaders=host, Signature=00",
			`{"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",` +
				`"containerDefinitions":[{"name":"app","image":"nginx","portMappings":[{"containerPort":80}],"environment":[{"name":"A","value":"\u2028"}]}],` +
				`"volumes":[{"name":"v","host":{"sourcePath":"/data"}}],"tags":[{"key":"k","value":"v"}]}`},
		{"DescribeTaskDefinition", "", `{"taskDefinition":"web:3","include":["TAGS"]}`},
		{"DescribeTaskDefinition", "", `{"taskDefinition":"missing"}`},
		{"DescribeTaskDefinition", "", `{"taskDefinition":"nil"}`},
		{"CreateCluster", "", `{"clusterName":"default"}`},
		{"RegisterTaskDefinition", "", `{"family":1}`},
		{"RegisterTaskDefinition", "", `{"networkMode":"foo"}`},
		{"Nope", "", `{}`},
		{"", "", ``},
		{"RegisterTaskDefinition", "", `[]`},
		{"RegisterTaskDefinition", "", "{\"family\":\"\xff\"}"},
		{"RegisterContainerInstance", "", `{"cluster":"c","instanceIdentityDocument":"{\"instanceId\":\"i-1\"}","totalResources":[{"name":"CPU","type":"INTEGER","integerValue":1024},{"name":"PORTS","type":"STRINGSET","stringSetValue":["22"]}]}`},
		{"ListContainerInstances", "", `{"cluster":"c","filter":"attribute:ecs.instance-type =~ t2.* and not(task:group == db)","status":"DRAINING"}`},
		{"SubmitTaskStateChange", "", `{"task":"t","status":"RUNNING","containers":[{"containerName":"a","exitCode":1,"networkBindings":[{"hostPort":80}]}]}`},
	} {
		f.Add(awsjson.TargetPrefix+s.target, s.auth, []byte(s.body))
	}
	srv, _ := newTestServer(f)
	f.Fuzz(func(t *testing.T, target, auth string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Header.Set("X-Amz-Target", target)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)

		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Fatalf("target %q body %q: status %d, body %s", target, body, w.Code, w.Body)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("target %q body %q: response is not JSON: %q", target, body, w.Body)
		}
		if w.Header().Get("x-amzn-RequestId") == "" {
			t.Fatalf("no x-amzn-RequestId")
		}
		if w.Code == http.StatusBadRequest {
			var e struct {
				Type string `json:"__type"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Type == "" || e.Type != w.Header().Get("x-amzn-ErrorType") {
				t.Fatalf("target %q body %q: error body %s, x-amzn-ErrorType %q", target, body, w.Body, w.Header().Get("x-amzn-ErrorType"))
			}
		}
	})
}
