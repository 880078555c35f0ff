package control_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/control"
)

func TestNodeAttributes(t *testing.T) {
	got := control.NodeAttributes(map[string]string{
		"kubernetes.io/hostname":        "n1",
		"node-role.kubernetes.io/infra": "",
		"weird key:with@chars":          "v",
		"ecs.instance-type":             "spoofed", // ECS's namespace: left out
	})
	want := map[string]string{"kubernetes.io/hostname": "n1", "node-role.kubernetes.io/infra": "<nil>", "weird_key_with_chars": "v"}
	if len(got) != len(want) {
		t.Fatalf("attributes = %d (%+v), want %d", len(got), got, len(want))
	}
	for _, a := range got {
		v := "<nil>"
		if a.Value != nil {
			v = *a.Value
		}
		if want[*a.Name] != v {
			t.Errorf("attribute %s = %s, want %s", *a.Name, v, want[*a.Name])
		}
	}
	if n := control.SanitizeAttributeName(string(make([]byte, 200))); len(n) != 128 {
		t.Errorf("sanitised a 200-byte name to %d bytes", len(n))
	}
}

// Nodes as container instances: registered in every cluster with their
// resources and labels, updated only when something shown changes, a
// NotReady node's agent disconnected, a removed node's instance
// deregistered with its tasks stopped as ECS stops those of a terminated
// EC2 instance.
func TestNodeInstances(t *testing.T) {
	ctx := context.Background()
	c, _ := newControl(t)
	nodes := []control.NodeInstance{
		{Name: "n1", Ready: true, CPU: 4096, Memory: 8192, Architecture: "amd64", OSType: "linux", Zone: "zone-a", Labels: map[string]string{"pool": "blue", "kubernetes.io/hostname": "n1"}},
		{Name: "n2", Ready: true, CPU: 2048, Memory: 4096, Architecture: "arm64", OSType: "linux", Labels: map[string]string{"pool": "green"}},
	}
	c.Instances.NodesFunc = func() []control.NodeInstance { return slices.Clone(nodes) }
	newBareCluster(t, c, "prod")
	list := func(filter string) []types.ContainerInstance {
		t.Helper()
		arns, _, err := c.ListContainerInstances(ctx, alice, control.ListContainerInstancesRequest{Cluster: "prod", Filter: filter})
		if err != nil {
			t.Fatal(err)
		}
		if len(arns) == 0 {
			return nil
		}
		cis, _, err := c.DescribeContainerInstances(ctx, alice, "prod", arns, nil)
		if err != nil {
			t.Fatal(err)
		}
		return cis
	}
	cis := list("")
	if len(cis) != 2 {
		t.Fatalf("CreateCluster registered %d node instances, want 2", len(cis))
	}
	blue := list("attribute:pool == blue")
	if len(blue) != 1 || *blue[0].Ec2InstanceId != control.NodeInstanceID("n1") {
		t.Fatalf("attribute:pool == blue = %+v", blue)
	}
	n1 := blue[0]
	if z, _ := attr(n1, "ecs.availability-zone"); z != "zone-a" {
		t.Errorf("zone = %s", z)
	}
	if a, _ := attr(n1, "ecs.cpu-architecture"); a != "x86_64" {
		t.Errorf("architecture = %s", a)
	}
	if resource(n1.RegisteredResources, "CPU").IntegerValue != 4096 || resource(n1.RegisteredResources, "MEMORY").IntegerValue != 8192 || !n1.AgentConnected {
		t.Errorf("n1: resources %+v connected %v", n1.RegisteredResources, n1.AgentConnected)
	}
	// A sync with nothing changed writes nothing.
	if err := c.SyncNodeInstances(ctx); err != nil {
		t.Fatal(err)
	}
	if again := list("attribute:pool == blue"); again[0].Version != n1.Version {
		t.Errorf("an unchanged node's instance went from version %d to %d", n1.Version, again[0].Version)
	}
	// EC2 placement picks a node; NodeOfInstance maps it back.
	if _, err := c.RegisterTaskDefinition(ctx, alice, taskDef("app", 1024, 1024, 0), nil); err != nil {
		t.Fatal(err)
	}
	tasks, _, err := c.RunTask(ctx, alice, control.RunTaskRequest{Cluster: "prod", TaskDefinition: "app", LaunchType: types.LaunchTypeEc2,
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: ptr("attribute:pool == green")}}})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("RunTask: %v %v", tasks, err)
	}
	if node, err := c.NodeOfInstance(ctx, *tasks[0].ContainerInstanceArn); err != nil || node != "n2" {
		t.Fatalf("NodeOfInstance = %q, %v; want n2", node, err)
	}
	// Labels and readiness change.
	nodes[0].Labels = map[string]string{"pool": "red"}
	nodes[1].Ready = false
	if err := c.SyncNodeInstances(ctx); err != nil {
		t.Fatal(err)
	}
	if got := list("attribute:pool == red"); len(got) != 1 {
		t.Errorf("relabelled node: %+v", got)
	} else if _, ok := attr(got[0], "kubernetes.io/hostname"); ok {
		t.Error("a label removed from the node is still an attribute")
	}
	if got := list("agentConnected == false"); len(got) != 1 || *got[0].Ec2InstanceId != control.NodeInstanceID("n2") {
		t.Errorf("agentConnected == false: %+v", got)
	}
	// The node goes: deregistered, its task stopping with ECS's reason.
	nodes = nodes[:1]
	if err := c.SyncNodeInstances(ctx); err != nil {
		t.Fatal(err)
	}
	if got := list(""); len(got) != 1 {
		t.Errorf("after n2 left: %d ACTIVE instances, want 1", len(got))
	}
	desc, _, _ := c.DescribeTasks(ctx, alice, "prod", []string{*tasks[0].TaskArn}, false)
	if len(desc) != 1 || *desc[0].DesiredStatus != "STOPPED" || desc[0].StopCode != types.TaskStopCodeTerminationNotice ||
		*desc[0].StoppedReason != "Host EC2 (instance "+control.NodeInstanceID("n2")+") terminated." {
		t.Errorf("task of the removed node: %+v", desc)
	}
	// Only the clusters named get nodes; the others' node instances lose
	// their agent.
	c.Instances.NodeClusters = []string{"other"}
	if err := c.SyncNodeInstances(ctx); err != nil {
		t.Fatal(err)
	}
	if got := list("agentConnected == true"); len(got) != 0 {
		t.Errorf("NodeClusters excludes prod, yet %d instances are connected", len(got))
	}
}
