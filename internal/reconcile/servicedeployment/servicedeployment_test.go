package servicedeployment

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
)

const (
	svcARN  = "arn:aws:ecs:us-east-1:123456789012:service/c/web"
	oldID   = "ecs-svc/1111111111111111111"
	newID   = "ecs-svc/2222222222222222222"
	otherID = "ecs-svc/3333333333333333333"
)

var (
	t0  = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	t1  = t0.Add(time.Minute)
	rev = func(id string) string {
		return ecs.ServiceRevisionARN("us-east-1", "123456789012", "c", "web", ecs.RevisionID(id))
	}
)

// started is a service deployment from oldID to newID, as New makes it.
func started(breaker bool) types.ServiceDeployment {
	dc := &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: breaker, Rollback: breaker}}
	svc := types.Service{ServiceArn: ptr(svcARN), DesiredCount: 4, DeploymentConfiguration: dc}
	return New("arn:sd", svc, []types.ServiceRevisionSummary{{Arn: ptr(rev(oldID))}}, rev(newID), t0)
}

func service(failed int32) types.Service {
	return types.Service{ServiceArn: ptr(svcARN), Deployments: []types.Deployment{
		{Id: ptr(newID), Status: ptr(ecs.DeploymentPrimary), DesiredCount: 4, RunningCount: 3, PendingCount: 1, FailedTasks: failed},
		{Id: ptr(oldID), Status: ptr(ecs.DeploymentActive), DesiredCount: 0, RunningCount: 1},
	}}
}

func TestNew(t *testing.T) {
	sd := started(true)
	if sd.Status != types.ServiceDeploymentStatusInProgress || sd.FinishedAt != nil || !sd.StartedAt.Equal(t0) {
		t.Fatalf("new: %+v", sd)
	}
	if cb := sd.DeploymentCircuitBreaker; cb.Status != types.ServiceDeploymentRollbackMonitorsStatusMonitoring || cb.Threshold != 3 {
		t.Errorf("breaker: %+v, want MONITORING with threshold 3 (half of 4, at least 3)", cb)
	}
	if sd.Alarms.Status != types.ServiceDeploymentRollbackMonitorsStatusDisabled {
		t.Errorf("alarms: %+v", sd.Alarms)
	}
	if got := started(false).DeploymentCircuitBreaker.Status; got != types.ServiceDeploymentRollbackMonitorsStatusDisabled {
		t.Errorf("breaker off: %s", got)
	}
	if got := New("arn:sd", types.Service{}, nil, rev(newID), t0).SourceServiceRevisions; got == nil {
		t.Error("sources of a first deployment: nil, want []")
	}
}

