package console

import (
	"context"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ecsd/ecsd/internal/driver"
)

// The page is its own defence against injected markup: no asset may parse
// a string as HTML or load anything from elsewhere. A static check, so a
// later edit that reaches for innerHTML fails here before any browser runs.
func TestAssetsNeverParseHTML(t *testing.T) {
	forbidden := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|https?://`)
	err := fs.WalkDir(assets, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if m := forbidden.FindString(line); m != "" {
				t.Errorf("%s:%d uses %q: %s", path, i+1, m, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestServesAssetsWithPolicy(t *testing.T) {
	h := Handler(Config{})
	for _, path := range []string{"/console/", "/console/app.js", "/console/api.js", "/console/sigv4.js", "/console/style.css"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
			t.Errorf("GET %s: %d (%d bytes)", path, rec.Code, rec.Body.Len())
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q", path, csp)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/console/missing.js", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET a missing asset: %d, want 404", rec.Code)
	}
}

// lines is a runtime that has written fixed lines for one container.
type lines struct{ got driver.LogOptions }

func (l *lines) Logs(ctx context.Context, id, container string, opts driver.LogOptions, fn func(driver.LogLine) error) error {
	l.got = opts
	if id != "0123456789abcdef0123456789abcdef" || container != "app" {
		return driver.ErrNotFound
	}
	for _, s := range []string{"<script>x</script>", "second"} {
		if err := fn(driver.LogLine{Time: time.UnixMilli(1700000000123), Stream: "stdout", Text: s}); err != nil {
			return err
		}
	}
	return nil
}

func TestLogsEndpoint(t *testing.T) {
	rt := &lines{}
	for _, tc := range []struct {
		name   string
		cfg    Config
		body   string
		status int
		want   string
	}{
		{"lines", Config{Logs: rt}, `{"taskId":"0123456789abcdef0123456789abcdef","container":"app"}`, 200,
			`{"events":[{"timestamp":1700000000123,"message":"\u003cscript\u003ex\u003c/script\u003e","ingestionTime":1700000000123},{"timestamp":1700000000123,"message":"second","ingestionTime":1700000000123}]}`},
		{"unknown container", Config{Logs: rt}, `{"taskId":"0123456789abcdef0123456789abcdef","container":"other"}`, 400,
			`{"__type":"ResourceNotFoundException","message":"The runtime has no container other for task 0123456789abcdef0123456789abcdef."}`},
		{"not JSON", Config{Logs: rt}, `{`, 400, `"__type":"SerializationException"`},
		{"too large", Config{Logs: rt}, `{"taskId":"` + strings.Repeat("a", 5000) + `"}`, 400, `"__type":"SerializationException"`},
		{"bad task id", Config{Logs: rt}, `{"taskId":"../etc","container":"app"}`, 400, `"__type":"InvalidParameterException"`},
		{"bad container", Config{Logs: rt}, `{"taskId":"0123456789abcdef0123456789abcdef","container":"a b"}`, 400, `"__type":"InvalidParameterException"`},
		{"simulated runtime", Config{}, `{"taskId":"0123456789abcdef0123456789abcdef","container":"app"}`, 400, `"__type":"ClientException"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Handler(tc.cfg).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/console/logs", strings.NewReader(tc.body)))
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.want) {
				t.Errorf("%d %s, want %d containing %s", rec.Code, rec.Body, tc.status, tc.want)
			}
		})
	}
	if rt.got.Tail != MaxLogLines || rt.got.Follow {
		t.Errorf("options %+v, want the last %d lines, not followed", rt.got, MaxLogLines)
	}
}

func TestLogsEndpointSigned(t *testing.T) {
	refuse := func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusBadRequest, "MissingAuthenticationTokenException", "Missing Authentication Token")
		})
	}
	h := Handler(Config{Logs: &lines{}, RequireSignatureFunc: refuse})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/console/logs", strings.NewReader(`{}`)))
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "MissingAuthenticationTokenException") {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
	// The page itself is public: it holds no data, and asks for keys.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/console/", nil))
	if rec.Code != 200 {
		t.Errorf("GET /console/ behind signatures: %d", rec.Code)
	}
}
