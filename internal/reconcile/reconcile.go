// Package reconcile plans what the service scheduler does next: a pure
// function from a service's desired state (its deployments and
// configuration), the observed state of its tasks and the time, to a plan
// (tasks to start per deployment, tasks to stop, the service's new
// deployments, counts and status, and the events to record).
//
// It owns ECS's rolling-update rules (minimumHealthyPercent,
// maximumPercent), deployment completion, the deployment circuit breaker
// and its rollback, and steady-state detection. It must import only the
// domain (ecs), the SDK's model types and the standard library: no store,
// no clock, no randomness, so the same input always gives the same plan.
package reconcile

import (
	"cmp"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
)

// Task is what the scheduler needs to know of one task of the service.
type Task struct {
	ID string
	// DeploymentID is the task's startedBy: the deployment that started it.
	DeploymentID  string
	DesiredStatus string
	LastStatus    string
	// HealthChecked is true when an essential container defines a health
	// check; such a task is healthy only once ECS reports it HEALTHY.
	HealthChecked bool
	HealthStatus  types.HealthStatus
	CreatedAt     time.Time
	StartedAt     time.Time // zero until the task first ran
	StoppedAt     time.Time // zero until STOPPED
	StopCode      types.TaskStopCode
	StoppedReason string
	// Draining is set when the task runs on a DRAINING container
	// instance: the scheduler replaces it elsewhere within
	// minimumHealthyPercent and maximumPercent, as it replaces the tasks of
	// an older deployment (developer guide, "Draining Amazon ECS container
	// instances").
	Draining bool
	// ProtectedUntil is when the task's scale-in protection expires
	// (UpdateTaskProtection); until then neither scale-in nor a deployment
	// stops it.
	ProtectedUntil time.Time
	// ScaleInRank orders the tasks a scale-in stops: lower first, as the
	// placement strategy chooses them (placement.SelectTasksToStop). Tasks
	// without a rank (0) come after ranked ones, newest first.
	ScaleInRank int
}

// Input is everything a plan is made from.
type Input struct {
	Service types.Service
	// Tasks are the service's tasks, including recently STOPPED ones (the
	// circuit breaker counts them).
	Tasks []Task
	// Rollback is the last deployment that completed (the circuit
	// breaker's rollback target), or nil when there is none.
	Rollback *types.Deployment
	Now      time.Time
	// HealthyAfter is how long a RUNNING task without container health
	// checks must have run before it counts as healthy. ECS waits 40
	// seconds.
	HealthyAfter time.Duration
	// DaemonInstances is, for a DAEMON service, how many ACTIVE container
	// instances meet its placement constraints: its desired count, one
	// task on each (daemon.Compute counts them).
	DaemonInstances int
	// DaemonStops are, for a DAEMON service, the tasks its instances no
	// longer want (daemon.Compute: an instance that stopped meeting the
	// placement constraints, one that is gone, a second task on one
	// instance), with their reasons. They stop whatever the deployment
	// configuration ("will stop tasks that do not meet the placement
	// constraints"), and they are the only tasks a DAEMON service scales in:
	// which task goes is a matter of instance, never of rank or age.
	DaemonStops []Stop
	// Throttle is the back-off between launches of a deployment whose
	// tasks keep failing to start; zero is DefaultBackoff.
	Throttle Backoff
}

// Start asks for Count new tasks of a deployment.
type Start struct {
	Deployment types.Deployment
	Count      int
}

// Stop asks the scheduler to stop one task.
type Stop struct {
	TaskID string
	Reason string
}

// Plan is what the scheduler does in one pass.
type Plan struct {
	// Service is the service with its new deployments, counts, status and
	// task definition. Its events are not touched: Events lists what
	// happened, and the caller adds them together with the event of the
	// tasks it starts (which only it can name).
	Service types.Service
	Starts  []Start
	Stops   []Stop
	// Events are the messages of this pass, oldest first.
	Events []string
	// Completed is the id of a deployment that completed in this pass.
	Completed string
	// Failed is the id of a deployment the circuit breaker failed in this
	// pass, after FailureCount failed tasks; RolledBackTo the id of the
	// deployment it rolled back to.
	Failed, RolledBackTo string
	FailureCount         int
	// Inactive is set when a DRAINING service has no task left that is not
	// stopping: it is now INACTIVE.
	Inactive bool
	// RecheckAfter, when positive, is when a task becomes healthy by time
	// alone, or the throttle lets the next launch go; nothing else would
	// wake the scheduler for it.
	RecheckAfter time.Duration
	// ThrottledFor, when positive, is how long the service throttle logic
	// still holds back the PRIMARY deployment's launches.
	ThrottledFor time.Duration
}