func TestAdvance(t *testing.T) {
	rollingBack := func() types.ServiceDeployment {
		sd, _ := Advance(started(true), service(3), Outcome{Failed: newID, FailureCount: 3, RolledBackTo: oldID}, t0)
		return sd
	}
	for _, tc := range []struct {
		name        string
		sd          types.ServiceDeployment
		svc         types.Service
		o           Outcome
		wantChanged bool
		wantStatus  types.ServiceDeploymentStatus
		wantBreaker types.ServiceDeploymentRollbackMonitorsStatus
		wantFailure int32
		wantFinish  bool
	}{
		{name: "nothing happened", sd: started(true), svc: service(0),
			wantStatus: types.ServiceDeploymentStatusInProgress, wantBreaker: types.ServiceDeploymentRollbackMonitorsStatusMonitoring},
		{name: "failed tasks counted while monitoring", sd: started(true), svc: service(2), wantChanged: true,
			wantStatus: types.ServiceDeploymentStatusInProgress, wantBreaker: types.ServiceDeploymentRollbackMonitorsStatusMonitoring, wantFailure: 2},
		{name: "completed", sd: started(true), svc: service(1), o: Outcome{Completed: newID}, wantChanged: true,
			wantStatus: types.ServiceDeploymentStatusSuccessful, wantBreaker: types.ServiceDeploymentRollbackMonitorsStatusMonitoringComplete,
			wantFailure: 1, wantFinish: true},
		{name: "another deployment completed", sd: started(true), svc: service(0), o: Outcome{Completed: otherID},
			wantStatus: types.ServiceDeploymentStatusInProgress, wantBreaker: types.ServiceDeploymentRollbackMonitorsStatusMonitoring},
		{name: "breaker without rollback", sd: started(true), svc: service(3), o: Outcome{Failed: newID, FailureCount: 3}, wantChanged: true,
			wantStatus: types.ServiceDeploymentStatusStopped, wantBreaker: types.ServiceDeploymentRollbackMonitorsStatusTriggered,
			wantFailure: 3, wantFinish: true},
		{name: "breaker rolls back", sd: started(true), svc: service(3), o: Outcome{Failed: newID, FailureCount: 3, RolledBackTo: oldID}, wantChanged: true,
			wantStatus: types.ServiceDeploymentStatusRollbackInProgress, wantBreaker: types.ServiceDeploymentRollbackMonitorsStatusTriggered, wantFailure: 3},
		{name: "breaker rolls back and the rollback completes in one pass", sd: started(true), svc: service(3),
			o: Outcome{Failed: newID, FailureCount: 3, RolledBackTo: oldID, Completed: oldID}, wantChanged: true,
			wantStatus: types.ServiceDeploymentStatusRollbackSuccessful, wantBreaker: types.ServiceDeploymentRollbackMonitorsStatusTriggered,
			wantFailure: 3, wantFinish: true},
		{name: "rollback completes", sd: rollingBack(), svc: service(3), o: Outcome{Completed: oldID}, wantChanged: true,
			wantStatus: types.ServiceDeploymentStatusRollbackSuccessful, wantBreaker: types.ServiceDeploymentRollbackMonitorsStatusTriggered,
			wantFailure: 3, wantFinish: true},
		{name: "rollback fails", sd: rollingBack(), svc: service(3), o: Outcome{Failed: oldID, FailureCount: 5}, wantChanged: true,
			wantStatus: types.ServiceDeploymentStatusRollbackFailed, wantBreaker: types.ServiceDeploymentRollbackMonitorsStatusTriggered,
			wantFailure: 3, wantFinish: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := clone(tc.sd)
			got, changed := Advance(tc.sd, tc.svc, tc.o, t1)
			if changed != tc.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tc.wantChanged)
			}
			if got.Status != tc.wantStatus {
				t.Errorf("status = %s, want %s", got.Status, tc.wantStatus)
			}
			if cb := got.DeploymentCircuitBreaker; cb.Status != tc.wantBreaker || cb.FailureCount != tc.wantFailure {
				t.Errorf("breaker = %s/%d, want %s/%d", cb.Status, cb.FailureCount, tc.wantBreaker, tc.wantFailure)
			}
			if (got.FinishedAt != nil) != tc.wantFinish {
				t.Errorf("finishedAt = %v, want set %v", got.FinishedAt, tc.wantFinish)
			}
			if tc.wantFinish && got.TargetServiceRevision.RunningTaskCount != 3 {
				t.Errorf("a finished deployment's target counts: %+v", got.TargetServiceRevision)
			}
			if !reflect.DeepEqual(before, tc.sd) {
				t.Error("Advance modified its argument")
			}
		})
	}
	t.Run("rollback names the revision rolled back to", func(t *testing.T) {
		sd := rollingBack()
		if got := deref(sd.Rollback.ServiceRevisionArn); got != rev(oldID) {
			t.Errorf("rollback revision = %s, want %s", got, rev(oldID))
		}
		if deref(sd.StatusReason) != ecs.RolloutFailedCircuitBreaker || !sd.Rollback.StartedAt.Equal(t0) {
			t.Errorf("rollback: %+v, reason %q", sd.Rollback, deref(sd.StatusReason))
		}
	})
}

func TestStop(t *testing.T) {
	sd, changed := Stop(started(true), "", "superseded", t1)
	if !changed || sd.Status != types.ServiceDeploymentStatusStopped || !sd.StoppedAt.Equal(t1) || !sd.FinishedAt.Equal(t1) ||
		deref(sd.StatusReason) != "superseded" || sd.DeploymentCircuitBreaker.Status != types.ServiceDeploymentRollbackMonitorsStatusMonitoringComplete {
		t.Errorf("stop in progress: changed %v, %+v", changed, sd)
	}
	sd, changed = Stop(started(false), types.ServiceDeploymentStatusStopRequested, "asked", t1)
	if !changed || sd.Status != types.ServiceDeploymentStatusStopRequested || sd.FinishedAt != nil {
		t.Errorf("stop requested: changed %v, %+v", changed, sd)
	}
	rolling, _ := Advance(started(true), service(3), Outcome{Failed: newID, FailureCount: 3, RolledBackTo: oldID}, t0)
	if _, changed := Stop(rolling, "", "superseded", t1); changed {
		t.Error("a rollback under way was stopped")
	}
	done, _ := Advance(started(true), service(0), Outcome{Completed: newID}, t0)
	if got, changed := Stop(done, "", "superseded", t1); changed || got.Status != types.ServiceDeploymentStatusSuccessful {
		t.Errorf("a finished deployment was stopped: %s", got.Status)
	}
}

