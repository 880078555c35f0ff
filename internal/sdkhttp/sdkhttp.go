// Package sdkhttp is the HTTP client ecsd's tests and benchmarks give the
// official aws-sdk-go-v2 clients, so that a failed call means ecsd failed.
//
// smithy-go (v1.28.9, the newest release) sends a request body wrapped in a
// safeReadCloser whose WriteTo returns io.EOF once closed, and its
// ClientHandler closes that body as soon as http.Client.Do returns, that
// is, as soon as the response headers arrive. net/http's writeLoop, after
// writing Content-Length bytes of body, drains the rest with
// io.Copy(io.Discard, body), which calls WriteTo; io.Copy reports WriteTo's
// io.EOF as an error, so when a fast server answers before the writeLoop
// reaches that drain, the transport counts the request write as failed and
// closes the connection while the caller is still reading the response:
// "deserialization failed, read tcp ...: use of closed network connection"
// on a 200 (aws/aws-sdk-go-v2#2737). Upstream smithy-go has since made a
// closed WriteTo return 0, nil, but no release up to v1.28.9 carries it.
// Slow servers (moto) never win that race; ecsd on loopback does about
// once in a few thousand calls. The SDK retries the error by default, but
// ecsd's clients set RetryMaxAttempts 1 to count every failure.
package sdkhttp

import (
	"io"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// Client is the SDK's default HTTP client (same pool sizes and timeouts)
// with its request bodies read through Read only, never WriteTo.
func Client() *http.Client {
	return &http.Client{Transport: Transport(awshttp.NewBuildableClient().GetTransport())}
}

// Transport wraps next so that net/http drains every request body with
// Read, which a closed smithy-go body answers with a clean io.EOF.
func Transport(next http.RoundTripper) http.RoundTripper {
	return readOnlyBodies{next}
}

type readOnlyBodies struct{ next http.RoundTripper }

func (t readOnlyBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return t.next.RoundTrip(r)
	}
	// A RoundTripper must not modify the caller's request.
	r2 := new(http.Request)
	*r2 = *r
	r2.Body = readCloser{r.Body}
	if getBody := r.GetBody; getBody != nil {
		r2.GetBody = func() (io.ReadCloser, error) {
			b, err := getBody()
			if err != nil || b == nil || b == http.NoBody {
				return b, err
			}
			return readCloser{b}, nil
		}
	}
	return t.next.RoundTrip(r2)
}

// readCloser has only Read and Close: embedding the interface hides the
// body's WriteTo from io.Copy.
type readCloser struct{ io.ReadCloser }
