package worker_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/driver/fakedriver"
	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
	"github.com/ecsd/ecsd/internal/worker"
)

func sp(s string) *string               { return &s }
func i32(n int32) *int32                { return &n }
func bptr(b bool) *bool                 { return &b }
func kv(k, v string) types.KeyValuePair { return types.KeyValuePair{Name: sp(k), Value: sp(v)} }

// container is an essential container definition with simulator knobs.
func container(name string, essential bool, env ...types.KeyValuePair) types.ContainerDefinition {
	return types.ContainerDefinition{Name: sp(name), Image: sp("busybox"), Essential: bptr(essential), Memory: i32(64), Environment: env}
}

// register stores a revision the way RegisterTaskDefinition does and
// returns it materialized.
func register(t *testing.T, st store.Store, mode types.NetworkMode, cds ...types.ContainerDefinition) types.TaskDefinition {
	t.Helper()
	td, err := ecs.PrepareTaskDefinition(types.TaskDefinition{Family: sp("app"), NetworkMode: mode, ContainerDefinitions: cds})
	if err != nil {
		t.Fatal(err)
	}
	body, err := records.TaskDefinitionBody(td)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := st.RegisterTaskDefinition(context.Background(), store.TaskDefinition{Scope: scope, Family: "app",
		Status: store.StatusActive, RegisteredAt: t0, Body: body}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := records.TaskDefinition(rec)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// runTask inserts a new task as RunTask does.
func runTask(t *testing.T, st store.Store, td types.TaskDefinition, now time.Time) string {
	t.Helper()
	p := ecs.TaskParams{Region: scope.Region, Account: scope.Account, Cluster: "default", TaskDefinition: td,
		LaunchType: types.LaunchTypeEc2, Now: now}
	if td.NetworkMode == types.NetworkModeAwsvpc {
		p.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}
	}
	task, err := ecs.NewTask(p)
	if err != nil {
		t.Fatal(err)
	}
	putTask(t, st, task)
	return ecs.TaskID(*task.TaskArn)
}

func putTask(t *testing.T, st store.Store, task types.Task) {
	t.Helper()
	rec, err := records.FromTask(scope, task)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(context.Background(), func(tx store.Tx) error { return tx.PutTask(rec) }); err != nil {
		t.Fatal(err)
	}
}

func getTask(t *testing.T, st store.Store, id string) (types.Task, error) {
	t.Helper()
	var rec store.Task
	err := st.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		rec, err = tx.Task(scope, "default", id)
		return err
	})
	if err != nil {
		return types.Task{}, err
	}
	return records.Task(rec)
}

