package awsjson_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/awsjson"
)

// sigNow is the verifier's clock in these tests.
var sigNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// The keys the test verifier accepts.
var (
	keyWithAccount = awsjson.Credential{AccessKeyID: "AKIDVERIFY", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", Account: "123456789012"}
	keyTemporary   = awsjson.Credential{AccessKeyID: "ASIATEMP", SecretAccessKey: "temp-secret", SessionToken: "FwoGZXIvYXdzEXAMPLE//token=="}
	keyAccountID   = awsjson.Credential{AccessKeyID: "210987654321", SecretAccessKey: "twelve-digit-secret"}
	keyPlain       = awsjson.Credential{AccessKeyID: "AKIDPLAIN", SecretAccessKey: "plain-secret"}
)

// signedServer is the protocol server with verification on, behind a real
// HTTP server so that requests cross the wire as clients send them.
type signedServer struct {
	url  string
	seen []awsjson.Request
}

func newSignedServer(t *testing.T) *signedServer {
	t.Helper()
	v, err := awsjson.NewVerifier([]awsjson.Credential{keyWithAccount, keyTemporary, keyAccountID, keyPlain})
	if err != nil {
		t.Fatal(err)
	}
	v.NowFunc = func() time.Time { return sigNow }
	srv := awsjson.NewServer(defaultAccount, defaultRegion, nil)
	srv.Verifier = v
	s := &signedServer{}
	awsjson.HandleFunc(srv, "ListTaskDefinitions", func(ctx context.Context, req *awsjson.Request, in *ecs.ListTaskDefinitionsInput) (*ecs.ListTaskDefinitionsOutput, error) {
		s.seen = append(s.seen, *req)
		return &ecs.ListTaskDefinitionsOutput{}, nil
	})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	s.url = ts.URL
	return s
}

func payloadHash(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
}

// signedRequest builds a ListTaskDefinitions request and signs it with the
// official SDK signer, the way the ECS client does.
func signedRequest(t *testing.T, url string, key awsjson.Credential, region string, at time.Time, body string, prepare func(*http.Request)) *http.Request {
	t.Helper()
	r, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", contentType)
	r.Header.Set("X-Amz-Target", awsjson.TargetPrefix+"ListTaskDefinitions")
	if key.SessionToken != "" {
		r.Header.Set("X-Amz-Security-Token", key.SessionToken)
	}
	hash := payloadHash(body)
	if prepare != nil {
		prepare(r)
		if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
			hash = h // the SDK signs what the header declares, as it does for S3
		}
	}
	creds := aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey, SessionToken: key.SessionToken}
	if err := v4.NewSigner().SignHTTP(t.Context(), creds, r, hash, "ecs", region, at); err != nil {
		t.Fatal(err)
	}
	return r
}

type wireResult struct {
	status int
	code   string
	msg    string
	raw    string
}

func send(t *testing.T, r *http.Request) wireResult {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("response %q is not JSON: %v", b, err)
	}
	if resp.StatusCode != http.StatusOK && resp.Header.Get("x-amzn-ErrorType") != body.Type {
		t.Errorf("x-amzn-ErrorType = %q, body __type %q", resp.Header.Get("x-amzn-ErrorType"), body.Type)
	}
	return wireResult{status: resp.StatusCode, code: body.Type, msg: body.Message, raw: string(b)}
}

const (
	msgMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgUnknownKey = "The security token included in the request is invalid."
	msgBadToken   = "The security token included in the request is invalid"
)