// Empty reports whether the plan starts and stops nothing and records no
// event. The service may still differ (counts).
func (p *Plan) Empty() bool {
	return len(p.Starts) == 0 && len(p.Stops) == 0 && len(p.Events) == 0 && !p.Inactive
}

// StartCount is the number of tasks the plan starts.
func (p *Plan) StartCount() int {
	n := 0
	for _, s := range p.Starts {
		n += s.Count
	}
	return n
}

// planner carries one pass.
type planner struct {
	in      Input
	svc     types.Service
	name    string
	plan    Plan
	stopped map[string]bool // tasks stopped in this pass
}

// Compute plans one scheduler pass over a service.
func Compute(in Input) Plan {
	pl := &planner{in: in, svc: cloneService(in.Service), stopped: map[string]bool{}}
	pl.name = deref(pl.svc.ServiceName)
	pl.run()
	pl.plan.Service = pl.svc
	return pl.plan
}

func (pl *planner) run() {
	status := deref(pl.svc.Status)
	if status == ecs.ServiceInactive {
		return
	}
	if status == ecs.ServiceDraining {
		pl.drain()
		pl.count()
		return
	}
	if !usesECSController(pl.svc) {
		// EXTERNAL (and CODE_DEPLOY) services deploy through task sets.
		pl.stopUnhealthy()
		pl.taskSets()
		pl.count()
		return
	}
	if len(pl.svc.Deployments) == 0 {
		pl.count()
		return
	}
	pl.sortDeployments()
	pl.stopUnhealthy()
	pl.circuitBreaker()
	pl.roll()
	pl.count()
	pl.complete()
	pl.steadyState()
	pl.recheck()
}

// desired is the number of tasks the PRIMARY deployment should run: for a
// DAEMON service, one per ACTIVE instance that meets its constraints.
func (pl *planner) desired() int {
	if deref(pl.svc.Status) != ecs.ServiceActive {
		return 0
	}
	if pl.svc.SchedulingStrategy == types.SchedulingStrategyDaemon {
		return max(pl.in.DaemonInstances, 0)
	}
	return int(max(pl.svc.DesiredCount, 0))
}

func (pl *planner) primary() *types.Deployment { return &pl.svc.Deployments[0] }

// sortDeployments puts the PRIMARY deployment first, keeping the others in
// order.
func (pl *planner) sortDeployments() {
	slices.SortStableFunc(pl.svc.Deployments, func(a, b types.Deployment) int {
		return boolRank(deref(a.Status) == ecs.DeploymentPrimary, deref(b.Status) == ecs.DeploymentPrimary)
	})
}

