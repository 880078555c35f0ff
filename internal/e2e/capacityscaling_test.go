package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/server"
)

// withScaling evaluates managed scaling every interval and shortens ECS's
// 15-minute scale-in waits to wait.
func withScaling(interval, wait time.Duration) option {
	return func(c *server.Config) { c.ScalingInterval, c.ScaleInWait = interval, wait }
}

// providerCluster creates a cluster without simulated instances of its
// own, with the providers and default strategy.
func providerCluster(t *testing.T, c *ecs.Client, name string, providers []string, strategy []types.CapacityProviderStrategyItem) {
	t.Helper()
	_, err := c.CreateCluster(t.Context(), &ecs.CreateClusterInput{ClusterName: aws.String(name),
		Tags:              []types.Tag{tag("ecsd:sim-instances", "0")},
		CapacityProviders: providers, DefaultCapacityProviderStrategy: strategy})
	if err != nil {
		t.Fatalf("CreateCluster %s: %v", name, err)
	}
}

// registerSized registers an EC2 revision whose task reserves cpu units
// and MiB.
func registerSized(t *testing.T, c *ecs.Client, family string, cpu, mem int) {
	t.Helper()
	_, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), Cpu: aws.String(fmt.Sprint(cpu)), Memory: aws.String(fmt.Sprint(mem)),
		ContainerDefinitions: []types.ContainerDefinition{container("app")},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition %s: %v", family, err)
	}
}

// providerInstances lists a cluster's ACTIVE container instances by
// capacity provider.
func providerInstances(t *testing.T, c *ecs.Client, cluster string) map[string][]types.ContainerInstance {
	t.Helper()
	out := map[string][]types.ContainerInstance{}
	list, err := c.ListContainerInstances(t.Context(), &ecs.ListContainerInstancesInput{Cluster: aws.String(cluster), Status: types.ContainerInstanceStatusActive})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.ContainerInstanceArns) == 0 {
		return out
	}
	d, err := c.DescribeContainerInstances(t.Context(), &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster), ContainerInstances: list.ContainerInstanceArns})
	if err != nil {
		t.Fatal(err)
	}
	for _, ci := range d.ContainerInstances {
		p := aws.ToString(ci.CapacityProviderName)
		out[p] = append(out[p], ci)
	}
	return out
}

