package reliability

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/ecsd/ecsd/internal/sdkhttp"
)

// newClient is an official ECS client for url that never retries: a retried
// write whose first attempt committed would make the campaign's record of
// what was acknowledged wrong.
func newClient(url string) *ecs.Client {
	return ecs.New(ecs.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDCRASH", "secret", ""),
		RetryMaxAttempts: 1,
		HTTPClient: &http.Client{
			Timeout: 30 * time.Second,
			// sdkhttp: without it the SDK itself fails about one call in a
			// few thousand against a fast server (aws-sdk-go-v2#2737).
			Transport: sdkhttp.Transport(&http.Transport{
				DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
				MaxIdleConnsPerHost: 64,
			}),
		},
	})
}

// result is what a call's outcome tells the campaign.
type result int

const (
	// acked: the server answered 200; the write is committed.
	acked result = iota
	// rejected: a 4xx; nothing was written.
	rejected
	// unknown: no answer (the server died or the call was abandoned);
	// the write may or may not have committed.
	unknown
	// fault: a 5xx. The campaign never provokes one, so it is a failure.
	fault
)

// classify sorts a call's error; code is the ECS error code of a 4xx/5xx.
func classify(err error) (result, string) {
	if err == nil {
		return acked, ""
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() > 0 {
		code := fmt.Sprintf("HTTP %d", re.HTTPStatusCode())
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() != "" {
			code = ae.ErrorCode()
		}
		switch {
		case re.HTTPStatusCode() >= 500:
			return fault, code
		case re.HTTPStatusCode() >= 400:
			return rejected, code
		}
		// A 200 whose body the kill cut short: committed, but the answer
		// (a revision number, task ARNs) is lost with the connection.
		return unknown, ""
	}
	return unknown, ""
}

func isCanceled(ctx context.Context) bool { return ctx.Err() != nil }
