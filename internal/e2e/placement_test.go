package e2e

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// zonesOf maps each container instance ARN of a cluster to its
// availability zone.
func zonesOf(t *testing.T, c *ecs.Client, cluster string) map[string]string {
	t.Helper()
	arns := listInstances(t, c, ecs.ListContainerInstancesInput{Cluster: aws.String(cluster)})
	out, err := c.DescribeContainerInstances(t.Context(), &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster), ContainerInstances: arns})
	if err != nil {
		t.Fatal(err)
	}
	zones := map[string]string{}
	for _, ci := range out.ContainerInstances {
		for _, a := range ci.Attributes {
			if aws.ToString(a.Name) == "ecs.availability-zone" {
				zones[aws.ToString(ci.ContainerInstanceArn)] = aws.ToString(a.Value)
			}
		}
	}
	return zones
}

func place(t *testing.T, c *ecs.Client, in *ecs.RunTaskInput) *ecs.RunTaskOutput {
	t.Helper()
	out, err := c.RunTask(t.Context(), in)
	if err != nil {
		t.Fatalf("RunTask %s: %v", aws.ToString(in.TaskDefinition), err)
	}
	return out
}

// countBy counts the tasks per key.
func countBy(tasks []types.Task, key func(types.Task) string) map[string]int {
	out := map[string]int{}
	for _, task := range tasks {
		out[key(task)]++
	}
	return out
}

func reasonsOf(fs []types.Failure) []string {
	var out []string
	for _, f := range fs {
		out = append(out, aws.ToString(f.Reason))
	}
	return out
}

