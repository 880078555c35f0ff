package reconcile_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/reconcile"
	"github.com/ecsd/ecsd/internal/reconcile/servicedeployment"
)

// TestPropertyDeploymentStateMachine drives random rolling updates whose
// new tasks fail to start at random, with the circuit breaker on (and
// rollback on or off), through scheduler passes as the worker makes them:
// reconcile.Compute plans, servicedeployment.Advance records the plan on
// the service deployment. After every pass:
//
//   - exactly one deployment is PRIMARY, and it is first;
//   - every other deployment is ACTIVE;
//   - no count (the service's or a deployment's running, pending,
//     desired, failed) is negative;
//   - a COMPLETED or FAILED rollout never goes back to IN_PROGRESS, except
//     the deployment the breaker rolls back to, which the same pass makes
//     PRIMARY again;
//   - the service deployment never leaves a final status, and it reaches
//     one exactly when its target's rollout ends.
func TestPropertyDeploymentStateMachine(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	svcARN := "arn:aws:ecs:us-east-1:123456789012:service/c/web"
	revision := func(id string) string {
		return ecs.ServiceRevisionARN("us-east-1", "123456789012", "c", "web", ecs.RevisionID(id))
	}
	seen := map[types.ServiceDeploymentStatus]int{}
	defer func() {
		// The runs must reach every end, or the properties were checked
		// on too little.
		for _, want := range []types.ServiceDeploymentStatus{types.ServiceDeploymentStatusSuccessful,
			types.ServiceDeploymentStatusStopped, types.ServiceDeploymentStatusRollbackSuccessful} {
			if seen[want] == 0 {
				t.Errorf("no run ended %s: %v", want, seen)
			}
		}
		t.Logf("service deployments ended: %v", seen)
	}()
	for run := range 400 {
		desired := 1 + rng.IntN(8)
		rollback := rng.IntN(2) == 0
		failPct := []int{0, 30, 70, 100}[rng.IntN(4)]
		s := service(desired, rng.IntN(101), 100+rng.IntN(151),
			deployment(newID, "PRIMARY", tdNew, "IN_PROGRESS"), deployment(oldID, "ACTIVE", tdOld, "COMPLETED"))
		s.ServiceArn = ptr(svcARN)
		s.DeploymentConfiguration.DeploymentCircuitBreaker = &types.DeploymentCircuitBreaker{Enable: true, Rollback: rollback}
		old := s.Deployments[1]
		var tasks []reconcile.Task
		for i := range desired {
			tasks = append(tasks, running(fmt.Sprintf("old%02d", i), oldID))
		}
		sd := servicedeployment.New("arn:sd", s, []types.ServiceRevisionSummary{{Arn: ptr(revision(oldID))}}, revision(newID), t0)
		now, seq := t0, 0
		rollouts := map[string]types.DeploymentRolloutState{newID: "IN_PROGRESS", oldID: "COMPLETED"}
		for step := range 80 {
			var rb *types.Deployment
			if s.Deployments[0].RolloutState == types.DeploymentRolloutStateInProgress {
				rb = &old
			}
			p := reconcile.Compute(reconcile.Input{Service: s, Tasks: tasks, Rollback: rb, Now: now})
			s = p.Service
			next, _ := servicedeployment.Advance(sd, s, servicedeployment.Outcome{
				Completed: p.Completed, Failed: p.Failed, FailureCount: p.FailureCount, RolledBackTo: p.RolledBackTo}, now)
			where := fmt.Sprintf("run %d (desired %d, rollback %v, fail %d%%) step %d", run, desired, rollback, failPct, step)

			if servicedeployment.Final(sd.Status) && next.Status != sd.Status {
				t.Fatalf("%s: service deployment left %s for %s", where, sd.Status, next.Status)
			}
			sd = next
			primaries := 0
			for i, d := range s.Deployments {
				switch *d.Status {
				case ecs.DeploymentPrimary:
					primaries++
					if i != 0 {
						t.Fatalf("%s: PRIMARY at %d", where, i)
					}
				case ecs.DeploymentActive:
				default:
					t.Fatalf("%s: deployment status %s", where, *d.Status)
				}
				if d.RunningCount < 0 || d.PendingCount < 0 || d.DesiredCount < 0 || d.FailedTasks < 0 {
					t.Fatalf("%s: negative count in %+v", where, d)
				}
				id := *d.Id
				if prev := rollouts[id]; prev != "" && prev != types.DeploymentRolloutStateInProgress &&
					d.RolloutState == types.DeploymentRolloutStateInProgress && p.RolledBackTo != id {
					t.Fatalf("%s: %s went %s -> IN_PROGRESS", where, id, prev)
				}
				rollouts[id] = d.RolloutState
			}
			// A deployment the pass failed or completed may also have
			// left deployments[] in the same pass (nothing to drain).
			if p.Failed != "" {
				rollouts[p.Failed] = types.DeploymentRolloutStateFailed
			}
			if p.Completed != "" {
				rollouts[p.Completed] = types.DeploymentRolloutStateCompleted
			}
			if primaries != 1 {
				t.Fatalf("%s: %d PRIMARY deployments", where, primaries)
			}
			if s.RunningCount < 0 || s.PendingCount < 0 {
				t.Fatalf("%s: service counts %d/%d", where, s.RunningCount, s.PendingCount)
			}
			// The service deployment targets newID: it is under way
			// exactly while newID's rollout is (or a rollback it
			// started still is).
			target := rollouts[newID]
			switch {
			case target == types.DeploymentRolloutStateCompleted && sd.Status != types.ServiceDeploymentStatusSuccessful:
				t.Fatalf("%s: target COMPLETED, service deployment %s", where, sd.Status)
			case target == types.DeploymentRolloutStateFailed && !rollback && sd.Status != types.ServiceDeploymentStatusStopped:
				t.Fatalf("%s: target FAILED without rollback, service deployment %s", where, sd.Status)
			case target == types.DeploymentRolloutStateFailed && rollback && sd.Status != types.ServiceDeploymentStatusRollbackInProgress &&
				sd.Status != types.ServiceDeploymentStatusRollbackSuccessful:
				t.Fatalf("%s: target FAILED and rolled back, service deployment %s", where, sd.Status)
			case target == types.DeploymentRolloutStateInProgress && sd.Status != types.ServiceDeploymentStatusInProgress:
				t.Fatalf("%s: target IN_PROGRESS, service deployment %s", where, sd.Status)
			}

			// The runtime: stops take effect, new tasks move on or fail.
			for _, stop := range p.Stops {
				i := slices.IndexFunc(tasks, func(x reconcile.Task) bool { return x.ID == stop.TaskID })
				tasks[i].DesiredStatus = "STOPPED"
				tasks[i].StopCode = types.TaskStopCodeServiceSchedulerInitiated
			}
			for _, st := range p.Starts {
				for range st.Count {
					seq++
					tasks = append(tasks, reconcile.Task{ID: fmt.Sprintf("t%04d", seq), DeploymentID: *st.Deployment.Id,
						DesiredStatus: "RUNNING", LastStatus: "PROVISIONING", CreatedAt: now})
				}
			}
			now = now.Add(time.Second)
			for i := range tasks {
				task := &tasks[i]
				switch {
				case task.LastStatus == "STOPPED":
				case task.DesiredStatus == "STOPPED":
					task.LastStatus, task.StoppedAt = "STOPPED", now
				case task.LastStatus == "PROVISIONING" && task.DeploymentID == newID && rng.IntN(100) < failPct:
					task.LastStatus, task.DesiredStatus, task.StoppedAt = "STOPPED", "STOPPED", now
					task.StopCode = types.TaskStopCodeTaskFailedToStart
				case task.LastStatus == "PROVISIONING":
					task.LastStatus, task.StartedAt = "RUNNING", now
				}
			}
		}
		seen[sd.Status]++
	}
}
