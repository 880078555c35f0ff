package reconcile_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/reconcile"
)

func draining(t reconcile.Task) reconcile.Task { t.Draining = true; return t }

func protectedFor(t reconcile.Task, d time.Duration) reconcile.Task {
	t.ProtectedUntil = t0.Add(d)
	return t
}

func ranked(t reconcile.Task, r int) reconcile.Task { t.ScaleInRank = r; return t }

// Tasks on a DRAINING instance are replaced within minimumHealthyPercent
// and maximumPercent, the developer guide's worked example: desiredCount 4
// and a minimum of 50% lets the scheduler stop two before starting two; a
// maximum of 200% lets it start four before stopping any.
func TestComputeDrainingInstance(t *testing.T) {
	primary := deployment(newID, "PRIMARY", tdNew, types.DeploymentRolloutStateCompleted)
	four := func(wrap func(reconcile.Task) reconcile.Task) []reconcile.Task {
		return []reconcile.Task{wrap(running("a", newID)), wrap(running("b", newID)), wrap(running("c", newID)), wrap(running("d", newID))}
	}
	for _, tc := range []struct {
		name          string
		minPct        int
		maxPct        int
		tasks         []reconcile.Task
		wantStarts    int
		wantStopCount int
		wantStops     []string
	}{
		{name: "min 50 max 100: stop two first", minPct: 50, maxPct: 100, tasks: four(draining), wantStarts: 0, wantStopCount: 2},
		{name: "min 100 max 200: start four first", minPct: 100, maxPct: 200, tasks: four(draining), wantStarts: 4, wantStopCount: 0},
		{name: "only the draining instance's tasks move", minPct: 50, maxPct: 200,
			tasks:      []reconcile.Task{draining(running("a", newID)), running("b", newID), running("c", newID), running("d", newID)},
			wantStarts: 1, wantStopCount: 1, wantStops: []string{"a"}},
		{name: "a pending task on a draining instance stops at once", minPct: 100, maxPct: 100,
			tasks:      []reconcile.Task{draining(pending("a", newID)), running("b", newID), running("c", newID), running("d", newID)},
			wantStarts: 0, wantStopCount: 1, wantStops: []string{"a"}},
		{name: "protection does not hold a draining task", minPct: 50, maxPct: 200,
			tasks:      []reconcile.Task{protectedFor(draining(running("a", newID)), time.Hour), running("b", newID), running("c", newID), running("d", newID)},
			wantStarts: 1, wantStopCount: 1, wantStops: []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := reconcile.Compute(reconcile.Input{Service: service(4, tc.minPct, tc.maxPct, primary), Tasks: tc.tasks, Now: t0})
			if got := starts(p)[newID]; got != tc.wantStarts {
				t.Errorf("starts %d, want %d", got, tc.wantStarts)
			}
			if got := stops(p); len(got) != tc.wantStopCount || tc.wantStops != nil && !slices.Equal(got, tc.wantStops) {
				t.Errorf("stops %v, want %d (%v)", got, tc.wantStopCount, tc.wantStops)
			}
		})
	}
}

// Scale-in protection: a protected task is never chosen for scale-in nor
// stopped by a deployment until its protection expires.
func TestComputeTaskProtection(t *testing.T) {
	primary := deployment(newID, "PRIMARY", tdNew, types.DeploymentRolloutStateCompleted)
	tasks := []reconcile.Task{protectedFor(withCreated(running("new", newID), t0.Add(-time.Minute)), time.Hour), running("old", newID)}
	p := reconcile.Compute(reconcile.Input{Service: service(1, 100, 200, primary), Tasks: tasks, Now: t0})
	if got := stops(p); !slices.Equal(got, []string{"old"}) {
		t.Errorf("scale-in to 1 stopped %v, want the unprotected task", got)
	}
	p = reconcile.Compute(reconcile.Input{Service: service(0, 100, 200, primary), Tasks: tasks, Now: t0})
	if got := stops(p); !slices.Equal(got, []string{"old"}) {
		t.Errorf("scale-in to 0 stopped %v, want only the unprotected task", got)
	}
	// Expired protection protects nothing.
	p = reconcile.Compute(reconcile.Input{Service: service(0, 100, 200, primary), Tasks: tasks, Now: t0.Add(2 * time.Hour)})
	if got := stops(p); len(got) != 2 {
		t.Errorf("scale-in after expiry stopped %v, want both", got)
	}

	// A deployment replaces the unprotected old task and waits for the
	// protected one.
	rolling := []types.Deployment{
		deployment(newID, "PRIMARY", tdNew, types.DeploymentRolloutStateInProgress),
		deployment(oldID, "ACTIVE", tdOld, types.DeploymentRolloutStateCompleted),
	}
	old := []reconcile.Task{protectedFor(running("p", oldID), time.Hour), running("u", oldID), running("n1", newID), running("n2", newID)}
	p = reconcile.Compute(reconcile.Input{Service: service(2, 50, 200, rolling...), Tasks: old, Now: t0})
	if got := stops(p); !slices.Equal(got, []string{"u"}) {
		t.Errorf("deployment stopped %v, want the unprotected old task only", got)
	}
	if p.Completed != "" {
		t.Errorf("deployment completed with a protected old task running")
	}
}

