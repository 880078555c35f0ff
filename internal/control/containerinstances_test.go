package control_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/control"
	"github.com/ecsd/ecsd/internal/ecs"
)

// agentRegistration is a RegisterContainerInstance as the ECS agent sends
// it: an identity document, the agent's resources and attributes.
func agentRegistration(cluster, ec2ID, zone string, cpu, mem int32, extra ...types.Attribute) control.RegisterContainerInstanceRequest {
	doc := fmt.Sprintf(`{"accountId":"123456789012","architecture":"x86_64","availabilityZone":%q,"imageId":"ami-0abc","instanceId":%q,"instanceType":"m5.large","privateIp":"10.0.0.1","region":"eu-west-2","version":"2017-09-30"}`, zone, ec2ID)
	return control.RegisterContainerInstanceRequest{
		Cluster: cluster, InstanceIdentityDocument: doc, InstanceIdentityDocumentSignature: "sig",
		TotalResources: []types.Resource{
			{Name: ptr("CPU"), Type: ptr("INTEGER"), IntegerValue: cpu},
			{Name: ptr("MEMORY"), Type: ptr("INTEGER"), IntegerValue: mem},
			{Name: ptr("PORTS"), Type: ptr("STRINGSET"), StringSetValue: []string{"22", "2375", "2376", "51678", "51679"}},
			{Name: ptr("PORTS_UDP"), Type: ptr("STRINGSET"), StringSetValue: []string{}},
		},
		VersionInfo: &types.VersionInfo{AgentVersion: ptr("1.80.0"), AgentHash: ptr("abc"), DockerVersion: ptr("DockerVersion: 20.10")},
		Attributes:  append(ecs.AgentAttributes("linux", "LINUX"), extra...),
	}
}

