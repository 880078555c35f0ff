package worker_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/control"
	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/notify"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
	"github.com/ecsd/ecsd/internal/worker"
)

// The scheduler is driven pass by pass with RunOnce and an injected
// clock; the tasks it starts are moved along by writing their lastStatus
// straight into the store, standing in for the task supervisor.

var svcWho = control.NewCaller("123456789012", "eu-west-2", "arn:aws:iam::123456789012:user/dev")

type schedFixture struct {
	t     *testing.T
	st    store.Store
	ctl   *control.Control
	sched *worker.Services
	clock *clock
	ctx   context.Context
}

func newSchedFixture(t *testing.T, healthyAfter time.Duration) *schedFixture {
	t.Helper()
	st := openStore(t)
	clk := &clock{t: t0}
	ctl := control.New(st, nil)
	ctl.NowFunc = clk.Now
	ctl.Instances.Simulated = 3 // EC2 tasks need container instances
	f := &schedFixture{t: t, st: st, ctl: ctl, clock: clk, ctx: context.Background(),
		sched: worker.NewServices(worker.ServicesConfig{NowFunc: clk.Now, HealthyAfter: healthyAfter}, st)}
	if _, err := ctl.CreateCluster(f.ctx, svcWho, control.CreateClusterRequest{}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *schedFixture) tick(d time.Duration) { f.clock.Set(f.clock.Now().Add(d)) }

func (f *schedFixture) register(family string) string {
	f.t.Helper()
	td, err := f.ctl.RegisterTaskDefinition(f.ctx, svcWho, types.TaskDefinition{
		Family: svcPtr(family),
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: svcPtr("app"), Image: svcPtr("nginx"), Memory: svcPtr(int32(128))},
		},
	}, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return *td.TaskDefinitionArn
}

func (f *schedFixture) create(name, td string, desired int32, dc *types.DeploymentConfiguration) types.Service {
	f.t.Helper()
	s, err := f.ctl.CreateService(f.ctx, svcWho, control.CreateServiceRequest{
		Service: types.Service{ServiceName: svcPtr(name), TaskDefinition: svcPtr(td), DesiredCount: desired, DeploymentConfiguration: dc},
	})
	if err != nil {
		f.t.Fatalf("CreateService: %v", err)
	}
	return s
}

func (f *schedFixture) pass() int {
	f.t.Helper()
	n, err := f.sched.RunOnce(f.ctx)
	if err != nil {
		f.t.Fatalf("RunOnce: %v", err)
	}
	f.tick(time.Second)
	return n
}

func (f *schedFixture) service(name string) types.Service {
	f.t.Helper()
	svcs, _, err := f.ctl.DescribeServices(f.ctx, svcWho, "", []string{name}, false)
	if err != nil || len(svcs) != 1 {
		f.t.Fatalf("DescribeServices %s: %v %v", name, svcs, err)
	}
	return svcs[0]
}

