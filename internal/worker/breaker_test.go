package worker_test

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/control"
	"github.com/ecsd/ecsd/internal/ecs"
)

// ecsHealthyAfter is how long ECS waits before a RUNNING task without
// container health checks counts as healthy, and ecsd's default.
const ecsHealthyAfter = 40 * time.Second

// steadyAfter creates a service and brings it to a steady state under a
// healthy-after wait: tasks run, the clock passes the wait.
func (f *schedFixture) steadyAfter(name, td string, desired int32, dc *types.DeploymentConfiguration) types.Service {
	f.t.Helper()
	f.create(name, td, desired, dc)
	f.pass()
	f.settle(name)
	f.tick(ecsHealthyAfter)
	f.pass()
	s := f.service(name)
	if len(s.Deployments) != 1 || s.Deployments[0].RolloutState != "COMPLETED" {
		f.t.Fatalf("not steady: %+v", s.Deployments)
	}
	return s
}

// crashIDs makes the named tasks exit as a task whose essential container
// exits after it ran.
func (f *schedFixture) crashIDs(name string, ids ...string) {
	f.t.Helper()
	f.rewrite(name, func(t *types.Task) bool {
		if *t.LastStatus == "STOPPED" || !slices.Contains(ids, taskID(*t.TaskArn)) {
			return false
		}
		t.LastStatus, t.DesiredStatus = svcPtr("STOPPED"), svcPtr("STOPPED")
		t.StopCode = types.TaskStopCodeEssentialContainerExited
		t.StoppedReason = svcPtr("Essential container in task exited")
		t.StoppedAt = svcPtr(f.clock.Now())
		return true
	})
}

func taskID(arn string) string { return arn[len(arn)-32:] }

// liveOf returns the IDs of the revision's tasks that have not stopped.
func (f *schedFixture) liveOf(name, td string) []string {
	var ids []string
	for _, t := range f.tasks(name) {
		if *t.LastStatus != "STOPPED" && *t.TaskDefinitionArn == td {
			ids = append(ids, taskID(*t.TaskArn))
		}
	}
	return ids
}

// TestCircuitBreakerCrashLoopDefaults: with ECS's 40-second wait (ecsd's
// default), a revision whose essential container exits a second after it
// starts never completes: each task that stops before it counted healthy
// is a failure, and at the threshold (3 for 1 task) the breaker fails
// the deployment and rolls back. The service deployment reports the
// breaker's failureCount, threshold and status as ECS does.
func TestCircuitBreakerCrashLoopDefaults(t *testing.T) {
	f := newSchedFixture(t, ecsHealthyAfter)
	td1 := f.register("web")
	dc := &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}}
	good := f.steadyAfter("web", td1, 1, dc)
	goodID := *good.Deployments[0].Id
	td2 := f.register("web")
	if _, err := f.ctl.UpdateService(f.ctx, svcWho, control.UpdateServiceRequest{Service: "web", TaskDefinition: svcPtr(td2)}); err != nil {
		t.Fatal(err)
	}
	sd := f.deployments("web")[0]
	if cb := sd.DeploymentCircuitBreaker; cb == nil || cb.Status != types.ServiceDeploymentRollbackMonitorsStatusMonitoring || cb.Threshold != 3 || cb.FailureCount != 0 {
		t.Fatalf("new service deployment's breaker %+v, want MONITORING 0/3", cb)
	}
	crashes := 0
	for range 20 {
		f.pass()
		s := f.service("web")
		if *s.Deployments[0].Id == goodID {
			break
		}
		if cb := f.deployments("web")[0].DeploymentCircuitBreaker; int(cb.FailureCount) != crashes {
			t.Fatalf("after %d crashes the breaker reports failureCount %d", crashes, cb.FailureCount)
		}
		f.settle("web") // the new task runs...
		if s.Deployments[0].RolloutState == "COMPLETED" {
			t.Fatalf("the crash-looping deployment completed: %+v", s.Deployments[0])
		}
		f.tick(time.Second) // ...for a second, then exits
		if ids := f.liveOf("web", td2); len(ids) > 0 {
			f.crashIDs("web", ids...)
			crashes += len(ids)
		}
	}
	if crashes != 3 {
		t.Fatalf("%d crashes before the rollback, want the threshold 3", crashes)
	}
	sd = f.deployments("web")[0]
	cb := sd.DeploymentCircuitBreaker
	if cb.Status != types.ServiceDeploymentRollbackMonitorsStatusTriggered || cb.FailureCount != 3 || cb.Threshold != 3 {
		t.Fatalf("breaker %+v, want TRIGGERED 3/3", cb)
	}
	if sd.Status != types.ServiceDeploymentStatusRollbackSuccessful && sd.Status != types.ServiceDeploymentStatusRollbackInProgress {
		t.Fatalf("service deployment %s, want a rollback", sd.Status)
	}
	if msgs := messages(f.service("web")); !slices.Contains(msgs, ecs.EventRollingBack("web", goodID)) {
		t.Fatalf("events %q lack the rollback", msgs)
	}
}

