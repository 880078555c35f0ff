package awsjson

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ecsd/ecsd/internal/ecs"
)

// AWS Signature Version 4, verified the way the ECS front end does it.
//
// An API that starts containers is root on its host, so when ecsd is given
// credentials it checks every request's signature before anything else
// looks at the body. The checks run in the order AWS's JSON services run
// them (recorded by dynalite for DynamoDB, whose front end ECS shares), so
// a client that gets several things wrong hears about the same one AWS
// would name first, with AWS's code and words:
//
//  1. no Authorization header, or not an AWS4 one: MissingAuthenticationTokenException
//  2. Credential, SignedHeaders, Signature or the date missing: IncompleteSignatureException
//  3. X-Amz-Date malformed (IncompleteSignatureException) or outside the
//     clock-skew window (InvalidSignatureException "Signature expired")
//  4. host not among the signed headers: InvalidSignatureException
//  5. an algorithm other than AWS4-HMAC-SHA256: IncompleteSignatureException
//  6. a credential without 5 parts: IncompleteSignatureException
//  7. a scope for another service, a bad region or terminator, or a date
//     that is not X-Amz-Date's: InvalidSignatureException
//  8. an unknown access key: UnrecognizedClientException
//  9. a signature that does not match: InvalidSignatureException
//  10. a session token that does not match: UnrecognizedClientException
//
// The verification is our own code, written from the specification rather
// than borrowed from an SDK signer, so that what ecsd accepts is exactly
// what is written here.

const (
	sigV4Algorithm  = "AWS4-HMAC-SHA256"
	sigV4Terminator = "aws4_request"
	amzDateFormat   = "20060102T150405Z"
	scopeDateFormat = "20060102"

	// DefaultMaxClockSkew is how far X-Amz-Date may be from ecsd's clock.
	// ECS answers "Signature expired: ... (... - 5 min.)" (DescribeServices
	// and the agent's DiscoverPollEndpoint, recorded in issue reports);
	// DynamoDB and ECR allow 15 minutes.
	DefaultMaxClockSkew = 5 * time.Minute

	// SigningName is the service name in an ECS credential scope.
	SigningName = "ecs"
)

// Credential is one access key ecsd accepts.
type Credential struct {
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken, when set, must arrive in X-Amz-Security-Token with
	// every request signed by this key, as temporary AWS credentials do.
	SessionToken string
	// Account is the account the key acts in. Empty: the usual rule (a
	// 12-digit key names its account, any other key the default one).
	Account string
	// Profile names where the key came from, for messages.
	Profile string
}

// Verifier checks SigV4 signatures against a fixed set of credentials.
type Verifier struct {
	// Service is the signing name a credential scope must carry.
	Service string
	// MaxClockSkew bounds the distance between X-Amz-Date and now.
	MaxClockSkew time.Duration
	// NowFunc is the clock (time.Now when nil); tests inject it.
	NowFunc func() time.Time
	// LookupFunc, when set, is asked for keys the credentials file does
	// not hold: the simulated task-role credentials ecsd hands to
	// containers, so code in a task can call ecsd with its role's keys.
	LookupFunc func(accessKeyID string) (Credential, bool)

	keys map[string]Credential
}

// NewVerifier returns a verifier for ECS that accepts creds.
func NewVerifier(creds []Credential) (*Verifier, error) {
	if len(creds) == 0 {
		return nil, errors.New("no credentials: a verifier that accepts nothing would refuse every request")
	}
	keys := make(map[string]Credential, len(creds))
	for _, c := range creds {
		if c.AccessKeyID == "" || c.SecretAccessKey == "" {
			return nil, fmt.Errorf("%s: an access key id and a secret access key are both required", c.where())
		}
		if c.Account != "" && !isAccountID(c.Account) {
			return nil, fmt.Errorf("%s: account %q is not 12 digits", c.where(), c.Account)
		}
		if old, dup := keys[c.AccessKeyID]; dup && (old.SecretAccessKey != c.SecretAccessKey ||
			old.SessionToken != c.SessionToken || old.Account != c.Account) {
			return nil, fmt.Errorf("access key %s is given twice, differently (%s and %s)", c.AccessKeyID, old.where(), c.where())
		}
		keys[c.AccessKeyID] = c
	}
	return &Verifier{Service: SigningName, MaxClockSkew: DefaultMaxClockSkew, keys: keys}, nil
}

