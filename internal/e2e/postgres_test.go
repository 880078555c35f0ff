package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/pgtest"
	"github.com/ecsd/ecsd/internal/server"
)

// withDatabase keeps the state in a PostgreSQL database.
func withDatabase(url string) option {
	return func(c *server.Config) { c.Database = url }
}

// TestPostgresLifecycle runs the real server on pgstore and drives a
// task definition, a task and a service through their lives with the
// official client.
func TestPostgresLifecycle(t *testing.T) {
	e := startServer(t, withDatabase(pgtest.Database(t)))
	c := e.defaultClient()

	td := register(t, c, "web")
	if td.Revision != 1 || td.Status != types.TaskDefinitionStatusActive {
		t.Fatalf("registered %s:%d %s, want web:1 ACTIVE", aws.ToString(td.Family), td.Revision, td.Status)
	}
	if again := register(t, c, "web"); again.Revision != 2 {
		t.Fatalf("second revision = %d, want 2", again.Revision)
	}

	run, err := c.RunTask(t.Context(), &ecs.RunTaskInput{TaskDefinition: aws.String("web:1")})
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	if len(run.Tasks) != 1 {
		t.Fatalf("RunTask started %d tasks (failures %+v), want 1", len(run.Tasks), run.Failures)
	}
	taskARN := aws.ToString(run.Tasks[0].TaskArn)
	waitFor(t, 30*time.Second, "the task to run", func() error {
		out, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: []string{taskARN}})
		if err != nil {
			return err
		}
		if len(out.Tasks) != 1 || aws.ToString(out.Tasks[0].LastStatus) != "RUNNING" {
			return fmt.Errorf("tasks %+v failures %+v", out.Tasks, out.Failures)
		}
		return nil
	})
	if _, err := c.StopTask(t.Context(), &ecs.StopTaskInput{Task: aws.String(taskARN)}); err != nil {
		t.Fatalf("StopTask: %v", err)
	}

	if _, err := c.CreateService(t.Context(), &ecs.CreateServiceInput{
		ServiceName: aws.String("api"), TaskDefinition: aws.String("web:2"), DesiredCount: aws.Int32(2),
	}); err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	waitFor(t, 30*time.Second, "the service to run 2 tasks", func() error {
		out, err := c.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Services: []string{"api"}})
		if err != nil {
			return err
		}
		if len(out.Services) != 1 || out.Services[0].RunningCount != 2 {
			return fmt.Errorf("services %+v", out.Services)
		}
		return nil
	})

	if got := deregister(t, c, "web:1"); got.Status != types.TaskDefinitionStatusInactive {
		t.Errorf("deregistered web:1 is %s, want INACTIVE", got.Status)
	}
	if _, err := c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Service: aws.String("api"), DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
	if _, err := c.DeleteService(t.Context(), &ecs.DeleteServiceInput{Service: aws.String("api")}); err != nil {
		t.Fatalf("DeleteService: %v", err)
	}
	arns := listAll(t, c, ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web")})
	if len(arns) != 1 || arns[0] != aws.ToString(td.TaskDefinitionArn)[:len(aws.ToString(td.TaskDefinitionArn))-1]+"2" {
		t.Errorf("ACTIVE revisions of web = %q, want only web:2", arns)
	}
}

