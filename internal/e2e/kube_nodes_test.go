package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ecsd/ecsd/internal/control"
	"github.com/ecsd/ecsd/internal/server"
)

// kubeInstance is the container instance of a node, once it shows.
func kubeInstance(t *testing.T, c *ecs.Client, node string, check func(types.ContainerInstance) error) types.ContainerInstance {
	t.Helper()
	var ci types.ContainerInstance
	waitFor(t, 30*time.Second, "the container instance of node "+node, func() error {
		arns, err := c.ListContainerInstances(t.Context(), &ecs.ListContainerInstancesInput{
			Filter: aws.String("ec2InstanceId == " + control.NodeInstanceID(node)),
		})
		if err != nil {
			return err
		}
		if len(arns.ContainerInstanceArns) != 1 {
			return fmt.Errorf("%d instances", len(arns.ContainerInstanceArns))
		}
		out, err := c.DescribeContainerInstances(t.Context(), &ecs.DescribeContainerInstancesInput{ContainerInstances: arns.ContainerInstanceArns})
		if err != nil {
			return err
		}
		ci = out.ContainerInstances[0]
		if check != nil {
			return check(ci)
		}
		return nil
	})
	return ci
}

func ciAttr(ci types.ContainerInstance, name string) string {
	for _, a := range ci.Attributes {
		if aws.ToString(a.Name) == name {
			return aws.ToString(a.Value)
		}
	}
	return ""
}

