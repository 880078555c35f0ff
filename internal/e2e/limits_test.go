package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ecsd/ecsd/internal/awsjson"
	"github.com/ecsd/ecsd/internal/server"
)

// withLimits sets the server's connection and time limits.
func withLimits(l server.Limits) option {
	return func(c *server.Config) { c.Limits = l }
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// rawGet sends GET /health on conn (keep-alive) and reads the answer.
func rawGet(t *testing.T, conn net.Conn, br *bufio.Reader) {
	t.Helper()
	if _, err := fmt.Fprintf(conn, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/health: %d", resp.StatusCode)
	}
}

// TestMaxConnections: with every connection slot held, a new client waits
// (in the listen backlog, not refused) and is served as soon as one
// closes.
func TestMaxConnections(t *testing.T) {
	t.Parallel()
	e := startServer(t, withLimits(server.Limits{MaxConnections: 2}))
	var held []net.Conn
	for range 2 {
		conn, err := net.Dial("tcp", e.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		rawGet(t, conn, bufio.NewReader(conn)) // accepted, now an idle keep-alive connection
		held = append(held, conn)
	}
	answered := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(e.URL() + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		answered <- err
	}()
	select {
	case err := <-answered:
		t.Fatalf("a third connection was served while both slots were held (err %v)", err)
	case <-time.After(500 * time.Millisecond):
	}
	held[0].Close()
	select {
	case err := <-answered:
		if err != nil {
			t.Fatalf("the waiting client, once a slot freed: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting client was not served within 10s of a slot freeing")
	}
}

// TestSlowClientsAreCutOff: a client that dribbles its headers, or its
// body, holds its connection no longer than ReadHeaderTimeout, or
// ReadTimeout.
func TestSlowClientsAreCutOff(t *testing.T) {
	t.Parallel()
	e := startServer(t, withLimits(server.Limits{ReadHeaderTimeout: 500 * time.Millisecond, ReadTimeout: time.Second}))
	for _, tc := range []struct {
		name  string
		start string
		limit time.Duration
	}{
		{"headers", "POST / HTTP/1.1\r\nHost: x\r\nX-Slow: ", 500 * time.Millisecond},
		{"body", "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: " + targetPrefix + "ListClusters\r\nContent-Length: 1000\r\n\r\n{", time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The server starts its clock when it begins to read the
			// connection, which can be before Dial returns here: start
			// ours before dialling, so "cut off before the limit" cannot
			// be a scheduling artefact.
			start := time.Now()
			conn, err := net.Dial("tcp", e.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tc.start); err != nil {
				t.Fatal(err)
			}
			closed := make(chan struct{})
			go func() { _, _ = io.Copy(io.Discard, conn); close(closed) }()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-closed:
					if took := time.Since(start); took < tc.limit {
						t.Errorf("cut off after %s, before the %s limit", took, tc.limit)
					}
					return
				case <-tick.C:
					if time.Since(start) > tc.limit+5*time.Second {
						t.Fatalf("a slow client still holds its connection after %s (limit %s)", time.Since(start), tc.limit)
					}
					_, _ = io.WriteString(conn, "a")
				}
			}
		})
	}
}

// TestBodyLimit: a body of exactly the limit is read; one byte more is a
// SerializationException through the whole server.
func TestBodyLimit(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	base := `{"family":"limit","containerDefinitions":[{"name":"app","image":"busybox","memory":128}]}`
	pad := func(n int) string { return base[:len(base)-1] + strings.Repeat(" ", n-len(base)) + "}" }
	resp, b := e.post(t, "RegisterTaskDefinition", pad(awsjson.DefaultMaxBodyBytes))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("body of exactly %d bytes: %d %s", awsjson.DefaultMaxBodyBytes, resp.StatusCode, b)
	}
	resp, b = e.post(t, "RegisterTaskDefinition", pad(awsjson.DefaultMaxBodyBytes+1))
	want := fmt.Sprintf(`{"__type":"SerializationException","message":"Request body is larger than the %d bytes ecsd accepts."}`, awsjson.DefaultMaxBodyBytes)
	if resp.StatusCode != http.StatusBadRequest || string(b) != want {
		t.Fatalf("body one byte over: %d %s, want 400 %s", resp.StatusCode, b, want)
	}
}

// TestUncleanPathsAnswerInECSShape: ServeMux would redirect "//" with a
// plain-text 307; ECS clients get the JSON error every other bad path
// gets.
func TestUncleanPathsAnswerInECSShape(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	for _, path := range []string{"//", "/a/../", "/./", "/health/"} {
		req := mustRequest(t, http.MethodPost, e.URL()+path)
		req.Header.Set("X-Amz-Target", targetPrefix+"ListClusters")
		resp, b := do(t, req)
		if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(string(b), `{"__type":"UnknownOperationException"`) {
			t.Errorf("POST %s: %d %s, want 400 UnknownOperationException", path, resp.StatusCode, b)
		}
	}
}