// Strategies and constraints on RunTask, on three simulated instances in
// three availability zones (2048 CPU units and 3705 MiB each).
func TestPlacementRunTask(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("place")})
	zones := zonesOf(t, c, "place")
	if len(zones) != 3 {
		t.Fatalf("want 3 simulated instances in distinct zones, got %v", zones)
	}
	if _, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("small"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"), Memory: aws.Int32(256), Cpu: 128}},
	}); err != nil {
		t.Fatal(err)
	}
	zone := func(task types.Task) string { return aws.ToString(task.AvailabilityZone) }
	instance := func(task types.Task) string { return aws.ToString(task.ContainerInstanceArn) }

	// Spread over zones: six tasks, two in each.
	rt := place(t, c, &ecs.RunTaskInput{Cluster: aws.String("place"), TaskDefinition: aws.String("small"), Count: aws.Int32(6),
		PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("attribute:ecs.availability-zone")}}})
	if got := countBy(rt.Tasks, zone); len(rt.Tasks) != 6 || len(got) != 3 || got["us-east-1a"] != 2 || got["us-east-1b"] != 2 || got["us-east-1c"] != 2 {
		t.Fatalf("spread over zones: %v (failures %v)", got, reasonsOf(rt.Failures))
	}

	// Binpack on memory: every task on the instance with the least memory
	// left that still fits, so the first one chosen takes all three.
	rt = place(t, c, &ecs.RunTaskInput{Cluster: aws.String("place"), TaskDefinition: aws.String("small"), Count: aws.Int32(3),
		PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("memory")}}})
	if got := countBy(rt.Tasks, instance); len(rt.Tasks) != 3 || len(got) != 1 {
		t.Fatalf("binpack on memory spread the tasks: %v", got)
	}
	packed := instance(rt.Tasks[0])
	rt = place(t, c, &ecs.RunTaskInput{Cluster: aws.String("place"), TaskDefinition: aws.String("small"),
		PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("memory")}}})
	if len(rt.Tasks) != 1 || instance(rt.Tasks[0]) != packed {
		t.Fatalf("binpack left the fullest instance %s for %v", packed, rt.Tasks)
	}

	// Spread over instances balances what the instances hold: the two
	// other instances get the next tasks.
	rt = place(t, c, &ecs.RunTaskInput{Cluster: aws.String("place"), TaskDefinition: aws.String("small"), Count: aws.Int32(2), Group: aws.String("family:small"),
		PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("instanceId")}}})
	for _, task := range rt.Tasks {
		if instance(task) == packed {
			t.Errorf("spread over instances chose the fullest instance")
		}
	}

	// memberOf with the cluster query language.
	rt = place(t, c, &ecs.RunTaskInput{Cluster: aws.String("place"), TaskDefinition: aws.String("small"), Count: aws.Int32(3),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.availability-zone == us-east-1b")}}})
	if got := countBy(rt.Tasks, zone); len(rt.Tasks) != 3 || got["us-east-1b"] != 3 {
		t.Fatalf("memberOf us-east-1b placed %v", got)
	}
	rt = place(t, c, &ecs.RunTaskInput{Cluster: aws.String("place"), TaskDefinition: aws.String("small"),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.availability-zone in [eu-west-1a, eu-west-1b]")}}})
	if len(rt.Tasks) != 0 || len(rt.Failures) != 3 || !slices.Equal(slices.Compact(reasonsOf(rt.Failures)), []string{"MemberOf placement constraint unsatisfied."}) {
		t.Fatalf("memberOf no zone: tasks %d, failures %v", len(rt.Tasks), reasonsOf(rt.Failures))
	}
	_, err := c.RunTask(t.Context(), &ecs.RunTaskInput{Cluster: aws.String("place"), TaskDefinition: aws.String("small"),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:x ==")}}})
	var ipe *types.InvalidParameterException
	if !errors.As(err, &ipe) {
		t.Errorf("a malformed memberOf expression: %v, want InvalidParameterException", err)
	}

	// distinctInstance: one task of the group per instance.
	rt = place(t, c, &ecs.RunTaskInput{Cluster: aws.String("place"), TaskDefinition: aws.String("small"), Count: aws.Int32(4), Group: aws.String("singletons"),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeDistinctInstance}}})
	if got := countBy(rt.Tasks, instance); len(rt.Tasks) != 3 || len(got) != 3 {
		t.Fatalf("distinctInstance placed %v", got)
	}
	if r := reasonsOf(rt.Failures); len(r) != 3 || r[0] != "DistinctInstance placement constraint unsatisfied." {
		t.Fatalf("distinctInstance failures %v", r)
	}

	// Host ports: a static host port fits once per instance.
	if _, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("port"), NetworkMode: types.NetworkModeBridge,
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"), Memory: aws.Int32(64),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(8080)}}}},
	}); err != nil {
		t.Fatal(err)
	}
	rt = place(t, c, &ecs.RunTaskInput{Cluster: aws.String("place"), TaskDefinition: aws.String("port"), Count: aws.Int32(4)})
	if got := countBy(rt.Tasks, instance); len(rt.Tasks) != 3 || len(got) != 3 {
		t.Fatalf("port 8080 placed %v", got)
	}
	if r := reasonsOf(rt.Failures); len(r) != 3 || r[0] != "RESOURCE:PORTS" {
		t.Fatalf("port conflict failures %v", r)
	}
	ci, err := c.DescribeContainerInstances(t.Context(), &ecs.DescribeContainerInstancesInput{Cluster: aws.String("place"), ContainerInstances: []string{packed}})
	if err != nil {
		t.Fatal(err)
	}
	if ports := resourceOf(ci.ContainerInstances[0].RemainingResources, "PORTS").StringSetValue; !slices.Contains(ports, "8080") {
		t.Errorf("remaining PORTS %v: want 8080 reserved", ports)
	}

	// Not enough memory anywhere: RESOURCE:MEMORY for every instance.
	if _, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("huge"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"), Memory: aws.Int32(3700)}},
	}); err != nil {
		t.Fatal(err)
	}
	rt = place(t, c, &ecs.RunTaskInput{Cluster: aws.String("place"), TaskDefinition: aws.String("huge")})
	if r := reasonsOf(rt.Failures); len(rt.Tasks) != 0 || len(r) != 3 || r[0] != "RESOURCE:MEMORY" {
		t.Fatalf("huge task: %d tasks, failures %v", len(rt.Tasks), r)
	}
}

