package dockerdriver

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/driver/dockerdriver/dockertest"
)

// The tests run against the real Engine. There is no registry, so they
// compile testdata/tiny (static, CGO_ENABLED=0) and import it as a
// FROM-scratch image tagged after the binary's hash.

// scopeLabel scopes each test's driver, so its cleanup removes exactly
// what the test made, and tests running in parallel never see each
// other's groups.
const scopeLabel = "ecsd-test.scope"

var engine struct {
	once sync.Once
	cli  *client.Client
	tiny string // image tag
	skip string
	err  error
}

// testEngine returns a client and the tiny image, or skips the test when
// no Engine answers.
func testEngine(t *testing.T) (*client.Client, string) {
	t.Helper()
	engine.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			engine.skip = fmt.Sprintf("no Docker client: %v", err)
			return
		}
		if _, err := cli.Ping(ctx); err != nil {
			engine.skip = fmt.Sprintf("no Docker Engine answers (%v); the Docker runtime is not tested", err)
			return
		}
		engine.cli = cli
		engine.tiny, engine.err = dockertest.TinyImage(ctx, cli, "./testdata/tiny", ImportImage)
	})
	if engine.skip != "" {
		t.Skip(engine.skip)
	}
	if engine.err != nil {
		t.Fatalf("building the test image: %v", engine.err)
	}
	return engine.cli, engine.tiny
}

// scope is a label set unique to one test.
func scope(t *testing.T) map[string]string {
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	return map[string]string{scopeLabel: fmt.Sprintf("%s-%d", name, time.Now().UnixNano())}
}

// newDriver opens a driver scoped to the test; when the test ends it is
// closed and every container carrying the scope is removed.
func newDriver(t *testing.T, labels map[string]string) *Driver {
	t.Helper()
	cli, _ := testEngine(t)
	d, err := New(context.Background(), Config{Client: cli, Labels: labels, PollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		_ = d.Close()
		removeScope(t, cli, labels)
	})
	return d
}

func removeScope(t *testing.T, cli *client.Client, labels map[string]string) {
	args := filters.NewArgs()
	for k, v := range labels {
		args.Add("label", k+"="+v)
	}
	ctx := context.Background()
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	for _, c := range cs {
		// Gone already is what cleanup wants: a runner still finishing
		// may replace a marker between the listing and the removal.
		if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("cleanup: removing %s: %v", c.Names, err)
		}
	}
}

// scopeContainers lists the Docker containers of a scope.
func scopeContainers(t *testing.T, cli *client.Client, labels map[string]string) []container.Summary {
	t.Helper()
	args := filters.NewArgs()
	for k, v := range labels {
		args.Add("label", k+"="+v)
	}
	cs, err := cli.ContainerList(context.Background(), container.ListOptions{All: true, Filters: args})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// waitFor polls Inspect until cond holds.
func waitFor(t *testing.T, d driver.Driver, id, what string, patience time.Duration, cond func(driver.GroupState) bool) driver.GroupState {
	t.Helper()
	deadline := time.Now().Add(patience)
	var last driver.GroupState
	for {
		g, err := d.Inspect(context.Background(), id)
		if err != nil {
			t.Fatalf("Inspect(%s): %v", id, err)
		}
		if cond(g) {
			return g
		}
		last = g
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v; last state %+v", what, patience, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func containerOf(g driver.GroupState, name string) driver.ContainerState {
	for _, c := range g.Containers {
		if c.Name == name {
			return c
		}
	}
	return driver.ContainerState{}
}

func groupID(t *testing.T) string {
	return fmt.Sprintf("t%d", time.Now().UnixNano())
}
