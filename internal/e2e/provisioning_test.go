package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/server"
	"github.com/ecsd/ecsd/internal/worker"
)

// withProvisioningTimeout shortens the 30 minutes a task waits in
// PROVISIONING for capacity.
func withProvisioningTimeout(d time.Duration) option {
	return func(c *server.Config) { c.ProvisioningTimeout = d }
}

// TestManagedScalingKeepsRunTaskPlacement: standalone tasks that wait in
// PROVISIONING are placed, once managed scaling brings instances, with
// their RunTask request's constraints and strategy: distinctInstance gives
// each of three tasks (two of which would fit one instance) its own
// instance.
func TestManagedScalingKeepsRunTaskPlacement(t *testing.T) {
	t.Parallel()
	s := startServer(t, withScaling(20*time.Millisecond, time.Millisecond))
	c := s.defaultClient()
	createProvider(t, c, "cp-rt", "asg-rt", &types.ManagedScaling{Status: types.ManagedScalingStatusEnabled, TargetCapacity: aws.Int32(100),
		InstanceWarmupPeriod: aws.Int32(0)}, tag("ecsd:asg-max-size", "4"))
	strategy := []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("cp-rt"), Weight: 1}}
	providerCluster(t, c, "rt", []string{"cp-rt"}, strategy)
	registerSized(t, c, "rt", 1024, 512) // two an instance by resources
	tasks := runTask(t, c, &ecs.RunTaskInput{Cluster: aws.String("rt"), TaskDefinition: aws.String("rt"), Count: aws.Int32(3), Group: aws.String("batch"),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeDistinctInstance}},
		PlacementStrategy:    []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("memory")}}})
	var arns []string
	for _, task := range tasks {
		if got := aws.ToString(task.LastStatus); got != "PROVISIONING" || task.ContainerInstanceArn != nil {
			t.Fatalf("RunTask without capacity: lastStatus %s, instance %v; want PROVISIONING without one", got, task.ContainerInstanceArn)
		}
		arns = append(arns, aws.ToString(task.TaskArn))
	}
	waitRunning(t, c, "rt", arns...)
	seen := map[string]bool{}
	for _, task := range describeTasks(t, c, "rt", arns...) {
		ci := aws.ToString(task.ContainerInstanceArn)
		if ci == "" || seen[ci] {
			t.Errorf("task %s on instance %q: want each task of the group on its own instance", aws.ToString(task.TaskArn), ci)
		}
		seen[ci] = true
	}
}

// TestProvisioningTimeoutStopsTask: a task whose capacity never comes
// (its RunTask constraint wants an instance type the group does not
// launch) is stopped once it has waited the provisioning timeout, with
// ECS's stop code and reason; until then it waits.
func TestProvisioningTimeoutStopsTask(t *testing.T) {
	t.Parallel()
	const timeout = 2 * time.Second
	s := startServer(t, withScaling(20*time.Millisecond, time.Millisecond), withProvisioningTimeout(timeout))
	c := s.defaultClient()
	createProvider(t, c, "cp-to", "asg-to", &types.ManagedScaling{Status: types.ManagedScalingStatusEnabled, TargetCapacity: aws.Int32(100),
		InstanceWarmupPeriod: aws.Int32(0)}, tag("ecsd:asg-max-size", "1"))
	strategy := []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("cp-to"), Weight: 1}}
	providerCluster(t, c, "to", []string{"cp-to"}, strategy)
	registerSized(t, c, "to", 256, 256)
	tasks := runTask(t, c, &ecs.RunTaskInput{Cluster: aws.String("to"), TaskDefinition: aws.String("to"),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.instance-type == m5.large")}}})
	arn := aws.ToString(tasks[0].TaskArn)
	if got := aws.ToString(tasks[0].LastStatus); got != "PROVISIONING" {
		t.Fatalf("lastStatus %s, want PROVISIONING", got)
	}
	// The group's c5.large instance comes, and the task does not go there.
	waitFor(t, 20*time.Second, "the group's instance", func() error {
		if n := len(providerInstances(t, c, "to")["cp-to"]); n != 1 {
			return fmt.Errorf("%d instances", n)
		}
		return nil
	})
	if got := describeTasks(t, c, "to", arn)[0]; aws.ToString(got.LastStatus) == "STOPPED" && time.Since(*got.CreatedAt) < timeout {
		t.Fatalf("stopped after %v, before the timeout %v", time.Since(*got.CreatedAt), timeout)
	} else if got.ContainerInstanceArn != nil {
		t.Fatalf("placed on %s despite its memberOf constraint", aws.ToString(got.ContainerInstanceArn))
	}
	waitStopped(t, c, "to", arn)
	got := describeTasks(t, c, "to", arn)[0]
	if got.StopCode != worker.ProvisioningTimeoutStopCode || aws.ToString(got.StoppedReason) != worker.ProvisioningTimeoutReason {
		t.Errorf("stopCode %q, stoppedReason %q; want %q, %q", got.StopCode, aws.ToString(got.StoppedReason), worker.ProvisioningTimeoutStopCode, worker.ProvisioningTimeoutReason)
	}
	if waited := got.StoppedAt.Sub(*got.CreatedAt); waited < timeout {
		t.Errorf("stopped after %v, want at least %v", waited, timeout)
	}
	if got.ContainerInstanceArn != nil {
		t.Errorf("the stopped task has an instance: %s", aws.ToString(got.ContainerInstanceArn))
	}
}