// A service spreads its tasks over the zones by default, and a service
// with a binpack strategy fills one instance first.
func TestPlacementServices(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("svcplace")})
	if _, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"), Memory: aws.Int32(256)}},
	}); err != nil {
		t.Fatal(err)
	}
	createService(t, c, &ecs.CreateServiceInput{Cluster: aws.String("svcplace"), ServiceName: aws.String("spread"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(6)})
	createService(t, c, &ecs.CreateServiceInput{Cluster: aws.String("svcplace"), ServiceName: aws.String("packed"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(4),
		PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("memory")}}})
	waitServicesStable(t, c, "svcplace", "spread", "packed")
	for name, check := range map[string]func(byZone map[string]int) error{
		"spread": func(byZone map[string]int) error {
			if len(byZone) != 3 || byZone["us-east-1a"] != 2 || byZone["us-east-1b"] != 2 || byZone["us-east-1c"] != 2 {
				return fmt.Errorf("not two per zone")
			}
			return nil
		},
		"packed": func(byZone map[string]int) error {
			if len(byZone) != 1 {
				return fmt.Errorf("not on one instance")
			}
			return nil
		},
	} {
		arns, err := c.ListTasks(t.Context(), &ecs.ListTasksInput{Cluster: aws.String("svcplace"), ServiceName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		d, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String("svcplace"), Tasks: arns.TaskArns})
		if err != nil {
			t.Fatal(err)
		}
		byZone := countBy(d.Tasks, func(task types.Task) string { return aws.ToString(task.AvailabilityZone) })
		if err := check(byZone); err != nil {
			t.Errorf("service %s: %v: %v", name, err, byZone)
		}
	}
}

// Draining an instance moves a service's tasks elsewhere within the
// deployment configuration, leaves standalone tasks alone and places
// nothing new on it (developer guide, "Draining Amazon ECS container
// instances").
func TestPlacementDrainingReplacesServiceTasks(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("drain")})
	if _, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"), Memory: aws.Int32(256)}},
	}); err != nil {
		t.Fatal(err)
	}
	createService(t, c, &ecs.CreateServiceInput{Cluster: aws.String("drain"), ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(3)})
	waitServicesStable(t, c, "drain", "web")
	serviceTasks := func() []types.Task {
		arns, err := c.ListTasks(t.Context(), &ecs.ListTasksInput{Cluster: aws.String("drain"), ServiceName: aws.String("web")})
		if err != nil {
			t.Fatal(err)
		}
		if len(arns.TaskArns) == 0 {
			return nil
		}
		d, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String("drain"), Tasks: arns.TaskArns})
		if err != nil {
			t.Fatal(err)
		}
		return d.Tasks
	}
	before := serviceTasks()
	if len(before) != 3 {
		t.Fatalf("service runs %d tasks", len(before))
	}
	victim := aws.ToString(before[0].ContainerInstanceArn)
	ci, err := c.DescribeContainerInstances(t.Context(), &ecs.DescribeContainerInstancesInput{Cluster: aws.String("drain"), ContainerInstances: []string{victim}})
	if err != nil {
		t.Fatal(err)
	}
	// A standalone task on the same instance.
	rt := place(t, c, &ecs.RunTaskInput{Cluster: aws.String("drain"), TaskDefinition: aws.String("web"),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf,
			Expression: aws.String("ec2InstanceId == " + aws.ToString(ci.ContainerInstances[0].Ec2InstanceId))}}})
	if len(rt.Tasks) != 1 || aws.ToString(rt.Tasks[0].ContainerInstanceArn) != victim {
		t.Fatalf("standalone task not on the victim: %+v %v", rt.Tasks, reasonsOf(rt.Failures))
	}
	standalone := aws.ToString(rt.Tasks[0].TaskArn)

	if _, err := c.UpdateContainerInstancesState(t.Context(), &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String("drain"),
		ContainerInstances: []string{victim}, Status: types.ContainerInstanceStatusDraining}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the service's tasks off the draining instance", func() error {
		var onVictim, running int
		for _, task := range serviceTasks() {
			if aws.ToString(task.LastStatus) == "RUNNING" && aws.ToString(task.DesiredStatus) == "RUNNING" {
				running++
				if aws.ToString(task.ContainerInstanceArn) == victim {
					onVictim++
				}
			}
		}
		if onVictim != 0 || running != 3 {
			return fmt.Errorf("%d running, %d on the draining instance", running, onVictim)
		}
		return nil
	})
	d, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String("drain"), Tasks: []string{standalone}})
	if err != nil || len(d.Tasks) != 1 || aws.ToString(d.Tasks[0].DesiredStatus) != "RUNNING" {
		t.Fatalf("the standalone task on the draining instance was touched: %+v %v", d.Tasks, err)
	}
	// Nothing new lands on a DRAINING instance.
	rt = place(t, c, &ecs.RunTaskInput{Cluster: aws.String("drain"), TaskDefinition: aws.String("web"), Count: aws.Int32(4)})
	for _, task := range rt.Tasks {
		if aws.ToString(task.ContainerInstanceArn) == victim {
			t.Errorf("RunTask placed a task on the DRAINING instance")
		}
	}
}

