// Package servicedeployment owns the state machine of ECS's service
// deployments (the ServiceDeployment resource that ListServiceDeployments
// and DescribeServiceDeployments report), as pure code: a service
// deployment and what happened to the service in, the changed service
// deployment out. No store, no clock (now is an argument), no randomness.
//
// The statuses and their edges, as the developer guide's "View service
// history using Amazon ECS service deployments" and the API reference's
// ServiceDeployment describe them:
//
//	PENDING, IN_PROGRESS ──completed──▶ SUCCESSFUL
//	IN_PROGRESS ──breaker, nothing to roll back to──▶ STOPPED
//	IN_PROGRESS ──breaker with rollback──▶ ROLLBACK_IN_PROGRESS ──▶ ROLLBACK_SUCCESSFUL | ROLLBACK_FAILED
//	PENDING, IN_PROGRESS ──superseded, StopServiceDeployment, DeleteService──▶ STOPPED (or the status asked)
//
// SUCCESSFUL, STOPPED, ROLLBACK_SUCCESSFUL and ROLLBACK_FAILED are final:
// nothing here moves a service deployment out of them.
//
// It must import only the domain (ecs), the SDK's model types and the
// standard library (internal/deps_test.go).
package servicedeployment

import (
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
)

// Outcome is what one scheduler pass did to a service's deployments[]
// (reconcile.Plan's Completed, Failed, FailureCount and RolledBackTo).
type Outcome struct {
	// Completed is the id of the deployment whose rollout completed.
	Completed string
	// Failed is the id of the deployment the circuit breaker failed, with
	// the failed tasks it counted.
	Failed       string
	FailureCount int
	// RolledBackTo is the id of the deployment the breaker rolled back to.
	RolledBackTo string
}

// New is the service deployment that records a deployment a service
// starts (CreateService, UpdateService): IN_PROGRESS from sources (the
// revisions its deployments ran) to the target revision, with the
// service's deployment configuration, circuit breaker and alarms.
func New(arn string, svc types.Service, sources []types.ServiceRevisionSummary, targetRevisionARN string, now time.Time) types.ServiceDeployment {
	if sources == nil {
		sources = []types.ServiceRevisionSummary{}
	}
	return types.ServiceDeployment{
		ServiceDeploymentArn:   ptr(arn),
		ServiceArn:             svc.ServiceArn,
		ClusterArn:             svc.ClusterArn,
		CreatedAt:              timePtr(now),
		StartedAt:              timePtr(now),
		UpdatedAt:              timePtr(now),
		SourceServiceRevisions: sources,
		TargetServiceRevision: &types.ServiceRevisionSummary{
			Arn: ptr(targetRevisionARN), RequestedTaskCount: svc.DesiredCount,
		},
		Status:                   types.ServiceDeploymentStatusInProgress,
		DeploymentConfiguration:  svc.DeploymentConfiguration,
		DeploymentCircuitBreaker: CircuitBreaker(svc.DeploymentConfiguration, int(svc.DesiredCount)),
		Alarms:                   Alarms(svc.DeploymentConfiguration),
	}
}

// Final reports whether a service deployment's status is one it never
// leaves.
func Final(s types.ServiceDeploymentStatus) bool {
	switch s {
	case types.ServiceDeploymentStatusSuccessful, types.ServiceDeploymentStatusStopped,
		types.ServiceDeploymentStatusRollbackSuccessful, types.ServiceDeploymentStatusRollbackFailed:
		return true
	}
	return false
}