// TestCapacityProviderStrategySpreadsTasks: base first, then weight,
// across two providers whose simulated groups have fixed sizes; each task
// lands on an instance of its provider's group.
func TestCapacityProviderStrategySpreadsTasks(t *testing.T) {
	t.Parallel()
	s := startServer(t, withScaling(20*time.Millisecond, time.Millisecond))
	c := s.defaultClient()
	createProvider(t, c, "cp-a", "asg-a", nil, tag("ecsd:asg-desired-capacity", "2"))
	createProvider(t, c, "cp-b", "asg-b", nil, tag("ecsd:asg-desired-capacity", "2"))
	providerCluster(t, c, "spread", []string{"cp-a", "cp-b"}, nil)
	waitFor(t, 10*time.Second, "both groups' instances", func() error {
		got := providerInstances(t, c, "spread")
		if len(got["cp-a"]) != 2 || len(got["cp-b"]) != 2 {
			return fmt.Errorf("instances per provider: a=%d b=%d", len(got["cp-a"]), len(got["cp-b"]))
		}
		zones := map[string]bool{}
		for _, ci := range got["cp-a"] {
			for _, a := range ci.Attributes {
				if aws.ToString(a.Name) == "ecs.availability-zone" {
					zones[aws.ToString(a.Value)] = true
				}
			}
		}
		if len(zones) != 2 {
			return fmt.Errorf("cp-a's instances are in zones %v, want two", zones)
		}
		return nil
	})
	registerSized(t, c, "spread", 128, 128)
	tasks := runTask(t, c, &ecs.RunTaskInput{Cluster: aws.String("spread"), TaskDefinition: aws.String("spread"), Count: aws.Int32(5),
		CapacityProviderStrategy: []types.CapacityProviderStrategyItem{
			{CapacityProvider: aws.String("cp-a"), Base: 1, Weight: 1},
			{CapacityProvider: aws.String("cp-b"), Weight: 3},
		}})
	insts := providerInstances(t, c, "spread")
	owner := map[string]string{}
	for p, cis := range insts {
		for _, ci := range cis {
			owner[aws.ToString(ci.ContainerInstanceArn)] = p
		}
	}
	count := map[string]int{}
	for _, task := range tasks {
		p := aws.ToString(task.CapacityProviderName)
		count[p]++
		if task.LaunchType != types.LaunchTypeEc2 {
			t.Errorf("task on %s has launchType %q, want EC2", p, task.LaunchType)
		}
		if got := owner[aws.ToString(task.ContainerInstanceArn)]; got != p {
			t.Errorf("task of %s placed on an instance of %q", p, got)
		}
	}
	if count["cp-a"] != 2 || count["cp-b"] != 3 {
		t.Errorf("tasks per provider = %v, want cp-a 2 (base 1 + 1 of 4 by weight), cp-b 3", count)
	}

	// A cluster's default strategy applies when RunTask names neither.
	if _, err := c.PutClusterCapacityProviders(t.Context(), &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String("spread"),
		CapacityProviders:               []string{"cp-a", "cp-b"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("cp-b"), Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	more := runTask(t, c, &ecs.RunTaskInput{Cluster: aws.String("spread"), TaskDefinition: aws.String("spread"), Count: aws.Int32(2)})
	for _, task := range more {
		if aws.ToString(task.CapacityProviderName) != "cp-b" {
			t.Errorf("default strategy: task on %q, want cp-b", aws.ToString(task.CapacityProviderName))
		}
	}
	// A provider that runs tasks cannot leave the cluster.
	_, err := c.PutClusterCapacityProviders(t.Context(), &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String("spread"),
		CapacityProviders: []string{"cp-a"}, DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{}})
	wantAPIError[*types.ResourceInUseException](t, err, "The specified capacity provider is in use and cannot be removed.")
}

// TestManagedScalingZeroToNAndBack: a service on a provider with managed
// scaling and an empty group; its tasks wait in PROVISIONING, the group
// scales out, the tasks start on the new instances; scaled to 0, the group
// goes back to 0 instances.
func TestManagedScalingZeroToNAndBack(t *testing.T) {
	t.Parallel()
	s := startServer(t, withScaling(20*time.Millisecond, time.Millisecond))
	c := s.defaultClient()
	createProvider(t, c, "cp-ms", "asg-ms", &types.ManagedScaling{Status: types.ManagedScalingStatusEnabled, TargetCapacity: aws.Int32(100),
		InstanceWarmupPeriod: aws.Int32(0)}, tag("ecsd:asg-max-size", "6"))
	if _, err := c.UpdateCapacityProvider(t.Context(), &ecs.UpdateCapacityProviderInput{Name: aws.String("cp-ms"),
		AutoScalingGroupProvider: &types.AutoScalingGroupProviderUpdate{ManagedTerminationProtection: types.ManagedTerminationProtectionEnabled}}); err != nil {
		t.Fatal(err)
	}
	strategy := []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("cp-ms"), Weight: 1}}
	providerCluster(t, c, "ms", []string{"cp-ms"}, strategy)
	// Two tasks per instance (2048 CPU units each).
	registerSized(t, c, "ms", 1024, 512)

	// RunTask with no capacity: the task waits in PROVISIONING, then
	// starts once the group's instances register.
	waiting := runTask(t, c, &ecs.RunTaskInput{Cluster: aws.String("ms"), TaskDefinition: aws.String("ms")})
	if got := aws.ToString(waiting[0].LastStatus); got != "PROVISIONING" || waiting[0].ContainerInstanceArn != nil {
		t.Fatalf("RunTask without capacity: lastStatus %s, instance %v; want PROVISIONING without one", got, waiting[0].ContainerInstanceArn)
	}
	waitRunning(t, c, "ms", aws.ToString(waiting[0].TaskArn))
	if _, err := c.StopTask(t.Context(), &ecs.StopTaskInput{Cluster: aws.String("ms"), Task: waiting[0].TaskArn}); err != nil {
		t.Fatal(err)
	}

	if _, err := c.CreateService(t.Context(), &ecs.CreateServiceInput{Cluster: aws.String("ms"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("ms"), DesiredCount: aws.Int32(6), CapacityProviderStrategy: strategy}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "six running tasks on the scaled-out group", func() error {
		d, err := c.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("ms"), Services: []string{"web"}})
		if err != nil {
			return err
		}
		if n := d.Services[0].RunningCount; n != 6 {
			return fmt.Errorf("runningCount %d", n)
		}
		if n := len(providerInstances(t, c, "ms")["cp-ms"]); n < 3 {
			return fmt.Errorf("%d instances, want at least 3", n)
		}
		return nil
	})
	list, err := c.ListTasks(t.Context(), &ecs.ListTasksInput{Cluster: aws.String("ms"), ServiceName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String("ms"), Tasks: list.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range d.Tasks {
		if aws.ToString(task.CapacityProviderName) != "cp-ms" || !strings.Contains(aws.ToString(task.ContainerInstanceArn), ":container-instance/ms/") {
			t.Errorf("service task %s: provider %q, instance %q", aws.ToString(task.TaskArn), aws.ToString(task.CapacityProviderName), aws.ToString(task.ContainerInstanceArn))
		}
	}

	if _, err := c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("ms"), Service: aws.String("web"), DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the group back to 0 instances", func() error {
		if n := len(providerInstances(t, c, "ms")["cp-ms"]); n != 0 {
			return fmt.Errorf("%d instances left", n)
		}
		return nil
	})
}

