package reconcile_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/reconcile"
)

func TestBackoffDelay(t *testing.T) {
	b := reconcile.DefaultBackoff
	for _, tc := range []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {1, 0}, {2, 10 * time.Second}, {3, 20 * time.Second}, {4, 40 * time.Second},
		{9, 1280 * time.Second}, {10, 27 * time.Minute}, {11, 27 * time.Minute}, {1000, 27 * time.Minute},
	} {
		if got := b.Delay(tc.failures); got != tc.want {
			t.Errorf("Delay(%d) = %s, want %s", tc.failures, got, tc.want)
		}
	}
	// The wait never decreases and never exceeds ECS's documented maximum.
	prev := time.Duration(0)
	for n := range 200 {
		d := b.Delay(n)
		if d < prev || d > 27*time.Minute {
			t.Fatalf("Delay(%d) = %s after %s", n, d, prev)
		}
		prev = d
	}
}

// neverRan is a task of dep that went from PENDING to STOPPED at at.
func neverRan(id, dep string, code types.TaskStopCode, at time.Time) reconcile.Task {
	return reconcile.Task{ID: id, DeploymentID: dep, DesiredStatus: "STOPPED", LastStatus: "STOPPED",
		CreatedAt: at.Add(-time.Second), StoppedAt: at, StopCode: code,
		StoppedReason: "CannotPullContainerError: pull access denied"}
}

func TestStartFailures(t *testing.T) {
	fail := types.TaskStopCodeTaskFailedToStart
	for _, tc := range []struct {
		name  string
		tasks []reconcile.Task
		since time.Time
		want  int
		last  time.Time
	}{
		{"none", nil, t0.Add(-time.Hour), 0, time.Time{}},
		{"three in a row", []reconcile.Task{
			neverRan("a", newID, fail, t0.Add(-3*time.Second)),
			neverRan("b", newID, fail, t0.Add(-2*time.Second)),
			neverRan("c", newID, fail, t0.Add(-time.Second)),
		}, t0.Add(-time.Hour), 3, t0.Add(-time.Second)},
		{"a task that ran ends the streak", []reconcile.Task{
			neverRan("a", newID, fail, t0.Add(-5*time.Second)),
			stoppedTask("r", newID, types.TaskStopCodeEssentialContainerExited, t0.Add(-4*time.Second)),
			neverRan("b", newID, fail, t0.Add(-2*time.Second)),
		}, t0.Add(-time.Hour), 1, t0.Add(-2 * time.Second)},
		{"stopped by the scheduler or a user: no failure", []reconcile.Task{
			neverRan("a", newID, fail, t0.Add(-5*time.Second)),
			neverRan("s", newID, types.TaskStopCodeServiceSchedulerInitiated, t0.Add(-4*time.Second)),
			neverRan("u", newID, types.TaskStopCodeUserInitiated, t0.Add(-3*time.Second)),
		}, t0.Add(-time.Hour), 1, t0.Add(-5 * time.Second)},
		{"other deployments do not count", []reconcile.Task{
			neverRan("a", oldID, fail, t0.Add(-5*time.Second)),
			neverRan("b", oldID, fail, t0.Add(-4*time.Second)),
		}, t0.Add(-time.Hour), 0, time.Time{}},
		{"failures before the rollout began do not count", []reconcile.Task{
			neverRan("a", newID, fail, t0.Add(-5*time.Second)),
			neverRan("b", newID, fail, t0.Add(-4*time.Second)),
		}, t0.Add(-4500 * time.Millisecond), 1, t0.Add(-4 * time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, last := reconcile.StartFailures(tc.tasks, newID, tc.since)
			if n != tc.want || !last.Equal(tc.last) {
				t.Errorf("StartFailures = %d, %s; want %d, %s", n, last, tc.want, tc.last)
			}
		})
	}
}

// TestComputeThrottlesLaunches: a deployment whose tasks keep failing to
// start launches again only once the back-off has passed, posting the
// event ECS posts, and a new deployment launches at once.
func TestComputeThrottlesLaunches(t *testing.T) {
	fail := types.TaskStopCodeTaskFailedToStart
	tasks := []reconcile.Task{
		neverRan("a", newID, fail, t0.Add(-3*time.Second)),
		neverRan("b", newID, fail, t0.Add(-2*time.Second)),
		neverRan("c", newID, fail, t0.Add(-time.Second)), // 3 failures: wait 20s from t0-1s
	}
	d := deployment(newID, "PRIMARY", tdNew, types.DeploymentRolloutStateInProgress)
	d.CreatedAt = ptr(t0.Add(-time.Minute))
	svc := service(1, 100, 200, d)
	event := ecs.EventUnableToStart("web")

	p := reconcile.Compute(reconcile.Input{Service: svc, Tasks: tasks, Now: t0})
	if len(p.Starts) != 0 || p.ThrottledFor != 19*time.Second || p.RecheckAfter != 19*time.Second {
		t.Fatalf("throttled pass: starts %v, throttledFor %s, recheck %s; want none, 19s, 19s", starts(p), p.ThrottledFor, p.RecheckAfter)
	}
	if len(p.Events) != 1 || p.Events[0] != event {
		t.Fatalf("events = %q, want [%q]", p.Events, event)
	}

	// The event is not repeated while it is the latest one.
	svc.Events = []types.ServiceEvent{{Message: ptr(event)}}
	if p := reconcile.Compute(reconcile.Input{Service: svc, Tasks: tasks, Now: t0.Add(time.Second)}); len(p.Events) != 0 || len(p.Starts) != 0 {
		t.Fatalf("second throttled pass: events %q starts %v, want none", p.Events, starts(p))
	}

	// Once the wait is over, one launch goes.
	if p := reconcile.Compute(reconcile.Input{Service: svc, Tasks: tasks, Now: t0.Add(19 * time.Second)}); starts(p)[newID] != 1 || p.ThrottledFor != 0 {
		t.Fatalf("after the wait: starts %v throttledFor %s, want 1 launch", starts(p), p.ThrottledFor)
	}

	// A new deployment (a new task definition) is not throttled.
	nd := deployment("ecs-svc/3333333333333333333", "PRIMARY", tdNew, types.DeploymentRolloutStateInProgress)
	nd.CreatedAt = ptr(t0)
	old := d
	old.Status = ptr("ACTIVE")
	if p := reconcile.Compute(reconcile.Input{Service: service(1, 100, 200, nd, old), Tasks: tasks, Now: t0}); starts(p)["ecs-svc/3333333333333333333"] != 1 {
		t.Fatalf("new deployment: starts %v, want 1 launch at once", starts(p))
	}

	// A short knob (tests) scales the same rule.
	fast := reconcile.Backoff{Base: 100 * time.Millisecond, Max: time.Second}
	if p := reconcile.Compute(reconcile.Input{Service: svc, Tasks: tasks, Now: t0.Add(-900 * time.Millisecond), Throttle: fast}); len(p.Starts) != 0 || p.ThrottledFor != 100*time.Millisecond {
		t.Fatalf("fast knob 100ms after the last failure: starts %v throttledFor %s, want none and 100ms", starts(p), p.ThrottledFor)
	}
	if p := reconcile.Compute(reconcile.Input{Service: svc, Tasks: tasks, Now: t0, Throttle: fast}); starts(p)[newID] != 1 {
		t.Fatalf("fast knob once 200ms passed: starts %v, want 1 launch", starts(p))
	}
}