// Scale-in stops the tasks the placement strategy ranks first.
func TestComputeScaleInRank(t *testing.T) {
	primary := deployment(newID, "PRIMARY", tdNew, types.DeploymentRolloutStateCompleted)
	tasks := []reconcile.Task{ranked(running("a", newID), 3), ranked(running("b", newID), 1), ranked(running("c", newID), 2), running("d", newID)}
	p := reconcile.Compute(reconcile.Input{Service: service(2, 100, 200, primary), Tasks: tasks, Now: t0})
	if got := stops(p); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("scale-in stopped %v, want the two ranked first (b, c)", got)
	}
}

// Property: with any mix of tasks on DRAINING instances and protected
// tasks, one pass never runs more than maximumPercent of the desired count
// (alive plus started), never takes the healthy count below
// minimumHealthyPercent by its stops, and never stops a protected task
// that is not on a DRAINING instance.
func TestPropertyDrainingAndProtectionWithinLimits(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 42))
	primary := deployment(newID, "PRIMARY", tdNew, types.DeploymentRolloutStateCompleted)
	for range 2000 {
		desired := rng.IntN(8)
		minPct := []int{0, 50, 100}[rng.IntN(3)]
		maxPct := []int{100, 150, 200}[rng.IntN(3)]
		var tasks []reconcile.Task
		for i := range rng.IntN(12) {
			task := running(fmt.Sprintf("t%02d", i), newID)
			if rng.IntN(4) == 0 {
				task = pending(task.ID, newID)
			}
			task.Draining = rng.IntN(3) == 0
			if rng.IntN(3) == 0 {
				task.ProtectedUntil = t0.Add(time.Hour)
			}
			task.ScaleInRank = rng.IntN(5)
			tasks = append(tasks, task)
		}
		p := reconcile.Compute(reconcile.Input{Service: service(desired, minPct, maxPct, primary), Tasks: tasks, Now: t0})
		alive, healthy := len(tasks), 0
		stopped := map[string]bool{}
		for _, id := range stops(p) {
			stopped[id] = true
		}
		for _, task := range tasks {
			if task.LastStatus == "RUNNING" {
				healthy++
				if stopped[task.ID] {
					healthy--
				}
			}
			if stopped[task.ID] && !task.Draining && task.ProtectedUntil.After(t0) {
				t.Fatalf("stopped protected task %s (desired %d, %d/%d): %+v", task.ID, desired, minPct, maxPct, tasks)
			}
		}
		maxTotal := max((desired*maxPct)/100, desired)
		if n := starts(p)[newID]; n > 0 && alive+n > maxTotal {
			t.Fatalf("alive %d + started %d > max %d (desired %d, max %d%%)", alive, n, maxTotal, desired, maxPct)
		}
		before := 0
		for _, task := range tasks {
			if task.LastStatus == "RUNNING" {
				before++
			}
		}
		floor := (desired*minPct + 99) / 100
		if healthy < floor && healthy < before {
			t.Fatalf("stops took healthy from %d to %d, below the floor %d (desired %d, min %d%%)", before, healthy, floor, desired, minPct)
		}
	}
}

// A DAEMON service stops exactly the tasks the daemon plan names (their
// instance no longer wants them), with the plan's reason and even below
// minimumHealthyPercent; its lower desired count never makes scale-in pick
// another task.
func TestComputeDaemonStopsNamedTasks(t *testing.T) {
	primary := deployment(newID, "PRIMARY", tdNew, types.DeploymentRolloutStateCompleted)
	for _, tc := range []struct {
		name      string
		stops     []reconcile.Stop
		wantStops []string
	}{
		{name: "the task on the instance that left", stops: []reconcile.Stop{{TaskID: "c", Reason: "why"}}, wantStops: []string{"c"}},
		{name: "no plan stops: no scale-in", wantStops: nil},
		{name: "a task the service no longer has", stops: []reconcile.Stop{{TaskID: "gone", Reason: "why"}}, wantStops: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := service(0, 100, 100, primary)
			s.SchedulingStrategy = types.SchedulingStrategyDaemon
			tasks := []reconcile.Task{running("a", newID), running("b", newID), running("c", newID)}
			p := reconcile.Compute(reconcile.Input{Service: s, Tasks: tasks, Now: t0, DaemonInstances: 2, DaemonStops: tc.stops})
			if got := stops(p); !slices.Equal(got, tc.wantStops) {
				t.Fatalf("stopped %v, want %v", got, tc.wantStops)
			}
			for _, st := range p.Stops {
				if st.Reason != "why" {
					t.Errorf("reason %q, want the plan's", st.Reason)
				}
			}
			if len(p.Starts) != 0 {
				t.Errorf("started %v", p.Starts)
			}
		})
	}
}