func (c Credential) where() string {
	if c.Profile != "" {
		return "profile " + c.Profile
	}
	return "access key " + c.AccessKeyID
}

func (v *Verifier) now() time.Time {
	if v.NowFunc != nil {
		return v.NowFunc()
	}
	return time.Now()
}

// The errors AWS's front end answers, all HTTP 400 on JSON services.

func missingAuthenticationToken() *ecs.Error {
	return &ecs.Error{Code: "MissingAuthenticationTokenException", Message: "Missing Authentication Token"}
}

func incompleteSignature(format string, args ...any) *ecs.Error {
	return &ecs.Error{Code: "IncompleteSignatureException", Message: fmt.Sprintf(format, args...)}
}

func invalidSignature(msg string) *ecs.Error {
	return &ecs.Error{Code: "InvalidSignatureException", Message: msg}
}

func signatureMismatch() *ecs.Error {
	return invalidSignature("The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
}

func unrecognizedClient(msg string) *ecs.Error {
	return &ecs.Error{Code: "UnrecognizedClientException", Message: msg}
}

// Verify checks r's Authorization header against the credentials, body
// being r's whole body. It returns the credential that signed r, or the
// error AWS would answer.
func (v *Verifier) Verify(r *http.Request, body []byte) (*Credential, *ecs.Error) {
	return v.VerifyFor(r, body, v.Service)
}

// VerifyFor is Verify for a request to the service whose signing name is
// service (ECS's "ecs", CloudWatch Logs' "logs"): the credential scope
// must name it.
func (v *Verifier) VerifyFor(r *http.Request, body []byte, service string) (*Credential, *ecs.Error) {
	if service == "" {
		service = v.Service
	}
	auth := strings.TrimSpace(r.Header.Get("Authorization"))
	if !strings.HasPrefix(auth, "AWS4-") {
		return nil, missingAuthenticationToken()
	}
	algorithm, rest, _ := strings.Cut(auth, " ")
	params, perr := authParams(auth, rest)
	if perr != nil {
		return nil, perr
	}

	var missing strings.Builder
	for _, name := range []string{"Credential", "Signature", "SignedHeaders"} {
		if params[name] == "" {
			fmt.Fprintf(&missing, "Authorization header requires '%s' parameter. ", name)
		}
	}
	// SigV4 also allows the HTTP Date header in X-Amz-Date's place; no SDK
	// or CLI signs that way, and ecsd does not accept it (docs/compat.md).
	rawDate := r.Header.Get("X-Amz-Date")
	if rawDate == "" {
		missing.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
	}
	if missing.Len() > 0 {
		return nil, incompleteSignature("%sAuthorization=%s", missing.String(), auth)
	}

	signedAt, err := time.Parse(amzDateFormat, rawDate)
	if err != nil || len(rawDate) != len(amzDateFormat) {
		return nil, incompleteSignature("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", rawDate)
	}
	if cerr := v.checkClock(signedAt); cerr != nil {
		return nil, cerr
	}

	signedHeaders := strings.Split(strings.ToLower(params["SignedHeaders"]), ";")
	if !slices.Contains(signedHeaders, "host") && !slices.Contains(signedHeaders, ":authority") {
		return nil, invalidSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	if algorithm != sigV4Algorithm {
		return nil, incompleteSignature("Unsupported AWS 'algorithm': '%s' (only AWS4-HMAC-SHA256 for now). ", algorithm)
	}

	credential := strings.TrimRight(params["Credential"], "/")
	scope := strings.Split(credential, "/")
	if len(scope) != 5 {
		return nil, incompleteSignature("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", credential)
	}
	keyID, scopeDate, region, scopeService, terminator := scope[0], scope[1], scope[2], scope[3], scope[4]
	var wrong strings.Builder
	if !isRegionName(region) {
		fmt.Fprintf(&wrong, "Credential should be scoped to a valid region, not '%s'. ", region)
	}
	if scopeService != service {
		fmt.Fprintf(&wrong, "Credential should be scoped to correct service: '%s'. ", service)
	}
	if terminator != sigV4Terminator {
		fmt.Fprintf(&wrong, "Credential should be scoped with a valid terminator: '%s', not '%s'. ", sigV4Terminator, terminator)
	}
	amzDate := rawDate
	if day := signedAt.Format(scopeDateFormat); scopeDate != day {
		fmt.Fprintf(&wrong, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", scopeDate, day, amzDate)
	}
	if wrong.Len() > 0 {
		return nil, invalidSignature(wrong.String())
	}

	cred, known := v.keys[keyID]
	if !known && v.LookupFunc != nil {
		cred, known = v.LookupFunc(keyID)
	}
	if !known {
		return nil, unrecognizedClient("The security token included in the request is invalid.")
	}

	// The canonical request names the body by its hash. A client may
	// declare that hash in X-Amz-Content-Sha256; it must then be this
	// body's, or the signature covers some other body (or, for
	// UNSIGNED-PAYLOAD, none) and proves nothing about this one.
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if declared := r.Header.Get("X-Amz-Content-Sha256"); declared != "" && declared != payloadHash {
		return nil, signatureMismatch()
	}
	canonical := canonicalRequest(r, signedHeaders, payloadHash)
	credentialScope := scopeDate + "/" + region + "/" + service + "/" + sigV4Terminator
	want := signature(cred.SecretAccessKey, scopeDate, region, service, stringToSign(amzDate, credentialScope, canonical))
	if subtle.ConstantTimeCompare([]byte(want), []byte(params["Signature"])) != 1 {
		return nil, signatureMismatch()
	}

	token := r.Header.Get("X-Amz-Security-Token")
	if subtle.ConstantTimeCompare([]byte(token), []byte(cred.SessionToken)) != 1 {
		// AWS's wording for a bad token lacks the final period.
		return nil, unrecognizedClient("The security token included in the request is invalid")
	}
	return &cred, nil
}

// authParams splits the Authorization header after its algorithm into
// key=value pairs. AWS separates them with commas and tolerates spaces, and
// names the first piece without an equal sign.
func authParams(auth, rest string) (map[string]string, *ecs.Error) {
	params := map[string]string{}
	for _, piece := range strings.FieldsFunc(rest, func(r rune) bool { return r == ',' || r == ' ' }) {
		k, val, ok := strings.Cut(piece, "=")
		if !ok {
			return nil, incompleteSignature("'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.", piece, auth)
		}
		params[k] = val
	}
	return params, nil
}

// checkClock refuses a signing time outside MaxClockSkew of now, in AWS's
// words: the bound it crossed, then now and the window.
func (v *Verifier) checkClock(signedAt time.Time) *ecs.Error {
	now := v.now().UTC().Truncate(time.Second)
	skew := v.MaxClockSkew
	window := strconv.FormatFloat(skew.Minutes(), 'f', -1, 64) + " min."
	switch {
	case signedAt.Before(now.Add(-skew)):
		return invalidSignature(fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s)",
			signedAt.Format(amzDateFormat), now.Add(-skew).Format(amzDateFormat), now.Format(amzDateFormat), window))
	case signedAt.After(now.Add(skew)):
		return invalidSignature(fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %s)",
			signedAt.Format(amzDateFormat), now.Add(skew).Format(amzDateFormat), now.Format(amzDateFormat), window))
	}
	return nil
}

