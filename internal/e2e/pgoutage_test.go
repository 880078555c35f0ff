package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/pgtest"
	"github.com/ecsd/ecsd/internal/server"
)

// ownPostgres starts a PostgreSQL server of the test's own, for tests that
// stop it; it is stopped and removed when the test ends.
func ownPostgres(t *testing.T) *pgtest.Server {
	t.Helper()
	if ok, why := pgtest.Available(); !ok || os.Getenv("ECSD_TEST_POSTGRES") != "" {
		if why == "" {
			why = "ECSD_TEST_POSTGRES names a shared server this test cannot stop"
		}
		if os.Getenv("CI") == "true" && !ok {
			t.Fatalf("PostgreSQL is required in CI: %s", why)
		}
		t.Skipf("skipping: %s", why)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	srv, err := pgtest.Start(ctx, "", pgtest.Options{NoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Logf("pgtest: %v", err)
		}
	})
	return srv
}

// ready returns /ready's status and document.
func (e *ecsd) ready(t *testing.T) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(e.URL() + "/ready")
	if err != nil {
		t.Fatalf("GET /ready: %v", err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("GET /ready: %v", err)
	}
	return resp.StatusCode, m
}

// TestPostgresOutage: PostgreSQL stops under a running ecsd and comes back.
// /ready answers 503 with the reason while it is down and 200 once it is
// back, without restarting ecsd; API calls meanwhile answer ECS's outage
// ServerException (500) within the request timeout; afterwards everything
// acknowledged before is there and writes go on.
func TestPostgresOutage(t *testing.T) {
	pg := ownPostgres(t)
	const requestTimeout = 3 * time.Second
	e := startServer(t, withDatabase(pg.URL("postgres")), func(c *server.Config) {
		c.Limits.RequestTimeout = requestTimeout
	})
	c := e.defaultClient()
	noRetry := func(o *ecs.Options) { o.Retryer = aws.NopRetryer{} }

	if td := register(t, c, "web"); td.Revision != 1 {
		t.Fatalf("registered web:%d, want 1", td.Revision)
	}
	if code, doc := e.ready(t); code != http.StatusOK || doc["status"] != "ready" || doc["store"] != "postgres" {
		t.Fatalf("/ready before the outage: %d %v", code, doc)
	}

	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "/ready to answer 503", func() error {
		code, doc := e.ready(t)
		if code != http.StatusServiceUnavailable || doc["status"] != "unavailable" || doc["reason"] == "" || doc["reason"] == nil {
			return fmt.Errorf("%d %v", code, doc)
		}
		return nil
	})
	_, doc := e.ready(t)
	t.Logf("/ready while PostgreSQL is down: %v", doc)
	// /health is liveness: the process serves, and no longer leads.
	waitFor(t, 10*time.Second, "/health to answer 200 with leader false", func() error {
		if h := e.health(t); h["status"] != "ok" || h["leader"] != false {
			return fmt.Errorf("/health %v", h)
		}
		return nil
	})

	const outage = "Service Unavailable. Please try again later."
	calls := map[string]func() error{
		"RegisterTaskDefinition": func() error {
			_, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
				Family: aws.String("web"), ContainerDefinitions: []types.ContainerDefinition{container("app")},
			}, noRetry)
			return err
		},
		"DescribeTaskDefinition": func() error {
			_, err := c.DescribeTaskDefinition(t.Context(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:1")}, noRetry)
			return err
		},
		"CreateService": func() error {
			_, err := c.CreateService(t.Context(), &ecs.CreateServiceInput{
				ServiceName: aws.String("api"), TaskDefinition: aws.String("web:1"), DesiredCount: aws.Int32(1),
			}, noRetry)
			return err
		},
		"ListClusters": func() error {
			_, err := c.ListClusters(t.Context(), &ecs.ListClustersInput{}, noRetry)
			return err
		},
	}
	for op, call := range calls {
		began := time.Now()
		err := call()
		took := time.Since(began)
		wantAPIError[*types.ServerException](t, err, outage)
		if took > requestTimeout+2*time.Second {
			t.Errorf("%s took %v while PostgreSQL was down, past the request timeout %v", op, took, requestTimeout)
		}
		t.Logf("%s while PostgreSQL is down: ServerException after %v", op, took.Round(time.Millisecond))
	}
	resp, body := e.post(t, "ListTaskDefinitions", `{}`)
	if resp.StatusCode != http.StatusInternalServerError || string(body) != `{"__type":"ServerException","message":"`+outage+`"}` {
		t.Errorf("raw answer while PostgreSQL is down: %d %s", resp.StatusCode, body)
	}

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := pg.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "/ready to answer 200 again", func() error {
		if code, doc := e.ready(t); code != http.StatusOK {
			return fmt.Errorf("%d %v", code, doc)
		}
		return nil
	})
	// Nothing acknowledged was lost, and no refused write left a trace:
	// the next revision is 2.
	if out, err := describe(t.Context(), c, "web:1"); err != nil || out.TaskDefinition.Revision != 1 {
		t.Fatalf("web:1 after the outage: %v %v", out, err)
	}
	if td := register(t, c, "web"); td.Revision != 2 {
		t.Errorf("first registration after the outage got web:%d, want web:2", td.Revision)
	}
	// The replica leads again: the loops run a service.
	if _, err := c.CreateService(t.Context(), &ecs.CreateServiceInput{
		ServiceName: aws.String("web"), TaskDefinition: aws.String("web:2"), DesiredCount: aws.Int32(1),
	}); err != nil {
		t.Fatalf("CreateService after the outage: %v", err)
	}
	pgWaitRunning(t, c, 1)

	// A database that stops answering without refusing (frozen, or cut
	// off by the network) holds no request past the request timeout.
	thaw := freeze(t, pg)
	began := time.Now()
	if code, doc := e.ready(t); code != http.StatusServiceUnavailable || time.Since(began) > 4*time.Second {
		t.Errorf("/ready while PostgreSQL is frozen: %d %v after %v", code, doc, time.Since(began))
	}
	for _, op := range []string{"RegisterTaskDefinition", "ListClusters"} {
		began := time.Now()
		err := calls[op]()
		took := time.Since(began)
		wantAPIError[*types.ServerException](t, err, outage)
		if took > requestTimeout+2*time.Second {
			t.Errorf("%s took %v while PostgreSQL was frozen, past the request timeout %v", op, took, requestTimeout)
		}
		t.Logf("%s while PostgreSQL is frozen: ServerException after %v", op, took.Round(time.Millisecond))
	}
	thaw()
	waitFor(t, 30*time.Second, "a registration to succeed after the freeze", func() error {
		_, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
			Family: aws.String("after"), ContainerDefinitions: []types.ContainerDefinition{container("app")},
		}, noRetry)
		return err
	})
}

// freeze stops every process of the PostgreSQL server (SIGSTOP): its
// sessions and its listener stop answering, as on a network cut. It
// returns the function that resumes them, also run when the test ends.
func freeze(t *testing.T, pg *pgtest.Server) func() {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pg.Dir, "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	postmaster, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		t.Fatal(err)
	}
	pids := []int{postmaster}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after it.
		_, rest, _ := strings.Cut(string(stat), ") ")
		if f := strings.Fields(rest); len(f) > 1 && f[1] == strconv.Itoa(postmaster) {
			pids = append(pids, pid)
		}
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Logf("SIGSTOP %d: %v", pid, err)
		}
	}
	var once sync.Once
	thaw := func() {
		once.Do(func() {
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGCONT)
			}
		})
	}
	t.Cleanup(thaw)
	return thaw
}