func TestStopByRollback(t *testing.T) {
	sd, changed := StopByRollback(started(true), rev(oldID), t1)
	if !changed || sd.Status != types.ServiceDeploymentStatusRollbackInProgress || deref(sd.StatusReason) != ReasonStoppedByRollback ||
		deref(sd.Rollback.ServiceRevisionArn) != rev(oldID) || !sd.Rollback.StartedAt.Equal(t1) || sd.FinishedAt != nil {
		t.Fatalf("rollback requested: changed %v, %+v", changed, sd)
	}
	// The scheduler's pass that brings the old revision back finishes it.
	done, changed := Advance(sd, service(0), Outcome{Completed: oldID}, t1.Add(time.Minute))
	if !changed || done.Status != types.ServiceDeploymentStatusRollbackSuccessful || done.FinishedAt == nil {
		t.Errorf("rollback completed: changed %v, %s", changed, done.Status)
	}
	finished, _ := Advance(started(true), service(0), Outcome{Completed: newID}, t0)
	if _, changed := StopByRollback(finished, rev(oldID), t1); changed {
		t.Error("a finished service deployment was rolled back")
	}
}

// edges are the status changes the state machine may make.
var edges = map[types.ServiceDeploymentStatus][]types.ServiceDeploymentStatus{
	types.ServiceDeploymentStatusPending: {types.ServiceDeploymentStatusStopped, types.ServiceDeploymentStatusStopRequested,
		types.ServiceDeploymentStatusRollbackInProgress},
	types.ServiceDeploymentStatusInProgress: {types.ServiceDeploymentStatusSuccessful, types.ServiceDeploymentStatusStopped,
		types.ServiceDeploymentStatusStopRequested, types.ServiceDeploymentStatusRollbackInProgress,
		// a failure and the rollback's completion in one pass
		types.ServiceDeploymentStatusRollbackSuccessful},
	types.ServiceDeploymentStatusRollbackInProgress: {types.ServiceDeploymentStatusRollbackSuccessful, types.ServiceDeploymentStatusRollbackFailed},
}

// TestPropertyStateMachine drives service deployments through random
// passes and stops and checks, after every step: a final status is never
// left, every change follows an edge, finishedAt is set exactly when the
// status is final (STOP_REQUESTED excepted: it is not final, but no
// longer under way), the failure count is never negative, the argument
// is never modified, and Advance never moves time backwards.
func TestPropertyStateMachine(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	ids := []string{oldID, newID, otherID, ""}
	pick := func() string { return ids[rng.IntN(len(ids))] }
	for run := range 2000 {
		sd := started(rng.IntN(2) == 0)
		if rng.IntN(5) == 0 {
			sd.Status = types.ServiceDeploymentStatusPending
		}
		now := t0
		for step := range 12 {
			now = now.Add(time.Duration(rng.IntN(90)) * time.Second)
			before := clone(sd)
			var next types.ServiceDeploymentStatus
			var got types.ServiceDeployment
			switch rng.IntN(8) {
			case 0:
				status := []types.ServiceDeploymentStatus{"", types.ServiceDeploymentStatusStopRequested}[rng.IntN(2)]
				got, _ = Stop(sd, status, "stopped", now)
			case 1:
				got, _ = StopByRollback(sd, rev(pick()), now)
			default:
				o := Outcome{Completed: pick(), Failed: pick(), FailureCount: rng.IntN(10)}
				if o.Failed != "" && rng.IntN(2) == 0 {
					o.RolledBackTo = pick()
				}
				got, _ = Advance(sd, service(int32(rng.IntN(6))), o, now)
			}
			next = got.Status
			if !reflect.DeepEqual(before, sd) {
				t.Fatalf("run %d step %d: argument modified", run, step)
			}
			if Final(sd.Status) && next != sd.Status {
				t.Fatalf("run %d step %d: left final status %s for %s", run, step, sd.Status, next)
			}
			if next != sd.Status && !contains(edges[sd.Status], next) {
				t.Fatalf("run %d step %d: %s -> %s is no edge", run, step, sd.Status, next)
			}
			if Final(next) != (got.FinishedAt != nil) {
				t.Fatalf("run %d step %d: status %s with finishedAt %v", run, step, next, got.FinishedAt)
			}
			if cb := got.DeploymentCircuitBreaker; cb != nil && cb.FailureCount < 0 {
				t.Fatalf("run %d step %d: failureCount %d", run, step, cb.FailureCount)
			}
			if got.UpdatedAt != nil && sd.UpdatedAt != nil && got.UpdatedAt.Before(*sd.UpdatedAt) {
				t.Fatalf("run %d step %d: updatedAt went back", run, step)
			}
			sd = got
		}
	}
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