// TestPostgresReplicasShareState starts two servers on one database, as
// two ecsd replicas would run: what one writes, the other answers, and
// registrations sent to both at once get gapless, unique revisions.
func TestPostgresReplicasShareState(t *testing.T) {
	url := pgtest.Database(t)
	a := startServer(t, withDatabase(url))
	b := startServer(t, withDatabase(url))
	ca, cb := a.defaultClient(), b.defaultClient()

	td := register(t, ca, "shared", types.Tag{Key: aws.String("team"), Value: aws.String("a")})
	out, err := describe(t.Context(), cb, "shared:1", types.TaskDefinitionFieldTags)
	if err != nil {
		t.Fatalf("DescribeTaskDefinition on the other replica: %v", err)
	}
	if aws.ToString(out.TaskDefinition.TaskDefinitionArn) != aws.ToString(td.TaskDefinitionArn) || len(out.Tags) != 1 {
		t.Errorf("other replica describes %s with tags %+v, want %s with one tag",
			aws.ToString(out.TaskDefinition.TaskDefinitionArn), out.Tags, aws.ToString(td.TaskDefinitionArn))
	}
	// A change made on B is what A answers next: no replica serves a
	// cached revision.
	deregister(t, cb, "shared:1")
	out, err = describe(t.Context(), ca, "shared:1")
	if err != nil {
		t.Fatalf("DescribeTaskDefinition: %v", err)
	}
	if out.TaskDefinition.Status != types.TaskDefinitionStatusInactive {
		t.Errorf("replica A describes shared:1 as %s after B deregistered it, want INACTIVE", out.TaskDefinition.Status)
	}
	if _, err := cb.CreateCluster(t.Context(), &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	cl, err := ca.DescribeClusters(t.Context(), &ecs.DescribeClustersInput{Clusters: []string{"prod"}})
	if err != nil || len(cl.Clusters) != 1 || aws.ToString(cl.Clusters[0].Status) != "ACTIVE" {
		t.Fatalf("DescribeClusters on A after CreateCluster on B: %+v, %v", cl, err)
	}

	// Concurrent registration through both replicas.
	const perClient, clients = 10, 6
	var mu sync.Mutex
	var revs []int
	var wg sync.WaitGroup
	for i := range clients {
		c := ca
		if i%2 == 1 {
			c = cb
		}
		wg.Go(func() {
			for range perClient {
				out, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
					Family: aws.String("race"), ContainerDefinitions: []types.ContainerDefinition{container("app")},
				})
				if err != nil {
					t.Errorf("RegisterTaskDefinition: %v", err)
					return
				}
				mu.Lock()
				revs = append(revs, int(out.TaskDefinition.Revision))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(revs)
	for i, r := range revs {
		if r != i+1 {
			t.Fatalf("revisions acknowledged across two replicas = %v, want 1..%d each once", revs, perClient*clients)
		}
	}
	listed := listAll(t, cb, ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("race")})
	if len(listed) != perClient*clients {
		t.Errorf("replica B lists %d revisions of race, want %d", len(listed), perClient*clients)
	}
}

// health returns a server's /health document.
func (e *ecsd) health(t *testing.T) map[string]any {
	t.Helper()
	resp, err := http.Get(e.URL() + "/health")
	if err != nil {
		t.Fatalf("GET /health: %v", err)
	}
	defer resp.Body.Close()
	var h map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("GET /health: %v", err)
	}
	return h
}

func pgServiceTasks(t *testing.T, c *ecs.Client, status types.DesiredStatus) []string {
	t.Helper()
	out, err := c.ListTasks(t.Context(), &ecs.ListTasksInput{ServiceName: aws.String("web"), DesiredStatus: status})
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	return out.TaskArns
}

func pgWaitRunning(t *testing.T, c *ecs.Client, n int32) {
	t.Helper()
	waitFor(t, 30*time.Second, fmt.Sprintf("service web to run %d tasks", n), func() error {
		out, err := c.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Services: []string{"web"}})
		if err != nil {
			return err
		}
		if len(out.Services) != 1 || out.Services[0].RunningCount != n || len(out.Services[0].Deployments) != 1 {
			return fmt.Errorf("services %+v", out.Services)
		}
		return nil
	})
}