// TestCircuitBreakerResetOnHealthyTask: of three tasks, two crash at
// once, one becomes healthy (40s), then two more crash. With
// resetOnHealthyTask (the default) the healthy task resets the count to
// 0 and the deployment goes on; with it off the third failure trips the
// breaker.
func TestCircuitBreakerResetOnHealthyTask(t *testing.T) {
	for _, reset := range []bool{true, false} {
		t.Run(map[bool]string{true: "reset", false: "noReset"}[reset], func(t *testing.T) {
			f := newSchedFixture(t, ecsHealthyAfter)
			td1 := f.register("web")
			dc := &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{
				Enable: true, Rollback: false, ResetOnHealthyTask: svcPtr(reset)}}
			f.steadyAfter("web", td1, 3, dc)
			td2 := f.register("web")
			if _, err := f.ctl.UpdateService(f.ctx, svcWho, control.UpdateServiceRequest{Service: "web", TaskDefinition: svcPtr(td2)}); err != nil {
				t.Fatal(err)
			}
			f.pass() // three new tasks (maximumPercent 200)
			f.settle("web")
			ids := f.liveOf("web", td2)
			if len(ids) != 3 {
				t.Fatalf("%d new tasks, want 3", len(ids))
			}
			f.tick(time.Second)
			f.crashIDs("web", ids[0], ids[1]) // failures 1 and 2
			f.pass()                          // replacements
			f.tick(ecsHealthyAfter)           // ids[2] is healthy now
			f.pass()
			f.settle("web")
			f.tick(time.Second)
			var fresh []string
			for _, id := range f.liveOf("web", td2) {
				if id != ids[2] {
					fresh = append(fresh, id)
				}
			}
			f.crashIDs("web", fresh...) // failures 3 and 4, or 1 and 2 after the reset
			f.pass()
			s := f.service("web")
			cb := f.deployments("web")[0].DeploymentCircuitBreaker
			if reset {
				if s.Deployments[0].RolloutState == "FAILED" || cb.Status != types.ServiceDeploymentRollbackMonitorsStatusMonitoring || cb.FailureCount != 2 {
					t.Fatalf("with resetOnHealthyTask: rollout %s, breaker %+v; want IN_PROGRESS, MONITORING 2/3", s.Deployments[0].RolloutState, cb)
				}
				return
			}
			if s.Deployments[0].RolloutState != "FAILED" || cb.Status != types.ServiceDeploymentRollbackMonitorsStatusTriggered || cb.FailureCount < 3 {
				t.Fatalf("without resetOnHealthyTask: rollout %s, breaker %+v; want FAILED, TRIGGERED", s.Deployments[0].RolloutState, cb)
			}
		})
	}
}