// canonicalRequest is SigV4's canonical form of r: method, URI, query,
// the signed headers with their values, the signed header names, and the
// payload hash, one per line.
func canonicalRequest(r *http.Request, signedHeaders []string, payloadHash string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r.URL))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.RawQuery))
	b.WriteByte('\n')
	for _, name := range signedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(canonicalHeaderValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// canonicalURI is the request path as sent, encoded once more: services
// other than S3 sign the doubly-encoded path.
func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	return uriEncode(p, false)
}

// canonicalQuery sorts the query's parameters by name, then value, each
// encoded the SigV4 way.
func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	type pair struct{ k, v string }
	var pairs []pair
	for _, kv := range strings.Split(raw, "&") {
		if kv == "" {
			continue
		}
		k, val, _ := strings.Cut(kv, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if uv, err := url.QueryUnescape(val); err == nil {
			val = uv
		}
		pairs = append(pairs, pair{uriEncode(k, true), uriEncode(val, true)})
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.k + "=" + p.v
	}
	return strings.Join(parts, "&")
}

// canonicalHeaderValue joins every value of the named header with commas,
// each trimmed and with runs of spaces folded to one, as the SDKs send
// duplicate header lines. Host and Content-Length are not in r.Header's
// values the way they were sent, so they come from the request itself.
func canonicalHeaderValue(r *http.Request, name string) string {
	var values []string
	switch name {
	case "host", ":authority":
		values = []string{r.Host}
	default:
		values = r.Header.Values(name)
		if len(values) == 0 && name == "content-length" && r.ContentLength >= 0 {
			values = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	}
	for i, v := range values {
		values[i] = foldSpaces(strings.TrimSpace(v))
	}
	return strings.Join(values, ",")
}

func foldSpaces(s string) string {
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	space := false
	for i := range len(s) {
		if s[i] == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// uriEncode percent-encodes every byte but RFC 3986's unreserved ones
// (and '/', unless encodeSlash), with upper-case hex, as SigV4 requires.
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := range len(s) {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || c == '/' && !encodeSlash {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func stringToSign(amzDate, credentialScope, canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return sigV4Algorithm + "\n" + amzDate + "\n" + credentialScope + "\n" + hex.EncodeToString(sum[:])
}

// signature derives the signing key from the secret through the scope's
// date, region and service, and signs with it.
func signature(secret, date, region, service, toSign string) string {
	key := hmacSHA256([]byte("AWS4"+secret), date)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, sigV4Terminator)
	return hex.EncodeToString(hmacSHA256(key, toSign))
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// LoadCredentialsFile reads the credentials ecsd accepts from a file in
// the AWS shared-credentials format (~/.aws/credentials), so the file a
// client signs with can be the file ecsd verifies with:
//
//	[default]
//	aws_access_key_id = AKIAEXAMPLE
//	aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
//	aws_account_id = 123456789012    ; optional: the account this key acts in
//	aws_session_token = ...          ; optional: then required with this key
//
// Every profile with an access key contributes one credential. Lines
// starting with # or ; are comments; "[profile name]" headers (the config
// file's spelling) are accepted too; other settings are ignored.
func LoadCredentialsFile(path string) ([]Credential, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	creds, err := parseCredentials(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return creds, nil
}

func parseCredentials(r io.Reader) ([]Credential, error) {
	var (
		creds   []Credential
		cur     *Credential
		profile string
		line    int
	)
	flush := func() error {
		if cur == nil {
			return nil
		}
		switch {
		case cur.AccessKeyID == "" && cur.SecretAccessKey == "":
			// A profile of other settings (region, role_arn): not ours.
		case cur.AccessKeyID == "":
			return fmt.Errorf("profile %s has aws_secret_access_key but no aws_access_key_id", profile)
		case cur.SecretAccessKey == "":
			return fmt.Errorf("profile %s has aws_access_key_id but no aws_secret_access_key", profile)
		default:
			creds = append(creds, *cur)
		}
		cur = nil
		return nil
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		if text == "" || text[0] == '#' || text[0] == ';' {
			continue
		}
		if text[0] == '[' {
			if !strings.HasSuffix(text, "]") {
				return nil, fmt.Errorf("line %d: a section header must end with ]", line)
			}
			if err := flush(); err != nil {
				return nil, err
			}
			profile = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(text[1:len(text)-1]), "profile "))
			cur = &Credential{Profile: profile}
			continue
		}
		k, val, ok := strings.Cut(text, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: expected key = value", line)
		}
		if cur == nil {
			return nil, fmt.Errorf("line %d: %s outside a [profile] section", line, strings.TrimSpace(k))
		}
		val = strings.TrimSpace(val)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "aws_access_key_id":
			cur.AccessKeyID = val
		case "aws_secret_access_key":
			cur.SecretAccessKey = val
		case "aws_session_token":
			cur.SessionToken = val
		case "aws_account_id":
			if !isAccountID(val) {
				return nil, fmt.Errorf("line %d: aws_account_id %q is not 12 digits", line, val)
			}
			cur.Account = val
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(creds) == 0 {
		return nil, errors.New("no profile with aws_access_key_id and aws_secret_access_key")
	}
	return creds, nil
}

// RequireSignature wraps h, an endpoint outside the ECS API (such as the
// reset endpoint), so that when s verifies signatures it serves only
// signed requests; the body is read, verified and handed on intact.
func (s *Server) RequireSignature(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Verifier == nil {
			h.ServeHTTP(w, r)
			return
		}
		req := &Request{RequestID: newRequestID()}
		w.Header().Set("x-amzn-RequestId", req.RequestID)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxBodyBytes))
		if err != nil {
			s.writeError(w, req, &ecs.Error{Code: "SerializationException", Message: "Could not read the request body."}, err)
			return
		}
		if _, verr := s.Verifier.Verify(r, body); verr != nil {
			s.writeError(w, req, verr, nil)
			return
		}
		w.Header().Del("Content-Type")
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(w, r)
	})
}
