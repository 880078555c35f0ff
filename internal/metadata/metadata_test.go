package metadata

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/driver"
)

func testServer(t *testing.T) *Server {
	t.Helper()
	return &Server{cfg: Config{Gateway: netip.MustParseAddr("172.17.0.1")}, key: []byte("0123456789abcdef0123456789abcdef"), port: 4567, gateway: true}
}

const taskARN = "arn:aws:ecs:us-east-1:123456789012:task/default/0123456789abcdef0123456789abcdef"

// Tokens name one task and container and cannot be made up or altered.
func TestTokens(t *testing.T) {
	s := testServer(t)
	tok := s.containerToken(taskARN, "app")
	split := func(p string) []string { a, b, _ := strings.Cut(p, "\n"); return []string{a, b} }
	parts, ok := s.parseToken(tok, "v4", split)
	if !ok || parts[0] != taskARN || parts[1] != "app" {
		t.Fatalf("parseToken(%q) = %v, %v", tok, parts, ok)
	}
	enc, sig, _ := strings.Cut(tok, ".")
	other := s.containerToken(taskARN, "side")
	_, otherSig, _ := strings.Cut(other, ".")
	for name, bad := range map[string]string{
		"another container's signature": enc + "." + otherSig,
		"no signature":                  enc,
		"garbage":                       "x.y",
		"a credentials token":           s.credentialsToken(taskARN),
		"another key":                   (&Server{key: []byte("another key another key another k")}).containerToken(taskARN, "app"),
		"truncated signature":           enc + "." + sig[:len(sig)-2],
	} {
		if _, ok := s.parseToken(bad, "v4", split); ok {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDecorate(t *testing.T) {
	s := testServer(t)
	td := types.TaskDefinition{TaskRoleArn: aws.String("arn:aws:iam::123456789012:role/app")}
	task := types.Task{TaskArn: aws.String(taskARN), LaunchType: types.LaunchTypeFargate}
	spec := driver.GroupSpec{NetworkMode: driver.NetworkAwsvpc, Containers: []driver.ContainerSpec{
		{Name: "app", Env: []driver.EnvVar{{Name: "AWS_EXECUTION_ENV", Value: "mine"}, {Name: EnvMetadataURIV4, Value: "spoofed"}}},
	}}
	s.Decorate(&spec, task, td)
	env := map[string]string{}
	for _, e := range spec.Containers[0].Env {
		env[e.Name] = e.Value // later wins, as in Docker
	}
	if got := env[EnvMetadataURIV4]; got != "http://172.17.0.1:4567/v4/"+s.containerToken(taskARN, "app") {
		t.Errorf("metadata URI %q", got)
	}
	if got := env[EnvCredentialsFullURI]; got != "http://172.17.0.1:4567/v2/credentials/"+s.credentialsToken(taskARN) {
		t.Errorf("credentials URI %q", got)
	}
	if env[EnvAuthorizationToken] != s.authorizationToken(taskARN) || env[EnvExecutionEnvironment] != "mine" {
		t.Errorf("env %v", env)
	}

	host := driver.GroupSpec{NetworkMode: driver.NetworkHost, Containers: []driver.ContainerSpec{{Name: "app"}}}
	s.Decorate(&host, types.Task{TaskArn: aws.String(taskARN)}, types.TaskDefinition{})
	env = map[string]string{}
	for _, e := range host.Containers[0].Env {
		env[e.Name] = e.Value
	}
	if !strings.HasPrefix(env[EnvMetadataURIV4], "http://127.0.0.1:4567/v4/") || env[EnvExecutionEnvironment] != "AWS_ECS_EC2" {
		t.Errorf("host-mode env %v", env)
	}
	if _, ok := env[EnvCredentialsFullURI]; ok {
		t.Errorf("a task without a role got a credentials URI")
	}

	// On the ECS address, SDKs find credentials by the relative URI.
	s.linkLocal = 80
	ll := driver.GroupSpec{NetworkMode: driver.NetworkBridge, Containers: []driver.ContainerSpec{{Name: "app"}}}
	s.Decorate(&ll, task, td)
	env = map[string]string{}
	for _, e := range ll.Containers[0].Env {
		env[e.Name] = e.Value
	}
	if env[EnvCredentialsRelative] != "/v2/credentials/"+s.credentialsToken(taskARN) || !strings.HasPrefix(env[EnvMetadataURIV4], "http://169.254.170.2/v4/") {
		t.Errorf("link-local env %v", env)
	}
}

func TestSimulatedCredentials(t *testing.T) {
	s := testServer(t)
	now := time.Date(2026, 5, 1, 10, 20, 0, 0, time.UTC)
	a := s.simulatedCredentials(taskARN, "arn:aws:iam::123456789012:role/app", now)
	b := s.simulatedCredentials(taskARN, "arn:aws:iam::123456789012:role/app", now.Add(30*time.Minute))
	c := s.simulatedCredentials(taskARN, "arn:aws:iam::123456789012:role/app", now.Add(time.Hour))
	if a != b {
		t.Errorf("credentials changed within the hour: %+v, %+v", a, b)
	}
	if c.AccessKeyID == a.AccessKeyID || c.SecretAccessKey == a.SecretAccessKey {
		t.Errorf("credentials not rotated after an hour")
	}
	if !strings.HasPrefix(a.AccessKeyID, "ASIA") || len(a.AccessKeyID) != 20 || len(a.SecretAccessKey) != 40 || a.Expiration != "2026-05-01T16:00:00Z" {
		t.Errorf("credentials %+v", a)
	}
	if s.CredentialsSecret(a.AccessKeyID) != a.SecretAccessKey || s.CredentialsSecret("AKIDEXAMPLE") != "" {
		t.Errorf("CredentialsSecret does not give the secret back")
	}
	secret, token, ok := s.TaskRoleCredential(a.AccessKeyID)
	if !ok || secret != a.SecretAccessKey || token != a.Token {
		t.Errorf("TaskRoleCredential(%s) = %q, %q, %v; want the handed-out secret and token", a.AccessKeyID, secret, token, ok)
	}
	if _, _, ok := s.TaskRoleCredential("AKIDEXAMPLE"); ok {
		t.Errorf("TaskRoleCredential accepted a key id it never hands out")
	}
}

// Paths that are not the endpoints', and tokens that do not verify, are
// refused before anything is read.
func TestHandlerRefusals(t *testing.T) {
	s := testServer(t)
	h := s.handler(true)
	for path, want := range map[string]int{
		"/":                    http.StatusNotFound,
		"/v4/nope":             http.StatusNotFound,
		"/v4/nope/task":        http.StatusNotFound,
		"/v2/credentials/nope": http.StatusBadRequest,
		"/v2/credentials/" + s.credentialsToken(taskARN): http.StatusUnauthorized,
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want {
			t.Errorf("GET %s: %d %s, want %d", path, rec.Code, rec.Body, want)
		}
	}
}
