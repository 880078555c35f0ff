package reconcile

import (
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
)

// Backoff is the service throttle logic of the developer guide
// (service-throttle-logic): when a service's tasks repeatedly fail to
// enter RUNNING (PENDING straight to STOPPED), "the time between
// subsequent restart attempts is incrementally increased up to a maximum
// of 27 minutes". ECS does not document the increments; ecsd doubles the
// wait from Base after each further failure, so a service that can never
// start a task is retried about twelve times in its first hour.
type Backoff struct {
	// Base is the wait after the second consecutive failure (a single
	// failure is retried at once: the guide throttles tasks that
	// "repeatedly" fail).
	Base time.Duration
	// Max is the longest wait between launch attempts.
	Max time.Duration
}

// DefaultBackoff is ECS's documented maximum with ecsd's increments.
var DefaultBackoff = Backoff{Base: 10 * time.Second, Max: 27 * time.Minute}

func (b Backoff) orDefault() Backoff {
	if b.Base <= 0 {
		b.Base = DefaultBackoff.Base
	}
	if b.Max <= 0 {
		b.Max = DefaultBackoff.Max
	}
	return b
}

// Delay is the wait after failures consecutive tasks failed to start: 0
// for none or one, then Base, 2×Base, 4×Base, ... up to Max.
func (b Backoff) Delay(failures int) time.Duration {
	b = b.orDefault()
	if failures < 2 {
		return 0
	}
	d := b.Base
	for range failures - 2 {
		if d >= b.Max {
			break
		}
		d *= 2
	}
	return min(d, b.Max)
}

// failedToStart reports whether a stopped task counts for the throttle:
// it never reached RUNNING, and nobody asked it to stop (a task the
// scheduler or a user stops while it is still PENDING did not fail).
func failedToStart(t Task) bool {
	if t.LastStatus != ecs.TaskStopped || !t.StartedAt.IsZero() {
		return false
	}
	switch t.StopCode {
	case types.TaskStopCodeUserInitiated, types.TaskStopCodeServiceSchedulerInitiated,
		types.TaskStopCodeSpotInterruption, types.TaskStopCodeTerminationNotice:
		return false
	}
	return true
}

// StartFailures counts the tasks of deployment that failed to start one
// after another, newest first, up to the last one that reached RUNNING;
// only tasks that stopped since since (the deployment's rollout began)
// count, so a new deployment, or a rollback to an old one, starts
// unthrottled. It also returns when the newest of them stopped.
func StartFailures(tasks []Task, deployment string, since time.Time) (n int, last time.Time) {
	var mine []Task
	for _, t := range tasks {
		if t.DeploymentID == deployment && t.LastStatus == ecs.TaskStopped && !t.StoppedAt.Before(since) {
			mine = append(mine, t)
		}
	}
	slices.SortStableFunc(mine, func(a, b Task) int { return b.StoppedAt.Compare(a.StoppedAt) })
	for _, t := range mine {
		if !t.StartedAt.IsZero() {
			break // it ran: the streak ends here
		}
		if !failedToStart(t) {
			continue
		}
		if n == 0 {
			last = t.StoppedAt
		}
		n++
	}
	return n, last
}

// Throttled reports how long the scheduler must still wait before it
// launches the deployment's next task; 0 when it may launch now.
func (b Backoff) Throttled(tasks []Task, deployment string, since, now time.Time) (wait time.Duration, failures int) {
	n, last := StartFailures(tasks, deployment, since)
	d := b.Delay(n)
	if d <= 0 {
		return 0, n
	}
	if wait = last.Add(d).Sub(now); wait < 0 {
		wait = 0
	}
	return wait, n
}