// Task scale-in protection: UpdateTaskProtection and GetTaskProtection as
// the API reference defines them, and a protected task outlives a
// scale-in until its protection is cleared.
func TestTaskProtectionBlocksScaleIn(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("prot")})
	register(t, c, "web")
	createService(t, c, &ecs.CreateServiceInput{Cluster: aws.String("prot"), ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(3)})
	waitServicesStable(t, c, "prot", "web")
	arns, err := c.ListTasks(t.Context(), &ecs.ListTasksInput{Cluster: aws.String("prot"), ServiceName: aws.String("web")})
	if err != nil || len(arns.TaskArns) != 3 {
		t.Fatalf("ListTasks: %v %v", arns, err)
	}
	keep := arns.TaskArns[1]
	before := time.Now()
	up, err := c.UpdateTaskProtection(t.Context(), &ecs.UpdateTaskProtectionInput{Cluster: aws.String("prot"), Tasks: []string{keep, "0123456789abcdef0123456789abcdef"}, ProtectionEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.ProtectedTasks) != 1 || !up.ProtectedTasks[0].ProtectionEnabled || aws.ToString(up.ProtectedTasks[0].TaskArn) != keep {
		t.Fatalf("UpdateTaskProtection: %+v", up.ProtectedTasks)
	}
	// Two hours by default.
	if exp := *up.ProtectedTasks[0].ExpirationDate; exp.Before(before.Add(119*time.Minute)) || exp.After(time.Now().Add(121*time.Minute)) {
		t.Errorf("expirationDate %v: want two hours from now", exp)
	}
	if r := reasonsOf(up.Failures); len(r) != 1 || r[0] != "MISSING" {
		t.Errorf("failures for a missing task: %v", r)
	}
	// A standalone task cannot be protected.
	standalone := runTask(t, c, &ecs.RunTaskInput{Cluster: aws.String("prot"), TaskDefinition: aws.String("web")})
	up, err = c.UpdateTaskProtection(t.Context(), &ecs.UpdateTaskProtectionInput{Cluster: aws.String("prot"), Tasks: []string{*standalone[0].TaskArn}, ProtectionEnabled: true, ExpiresInMinutes: aws.Int32(5)})
	if err != nil || len(up.ProtectedTasks) != 0 || len(up.Failures) != 1 || aws.ToString(up.Failures[0].Reason) != "TASK_NOT_VALID" {
		t.Fatalf("protecting a standalone task: %+v %v", up, err)
	}
	for _, minutes := range []int32{0, 2881} {
		_, err = c.UpdateTaskProtection(t.Context(), &ecs.UpdateTaskProtectionInput{Cluster: aws.String("prot"), Tasks: []string{keep}, ProtectionEnabled: true, ExpiresInMinutes: aws.Int32(minutes)})
		var ipe *types.InvalidParameterException
		if !errors.As(err, &ipe) {
			t.Errorf("expiresInMinutes %d: %v, want InvalidParameterException", minutes, err)
		}
	}
	got, err := c.GetTaskProtection(t.Context(), &ecs.GetTaskProtectionInput{Cluster: aws.String("prot"), Tasks: arns.TaskArns})
	if err != nil || len(got.ProtectedTasks) != 3 {
		t.Fatalf("GetTaskProtection: %+v %v", got, err)
	}
	for _, pt := range got.ProtectedTasks {
		if pt.ProtectionEnabled != (aws.ToString(pt.TaskArn) == keep) {
			t.Errorf("GetTaskProtection %s: enabled %t", aws.ToString(pt.TaskArn), pt.ProtectionEnabled)
		}
	}

	// Scale in to zero: the protected task keeps running.
	if _, err := c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("prot"), Service: aws.String("web"), DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	live := func() []string {
		var out []string
		d, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String("prot"), Tasks: arns.TaskArns})
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range d.Tasks {
			if aws.ToString(task.DesiredStatus) == "RUNNING" {
				out = append(out, aws.ToString(task.TaskArn))
			}
		}
		return out
	}
	waitFor(t, 30*time.Second, "the unprotected tasks stopped", func() error {
		if l := live(); len(l) != 1 || l[0] != keep {
			return fmt.Errorf("desired RUNNING: %v", l)
		}
		return nil
	})
	if _, err := c.UpdateTaskProtection(t.Context(), &ecs.UpdateTaskProtectionInput{Cluster: aws.String("prot"), Tasks: []string{keep}, ProtectionEnabled: false}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the formerly protected task stopped", func() error {
		if l := live(); len(l) != 0 {
			return fmt.Errorf("desired RUNNING: %v", l)
		}
		return nil
	})
}

