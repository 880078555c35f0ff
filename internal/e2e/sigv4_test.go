package e2e

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/ecsd/ecsd/internal/sdkhttp"
	"github.com/ecsd/ecsd/internal/server"
)

// sigv4Credentials is a credentials file in the AWS shared-credentials
// format: the AWS CLI signs with it (AWS_SHARED_CREDENTIALS_FILE) and
// ecsd verifies with it (--verify-sigv4).
const sigv4Credentials = `# keys ecsd accepts
[default]
aws_access_key_id = AKIDE2EDEFAULT
aws_secret_access_key = e2e-default-secret

[ci]
aws_access_key_id = AKIDE2ECI
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYE2EKEY
aws_account_id = 111122223333

[temporary]
aws_access_key_id = ASIAE2ETEMP
aws_secret_access_key = e2e-temp-secret
aws_session_token = IQoJb3JpZ2luX2VjEXAMPLE/e2e+token==
`

// A profile only the client has: a known key with the wrong secret.
const wrongSecretProfile = `
[wrong-secret]
aws_access_key_id = AKIDE2ECI
aws_secret_access_key = not-the-secret
`

func writeCredentials(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// withSigV4 verifies signatures against a credentials file.
func withSigV4(path string) option {
	return func(c *server.Config) { c.VerifySigV4 = path }
}

// skewedSigner is the official signer, signing as if its clock were off.
type skewedSigner struct {
	*v4.Signer
	skew time.Duration
}

func (s skewedSigner) SignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string, at time.Time, opts ...func(*v4.SignerOptions)) error {
	return s.Signer.SignHTTP(ctx, creds, r, payloadHash, service, region, at.Add(s.skew), opts...)
}

// signingClient is the official ECS client signing with key/secret/token,
// its clock off by skew.
func (e *ecsd) signingClient(key, secret, token string, skew time.Duration) *ecs.Client {
	return ecs.New(ecs.Options{
		Region:           defaultRegion,
		BaseEndpoint:     aws.String(e.URL()),
		Credentials:      credentials.NewStaticCredentialsProvider(key, secret, token),
		RetryMaxAttempts: 1,
		HTTPSignerV4:     skewedSigner{Signer: v4.NewSigner(), skew: skew},
		HTTPClient:       sdkhttp.Client(), // the SDK's own connection race; see sdkhttp
	})
}

func wantGenericAPIError(t *testing.T, err error, code string, msg *regexp.Regexp) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v (%T), want API error %s", err, err, code)
	}
	if apiErr.ErrorCode() != code || !msg.MatchString(apiErr.ErrorMessage()) {
		t.Fatalf("error %s %q, want %s matching %s", apiErr.ErrorCode(), apiErr.ErrorMessage(), code, msg)
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() != http.StatusBadRequest {
		t.Fatalf("HTTP status %d, want 400", re.HTTPStatusCode())
	}
}

