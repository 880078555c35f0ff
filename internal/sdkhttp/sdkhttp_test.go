package sdkhttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go/middleware"
)

// TestResponseBeforeBodyDrain forces, every time, the interleaving that
// fails about once in a few thousand calls under load: the server answers
// as soon as it has the request body, the SDK closes the body when the
// response headers arrive, and only then does net/http's writeLoop finish
// writing the request (its drain of the body). The server sends the rest
// of the response only once the client reports the request written, so a
// client that tears the connection down in between fails the call.
func TestResponseBeforeBodyDrain(t *testing.T) {
	for _, tc := range []struct {
		name    string
		wrap    func(http.RoundTripper) http.RoundTripper
		wantErr bool
	}{
		// The bare SDK shows the bug this package works around; when a
		// smithy-go release fixes it this case fails, and the workaround
		// can go.
		{name: "sdk alone", wrap: func(rt http.RoundTripper) http.RoundTripper { return rt }, wantErr: true},
		{name: "sdkhttp", wrap: Transport},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := callRacingDrain(t, tc.wrap)
			if tc.wantErr {
				t.Log(err)
				if !errors.Is(err, net.ErrClosed) {
					t.Fatalf("ListClusters error = %v, want the SDK's use of closed network connection", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ListClusters: %v", err)
			}
		})
	}
}

func callRacingDrain(t *testing.T, wrap func(http.RoundTripper) http.RoundTripper) error {
	arns := make([]string, 200)
	for i := range arns {
		arns[i] = fmt.Sprintf(`"arn:aws:ecs:us-east-1:123456789012:cluster/c-%03d"`, i)
	}
	body := `{"clusterArns":[` + strings.Join(arns, ",") + `]}`
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = io.WriteString(w, body[:100])
		w.(http.Flusher).Flush()
		select {
		case <-release:
			_, _ = io.WriteString(w, body[100:])
		case <-r.Context().Done(): // the client closed the connection
		case <-time.After(10 * time.Second):
			t.Error("the client neither finished writing the request nor hung up")
		}
	}))
	defer srv.Close()

	// bodyClosed is closed once Do has returned and the SDK has closed the
	// request body; the connection holds the writeLoop until then, right
	// after the body's bytes went out.
	bodyClosed := make(chan struct{})
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		return &holdAfterBody{Conn: c, until: bodyClosed}, err
	}}
	defer tr.CloseIdleConnections()
	client := ecs.New(ecs.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Transport: wrap(tr)},
		APIOptions: []func(*middleware.Stack) error{func(s *middleware.Stack) error {
			// Innermost deserialize middleware: next is smithy's
			// ClientHandler, which closes the request body before it
			// returns.
			return s.Deserialize.Add(middleware.DeserializeMiddlewareFunc("bodyClosed",
				func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
					out, md, err := next.HandleDeserialize(ctx, in)
					close(bodyClosed)
					return out, md, err
				}), middleware.After)
		}},
	})
	ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				close(release)
			}
		},
	})
	_, err := client.ListClusters(ctx, &ecs.ListClustersInput{})
	return err
}

// holdAfterBody is a client connection that, once a write other than the
// request headers has gone out, blocks the writer until until is closed.
type holdAfterBody struct {
	net.Conn
	until <-chan struct{}
	once  sync.Once
}

func (c *holdAfterBody) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if !strings.HasPrefix(string(p), "POST ") {
		c.once.Do(func() {
			select {
			case <-c.until:
			case <-time.After(10 * time.Second):
			}
		})
	}
	return n, err
}
