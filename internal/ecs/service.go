package ecs

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Service statuses.
const (
	ServiceActive   = "ACTIVE"
	ServiceDraining = "DRAINING"
	ServiceInactive = "INACTIVE"
)

// Deployment statuses in a service's deployments[].
const (
	DeploymentPrimary  = "PRIMARY"
	DeploymentActive   = "ACTIVE"
	DeploymentInactive = "INACTIVE"
)

// Deployment-configuration defaults ECS applies when a request leaves them
// out (see docs/compat.md).
const (
	DefaultMinimumHealthyPercent       = 100
	DefaultMaximumPercent              = 200
	DaemonDefaultMinimumHealthyPercent = 0
	DaemonDefaultMaximumPercent        = 100
)

// MaxServiceEvents is how many events a service keeps: ECS shows "the 100
// most recent events".
const MaxServiceEvents = 100

// Circuit-breaker threshold bounds for the default BOUNDED_PERCENT rule:
// "a minimum threshold of 3 and a maximum threshold of 200".
const (
	circuitBreakerMinThreshold = 3
	circuitBreakerMaxThreshold = 200
	circuitBreakerDefaultPct   = 50
)

// Messages and reasons the service scheduler writes; sources in
// docs/compat.md.
const (
	// ReasonHealthCheckFailed is the stoppedReason of a service task the
	// scheduler stops because a container health check failed.
	ReasonHealthCheckFailed = "Task failed container health checks"
	// RolloutFailedCircuitBreaker is a failed deployment's
	// rolloutStateReason.
	RolloutFailedCircuitBreaker = "ECS deployment circuit breaker: tasks failed to start."
)

// deploymentIDPrefix starts every id in a service's deployments[].
const deploymentIDPrefix = "ecs-svc/"

// NewDeploymentID returns a deployment id as ECS makes them: "ecs-svc/"
// and 19 decimal digits.
func NewDeploymentID() string {
	return deploymentIDPrefix + newDigits19()
}

// newDigits19 returns a random 19-digit decimal number without a leading
// zero (below 2^63, as ECS's are).
func newDigits19() string {
	var b [8]byte
	rand.Read(b[:])
	const lo, hi = 1_000_000_000_000_000_000, 9_223_372_036_854_775_807
	n := lo + binary.BigEndian.Uint64(b[:])%(hi-lo)
	return strconv.FormatUint(n, 10)
}

// RevisionID is the id of the service revision that a deployment in
// deployments[] runs: the digits of its "ecs-svc/" id. ecsd creates each
// service revision with the deployment that first deploys it, so the two
// share their number and a rollback (which ECS makes without a new
// revision) reactivates both together.
func RevisionID(deploymentID string) string {
	return strings.TrimPrefix(deploymentID, deploymentIDPrefix)
}

// DeploymentIDOfRevision is the inverse of RevisionID: the deployments[]
// id of a service-revision ARN (or id).
func DeploymentIDOfRevision(revisionARN string) string {
	return deploymentIDPrefix + revisionARN[strings.LastIndexByte(revisionARN, '/')+1:]
}

// IsDeploymentID reports whether s is a service scheduler deployment id,
// which the scheduler writes into the startedBy of the tasks it starts.
func IsDeploymentID(s string) bool { return strings.HasPrefix(s, deploymentIDPrefix) }

// serviceDeploymentAlphabet holds the characters of service-deployment ids
// ("ejGvqq2ilnbKT9qj0vLJe", "NCWGC2ZR-taawPAYrIaU5" in AWS's examples).
const serviceDeploymentAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// NewServiceDeploymentID returns the last part of a service-deployment ARN:
// 21 characters from the URL-safe base64 alphabet, as in AWS's examples.
func NewServiceDeploymentID() string {
	var b [21]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = serviceDeploymentAlphabet[b[i]&63]
	}
	return string(b[:])
}