// TestSigV4OfficialClient: with --verify-sigv4, the official client signing
// with a configured key works and acts in that key's account; a wrong
// secret, an unknown key, a stale or future clock and a missing or forged
// session token are refused with AWS's errors, and nothing is written.
func TestSigV4OfficialClient(t *testing.T) {
	t.Parallel()
	e := startServer(t, withSigV4(writeCredentials(t, sigv4Credentials)))

	ci := e.signingClient("AKIDE2ECI", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYE2EKEY", "", 0)
	td := register(t, ci, "signed")
	if want := arnIn(defaultRegion, "111122223333", "signed", 1); *td.TaskDefinitionArn != want {
		t.Errorf("ARN %s, want %s (the key's aws_account_id)", *td.TaskDefinitionArn, want)
	}
	register(t, e.signingClient("AKIDE2EDEFAULT", "e2e-default-secret", "", 0), "signed")
	register(t, e.signingClient("ASIAE2ETEMP", "e2e-temp-secret", "IQoJb3JpZ2luX2VjEXAMPLE/e2e+token==", 0), "signed")
	// Clocks a little off are fine, as on AWS.
	register(t, e.signingClient("AKIDE2EDEFAULT", "e2e-default-secret", "", -4*time.Minute), "skewed")
	register(t, e.signingClient("AKIDE2EDEFAULT", "e2e-default-secret", "", 4*time.Minute), "skewed")

	exact := func(s string) *regexp.Regexp { return regexp.MustCompile("^" + regexp.QuoteMeta(s) + "$") }
	const stamp = `\d{8}T\d{6}Z`
	refused := []struct {
		name     string
		client   *ecs.Client
		wantCode string
		wantMsg  *regexp.Regexp
	}{
		{"wrong secret", e.signingClient("AKIDE2ECI", "not-the-secret", "", 0), "InvalidSignatureException",
			exact("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")},
		{"unknown key", e.signingClient("AKIDNOBODY", "whatever", "", 0), "UnrecognizedClientException",
			exact("The security token included in the request is invalid.")},
		{"expired", e.signingClient("AKIDE2ECI", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYE2EKEY", "", -6*time.Minute), "InvalidSignatureException",
			regexp.MustCompile(`^Signature expired: ` + stamp + ` is now earlier than ` + stamp + ` \(` + stamp + ` - 5 min\.\)$`)},
		{"from the future", e.signingClient("AKIDE2ECI", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYE2EKEY", "", 6*time.Minute), "InvalidSignatureException",
			regexp.MustCompile(`^Signature not yet current: ` + stamp + ` is still later than ` + stamp + ` \(` + stamp + ` \+ 5 min\.\)$`)},
		{"temporary key without its token", e.signingClient("ASIAE2ETEMP", "e2e-temp-secret", "", 0), "UnrecognizedClientException",
			exact("The security token included in the request is invalid")},
		{"temporary key, forged token", e.signingClient("ASIAE2ETEMP", "e2e-temp-secret", "forged", 0), "UnrecognizedClientException",
			exact("The security token included in the request is invalid")},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.client.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
				Family: aws.String("refused"), ContainerDefinitions: []types.ContainerDefinition{container("app")},
			})
			wantGenericAPIError(t, err, tt.wantCode, tt.wantMsg)
		})
	}
	out, err := ci.ListTaskDefinitionFamilies(t.Context(), &ecs.ListTaskDefinitionFamiliesInput{FamilyPrefix: aws.String("refused")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Families) != 0 {
		t.Errorf("a refused request wrote: %v", out.Families)
	}

	// Unsigned: AWS's answer, before the body is even parsed.
	resp, body := e.post(t, "ListClusters", `{"not json`)
	m := decodeJSON(t, body)
	if resp.StatusCode != http.StatusBadRequest || m["__type"] != "MissingAuthenticationTokenException" || m["message"] != "Missing Authentication Token" {
		t.Errorf("unsigned request: %d %s", resp.StatusCode, body)
	}
	if resp, _ := http.Get(e.URL() + "/health"); resp == nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/health must stay open for probes")
	}
}

// TestSigV4ResetNeedsSignature: the reset endpoint deletes everything, so
// with verification on it wants a signature like the API (curl's
// --aws-sigv4 is an independent signer).
func TestSigV4ResetNeedsSignature(t *testing.T) {
	t.Parallel()
	e := startServer(t, withReset(), withSigV4(writeCredentials(t, sigv4Credentials)))
	if resp, body := postReset(t, e); resp.StatusCode != http.StatusBadRequest || !bytes.Contains(body, []byte(`"MissingAuthenticationTokenException"`)) {
		t.Fatalf("unsigned reset: %d %s", resp.StatusCode, body)
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skipf("skipping the signed reset: curl is not installed: %v", err)
	}
	out, err := exec.CommandContext(t.Context(), curl, "-sS", "-X", "POST", "--aws-sigv4", "aws:amz:us-east-1:ecs",
		"--user", "AKIDE2EDEFAULT:e2e-default-secret", e.URL()+"/moto-api/reset").CombinedOutput()
	if err != nil || string(out) != `{"status":"ok"}` {
		t.Fatalf("signed reset with curl: %v: %s", err, out)
	}
}

// TestSigV4Curl: curl's own SigV4 implementation, not an AWS SDK, is
// accepted for an API call; with a wrong password it is refused.
func TestSigV4Curl(t *testing.T) {
	t.Parallel()
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skipf("skipping: curl is not installed: %v", err)
	}
	e := startServer(t, withSigV4(writeCredentials(t, sigv4Credentials)))
	call := func(user string) string {
		out, err := exec.CommandContext(t.Context(), curl, "-sS", "--aws-sigv4", "aws:amz:eu-west-1:ecs", "--user", user,
			"-H", "X-Amz-Target: "+targetPrefix+"CreateCluster", "-H", "Content-Type: application/x-amz-json-1.1",
			"-d", `{"clusterName":"by-curl"}`, e.URL()+"/").CombinedOutput()
		if err != nil {
			t.Fatalf("curl: %v: %s", err, out)
		}
		return string(out)
	}
	if out := call("AKIDE2ECI:wJalrXUtnFEMI/K7MDENG+bPxRfiCYE2EKEY"); !strings.Contains(out, `"clusterArn":"arn:aws:ecs:eu-west-1:111122223333:cluster/by-curl"`) {
		t.Errorf("signed by curl: %s", out)
	}
	if out := call("AKIDE2ECI:not-the-secret"); !strings.Contains(out, `"__type":"InvalidSignatureException"`) {
		t.Errorf("wrong secret by curl: %s", out)
	}
}