// TestVerifyOfficialSigner signs requests with aws-sdk-go-v2's SigV4
// signer and checks what the verifier makes of them, tampered or not.
func TestVerifyOfficialSigner(t *testing.T) {
	srv := newSignedServer(t)
	const body = `{"familyPrefix":"web"}`
	tests := []struct {
		name    string
		key     awsjson.Credential
		signAs  awsjson.Credential // what the client signs with, if not key
		region  string
		at      time.Time
		prepare func(*http.Request) // before signing
		tamper  func(*http.Request) // after signing
		url     string              // path and query after the host
		// on success
		wantAccount string
		// on failure
		wantCode, wantMsg string
	}{
		{name: "valid, key with an explicit account", key: keyWithAccount, wantAccount: "123456789012"},
		{name: "valid, 12-digit key is its own account", key: keyAccountID, wantAccount: "210987654321"},
		{name: "valid, other key acts in the default account", key: keyPlain, wantAccount: defaultAccount},
		{name: "valid, temporary key with its session token", key: keyTemporary, wantAccount: defaultAccount},
		{name: "valid, any region", key: keyPlain, region: "eu-west-3", wantAccount: defaultAccount},
		{name: "valid, 4m59s old", key: keyPlain, at: sigNow.Add(-4*time.Minute - 59*time.Second), wantAccount: defaultAccount},
		{name: "valid, 5m ahead", key: keyPlain, at: sigNow.Add(5 * time.Minute), wantAccount: defaultAccount},
		{name: "valid, query string signed in canonical order", key: keyPlain, url: "/?b=2&a=1&a=0&sp=x%20y&plus=a+b&e=", wantAccount: defaultAccount},
		{name: "valid, query string sent in another order and spelling", key: keyPlain, url: "/?b=2&a=1&a=0&sp=x%20y&plus=a+b&e=", wantAccount: defaultAccount,
			// The SDK rewrites the query it signs into canonical form;
			// other clients send it as written.
			tamper: func(r *http.Request) { r.URL.RawQuery = "b=2&a=1&sp=x+y&a=0&plus=a%20b&e" }},
		{name: "valid, duplicate header lines and runs of spaces", key: keyPlain, wantAccount: defaultAccount,
			prepare: func(r *http.Request) {
				r.Header.Add("X-Amz-Meta-Note", "  first   value  ")
				r.Header.Add("X-Amz-Meta-Note", "second")
			}},
		{name: "valid, header name sent in lower and mixed case", key: keyPlain, wantAccount: defaultAccount,
			prepare: func(r *http.Request) {
				r.Header["x-custom-LOWER"] = []string{"v"}
				r.Header.Del("X-Amz-Target")
				r.Header["x-AMZ-target"] = []string{awsjson.TargetPrefix + "ListTaskDefinitions"}
			}},
		{name: "valid, X-Amz-Content-Sha256 of this body", key: keyPlain, wantAccount: defaultAccount,
			prepare: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", payloadHash(body)) }},
		{name: "valid, a proxy adds an unsigned header", key: keyPlain, wantAccount: defaultAccount,
			tamper: func(r *http.Request) { r.Header.Set("X-Forwarded-For", "10.0.0.1") }},

		{name: "wrong secret", key: keyPlain, signAs: awsjson.Credential{AccessKeyID: "AKIDPLAIN", SecretAccessKey: "not-the-secret"},
			wantCode: "InvalidSignatureException", wantMsg: msgMismatch},
		{name: "unknown access key", key: keyPlain, signAs: awsjson.Credential{AccessKeyID: "AKIDNOBODY", SecretAccessKey: "plain-secret"},
			wantCode: "UnrecognizedClientException", wantMsg: msgUnknownKey},
		{name: "expired", key: keyPlain, at: sigNow.Add(-6 * time.Minute),
			wantCode: "InvalidSignatureException",
			wantMsg:  "Signature expired: 20260314T150326Z is now earlier than 20260314T150426Z (20260314T150926Z - 5 min.)"},
		{name: "too far in the future", key: keyPlain, at: sigNow.Add(5*time.Minute + time.Second),
			wantCode: "InvalidSignatureException",
			wantMsg:  "Signature not yet current: 20260314T151427Z is still later than 20260314T151426Z (20260314T150926Z + 5 min.)"},
		{name: "tampered body", key: keyPlain, wantCode: "InvalidSignatureException", wantMsg: msgMismatch,
			tamper: func(r *http.Request) {
				evil := `{"familyPrefix":"wec"}` // same length: only the hash tells
				r.Body = io.NopCloser(strings.NewReader(evil))
			}},
		{name: "tampered signed header", key: keyPlain, wantCode: "InvalidSignatureException", wantMsg: msgMismatch,
			tamper: func(r *http.Request) { r.Header.Set("Content-Type", "application/x-amz-json-1.0") }},
		{name: "tampered query", key: keyPlain, url: "/?a=1", wantCode: "InvalidSignatureException", wantMsg: msgMismatch,
			tamper: func(r *http.Request) { r.URL.RawQuery = "a=2" }},
		{name: "tampered host", key: keyPlain, wantCode: "InvalidSignatureException", wantMsg: msgMismatch,
			tamper: func(r *http.Request) { r.Host = "ecs.us-east-1.amazonaws.com" }},
		{name: "signature in upper-case hex", key: keyPlain, wantCode: "InvalidSignatureException", wantMsg: msgMismatch,
			tamper: func(r *http.Request) {
				auth := r.Header.Get("Authorization")
				i := strings.Index(auth, "Signature=") + len("Signature=")
				r.Header.Set("Authorization", auth[:i]+strings.ToUpper(auth[i:]))
			}},
		{name: "declared payload hash is not this body's", key: keyPlain, wantCode: "InvalidSignatureException", wantMsg: msgMismatch,
			prepare: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD") }},
		{name: "scoped to another service", key: keyPlain, wantCode: "InvalidSignatureException",
			wantMsg: "Credential should be scoped to correct service: 'ecs'. ",
			tamper: func(r *http.Request) {
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/ecs/", "/sts/", 1))
			}},
		{name: "temporary key without its session token", key: keyTemporary,
			signAs:   awsjson.Credential{AccessKeyID: "ASIATEMP", SecretAccessKey: "temp-secret"},
			wantCode: "UnrecognizedClientException", wantMsg: msgBadToken},
		{name: "session token removed after signing", key: keyTemporary, wantCode: "InvalidSignatureException", wantMsg: msgMismatch,
			tamper: func(r *http.Request) { r.Header.Del("X-Amz-Security-Token") }},
		{name: "temporary key with another session token", key: keyTemporary,
			signAs:   awsjson.Credential{AccessKeyID: "ASIATEMP", SecretAccessKey: "temp-secret", SessionToken: "forged"},
			wantCode: "UnrecognizedClientException", wantMsg: msgBadToken},
		{name: "long-term key with a session token", key: keyPlain,
			signAs:   awsjson.Credential{AccessKeyID: "AKIDPLAIN", SecretAccessKey: "plain-secret", SessionToken: "invented"},
			wantCode: "UnrecognizedClientException", wantMsg: msgBadToken},
		{name: "no Authorization", key: keyPlain, wantCode: "MissingAuthenticationTokenException", wantMsg: "Missing Authentication Token",
			tamper: func(r *http.Request) { r.Header.Del("Authorization") }},
		{name: "not SigV4", key: keyPlain, wantCode: "MissingAuthenticationTokenException", wantMsg: "Missing Authentication Token",
			tamper: func(r *http.Request) { r.Header.Set("Authorization", "Bearer abc") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signAs := tt.key
			if tt.signAs.AccessKeyID != "" {
				signAs = tt.signAs
			}
			region, at := tt.region, tt.at
			if region == "" {
				region = defaultRegion
			}
			if at.IsZero() {
				at = sigNow
			}
			r := signedRequest(t, srv.url+tt.url, signAs, region, at, body, tt.prepare)
			if tt.tamper != nil {
				tt.tamper(r)
			}
			srv.seen = nil
			res := send(t, r)
			if tt.wantCode == "" {
				if res.status != http.StatusOK || len(srv.seen) != 1 {
					t.Fatalf("status %d %s; handler calls %d", res.status, res.raw, len(srv.seen))
				}
				got := srv.seen[0]
				if got.Account != tt.wantAccount || got.Region != region || got.Caller != "arn:aws:iam::"+tt.wantAccount+":root" {
					t.Errorf("handler saw account %q region %q caller %q, want %q %q", got.Account, got.Region, got.Caller, tt.wantAccount, region)
				}
				return
			}
			if res.status != http.StatusBadRequest || res.code != tt.wantCode || res.msg != tt.wantMsg {
				t.Errorf("got %d %s %q\nwant 400 %s %q", res.status, res.code, res.msg, tt.wantCode, tt.wantMsg)
			}
			if len(srv.seen) != 0 {
				t.Errorf("handler ran for a request that failed verification")
			}
		})
	}
}

// TestVerifyMalformedAuthorization covers the checks before the key is
// looked up, with AWS's words for each, in AWS's order.
func TestVerifyMalformedAuthorization(t *testing.T) {
	srv := newSignedServer(t)
	const date = "20260314T150926Z"
	const cred = "Credential=AKIDPLAIN/20260314/us-east-1/ecs/aws4_request"
	const sig = "Signature=" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name, auth, amzDate string
		wantCode, wantMsg   string
	}{
		{"no Signature", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;x-amz-date", date, "IncompleteSignatureException",
			"Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;x-amz-date"},
		{"nothing but the algorithm and no date", "AWS4-HMAC-SHA256", "", "IncompleteSignatureException",
			"Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. " +
				"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256"},
		{"space after Credential=", "AWS4-HMAC-SHA256 Credential= AKIDPLAIN/20260314/us-east-1/ecs/aws4_request, SignedHeaders=host, " + sig, date,
			"IncompleteSignatureException",
			"'AKIDPLAIN/20260314/us-east-1/ecs/aws4_request' not a valid key=value pair (missing equal-sign) in Authorization header: " +
				"'AWS4-HMAC-SHA256 Credential= AKIDPLAIN/20260314/us-east-1/ecs/aws4_request, SignedHeaders=host, " + sig + "'."},
		{"date not in basic format", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;x-amz-date, " + sig, "2026-03-14T15:09:26Z",
			"IncompleteSignatureException", "Date must be in ISO-8601 'basic format'. Got '2026-03-14T15:09:26Z'. See http://en.wikipedia.org/wiki/ISO_8601"},
		{"host not signed", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=x-amz-date;x-amz-target, " + sig, date,
			"InvalidSignatureException", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."},
		{"another algorithm", "AWS4-HMAC-SHA512 " + cred + ", SignedHeaders=host;x-amz-date, " + sig, date,
			"IncompleteSignatureException", "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). "},
		{"credential of four parts", "AWS4-HMAC-SHA256 Credential=AKIDPLAIN/20260314/us-east-1/ecs, SignedHeaders=host;x-amz-date, " + sig, date,
			"IncompleteSignatureException", "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKIDPLAIN/20260314/us-east-1/ecs'"},
		{"trailing slash ignored, then the signature is checked", "AWS4-HMAC-SHA256 " + cred + "/, SignedHeaders=host;x-amz-date, " + sig, date,
			"InvalidSignatureException", msgMismatch},
		{"every scope part wrong", "AWS4-HMAC-SHA256 Credential=AKIDPLAIN/20260313/US_EAST/s3/aws5_request, SignedHeaders=host;x-amz-date, " + sig, date,
			"InvalidSignatureException",
			"Credential should be scoped to a valid region, not 'US_EAST'. Credential should be scoped to correct service: 'ecs'. " +
				"Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. " +
				"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20260313' != '20260314', from '20260314T150926Z'."},
		{"unknown key comes after the scope", "AWS4-HMAC-SHA256 Credential=AKIDNOBODY/20260314/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, " + sig, date,
			"UnrecognizedClientException", msgUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.url, strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			r.Header.Set("X-Amz-Target", awsjson.TargetPrefix+"ListTaskDefinitions")
			r.Header.Set("Authorization", tt.auth)
			if tt.amzDate != "" {
				r.Header.Set("X-Amz-Date", tt.amzDate)
			}
			res := send(t, r)
			if res.status != http.StatusBadRequest || res.code != tt.wantCode || res.msg != tt.wantMsg {
				t.Errorf("got %d %s %q\nwant 400 %s %q", res.status, res.code, res.msg, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

// TestVerifyBeforeDecoding checks where verification sits among the
// protocol's checks: an unknown target is named first (AWS's front end
// routes before it authenticates), but nothing about the body is looked
// at until the signature holds.
func TestVerifyBeforeDecoding(t *testing.T) {
	srv := newSignedServer(t)
	tests := []struct{ name, target, body, wantCode string }{
		{"unknown target", awsjson.TargetPrefix + "NoSuchOperation", `{}`, "UnknownOperationException"},
		{"malformed JSON", awsjson.TargetPrefix + "ListTaskDefinitions", `{"familyPrefix":`, "MissingAuthenticationTokenException"},
		{"operation ecsd lacks", awsjson.TargetPrefix + "DiscoverPollEndpoint", `{}`, "MissingAuthenticationTokenException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.url, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			r.Header.Set("X-Amz-Target", tt.target)
			if res := send(t, r); res.code != tt.wantCode {
				t.Errorf("__type = %s, want %s (%s)", res.code, tt.wantCode, res.raw)
			}
		})
	}
}

func TestRequireSignature(t *testing.T) {
	v, err := awsjson.NewVerifier([]awsjson.Credential{keyPlain})
	if err != nil {
		t.Fatal(err)
	}
	v.NowFunc = func() time.Time { return sigNow }
	srv := awsjson.NewServer(defaultAccount, defaultRegion, nil)
	var gotBody []string
	wrapped := func() http.Handler {
		return srv.RequireSignature(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			gotBody = append(gotBody, string(b))
			_, _ = w.Write([]byte(`{"status":"ok"}`))
		}))
	}
	ts := httptest.NewServer(wrapped())
	defer ts.Close()

	// Off: everything passes.
	open, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL, strings.NewReader("x"))
	if res := send(t, open); res.status != http.StatusOK {
		t.Fatalf("without a verifier: %d %s", res.status, res.raw)
	}
	srv.Verifier = v
	r, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL+"/moto-api/reset", nil)
	if res := send(t, r); res.status != http.StatusBadRequest || res.code != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned: %d %s", res.status, res.raw)
	}
	signed := signedRequest(t, ts.URL+"/moto-api/reset", keyPlain, defaultRegion, sigNow, "payload", nil)
	if res := send(t, signed); res.status != http.StatusOK {
		t.Errorf("signed: %d %s", res.status, res.raw)
	}
	if diff := cmp.Diff([]string{"x", "payload"}, gotBody); diff != "" {
		t.Errorf("bodies the wrapped handler read (-want +got):\n%s", diff)
	}
}

func TestLoadCredentialsFile(t *testing.T) {
	const file = "\ufeff# ecsd accepts these keys\n" +
		"[default]\n" +
		"aws_access_key_id = AKIDDEFAULT\n" +
		"aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY==\n" +
		"\n" +
		"; a config-file style header, with an account\n" +
		"[profile ci]\n" +
		"aws_access_key_id = AKIDCI\n" +
		"aws_secret_access_key = ci-secret\n" +
		"aws_account_id = 111122223333\n" +
		"region = eu-west-1\n" +
		"[sso-only]\n" +
		"sso_session = corp\n" +
		"[temp]\n" +
		"AWS_ACCESS_KEY_ID = ASIATEMP\n" +
		"aws_secret_access_key = temp-secret\n" +
		"aws_session_token = token/with=equals==\n"
	path := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := awsjson.LoadCredentialsFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []awsjson.Credential{
		{AccessKeyID: "AKIDDEFAULT", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY==", Profile: "default"},
		{AccessKeyID: "AKIDCI", SecretAccessKey: "ci-secret", Account: "111122223333", Profile: "ci"},
		{AccessKeyID: "ASIATEMP", SecretAccessKey: "temp-secret", SessionToken: "token/with=equals==", Profile: "temp"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("credentials (-want +got):\n%s", diff)
	}

	bad := []struct{ name, file, wantErr string }{
		{"no secret", "[a]\naws_access_key_id = K\n", "profile a has aws_access_key_id but no aws_secret_access_key"},
		{"no key id", "[a]\naws_secret_access_key = S\n", "profile a has aws_secret_access_key but no aws_access_key_id"},
		{"account not 12 digits", "[a]\naws_access_key_id = K\naws_secret_access_key = S\naws_account_id = 1234\n", `line 4: aws_account_id "1234" is not 12 digits`},
		{"setting before any section", "aws_access_key_id = K\n", "line 1: aws_access_key_id outside a [profile] section"},
		{"not key = value", "[a]\naws_access_key_id K\n", "line 2: expected key = value"},
		{"unclosed section", "[a\n", "line 1: a section header must end with ]"},
		{"no credentials at all", "[a]\nregion = us-east-1\n", "no profile with aws_access_key_id and aws_secret_access_key"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "credentials")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := awsjson.LoadCredentialsFile(path)
			if err == nil || err.Error() != path+": "+tt.wantErr {
				t.Errorf("error = %v, want %s: %s", err, path, tt.wantErr)
			}
		})
	}
	if _, err := awsjson.LoadCredentialsFile(filepath.Join(t.TempDir(), "absent")); !os.IsNotExist(err) {
		t.Errorf("missing file: error = %v, want not-exist", err)
	}
}

func TestNewVerifierRefuses(t *testing.T) {
	tests := []struct {
		name    string
		creds   []awsjson.Credential
		wantErr string
	}{
		{"nothing", nil, "no credentials: a verifier that accepts nothing would refuse every request"},
		{"no secret", []awsjson.Credential{{AccessKeyID: "K", Profile: "p"}}, "profile p: an access key id and a secret access key are both required"},
		{"bad account", []awsjson.Credential{{AccessKeyID: "K", SecretAccessKey: "S", Account: "x"}}, `access key K: account "x" is not 12 digits`},
		{"one key, two secrets", []awsjson.Credential{{AccessKeyID: "K", SecretAccessKey: "S", Profile: "a"}, {AccessKeyID: "K", SecretAccessKey: "T", Profile: "b"}},
			"access key K is given twice, differently (profile a and profile b)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := awsjson.NewVerifier(tt.creds); err == nil || err.Error() != tt.wantErr {
				t.Errorf("error = %v, want %s", err, tt.wantErr)
			}
		})
	}
	// The same key in two profiles, identically, is one key.
	same := awsjson.Credential{AccessKeyID: "K", SecretAccessKey: "S"}
	a, b := same, same
	a.Profile, b.Profile = "a", "b"
	if _, err := awsjson.NewVerifier([]awsjson.Credential{a, b}); err != nil {
		t.Errorf("identical key in two profiles: %v", err)
	}
}

