// Package daemon plans one pass of the DAEMON service scheduler: which
// container instances need the service's task started, and which of its
// tasks to stop. It is pure: the service, the cluster's instances with
// their tasks and the service's tasks in, a plan out.
//
// It owns what the developer guide says of the daemon scheduling strategy
// ("Amazon ECS services", "Daemon"; [V] unless marked):
//
//   - "deploys exactly one task on each active container instance that
//     meets all of the task placement constraints";
//   - "The service scheduler also evaluates the task placement constraints
//     for running tasks and will stop tasks that do not meet the placement
//     constraints" (the SERVICE_DAEMON_PLACEMENT_CONSTRAINT_VIOLATED
//     event);
//   - "The daemon service scheduler does not place any tasks on instances
//     that have a DRAINING status. If a container instance transitions to
//     DRAINING, the daemon tasks on it are stopped", and ECS
//     "prioritizes the daemon task to be the first task to launch on the
//     instances and the last task to stop": a draining instance's daemon
//     task stops once its other tasks have [I: the order of the two];
//   - "The service scheduler also monitors when new container instances
//     are added to your cluster and adds the daemon tasks to them";
//   - deployments: "If a deployment configuration is specified, the maximum
//     percent parameter must be 100. The default value for a daemon service
//     for maximumPercent is 100%. The default value for a daemon service
//     for minimumHealthyPercent is 0%." With a maximum of 100% an instance
//     never runs two of the service's tasks: an old revision's task is
//     stopped first and the new one starts on a later pass, once the old
//     one is gone; minimumHealthyPercent of the instance count bounds how
//     many healthy tasks are stopped at once.
//
// It imports the domain, the SDK's model types, the placement engine and
// the standard library only.
package daemon

import (
	"cmp"
	"slices"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/reconcile/placement"
)

// Deployment is one of the service's deployments.
type Deployment struct {
	// ID is the deployment's id (ecs-svc/...), the startedBy of its tasks.
	ID                string
	TaskDefinitionARN string
	// Requirements are what a task of its revision needs.
	Requirements placement.Requirements
}

// Task is one of the service's tasks that is not STOPPED.
type Task struct {
	ARN          string
	InstanceARN  string
	DeploymentID string
	// Healthy is set for a RUNNING task that counts as healthy (towards
	// minimumHealthyPercent).
	Healthy bool
	// Stopping is set once the task's desired status is STOPPED.
	Stopping bool
}

// Input is everything a pass is planned from.
type Input struct {
	// Group is the service's task group, "service:NAME".
	Group string
	// Constraints are the service's placement constraints merged with its
	// revision's, compiled (placement.MergeConstraints,
	// placement.CompileConstraints). distinctInstance changes nothing for
	// a daemon.
	Constraints []placement.Constraint
	// Deployments lists the PRIMARY deployment first, then the others.
	Deployments           []Deployment
	MinimumHealthyPercent int
	// Instances are every container instance of the cluster, whatever its
	// status, with its tasks (all services', the daemon's included).
	Instances []placement.Instance
	// Tasks are the service's tasks that are not STOPPED.
	Tasks []Task
}

// Cause says why a task is stopped.
type Cause string

const (
	// CauseInstanceDraining: the task's instance is DRAINING and its other
	// tasks are gone.
	CauseInstanceDraining Cause = "INSTANCE_DRAINING"
	// CauseInstanceGone: the instance is no longer registered (or is
	// deregistering or inactive).
	CauseInstanceGone Cause = "INSTANCE_GONE"
	// CauseConstraintViolated: the instance no longer meets the service's
	// placement constraints (ECS's SERVICE_DAEMON_PLACEMENT_CONSTRAINT_VIOLATED).
	CauseConstraintViolated Cause = "CONSTRAINT_VIOLATED"
	// CauseDuplicate: a second task of the service on one instance.
	CauseDuplicate Cause = "DUPLICATE"
	// CauseDeployment: the task runs an older deployment's revision.
	CauseDeployment Cause = "DEPLOYMENT"
)

// Start asks for one task of the PRIMARY deployment on an instance.
type Start struct {
	InstanceARN  string
	DeploymentID string
	// Placement is what the task reserves there.
	Placement placement.Placement
}

// Stop asks to stop one task. Reason is the stoppedReason ECS gives
// deployment stops ("Scaling activity initiated by (deployment ID)"); the
// caller words the others.
type Stop struct {
	TaskARN     string
	InstanceARN string
	Cause       Cause
	Reason      string
}

// Unplaced is an instance that should run the daemon but cannot take it
// now; ECS "continues to try and schedule the task on the instance by
// waiting for resources to become available".
type Unplaced struct {
	InstanceARN string
	Failure     placement.Failure
}

// Plan is one pass.
type Plan struct {
	// DesiredCount is the number of instances that should run the daemon:
	// ACTIVE and meeting the constraints.
	DesiredCount int
	Starts       []Start
	Stops        []Stop
	Unplaced     []Unplaced
	// Instances are the input's, with the starts' reservations applied.
	Instances []placement.Instance
	// DeploymentBlocked is set when tasks of an older deployment remain
	// and minimumHealthyPercent lets none of them stop (with maximumPercent
	// at 100, nothing can start beside them): the service needs another
	// deployment configuration. DeploymentBlockedMessage is ECS's event.
	DeploymentBlocked bool
}

// DeploymentBlockedMessage is the service event of a deployment the
// deployment configuration holds up: "(service NAME) was unable to stop or
// start tasks during a deployment because of the service deployment
// configuration. Update the minimumHealthyPercent or maximumPercent value
// and try again." [V developer guide, service event messages; the API
// shows the "(service NAME)" prefix in parentheses].
func DeploymentBlockedMessage(service string) string {
	return "(service " + service + ") was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again."
}