// TestSigV4AWSCLI: the AWS CLI signs with the same credentials file ecsd
// verifies with, profile by profile.
func TestSigV4AWSCLI(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipping the AWS CLI in -short mode")
	}
	cli, err := exec.LookPath("aws")
	if err != nil {
		t.Skipf("skipping: the AWS CLI is not installed: %v", err)
	}
	serverFile := writeCredentials(t, sigv4Credentials)
	clientFile := writeCredentials(t, sigv4Credentials+wrongSecretProfile)
	e := startServer(t, withSigV4(serverFile))
	run := func(profile string, args ...string) (string, error) {
		cmd := exec.CommandContext(t.Context(), cli, append([]string{"ecs", "--endpoint-url", e.URL(), "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_SHARED_CREDENTIALS_FILE="+clientFile, "AWS_CONFIG_FILE=/dev/null",
			"AWS_PROFILE="+profile, "AWS_DEFAULT_REGION=us-east-1", "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=",
			"AWS_SESSION_TOKEN=", "AWS_ENDPOINT_URL=", "AWS_ENDPOINT_URL_ECS=", "AWS_MAX_ATTEMPTS=1")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("ci", "create-cluster", "--cluster-name", "by-cli")
	if err != nil || !strings.Contains(out, `"clusterArn": "arn:aws:ecs:us-east-1:111122223333:cluster/by-cli"`) {
		t.Fatalf("create-cluster as ci: %v\n%s", err, out)
	}
	if out, err := run("temporary", "list-clusters"); err != nil {
		t.Fatalf("list-clusters with a session token: %v\n%s", err, out)
	}
	out, err = run("wrong-secret", "list-clusters")
	if err == nil || !strings.Contains(out, "An error occurred (InvalidSignatureException) when calling the ListClusters operation: "+
		"The request signature we calculated does not match the signature you provided.") {
		t.Fatalf("list-clusters with a wrong secret: %v\n%s", err, out)
	}
}

// TestRemoteListenRefusedWithDocker: the binary refuses to serve the
// Docker runtime beyond loopback without --verify-sigv4 or
// --insecure-allow-remote, says why and what to pass, and exits 1 before
// it has touched the data directory or the Engine.
func TestRemoteListenRefusedWithDocker(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipping in -short mode: it builds ecsd")
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	cmd := exec.CommandContext(t.Context(), ecsdBinary(t), "--listen", "0.0.0.0:0", "--runtime", "docker", "--data-dir", dataDir)
	cmd.Env = append(os.Environ(), "ECSD_VERIFY_SIGV4=", "ECSD_INSECURE_ALLOW_REMOTE=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("ecsd exited with %v, want exit status 1; stderr:\n%s", err, stderr.String())
	}
	want := "ecsd: refusing to serve the ECS API on 0.0.0.0:0 (every interface) with the docker runtime: anyone who can reach it " +
		"could start containers, which is root on this host. Listen on 127.0.0.1, or pass --verify-sigv4 FILE " +
		"(env ECSD_VERIFY_SIGV4) to accept only requests signed with the keys in FILE, or pass --insecure-allow-remote " +
		"(env ECSD_INSECURE_ALLOW_REMOTE=1) if everyone who can reach that address may do so\n"
	if stderr.String() != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr.String(), want)
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Errorf("the data directory was created before the refusal: %v", err)
	}
}

// TestRemoteListenAllowed: the guard lets a remote listen through with
// signatures verified, or on the simulated runtime.
func TestRemoteListenAllowed(t *testing.T) {
	t.Parallel()
	creds := writeCredentials(t, sigv4Credentials)
	for _, tt := range []struct {
		name string
		opts []option
	}{
		{"simulated runtime", []option{guardListen("0.0.0.0:0")}},
		{"docker with signatures verified", []option{guardListen("0.0.0.0:0"), guardRuntime(server.RuntimeDocker), withSigV4(creds)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := server.Config{DataDir: t.TempDir(), AccountID: defaultAccount, Region: defaultRegion}
			for _, o := range tt.opts {
				o(&cfg)
			}
			srv, err := server.Start(t.Context(), cfg)
			if err != nil && cfg.Runtime == server.RuntimeDocker && strings.Contains(err.Error(), "Engine") {
				t.Skipf("skipping: no Docker Engine answers: %v", err)
			}
			if err != nil {
				t.Fatalf("server.Start: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	cfg := server.Config{DataDir: t.TempDir(), AccountID: defaultAccount, Region: defaultRegion,
		Listen: "0.0.0.0:0", Runtime: server.RuntimeDocker}
	if _, err := server.Start(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "refusing to serve the ECS API on 0.0.0.0:0") {
		t.Fatalf("server.Start with docker on 0.0.0.0 = %v, want the refusal", err)
	}
}

func guardListen(addr string) option { return func(c *server.Config) { c.Listen = addr } }

func guardRuntime(name string) option { return func(c *server.Config) { c.Runtime = name } }
