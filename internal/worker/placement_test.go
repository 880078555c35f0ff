package worker_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/control"
	"github.com/ecsd/ecsd/internal/ecs"
)

// An EC2 service on a cluster without container instances places nothing
// and says so in ECS's words; once an instance registers, the next pass
// places its tasks on it, and no more than fit.
func TestServicesWaitForContainerInstances(t *testing.T) {
	f := newSchedFixture(t, 0)
	if _, err := f.ctl.CreateCluster(f.ctx, svcWho, control.CreateClusterRequest{Name: "empty", Tags: []types.Tag{{Key: svcPtr(control.TagSimInstances), Value: svcPtr("0")}}}); err != nil {
		t.Fatal(err)
	}
	td := f.register("web")
	if _, err := f.ctl.CreateService(f.ctx, svcWho, control.CreateServiceRequest{
		Cluster: "empty", Service: types.Service{ServiceName: svcPtr("web"), TaskDefinition: svcPtr(td), DesiredCount: 2},
	}); err != nil {
		t.Fatal(err)
	}
	f.pass()
	f.pass() // a second pass does not repeat the event
	svcs, _, err := f.ctl.DescribeServices(f.ctx, svcWho, "empty", []string{"web"}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := "(service web) was unable to place a task because no container instance met all of its requirements. Reason: No Container Instances were found in your cluster. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
	n := 0
	for _, e := range svcs[0].Events {
		if *e.Message == want {
			n++
		}
	}
	if n != 1 {
		var got []string
		for _, e := range svcs[0].Events {
			got = append(got, *e.Message)
		}
		t.Fatalf("events %q: want the placement failure once", got)
	}
	arns, _, err := f.ctl.ListTasks(f.ctx, svcWho, control.ListTasksRequest{Cluster: "empty"})
	if err != nil || len(arns) != 0 {
		t.Fatalf("tasks started without an instance: %v %v", arns, err)
	}

	// An instance with room for one 128 MiB task.
	doc := `{"instanceId":"i-1","availabilityZone":"eu-west-2a","instanceType":"t3.micro","architecture":"x86_64","region":"eu-west-2"}`
	ci, err := f.ctl.RegisterContainerInstance(f.ctx, svcWho, control.RegisterContainerInstanceRequest{
		Cluster: "empty", InstanceIdentityDocument: doc,
		TotalResources: []types.Resource{{Name: svcPtr("CPU"), IntegerValue: 1024}, {Name: svcPtr("MEMORY"), IntegerValue: 200}},
		Attributes:     ecs.AgentAttributes("linux", "LINUX"),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.pass()
	arns, _, _ = f.ctl.ListTasks(f.ctx, svcWho, control.ListTasksRequest{Cluster: "empty"})
	if len(arns) != 1 {
		t.Fatalf("tasks after an instance registered: %d, want the 1 that fits", len(arns))
	}
	tasks, _, _ := f.ctl.DescribeTasks(f.ctx, svcWho, "empty", arns, false)
	if *tasks[0].ContainerInstanceArn != *ci.ContainerInstanceArn {
		t.Errorf("task on %v, want %s", tasks[0].ContainerInstanceArn, *ci.ContainerInstanceArn)
	}
	svcs, _, _ = f.ctl.DescribeServices(f.ctx, svcWho, "empty", []string{"web"}, false)
	id := (*ci.ContainerInstanceArn)[strings.LastIndexByte(*ci.ContainerInstanceArn, '/')+1:]
	memory := fmt.Sprintf("The closest matching (container-instance %s) has insufficient memory available.", id)
	if msg := *svcs[0].Events[0].Message; !strings.Contains(msg, memory) {
		t.Errorf("latest event %q, want it to say %q", msg, memory)
	}
}
