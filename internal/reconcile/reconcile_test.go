package reconcile_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/reconcile"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

const (
	oldID = "ecs-svc/1111111111111111111"
	newID = "ecs-svc/2222222222222222222"
	tdOld = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"
	tdNew = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2"
)

func deployment(id, status, td string, state types.DeploymentRolloutState) types.Deployment {
	return types.Deployment{
		Id: ptr(id), Status: ptr(status), TaskDefinition: ptr(td),
		CreatedAt: ptr(t0), UpdatedAt: ptr(t0), RolloutState: state,
		RolloutStateReason: ptr("ECS deployment " + id + " in progress."),
	}
}

// service returns a REPLICA service whose deployments are given PRIMARY
// first.
func service(desired, minPct, maxPct int, deps ...types.Deployment) types.Service {
	return types.Service{
		ServiceName:        ptr("web"),
		Status:             ptr("ACTIVE"),
		DesiredCount:       int32(desired),
		SchedulingStrategy: types.SchedulingStrategyReplica,
		DeploymentConfiguration: &types.DeploymentConfiguration{
			MinimumHealthyPercent: ptr(int32(minPct)), MaximumPercent: ptr(int32(maxPct)),
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{},
		},
		DeploymentController: &types.DeploymentController{Type: types.DeploymentControllerTypeEcs},
		Deployments:          deps,
	}
}

func running(id, dep string) reconcile.Task {
	return reconcile.Task{ID: id, DeploymentID: dep, DesiredStatus: "RUNNING", LastStatus: "RUNNING",
		CreatedAt: t0.Add(-time.Hour), StartedAt: t0.Add(-time.Hour)}
}

func pending(id, dep string) reconcile.Task {
	return reconcile.Task{ID: id, DeploymentID: dep, DesiredStatus: "RUNNING", LastStatus: "PROVISIONING", CreatedAt: t0}
}

func stoppedTask(id, dep string, code types.TaskStopCode, at time.Time) reconcile.Task {
	return reconcile.Task{ID: id, DeploymentID: dep, DesiredStatus: "STOPPED", LastStatus: "STOPPED",
		CreatedAt: at.Add(-time.Second), StartedAt: at.Add(-time.Second), StoppedAt: at, StopCode: code}
}

func starts(p reconcile.Plan) map[string]int {
	m := map[string]int{}
	for _, s := range p.Starts {
		m[*s.Deployment.Id] += s.Count
	}
	return m
}

func stops(p reconcile.Plan) []string {
	var ids []string
	for _, s := range p.Stops {
		ids = append(ids, s.TaskID)
	}
	return ids
}

