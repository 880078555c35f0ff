package awsjson_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecsd/ecsd/internal/awsjson"
)

// TestTimeout: a handler still waiting when Server.Timeout passes sees
// its context end, and the client gets a ServerException, not a hang.
func TestTimeout(t *testing.T) {
	srv := awsjson.NewServer(defaultAccount, defaultRegion, nil)
	srv.Timeout = 50 * time.Millisecond
	var deadline time.Time
	awsjson.HandleFunc(srv, "ListClusters", func(ctx context.Context, req *awsjson.Request, in *ecs.ListClustersInput) (*ecs.ListClustersOutput, error) {
		deadline, _ = ctx.Deadline()
		<-ctx.Done() // a store wait that never ends by itself
		return nil, ctx.Err()
	})
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
	r.Header.Set("X-Amz-Target", awsjson.TargetPrefix+"ListClusters")
	w := httptest.NewRecorder()
	start := time.Now()
	srv.ServeHTTP(w, r)
	if deadline.IsZero() || deadline.Sub(start) > time.Second {
		t.Errorf("handler context deadline %v, want about 50ms after %v", deadline, start)
	}
	if w.Code != http.StatusInternalServerError || w.Body.String() != `{"__type":"ServerException","message":"Server exception."}` {
		t.Errorf("timed-out request: %d %s, want 500 ServerException", w.Code, w.Body)
	}
}