func attr(ci types.ContainerInstance, name string) (string, bool) {
	for _, a := range ci.Attributes {
		if *a.Name == name {
			return deref(a.Value), true
		}
	}
	return "", false
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func resource(rs []types.Resource, name string) types.Resource {
	for _, r := range rs {
		if *r.Name == name {
			return r
		}
	}
	return types.Resource{}
}

func wantCode(t *testing.T, err error, code, msg string) {
	t.Helper()
	var e *ecs.Error
	if !errors.As(err, &e) || e.Code != code || msg != "" && e.Message != msg {
		t.Fatalf("error = %v, want %s %q", err, code, msg)
	}
}

// newBareCluster creates a cluster without simulated instances.
func newBareCluster(t *testing.T, c *control.Control, name string) {
	t.Helper()
	if _, err := c.CreateCluster(context.Background(), alice, control.CreateClusterRequest{Name: name, Tags: []types.Tag{{Key: ptr(control.TagSimInstances), Value: ptr("0")}}}); err != nil {
		t.Fatal(err)
	}
}

func TestRegisterContainerInstance(t *testing.T) {
	ctx := context.Background()
	c, clk := newControl(t)
	newBareCluster(t, c, "prod")
	ci, err := c.RegisterContainerInstance(ctx, alice, agentRegistration("prod", "i-0123", "eu-west-2b", 2048, 3705,
		types.Attribute{Name: ptr("stack"), Value: ptr("prod")}))
	if err != nil {
		t.Fatal(err)
	}
	arn := *ci.ContainerInstanceArn
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	if want := "arn:aws:ecs:eu-west-2:123456789012:container-instance/prod/"; !strings.HasPrefix(arn, want) || len(id) != 32 {
		t.Errorf("ARN %s: want %s<32 hex digits>", arn, want)
	}
	if *ci.Status != "ACTIVE" || !ci.AgentConnected || ci.Version != 1 || *ci.Ec2InstanceId != "i-0123" || !ci.RegisteredAt.Equal(clk.Now().Truncate(time.Millisecond)) {
		t.Errorf("registered instance: status %s connected %t version %d ec2 %s at %v", *ci.Status, ci.AgentConnected, ci.Version, *ci.Ec2InstanceId, ci.RegisteredAt)
	}
	for name, want := range map[string]string{
		"ecs.instance-type": "m5.large", "ecs.availability-zone": "eu-west-2b", "ecs.ami-id": "ami-0abc",
		"ecs.cpu-architecture": "x86_64", "ecs.os-type": "linux", "stack": "prod",
	} {
		if got, ok := attr(ci, name); !ok || got != want {
			t.Errorf("attribute %s = %q, %t; want %q", name, got, ok, want)
		}
	}
	if _, ok := attr(ci, "com.amazonaws.ecs.capability.docker-remote-api.1.18"); !ok {
		t.Error("the agent's capability attributes are missing")
	}
	if r := resource(ci.RemainingResources, "MEMORY"); r.IntegerValue != 3705 || *r.Type != "INTEGER" {
		t.Errorf("remaining MEMORY = %+v", r)
	}
	if r := resource(ci.RegisteredResources, "PORTS"); !slices.Equal(r.StringSetValue, []string{"22", "2375", "2376", "51678", "51679"}) || *r.Type != "STRINGSET" {
		t.Errorf("registered PORTS = %+v", r)
	}

	// Re-registration keeps the ARN and refreshes the resources.
	again := agentRegistration("prod", "i-0123", "eu-west-2b", 4096, 7000)
	again.ContainerInstanceArn = arn
	ci2, err := c.RegisterContainerInstance(ctx, alice, again)
	if err != nil {
		t.Fatal(err)
	}
	if *ci2.ContainerInstanceArn != arn || ci2.Version != 2 || resource(ci2.RegisteredResources, "CPU").IntegerValue != 4096 {
		t.Errorf("re-registration: arn %s version %d cpu %d", *ci2.ContainerInstanceArn, ci2.Version, resource(ci2.RegisteredResources, "CPU").IntegerValue)
	}
	if v, _ := attr(ci2, "stack"); v != "prod" {
		t.Error("re-registration lost a custom attribute")
	}
	// Another registration of the same EC2 instance is another container
	// instance: ECS's registration is not idempotent.
	ci3, err := c.RegisterContainerInstance(ctx, alice, agentRegistration("prod", "i-0123", "eu-west-2b", 2048, 3705))
	if err != nil || *ci3.ContainerInstanceArn == arn {
		t.Fatalf("second registration: %v, %v", ci3.ContainerInstanceArn, err)
	}

	// Bad input.
	bad := agentRegistration("prod", "i-1", "eu-west-2a", 1, 1)
	bad.InstanceIdentityDocument = "{not json"
	_, err = c.RegisterContainerInstance(ctx, alice, bad)
	wantCode(t, err, "InvalidParameterException", "instanceIdentityDocument is not a valid instance identity document.")
	bad = agentRegistration("prod", "i-1", "eu-west-2a", 1, 1)
	bad.TotalResources = append(bad.TotalResources, types.Resource{Name: ptr("DISK"), Type: ptr("INTEGER")})
	_, err = c.RegisterContainerInstance(ctx, alice, bad)
	wantCode(t, err, "InvalidParameterException", "")
	_, err = c.RegisterContainerInstance(ctx, alice, agentRegistration("nope", "i-1", "eu-west-2a", 1, 1))
	wantCode(t, err, "ClusterNotFoundException", "Cluster not found.")
	var many []types.Attribute
	for i := range 11 {
		many = append(many, types.Attribute{Name: ptr(fmt.Sprintf("custom%d", i))})
	}
	_, err = c.RegisterContainerInstance(ctx, alice, agentRegistration("prod", "i-1", "eu-west-2a", 1, 1, many...))
	wantCode(t, err, "AttributeLimitExceededException", "")

	// A deregistered instance cannot register again.
	if _, err := c.DeregisterContainerInstance(ctx, alice, "prod", arn, false); err != nil {
		t.Fatal(err)
	}
	_, err = c.RegisterContainerInstance(ctx, alice, again)
	wantCode(t, err, "ClientException", "Container instance "+id+" is inactive.")
}

func TestDescribeAndListContainerInstances(t *testing.T) {
	ctx := context.Background()
	c, clk := newControl(t)
	newBareCluster(t, c, "prod")
	var arns []string
	for i, zone := range []string{"eu-west-2a", "eu-west-2b", "eu-west-2a"} {
		r := agentRegistration("prod", fmt.Sprintf("i-%d", i), zone, 2048, 3705)
		r.Tags = []types.Tag{{Key: ptr("n"), Value: ptr(fmt.Sprint(i))}}
		ci, err := c.RegisterContainerInstance(ctx, alice, r)
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, *ci.ContainerInstanceArn)
		clk.Advance(time.Hour)
	}
	slices.Sort(arns) // listings are in ID order

	got, failures, err := c.DescribeContainerInstances(ctx, alice, "prod", []string{arns[0], "nope", instanceID(arns[1])}, []types.ContainerInstanceField{types.ContainerInstanceFieldTags, types.ContainerInstanceFieldContainerInstanceHealth})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(failures) != 1 || *failures[0].Reason != "MISSING" ||
		*failures[0].Arn != "arn:aws:ecs:eu-west-2:123456789012:container-instance/prod/nope" {
		t.Fatalf("describe: %d instances, failures %v", len(got), failures)
	}
	if len(got[0].Tags) != 1 || got[0].HealthStatus == nil || got[0].HealthStatus.OverallStatus != types.InstanceHealthCheckStateOk {
		t.Errorf("include TAGS and CONTAINER_INSTANCE_HEALTH: tags %v health %+v", got[0].Tags, got[0].HealthStatus)
	}
	plain, _, _ := c.DescribeContainerInstances(ctx, alice, "prod", arns[:1], nil)
	if len(plain[0].Tags) != 0 || plain[0].Tags == nil || plain[0].HealthStatus != nil {
		t.Errorf("without include: tags %v health %v, want [] and none", plain[0].Tags, plain[0].HealthStatus)
	}
	_, _, err = c.DescribeContainerInstances(ctx, alice, "prod", nil, nil)
	wantCode(t, err, "ClientException", "Container Instances cannot be empty.")

	list := func(r control.ListContainerInstancesRequest) []string {
		t.Helper()
		r.Cluster = "prod"
		out, _, err := c.ListContainerInstances(ctx, alice, r)
		if err != nil {
			t.Fatalf("ListContainerInstances(%+v): %v", r, err)
		}
		return out
	}
	if got := list(control.ListContainerInstancesRequest{}); !slices.Equal(got, arns) {
		t.Errorf("list all = %v, want %v", got, arns)
	}
	if got := list(control.ListContainerInstancesRequest{Filter: "attribute:ecs.availability-zone == eu-west-2b"}); len(got) != 1 {
		t.Errorf("filter by zone: %v", got)
	}
	if got := list(control.ListContainerInstancesRequest{Filter: "attribute:ecs.instance-type =~ m5.* and ec2InstanceId in [i-0, i-2]"}); len(got) != 2 {
		t.Errorf("compound filter: %v", got)
	}
	if got := list(control.ListContainerInstancesRequest{Filter: "registeredAt > 2024-01-02T04:00:00Z"}); len(got) != 2 {
		t.Errorf("registeredAt filter: %v", got)
	}
	_, _, err = c.ListContainerInstances(ctx, alice, control.ListContainerInstancesRequest{Cluster: "prod", Filter: "attribute:x like y"})
	wantCode(t, err, "InvalidParameterException", "")
	_, _, err = c.ListContainerInstances(ctx, alice, control.ListContainerInstancesRequest{Cluster: "prod", Filter: strings.Repeat("x", control.MaxFilterLength+1)})
	wantCode(t, err, "InvalidParameterException", "filter can have at most 2000 characters.")

	// Pagination, with and without a filter.
	for _, filter := range []string{"", "agentConnected == true"} {
		var all []string
		token := ""
		for {
			page, next, err := c.ListContainerInstances(ctx, alice, control.ListContainerInstancesRequest{Cluster: "prod", Filter: filter, MaxResults: ptr(int32(2)), NextToken: token})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page...)
			if next == "" {
				break
			}
			token = next
		}
		if !slices.Equal(all, arns) {
			t.Errorf("filter %q: pages gave %v, want %v", filter, all, arns)
		}
	}

	// Status: DRAINING ones, and INACTIVE ones are never listed.
	if _, _, err := c.UpdateContainerInstancesState(ctx, alice, "prod", arns[:1], types.ContainerInstanceStatusDraining); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeregisterContainerInstance(ctx, alice, "prod", arns[2], false); err != nil {
		t.Fatal(err)
	}
	if got := list(control.ListContainerInstancesRequest{Status: types.ContainerInstanceStatusDraining}); !slices.Equal(got, arns[:1]) {
		t.Errorf("DRAINING = %v", got)
	}
	if got := list(control.ListContainerInstancesRequest{}); !slices.Equal(got, arns[:2]) {
		t.Errorf("default listing = %v, want the ACTIVE and DRAINING ones", got)
	}
	cl := clTestDescribe(t, c, alice, "prod")
	if cl.RegisteredContainerInstancesCount != 2 {
		t.Errorf("registeredContainerInstancesCount = %d, want 2", cl.RegisteredContainerInstancesCount)
	}
	gone, _, _ := c.DescribeContainerInstances(ctx, alice, "prod", arns[2:], nil)
	if len(gone) != 1 || *gone[0].Status != "INACTIVE" {
		t.Errorf("a deregistered instance is described INACTIVE: %+v", gone)
	}
}