// A DAEMON service runs one task on each ACTIVE instance: new instances
// get one, a draining instance loses its own, and desiredCount follows.
func TestDaemonServiceFollowsInstances(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("daemons")})
	register(t, c, "agent")
	for _, bad := range []struct {
		in   ecs.CreateServiceInput
		want string
	}{
		{ecs.CreateServiceInput{PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("instanceId")}}},
			"The daemon scheduling strategy does not support placement strategies. Remove the placement strategy and try again"},
		{ecs.CreateServiceInput{LaunchType: types.LaunchTypeFargate}, "Fargate does not support the DAEMON scheduling strategy."},
		{ecs.CreateServiceInput{CapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Weight: 1}}},
			"Specifying a capacity provider strategy is not supported when you create a service using the DAEMON scheduling strategy."},
		{ecs.CreateServiceInput{DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: aws.Int32(200)}},
			"The daemon scheduling strategy does not support values above 100 for maximumPercent on a deployment configuration. Change the maximumPercent value to 100, and try again"},
	} {
		in := bad.in
		in.Cluster, in.ServiceName, in.TaskDefinition, in.SchedulingStrategy = aws.String("daemons"), aws.String("bad"), aws.String("agent"), types.SchedulingStrategyDaemon
		_, err := c.CreateService(t.Context(), &in)
		wantAPIError[*types.InvalidParameterException](t, err, bad.want)
	}

	createService(t, c, &ecs.CreateServiceInput{Cluster: aws.String("daemons"), ServiceName: aws.String("agent"), TaskDefinition: aws.String("agent"),
		SchedulingStrategy: types.SchedulingStrategyDaemon})
	perInstance := func() map[string]int {
		arns, err := c.ListTasks(t.Context(), &ecs.ListTasksInput{Cluster: aws.String("daemons"), ServiceName: aws.String("agent"), DesiredStatus: types.DesiredStatusRunning})
		if err != nil {
			t.Fatal(err)
		}
		if len(arns.TaskArns) == 0 {
			return nil
		}
		d, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String("daemons"), Tasks: arns.TaskArns})
		if err != nil {
			t.Fatal(err)
		}
		return countBy(d.Tasks, func(task types.Task) string { return aws.ToString(task.ContainerInstanceArn) })
	}
	want := func(n int) {
		t.Helper()
		waitFor(t, 30*time.Second, fmt.Sprintf("one daemon task on each of %d instances", n), func() error {
			got := perInstance()
			for _, k := range got {
				if k != 1 {
					return fmt.Errorf("two tasks on one instance: %v", got)
				}
			}
			svc := describeService(t, c, "daemons", "agent")
			if len(got) != n || svc.DesiredCount != int32(n) {
				return fmt.Errorf("tasks on %d instances, desiredCount %d", len(got), svc.DesiredCount)
			}
			return nil
		})
	}
	want(3)
	extra := registerInstance(t, c, "daemons", "i-0daemon000000001", "us-east-1a", 2048, 4096)
	want(4)
	if got := perInstance(); got[aws.ToString(extra.ContainerInstanceArn)] != 1 {
		t.Errorf("the new instance has no daemon task: %v", got)
	}
	if _, err := c.UpdateContainerInstancesState(t.Context(), &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String("daemons"),
		ContainerInstances: []string{aws.ToString(extra.ContainerInstanceArn)}, Status: types.ContainerInstanceStatusDraining}); err != nil {
		t.Fatal(err)
	}
	want(3)
}

