package e2e

import (
	"encoding/json"
	"fmt"
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
// by the leader, and never stopped by a second supervisor that cannot see
// the leader's containers (without the lease this test fails: both tasks
// are stopped within a second); when the leader goes, the other takes over
// and the service converges again on its runtime.
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
	if _, err := cb.CreateService(t.Context(), &ecs.CreateServiceInput{
		ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2),
	}); err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	pgWaitRunning(t, cb, 2)
	// A second supervisor acting on these tasks would find no containers
	// on its runtime and stop them within its one-second pass; watch
	// three passes' worth.
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
	// b's runtime has none of a's containers: the tasks a ran are gone
	// with it, and the scheduler, now on b, replaces them.
	waitFor(t, 30*time.Second, "a's tasks to be replaced on b", func() error {
		now := pgServiceTasks(t, cb, types.DesiredStatusRunning)
		for _, arn := range now {
			if slices.Contains(first, arn) {
				return fmt.Errorf("still running %s from replica a", arn)
			}
		}
		return nil
	})
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