// Compute plans one pass.
func Compute(in Input) Plan {
	p := Plan{Instances: make([]placement.Instance, len(in.Instances))}
	copy(p.Instances, in.Instances)
	primary := ""
	if len(in.Deployments) > 0 {
		primary = in.Deployments[0].ID
	}
	byInstance := map[string][]Task{}
	for _, t := range in.Tasks {
		byInstance[t.InstanceARN] = append(byInstance[t.InstanceARN], t)
	}
	order := make([]int, len(p.Instances))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(p.Instances[a].ARN, p.Instances[b].ARN) })
	known := map[string]bool{}
	for _, i := range order {
		known[p.Instances[i].ARN] = true
	}

	// Tasks on instances the cluster no longer has.
	var gone []Task
	for _, t := range in.Tasks {
		if !known[t.InstanceARN] && !t.Stopping {
			gone = append(gone, t)
		}
	}
	slices.SortFunc(gone, func(a, b Task) int { return cmp.Compare(a.ARN, b.ARN) })
	for _, t := range gone {
		p.Stops = append(p.Stops, Stop{TaskARN: t.ARN, InstanceARN: t.InstanceARN, Cause: CauseInstanceGone})
	}

	var (
		toStart []int  // instances to start a task on
		old     []Task // kept tasks of older deployments, on eligible instances
		healthy int    // healthy tasks kept on eligible instances
	)
	for _, i := range order {
		inst := &p.Instances[i]
		tasks := byInstance[inst.ARN]
		var live []Task
		for _, t := range tasks {
			if !t.Stopping {
				live = append(live, t)
			}
		}
		switch {
		case inst.Status == placement.StatusDraining:
			if othersRemain(inst, in.Group) {
				continue
			}
			for _, t := range live {
				p.Stops = append(p.Stops, Stop{TaskARN: t.ARN, InstanceARN: inst.ARN, Cause: CauseInstanceDraining})
			}
			continue
		case inst.Status != placement.StatusActive:
			for _, t := range live {
				p.Stops = append(p.Stops, Stop{TaskARN: t.ARN, InstanceARN: inst.ARN, Cause: CauseInstanceGone})
			}
			continue
		case !meets(inst, in.Constraints):
			for _, t := range live {
				p.Stops = append(p.Stops, Stop{TaskARN: t.ARN, InstanceARN: inst.ARN, Cause: CauseConstraintViolated})
			}
			continue
		}
		p.DesiredCount++
		if len(live) == 0 {
			if len(tasks) == 0 && primary != "" {
				toStart = append(toStart, i)
			}
			continue
		}
		// Keep one task: the PRIMARY deployment's, a healthy one, then the
		// first by ARN.
		slices.SortFunc(live, func(a, b Task) int {
			return cmp.Or(
				-cmp.Compare(btoi(a.DeploymentID == primary), btoi(b.DeploymentID == primary)),
				-cmp.Compare(btoi(a.Healthy), btoi(b.Healthy)),
				cmp.Compare(a.ARN, b.ARN),
			)
		})
		for _, t := range live[1:] {
			p.Stops = append(p.Stops, Stop{TaskARN: t.ARN, InstanceARN: inst.ARN, Cause: CauseDuplicate})
		}
		kept := live[0]
		if kept.Healthy {
			healthy++
		}
		if kept.DeploymentID != primary {
			old = append(old, kept)
		}
	}

	// Replace older deployments' tasks, unhealthy ones first, without
	// taking the healthy tasks below minimumHealthyPercent of the desired
	// count.
	floor := ecs.MinimumHealthyTasks(p.DesiredCount, in.MinimumHealthyPercent)
	slices.SortStableFunc(old, func(a, b Task) int { return cmp.Compare(btoi(a.Healthy), btoi(b.Healthy)) })
	reason := ecs.StopReasonScaling(primary)
	stoppedOld := 0
	for _, t := range old {
		if t.Healthy {
			if healthy <= floor {
				continue
			}
			healthy--
		}
		p.Stops = append(p.Stops, Stop{TaskARN: t.ARN, InstanceARN: t.InstanceARN, Cause: CauseDeployment, Reason: reason})
		stoppedOld++
	}
	p.DeploymentBlocked = stoppedOld == 0 && len(old) > 0

	if primary == "" {
		return p
	}
	dep := in.Deployments[0]
	for _, i := range toStart {
		res := placement.Place(placement.Input{
			Instances:    p.Instances[i : i+1],
			Requirements: dep.Requirements,
			Count:        1,
			Group:        in.Group,
		})
		o := res.Outcomes[0]
		if o.Failure != nil {
			p.Unplaced = append(p.Unplaced, Unplaced{InstanceARN: p.Instances[i].ARN, Failure: *o.Failure})
			continue
		}
		res.Instances[0].Tasks[len(res.Instances[0].Tasks)-1].Daemon = true
		p.Instances[i] = res.Instances[0]
		p.Starts = append(p.Starts, Start{InstanceARN: p.Instances[i].ARN, DeploymentID: dep.ID, Placement: *o.Placement})
	}
	return p
}

// othersRemain reports whether a draining instance still has tasks that
// are not the daemon's: the daemon task stops last.
func othersRemain(in *placement.Instance, group string) bool {
	for _, t := range in.Tasks {
		if t.Group != group && !t.Daemon {
			return true
		}
	}
	return false
}

// meets reports whether an instance satisfies the service's memberOf
// constraints.
func meets(in *placement.Instance, constraints []placement.Constraint) bool {
	for _, c := range constraints {
		if c.Predicate != nil && !c.Predicate.Match(in) {
			return false
		}
	}
	return true
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