// Nodes of the cluster are container instances: EC2 placement chooses
// one (the pod is bound to it), DRAINING cordons it, NotReady
// disconnects its agent, and a deleted node is a terminated instance.
func TestKubeNodesAsContainerInstances(t *testing.T) {
	e, cluster, ns := kubeServer(t, withSimInstances(0))
	c := e.defaultClient()
	if _, err := c.CreateCluster(t.Context(), &ecs.CreateClusterInput{}); err != nil { // "default"
		t.Fatal(err)
	}
	// The shared nodes show with their allocatable resources and labels.
	shared := kubeInstance(t, c, cluster.Nodes[0], nil)
	if cpu := resourceValue(shared.RegisteredResources, "CPU"); cpu != 8*1024 {
		t.Errorf("CPU = %d, want 8 cores' 8192 units", cpu)
	}
	if mem := resourceValue(shared.RegisteredResources, "MEMORY"); mem != 16*1024 {
		t.Errorf("MEMORY = %d, want 16Gi's 16384 MiB", mem)
	}
	if z := ciAttr(shared, "ecs.availability-zone"); z != "zone-0" || ciAttr(shared, "type") != "kwok" || !shared.AgentConnected {
		t.Errorf("instance of %s: zone %q type %q connected %v", cluster.Nodes[0], z, ciAttr(shared, "type"), shared.AgentConnected)
	}

	// A node of this test's own, with a label to place on.
	pool := fmt.Sprintf("p%d", time.Now().UnixNano()%1e9)
	node := "kwok-" + pool
	cluster.AddNode(t, node, map[string]string{"ecsd.test/pool": pool})
	mine := kubeInstance(t, c, node, func(ci types.ContainerInstance) error {
		if ciAttr(ci, "ecsd.test/pool") != pool {
			return fmt.Errorf("attributes %v", ci.Attributes)
		}
		return nil
	})
	td := kubeTask(t, c, "kube-placed", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String("ecsd-test/app:1"), Memory: aws.Int32(64)})
	out, err := c.RunTask(t.Context(), &ecs.RunTaskInput{TaskDefinition: aws.String(td), LaunchType: types.LaunchTypeEc2,
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecsd.test/pool == " + pool)}}})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("RunTask: %v %+v", err, out)
	}
	task := out.Tasks[0]
	if aws.ToString(task.ContainerInstanceArn) != aws.ToString(mine.ContainerInstanceArn) {
		t.Fatalf("placed on %s, want the node's instance %s", aws.ToString(task.ContainerInstanceArn), aws.ToString(mine.ContainerInstanceArn))
	}
	waitKubeTask(t, c, aws.ToString(task.TaskArn), "RUNNING")
	pod, err := podOf(t, cluster, ns, aws.ToString(task.TaskArn))
	if err != nil {
		t.Fatal(err)
	}
	if pod.Spec.NodeName != node {
		t.Errorf("pod runs on %q, want the placed node %s", pod.Spec.NodeName, node)
	}

	// A Fargate task has no container instance: the scheduler places it.
	fg, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("kube-fargate"), RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("ecsd-test/app:1")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	fout, err := c.RunTask(t.Context(), &ecs.RunTaskInput{TaskDefinition: fg.TaskDefinition.TaskDefinitionArn, LaunchType: types.LaunchTypeFargate,
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-0123456789abcdef0"}}}})
	if err != nil || len(fout.Tasks) != 1 {
		t.Fatalf("RunTask FARGATE: %v %+v", err, fout)
	}
	fgARN := aws.ToString(fout.Tasks[0].TaskArn)
	waitKubeTask(t, c, fgARN, "RUNNING")
	if fpod, err := podOf(t, cluster, ns, fgARN); err != nil {
		t.Fatal(err)
	} else if fpod.Spec.Affinity != nil || fpod.Spec.NodeName == "" || fout.Tasks[0].ContainerInstanceArn != nil {
		t.Errorf("Fargate task: affinity %+v node %q instance %v; want no affinity, a node the scheduler chose, no instance",
			fpod.Spec.Affinity, fpod.Spec.NodeName, fout.Tasks[0].ContainerInstanceArn)
	}

	// DRAINING cordons the node; ACTIVE lifts the cordon.
	cordoned := func(want bool) func() error {
		return func() error {
			n, err := cluster.Client.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if n.Spec.Unschedulable != want {
				return fmt.Errorf("unschedulable %v", n.Spec.Unschedulable)
			}
			return nil
		}
	}
	setState := func(s types.ContainerInstanceStatus) {
		t.Helper()
		if _, err := c.UpdateContainerInstancesState(t.Context(), &ecs.UpdateContainerInstancesStateInput{
			ContainerInstances: []string{aws.ToString(mine.ContainerInstanceArn)}, Status: s,
		}); err != nil {
			t.Fatal(err)
		}
	}
	setState(types.ContainerInstanceStatusDraining)
	waitFor(t, 30*time.Second, "node cordoned", cordoned(true))
	setState(types.ContainerInstanceStatusActive)
	waitFor(t, 30*time.Second, "node uncordoned", cordoned(false))

	// NotReady: the agent is disconnected; placement refuses the instance.
	cluster.SetNodeNotReady(t, node)
	kubeInstance(t, c, node, func(ci types.ContainerInstance) error {
		if ci.AgentConnected {
			return fmt.Errorf("agentConnected true")
		}
		return nil
	})
	// Gone: the instance is deregistered and its task stops as a
	// terminated EC2 instance's do.
	cluster.DeleteNode(t, node)
	waitFor(t, 30*time.Second, "the deleted node's instance INACTIVE", func() error {
		out, err := c.DescribeContainerInstances(t.Context(), &ecs.DescribeContainerInstancesInput{ContainerInstances: []string{aws.ToString(mine.ContainerInstanceArn)}})
		if err != nil {
			return err
		}
		if s := aws.ToString(out.ContainerInstances[0].Status); s != "INACTIVE" {
			return fmt.Errorf("status %s", s)
		}
		return nil
	})
	stopped := waitKubeTask(t, c, aws.ToString(task.TaskArn), "STOPPED")
	if stopped.StopCode != types.TaskStopCodeTerminationNotice || !strings.HasPrefix(aws.ToString(stopped.StoppedReason), "Host EC2 (instance ") {
		t.Errorf("task of the deleted node: stop code %s reason %q", stopped.StopCode, aws.ToString(stopped.StoppedReason))
	}
}

func resourceValue(rs []types.Resource, name string) int32 {
	for _, r := range rs {
		if aws.ToString(r.Name) == name {
			return r.IntegerValue
		}
	}
	return -1
}

// TestKubeMetadataEndpoint: pods are given a metadata URI under
// --kube-metadata-url, and it answers for the pod's task (read here
// from the test, as a pod on the pod network would).
func TestKubeMetadataEndpoint(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	e, cluster, ns := kubeServer(t, func(cfg *server.Config) {
		cfg.KubeMetadataListen, cfg.KubeMetadataURL = addr, "http://"+addr
	})
	c := e.defaultClient()
	td := kubeTask(t, c, "kube-md", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String("ecsd-test/app:1"), Memory: aws.Int32(64)})
	arn := aws.ToString(runKubeTask(t, c, td).TaskArn)
	waitKubeTask(t, c, arn, "RUNNING")
	pod, err := podOf(t, cluster, ns, arn)
	if err != nil {
		t.Fatal(err)
	}
	uri := ""
	for _, ev := range pod.Spec.Containers[0].Env {
		if ev.Name == "ECS_CONTAINER_METADATA_URI_V4" {
			uri = ev.Value
		}
	}
	if !strings.HasPrefix(uri, "http://"+addr+"/v4/") {
		t.Fatalf("ECS_CONTAINER_METADATA_URI_V4 = %q, want it under http://%s", uri, addr)
	}
	get := func(u string, into any) {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", u, resp.Status)
		}
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			t.Fatal(err)
		}
	}
	var ctr struct{ Name, DockerName, KnownStatus string }
	get(uri, &ctr)
	if ctr.Name != "app" || ctr.KnownStatus != "RUNNING" || !strings.HasPrefix(ctr.DockerName, pod.Name+"/") {
		t.Errorf("container metadata = %+v, want app RUNNING in pod %s", ctr, pod.Name)
	}
	var task struct{ TaskARN, KnownStatus string }
	get(uri+"/task", &task)
	if task.TaskARN != arn {
		t.Errorf("task metadata TaskARN = %q, want %s", task.TaskARN, arn)
	}
}
