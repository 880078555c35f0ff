package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func postReset(t *testing.T, e *ecsd) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.URL()+"/moto-api/reset", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

// TestReset: with --enable-reset, moto_server's reset path clears every
// account's state, and numbering starts again as on a new server.
func TestReset(t *testing.T) {
	t.Parallel()
	e := startServer(t, withReset())
	c := e.defaultClient()
	other := e.client("123456789012", "eu-west-1")
	register(t, c, "web")
	register(t, c, "web")
	register(t, other, "api")
	if _, err := c.CreateCluster(t.Context(), &ecs.CreateClusterInput{ClusterName: aws.String("reset-me")}); err != nil {
		t.Fatal(err)
	}

	resp, body := postReset(t, e)
	if resp.StatusCode != http.StatusOK || string(body) != `{"status":"ok"}` {
		t.Fatalf("reset: %d %s", resp.StatusCode, body)
	}
	for _, cl := range []*ecs.Client{c, other} {
		if arns := listAll(t, cl, ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusActive}); len(arns) != 0 {
			t.Fatalf("after reset: %v", arns)
		}
	}
	out, err := c.DescribeClusters(t.Context(), &ecs.DescribeClustersInput{Clusters: []string{"reset-me"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Clusters) != 0 || len(out.Failures) != 1 {
		t.Fatalf("after reset the cluster is still there: %+v %+v", out.Clusters, out.Failures)
	}
	if td := register(t, c, "web"); td.Revision != 1 {
		t.Fatalf("first revision after reset is %d, want 1", td.Revision)
	}
}

// TestResetIsOffByDefault: without the flag the path is not served and
// nothing is deleted.
func TestResetIsOffByDefault(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	c := e.defaultClient()
	register(t, c, "keep")
	resp, body := postReset(t, e)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "--enable-reset") || !strings.Contains(string(body), "ECSD_ENABLE_RESET") {
		t.Fatalf("reset without --enable-reset: %d %s; want 404 naming the flag", resp.StatusCode, body)
	}
	if arns := listAll(t, c, ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusActive}); len(arns) != 1 {
		t.Fatalf("state changed: %v", arns)
	}
}