// Advance moves a service's current service deployment along with what a
// scheduler pass did: SUCCESSFUL when its target deployment completed,
// ROLLBACK_IN_PROGRESS then ROLLBACK_SUCCESSFUL (or ROLLBACK_FAILED) when
// the circuit breaker rolled it back, STOPPED when the breaker failed it
// with nothing to roll back to. While the breaker monitors, its
// failureCount follows the target deployment's failedTasks. svc is the
// service after the pass (its ARN and deployments[] with their counts).
// It answers the service deployment and whether it changed; sd itself is
// left as it was.
func Advance(sd types.ServiceDeployment, svc types.Service, o Outcome, now time.Time) (types.ServiceDeployment, bool) {
	sd = clone(sd)
	target := ""
	if sd.TargetServiceRevision != nil {
		target = ecs.DeploymentIDOfRevision(deref(sd.TargetServiceRevision.Arn))
	}
	rollbackTo := ""
	if sd.Rollback != nil {
		rollbackTo = ecs.DeploymentIDOfRevision(deref(sd.Rollback.ServiceRevisionArn))
	}
	finish := func(status types.ServiceDeploymentStatus) {
		sd.Status = status
		sd.FinishedAt, sd.UpdatedAt = timePtr(now), timePtr(now)
		// The counts of a finished deployment no longer change.
		ecs.FillRevisionCounts(&sd, svc.Deployments)
	}
	breaker := sd.DeploymentCircuitBreaker
	changed := false
	// While the breaker monitors, failureCount follows the target
	// deployment's failed tasks as the breaker counts them (with
	// resetOnHealthyTask, only those since a task last became healthy).
	if breaker != nil && breaker.Status == types.ServiceDeploymentRollbackMonitorsStatusMonitoring && sd.Status == types.ServiceDeploymentStatusInProgress {
		for _, d := range svc.Deployments {
			if deref(d.Id) == target && d.FailedTasks != breaker.FailureCount {
				breaker.FailureCount = d.FailedTasks
				sd.UpdatedAt = timePtr(now)
				changed = true
			}
		}
	}
	// A pass can fail a deployment and complete the rollback at once (the
	// deployment rolled back to still runs its tasks): apply the failure
	// first, then the completion.
	switch {
	case o.Failed != "" && sd.Status == types.ServiceDeploymentStatusInProgress && target == o.Failed:
		changed = true
		if breaker != nil {
			breaker.Status = types.ServiceDeploymentRollbackMonitorsStatusTriggered
			breaker.FailureCount = int32(o.FailureCount)
		}
		sd.StatusReason = ptr(ecs.RolloutFailedCircuitBreaker)
		if o.RolledBackTo != "" {
			sd.Status = types.ServiceDeploymentStatusRollbackInProgress
			sd.UpdatedAt = timePtr(now)
			ref, _ := ecs.ParseResourceRef("service", deref(svc.ServiceArn))
			sd.Rollback = &types.Rollback{
				Reason:             ptr(ecs.RolloutRollingBack(o.RolledBackTo)),
				StartedAt:          timePtr(now),
				ServiceRevisionArn: ptr(ecs.ServiceRevisionARN(ref.Region, ref.Account, ref.Cluster, ref.Name, ecs.RevisionID(o.RolledBackTo))),
			}
			rollbackTo = o.RolledBackTo
		} else {
			sd.StoppedAt = timePtr(now)
			finish(types.ServiceDeploymentStatusStopped)
		}
	case o.Failed != "" && sd.Status == types.ServiceDeploymentStatusRollbackInProgress && rollbackTo == o.Failed:
		changed = true
		sd.StatusReason = ptr(ecs.RolloutFailedCircuitBreaker)
		finish(types.ServiceDeploymentStatusRollbackFailed)
	}
	switch {
	case o.Completed != "" && sd.Status == types.ServiceDeploymentStatusInProgress && target == o.Completed:
		changed = true
		if breaker != nil && breaker.Status == types.ServiceDeploymentRollbackMonitorsStatusMonitoring {
			breaker.Status = types.ServiceDeploymentRollbackMonitorsStatusMonitoringComplete
		}
		finish(types.ServiceDeploymentStatusSuccessful)
	case o.Completed != "" && sd.Status == types.ServiceDeploymentStatusRollbackInProgress && rollbackTo == o.Completed:
		changed = true
		finish(types.ServiceDeploymentStatusRollbackSuccessful)
	}
	return sd, changed
}

// Stop ends a service deployment that is still under way (PENDING or
// IN_PROGRESS) with status (STOPPED when empty) and the reason; a rollback
// already started is left to finish, and a finished one is left alone. It
// answers the service deployment and whether it changed.
func Stop(sd types.ServiceDeployment, status types.ServiceDeploymentStatus, reason string, now time.Time) (types.ServiceDeployment, bool) {
	if !Underway(sd.Status) {
		return sd, false
	}
	sd = clone(sd)
	if status == "" {
		status = types.ServiceDeploymentStatusStopped
	}
	sd.Status = status
	sd.StatusReason = ptr(reason)
	sd.UpdatedAt = timePtr(now)
	if status == types.ServiceDeploymentStatusStopped {
		sd.StoppedAt = timePtr(now)
		sd.FinishedAt = timePtr(now)
	}
	if sd.DeploymentCircuitBreaker != nil && sd.DeploymentCircuitBreaker.Status == types.ServiceDeploymentRollbackMonitorsStatusMonitoring {
		sd.DeploymentCircuitBreaker.Status = types.ServiceDeploymentRollbackMonitorsStatusMonitoringComplete
	}
	return sd, true
}