// ServiceLinkedRoleARN is the roleArn ECS reports for services that use the
// Amazon ECS service-linked role.
func ServiceLinkedRoleARN(region, account string) string {
	return "arn:" + Partition(region) + ":iam::" + account + ":role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"
}

// ValidServiceName reports whether s is a service name ECS accepts: up to
// 255 letters, numbers, underscores and hyphens.
func ValidServiceName(s string) bool { return ValidFamily(s) }

// MinimumHealthyTasks is the fewest tasks that must stay healthy during a
// deployment: desiredCount × minimumHealthyPercent / 100, rounded up.
func MinimumHealthyTasks(desired, minimumHealthyPercent int) int {
	if desired <= 0 || minimumHealthyPercent <= 0 {
		return 0
	}
	return (desired*minimumHealthyPercent + 99) / 100
}

// MaximumTasks is the most tasks allowed RUNNING or PENDING during a
// deployment: desiredCount × maximumPercent / 100, rounded down.
func MaximumTasks(desired, maximumPercent int) int {
	if desired <= 0 || maximumPercent <= 0 {
		return 0
	}
	return desired * maximumPercent / 100
}

// CircuitBreakerThreshold is how many failed tasks move a deployment to
// FAILED. By default (BOUNDED_PERCENT 50) it is half the desired count,
// rounded up, kept between 3 and 200; UNBOUNDED_PERCENT drops the bounds
// and COUNT takes the value as is.
func CircuitBreakerThreshold(desired int, cb *types.DeploymentCircuitBreaker) int {
	kind, value := types.ThresholdTypeBoundedPercent, int32(circuitBreakerDefaultPct)
	if cb != nil && cb.ThresholdConfiguration != nil {
		kind, value = cb.ThresholdConfiguration.Type, cb.ThresholdConfiguration.Value
	}
	if kind == types.ThresholdTypeCount {
		return max(int(value), 1)
	}
	t := (desired*int(value) + 99) / 100
	if kind == types.ThresholdTypeUnboundedPercent {
		return max(t, 1)
	}
	return min(max(t, circuitBreakerMinThreshold), circuitBreakerMaxThreshold)
}

// Service event messages, exactly as ECS writes them.

// EventTasksStarted: "(service NAME) has started N tasks: (task ID) ...".
func EventTasksStarted(service string, taskIDs []string) string {
	return fmt.Sprintf("(service %s) has started %d tasks: %s.", service, len(taskIDs), taskList(taskIDs))
}

// EventTasksStopped: "(service NAME) has stopped N running tasks: (task
// ID) ...".
func EventTasksStopped(service string, taskIDs []string) string {
	return fmt.Sprintf("(service %s) has stopped %d running tasks: %s.", service, len(taskIDs), taskList(taskIDs))
}

// EventSteadyState: "(service NAME) has reached a steady state.".
func EventSteadyState(service string) string {
	return "(service " + service + ") has reached a steady state."
}

// EventDeploymentCompleted: "(service NAME) (deployment ID) deployment
// completed.".
func EventDeploymentCompleted(service, deploymentID string) string {
	return "(service " + service + ") (deployment " + deploymentID + ") deployment completed."
}

// EventDeploymentFailed is the event of a deployment the circuit breaker
// failed.
func EventDeploymentFailed(service, deploymentID string) string {
	return "(service " + service + ") (deployment " + deploymentID + ") deployment failed: tasks failed to start."
}

// EventRollingBack is the event of a circuit-breaker rollback.
func EventRollingBack(service, deploymentID string) string {
	return "(service " + service + ") rolling back to deployment " + deploymentID + "."
}

// EventHealthCheckFailed is the event of a service task whose container
// health checks failed.
func EventHealthCheckFailed(service, taskID string) string {
	return "(service " + service + ") (task " + taskID + ") failed container health checks."
}

func taskList(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "(task " + id + ")"
	}
	return strings.Join(parts, " ")
}

// RolloutInProgress is the rolloutStateReason of a deployment under way.
func RolloutInProgress(deploymentID string) string {
	return "ECS deployment " + deploymentID + " in progress."
}