// TestDaemonServiceStopsTaskOnInstanceLeavingConstraints: when an instance
// stops meeting a DAEMON service's memberOf constraint, the task on THAT
// instance stops ("will stop tasks that do not meet the placement
// constraints"), with the scheduler's stop code and reason and the
// service's stopped event, and the instances that still qualify keep
// theirs.
func TestDaemonServiceStopsTaskOnInstanceLeavingConstraints(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	const cluster = "edges"
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String(cluster), Tags: []types.Tag{tag("ecsd:sim-instances", "3")}})
	instances := listInstances(t, c, ecs.ListContainerInstancesInput{Cluster: aws.String(cluster)})
	if len(instances) != 3 {
		t.Fatalf("want 3 instances, got %v", instances)
	}
	edge := func(arn string) types.Attribute {
		return types.Attribute{Name: aws.String("role"), Value: aws.String("edge"), TargetId: aws.String(arn)}
	}
	var attrs []types.Attribute
	for _, arn := range instances {
		attrs = append(attrs, edge(arn))
	}
	if _, err := c.PutAttributes(t.Context(), &ecs.PutAttributesInput{Cluster: aws.String(cluster), Attributes: attrs}); err != nil {
		t.Fatal(err)
	}
	register(t, c, "edge-agent")
	createService(t, c, &ecs.CreateServiceInput{Cluster: aws.String(cluster), ServiceName: aws.String("edge-agent"),
		TaskDefinition: aws.String("edge-agent"), SchedulingStrategy: types.SchedulingStrategyDaemon,
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:role == edge")}}})

	// running maps each instance to the ARN of its task that should run.
	running := func() map[string]string {
		arns, err := c.ListTasks(t.Context(), &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String("edge-agent"), DesiredStatus: types.DesiredStatusRunning})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		if len(arns.TaskArns) == 0 {
			return out
		}
		d, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns.TaskArns})
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range d.Tasks {
			if prev, ok := out[aws.ToString(task.ContainerInstanceArn)]; ok {
				t.Fatalf("two tasks on one instance: %s and %s", prev, aws.ToString(task.TaskArn))
			}
			out[aws.ToString(task.ContainerInstanceArn)] = aws.ToString(task.TaskArn)
		}
		return out
	}
	var before map[string]string
	waitFor(t, 30*time.Second, "a daemon task on each of the 3 edge instances", func() error {
		before = running()
		if len(before) != 3 {
			return fmt.Errorf("tasks on %d instances: %v", len(before), before)
		}
		return nil
	})

	// Take the role from the instance whose task has the greatest ID: a
	// scale-in that picks by age, then ID, would stop another one.
	leaving := ""
	for inst, arn := range before {
		if leaving == "" || arn > before[leaving] {
			leaving = inst
		}
	}
	gone := before[leaving]
	if _, err := c.DeleteAttributes(t.Context(), &ecs.DeleteAttributesInput{Cluster: aws.String(cluster),
		Attributes: []types.Attribute{{Name: aws.String("role"), TargetId: aws.String(leaving)}}}); err != nil {
		t.Fatal(err)
	}

	var stopped types.Task
	waitFor(t, 30*time.Second, "the task on the instance that left the constraint to stop", func() error {
		d, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{gone}})
		if err != nil {
			return err
		}
		if len(d.Tasks) != 1 {
			return fmt.Errorf("task %s: failures %v", gone, d.Failures)
		}
		if st := aws.ToString(d.Tasks[0].LastStatus); st != "STOPPED" {
			return fmt.Errorf("task %s is %s (desired %s); running tasks %v", gone, st, aws.ToString(d.Tasks[0].DesiredStatus), running())
		}
		stopped = d.Tasks[0]
		return nil
	})
	svc := describeService(t, c, cluster, "edge-agent")
	if stopped.StopCode != types.TaskStopCodeServiceSchedulerInitiated {
		t.Errorf("stopCode = %q, want %q", stopped.StopCode, types.TaskStopCodeServiceSchedulerInitiated)
	}
	if want := "Scaling activity initiated by (deployment " + aws.ToString(svc.Deployments[0].Id) + ")"; aws.ToString(stopped.StoppedReason) != want {
		t.Errorf("stoppedReason = %q, want %q", aws.ToString(stopped.StoppedReason), want)
	}
	id := gone[strings.LastIndexByte(gone, '/')+1:]
	wantEvent := "(service edge-agent) has stopped 1 running tasks: (task " + id + ")."
	if !slices.ContainsFunc(svc.Events, func(e types.ServiceEvent) bool { return aws.ToString(e.Message) == wantEvent }) {
		t.Errorf("no event %q in %v", wantEvent, eventMessages(svc))
	}
	waitFor(t, 30*time.Second, "desiredCount 2 with the edge instances' tasks untouched", func() error {
		svc := describeService(t, c, cluster, "edge-agent")
		now := running()
		want := maps.Clone(before)
		delete(want, leaving)
		if svc.DesiredCount != 2 || svc.RunningCount != 2 || !maps.Equal(now, want) {
			return fmt.Errorf("desiredCount %d, runningCount %d, tasks %v, want %v", svc.DesiredCount, svc.RunningCount, now, want)
		}
		return nil
	})

	// The role back: the instance gets a new task, the others keep theirs.
	if _, err := c.PutAttributes(t.Context(), &ecs.PutAttributesInput{Cluster: aws.String(cluster), Attributes: []types.Attribute{edge(leaving)}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "a new daemon task on the instance back in the constraint", func() error {
		now := running()
		for inst, arn := range before {
			if inst != leaving && now[inst] != arn {
				return fmt.Errorf("instance %s runs %q, want %q", inst, now[inst], arn)
			}
		}
		if now[leaving] == "" || now[leaving] == gone {
			return fmt.Errorf("instance %s runs %q", leaving, now[leaving])
		}
		return nil
	})
}
