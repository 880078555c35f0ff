package e2e

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	domain "github.com/ecsd/ecsd/internal/ecs"
)

// registerInstance registers a container instance as the ECS agent does.
func registerInstance(t *testing.T, c *ecs.Client, cluster, ec2ID, zone string, cpu, mem int32, attrs ...types.Attribute) types.ContainerInstance {
	t.Helper()
	doc := fmt.Sprintf(`{"accountId":%q,"architecture":"x86_64","availabilityZone":%q,"imageId":"ami-0e2c8caa4b6378d8c","instanceId":%q,"instanceType":"m5.large","privateIp":"10.0.1.2","region":%q,"version":"2017-09-30"}`,
		defaultAccount, zone, ec2ID, defaultRegion)
	out, err := c.RegisterContainerInstance(t.Context(), &ecs.RegisterContainerInstanceInput{
		Cluster: aws.String(cluster), InstanceIdentityDocument: aws.String(doc), InstanceIdentityDocumentSignature: aws.String("c2ln"),
		TotalResources: []types.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: cpu},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: mem},
			{Name: aws.String("PORTS"), Type: aws.String("STRINGSET"), StringSetValue: []string{"22", "2375", "2376", "51678", "51679"}},
			{Name: aws.String("PORTS_UDP"), Type: aws.String("STRINGSET"), StringSetValue: []string{}},
		},
		VersionInfo: &types.VersionInfo{AgentVersion: aws.String("1.86.0"), AgentHash: aws.String("a1b2c3d4"), DockerVersion: aws.String("DockerVersion: 25.0.6")},
		Attributes:  append(domain.AgentAttributes("linux", "LINUX"), attrs...),
		Tags:        []types.Tag{tag("ec2", ec2ID)},
	})
	if err != nil {
		t.Fatalf("RegisterContainerInstance %s: %v", ec2ID, err)
	}
	return *out.ContainerInstance
}

func resourceOf(rs []types.Resource, name string) types.Resource {
	for _, r := range rs {
		if aws.ToString(r.Name) == name {
			return r
		}
	}
	return types.Resource{}
}

func listInstances(t *testing.T, c *ecs.Client, in ecs.ListContainerInstancesInput) []string {
	t.Helper()
	var out []string
	p := ecs.NewListContainerInstancesPaginator(c, &in)
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("ListContainerInstances(%v): %v", aws.ToString(in.Filter), err)
		}
		out = append(out, page.ContainerInstanceArns...)
	}
	return out
}