// RolloutCompleted is the rolloutStateReason of a completed deployment.
func RolloutCompleted(deploymentID string) string {
	return "ECS deployment " + deploymentID + " completed."
}

// RolloutRollingBack is the rolloutStateReason of the deployment a
// circuit breaker rolls back to.
func RolloutRollingBack(deploymentID string) string {
	return "ECS deployment circuit breaker: rolling back to deploymentId " + deploymentID + "."
}

// StopReasonScaling is the stoppedReason of a task the service scheduler
// stops to reach its desired state.
func StopReasonScaling(deploymentID string) string {
	return "Scaling activity initiated by (deployment " + deploymentID + ")"
}

// NewServiceEvent returns one service event.
func NewServiceEvent(message string, at time.Time) types.ServiceEvent {
	at = at.UTC()
	return types.ServiceEvent{Id: ptr(NewUUID()), CreatedAt: &at, Message: ptr(message)}
}

// PrependServiceEvents adds messages, given oldest first, to a service's
// events, which ECS lists newest first, and keeps the newest
// MaxServiceEvents.
func PrependServiceEvents(events []types.ServiceEvent, at time.Time, messages ...string) []types.ServiceEvent {
	if len(messages) == 0 {
		return events
	}
	out := make([]types.ServiceEvent, 0, min(len(events)+len(messages), MaxServiceEvents))
	for i := len(messages) - 1; i >= 0 && len(out) < MaxServiceEvents; i-- {
		out = append(out, NewServiceEvent(messages[i], at))
	}
	for _, e := range events {
		if len(out) == MaxServiceEvents {
			break
		}
		out = append(out, e)
	}
	return out
}

// ServiceOfTask returns the service name a task belongs to from its group
// ("service:NAME"), or "" for a task no service started.
func ServiceOfTask(group string) string {
	name, ok := strings.CutPrefix(group, "service:")
	if !ok {
		return ""
	}
	return name
}

// ServiceGroup is the group of the tasks a service starts.
func ServiceGroup(service string) string { return "service:" + service }

// DeploymentOfRevision rebuilds the deployments[] entry that runs a
// service revision (ecsd gives each revision the number of the deployment
// that first deployed it). A circuit-breaker rollback reactivates it.
func DeploymentOfRevision(rev types.ServiceRevision) types.Deployment {
	id := DeploymentIDOfRevision(deref(rev.ServiceRevisionArn))
	return types.Deployment{
		Id:                          ptr(id),
		Status:                      ptr(DeploymentActive),
		TaskDefinition:              rev.TaskDefinition,
		CreatedAt:                   rev.CreatedAt,
		UpdatedAt:                   rev.CreatedAt,
		LaunchType:                  rev.LaunchType,
		CapacityProviderStrategy:    rev.CapacityProviderStrategy,
		PlatformVersion:             rev.PlatformVersion,
		PlatformFamily:              rev.PlatformFamily,
		NetworkConfiguration:        rev.NetworkConfiguration,
		RolloutState:                types.DeploymentRolloutStateCompleted,
		RolloutStateReason:          ptr(RolloutCompleted(id)),
		ServiceConnectConfiguration: rev.ServiceConnectConfiguration,
		VolumeConfigurations:        rev.VolumeConfigurations,
		VpcLatticeConfigurations:    rev.VpcLatticeConfigurations,
		FargateEphemeralStorage:     nil,
	}
}