func boolRank(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

// managed reports whether the scheduler owns a task: one of its
// deployments started it. Tasks a user ran with a "service:" group are
// left alone, as ECS leaves them.
func managed(t Task) bool { return ecs.IsDeploymentID(t.DeploymentID) }

// alive: the task has not stopped yet; it counts against maximumPercent.
func alive(t Task) bool { return t.LastStatus != ecs.TaskStopped }

// kept reports whether the task is one the scheduler keeps: alive, not
// asked to stop, and not stopped in this pass.
func (pl *planner) kept(t Task) bool {
	return managed(t) && alive(t) && t.DesiredStatus != ecs.TaskStopped && !pl.stopped[t.ID]
}

// healthy: kept, RUNNING, passing its health checks if it has any, and
// (without health checks) running for HealthyAfter.
func (pl *planner) healthy(t Task) bool {
	if !pl.kept(t) || t.LastStatus != ecs.TaskRunning {
		return false
	}
	if t.HealthChecked {
		return t.HealthStatus == types.HealthStatusHealthy
	}
	return !t.StartedAt.IsZero() && pl.in.Now.Sub(t.StartedAt) >= pl.in.HealthyAfter
}

// protected reports a task whose scale-in protection has not expired.
func (pl *planner) protected(t Task) bool { return pl.in.Now.Before(t.ProtectedUntil) }

func (pl *planner) stop(t Task, reason string) {
	pl.stopped[t.ID] = true
	pl.plan.Stops = append(pl.plan.Stops, Stop{TaskID: t.ID, Reason: reason})
}

// stopUnhealthy stops RUNNING tasks whose container health checks failed;
// the scheduler replaces them.
func (pl *planner) stopUnhealthy() {
	for _, t := range pl.sortedTasks() {
		if pl.kept(t) && t.LastStatus == ecs.TaskRunning && t.HealthChecked && t.HealthStatus == types.HealthStatusUnhealthy {
			pl.plan.Events = append(pl.plan.Events, ecs.EventHealthCheckFailed(pl.name, t.ID))
			pl.stop(t, ecs.ReasonHealthCheckFailed)
		}
	}
}

// failed reports whether a stopped task counts as a failure for the
// circuit breaker: it exited or failed to start on its own, or the
// scheduler stopped it for failing its health checks.
func failed(t Task) bool {
	if t.LastStatus != ecs.TaskStopped {
		return false
	}
	switch t.StopCode {
	case types.TaskStopCodeEssentialContainerExited, types.TaskStopCodeTaskFailedToStart:
		return true
	}
	return t.StoppedReason == ecs.ReasonHealthCheckFailed
}

// failures counts the primary deployment's failed tasks since its rollout
// began. When the breaker resets on healthy tasks (the default), only the
// failures after the last task that became healthy count.
func (pl *planner) failures(d *types.Deployment) int {
	since := derefTime(d.CreatedAt)
	reset := true
	if cb := circuitBreaker(pl.svc); cb != nil && cb.ResetOnHealthyTask != nil {
		reset = *cb.ResetOnHealthyTask
	}
	if reset {
		for _, t := range pl.in.Tasks {
			if t.DeploymentID == deref(d.Id) && pl.healthy(t) {
				if at := t.StartedAt.Add(pl.in.HealthyAfter); at.After(since) {
					since = at
				}
			}
		}
	}
	n := 0
	for _, t := range pl.in.Tasks {
		if t.DeploymentID == deref(d.Id) && failed(t) && !t.StoppedAt.Before(since) {
			n++
		}
	}
	return n
}

// circuitBreaker fails the PRIMARY deployment once its failures reach the
// threshold and, with rollback on, makes the last completed deployment
// PRIMARY again.
func (pl *planner) circuitBreaker() {
	p := pl.primary()
	if p.RolloutState != types.DeploymentRolloutStateInProgress {
		return
	}
	n := pl.failures(p)
	if int32(n) != p.FailedTasks {
		p.FailedTasks = int32(n)
		p.UpdatedAt = timePtr(pl.in.Now)
	}
	cb := circuitBreaker(pl.svc)
	if cb == nil || !cb.Enable || n < ecs.CircuitBreakerThreshold(pl.desired(), cb) {
		return
	}
	failedID := deref(p.Id)
	p.RolloutState = types.DeploymentRolloutStateFailed
	p.RolloutStateReason = ptr(ecs.RolloutFailedCircuitBreaker)
	p.UpdatedAt = timePtr(pl.in.Now)
	pl.plan.Failed, pl.plan.FailureCount = failedID, n
	pl.plan.Events = append(pl.plan.Events, ecs.EventDeploymentFailed(pl.name, failedID))
	rb := pl.in.Rollback
	// A deployment being rolled back to is not eligible for another
	// rollback until it completes.
	if !cb.Rollback || rb == nil || deref(rb.Id) == failedID {
		return
	}
	RollBack(&pl.svc, *rb, pl.desired(), pl.in.Now, ecs.RolloutRollingBack(deref(rb.Id)))
	target := pl.svc.Deployments[0]
	pl.plan.RolledBackTo = deref(target.Id)
	pl.plan.Events = append(pl.plan.Events, ecs.EventRollingBack(pl.name, deref(target.Id)))
}

// RollBack makes target (a deployment that completed before) the PRIMARY
// deployment again, IN_PROGRESS for the desired count with reason, and
// the current PRIMARY an ACTIVE deployment that drains. If target still
// has tasks (an ACTIVE entry of deployments[]), its counts are kept. Its
// rollout, and so its failure count, starts now. The service runs the
// target's task definition and network configuration again.
func RollBack(s *types.Service, target types.Deployment, desired int, now time.Time, reason string) {
	rest := make([]types.Deployment, 0, len(s.Deployments))
	for _, d := range s.Deployments {
		if deref(d.Id) == deref(target.Id) {
			target = d
			continue
		}
		if deref(d.Status) == ecs.DeploymentPrimary {
			d.Status = ptr(ecs.DeploymentActive)
			d.UpdatedAt = timePtr(now)
		}
		rest = append(rest, d)
	}
	target.Status = ptr(ecs.DeploymentPrimary)
	target.RolloutState = types.DeploymentRolloutStateInProgress
	target.RolloutStateReason = ptr(reason)
	target.FailedTasks = 0
	target.DesiredCount = int32(desired)
	target.CreatedAt, target.UpdatedAt = timePtr(now), timePtr(now)
	s.Deployments = append([]types.Deployment{target}, rest...)
	s.TaskDefinition = target.TaskDefinition
	s.NetworkConfiguration = target.NetworkConfiguration
	if len(target.CapacityProviderStrategy) > 0 {
		s.CapacityProviderStrategy = target.CapacityProviderStrategy
	}
}

// roll places and stops tasks: the PRIMARY deployment is brought to the
// desired count while older deployments drain, keeping the tasks RUNNING
// or PENDING at most maximumPercent and the healthy ones at least
// minimumHealthyPercent of the desired count.
func (pl *planner) roll() {
	p := pl.primary()
	pid := deref(p.Id)
	desired := pl.desired()
	minPct, maxPct := percents(pl.svc)
	minHealthy := ecs.MinimumHealthyTasks(desired, minPct)
	// Without a second deployment to hand over from, maximumPercent
	// below 100 would keep a service from ever reaching its desired
	// count; ECS documents the percentage as a deployment limit.
	maxTotal := max(ecs.MaximumTasks(desired, maxPct), desired)

	tasks := pl.sortedTasks()
	daemon := pl.svc.SchedulingStrategy == types.SchedulingStrategyDaemon
	if daemon {
		byID := make(map[string]Task, len(tasks))
		for _, t := range tasks {
			byID[t.ID] = t
		}
		for _, s := range pl.in.DaemonStops {
			if t, ok := byID[s.TaskID]; ok && pl.kept(t) {
				pl.stop(t, s.Reason)
			}
		}
	}
	aliveTotal, healthyTotal, keptP := 0, 0, 0
	for _, t := range tasks {
		if !managed(t) {
			continue
		}
		if alive(t) {
			aliveTotal++
		}
		if pl.healthy(t) {
			healthyTotal++
		}
		if t.DeploymentID == pid && pl.kept(t) && !t.Draining {
			keptP++
		}
	}

	// Place the PRIMARY deployment's missing tasks, within maximumPercent.
	// A FAILED deployment launches no new tasks; one whose tasks keep
	// failing to start launches them no sooner than the throttle allows.
	if p.RolloutState != types.DeploymentRolloutStateFailed {
		if n := min(desired-keptP, maxTotal-aliveTotal); n > 0 {
			wait, _ := pl.in.Throttle.Throttled(pl.in.Tasks, pid, derefTime(p.CreatedAt), pl.in.Now)
			if wait > 0 {
				pl.plan.ThrottledFor = wait
				pl.later(wait)
				msg := ecs.EventUnableToStart(pl.name)
				if len(pl.svc.Events) == 0 || deref(pl.svc.Events[0].Message) != msg {
					pl.plan.Events = append(pl.plan.Events, msg)
				}
			} else {
				pl.plan.Starts = append(pl.plan.Starts, Start{Deployment: *p, Count: n})
			}
		}
	}

	// Stop what should not run: every task of an older deployment, and
	// the PRIMARY deployment's tasks beyond the desired count. Tasks that
	// are not healthy go first and cost nothing; healthy ones only while
	// the healthy count stays at or above minimumHealthyPercent.
	budget := healthyTotal - minHealthy
	reason := ecs.StopReasonScaling(pid)
	// Tasks on a DRAINING instance are replaced whatever their
	// deployment; protected tasks of older deployments wait for their
	// protection to end (developer guide, "Protect your Amazon ECS tasks
	// from being terminated by scale-in events").
	var candidates []Task
	for _, t := range tasks {
		if pl.kept(t) && (t.Draining || t.DeploymentID != pid && !pl.protected(t)) {
			candidates = append(candidates, t)
		}
	}
	// A DAEMON service's surplus is on instances that no longer want it:
	// DaemonStops above, never a task chosen by rank or age.
	if excess := keptP - desired; excess > 0 && !daemon {
		var own []Task
		for _, t := range tasks {
			if pl.kept(t) && t.DeploymentID == pid && !t.Draining && !pl.protected(t) {
				own = append(own, t)
			}
		}
		// Scale in the tasks the placement strategy ranks first; without
		// a rank, from the newest task, as the oldest have proven
		// themselves.
		slices.SortStableFunc(own, func(a, b Task) int {
			return cmp.Or(boolRank(!pl.healthy(a), !pl.healthy(b)), boolRank(a.ScaleInRank > 0, b.ScaleInRank > 0),
				cmp.Compare(a.ScaleInRank, b.ScaleInRank), b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(a.ID, b.ID))
		})
		candidates = append(candidates, own[:min(excess, len(own))]...)
	}
	slices.SortStableFunc(candidates, func(a, b Task) int { return boolRank(!pl.healthy(a), !pl.healthy(b)) })
	for _, t := range candidates {
		if pl.healthy(t) {
			if budget <= 0 {
				continue
			}
			budget--
		}
		pl.stop(t, reason)
	}
	if n := len(pl.plan.Stops); n > 0 {
		pl.plan.Events = append(pl.plan.Events, ecs.EventTasksStopped(pl.name, pl.stoppedIDs()))
	}
}

func (pl *planner) stoppedIDs() []string {
	ids := make([]string, len(pl.plan.Stops))
	for i, s := range pl.plan.Stops {
		ids[i] = s.TaskID
	}
	return ids
}

// taskSets runs the task sets of an EXTERNAL service: each keeps its
// computed desired count (the service's desired count times its scale,
// rounded up; none while DRAINING) and a DRAINING one leaves the service
// once its tasks have stopped. The external deployment controller, not
// ECS, decides how task sets replace each other, so no rolling-update
// limits apply.
func (pl *planner) taskSets() {
	desired := pl.desired()
	tasks := pl.sortedTasks()
	keep := pl.svc.TaskSets[:0:0]
	for _, ts := range pl.svc.TaskSets {
		id := deref(ts.Id)
		want := 0
		if deref(ts.Status) != ecs.TaskSetDraining {
			want = ecs.ComputedDesiredCount(desired, ts.Scale)
		}
		if ts.ComputedDesiredCount != int32(want) {
			ts.ComputedDesiredCount, ts.UpdatedAt = int32(want), timePtr(pl.in.Now)
		}
		var own []Task
		living := 0
		for _, t := range tasks {
			if t.DeploymentID != id {
				continue
			}
			if alive(t) {
				living++
			}
			if pl.kept(t) {
				own = append(own, t)
			}
		}
		if n := want - len(own); n > 0 {
			pl.plan.Starts = append(pl.plan.Starts, Start{Deployment: ecs.DeploymentOfTaskSet(ts), Count: n})
		}
		if excess := len(own) - want; excess > 0 {
			slices.SortStableFunc(own, func(a, b Task) int {
				return cmp.Or(boolRank(!pl.healthy(a), !pl.healthy(b)), b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(a.ID, b.ID))
			})
			for _, t := range own[:excess] {
				pl.stop(t, ecs.StopReasonScaling(id))
			}
		}
		if deref(ts.Status) == ecs.TaskSetDraining && living == 0 {
			continue // drained: gone from the service
		}
		keep = append(keep, ts)
	}
	pl.svc.TaskSets = keep
	if len(pl.plan.Stops) > 0 {
		pl.plan.Events = append(pl.plan.Events, ecs.EventTasksStopped(pl.name, pl.stoppedIDs()))
	}
}

// drain stops every task of a DRAINING service; once none is left that is
// not at least STOPPING, the service is INACTIVE.
func (pl *planner) drain() {
	pid := ""
	for _, d := range pl.svc.Deployments {
		if deref(d.Status) == ecs.DeploymentPrimary {
			pid = deref(d.Id)
		}
	}
	for _, t := range pl.sortedTasks() {
		if pl.kept(t) {
			pl.stop(t, ecs.StopReasonScaling(pid))
		}
	}
	if len(pl.plan.Stops) > 0 {
		pl.plan.Events = append(pl.plan.Events, ecs.EventTasksStopped(pl.name, pl.stoppedIDs()))
	}
	for _, t := range pl.in.Tasks {
		if !managed(t) {
			continue
		}
		switch t.LastStatus {
		case ecs.TaskStopping, ecs.TaskDeprovisioning, ecs.TaskStopped:
		default:
			return
		}
	}
	if len(pl.plan.Stops) == 0 {
		pl.svc.Status = ptr(ecs.ServiceInactive)
		pl.plan.Inactive = true
	}
}

// count sets the running and pending counts of the service and of each
// deployment, and the draining deployments' desired counts. Tasks started
// in this pass are pending.
func (pl *planner) count() {
	type counts struct{ running, pending, kept int }
	by := map[string]*counts{}
	for _, d := range pl.svc.Deployments {
		by[deref(d.Id)] = &counts{}
	}
	for _, ts := range pl.svc.TaskSets {
		by[deref(ts.Id)] = &counts{}
	}
	var total counts
	for _, t := range pl.in.Tasks {
		if !managed(t) {
			continue
		}
		c := by[t.DeploymentID]
		if c == nil {
			c = &counts{}
		}
		switch t.LastStatus {
		case ecs.TaskRunning:
			c.running++
			total.running++
		case ecs.TaskProvisioning, ecs.TaskPending, ecs.TaskActivating:
			if t.DesiredStatus != ecs.TaskStopped {
				c.pending++
				total.pending++
			}
		}
		if pl.kept(t) {
			c.kept++
		}
	}
	for _, s := range pl.plan.Starts {
		if c := by[deref(s.Deployment.Id)]; c != nil {
			c.pending += s.Count
		}
		total.pending += s.Count
	}
	stopping := map[string]bool{}
	for _, s := range pl.plan.Stops {
		stopping[s.TaskID] = true
	}
	for i := range pl.svc.TaskSets {
		ts := &pl.svc.TaskSets[i]
		c := by[deref(ts.Id)]
		stable := c.running == int(ts.ComputedDesiredCount) && c.pending == 0
		for _, t := range pl.in.Tasks {
			if t.DeploymentID == deref(ts.Id) && alive(t) && (!pl.healthy(t) || stopping[t.ID]) {
				stable = false
			}
		}
		status := types.StabilityStatusStabilizing
		if stable {
			status = types.StabilityStatusSteadyState
		}
		if ts.RunningCount != int32(c.running) || ts.PendingCount != int32(c.pending) || ts.StabilityStatus != status {
			ts.RunningCount, ts.PendingCount = int32(c.running), int32(c.pending)
			if ts.StabilityStatus != status {
				ts.StabilityStatus, ts.StabilityStatusAt = status, timePtr(pl.in.Now)
			}
			ts.UpdatedAt = timePtr(pl.in.Now)
		}
	}
	for i := range pl.svc.Deployments {
		d := &pl.svc.Deployments[i]
		c := by[deref(d.Id)]
		desired := int32(pl.desired())
		if deref(d.Status) != ecs.DeploymentPrimary {
			desired = int32(c.kept)
		}
		if d.RunningCount != int32(c.running) || d.PendingCount != int32(c.pending) || d.DesiredCount != desired {
			d.RunningCount, d.PendingCount, d.DesiredCount = int32(c.running), int32(c.pending), desired
			d.UpdatedAt = timePtr(pl.in.Now)
		}
	}
	pl.svc.RunningCount = int32(total.running)
	pl.svc.PendingCount = int32(total.pending)
	if pl.svc.SchedulingStrategy == types.SchedulingStrategyDaemon {
		pl.svc.DesiredCount = int32(pl.desired())
	}
}

// complete marks the PRIMARY deployment COMPLETED once it runs the desired
// count of healthy tasks and nothing else runs; the older deployments
// leave deployments[].
func (pl *planner) complete() {
	p := pl.primary()
	if p.RolloutState != types.DeploymentRolloutStateInProgress || !pl.settled() {
		return
	}
	p.RolloutState = types.DeploymentRolloutStateCompleted
	p.RolloutStateReason = ptr(ecs.RolloutCompleted(deref(p.Id)))
	p.UpdatedAt = timePtr(pl.in.Now)
	pl.svc.Deployments = pl.svc.Deployments[:1]
	pl.plan.Completed = deref(p.Id)
	pl.plan.Events = append(pl.plan.Events, ecs.EventDeploymentCompleted(pl.name, deref(p.Id)))
}

// settled reports whether the service runs exactly its desired count of
// healthy PRIMARY tasks, with no other task alive and nothing to do.
func (pl *planner) settled() bool {
	if len(pl.plan.Starts) > 0 || len(pl.plan.Stops) > 0 {
		return false
	}
	pid := deref(pl.primary().Id)
	healthy := 0
	for _, t := range pl.in.Tasks {
		if !managed(t) || !alive(t) {
			continue
		}
		if t.DeploymentID != pid || !pl.healthy(t) {
			return false
		}
		healthy++
	}
	return healthy == pl.desired()
}

// steadyState records "has reached a steady state." when the service has
// one COMPLETED deployment running its desired count, unless that is
// already the latest event.
func (pl *planner) steadyState() {
	if len(pl.svc.Deployments) != 1 || pl.primary().RolloutState != types.DeploymentRolloutStateCompleted || !pl.settled() {
		return
	}
	msg := ecs.EventSteadyState(pl.name)
	if len(pl.plan.Events) == 0 && len(pl.svc.Events) > 0 && deref(pl.svc.Events[0].Message) == msg {
		return
	}
	pl.plan.Events = append(pl.plan.Events, msg)
}

// recheck finds the earliest moment a RUNNING task becomes healthy by time
// alone.
func (pl *planner) recheck() {
	if pl.in.HealthyAfter <= 0 {
		return
	}
	for _, t := range pl.in.Tasks {
		if !pl.kept(t) || t.LastStatus != ecs.TaskRunning || t.HealthChecked || t.StartedAt.IsZero() {
			continue
		}
		if wait := t.StartedAt.Add(pl.in.HealthyAfter).Sub(pl.in.Now); wait > 0 {
			pl.later(wait)
		}
	}
}

// later asks for another pass after wait, unless one is due sooner.
func (pl *planner) later(wait time.Duration) {
	if pl.plan.RecheckAfter == 0 || wait < pl.plan.RecheckAfter {
		pl.plan.RecheckAfter = wait
	}
}

// sortedTasks returns the tasks oldest first (then by ID), so the
// scheduler drains old tasks in the order they were started and every
// pass over the same state makes the same choices.
func (pl *planner) sortedTasks() []Task {
	ts := slices.Clone(pl.in.Tasks)
	slices.SortStableFunc(ts, func(a, b Task) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return ts
}

func usesECSController(s types.Service) bool {
	return s.DeploymentController == nil || s.DeploymentController.Type == "" || s.DeploymentController.Type == types.DeploymentControllerTypeEcs
}

func circuitBreaker(s types.Service) *types.DeploymentCircuitBreaker {
	if s.DeploymentConfiguration == nil {
		return nil
	}
	return s.DeploymentConfiguration.DeploymentCircuitBreaker
}

// percents returns minimumHealthyPercent and maximumPercent with ECS's
// defaults for what is unset.
func percents(s types.Service) (minPct, maxPct int) {
	minPct, maxPct = ecs.DefaultMinimumHealthyPercent, ecs.DefaultMaximumPercent
	if s.SchedulingStrategy == types.SchedulingStrategyDaemon {
		minPct, maxPct = ecs.DaemonDefaultMinimumHealthyPercent, ecs.DaemonDefaultMaximumPercent
	}
	if c := s.DeploymentConfiguration; c != nil {
		if c.MinimumHealthyPercent != nil {
			minPct = int(*c.MinimumHealthyPercent)
		}
		if c.MaximumPercent != nil {
			maxPct = int(*c.MaximumPercent)
		}
	}
	return minPct, maxPct
}

// cloneService copies what a plan changes, so the input is never modified.
func cloneService(s types.Service) types.Service {
	s.Deployments = slices.Clone(s.Deployments)
	s.TaskSets = slices.Clone(s.TaskSets)
	return s
}

func ptr[T any](v T) *T { return &v }

func timePtr(t time.Time) *time.Time {
	t = t.UTC()
	return &t
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