// TestContainerInstances drives container instances through the official
// client: three instances in two zones, filters, attributes, draining,
// StartTask and RunTask placement with ECS's failures, forced and plain
// deregistration, and DeleteCluster's refusal.
func TestContainerInstances(t *testing.T) {
	t.Parallel()
	e := startServer(t, withSimInstances(0))
	c := e.defaultClient()
	ctx := t.Context()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	web := types.ContainerDefinition{Name: aws.String("web"), Image: aws.String("nginx"), Cpu: 512, Memory: aws.Int32(1500),
		PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(8080)}}}
	if _, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"), ContainerDefinitions: []types.ContainerDefinition{web}}); err != nil {
		t.Fatal(err)
	}

	// No instance yet: ECS refuses EC2 tasks.
	_, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("prod"), TaskDefinition: aws.String("web"), LaunchType: types.LaunchTypeEc2})
	wantAPIError[*types.InvalidParameterException](t, err, "No Container Instances were found in your cluster.")

	a := registerInstance(t, c, "prod", "i-0aaaaaaaaaaaaaaa1", "us-east-1a", 2048, 3705, types.Attribute{Name: aws.String("stack"), Value: aws.String("blue")})
	b := registerInstance(t, c, "prod", "i-0bbbbbbbbbbbbbbb2", "us-east-1b", 1024, 1000)
	x := registerInstance(t, c, "prod", "i-0ccccccccccccccc3", "us-east-1a", 2048, 3705)
	for _, ci := range []types.ContainerInstance{a, b, x} {
		if !strings.HasPrefix(*ci.ContainerInstanceArn, "arn:aws:ecs:us-east-1:000000000000:container-instance/prod/") || *ci.Status != "ACTIVE" || !ci.AgentConnected {
			t.Fatalf("registered %s: %s connected=%t", *ci.ContainerInstanceArn, *ci.Status, ci.AgentConnected)
		}
	}
	all := []string{*a.ContainerInstanceArn, *b.ContainerInstanceArn, *x.ContainerInstanceArn}
	slices.Sort(all)

	desc, err := c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("prod"),
		ContainerInstances: []string{*a.ContainerInstanceArn, "0123456789abcdef0123456789abcdef"}, Include: []types.ContainerInstanceField{types.ContainerInstanceFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.ContainerInstances) != 1 || len(desc.Failures) != 1 || aws.ToString(desc.Failures[0].Reason) != "MISSING" || len(desc.ContainerInstances[0].Tags) != 1 {
		t.Fatalf("describe: %+v", desc)
	}
	if got := aws.ToString(desc.ContainerInstances[0].Ec2InstanceId); got != "i-0aaaaaaaaaaaaaaa1" {
		t.Errorf("ec2InstanceId %s", got)
	}
	cl, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"prod"}})
	if err != nil || cl.Clusters[0].RegisteredContainerInstancesCount != 3 {
		t.Fatalf("registeredContainerInstancesCount: %v %v", cl, err)
	}

	for filter, want := range map[string]int{
		"": 3,
		"attribute:ecs.availability-zone == us-east-1a":                                              2,
		"attribute:ecs.availability-zone in [us-east-1b, us-east-1c]":                                1,
		"attribute:ecs.instance-type =~ m5.* and not(attribute:ecs.availability-zone == us-east-1b)": 2,
		"attribute:stack exists": 1,
		"ec2InstanceId == i-0bbbbbbbbbbbbbbb2 or attribute:stack == blue": 2,
		"agentVersion < 1.90.0 && runningTasksCount == 0":                 3,
	} {
		in := ecs.ListContainerInstancesInput{Cluster: aws.String("prod"), MaxResults: aws.Int32(1)}
		if filter != "" {
			in.Filter = aws.String(filter)
		}
		if got := listInstances(t, c, in); len(got) != want {
			t.Errorf("filter %q lists %d, want %d", filter, len(got), want)
		}
	}
	_, err = c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("prod"), Filter: aws.String("attribute:stack ==")})
	var ipe *types.InvalidParameterException
	if !errors.As(err, &ipe) {
		t.Errorf("a malformed filter: %v", err)
	}

	// Attributes on a real target.
	if _, err := c.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String("prod"), Attributes: []types.Attribute{
		{Name: aws.String("tier"), Value: aws.String("gold"), TargetId: b.ContainerInstanceArn},
	}}); err != nil {
		t.Fatal(err)
	}
	attrs, err := c.ListAttributes(ctx, &ecs.ListAttributesInput{Cluster: aws.String("prod"), TargetType: types.TargetTypeContainerInstance, AttributeName: aws.String("tier")})
	if err != nil || len(attrs.Attributes) != 1 || *attrs.Attributes[0].TargetId != *b.ContainerInstanceArn {
		t.Fatalf("ListAttributes: %+v %v", attrs, err)
	}
	if got := listInstances(t, c, ecs.ListContainerInstancesInput{Cluster: aws.String("prod"), Filter: aws.String("attribute:tier == gold")}); len(got) != 1 {
		t.Errorf("a custom attribute is not visible to the filter: %v", got)
	}

	// StartTask: one task per instance that can take it.
	st, err := c.StartTask(ctx, &ecs.StartTaskInput{Cluster: aws.String("prod"), TaskDefinition: aws.String("web"),
		ContainerInstances: []string{*a.ContainerInstanceArn, *b.ContainerInstanceArn, "ffffffffffffffffffffffffffffffff"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Tasks) != 1 || *st.Tasks[0].ContainerInstanceArn != *a.ContainerInstanceArn || aws.ToString(st.Tasks[0].AvailabilityZone) != "us-east-1a" {
		t.Fatalf("StartTask tasks: %+v", st.Tasks)
	}
	var reasons []string
	for _, f := range st.Failures {
		reasons = append(reasons, aws.ToString(f.Reason))
	}
	if !slices.Equal(reasons, []string{"RESOURCE:MEMORY", "MISSING"}) {
		t.Errorf("StartTask failures %v, want RESOURCE:MEMORY for the small instance and MISSING", reasons)
	}
	// Port 8080 is now taken on a.
	st, err = c.StartTask(ctx, &ecs.StartTaskInput{Cluster: aws.String("prod"), TaskDefinition: aws.String("web"), ContainerInstances: []string{*a.ContainerInstanceArn}})
	if err != nil || len(st.Failures) != 1 || aws.ToString(st.Failures[0].Reason) != "RESOURCE:PORTS" {
		t.Fatalf("second task on a: %+v %v", st.Failures, err)
	}

	// Draining: RunTask avoids the DRAINING instance.
	if _, err := c.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String("prod"),
		ContainerInstances: []string{*x.ContainerInstanceArn}, Status: types.ContainerInstanceStatusDraining}); err != nil {
		t.Fatal(err)
	}
	rt, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("prod"), TaskDefinition: aws.String("web"), Count: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rt.Tasks) != 0 || len(rt.Failures) != 2 {
		t.Fatalf("RunTask with a busy and a small instance ACTIVE: %d tasks, failures %+v", len(rt.Tasks), rt.Failures)
	}
	if _, err := c.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String("prod"),
		ContainerInstances: []string{*x.ContainerInstanceArn}, Status: types.ContainerInstanceStatusActive}); err != nil {
		t.Fatal(err)
	}
	rt, err = c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("prod"), TaskDefinition: aws.String("web")})
	if err != nil || len(rt.Tasks) != 1 || *rt.Tasks[0].ContainerInstanceArn != *x.ContainerInstanceArn {
		t.Fatalf("RunTask after re-activating x: %+v %v", rt, err)
	}
	onX := *rt.Tasks[0].TaskArn
	listed, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), ContainerInstance: x.ContainerInstanceArn})
	if err != nil || !slices.Equal(listed.TaskArns, []string{onX}) {
		t.Fatalf("ListTasks on x: %v %v", listed, err)
	}
	waitFor(t, 30*time.Second, "the task on x running and counted", func() error {
		d, err := c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("prod"), ContainerInstances: []string{*x.ContainerInstanceArn}})
		if err != nil {
			return err
		}
		ci := d.ContainerInstances[0]
		if ci.RunningTasksCount != 1 || resourceOf(ci.RemainingResources, "MEMORY").IntegerValue != 3705-1500 {
			return fmt.Errorf("running %d, remaining memory %d", ci.RunningTasksCount, resourceOf(ci.RemainingResources, "MEMORY").IntegerValue)
		}
		return nil
	})

	// Deregistration: refused with tasks on it, forced stops them.
	_, err = c.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("prod"), ContainerInstance: x.ContainerInstanceArn})
	wantAPIError[*types.InvalidParameterException](t, err, "Found running tasks on the instance.")
	dr, err := c.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("prod"), ContainerInstance: x.ContainerInstanceArn, Force: aws.Bool(true)})
	if err != nil || *dr.ContainerInstance.Status != "INACTIVE" {
		t.Fatalf("forced deregistration: %v %v", dr, err)
	}
	waitFor(t, 30*time.Second, "the orphaned task STOPPED", func() error {
		d, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: []string{onX}})
		if err != nil {
			return err
		}
		if s := aws.ToString(d.Tasks[0].LastStatus); s != "STOPPED" {
			return fmt.Errorf("lastStatus %s", s)
		}
		return nil
	})
	if _, err := c.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("prod"), ContainerInstance: b.ContainerInstanceArn}); err != nil {
		t.Fatalf("deregistering an idle instance: %v", err)
	}
	if got := listInstances(t, c, ecs.ListContainerInstancesInput{Cluster: aws.String("prod")}); !slices.Equal(got, []string{*a.ContainerInstanceArn}) {
		t.Errorf("after deregistrations: %v", got)
	}

	// Tags on the instance ARN, and DeleteCluster's refusal.
	if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: a.ContainerInstanceArn, Tags: []types.Tag{tag("team", "infra")}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: a.ContainerInstanceArn})
	if err != nil || len(tags.Tags) != 2 {
		t.Fatalf("tags: %+v %v", tags, err)
	}
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("prod"), Task: st0(t, c)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the StartTask task STOPPED", func() error {
		l, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), ContainerInstance: a.ContainerInstanceArn})
		if err != nil {
			return err
		}
		if len(l.TaskArns) != 0 {
			return fmt.Errorf("%d tasks", len(l.TaskArns))
		}
		return nil
	})
	waitFor(t, 30*time.Second, "DeleteCluster refused for the instance, not for tasks", func() error {
		_, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("prod")})
		var e *types.ClusterContainsContainerInstancesException
		if !errors.As(err, &e) {
			return fmt.Errorf("DeleteCluster: %v", err)
		}
		if e.ErrorMessage() != "The Cluster cannot be deleted while Container Instances are active or draining." {
			t.Fatalf("message %q", e.ErrorMessage())
		}
		return nil
	})
}