func mustTask(t *testing.T, st store.Store, id string) types.Task {
	t.Helper()
	task, err := getTask(t, st, id)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// stopTask does what StopTask does.
func stopTask(t *testing.T, st store.Store, id string, now time.Time) {
	t.Helper()
	task := mustTask(t, st, id)
	putTask(t, st, ecs.RequestStop(task, types.TaskStopCodeUserInitiated, ecs.ReasonUserStopped, now))
}

type rig struct {
	st  store.Store
	drv *fakedriver.Driver
	w   *worker.Tasks
	clk *clock
}

func newRig(t *testing.T, delay time.Duration) *rig {
	clk := &clock{t: t0}
	st := openStore(t)
	drv, err := fakedriver.New(fakedriver.Config{Dir: filepath.Join(t.TempDir(), "simulated"), NowFunc: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	w := worker.NewTasks(worker.TasksConfig{TransitionDelay: delay, NowFunc: clk.Now, StoppedRetention: time.Hour}, st, drv)
	return &rig{st: st, drv: drv, w: w, clk: clk}
}

func (r *rig) pass(t *testing.T) worker.PassResult {
	t.Helper()
	res, err := r.w.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (r *rig) advance(d time.Duration) { r.clk.Set(r.clk.Now().Add(d)) }

func TestTasksRunAndStop(t *testing.T) {
	r := newRig(t, 0)
	td := register(t, r.st, types.NetworkModeAwsvpc, container("web", true))
	id := runTask(t, r.st, td, t0)

	r.advance(time.Second)
	if res := r.pass(t); res.Changed != 1 {
		t.Errorf("pass changed %d tasks, want 1", res.Changed)
	}
	task := mustTask(t, r.st, id)
	if *task.LastStatus != "RUNNING" || task.StartedAt == nil || task.PullStartedAt == nil || task.PullStoppedAt == nil || task.ConnectivityAt == nil {
		t.Fatalf("after one pass: %s; want RUNNING with startedAt, pull times and connectivityAt", *task.LastStatus)
	}
	if task.Version < 4 {
		t.Errorf("version %d, want one per change (PENDING, ACTIVATING, containers, RUNNING)", task.Version)
	}
	c := task.Containers[0]
	if *c.LastStatus != "RUNNING" || c.RuntimeId == nil || c.HealthStatus != types.HealthStatusUnknown {
		t.Errorf("container = %+v", c)
	}
	if res := r.pass(t); res.Changed != 0 {
		t.Errorf("an idle pass changed %d tasks", res.Changed)
	}

	r.advance(time.Second)
	stopTask(t, r.st, id, r.clk.Now())
	r.advance(time.Second)
	r.pass(t)
	task = mustTask(t, r.st, id)
	if *task.LastStatus != "STOPPED" || task.StopCode != types.TaskStopCodeUserInitiated || *task.StoppedReason != "Task stopped by user" {
		t.Fatalf("after StopTask: last %s code %s", *task.LastStatus, task.StopCode)
	}
	if c := task.Containers[0]; *c.LastStatus != "STOPPED" || c.ExitCode == nil || *c.ExitCode != 0 {
		t.Errorf("stopped container = %+v, want STOPPED with exit code 0 (exited on SIGTERM)", c)
	}
	if task.StoppedAt == nil || task.ExecutionStoppedAt == nil || task.StoppingAt == nil || task.StoppedAt.Before(*task.StoppingAt) {
		t.Errorf("stop times: stopping %v execution %v stopped %v", task.StoppingAt, task.ExecutionStoppedAt, task.StoppedAt)
	}
	g, err := r.drv.Inspect(context.Background(), id)
	if err != nil || g.Running() {
		t.Errorf("runtime after STOPPED: %+v, %v; want the group kept, exited", g, err)
	}
}

// TestTasksTransitionDelay: with a delay, each state lasts the delay, and
// the pass reports when the next one is due.
func TestTasksTransitionDelay(t *testing.T) {
	for _, tc := range []struct {
		mode types.NetworkMode
		want []string
	}{
		{types.NetworkModeAwsvpc, []string{"PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"}},
		{types.NetworkModeBridge, []string{"PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING", "STOPPED"}},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			const delay = 2 * time.Second
			r := newRig(t, delay)
			td := register(t, r.st, tc.mode, container("web", true))
			id := runTask(t, r.st, td, t0)
			var seen []string
			record := func() {
				if s := *mustTask(t, r.st, id).LastStatus; len(seen) == 0 || seen[len(seen)-1] != s {
					seen = append(seen, s)
				}
			}
			record()
			for range 20 {
				res := r.pass(t)
				record()
				if *mustTask(t, r.st, id).LastStatus == "RUNNING" && len(seen) > 0 && seen[len(seen)-1] == "RUNNING" {
					if *mustTask(t, r.st, id).DesiredStatus == "RUNNING" {
						stopTask(t, r.st, id, r.clk.Now())
					}
				}
				if !res.NextDue.IsZero() && res.NextDue.After(r.clk.Now().Add(delay)) {
					t.Fatalf("NextDue %v is more than the delay away", res.NextDue)
				}
				// Half a delay moves nothing; a full one moves one state.
				r.advance(delay / 2)
				before := *mustTask(t, r.st, id).LastStatus
				r.pass(t)
				if after := *mustTask(t, r.st, id).LastStatus; after != before && before != "STOPPING" {
					t.Fatalf("moved %s -> %s after half the delay", before, after)
				}
				r.advance(delay / 2)
			}
			if len(seen) != len(tc.want) {
				t.Fatalf("states %v, want %v", seen, tc.want)
			}
			for i := range seen {
				if seen[i] != tc.want[i] {
					t.Fatalf("states %v, want %v", seen, tc.want)
				}
			}
		})
	}
}

func TestTasksEssentialExit(t *testing.T) {
	r := newRig(t, 0)
	td := register(t, r.st, types.NetworkModeBridge,
		container("main", true, kv(fakedriver.KnobRunSeconds, "30"), kv(fakedriver.KnobExitCode, "3")),
		container("sidecar", false, kv(fakedriver.KnobRunSeconds, "10"), kv(fakedriver.KnobExitCode, "1")))
	id := runTask(t, r.st, td, t0)
	r.pass(t)
	if s := *mustTask(t, r.st, id).LastStatus; s != "RUNNING" {
		t.Fatalf("last %s, want RUNNING", s)
	}

	// The non-essential sidecar exits: the task keeps running.
	r.advance(15 * time.Second)
	r.pass(t)
	task := mustTask(t, r.st, id)
	if *task.LastStatus != "RUNNING" || *task.DesiredStatus != "RUNNING" {
		t.Fatalf("after the sidecar exited: %s/%s, want RUNNING/RUNNING", *task.LastStatus, *task.DesiredStatus)
	}
	if c := task.Containers[1]; *c.LastStatus != "STOPPED" || *c.ExitCode != 1 {
		t.Errorf("sidecar = %+v, want STOPPED with exit code 1", c)
	}

	// The essential container exits: the task stops.
	r.advance(20 * time.Second)
	r.pass(t)
	task = mustTask(t, r.st, id)
	if *task.LastStatus != "STOPPED" || task.StopCode != types.TaskStopCodeEssentialContainerExited ||
		*task.StoppedReason != "Essential container in task exited" {
		t.Fatalf("after the essential exit: %s code %s reason %v", *task.LastStatus, task.StopCode, task.StoppedReason)
	}
	if c := task.Containers[0]; *c.ExitCode != 3 {
		t.Errorf("main exit code = %v, want 3", *c.ExitCode)
	}
	if want := t0.Add(30 * time.Second); !task.ExecutionStoppedAt.Equal(want) {
		t.Errorf("executionStoppedAt = %v, want %v (when the last container exited)", task.ExecutionStoppedAt, want)
	}
}

func TestTasksFailedToStart(t *testing.T) {
	r := newRig(t, 0)
	const reason = "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref docker.io/library/nope:latest: not found"
	td := register(t, r.st, types.NetworkModeAwsvpc, container("web", true, kv(fakedriver.KnobStartFailure, reason)))
	id := runTask(t, r.st, td, t0)
	r.pass(t)
	task := mustTask(t, r.st, id)
	if *task.LastStatus != "STOPPED" || task.StopCode != types.TaskStopCodeTaskFailedToStart || *task.StoppedReason != reason {
		t.Fatalf("last %s code %s reason %v", *task.LastStatus, task.StopCode, task.StoppedReason)
	}
	if c := task.Containers[0]; *c.LastStatus != "STOPPED" || c.ExitCode != nil || *c.Reason != reason {
		t.Errorf("container = %+v, want STOPPED, no exit code, the pull error as reason", c)
	}
	if task.StartedAt != nil {
		t.Errorf("startedAt = %v for a task that never ran", task.StartedAt)
	}
}

// raceStore runs a hook before each Update, to slip a write between the
// supervisor's read and its write.
type raceStore struct {
	store.Store
	hook func()
}

func (s *raceStore) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	if h := s.hook; h != nil {
		s.hook = nil
		h()
	}
	return s.Store.Update(ctx, fn)
}

// TestTasksStopTaskRace: a StopTask committed while a pass is working on
// the task is kept, and the next pass acts on it.
func TestTasksStopTaskRace(t *testing.T) {
	clk := &clock{t: t0}
	st := &raceStore{Store: openStore(t)}
	drv, _ := fakedriver.New(fakedriver.Config{NowFunc: clk.Now})
	w := worker.NewTasks(worker.TasksConfig{NowFunc: clk.Now}, st, drv)
	td := register(t, st, types.NetworkModeBridge, container("web", true))
	id := runTask(t, st, td, t0)
	st.hook = func() { stopTask(t, st.Store, id, clk.Now()) }
	res, err := w.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Raced != 1 || res.Changed != 0 {
		t.Errorf("pass: changed %d raced %d, want the write skipped", res.Changed, res.Raced)
	}
	if task := mustTask(t, st, id); *task.DesiredStatus != "STOPPED" {
		t.Fatalf("desired %s: the StopTask was lost", *task.DesiredStatus)
	}
	if _, err := w.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if task := mustTask(t, st, id); *task.LastStatus != "STOPPED" || task.StopCode != types.TaskStopCodeUserInitiated {
		t.Errorf("after the next pass: %s %s, want STOPPED UserInitiated", *task.LastStatus, task.StopCode)
	}
}

// TestTasksRestart: a new supervisor and a new simulated engine over the
// same store and directory find the task RUNNING, unchanged, with one
// container group.
func TestTasksRestart(t *testing.T) {
	clk := &clock{t: t0}
	dataDir := t.TempDir()
	st := openStore(t)
	open := func() (*fakedriver.Driver, *worker.Tasks) {
		drv, err := fakedriver.New(fakedriver.Config{Dir: filepath.Join(dataDir, "simulated"), NowFunc: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		return drv, worker.NewTasks(worker.TasksConfig{NowFunc: clk.Now}, st, drv)
	}
	_, w := open()
	td := register(t, st, types.NetworkModeAwsvpc, container("web", true))
	id := runTask(t, st, td, t0)
	if _, err := w.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := mustTask(t, st, id)

	clk.Set(t0.Add(time.Hour))
	drv2, w2 := open()
	res, err := w2.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	after := mustTask(t, st, id)
	if res.Changed != 0 || after.Version != before.Version || *after.LastStatus != "RUNNING" || !after.StartedAt.Equal(*before.StartedAt) {
		t.Errorf("after restart: changed %d, %s v%d (was v%d)", res.Changed, *after.LastStatus, after.Version, before.Version)
	}
	groups, _ := drv2.List(context.Background(), nil)
	if len(groups) != 1 || groups[0].Containers[0].Status != driver.StatusRunning || !groups[0].Containers[0].StartedAt.Equal(t0) {
		t.Errorf("groups after restart = %+v, want the one group still running since t0", groups)
	}
}

func TestTasksRetentionAndReap(t *testing.T) {
	r := newRig(t, 0)
	td := register(t, r.st, types.NetworkModeBridge, container("web", true, kv(fakedriver.KnobRunSeconds, "1")))
	id := runTask(t, r.st, td, t0)
	r.pass(t)
	r.advance(2 * time.Second)
	r.pass(t)
	task := mustTask(t, r.st, id)
	if *task.LastStatus != "STOPPED" {
		t.Fatalf("last %s, want STOPPED", *task.LastStatus)
	}
	r.advance(time.Hour - time.Millisecond - 2*time.Second + task.StoppedAt.Sub(t0))
	if res := r.pass(t); res.Purged != 0 {
		t.Fatalf("purged %d before the retention ran out", res.Purged)
	}
	r.advance(time.Millisecond)
	if res := r.pass(t); res.Purged != 1 {
		t.Fatalf("purged %d once the retention ran out, want 1", res.Purged)
	}
	if _, err := getTask(t, r.st, id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("task after retention: %v, want not found", err)
	}
	if _, err := r.drv.Inspect(context.Background(), id); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("containers after retention: %v, want removed", err)
	}

	// A group whose task is gone (say, after a reset) is reaped.
	orphan := ecs.TaskARN(scope.Region, scope.Account, "default", "0123456789abcdef0123456789abcdef")
	if err := r.drv.Start(context.Background(), driver.GroupSpec{ID: "orphan",
		Labels: map[string]string{worker.LabelManaged: "true", worker.LabelTaskARN: orphan}}); err != nil {
		t.Fatal(err)
	}
	if err := r.drv.Start(context.Background(), driver.GroupSpec{ID: "foreign"}); err != nil {
		t.Fatal(err)
	}
	r.advance(time.Hour)
	if res := r.pass(t); res.Reaped != 1 {
		t.Errorf("reaped %d, want the orphan only", res.Reaped)
	}
	if _, err := r.drv.Inspect(context.Background(), "orphan"); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("orphan still there: %v", err)
	}
	if _, err := r.drv.Inspect(context.Background(), "foreign"); err != nil {
		t.Errorf("a group ecsd does not manage was removed: %v", err)
	}
}

func TestGroupSpec(t *testing.T) {
	td := types.TaskDefinition{
		Family: sp("web"), Revision: 4, NetworkMode: types.NetworkModeBridge,
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: sp("app"), Image: sp("nginx"), Essential: bptr(true), Memory: i32(128), Cpu: 256,
			Environment:  []types.KeyValuePair{kv("A", "1"), kv(fakedriver.KnobExitCode, "1")},
			DockerLabels: map[string]string{fakedriver.KnobRunSeconds: "5"},
			PortMappings: []types.PortMapping{{ContainerPort: i32(80), HostPort: i32(0), Protocol: types.TransportProtocolTcp}},
			HealthCheck:  &types.HealthCheck{Command: []string{"CMD", "true"}, StartPeriod: i32(7)},
			DependsOn:    []types.ContainerDependency{{ContainerName: sp("db"), Condition: types.ContainerConditionHealthy}},
			StopTimeout:  i32(12),
		}},
	}
	task := types.Task{TaskArn: sp("arn:aws:ecs:us-east-1:123456789012:task/default/abc"),
		Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: sp("app"),
			Command: []string{"run"}, Environment: []types.KeyValuePair{kv(fakedriver.KnobExitCode, "2")}}}}}
	spec := worker.GroupSpec("abc", task, td)
	c := spec.Containers[0]
	if spec.ID != "abc" || spec.NetworkMode != "bridge" || spec.Labels[worker.LabelTaskARN] != *task.TaskArn || spec.Labels[worker.LabelRevision] != "4" {
		t.Errorf("spec = %+v", spec)
	}
	if c.Command[0] != "run" || c.Env[len(c.Env)-1].Value != "2" || c.Labels[fakedriver.KnobRunSeconds] != "5" ||
		c.StopTimeout != 12*time.Second || c.HealthCheck.StartPeriod != 7*time.Second || c.HealthCheck.Interval != 30*time.Second ||
		c.DependsOn[0].Condition != "HEALTHY" || c.PortMappings[0].ContainerPort != 80 || c.MemoryMiB != 128 || c.CPU != 256 || !c.Essential {
		t.Errorf("container spec = %+v", c)
	}
}