// TestManagedScalingKeepsServicePlacement: a service's tasks that wait in
// PROVISIONING are placed, once managed scaling brings instances, with the
// service's constraints: distinctInstance gives each of three tasks (two
// of which would fit one instance) its own instance.
func TestManagedScalingKeepsServicePlacement(t *testing.T) {
	t.Parallel()
	s := startServer(t, withScaling(20*time.Millisecond, time.Millisecond))
	c := s.defaultClient()
	createProvider(t, c, "cp-di", "asg-di", &types.ManagedScaling{Status: types.ManagedScalingStatusEnabled, TargetCapacity: aws.Int32(100),
		InstanceWarmupPeriod: aws.Int32(0)}, tag("ecsd:asg-max-size", "4"))
	strategy := []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("cp-di"), Weight: 1}}
	providerCluster(t, c, "di", []string{"cp-di"}, strategy)
	registerSized(t, c, "di", 1024, 512) // two an instance by resources
	if _, err := c.CreateService(t.Context(), &ecs.CreateServiceInput{Cluster: aws.String("di"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("di"), DesiredCount: aws.Int32(3), CapacityProviderStrategy: strategy,
		PlacementConstraints: []types.PlacementConstraint{
			{Type: types.PlacementConstraintTypeDistinctInstance},
			{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.instance-type =~ c5.*")},
		}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "three running tasks", func() error {
		if n := describeOneService(t, c, "di", "web").RunningCount; n != 3 {
			return fmt.Errorf("runningCount %d", n)
		}
		return nil
	})
	list, err := c.ListTasks(t.Context(), &ecs.ListTasksInput{Cluster: aws.String("di"), ServiceName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String("di"), Tasks: list.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, task := range d.Tasks {
		ci := aws.ToString(task.ContainerInstanceArn)
		if ci == "" || seen[ci] {
			t.Errorf("task %s on instance %q: want each task on its own instance", aws.ToString(task.TaskArn), ci)
		}
		seen[ci] = true
	}
}