// st0 is the task StartTask placed on the first instance.
func st0(t *testing.T, c *ecs.Client) *string {
	t.Helper()
	l, err := c.ListTasks(t.Context(), &ecs.ListTasksInput{Cluster: aws.String("prod"), StartedBy: nil})
	if err != nil || len(l.TaskArns) != 1 {
		t.Fatalf("running tasks: %v %v", l, err)
	}
	return &l.TaskArns[0]
}

// TestAgentReports plays an external agent: its instance's tasks are not
// run by ecsd; the agent's reports move them.
func TestAgentReports(t *testing.T) {
	t.Parallel()
	e := startServer(t, withSimInstances(0))
	c := e.defaultClient()
	ctx := t.Context()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("edge")}); err != nil {
		t.Fatal(err)
	}
	register(t, c, "job")
	ci := registerInstance(t, c, "edge", "i-0ddddddddddddddd4", "us-east-1c", 2048, 3705, types.Attribute{Name: aws.String("ecsd.agent"), Value: aws.String("external")})
	ep, err := c.DiscoverPollEndpoint(ctx, &ecs.DiscoverPollEndpointInput{Cluster: aws.String("edge"), ContainerInstance: ci.ContainerInstanceArn})
	if err != nil || aws.ToString(ep.Endpoint) != e.URL()+"/" {
		t.Fatalf("DiscoverPollEndpoint: %v %v", aws.ToString(ep.Endpoint), err)
	}
	rt, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("edge"), TaskDefinition: aws.String("job")})
	if err != nil || len(rt.Tasks) != 1 {
		t.Fatalf("RunTask: %v %v", rt, err)
	}
	arn := rt.Tasks[0].TaskArn
	// The task waits for its agent, as on ECS when the agent never picks
	// it up.
	d, _ := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("edge"), Tasks: []string{*arn}})
	if s := aws.ToString(d.Tasks[0].LastStatus); s != "PENDING" {
		t.Fatalf("lastStatus %s before any report", s)
	}
	ack, err := c.SubmitTaskStateChange(ctx, &ecs.SubmitTaskStateChangeInput{Cluster: aws.String("edge"), Task: arn, Status: aws.String("RUNNING"),
		Containers: []types.ContainerStateChange{{ContainerName: aws.String("app"), Status: aws.String("RUNNING"), RuntimeId: aws.String("cafe")}}})
	if err != nil || aws.ToString(ack.Acknowledgment) != "ACK" {
		t.Fatalf("SubmitTaskStateChange: %v %v", ack, err)
	}
	if _, err := c.SubmitContainerStateChange(ctx, &ecs.SubmitContainerStateChangeInput{Cluster: aws.String("edge"), Task: arn,
		ContainerName: aws.String("app"), Status: aws.String("STOPPED"), ExitCode: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SubmitTaskStateChange(ctx, &ecs.SubmitTaskStateChangeInput{Cluster: aws.String("edge"), Task: arn, Status: aws.String("STOPPED"), Reason: aws.String("job done")}); err != nil {
		t.Fatal(err)
	}
	d, _ = c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("edge"), Tasks: []string{*arn}})
	task := d.Tasks[0]
	if aws.ToString(task.LastStatus) != "STOPPED" || aws.ToString(task.StoppedReason) != "job done" || aws.ToString(task.Containers[0].RuntimeId) != "cafe" || aws.ToInt32(task.Containers[0].ExitCode) != 0 {
		t.Fatalf("after the agent's reports: %s %v %v", aws.ToString(task.LastStatus), aws.ToString(task.StoppedReason), task.Containers[0])
	}
	// A task of an instance ecsd registered has no agent outside ecsd.
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("sim"), Tags: []types.Tag{tag("ecsd:sim-instances", "1")}}); err != nil {
		t.Fatal(err)
	}
	rt, err = c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("sim"), TaskDefinition: aws.String("job")})
	if err != nil || len(rt.Tasks) != 1 {
		t.Fatalf("RunTask on sim: %v %v", rt, err)
	}
	_, err = c.SubmitTaskStateChange(ctx, &ecs.SubmitTaskStateChangeInput{Cluster: aws.String("sim"), Task: rt.Tasks[0].TaskArn, Status: aws.String("RUNNING")})
	wantAPIError[*types.InvalidParameterException](t, err, "The task is not running on a container instance registered with RegisterContainerInstance; only its agent reports its state.")
}