// TestGroupSpecTaskResources: the task's own cpu and memory (an override
// wins over the revision), never the containers' sums.
func TestGroupSpecTaskResources(t *testing.T) {
	cd := []types.ContainerDefinition{{Name: sp("app"), Image: sp("img"), Memory: i32(128), Cpu: 256}}
	for _, tc := range []struct {
		name             string
		tdCPU, tdMem     *string
		ovCPU, ovMem     *string
		wantCPU, wantMem int
	}{
		{name: "none: containers' values only", wantCPU: 0, wantMem: 0},
		{name: "revision", tdCPU: sp("1024"), tdMem: sp("2048"), wantCPU: 1024, wantMem: 2048},
		{name: "override wins", tdCPU: sp("1024"), tdMem: sp("2048"), ovCPU: sp("512"), ovMem: sp("1 GB"), wantCPU: 512, wantMem: 1024},
		{name: "vCPU form", ovCPU: sp("0.5 vCPU"), wantCPU: 512},
	} {
		td := types.TaskDefinition{Family: sp("web"), Revision: 1, Cpu: tc.tdCPU, Memory: tc.tdMem, ContainerDefinitions: cd}
		task := types.Task{TaskArn: sp("arn:aws:ecs:us-east-1:123456789012:task/default/abc"), Cpu: sp("256"), Memory: sp("128"),
			Overrides: &types.TaskOverride{Cpu: tc.ovCPU, Memory: tc.ovMem}}
		spec := worker.GroupSpec("abc", task, td)
		if spec.TaskCPU != tc.wantCPU || spec.TaskMemoryMiB != tc.wantMem {
			t.Errorf("%s: TaskCPU %d TaskMemoryMiB %d, want %d %d", tc.name, spec.TaskCPU, spec.TaskMemoryMiB, tc.wantCPU, tc.wantMem)
		}
	}
}