// TestPostgresLeaderRunsTheLoops: of two replicas, only the lease holder
// runs the loops, so a service created through the other is started once,
// by the leader, and nothing stops it while both run; when the leader
// goes, the other takes over and, the simulated runtime's containers being
// in the shared database, supervises the same tasks: none is stopped or
// started again.
func TestPostgresLeaderRunsTheLoops(t *testing.T) {
	url := pgtest.Database(t)
	a := startServer(t, withDatabase(url))
	waitFor(t, 10*time.Second, "replica a to lead", func() error {
		if h := a.health(t); h["leader"] != true {
			return fmt.Errorf("/health %v", h)
		}
		return nil
	})
	b := startServer(t, withDatabase(url))
	if h := b.health(t); h["leader"] != false || h["store"] != "postgres" {
		t.Fatalf("replica b /health = %v, want a follower on postgres", h)
	}
	cb := b.defaultClient()
	register(t, cb, "web")
	start := time.Now()
	if _, err := cb.CreateService(t.Context(), &ecs.CreateServiceInput{
		ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2),
	}); err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	pgWaitRunning(t, cb, 2)
	// The follower woke the leader over LISTEN/NOTIFY; without it the
	// leader's next resync (its interval) would be first to see the service.
	t.Logf("a service created on the follower ran 2 tasks on the leader %v later", time.Since(start).Round(time.Millisecond))
	// Nothing may stop them while both replicas run; watch three
	// supervisor passes' worth.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); <-tick.C {
		if stopped := pgServiceTasks(t, cb, types.DesiredStatusStopped); len(stopped) != 0 {
			t.Fatalf("tasks stopped while both replicas ran: %v", stopped)
		}
	}
	first := pgServiceTasks(t, cb, types.DesiredStatusRunning)

	a.stop(t)
	waitFor(t, 15*time.Second, "replica b to take the lease", func() error {
		if h := b.health(t); h["leader"] != true {
			return fmt.Errorf("/health %v", h)
		}
		return nil
	})
	// The simulated runtime's containers are in the database: b finds
	// a's tasks running and keeps them, with their start times; nothing
	// is stopped or replaced. Watch three of b's supervisor passes.
	startedAt := func() map[string]time.Time {
		out, err := cb.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: first})
		if err != nil {
			t.Fatalf("DescribeTasks: %v", err)
		}
		m := map[string]time.Time{}
		for _, task := range out.Tasks {
			if aws.ToString(task.LastStatus) == "RUNNING" && task.StartedAt != nil {
				m[aws.ToString(task.TaskArn)] = *task.StartedAt
			}
		}
		return m
	}
	before := startedAt()
	if len(before) != 2 {
		t.Fatalf("%d of a's tasks RUNNING before the takeover, want 2", len(before))
	}
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); <-tick.C {
		if stopped := pgServiceTasks(t, cb, types.DesiredStatusStopped); len(stopped) != 0 {
			t.Fatalf("tasks stopped after b took over: %v", stopped)
		}
	}
	now := pgServiceTasks(t, cb, types.DesiredStatusRunning)
	slices.Sort(now)
	slices.Sort(first)
	if !slices.Equal(now, first) {
		t.Fatalf("running after the takeover %v, before %v: want the same tasks", now, first)
	}
	if after := startedAt(); !maps.EqualFunc(before, after, time.Time.Equal) {
		t.Fatalf("startedAt before the takeover %v, after %v: a task started again", before, after)
	}
	pgWaitRunning(t, cb, 2)
}

// TestPostgresTwoProcesses runs two ecsd processes on one database: each
// answers what the other wrote, registrations through both are gapless,
// and when the leader is killed with SIGKILL the other takes the lease.
func TestPostgresTwoProcesses(t *testing.T) {
	url := pgtest.Database(t)
	p1 := startChild(t, t.TempDir(), "--database", url)
	p2 := startChild(t, t.TempDir(), "--database", url)
	c1, c2 := p1.client(), p2.client()

	td := register(t, c1, "proc")
	out, err := describe(t.Context(), c2, "proc:1")
	if err != nil {
		t.Fatalf("DescribeTaskDefinition on the other process: %v", err)
	}
	if aws.ToString(out.TaskDefinition.TaskDefinitionArn) != aws.ToString(td.TaskDefinitionArn) {
		t.Errorf("other process describes %s, want %s", aws.ToString(out.TaskDefinition.TaskDefinitionArn), aws.ToString(td.TaskDefinitionArn))
	}

	var mu sync.Mutex
	var revs []int
	var wg sync.WaitGroup
	for i := range 4 {
		c := c1
		if i%2 == 1 {
			c = c2
		}
		wg.Go(func() {
			for range 10 {
				out, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
					Family: aws.String("proc"), ContainerDefinitions: []types.ContainerDefinition{container("app")},
				})
				if err != nil {
					t.Errorf("RegisterTaskDefinition: %v", err)
					return
				}
				mu.Lock()
				revs = append(revs, int(out.TaskDefinition.Revision))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(revs)
	for i, r := range revs {
		if r != i+2 {
			t.Fatalf("revisions acknowledged by two processes = %v, want 2..41 each once", revs)
		}
	}

	health := func(c *child) map[string]any {
		resp, err := http.Get(c.url + "/health")
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		var h map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&h)
		return h
	}
	var leader, follower *child
	waitFor(t, 10*time.Second, "one process to lead", func() error {
		h1, h2 := health(p1), health(p2)
		switch {
		case h1["leader"] == true && h2["leader"] == false:
			leader, follower = p1, p2
		case h2["leader"] == true && h1["leader"] == false:
			leader, follower = p2, p1
		default:
			return fmt.Errorf("/health: %v and %v", h1, h2)
		}
		return nil
	})
	if err := leader.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, 30*time.Second, "the other process to take the lease", func() error {
		if h := health(follower); h["leader"] != true {
			return fmt.Errorf("/health %v", h)
		}
		return nil
	})
	t.Logf("the follower led %v after the leader's SIGKILL", time.Since(start).Round(time.Millisecond))
}