// FuzzVerify feeds the verifier hostile Authorization headers, dates,
// queries and bodies: it must answer with one of AWS's errors, never
// panic, and never accept a request it did not see signed.
func FuzzVerify(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDPLAIN/20260314/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", "20260314T150926Z", "a=1&b=%zz", "{}")
	f.Add("AWS4- Credential=/////, SignedHeaders=;;;, Signature=", "20260314T150926Z", "", "")
	f.Add("AWS4-HMAC-SHA256 ,,,= ==,", "x", "=&&=", "\x00")
	v, err := awsjson.NewVerifier([]awsjson.Credential{keyPlain})
	if err != nil {
		f.Fatal(err)
	}
	v.NowFunc = func() time.Time { return sigNow }
	codes := map[string]bool{"MissingAuthenticationTokenException": true, "IncompleteSignatureException": true,
		"InvalidSignatureException": true, "UnrecognizedClientException": true}
	f.Fuzz(func(t *testing.T, auth, date, query, body string) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.URL.RawQuery = query
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Amz-Date", date)
		cred, verr := v.Verify(r, []byte(body))
		if verr == nil {
			t.Fatalf("accepted an unsigned request: %+v", cred)
		}
		if !codes[verr.Code] || verr.Message == "" || verr.Fault {
			t.Fatalf("answer %+v is not one of AWS's authentication errors", verr)
		}
	})
}

