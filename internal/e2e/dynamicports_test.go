package e2e

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// hostPortsOf maps each task's ARN to the host port of its binding for
// containerPort on protocol.
func hostPortsOf(tasks []types.Task, containerPort int32, protocol types.TransportProtocol) map[string]int32 {
	out := map[string]int32{}
	for _, task := range tasks {
		for _, c := range task.Containers {
			for _, b := range c.NetworkBindings {
				p := b.Protocol
				if p == "" {
					p = types.TransportProtocolTcp
				}
				if aws.ToInt32(b.ContainerPort) == containerPort && p == protocol {
					out[aws.ToString(task.TaskArn)] = aws.ToInt32(b.HostPort)
				}
			}
		}
	}
	return out
}

// Bridge-mode port mappings without a hostPort get a host port from the
// instance's ephemeral range (49153-65535) at placement: each task its own,
// TCP and UDP apart, never a port another task on the instance holds, given
// back when the task stops, and not listed in remainingResources (ECS lists
// only static ports there). StartTask chooses the same way.
func TestDynamicHostPorts(t *testing.T) {
	s := startServer(t)
	c := s.defaultClient()
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("dyn")})
	if _, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("dyn"), NetworkMode: types.NetworkModeBridge,
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"), Memory: aws.Int32(64),
			PortMappings: []types.PortMapping{
				{ContainerPort: aws.Int32(80)},
				{ContainerPort: aws.Int32(53), HostPort: aws.Int32(0), Protocol: types.TransportProtocolUdp},
				{ContainerPort: aws.Int32(443), HostPort: aws.Int32(8443)},
			}}},
	}); err != nil {
		t.Fatal(err)
	}
	binpack := []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("memory")}}
	// The static port 8443 allows one task per instance; a second family
	// without it packs the dynamic ports onto one instance.
	if _, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("dyn-only"), NetworkMode: types.NetworkModeBridge,
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"), Memory: aws.Int32(64),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80)}, {ContainerPort: aws.Int32(53), Protocol: types.TransportProtocolUdp}}}},
	}); err != nil {
		t.Fatal(err)
	}
	first := place(t, c, &ecs.RunTaskInput{Cluster: aws.String("dyn"), TaskDefinition: aws.String("dyn")})
	if len(first.Tasks) != 1 {
		t.Fatalf("dyn: %v", reasonsOf(first.Failures))
	}
	instance := aws.ToString(first.Tasks[0].ContainerInstanceArn)
	rt := place(t, c, &ecs.RunTaskInput{Cluster: aws.String("dyn"), TaskDefinition: aws.String("dyn-only"), Count: aws.Int32(6), PlacementStrategy: binpack})
	if len(rt.Tasks) != 6 {
		t.Fatalf("dyn-only: %d tasks, failures %v", len(rt.Tasks), reasonsOf(rt.Failures))
	}
	arns := []string{aws.ToString(first.Tasks[0].TaskArn)}
	for _, task := range rt.Tasks {
		if aws.ToString(task.ContainerInstanceArn) != instance {
			t.Fatalf("binpack placed a task on %s, want %s", aws.ToString(task.ContainerInstanceArn), instance)
		}
		arns = append(arns, aws.ToString(task.TaskArn))
	}
	// A task started on the instance by name takes its ports the same way.
	st, err := c.StartTask(t.Context(), &ecs.StartTaskInput{Cluster: aws.String("dyn"), TaskDefinition: aws.String("dyn-only"), ContainerInstances: []string{instance}})
	if err != nil || len(st.Tasks) != 1 {
		t.Fatalf("StartTask: %v, failures %v", err, st)
	}
	arns = append(arns, aws.ToString(st.Tasks[0].TaskArn))
	waitRunning(t, c, "dyn", arns...)
	tasks := describeTasks(t, c, "dyn", arns...)

	distinct := func(what string, ports map[string]int32) {
		t.Helper()
		seen := map[int32]string{}
		for arn, p := range ports {
			if p < 49153 || p > 65535 {
				t.Errorf("%s: task %s got host port %d, outside 49153-65535", what, arn, p)
			}
			if other, ok := seen[p]; ok {
				t.Errorf("%s: host port %d given to %s and %s", what, p, other, arn)
			}
			seen[p] = arn
		}
	}
	tcp, udp := hostPortsOf(tasks, 80, types.TransportProtocolTcp), hostPortsOf(tasks, 53, types.TransportProtocolUdp)
	if len(tcp) != len(arns) || len(udp) != len(arns) {
		t.Fatalf("bindings for %d tasks: tcp %v, udp %v", len(arns), tcp, udp)
	}
	distinct("tcp", tcp)
	distinct("udp", udp)
	if got := hostPortsOf(tasks[:1], 443, types.TransportProtocolTcp); got[arns[0]] != 8443 {
		t.Errorf("static mapping bound to %v, want 8443", got)
	}

	remainingPorts := func() []string {
		t.Helper()
		ci, err := c.DescribeContainerInstances(t.Context(), &ecs.DescribeContainerInstancesInput{Cluster: aws.String("dyn"), ContainerInstances: []string{instance}})
		if err != nil {
			t.Fatal(err)
		}
		return resourceOf(ci.ContainerInstances[0].RemainingResources, "PORTS").StringSetValue
	}
	ports := remainingPorts()
	if !slices.Contains(ports, "8443") {
		t.Errorf("remaining PORTS %v: want the static 8443", ports)
	}
	for _, p := range tcp {
		if slices.Contains(ports, strconv.Itoa(int(p))) {
			t.Errorf("remaining PORTS %v list the dynamic port %d", ports, p)
		}
	}

	// A stopped task gives its ports back: the next task gets the lowest
	// free one, which is the one just released.
	victim := arns[3]
	if _, err := c.StopTask(t.Context(), &ecs.StopTaskInput{Cluster: aws.String("dyn"), Task: aws.String(victim)}); err != nil {
		t.Fatal(err)
	}
	waitStopped(t, c, "dyn", victim)
	rt = place(t, c, &ecs.RunTaskInput{Cluster: aws.String("dyn"), TaskDefinition: aws.String("dyn-only"), PlacementStrategy: binpack})
	if len(rt.Tasks) != 1 || aws.ToString(rt.Tasks[0].ContainerInstanceArn) != instance {
		t.Fatalf("after the stop: %v, failures %v", rt.Tasks, reasonsOf(rt.Failures))
	}
	next := aws.ToString(rt.Tasks[0].TaskArn)
	waitRunning(t, c, "dyn", next)
	got := hostPortsOf(describeTasks(t, c, "dyn", next), 80, types.TransportProtocolTcp)[next]
	if got != tcp[victim] {
		t.Errorf("the next task got host port %d, want %d (released by the stopped task)", got, tcp[victim])
	}
	delete(tcp, victim)
	tcp[next] = got
	distinct("tcp after the stop", tcp)
}