func TestComputeTable(t *testing.T) {
	tests := []struct {
		name       string
		in         reconcile.Input
		wantStarts map[string]int
		wantStops  []string
		wantEvents []string
		check      func(t *testing.T, p reconcile.Plan)
	}{
		{
			name:       "new service places its desired count",
			in:         reconcile.Input{Service: service(2, 100, 200, deployment(newID, "PRIMARY", tdNew, "IN_PROGRESS"))},
			wantStarts: map[string]int{newID: 2},
			check: func(t *testing.T, p reconcile.Plan) {
				d := p.Service.Deployments[0]
				if d.DesiredCount != 2 || d.PendingCount != 2 || p.Service.PendingCount != 2 {
					t.Errorf("counts: deployment desired %d pending %d, service pending %d", d.DesiredCount, d.PendingCount, p.Service.PendingCount)
				}
			},
		},
		{
			name: "all tasks healthy: deployment completed, then steady state",
			in: reconcile.Input{Service: service(2, 100, 200, deployment(newID, "PRIMARY", tdNew, "IN_PROGRESS")),
				Tasks: []reconcile.Task{running("a", newID), running("b", newID)}},
			wantEvents: []string{
				"(service web) (deployment " + newID + ") deployment completed.",
				"(service web) has reached a steady state.",
			},
			check: func(t *testing.T, p reconcile.Plan) {
				d := p.Service.Deployments[0]
				if d.RolloutState != "COMPLETED" || *d.RolloutStateReason != "ECS deployment "+newID+" completed." || p.Completed != newID {
					t.Errorf("deployment %s %q, completed %q", d.RolloutState, *d.RolloutStateReason, p.Completed)
				}
				if p.Service.RunningCount != 2 || d.RunningCount != 2 {
					t.Errorf("running %d / %d", p.Service.RunningCount, d.RunningCount)
				}
			},
		},
		{
			name: "steady state is not repeated",
			in: func() reconcile.Input {
				s := service(1, 100, 200, deployment(newID, "PRIMARY", tdNew, "COMPLETED"))
				s.Events = []types.ServiceEvent{{Message: ptr("(service web) has reached a steady state.")}}
				return reconcile.Input{Service: s, Tasks: []reconcile.Task{running("a", newID)}}
			}(),
		},
		{
			name: "rolling update, 100/200: new tasks first, old ones kept",
			in: reconcile.Input{Service: service(2, 100, 200,
				deployment(newID, "PRIMARY", tdNew, "IN_PROGRESS"), deployment(oldID, "ACTIVE", tdOld, "COMPLETED")),
				Tasks: []reconcile.Task{running("o1", oldID), running("o2", oldID)}},
			wantStarts: map[string]int{newID: 2},
			check: func(t *testing.T, p reconcile.Plan) {
				if d := p.Service.Deployments[1]; d.DesiredCount != 2 || d.RunningCount != 2 {
					t.Errorf("old deployment desired %d running %d", d.DesiredCount, d.RunningCount)
				}
			},
		},
		{
			name: "rolling update, 100/200: old tasks stop once new ones are healthy",
			in: reconcile.Input{Service: service(2, 100, 200,
				deployment(newID, "PRIMARY", tdNew, "IN_PROGRESS"), deployment(oldID, "ACTIVE", tdOld, "COMPLETED")),
				Tasks: []reconcile.Task{running("o1", oldID), running("o2", oldID), running("n1", newID), running("n2", newID)}},
			wantStops:  []string{"o1", "o2"},
			wantEvents: []string{"(service web) has stopped 2 running tasks: (task o1) (task o2)."},
			check: func(t *testing.T, p reconcile.Plan) {
				for _, s := range p.Stops {
					if s.Reason != "Scaling activity initiated by (deployment "+newID+")" {
						t.Errorf("stop reason %q", s.Reason)
					}
				}
				if d := p.Service.Deployments[1]; d.DesiredCount != 0 || d.RunningCount != 2 {
					t.Errorf("old deployment desired %d running %d, want 0 and 2 (still running)", d.DesiredCount, d.RunningCount)
				}
				if p.Completed != "" {
					t.Errorf("completed while old tasks run")
				}
			},
		},
		{
			name: "rolling update, 100/200: one new healthy task frees one old task",
			in: reconcile.Input{Service: service(2, 100, 200,
				deployment(newID, "PRIMARY", tdNew, "IN_PROGRESS"), deployment(oldID, "ACTIVE", tdOld, "COMPLETED")),
				Tasks: []reconcile.Task{running("o1", oldID), running("o2", oldID), running("n1", newID), pending("n2", newID)}},
			wantStops:  []string{"o1"},
			wantEvents: []string{"(service web) has stopped 1 running tasks: (task o1)."},
		},
		{
			name: "rolling update, 50/100 with 4 tasks: stop two old first, start none",
			in: reconcile.Input{Service: service(4, 50, 100,
				deployment(newID, "PRIMARY", tdNew, "IN_PROGRESS"), deployment(oldID, "ACTIVE", tdOld, "COMPLETED")),
				Tasks: []reconcile.Task{running("o1", oldID), running("o2", oldID), running("o3", oldID), running("o4", oldID)}},
			wantStops:  []string{"o1", "o2"},
			wantEvents: []string{"(service web) has stopped 2 running tasks: (task o1) (task o2)."},
		},
		{
			name: "rounding: 3 tasks at 50/150 keep ceil(1.5)=2 healthy and run at most floor(4.5)=4",
			in: reconcile.Input{Service: service(3, 50, 150,
				deployment(newID, "PRIMARY", tdNew, "IN_PROGRESS"), deployment(oldID, "ACTIVE", tdOld, "COMPLETED")),
				Tasks: []reconcile.Task{running("o1", oldID), running("o2", oldID), running("o3", oldID)}},
			wantStarts: map[string]int{newID: 1},
			wantStops:  []string{"o1"},
			wantEvents: []string{"(service web) has stopped 1 running tasks: (task o1)."},
		},
		{
			name: "100/100 cannot roll: nothing to do",
			in: reconcile.Input{Service: service(1, 100, 100,
				deployment(newID, "PRIMARY", tdNew, "IN_PROGRESS"), deployment(oldID, "ACTIVE", tdOld, "COMPLETED")),
				Tasks: []reconcile.Task{running("o1", oldID)}},
		},
		{
			name: "old tasks that are not healthy stop at once",
			in: reconcile.Input{Service: service(1, 100, 200,
				deployment(newID, "PRIMARY", tdNew, "IN_PROGRESS"), deployment(oldID, "ACTIVE", tdOld, "IN_PROGRESS")),
				Tasks: []reconcile.Task{pending("o1", oldID)}},
			wantStarts: map[string]int{newID: 1},
			wantStops:  []string{"o1"},
			wantEvents: []string{"(service web) has stopped 1 running tasks: (task o1)."},
		},
		{
			name: "a task that stopped on its own is replaced from the same deployment",
			in: reconcile.Input{Service: service(2, 100, 200, deployment(newID, "PRIMARY", tdNew, "COMPLETED")),
				Tasks: []reconcile.Task{running("a", newID), stoppedTask("b", newID, "EssentialContainerExited", t0)}},
			wantStarts: map[string]int{newID: 1},
			check: func(t *testing.T, p reconcile.Plan) {
				if got := *p.Starts[0].Deployment.TaskDefinition; got != tdNew {
					t.Errorf("replacement revision %s", got)
				}
			},
		},
		{
			name:       "scale in stops the newest tasks, not the oldest",
			in:         reconcile.Input{Service: service(1, 100, 200, deployment(newID, "PRIMARY", tdNew, "COMPLETED")), Tasks: []reconcile.Task{running("a", newID), withCreated(running("b", newID), t0)}},
			wantStops:  []string{"b"},
			wantEvents: []string{"(service web) has stopped 1 running tasks: (task b)."},
		},
		{
			name: "scale to zero stops everything regardless of minimumHealthyPercent",
			in: reconcile.Input{Service: service(0, 100, 200, deployment(newID, "PRIMARY", tdNew, "COMPLETED")),
				Tasks: []reconcile.Task{running("a", newID), running("b", newID)}},
			wantStops:  []string{"a", "b"},
			wantEvents: []string{"(service web) has stopped 2 running tasks: (task a) (task b)."},
		},
		{
			name: "tasks a user ran in the service's group are left alone",
			in: reconcile.Input{Service: service(1, 100, 200, deployment(newID, "PRIMARY", tdNew, "IN_PROGRESS")),
				Tasks: []reconcile.Task{{ID: "u", DeploymentID: "me", DesiredStatus: "RUNNING", LastStatus: "RUNNING", StartedAt: t0}}},
			wantStarts: map[string]int{newID: 1},
			check: func(t *testing.T, p reconcile.Plan) {
				if p.Service.RunningCount != 0 {
					t.Errorf("running count %d counts the user's task", p.Service.RunningCount)
				}
			},
		},
		{
			name: "container health check failed: stopped, reported, replaced",
			in: reconcile.Input{Service: service(1, 100, 200, deployment(newID, "PRIMARY", tdNew, "COMPLETED")),
				Tasks: []reconcile.Task{withHealth(running("a", newID), "UNHEALTHY")}},
			wantStarts: map[string]int{newID: 1},
			wantStops:  []string{"a"},
			wantEvents: []string{
				"(service web) (task a) failed container health checks.",
				"(service web) has stopped 1 running tasks: (task a).",
			},
			check: func(t *testing.T, p reconcile.Plan) {
				if p.Stops[0].Reason != "Task failed container health checks" {
					t.Errorf("reason %q", p.Stops[0].Reason)
				}
			},
		},
		{
			name: "health-checked task counts once HEALTHY, not before",
			in: reconcile.Input{Service: service(1, 100, 200, deployment(newID, "PRIMARY", tdNew, "IN_PROGRESS")),
				Tasks: []reconcile.Task{withHealth(running("a", newID), "UNKNOWN")}},
			check: func(t *testing.T, p reconcile.Plan) {
				if p.Completed != "" {
					t.Error("completed with a task whose health is UNKNOWN")
				}
			},
		},
		{
			name: "HealthyAfter: a task running for less is not healthy yet; recheck when it will be",
			in: reconcile.Input{Service: service(1, 100, 200, deployment(newID, "PRIMARY", tdNew, "IN_PROGRESS")),
				Tasks: []reconcile.Task{withStarted(running("a", newID), t0.Add(-10*time.Second))}, HealthyAfter: 40 * time.Second},
			check: func(t *testing.T, p reconcile.Plan) {
				if p.Completed != "" || p.RecheckAfter != 30*time.Second {
					t.Errorf("completed %q, recheck %v", p.Completed, p.RecheckAfter)
				}
			},
		},
		{
			name: "DAEMON places nothing: no container instances",
			in: func() reconcile.Input {
				s := service(0, 0, 100, deployment(newID, "PRIMARY", tdNew, "IN_PROGRESS"))
				s.SchedulingStrategy = types.SchedulingStrategyDaemon
				s.DesiredCount = 3
				return reconcile.Input{Service: s}
			}(),
			wantEvents: []string{
				"(service web) (deployment " + newID + ") deployment completed.",
				"(service web) has reached a steady state.",
			},
			check: func(t *testing.T, p reconcile.Plan) {
				if p.Service.DesiredCount != 0 {
					t.Errorf("daemon desired count %d", p.Service.DesiredCount)
				}
			},
		},
		{
			name: "EXTERNAL controller: the scheduler does not deploy",
			in: func() reconcile.Input {
				s := service(2, 100, 200)
				s.DeploymentController.Type = types.DeploymentControllerTypeExternal
				return reconcile.Input{Service: s}
			}(),
		},
		{
			name: "DRAINING stops every task",
			in: func() reconcile.Input {
				s := service(0, 100, 200, deployment(newID, "PRIMARY", tdNew, "COMPLETED"))
				s.Status = ptr("DRAINING")
				return reconcile.Input{Service: s, Tasks: []reconcile.Task{running("a", newID)}}
			}(),
			wantStops:  []string{"a"},
			wantEvents: []string{"(service web) has stopped 1 running tasks: (task a)."},
			check: func(t *testing.T, p reconcile.Plan) {
				if p.Inactive {
					t.Error("INACTIVE while a task runs")
				}
			},
		},
		{
			name: "DRAINING with every task STOPPING or STOPPED: INACTIVE",
			in: func() reconcile.Input {
				s := service(0, 100, 200, deployment(newID, "PRIMARY", tdNew, "COMPLETED"))
				s.Status = ptr("DRAINING")
				a := running("a", newID)
				a.DesiredStatus, a.LastStatus = "STOPPED", "STOPPING"
				return reconcile.Input{Service: s, Tasks: []reconcile.Task{a, stoppedTask("b", newID, "ServiceSchedulerInitiated", t0)}}
			}(),
			check: func(t *testing.T, p reconcile.Plan) {
				if !p.Inactive || *p.Service.Status != "INACTIVE" {
					t.Errorf("inactive %v status %s", p.Inactive, *p.Service.Status)
				}
			},
		},
		{
			name: "DRAINING with a task still DEACTIVATING waits",
			in: func() reconcile.Input {
				s := service(0, 100, 200, deployment(newID, "PRIMARY", tdNew, "COMPLETED"))
				s.Status = ptr("DRAINING")
				a := running("a", newID)
				a.DesiredStatus, a.LastStatus = "STOPPED", "DEACTIVATING"
				return reconcile.Input{Service: s, Tasks: []reconcile.Task{a}}
			}(),
			check: func(t *testing.T, p reconcile.Plan) {
				if p.Inactive {
					t.Error("INACTIVE while a task is DEACTIVATING")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.in.Now.IsZero() {
				tt.in.Now = t0
			}
			before := fmt.Sprintf("%+v", tt.in.Service.Deployments)
			p := reconcile.Compute(tt.in)
			if after := fmt.Sprintf("%+v", tt.in.Service.Deployments); after != before {
				t.Errorf("Compute modified its input")
			}
			if diff := cmp.Diff(tt.wantStarts, starts(p), cmpEmpty); diff != "" {
				t.Errorf("starts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantStops, stops(p), cmpEmpty); diff != "" {
				t.Errorf("stops (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantEvents, p.Events, cmpEmpty); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

// cmpEmpty treats nil and empty maps and slices alike.
var cmpEmpty = cmp.FilterValues(func(x, y any) bool { return isEmpty(x) && isEmpty(y) }, cmp.Comparer(func(_, _ any) bool { return true }))

func isEmpty(v any) bool {
	switch v := v.(type) {
	case map[string]int:
		return len(v) == 0
	case []string:
		return len(v) == 0
	}
	return false
}

func withCreated(t reconcile.Task, at time.Time) reconcile.Task { t.CreatedAt = at; return t }
func withStarted(t reconcile.Task, at time.Time) reconcile.Task { t.StartedAt = at; return t }
func withHealth(t reconcile.Task, h types.HealthStatus) reconcile.Task {
	t.HealthChecked, t.HealthStatus = true, h
	return t
}

func TestCircuitBreaker(t *testing.T) {
	breaker := func(s types.Service, rollback bool) types.Service {
		s.DeploymentConfiguration.DeploymentCircuitBreaker = &types.DeploymentCircuitBreaker{Enable: true, Rollback: rollback}
		return s
	}
	completedOld := deployment(oldID, "ACTIVE", tdOld, "COMPLETED")
	failures := func(n int) []reconcile.Task {
		var ts []reconcile.Task
		for i := range n {
			ts = append(ts, stoppedTask(fmt.Sprintf("f%d", i), newID, "EssentialContainerExited", t0.Add(time.Duration(i+1)*time.Second)))
		}
		return ts
	}

	t.Run("below the threshold the deployment keeps trying", func(t *testing.T) {
		in := reconcile.Input{Now: t0.Add(time.Minute), Service: breaker(service(1, 100, 200,
			deployment(newID, "PRIMARY", tdNew, "IN_PROGRESS"), completedOld), true),
			Tasks: append(failures(2), running("o1", oldID))}
		p := reconcile.Compute(in)
		if p.Failed != "" || p.Service.Deployments[0].FailedTasks != 2 || starts(p)[newID] != 1 {
			t.Fatalf("failed %q, failedTasks %d, starts %v", p.Failed, p.Service.Deployments[0].FailedTasks, starts(p))
		}
	})

	t.Run("threshold reached with rollback: the completed deployment is PRIMARY again", func(t *testing.T) {
		rb := completedOld
		in := reconcile.Input{Now: t0.Add(time.Minute), Service: breaker(service(1, 100, 200,
			deployment(newID, "PRIMARY", tdNew, "IN_PROGRESS"), completedOld), true),
			Tasks: append(failures(3), running("o1", oldID), pending("n9", newID)), Rollback: &rb}
		p := reconcile.Compute(in)
		if p.Failed != newID || p.RolledBackTo != oldID {
			t.Fatalf("failed %q rolled back to %q", p.Failed, p.RolledBackTo)
		}
		want := []string{
			"(service web) (deployment " + newID + ") deployment failed: tasks failed to start.",
			"(service web) rolling back to deployment " + oldID + ".",
			"(service web) has stopped 1 running tasks: (task n9).",
		}
		if diff := cmp.Diff(want, p.Events); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		d := p.Service.Deployments
		if len(d) != 2 || *d[0].Id != oldID || *d[0].Status != "PRIMARY" || d[0].RolloutState != "IN_PROGRESS" ||
			*d[0].RolloutStateReason != "ECS deployment circuit breaker: rolling back to deploymentId "+oldID+"." {
			t.Fatalf("primary after rollback: %+v", d[0])
		}
		if *d[1].Id != newID || *d[1].Status != "ACTIVE" || d[1].RolloutState != "FAILED" ||
			*d[1].RolloutStateReason != "ECS deployment circuit breaker: tasks failed to start." || d[1].FailedTasks != 3 {
			t.Fatalf("failed deployment: %+v", d[1])
		}
		if *p.Service.TaskDefinition != tdOld {
			t.Errorf("service taskDefinition %s after rollback", *p.Service.TaskDefinition)
		}
		if len(p.Starts) != 0 {
			t.Errorf("starts %v: the rolled-back deployment already runs its task", starts(p))
		}
	})

	t.Run("a deployment being rolled back to is not rolled back again", func(t *testing.T) {
		rb := completedOld
		s := breaker(service(1, 100, 200, deployment(oldID, "PRIMARY", tdOld, "IN_PROGRESS")), true)
		var ts []reconcile.Task
		for i := range 3 {
			ts = append(ts, stoppedTask(fmt.Sprintf("f%d", i), oldID, "TaskFailedToStart", t0.Add(time.Second)))
		}
		p := reconcile.Compute(reconcile.Input{Now: t0.Add(time.Minute), Service: s, Tasks: ts, Rollback: &rb})
		if p.Failed != oldID || p.RolledBackTo != "" || len(p.Starts) != 0 {
			t.Fatalf("failed %q rolled back to %q starts %v", p.Failed, p.RolledBackTo, starts(p))
		}
	})

	t.Run("without rollback a FAILED deployment launches nothing", func(t *testing.T) {
		s := breaker(service(1, 100, 200, deployment(newID, "PRIMARY", tdNew, "IN_PROGRESS")), false)
		p := reconcile.Compute(reconcile.Input{Now: t0.Add(time.Minute), Service: s, Tasks: failures(3)})
		if p.Failed != newID || len(p.Starts) != 0 || p.Service.Deployments[0].RolloutState != "FAILED" {
			t.Fatalf("failed %q starts %v state %s", p.Failed, starts(p), p.Service.Deployments[0].RolloutState)
		}
		again := p.Service
		p2 := reconcile.Compute(reconcile.Input{Now: t0.Add(2 * time.Minute), Service: again, Tasks: failures(3)})
		if len(p2.Starts) != 0 || len(p2.Events) != 0 || p2.Failed != "" {
			t.Fatalf("second pass: starts %v events %v", starts(p2), p2.Events)
		}
	})

	t.Run("failures before the last healthy task do not count", func(t *testing.T) {
		s := breaker(service(2, 100, 200, deployment(newID, "PRIMARY", tdNew, "IN_PROGRESS")), false)
		healthyLater := withStarted(running("h", newID), t0.Add(10*time.Second))
		p := reconcile.Compute(reconcile.Input{Now: t0.Add(time.Minute), Service: s, Tasks: append(failures(3), healthyLater)})
		if p.Failed != "" || p.Service.Deployments[0].FailedTasks != 0 {
			t.Fatalf("failed %q failedTasks %d", p.Failed, p.Service.Deployments[0].FailedTasks)
		}
		s.DeploymentConfiguration.DeploymentCircuitBreaker.ResetOnHealthyTask = ptr(false)
		p = reconcile.Compute(reconcile.Input{Now: t0.Add(time.Minute), Service: s, Tasks: append(failures(3), healthyLater)})
		if p.Failed != newID {
			t.Fatalf("resetOnHealthyTask=false: failed %q, failedTasks %d", p.Failed, p.Service.Deployments[0].FailedTasks)
		}
	})

	t.Run("tasks the scheduler stopped are not failures", func(t *testing.T) {
		s := breaker(service(1, 100, 200, deployment(newID, "PRIMARY", tdNew, "IN_PROGRESS")), false)
		var ts []reconcile.Task
		for i := range 5 {
			ts = append(ts, stoppedTask(fmt.Sprintf("s%d", i), newID, "ServiceSchedulerInitiated", t0.Add(time.Second)))
			ts = append(ts, stoppedTask(fmt.Sprintf("u%d", i), newID, "UserInitiated", t0.Add(time.Second)))
		}
		if p := reconcile.Compute(reconcile.Input{Now: t0.Add(time.Minute), Service: s, Tasks: ts}); p.Failed != "" {
			t.Fatal("failed by tasks stopped on purpose")
		}
	})
}

func TestCircuitBreakerThreshold(t *testing.T) {
	tests := []struct {
		desired int
		cb      *types.DeploymentCircuitBreaker
		want    int
	}{
		{1, nil, 3},   // below the minimum
		{25, nil, 13}, // rounded up
		{400, nil, 200},
		{800, nil, 200}, // above the maximum
		{10, &types.DeploymentCircuitBreaker{ThresholdConfiguration: &types.ThresholdConfiguration{Type: "COUNT", Value: 7}}, 7},
		{1, &types.DeploymentCircuitBreaker{ThresholdConfiguration: &types.ThresholdConfiguration{Type: "UNBOUNDED_PERCENT", Value: 50}}, 1},
		{1000, &types.DeploymentCircuitBreaker{ThresholdConfiguration: &types.ThresholdConfiguration{Type: "UNBOUNDED_PERCENT", Value: 50}}, 500},
		{10, &types.DeploymentCircuitBreaker{ThresholdConfiguration: &types.ThresholdConfiguration{Type: "BOUNDED_PERCENT", Value: 100}}, 10},
	}
	for _, tt := range tests {
		if got := ecs.CircuitBreakerThreshold(tt.desired, tt.cb); got != tt.want {
			t.Errorf("CircuitBreakerThreshold(%d, %+v) = %d, want %d", tt.desired, tt.cb, got, tt.want)
		}
	}
}

// cluster simulates a service and its tasks over many scheduler passes.
type cluster struct {
	svc   types.Service
	tasks []reconcile.Task
	now   time.Time
	seq   int
	// instant makes started tasks RUNNING and stopped tasks STOPPED at
	// once; otherwise progress moves them at random.
	instant bool
}

func (c *cluster) pass(t *testing.T) reconcile.Plan {
	t.Helper()
	p := reconcile.Compute(reconcile.Input{Service: c.svc, Tasks: c.tasks, Now: c.now})
	c.svc = p.Service
	c.svc.Events = ecs.PrependServiceEvents(c.svc.Events, c.now, p.Events...)
	for _, s := range p.Stops {
		i := slices.IndexFunc(c.tasks, func(x reconcile.Task) bool { return x.ID == s.TaskID })
		c.tasks[i].DesiredStatus = "STOPPED"
		c.tasks[i].StopCode = types.TaskStopCodeServiceSchedulerInitiated
		if c.instant {
			c.tasks[i].LastStatus, c.tasks[i].StoppedAt = "STOPPED", c.now
		}
	}
	for _, s := range p.Starts {
		for range s.Count {
			c.seq++
			task := reconcile.Task{ID: fmt.Sprintf("t%04d", c.seq), DeploymentID: *s.Deployment.Id,
				DesiredStatus: "RUNNING", LastStatus: "PROVISIONING", CreatedAt: c.now}
			if c.instant {
				task.LastStatus, task.StartedAt = "RUNNING", c.now
			}
			c.tasks = append(c.tasks, task)
		}
	}
	c.now = c.now.Add(time.Second)
	return p
}

// progress moves each task one lifecycle step forward with probability
// 1/2; tasks never fail.
func (c *cluster) progress(rng *rand.Rand) {
	for i := range c.tasks {
		t := &c.tasks[i]
		if rng.IntN(2) == 0 || t.LastStatus == "STOPPED" {
			continue
		}
		switch {
		case t.DesiredStatus == "STOPPED":
			t.LastStatus, t.StoppedAt = "STOPPED", c.now
		case t.LastStatus == "PROVISIONING":
			t.LastStatus = "PENDING"
		case t.LastStatus == "PENDING":
			t.LastStatus, t.StartedAt = "RUNNING", c.now
		}
	}
}

func (c *cluster) aliveCount() (alive, healthy int) {
	for _, t := range c.tasks {
		if t.LastStatus != "STOPPED" {
			alive++
			if t.LastStatus == "RUNNING" && t.DesiredStatus == "RUNNING" {
				healthy++
			}
		}
	}
	return alive, healthy
}

// rollout is a random rolling update: an old COMPLETED deployment running
// its desired count, and a new PRIMARY deployment.
type rollout struct {
	desired, minPct, maxPct int
}

func randomRollout(rng *rand.Rand) rollout {
	r := rollout{desired: rng.IntN(12), minPct: rng.IntN(101), maxPct: 100 + rng.IntN(151)}
	return r
}

func (r rollout) cluster(instant bool) *cluster {
	c := &cluster{now: t0, instant: instant,
		svc: service(r.desired, r.minPct, r.maxPct,
			deployment(newID, "PRIMARY", tdNew, "IN_PROGRESS"), deployment(oldID, "ACTIVE", tdOld, "COMPLETED"))}
	for i := range r.desired {
		c.tasks = append(c.tasks, running(fmt.Sprintf("old%02d", i), oldID))
	}
	return c
}

// canProgress reports whether the rules leave room to replace a task:
// either one more task may run, or one fewer may be healthy. With neither,
// ECS cannot deploy (for example 1 task at 100/100 or 100/150).
func (r rollout) canProgress() bool {
	return r.desired == 0 || ecs.MinimumHealthyTasks(r.desired, r.minPct) < r.desired || ecs.MaximumTasks(r.desired, r.maxPct) > r.desired
}

func TestPropertyNeverAboveMaximumPercent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		r := randomRollout(rng)
		c := r.cluster(false)
		limit := max(ecs.MaximumTasks(r.desired, r.maxPct), r.desired)
		for step := range 60 {
			c.pass(t)
			if alive, _ := c.aliveCount(); alive > limit {
				t.Fatalf("%+v step %d: %d tasks RUNNING or starting, maximumPercent allows %d", r, step, alive, limit)
			}
			c.progress(rng)
		}
	}
}

func TestPropertyHealthyNeverBelowMinimumHealthyPercent(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		r := randomRollout(rng)
		c := r.cluster(false)
		floor := ecs.MinimumHealthyTasks(r.desired, r.minPct)
		for step := range 60 {
			c.pass(t)
			// Tasks asked to stop no longer count as healthy.
			if _, healthy := c.aliveCount(); healthy < floor {
				t.Fatalf("%+v step %d: %d healthy tasks, minimumHealthyPercent wants %d", r, step, healthy, floor)
			}
			c.progress(rng)
		}
	}
}

func TestPropertyConvergesToOneCompletedPrimary(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tried := 0
	for tried < 300 {
		r := randomRollout(rng)
		if !r.canProgress() {
			continue
		}
		tried++
		c := r.cluster(true)
		for range 4*r.desired + 4 {
			c.pass(t)
		}
		kept := 0
		for _, task := range c.tasks {
			if task.LastStatus != "STOPPED" {
				if task.DeploymentID != newID {
					t.Fatalf("%+v: task %s of %s still runs", r, task.ID, task.DeploymentID)
				}
				kept++
			}
		}
		d := c.svc.Deployments
		if kept != r.desired || len(d) != 1 || *d[0].Id != newID || *d[0].Status != "PRIMARY" || d[0].RolloutState != "COMPLETED" {
			t.Fatalf("%+v: kept %d, deployments %+v", r, kept, d)
		}
		if c.svc.RunningCount != int32(r.desired) || d[0].RunningCount != int32(r.desired) || d[0].DesiredCount != int32(r.desired) {
			t.Fatalf("%+v: counts service %d deployment %d/%d", r, c.svc.RunningCount, d[0].RunningCount, d[0].DesiredCount)
		}
		if msg := *c.svc.Events[0].Message; msg != "(service web) has reached a steady state." {
			t.Fatalf("%+v: latest event %q", r, msg)
		}
		// A settled service stays quiet.
		if p := c.pass(t); !p.Empty() {
			t.Fatalf("%+v: settled service planned %+v", r, p)
		}
	}
}

func TestPropertyStuckRolloutStaysStuck(t *testing.T) {
	// The complement of canProgress: ECS cannot replace a task, and the
	// scheduler must not break either limit to try.
	for _, r := range []rollout{{1, 100, 100}, {1, 100, 150}, {3, 100, 130}} {
		c := r.cluster(true)
		for range 10 {
			c.pass(t)
		}
		if alive, _ := c.aliveCount(); alive != r.desired || c.svc.Deployments[0].RolloutState != "IN_PROGRESS" {
			t.Errorf("%+v: alive %d state %s", r, alive, c.svc.Deployments[0].RolloutState)
		}
	}
}

func TestEventsAreCappedAt100(t *testing.T) {
	var events []types.ServiceEvent
	for i := range 150 {
		events = ecs.PrependServiceEvents(events, t0, fmt.Sprintf("m%d", i))
	}
	if len(events) != 100 || *events[0].Message != "m149" || *events[99].Message != "m50" {
		t.Fatalf("len %d first %s last %s", len(events), *events[0].Message, *events[99].Message)
	}
	events = ecs.PrependServiceEvents(nil, t0, "first", "second")
	if got := []string{*events[0].Message, *events[1].Message}; !slices.Equal(got, []string{"second", "first"}) {
		t.Fatalf("order %v, want newest first", got)
	}
	if !strings.HasPrefix(ecs.EventTasksStarted("web", []string{"a", "b"}), "(service web) has started 2 tasks: (task a) (task b).") {
		t.Fatal(ecs.EventTasksStarted("web", []string{"a", "b"}))
	}
}

func TestTaskSets(t *testing.T) {
	const blue, green = "ecs-svc/3333333333333333333", "ecs-svc/4444444444444444444"
	ext := func(desired int, sets ...types.TaskSet) types.Service {
		s := service(desired, 100, 200)
		s.DeploymentController.Type = types.DeploymentControllerTypeExternal
		s.TaskSets = sets
		return s
	}
	set := func(id, status string, pct float64) types.TaskSet {
		return types.TaskSet{Id: ptr(id), Status: ptr(status), TaskDefinition: ptr(tdNew), Scale: &types.Scale{Value: pct, Unit: "PERCENT"}}
	}

	p := reconcile.Compute(reconcile.Input{Now: t0, Service: ext(3, set(blue, "PRIMARY", 100), set(green, "ACTIVE", 50))})
	if got := starts(p); got[blue] != 3 || got[green] != 2 {
		t.Fatalf("starts %v, want blue 3 and green 2 (1.5 rounds up)", got)
	}
	if ts := p.Service.TaskSets[1]; ts.ComputedDesiredCount != 2 || ts.PendingCount != 2 || ts.StabilityStatus != "STABILIZING" {
		t.Fatalf("green %+v", ts)
	}

	p = reconcile.Compute(reconcile.Input{Now: t0, Service: ext(1, set(blue, "PRIMARY", 100)), Tasks: []reconcile.Task{running("b1", blue)}})
	if len(p.Starts) != 0 || len(p.Stops) != 0 || p.Service.TaskSets[0].StabilityStatus != "STEADY_STATE" || p.Service.RunningCount != 1 {
		t.Fatalf("steady task set: %+v", p.Service.TaskSets[0])
	}

	drained := set(green, "DRAINING", 50)
	p = reconcile.Compute(reconcile.Input{Now: t0, Service: ext(2, set(blue, "PRIMARY", 100), drained),
		Tasks: []reconcile.Task{running("b1", blue), running("b2", blue), running("g1", green)}})
	if diff := cmp.Diff([]string{"g1"}, stops(p)); diff != "" || len(p.Service.TaskSets) != 2 {
		t.Fatalf("draining: stops %v, %d task sets", stops(p), len(p.Service.TaskSets))
	}
	gone := running("g1", green)
	gone.LastStatus, gone.DesiredStatus = "STOPPED", "STOPPED"
	p = reconcile.Compute(reconcile.Input{Now: t0, Service: ext(2, set(blue, "PRIMARY", 100), drained),
		Tasks: []reconcile.Task{running("b1", blue), running("b2", blue), gone}})
	if len(p.Service.TaskSets) != 1 || *p.Service.TaskSets[0].Id != blue {
		t.Fatalf("drained task set still there: %+v", p.Service.TaskSets)
	}
	// Scaling a task set down stops its newest tasks.
	p = reconcile.Compute(reconcile.Input{Now: t0, Service: ext(2, set(blue, "PRIMARY", 50)),
		Tasks: []reconcile.Task{running("b1", blue), withCreated(running("b2", blue), t0)}})
	if diff := cmp.Diff([]string{"b2"}, stops(p)); diff != "" {
		t.Fatalf("scale down stops %v", stops(p))
	}
}