// TestVerifyLookup: keys the file does not hold are asked of LookupFunc
// (the task-role credentials ecsd hands to containers), session token
// included; keys it does not know stay unknown.
func TestVerifyLookup(t *testing.T) {
	role := awsjson.Credential{AccessKeyID: "ASIAROLEROLEROLEROLE", SecretAccessKey: "role-secret", SessionToken: "role-token"}
	v, err := awsjson.NewVerifier([]awsjson.Credential{keyPlain})
	if err != nil {
		t.Fatal(err)
	}
	v.NowFunc = func() time.Time { return sigNow }
	v.LookupFunc = func(id string) (awsjson.Credential, bool) { return role, id == role.AccessKeyID }
	srv := awsjson.NewServer(defaultAccount, defaultRegion, nil)
	srv.Verifier = v
	awsjson.HandleFunc(srv, "ListTaskDefinitions", func(ctx context.Context, req *awsjson.Request, in *ecs.ListTaskDefinitionsInput) (*ecs.ListTaskDefinitionsOutput, error) {
		return &ecs.ListTaskDefinitionsOutput{}, nil
	})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	const body = `{}`
	for _, tc := range []struct {
		name     string
		key      awsjson.Credential
		wantCode string
	}{
		{"role key with its token", role, ""},
		{"role key with another token", awsjson.Credential{AccessKeyID: role.AccessKeyID, SecretAccessKey: role.SecretAccessKey, SessionToken: "forged"}, "UnrecognizedClientException"},
		{"role key with a wrong secret", awsjson.Credential{AccessKeyID: role.AccessKeyID, SecretAccessKey: "guess", SessionToken: role.SessionToken}, "InvalidSignatureException"},
		{"a key nobody knows", awsjson.Credential{AccessKeyID: "ASIANOBODYNOBODYNOBO", SecretAccessKey: "x"}, "UnrecognizedClientException"},
		{"the file's key still works", keyPlain, ""},
	} {
		got := send(t, signedRequest(t, ts.URL+"/", tc.key, defaultRegion, sigNow, body, nil))
		if got.code != tc.wantCode {
			t.Errorf("%s: %+v, want code %q", tc.name, got, tc.wantCode)
		}
	}
}