// On the Docker runtime the host port placement chose is the one Docker
// publishes: two tasks of one bridge-mode revision, each serving on
// container port 8080 with no hostPort, answer on their own host ports
// from the ephemeral range, the ones DescribeTasks reports.
//
// Not parallel: the other Docker tests' servers choose from the same range
// on the same host (a port taken by them makes Docker choose instead, as it
// should, which this test could not tell from a port never passed on).
func TestDockerDynamicHostPorts(t *testing.T) {
	cli, _ := docker(t)
	e, _ := dockerServer(t, "", withSimInstances(0))
	c := e.defaultClient()
	app := tinyContainer("app", true, "serve", ":8080")
	app.PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(8080)}}
	registerTD(t, c, &ecs.RegisterTaskDefinitionInput{Family: aws.String("dynport"), NetworkMode: types.NetworkModeBridge,
		ContainerDefinitions: []types.ContainerDefinition{app}})
	bodies := []string{"first", "second"}
	var arns []string
	for _, body := range bodies {
		task := runOne(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("dynport"), Overrides: &types.TaskOverride{
			ContainerOverrides: []types.ContainerOverride{{Name: aws.String("app"), Environment: []types.KeyValuePair{{Name: aws.String("BODY"), Value: aws.String(body)}}}}}})
		arns = append(arns, aws.ToString(task.TaskArn))
	}
	seen := map[int32]bool{}
	for i, arn := range arns {
		task := waitTask(t, c, arn, "running", isRunning)
		b := containerNamed(task, "app").NetworkBindings
		if len(b) != 1 {
			t.Fatalf("task %d bindings %+v", i, b)
		}
		port := aws.ToInt32(b[0].HostPort)
		if port < 49153 || port > 65535 || seen[port] {
			t.Fatalf("task %d host port %d: want a distinct port in 49153-65535 (seen %v)", i, port, seen)
		}
		seen[port] = true
		// Docker publishes exactly that port.
		insp, err := cli.ContainerInspect(t.Context(), aws.ToString(containerNamed(task, "app").RuntimeId))
		if err != nil {
			t.Fatal(err)
		}
		pb := insp.HostConfig.PortBindings["8080/tcp"]
		if len(pb) != 1 || pb[0].HostPort != strconv.Itoa(int(port)) {
			t.Errorf("task %d: Docker port bindings %+v, want host port %d", i, pb, port)
		}
		url := fmt.Sprintf("http://127.0.0.1:%d/", port)
		waitFor(t, 30*time.Second, "the container answering on "+url, func() error {
			resp, err := http.Get(url)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if string(got) != bodies[i] {
				return fmt.Errorf("%s answered %q, want %q", url, got, bodies[i])
			}
			return nil
		})
	}
	for _, arn := range arns {
		stopTask(t, c, arn)
	}
}