// tasks returns the service's tasks, oldest first.
func (f *schedFixture) tasks(name string) []types.Task {
	f.t.Helper()
	var out []types.Task
	err := f.st.View(f.ctx, func(tx store.ReadTx) error {
		recs, err := tx.Tasks(svcWho.Scope, store.TasksQuery{Cluster: "default", Service: name})
		if err != nil {
			return err
		}
		for _, r := range recs {
			t, err := records.Task(r)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	slices.SortStableFunc(out, func(a, b types.Task) int { return a.CreatedAt.Compare(*b.CreatedAt) })
	return out
}

// settle does what the task supervisor would: tasks asked to run are
// RUNNING, tasks asked to stop are STOPPED.
func (f *schedFixture) settle(name string) {
	f.t.Helper()
	f.rewrite(name, func(t *types.Task) bool {
		switch {
		case *t.LastStatus == "STOPPED":
			return false
		case *t.DesiredStatus == "STOPPED":
			t.LastStatus = svcPtr("STOPPED")
			t.StoppedAt = svcPtr(f.clock.Now())
		case *t.LastStatus != "RUNNING":
			t.LastStatus = svcPtr("RUNNING")
			t.StartedAt = svcPtr(f.clock.Now())
		default:
			return false
		}
		return true
	})
}

// crash makes every task of a revision that is not stopped exit with
// code 1, as a task whose essential container exits.
func (f *schedFixture) crash(name, td string) int {
	f.t.Helper()
	n := 0
	f.rewrite(name, func(t *types.Task) bool {
		if *t.LastStatus == "STOPPED" || *t.TaskDefinitionArn != td {
			return false
		}
		t.LastStatus, t.DesiredStatus = svcPtr("STOPPED"), svcPtr("STOPPED")
		t.StopCode = types.TaskStopCodeEssentialContainerExited
		t.StoppedReason = svcPtr("Essential container in task exited")
		if t.StartedAt == nil { // it ran, then its essential container exited
			t.StartedAt = svcPtr(f.clock.Now())
		}
		t.StoppedAt = svcPtr(f.clock.Now())
		n++
		return true
	})
	return n
}

func (f *schedFixture) rewrite(name string, fn func(*types.Task) bool) {
	f.t.Helper()
	err := f.st.Update(f.ctx, func(tx store.Tx) error {
		recs, err := tx.Tasks(svcWho.Scope, store.TasksQuery{Cluster: "default", Service: name})
		if err != nil {
			return err
		}
		for _, r := range recs {
			t, err := records.Task(r)
			if err != nil {
				return err
			}
			if !fn(&t) {
				continue
			}
			if r, err = records.FromTask(svcWho.Scope, t); err != nil {
				return err
			}
			if err := tx.PutTask(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *schedFixture) deployments(name string) []types.ServiceDeployment {
	f.t.Helper()
	briefs, _, err := f.ctl.ListServiceDeployments(f.ctx, svcWho, control.ListServiceDeploymentsRequest{Service: name})
	if err != nil {
		f.t.Fatal(err)
	}
	var arns []string
	for _, b := range briefs {
		arns = append(arns, *b.ServiceDeploymentArn)
	}
	sds, fails, err := f.ctl.DescribeServiceDeployments(f.ctx, svcWho, arns)
	if err != nil || len(fails) != 0 {
		f.t.Fatalf("DescribeServiceDeployments: %v %v", fails, err)
	}
	return sds
}

func messages(s types.Service) []string {
	var out []string
	for _, e := range s.Events {
		out = append(out, *e.Message)
	}
	return out
}

func live(tasks []types.Task) (n int) {
	for _, t := range tasks {
		if *t.LastStatus != "STOPPED" {
			n++
		}
	}
	return n
}

// steady creates a service and takes it to its steady state.
func (f *schedFixture) steady(name, td string, desired int32, dc *types.DeploymentConfiguration) types.Service {
	f.t.Helper()
	f.create(name, td, desired, dc)
	f.pass()
	f.settle(name)
	f.pass()
	s := f.service(name)
	if len(s.Deployments) != 1 || s.Deployments[0].RolloutState != "COMPLETED" || s.RunningCount != desired {
		f.t.Fatalf("not steady: %+v running %d", s.Deployments, s.RunningCount)
	}
	return s
}

func TestServicesReachSteadyState(t *testing.T) {
	f := newSchedFixture(t, 0)
	td := f.register("web")
	created := f.create("web", td, 3, nil)
	if d := created.Deployments[0]; d.DesiredCount != 0 || d.RolloutState != "IN_PROGRESS" {
		t.Fatalf("new deployment %+v", d)
	}

	if n := f.pass(); n != 1 {
		t.Fatalf("first pass changed %d services", n)
	}
	s := f.service("web")
	tasks := f.tasks("web")
	if len(tasks) != 3 {
		t.Fatalf("%d tasks started, want 3", len(tasks))
	}
	dep := s.Deployments[0]
	for _, task := range tasks {
		if *task.StartedBy != *dep.Id || *task.Group != "service:web" || *task.TaskDefinitionArn != td || *task.DesiredStatus != "RUNNING" {
			t.Fatalf("task %+v", task)
		}
	}
	if dep.DesiredCount != 3 || dep.PendingCount != 3 || s.PendingCount != 3 || s.RunningCount != 0 {
		t.Fatalf("counts: deployment %d/%d, service pending %d running %d", dep.DesiredCount, dep.PendingCount, s.PendingCount, s.RunningCount)
	}
	got := messages(s)
	if len(got) != 1 || !strings.HasPrefix(got[0], "(service web) has started 3 tasks: (task ") || !strings.HasSuffix(got[0], ").") {
		t.Fatalf("events %q", got)
	}
	for _, task := range tasks {
		if !strings.Contains(got[0], "(task "+ecs.TaskID(*task.TaskArn)+")") {
			t.Fatalf("event %q does not name task %s", got[0], *task.TaskArn)
		}
	}

	f.settle("web")
	f.pass()
	s = f.service("web")
	want := []string{"(service web) has reached a steady state.", "(service web) (deployment " + *dep.Id + ") deployment completed."}
	if got := messages(s)[:2]; !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	if s.Deployments[0].RolloutState != "COMPLETED" || s.RunningCount != 3 || s.PendingCount != 0 {
		t.Fatalf("after settling: %+v running %d", s.Deployments[0], s.RunningCount)
	}
	sds := f.deployments("web")
	if len(sds) != 1 || sds[0].Status != "SUCCESSFUL" || sds[0].FinishedAt == nil || sds[0].TargetServiceRevision.RunningTaskCount != 3 {
		t.Fatalf("service deployments %+v", sds)
	}

	// A steady service is left alone: no write, no repeated event.
	if n := f.pass(); n != 0 {
		t.Fatalf("steady pass changed %d services", n)
	}
	if got := len(f.service("web").Events); got != 3 {
		t.Fatalf("%d events after a quiet pass, want 3", got)
	}
}

func TestServicesRollingUpdate(t *testing.T) {
	f := newSchedFixture(t, 0)
	td1 := f.register("web")
	f.steady("web", td1, 2, nil)
	old := f.tasks("web")
	td2 := f.register("web")

	upd, err := f.ctl.UpdateService(f.ctx, svcWho, control.UpdateServiceRequest{Service: "web", TaskDefinition: svcPtr("web")})
	if err != nil {
		t.Fatal(err)
	}
	if len(upd.Deployments) != 2 || *upd.Deployments[0].TaskDefinition != td2 || *upd.Deployments[1].Status != "ACTIVE" {
		t.Fatalf("deployments after update: %+v", upd.Deployments)
	}
	newID := *upd.Deployments[0].Id

	f.pass() // 100/200: both new tasks start beside the old ones
	if tasks := f.tasks("web"); live(tasks) != 4 {
		t.Fatalf("%d live tasks, want 4", live(tasks))
	}
	s := f.service("web")
	if s.Deployments[1].DesiredCount != 2 || s.Deployments[0].DesiredCount != 2 {
		t.Fatalf("counts %+v", s.Deployments)
	}
	f.settle("web")
	f.pass() // new tasks healthy: the old ones are asked to stop
	for _, o := range f.tasks("web")[:2] {
		if *o.DesiredStatus != "STOPPED" || o.StopCode != "ServiceSchedulerInitiated" ||
			*o.StoppedReason != "Scaling activity initiated by (deployment "+newID+")" {
			t.Fatalf("old task %s: desired %s code %s reason %v", *o.TaskArn, *o.DesiredStatus, o.StopCode, o.StoppedReason)
		}
	}
	if got := messages(f.service("web"))[0]; !strings.HasPrefix(got, "(service web) has stopped 2 running tasks: (task "+ecs.TaskID(*old[0].TaskArn)+")") {
		t.Fatalf("event %q", got)
	}
	f.settle("web")
	f.pass()
	s = f.service("web")
	if len(s.Deployments) != 1 || *s.Deployments[0].Id != newID || s.Deployments[0].RolloutState != "COMPLETED" || *s.TaskDefinition != td2 {
		t.Fatalf("after the rollout: %+v", s.Deployments)
	}
	sds := f.deployments("web")
	if len(sds) != 2 || sds[0].Status != "SUCCESSFUL" || len(sds[0].SourceServiceRevisions) != 1 ||
		!strings.HasSuffix(*sds[0].TargetServiceRevision.Arn, ecs.RevisionID(newID)) {
		t.Fatalf("service deployments %+v", sds)
	}
	revs, _, err := f.ctl.DescribeServiceRevisions(f.ctx, svcWho, []string{*sds[0].TargetServiceRevision.Arn})
	if err != nil || len(revs) != 1 || *revs[0].TaskDefinition != td2 {
		t.Fatalf("revision %+v %v", revs, err)
	}
}

func TestServicesKeepRunningADeregisteredRevision(t *testing.T) {
	f := newSchedFixture(t, 0)
	td := f.register("web")
	f.steady("web", td, 2, nil)
	if _, err := f.ctl.DeregisterTaskDefinition(f.ctx, svcWho, td); err != nil {
		t.Fatal(err)
	}
	// Scaling up is allowed and starts tasks of the INACTIVE revision.
	if _, err := f.ctl.UpdateService(f.ctx, svcWho, control.UpdateServiceRequest{Service: "web", DesiredCount: svcPtr(int32(3))}); err != nil {
		t.Fatalf("UpdateService desiredCount on an INACTIVE revision: %v", err)
	}
	f.pass()
	tasks := f.tasks("web")
	if live(tasks) != 3 || *tasks[2].TaskDefinitionArn != td {
		t.Fatalf("after scaling up: %d live, newest runs %s", live(tasks), *tasks[2].TaskDefinitionArn)
	}
	f.settle("web")
	f.pass()
	// A task that stops on its own is replaced with the same revision.
	f.rewrite("web", func(task *types.Task) bool {
		if *task.TaskArn != *tasks[0].TaskArn {
			return false
		}
		task.LastStatus, task.DesiredStatus, task.StopCode = svcPtr("STOPPED"), svcPtr("STOPPED"), "EssentialContainerExited"
		task.StoppedAt = svcPtr(f.clock.Now())
		return true
	})
	f.pass()
	tasks = f.tasks("web")
	if live(tasks) != 3 || *tasks[len(tasks)-1].TaskDefinitionArn != td {
		t.Fatalf("replacement: %d live, runs %s", live(tasks), *tasks[len(tasks)-1].TaskDefinitionArn)
	}
	// Scaling down works too.
	if _, err := f.ctl.UpdateService(f.ctx, svcWho, control.UpdateServiceRequest{Service: "web", DesiredCount: svcPtr(int32(1))}); err != nil {
		t.Fatal(err)
	}
	f.settle("web")
	f.pass()
	f.settle("web")
	if n := live(f.tasks("web")); n != 1 {
		t.Fatalf("%d live tasks after scaling down to 1", n)
	}
}

func TestServicesCircuitBreakerRollsBack(t *testing.T) {
	f := newSchedFixture(t, 0)
	td1 := f.register("web")
	dc := &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}}
	steady := f.steady("web", td1, 1, dc)
	goodID := *steady.Deployments[0].Id
	td2 := f.register("web")
	upd, err := f.ctl.UpdateService(f.ctx, svcWho, control.UpdateServiceRequest{Service: "web", TaskDefinition: svcPtr(td2)})
	if err != nil {
		t.Fatal(err)
	}
	badID := *upd.Deployments[0].Id

	// Every task of the new revision exits at once; the threshold for one
	// task is 3 failures.
	failures := 0
	for range 10 {
		f.pass()
		failures += f.crash("web", td2)
		if s := f.service("web"); *s.Deployments[0].Id == goodID {
			break
		}
	}
	if failures != 3 {
		t.Fatalf("%d failed tasks before the rollback, want 3", failures)
	}
	// The good task kept running throughout (minimumHealthyPercent 100),
	// so the rollback completes in the very pass that trips the breaker.
	s := f.service("web")
	want := []string{
		"(service web) has reached a steady state.",
		"(service web) (deployment " + goodID + ") deployment completed.",
		"(service web) rolling back to deployment " + goodID + ".",
		"(service web) (deployment " + badID + ") deployment failed: tasks failed to start.",
	}
	if got := messages(s)[:4]; !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	sd := f.deployments("web")[0]
	if sd.Rollback == nil || !strings.HasSuffix(*sd.Rollback.ServiceRevisionArn, ecs.RevisionID(goodID)) ||
		sd.DeploymentCircuitBreaker.Status != "TRIGGERED" || sd.DeploymentCircuitBreaker.FailureCount != 3 ||
		*sd.StatusReason != "ECS deployment circuit breaker: tasks failed to start." {
		t.Fatalf("service deployment of the rollback: %+v, breaker %+v, reason %q", sd, *sd.DeploymentCircuitBreaker, *sd.StatusReason)
	}
	if len(s.Deployments) != 1 || *s.Deployments[0].Id != goodID || s.Deployments[0].RolloutState != "COMPLETED" || *s.TaskDefinition != td1 {
		t.Fatalf("after the rollback: %+v", s.Deployments)
	}
	if sd := f.deployments("web")[0]; sd.Status != "ROLLBACK_SUCCESSFUL" {
		t.Fatalf("service deployment after the rollback: %s", sd.Status)
	}
}

func TestServicesDeleteDrains(t *testing.T) {
	f := newSchedFixture(t, 0)
	td := f.register("web")
	f.steady("web", td, 2, nil)
	if _, err := f.ctl.DeleteService(f.ctx, svcWho, "", "web", false); err == nil || !strings.Contains(err.Error(), "scaled above 0") {
		t.Fatalf("DeleteService of a scaled service: %v", err)
	}
	del, err := f.ctl.DeleteService(f.ctx, svcWho, "", "web", true)
	if err != nil || *del.Status != "DRAINING" {
		t.Fatalf("DeleteService force: %v %v", del.Status, err)
	}
	f.pass()
	for _, task := range f.tasks("web") {
		if *task.DesiredStatus != "STOPPED" || task.StopCode != "ServiceSchedulerInitiated" {
			t.Fatalf("task %s not stopped by the scheduler", *task.TaskArn)
		}
	}
	if s := f.service("web"); *s.Status != "DRAINING" {
		t.Fatalf("status %s while tasks run", *s.Status)
	}
	f.settle("web")
	f.pass()
	if s := f.service("web"); *s.Status != "INACTIVE" {
		t.Fatalf("status %s once tasks stopped", *s.Status)
	}
	// INACTIVE services are not scheduled any more.
	if n := f.pass(); n != 0 {
		t.Fatalf("pass changed %d services", n)
	}
	// The name is free again.
	again := f.create("web", td, 1, nil)
	if *again.Status != "ACTIVE" || len(again.Deployments) != 1 {
		t.Fatalf("re-created: %+v", again)
	}
	f.pass()
	if n := live(f.tasks("web")); n != 1 {
		t.Fatalf("%d live tasks for the new service", n)
	}
}

func TestServicesHealthyAfter(t *testing.T) {
	f := newSchedFixture(t, 40*time.Second)
	td := f.register("web")
	f.create("web", td, 1, nil)
	res, err := f.sched.Reconcile(f.ctx, ecs.ServiceARN(svcWho.Region, svcWho.Account, "default", "web"))
	if err != nil || len(res.Started) != 1 {
		t.Fatalf("first pass: %+v %v", res, err)
	}
	f.settle("web")
	res, err = f.sched.Reconcile(f.ctx, ecs.ServiceARN(svcWho.Region, svcWho.Account, "default", "web"))
	if err != nil || res.Plan.Completed != "" || res.RecheckAfter != 40*time.Second {
		t.Fatalf("a task running 0s of 40s: completed %q recheck %v err %v", res.Plan.Completed, res.RecheckAfter, err)
	}
	f.tick(40 * time.Second)
	res, err = f.sched.Reconcile(f.ctx, ecs.ServiceARN(svcWho.Region, svcWho.Account, "default", "web"))
	if err != nil || res.Plan.Completed == "" {
		t.Fatalf("after 40s: %+v %v", res.Plan, err)
	}
}

func TestServicesLoopActsOnKicks(t *testing.T) {
	f := newSchedFixture(t, 0)
	f.sched = worker.NewServices(worker.ServicesConfig{Interval: time.Hour, NowFunc: f.clock.Now}, f.st)
	hub := notify.New(nil)
	hub.Subscribe(notify.Service, f.sched.Kick)
	f.ctl.Notifier = hub
	f.sched.Start(f.ctx)
	t.Cleanup(f.sched.Stop)
	td := f.register("web")
	for _, name := range []string{"a", "b", "c"} {
		f.create(name, td, 2, nil)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, name := range []string{"a", "b", "c"} {
		for len(f.tasks(name)) != 2 {
			if time.Now().After(deadline) {
				t.Fatalf("service %s has %d tasks", name, len(f.tasks(name)))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func svcPtr[T any](v T) *T { return &v }

// TestServicesNeverLoseAnUpdate races scheduler passes against
// UpdateService: a pass that read the service before an update must not
// write its stale copy over it.
func TestServicesNeverLoseAnUpdate(t *testing.T) {
	f := newSchedFixture(t, 0)
	td := f.register("web")
	f.create("web", td, 1, nil)
	arn := ecs.ServiceARN(svcWho.Region, svcWho.Account, "default", "web")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200 {
			if _, err := f.sched.Reconcile(f.ctx, arn); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := range 50 {
		if _, err := f.ctl.UpdateService(f.ctx, svcWho, control.UpdateServiceRequest{Service: "web", DesiredCount: svcPtr(int32(i % 7))}); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	if got := f.service("web").DesiredCount; got != 49%7 {
		t.Fatalf("desiredCount %d after the last update set %d", got, 49%7)
	}
	f.pass()
	if got := f.service("web").Deployments[0].DesiredCount; got != 49%7 {
		t.Fatalf("deployment desiredCount %d", got)
	}
}