// Underway reports whether a service deployment is still under way
// (PENDING or IN_PROGRESS): the ones StopServiceDeployment may stop.
func Underway(s types.ServiceDeploymentStatus) bool {
	return s == types.ServiceDeploymentStatusInProgress || s == types.ServiceDeploymentStatusPending
}

// StopByRollback is StopServiceDeployment with stopType ROLLBACK: a
// service deployment under way goes ROLLBACK_IN_PROGRESS back to the
// revision that last completed (revisionARN), and the scheduler's passes
// finish it (Advance). It answers the service deployment and whether it
// changed (false when it was no longer under way).
func StopByRollback(sd types.ServiceDeployment, revisionARN string, now time.Time) (types.ServiceDeployment, bool) {
	if !Underway(sd.Status) {
		return sd, false
	}
	sd = clone(sd)
	sd.Status = types.ServiceDeploymentStatusRollbackInProgress
	sd.StatusReason = ptr(ReasonStoppedByRollback)
	sd.UpdatedAt = timePtr(now)
	sd.Rollback = &types.Rollback{Reason: sd.StatusReason, StartedAt: timePtr(now), ServiceRevisionArn: ptr(revisionARN)}
	return sd, true
}

// Reasons a service deployment reports when it is stopped.
const (
	ReasonStoppedByRequest  = "Service deployment was stopped by a StopServiceDeployment request."
	ReasonStoppedByRollback = "Service deployment rolled back by a StopServiceDeployment request."
	ReasonSuperseded        = "Service deployment was superseded by a new service deployment."
	ReasonServiceDeleted    = "Service deployment was stopped because the service was deleted."
)

// CircuitBreaker is the deploymentCircuitBreaker a new service deployment
// starts with: DISABLED, or MONITORING with the threshold the desired
// count gives (ecs.CircuitBreakerThreshold).
func CircuitBreaker(dc *types.DeploymentConfiguration, desired int) *types.ServiceDeploymentCircuitBreaker {
	var cb *types.DeploymentCircuitBreaker
	if dc != nil {
		cb = dc.DeploymentCircuitBreaker
	}
	if cb == nil || !cb.Enable {
		return &types.ServiceDeploymentCircuitBreaker{Status: types.ServiceDeploymentRollbackMonitorsStatusDisabled}
	}
	return &types.ServiceDeploymentCircuitBreaker{
		Status:    types.ServiceDeploymentRollbackMonitorsStatusMonitoring,
		Threshold: int32(ecs.CircuitBreakerThreshold(desired, cb)),
	}
}

// Alarms is the alarms block a new service deployment starts with:
// MONITORING the configuration's alarms when they are enabled, else
// DISABLED.
func Alarms(dc *types.DeploymentConfiguration) *types.ServiceDeploymentAlarms {
	if dc != nil && dc.Alarms != nil && dc.Alarms.Enable {
		return &types.ServiceDeploymentAlarms{Status: types.ServiceDeploymentRollbackMonitorsStatusMonitoring,
			AlarmNames: dc.Alarms.AlarmNames, TriggeredAlarmNames: []string{}}
	}
	return &types.ServiceDeploymentAlarms{Status: types.ServiceDeploymentRollbackMonitorsStatusDisabled}
}

// clone copies what Advance and Stop change in place, so the caller's
// service deployment is never modified.
func clone(sd types.ServiceDeployment) types.ServiceDeployment {
	if sd.DeploymentCircuitBreaker != nil {
		cb := *sd.DeploymentCircuitBreaker
		sd.DeploymentCircuitBreaker = &cb
	}
	if sd.TargetServiceRevision != nil {
		t := *sd.TargetServiceRevision
		sd.TargetServiceRevision = &t
	}
	sd.SourceServiceRevisions = slices.Clone(sd.SourceServiceRevisions)
	return sd
}

func ptr[T any](v T) *T { return &v }

func timePtr(t time.Time) *time.Time { return &t }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
