package awsjson_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecsd/ecsd/internal/awsjson"
)

// TestResponsesFromRecycledBuffers: answers are encoded into recycled
// buffers; concurrent answers of very different sizes each arrive whole,
// with a Content-Length that matches, and never carry another's bytes.
func TestResponsesFromRecycledBuffers(t *testing.T) {
	srv := awsjson.NewServer(defaultAccount, defaultRegion, nil)
	// The answer lists n ARNs named after n, so any mix-up shows.
	awsjson.HandleFunc(srv, "ListTaskDefinitions", func(ctx context.Context, req *awsjson.Request, in *ecs.ListTaskDefinitionsInput) (*ecs.ListTaskDefinitionsOutput, error) {
		n, _ := strconv.Atoi(*in.FamilyPrefix)
		out := &ecs.ListTaskDefinitionsOutput{TaskDefinitionArns: []string{}}
		for i := range n {
			out.TaskDefinitionArns = append(out.TaskDefinitionArns, fmt.Sprintf("%d-%d", n, i))
		}
		return out, nil
	})
	ts := httptest.NewServer(srv)
	defer ts.Close()

	list := func(n int) error {
		req, err := http.NewRequest(http.MethodPost, ts.URL, strings.NewReader(fmt.Sprintf(`{"familyPrefix":"%d"}`, n)))
		if err != nil {
			return err
		}
		req.Header.Set("X-Amz-Target", awsjson.TargetPrefix+"ListTaskDefinitions")
		req.Header.Set("Content-Type", contentType)
		resp, err := ts.Client().Do(req)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if got := resp.Header.Get("Content-Length"); got != strconv.Itoa(len(b)) {
			return fmt.Errorf("%d entries: Content-Length %q for %d bytes", n, got, len(b))
		}
		var out struct{ TaskDefinitionArns []string }
		if err := json.Unmarshal(b, &out); err != nil {
			return fmt.Errorf("%d entries: %v in %.80q", n, err, b)
		}
		if len(out.TaskDefinitionArns) != n {
			return fmt.Errorf("%d entries: got %d", n, len(out.TaskDefinitionArns))
		}
		for i, arn := range out.TaskDefinitionArns {
			if want := fmt.Sprintf("%d-%d", n, i); arn != want {
				return fmt.Errorf("%d entries: entry %d is %q, want %q", n, i, arn, want)
			}
		}
		return nil
	}

	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				// 0 to 30000 entries: a few bytes to more than the pool keeps.
				if err := list((w*30 + i) % 7 * 5000); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, n := range []int{30000, 0, 5, 30000, 1} {
		if err := list(n); err != nil {
			t.Error(err)
		}
	}
}