// refusingDriver refuses every Start with msg, as an API server refuses a
// pod over a namespace's quota.
type refusingDriver struct {
	*fakedriver.Driver
	msg string
}

func (d refusingDriver) Start(context.Context, driver.GroupSpec) error {
	return fmt.Errorf("%w: %s", driver.ErrRefused, d.msg)
}

func TestTasksRefusedByRuntime(t *testing.T) {
	for _, tc := range []struct{ msg, reason string }{
		{`pods "x" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1`,
			`CannotCreateContainerError: pods "x" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1`},
		// The runtime names ECS's error itself: kept as it is.
		{`ResourceInitializationError: failed to read env files: open /x.env: no such file or directory`,
			`ResourceInitializationError: failed to read env files: open /x.env: no such file or directory`},
	} {
		r := newRig(t, 0)
		w := worker.NewTasks(worker.TasksConfig{NowFunc: r.clk.Now, StoppedRetention: time.Hour}, r.st, refusingDriver{r.drv, tc.msg})
		td := register(t, r.st, types.NetworkModeAwsvpc, container("web", true))
		id := runTask(t, r.st, td, t0)
		if _, err := w.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		task := mustTask(t, r.st, id)
		if *task.LastStatus != "STOPPED" || task.StopCode != types.TaskStopCodeTaskFailedToStart || *task.StoppedReason != tc.reason {
			t.Fatalf("last %s code %s reason %v", *task.LastStatus, task.StopCode, *task.StoppedReason)
		}
		if c := task.Containers[0]; c.ExitCode != nil || c.Reason == nil || *c.Reason != tc.reason {
			t.Errorf("container = %+v, want no exit code, the refusal as reason", c)
		}
	}
}