func instanceID(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

func TestContainerInstanceState(t *testing.T) {
	ctx := context.Background()
	c, _ := newControl(t)
	newBareCluster(t, c, "prod")
	ci, err := c.RegisterContainerInstance(ctx, alice, agentRegistration("prod", "i-1", "eu-west-2a", 2048, 3705))
	if err != nil {
		t.Fatal(err)
	}
	arn := *ci.ContainerInstanceArn
	got, failures, err := c.UpdateContainerInstancesState(ctx, alice, "prod", []string{arn, "nope"}, types.ContainerInstanceStatusDraining)
	if err != nil || len(got) != 1 || *got[0].Status != "DRAINING" || got[0].Version != 2 || len(failures) != 1 || *failures[0].Reason != "MISSING" {
		t.Fatalf("drain: %v %v %v", got, failures, err)
	}
	// The same status again changes nothing.
	got, _, _ = c.UpdateContainerInstancesState(ctx, alice, "prod", []string{arn}, types.ContainerInstanceStatusDraining)
	if got[0].Version != 2 {
		t.Errorf("version after draining again = %d, want 2", got[0].Version)
	}
	got, _, _ = c.UpdateContainerInstancesState(ctx, alice, "prod", []string{arn}, types.ContainerInstanceStatusActive)
	if *got[0].Status != "ACTIVE" || got[0].Version != 3 {
		t.Errorf("activate: %s %d", *got[0].Status, got[0].Version)
	}
	for _, s := range []types.ContainerInstanceStatus{"REGISTERING", "DEREGISTERING", "INACTIVE"} {
		_, _, err = c.UpdateContainerInstancesState(ctx, alice, "prod", []string{arn}, s)
		wantCode(t, err, "InvalidParameterException", "Container instance status should be one of [ACTIVE, DRAINING]")
	}
	_, _, err = c.UpdateContainerInstancesState(ctx, alice, "prod", make([]string, 11), types.ContainerInstanceStatusActive)
	wantCode(t, err, "InvalidParameterException", "containerInstances can have at most 10 items.")
	if _, err := c.DeregisterContainerInstance(ctx, alice, "prod", arn, false); err != nil {
		t.Fatal(err)
	}
	_, failures, _ = c.UpdateContainerInstancesState(ctx, alice, "prod", []string{arn}, types.ContainerInstanceStatusActive)
	if len(failures) != 1 || *failures[0].Reason != "INACTIVE" {
		t.Errorf("a deregistered instance: failures %v", failures)
	}
	_, err = c.DeregisterContainerInstance(ctx, alice, "prod", "nope", false)
	wantCode(t, err, "InvalidParameterException", "The referenced container instance was not found.")
}

func TestContainerInstanceAttributes(t *testing.T) {
	ctx := context.Background()
	c, _ := newControl(t)
	newBareCluster(t, c, "prod")
	ci, err := c.RegisterContainerInstance(ctx, alice, agentRegistration("prod", "i-1", "eu-west-2a", 2048, 3705))
	if err != nil {
		t.Fatal(err)
	}
	arn := *ci.ContainerInstanceArn
	put := func(attrs ...types.Attribute) error {
		_, err := c.PutAttributes(ctx, alice, "prod", attrs)
		return err
	}
	if err := put(types.Attribute{Name: ptr("stack"), Value: ptr("blue"), TargetId: ptr(arn)},
		types.Attribute{Name: ptr("gpu"), TargetId: ptr(instanceID(arn)), TargetType: types.TargetTypeContainerInstance}); err != nil {
		t.Fatal(err)
	}
	list, _, err := c.ListAttributes(ctx, alice, control.ListAttributesRequest{Cluster: "prod", TargetType: types.TargetTypeContainerInstance, AttributeName: ptr("stack"), AttributeValue: ptr("blue")})
	if err != nil || len(list) != 1 || *list[0].TargetId != arn {
		t.Fatalf("ListAttributes: %v %v", list, err)
	}
	// Built-in attributes are listed too.
	list, _, _ = c.ListAttributes(ctx, alice, control.ListAttributesRequest{Cluster: "prod", TargetType: types.TargetTypeContainerInstance, AttributeName: ptr("ecs.os-type")})
	if len(list) != 1 || *list[0].Value != "linux" {
		t.Errorf("ecs.os-type: %v", list)
	}
	// Ten custom attributes at most; built-in ones do not count.
	for i := range 8 {
		if err := put(types.Attribute{Name: ptr(fmt.Sprintf("c%d", i)), TargetId: ptr(arn)}); err != nil {
			t.Fatalf("custom attribute %d: %v", i+3, err)
		}
	}
	wantCode(t, put(types.Attribute{Name: ptr("eleventh"), TargetId: ptr(arn)}), "AttributeLimitExceededException", "")
	if _, err := c.DeleteAttributes(ctx, alice, "prod", []types.Attribute{{Name: ptr("gpu"), TargetId: ptr(arn)}}); err != nil {
		t.Fatal(err)
	}
	if err := put(types.Attribute{Name: ptr("eleventh"), TargetId: ptr(arn)}); err != nil {
		t.Errorf("after a delete there is room again: %v", err)
	}
	wantCode(t, put(types.Attribute{Name: ptr("x"), TargetId: ptr("nope")}), "TargetNotFoundException", "")
	wantCode(t, put(types.Attribute{Name: ptr("bad name!"), TargetId: ptr(arn)}), "InvalidParameterException", "")
	wantCode(t, put(types.Attribute{Name: ptr("x"), Value: ptr(" padded"), TargetId: ptr(arn)}), "InvalidParameterException", "")
	// Tags on the instance's ARN.
	if err := c.TagResource(ctx, alice, arn, []types.Tag{{Key: ptr("k"), Value: ptr("v")}}); err != nil {
		t.Fatal(err)
	}
	if tags, err := c.ListTagsForResource(ctx, alice, arn); err != nil || len(tags) != 1 {
		t.Errorf("ListTagsForResource = %v, %v", tags, err)
	}
	// Once deregistered, the instance is no attribute target.
	if _, err := c.DeregisterContainerInstance(ctx, alice, "prod", arn, false); err != nil {
		t.Fatal(err)
	}
	wantCode(t, put(types.Attribute{Name: ptr("x"), TargetId: ptr(arn)}), "TargetNotFoundException", "")
	if list, _, _ := c.ListAttributes(ctx, alice, control.ListAttributesRequest{Cluster: "prod", TargetType: types.TargetTypeContainerInstance}); len(list) != 0 {
		t.Errorf("attributes of a deregistered instance are listed: %d", len(list))
	}
}

// taskDef is a bridge-mode revision reserving cpu, memory and a host port.
func taskDef(family string, cpu, mem int32, hostPort int32) types.TaskDefinition {
	cd := types.ContainerDefinition{Name: ptr("app"), Image: ptr("nginx"), Cpu: cpu, Memory: ptr(mem)}
	if hostPort > 0 {
		cd.PortMappings = []types.PortMapping{{ContainerPort: ptr(int32(80)), HostPort: ptr(hostPort)}}
	}
	return types.TaskDefinition{Family: ptr(family), ContainerDefinitions: []types.ContainerDefinition{cd}}
}

func TestRunTaskPlacement(t *testing.T) {
	ctx := context.Background()
	c, _ := newControl(t)
	newBareCluster(t, c, "prod")
	if _, err := c.RegisterTaskDefinition(ctx, alice, taskDef("big", 1024, 2000, 0), nil); err != nil {
		t.Fatal(err)
	}
	// Without a container instance ECS refuses the whole request.
	_, _, err := c.RunTask(ctx, alice, control.RunTaskRequest{Cluster: "prod", TaskDefinition: "big", LaunchType: types.LaunchTypeEc2})
	wantCode(t, err, "InvalidParameterException", "No Container Instances were found in your cluster.")
	_, _, err = c.RunTask(ctx, alice, control.RunTaskRequest{Cluster: "prod", TaskDefinition: "big"}) // EC2 is the default
	wantCode(t, err, "InvalidParameterException", "No Container Instances were found in your cluster.")

	ci, err := c.RegisterContainerInstance(ctx, alice, agentRegistration("prod", "i-1", "eu-west-2c", 2048, 3705))
	if err != nil {
		t.Fatal(err)
	}
	// One instance takes one 2000 MiB task; the second of the same
	// request is refused for memory.
	tasks, failures, err := c.RunTask(ctx, alice, control.RunTaskRequest{Cluster: "prod", TaskDefinition: "big", Count: ptr(int32(2))})
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 || len(failures) != 1 || *failures[0].Reason != "RESOURCE:MEMORY" || *failures[0].Arn != *ci.ContainerInstanceArn {
		t.Fatalf("RunTask count 2: %d tasks, failures %v", len(tasks), failures)
	}
	task := tasks[0]
	if *task.ContainerInstanceArn != *ci.ContainerInstanceArn || *task.AvailabilityZone != "eu-west-2c" {
		t.Errorf("task placed on %v in %v", task.ContainerInstanceArn, task.AvailabilityZone)
	}
	if v, ok := slices.Values(task.Attributes), len(task.Attributes); ok != 1 || !slices.ContainsFunc(slices.Collect(v), func(a types.Attribute) bool { return *a.Name == "ecs.cpu-architecture" }) {
		t.Errorf("task attributes = %+v, want ecs.cpu-architecture", task.Attributes)
	}
	desc, _, _ := c.DescribeContainerInstances(ctx, alice, "prod", []string{*ci.ContainerInstanceArn}, nil)
	if r := resource(desc[0].RemainingResources, "MEMORY"); r.IntegerValue != 3705-2000 {
		t.Errorf("remaining MEMORY = %d, want %d", r.IntegerValue, 3705-2000)
	}
	if r := resource(desc[0].RemainingResources, "CPU"); r.IntegerValue != 1024 {
		t.Errorf("remaining CPU = %d, want 1024", r.IntegerValue)
	}
	if desc[0].PendingTasksCount != 1 || desc[0].RunningTasksCount != 0 {
		t.Errorf("counts: pending %d running %d", desc[0].PendingTasksCount, desc[0].RunningTasksCount)
	}
	arns, _, _ := c.ListTasks(ctx, alice, control.ListTasksRequest{Cluster: "prod", ContainerInstance: instanceID(*ci.ContainerInstanceArn)})
	if !slices.Equal(arns, []string{*task.TaskArn}) {
		t.Errorf("ListTasks on the instance = %v", arns)
	}

	// A host port is taken once.
	if _, err := c.RegisterTaskDefinition(ctx, alice, taskDef("web", 10, 10, 8080), nil); err != nil {
		t.Fatal(err)
	}
	tasks, failures, err = c.RunTask(ctx, alice, control.RunTaskRequest{Cluster: "prod", TaskDefinition: "web", Count: ptr(int32(2))})
	if err != nil || len(tasks) != 1 || len(failures) != 1 || *failures[0].Reason != "RESOURCE:PORTS" {
		t.Fatalf("two tasks on one host port: %d tasks, failures %v, %v", len(tasks), failures, err)
	}
	desc, _, _ = c.DescribeContainerInstances(ctx, alice, "prod", []string{*ci.ContainerInstanceArn}, nil)
	if ports := resource(desc[0].RemainingResources, "PORTS").StringSetValue; !slices.Contains(ports, "8080") {
		t.Errorf("remaining PORTS %v lack the task's 8080", ports)
	}

	// A task that needs an attribute the instance lacks.
	withRole := taskDef("role", 1, 1, 0)
	withRole.TaskRoleArn = ptr("arn:aws:iam::123456789012:role/r")
	withRole.RequiresAttributes = nil
	if _, err := c.RegisterTaskDefinition(ctx, alice, withRole, nil); err != nil {
		t.Fatal(err)
	}
	bare := agentRegistration("prod", "i-2", "eu-west-2a", 4096, 8000)
	bare.Attributes = nil
	if _, err := c.RegisterContainerInstance(ctx, alice, bare); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.UpdateContainerInstancesState(ctx, alice, "prod", []string{*ci.ContainerInstanceArn}, types.ContainerInstanceStatusDraining); err != nil {
		t.Fatal(err)
	}
	_, failures, err = c.RunTask(ctx, alice, control.RunTaskRequest{Cluster: "prod", TaskDefinition: "role"})
	if err != nil || len(failures) != 1 || *failures[0].Reason != "ATTRIBUTE" {
		t.Errorf("no instance with the role capability (the other DRAINING): failures %v, %v", failures, err)
	}

	// Stopping a task gives back what it held, once it is STOPPED.
	if _, err := c.StopTask(ctx, alice, "prod", *task.TaskArn, ""); err != nil {
		t.Fatal(err)
	}
}

func TestStartTaskOnInstances(t *testing.T) {
	ctx := context.Background()
	c, _ := newControl(t)
	newBareCluster(t, c, "prod")
	if _, err := c.RegisterTaskDefinition(ctx, alice, taskDef("big", 3000, 100, 0), nil); err != nil {
		t.Fatal(err)
	}
	small, err := c.RegisterContainerInstance(ctx, alice, agentRegistration("prod", "i-1", "eu-west-2a", 2048, 3705))
	if err != nil {
		t.Fatal(err)
	}
	large, err := c.RegisterContainerInstance(ctx, alice, agentRegistration("prod", "i-2", "eu-west-2b", 4096, 7000))
	if err != nil {
		t.Fatal(err)
	}
	gone, err := c.RegisterContainerInstance(ctx, alice, agentRegistration("prod", "i-3", "eu-west-2c", 4096, 7000))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeregisterContainerInstance(ctx, alice, "prod", *gone.ContainerInstanceArn, false); err != nil {
		t.Fatal(err)
	}
	tasks, failures, err := c.StartTask(ctx, alice, control.StartTaskRequest{
		Cluster: "prod", TaskDefinition: "big",
		ContainerInstances: []string{*small.ContainerInstanceArn, instanceID(*large.ContainerInstanceArn), "nope", *gone.ContainerInstanceArn},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 || *tasks[0].ContainerInstanceArn != *large.ContainerInstanceArn || tasks[0].LaunchType != "EC2" {
		t.Fatalf("tasks: %+v", tasks)
	}
	want := []string{"RESOURCE:CPU", "MISSING", "INACTIVE"}
	var got []string
	for _, f := range failures {
		got = append(got, *f.Reason)
	}
	if !slices.Equal(got, want) {
		t.Errorf("failure reasons = %v, want %v", got, want)
	}
	if *failures[1].Arn != "arn:aws:ecs:eu-west-2:123456789012:container-instance/prod/nope" {
		t.Errorf("MISSING arn = %s", *failures[1].Arn)
	}
	// The large instance has 1096 CPU units left: another 3000 does not fit.
	_, failures, _ = c.StartTask(ctx, alice, control.StartTaskRequest{Cluster: "prod", TaskDefinition: "big", ContainerInstances: []string{*large.ContainerInstanceArn}})
	if len(failures) != 1 || *failures[0].Reason != "RESOURCE:CPU" {
		t.Errorf("second task on the large instance: %v", failures)
	}
}

func TestDeregisterAndDeleteCluster(t *testing.T) {
	ctx := context.Background()
	c, clk := newControl(t)
	newBareCluster(t, c, "prod")
	if _, err := c.RegisterTaskDefinition(ctx, alice, taskDef("web", 10, 10, 0), nil); err != nil {
		t.Fatal(err)
	}
	ci, err := c.RegisterContainerInstance(ctx, alice, agentRegistration("prod", "i-1", "eu-west-2a", 2048, 3705))
	if err != nil {
		t.Fatal(err)
	}
	arn := *ci.ContainerInstanceArn
	tasks, _, err := c.RunTask(ctx, alice, control.RunTaskRequest{Cluster: "prod", TaskDefinition: "web"})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("RunTask: %v %v", tasks, err)
	}
	_, err = c.DeleteCluster(ctx, alice, "prod")
	wantCode(t, err, "ClusterContainsTasksException", "")
	_, err = c.DeregisterContainerInstance(ctx, alice, "prod", arn, false)
	wantCode(t, err, "InvalidParameterException", "Found running tasks on the instance.")
	clk.Advance(time.Second)
	out, err := c.DeregisterContainerInstance(ctx, alice, "prod", arn, true)
	if err != nil || *out.Status != "INACTIVE" {
		t.Fatalf("forced deregistration: %v %v", out.Status, err)
	}
	desc, _, _ := c.DescribeTasks(ctx, alice, "prod", []string{*tasks[0].TaskArn}, false)
	if *desc[0].DesiredStatus != "STOPPED" || *desc[0].StoppedReason != control.ReasonInstanceDeregistered {
		t.Errorf("orphaned task: desired %s reason %v", *desc[0].DesiredStatus, desc[0].StoppedReason)
	}
	// Deregistering again answers the instance as it is.
	if again, err := c.DeregisterContainerInstance(ctx, alice, "prod", arn, false); err != nil || again.Version != out.Version {
		t.Errorf("deregistering again: %v %v", again.Version, err)
	}

	// An instance registered through the API blocks DeleteCluster; the
	// simulated ones go with the cluster.
	if _, err := c.CreateCluster(ctx, alice, control.CreateClusterRequest{Name: "sim", Tags: []types.Tag{{Key: ptr(control.TagSimInstances), Value: ptr("2")}}}); err != nil {
		t.Fatal(err)
	}
	api, err := c.RegisterContainerInstance(ctx, alice, agentRegistration("sim", "i-9", "eu-west-2a", 2048, 3705))
	if err != nil {
		t.Fatal(err)
	}
	if cl := clTestDescribe(t, c, alice, "sim"); cl.RegisteredContainerInstancesCount != 3 {
		t.Errorf("instances in sim = %d, want 2 simulated + 1", cl.RegisteredContainerInstancesCount)
	}
	_, err = c.DeleteCluster(ctx, alice, "sim")
	wantCode(t, err, "ClusterContainsContainerInstancesException", "The Cluster cannot be deleted while Container Instances are active or draining.")
	if _, err := c.DeregisterContainerInstance(ctx, alice, "sim", *api.ContainerInstanceArn, false); err != nil {
		t.Fatal(err)
	}
	cl, err := c.DeleteCluster(ctx, alice, "sim")
	if err != nil || *cl.Status != "INACTIVE" || cl.RegisteredContainerInstancesCount != 0 {
		t.Fatalf("DeleteCluster: %v %v", cl.RegisteredContainerInstancesCount, err)
	}
	_, err = c.CreateCluster(ctx, alice, control.CreateClusterRequest{Name: "x", Tags: []types.Tag{{Key: ptr(control.TagSimInstances), Value: ptr("lots")}}})
	wantCode(t, err, "InvalidParameterException", "")
}

func TestSimulatedInstances(t *testing.T) {
	ctx := context.Background()
	c, _ := newControl(t)
	c.Instances.Simulated = 4
	if _, err := c.CreateCluster(ctx, alice, control.CreateClusterRequest{Name: "prod"}); err != nil {
		t.Fatal(err)
	}
	arns, _, err := c.ListContainerInstances(ctx, alice, control.ListContainerInstancesRequest{Cluster: "prod"})
	if err != nil || len(arns) != 4 {
		t.Fatalf("list: %v %v", arns, err)
	}
	cis, _, _ := c.DescribeContainerInstances(ctx, alice, "prod", arns, nil)
	zones := map[string]bool{}
	for _, ci := range cis {
		z, _ := attr(ci, "ecs.availability-zone")
		zones[z] = true
		if it, _ := attr(ci, "ecs.instance-type"); it != control.SimInstanceType || resource(ci.RegisteredResources, "CPU").IntegerValue != control.SimInstanceCPU {
			t.Errorf("simulated instance: type %s cpu %d", it, resource(ci.RegisteredResources, "CPU").IntegerValue)
		}
	}
	if len(zones) != 4 || !zones["eu-west-2a"] || !zones["eu-west-2d"] {
		t.Errorf("zones = %v, want four distinct ones from eu-west-2a", zones)
	}
	// Start-up provisioning tops up to the flag and never duplicates.
	c.Instances.Simulated = 5
	if err := c.EnsureManagedInstances(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureManagedInstances(ctx); err != nil {
		t.Fatal(err)
	}
	if arns, _, _ := c.ListContainerInstances(ctx, alice, control.ListContainerInstancesRequest{Cluster: "prod"}); len(arns) != 5 {
		t.Errorf("after EnsureManagedInstances: %d instances, want 5", len(arns))
	}
	// The Docker host registers once and again with fresh resources.
	c.Instances.DockerHost = &control.HostInstance{EngineID: "engine-1", Architecture: "arm64", CPU: 8192, Memory: 16000, Ports: []int{22, 8080}}
	for range 2 {
		if err := c.EnsureManagedInstances(ctx); err != nil {
			t.Fatal(err)
		}
	}
	hosts, _, _ := c.ListContainerInstances(ctx, alice, control.ListContainerInstancesRequest{Cluster: "prod", Filter: "attribute:ecs.instance-type == docker-host"})
	if len(hosts) != 1 {
		t.Fatalf("docker hosts: %v", hosts)
	}
	host, _, _ := c.DescribeContainerInstances(ctx, alice, "prod", hosts, nil)
	if arch, _ := attr(host[0], "ecs.cpu-architecture"); arch != "arm64" || resource(host[0].RegisteredResources, "MEMORY").IntegerValue != 16000 {
		t.Errorf("docker host: arch %s memory %d", arch, resource(host[0].RegisteredResources, "MEMORY").IntegerValue)
	}
	// Another engine: the old host's agent is gone.
	c.Instances.DockerHost = &control.HostInstance{EngineID: "engine-2", CPU: 1024, Memory: 1000}
	if err := c.EnsureManagedInstances(ctx); err != nil {
		t.Fatal(err)
	}
	old, _, _ := c.DescribeContainerInstances(ctx, alice, "prod", hosts, nil)
	if old[0].AgentConnected {
		t.Error("the previous engine's host still has a connected agent")
	}
}

func TestUpdateContainerAgent(t *testing.T) {
	ctx := context.Background()
	c, clk := newControl(t)
	newBareCluster(t, c, "prod")
	ci, err := c.RegisterContainerInstance(ctx, alice, agentRegistration("prod", "i-1", "eu-west-2a", 2048, 3705))
	if err != nil {
		t.Fatal(err)
	}
	arn := *ci.ContainerInstanceArn
	got, err := c.UpdateContainerAgent(ctx, alice, "prod", arn)
	if err != nil || got.AgentUpdateStatus != types.AgentUpdateStatusPending {
		t.Fatalf("UpdateContainerAgent: %v %v", got.AgentUpdateStatus, err)
	}
	_, err = c.UpdateContainerAgent(ctx, alice, "prod", arn)
	wantCode(t, err, "UpdateInProgressException", "")
	var seen []types.AgentUpdateStatus
	for range 6 {
		d, _, _ := c.DescribeContainerInstances(ctx, alice, "prod", []string{arn}, nil)
		if len(seen) == 0 || seen[len(seen)-1] != d[0].AgentUpdateStatus {
			seen = append(seen, d[0].AgentUpdateStatus)
		}
		clk.Advance(ecs.AgentUpdateStep)
	}
	want := []types.AgentUpdateStatus{"PENDING", "STAGING", "STAGED", "UPDATING", "UPDATED"}
	if !slices.Equal(seen, want) {
		t.Errorf("progression %v, want %v", seen, want)
	}
	d, _, _ := c.DescribeContainerInstances(ctx, alice, "prod", []string{arn}, nil)
	if *d[0].VersionInfo.AgentVersion != ecs.LatestAgentVersion {
		t.Errorf("agent version after the update = %s", *d[0].VersionInfo.AgentVersion)
	}
	_, err = c.UpdateContainerAgent(ctx, alice, "prod", arn)
	wantCode(t, err, "NoUpdateAvailableException", "")
	noVersion := agentRegistration("prod", "i-2", "eu-west-2a", 2048, 3705)
	noVersion.VersionInfo = nil
	nv, err := c.RegisterContainerInstance(ctx, alice, noVersion)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateContainerAgent(ctx, alice, "prod", *nv.ContainerInstanceArn)
	wantCode(t, err, "MissingVersionException", "")
}

func TestAgentAPI(t *testing.T) {
	ctx := context.Background()
	c, clk := newControl(t)
	newBareCluster(t, c, "prod")
	if _, err := c.RegisterTaskDefinition(ctx, alice, taskDef("web", 10, 10, 0), nil); err != nil {
		t.Fatal(err)
	}
	ext, err := c.RegisterContainerInstance(ctx, alice, agentRegistration("prod", "i-1", "eu-west-2a", 2048, 3705,
		types.Attribute{Name: ptr("ecsd.agent"), Value: ptr("external")}))
	if err != nil {
		t.Fatal(err)
	}
	ep, err := c.DiscoverPollEndpoint(ctx, alice, "prod", *ext.ContainerInstanceArn)
	if err != nil || ep.Endpoint == "" {
		t.Fatalf("DiscoverPollEndpoint: %+v %v", ep, err)
	}
	tasks, _, err := c.RunTask(ctx, alice, control.RunTaskRequest{Cluster: "prod", TaskDefinition: "web"})
	if err != nil || len(tasks) != 1 {
		t.Fatal(err)
	}
	arn := *tasks[0].TaskArn
	clk.Advance(time.Second)
	ack, err := c.SubmitTaskStateChange(ctx, alice, "prod", arn, ecs.TaskStateChange{
		Status: "RUNNING", Containers: []types.ContainerStateChange{{ContainerName: ptr("app"), Status: ptr("RUNNING"), RuntimeId: ptr("docker-123")}},
	})
	if err != nil || ack != "ACK" {
		t.Fatalf("SubmitTaskStateChange: %q %v", ack, err)
	}
	desc, _, _ := c.DescribeTasks(ctx, alice, "prod", []string{arn}, false)
	if *desc[0].LastStatus != "RUNNING" || *desc[0].Containers[0].RuntimeId != "docker-123" || desc[0].Version != 2 {
		t.Errorf("after RUNNING: %s %v version %d", *desc[0].LastStatus, desc[0].Containers[0].RuntimeId, desc[0].Version)
	}
	if _, err := c.SubmitContainerStateChange(ctx, alice, control.ContainerStateChange{Cluster: "prod", Task: arn, ContainerName: "app", Status: "STOPPED", ExitCode: ptr(int32(3))}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SubmitTaskStateChange(ctx, alice, "prod", arn, ecs.TaskStateChange{Status: "STOPPED", Reason: "done"}); err != nil {
		t.Fatal(err)
	}
	desc, _, _ = c.DescribeTasks(ctx, alice, "prod", []string{arn}, false)
	if *desc[0].LastStatus != "STOPPED" || *desc[0].StoppedReason != "done" || *desc[0].Containers[0].ExitCode != 3 {
		t.Errorf("after STOPPED: %s %v exit %v", *desc[0].LastStatus, desc[0].StoppedReason, desc[0].Containers[0].ExitCode)
	}
	// Reports never move a task back.
	if _, err := c.SubmitTaskStateChange(ctx, alice, "prod", arn, ecs.TaskStateChange{Status: "RUNNING"}); err != nil {
		t.Fatal(err)
	}
	if d, _, _ := c.DescribeTasks(ctx, alice, "prod", []string{arn}, false); *d[0].LastStatus != "STOPPED" {
		t.Error("a STOPPED task moved back")
	}
	_, err = c.SubmitTaskStateChange(ctx, alice, "prod", arn, ecs.TaskStateChange{Status: "DANCING"})
	wantCode(t, err, "InvalidParameterException", "")

	// A task ecsd's runtime runs: a STOPPED report asks it to stop.
	if _, _, err := c.UpdateContainerInstancesState(ctx, alice, "prod", []string{*ext.ContainerInstanceArn}, types.ContainerInstanceStatusDraining); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterContainerInstance(ctx, alice, agentRegistration("prod", "i-2", "eu-west-2a", 2048, 3705)); err != nil {
		t.Fatal(err)
	}
	tasks, _, err = c.RunTask(ctx, alice, control.RunTaskRequest{Cluster: "prod", TaskDefinition: "web"})
	if err != nil || len(tasks) != 1 {
		t.Fatal(err)
	}
	ours := *tasks[0].TaskArn
	if _, err := c.SubmitTaskStateChange(ctx, alice, "prod", ours, ecs.TaskStateChange{Status: "RUNNING"}); err != nil {
		t.Fatal(err)
	}
	if d, _, _ := c.DescribeTasks(ctx, alice, "prod", []string{ours}, false); *d[0].LastStatus != "PENDING" {
		t.Errorf("a RUNNING report moved a task the runtime runs: %s", *d[0].LastStatus)
	}
	if _, err := c.SubmitTaskStateChange(ctx, alice, "prod", ours, ecs.TaskStateChange{Status: "STOPPED", Reason: "oom"}); err != nil {
		t.Fatal(err)
	}
	if d, _, _ := c.DescribeTasks(ctx, alice, "prod", []string{ours}, false); *d[0].DesiredStatus != "STOPPED" || *d[0].StoppedReason != "oom" {
		t.Errorf("a STOPPED report: desired %s reason %v", *d[0].DesiredStatus, d[0].StoppedReason)
	}

	// Tasks on ecsd's own instances have no agent outside ecsd.
	if _, err := c.CreateCluster(ctx, alice, control.CreateClusterRequest{Name: "sim"}); err != nil {
		t.Fatal(err)
	}
	tasks, _, err = c.RunTask(ctx, alice, control.RunTaskRequest{Cluster: "sim", TaskDefinition: "web"})
	if err != nil || len(tasks) != 1 {
		t.Fatal(err)
	}
	_, err = c.SubmitTaskStateChange(ctx, alice, "sim", *tasks[0].TaskArn, ecs.TaskStateChange{Status: "RUNNING"})
	wantCode(t, err, "InvalidParameterException", "")
}