// FillRevisionCounts sets the task counts of a service deployment's source
// and target revisions from the service's deployments[] (a revision no
// deployment runs any more counts nothing), and its circuit breaker's
// failure count from the deployment it targets.
func FillRevisionCounts(sd *types.ServiceDeployment, deployments []types.Deployment) {
	byRevision := map[string]types.Deployment{}
	for _, d := range deployments {
		byRevision[RevisionID(deref(d.Id))] = d
	}
	revision := func(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }
	fill := func(sum *types.ServiceRevisionSummary) {
		if sum == nil {
			return
		}
		d := byRevision[revision(deref(sum.Arn))]
		sum.RequestedTaskCount, sum.RunningTaskCount, sum.PendingTaskCount = d.DesiredCount, d.RunningCount, d.PendingCount
	}
	fill(sd.TargetServiceRevision)
	for i := range sd.SourceServiceRevisions {
		fill(&sd.SourceServiceRevisions[i])
	}
	if sd.TargetServiceRevision != nil && sd.DeploymentCircuitBreaker != nil {
		if d, ok := byRevision[revision(deref(sd.TargetServiceRevision.Arn))]; ok {
			sd.DeploymentCircuitBreaker.FailureCount = d.FailedTasks
		}
	}
}

// Task-set statuses.
const (
	TaskSetPrimary  = "PRIMARY"
	TaskSetActive   = "ACTIVE"
	TaskSetDraining = "DRAINING"
)

// TaskSetARN returns the ARN of a task set (its id is "ecs-svc/<digits>").
func TaskSetARN(region, account, cluster, service, id string) string {
	return arnPrefix(region, account) + "task-set/" + cluster + "/" + service + "/" + id
}

// ComputedDesiredCount is a task set's share of its service's desired
// count: desiredCount × scale / 100, always rounded up. A task set without
// a scale runs the whole desired count.
func ComputedDesiredCount(desired int, scale *types.Scale) int {
	pct := 100.0
	if scale != nil {
		pct = scale.Value
	}
	n := float64(desired) * pct / 100
	// Rounding error must not add a task: 3 × 33.333…% is 1, not 2.
	return int(math.Ceil(n - 1e-9))
}

// DeploymentOfTaskSet is the deployment-shaped view of a task set that
// the scheduler starts tasks from; its tasks are startedBy the task set's
// id.
func DeploymentOfTaskSet(ts types.TaskSet) types.Deployment {
	return types.Deployment{
		Id:                       ts.Id,
		Status:                   ts.Status,
		TaskDefinition:           ts.TaskDefinition,
		LaunchType:               ts.LaunchType,
		CapacityProviderStrategy: ts.CapacityProviderStrategy,
		NetworkConfiguration:     ts.NetworkConfiguration,
		PlatformVersion:          ts.PlatformVersion,
		PlatformFamily:           ts.PlatformFamily,
	}
}

// EventUnableToStart is the event of a service whose launches the
// scheduler throttles because its tasks keep failing to start (developer
// guide, service-throttle-logic).
func EventUnableToStart(service string) string {
	return "(service " + service + ") is unable to consistently start tasks successfully."
}

// NormalizePlacementStrategy returns strategies as ECS stores them: a
// spread over "host" is a spread over "instanceId" (the SDK: "instanceId
// (or host, which has the same effect)"; AWS reads it back as instanceId,
// which the Terraform AWS provider's tests expect after apply), and a
// binpack over cpu or memory reads back upper-cased, CPU or MEMORY (a
// recorded describe-services in aws/amazon-ecs-cli#586 shows
// {"field": "MEMORY", "type": "binpack"}; hashicorp/terraform#12998: "these
// read back as MEMORY and CPU", which is why the provider's
// flattenPlacementStrategy lower-cases them). The input is not modified.
func NormalizePlacementStrategy(in []types.PlacementStrategy) []types.PlacementStrategy {
	if in == nil {
		return nil
	}
	out := make([]types.PlacementStrategy, len(in))
	for i, s := range in {
		switch {
		case s.Type == types.PlacementStrategyTypeSpread && s.Field != nil && *s.Field == "host":
			f := "instanceId"
			s.Field = &f
		case s.Type == types.PlacementStrategyTypeBinpack && s.Field != nil &&
			(strings.EqualFold(*s.Field, "cpu") || strings.EqualFold(*s.Field, "memory")):
			f := strings.ToUpper(*s.Field)
			s.Field = &f
		}
		out[i] = s
	}
	return out
}
