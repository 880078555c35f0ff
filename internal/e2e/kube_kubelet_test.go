package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ecsd/ecsd/internal/driver/kubedriver/kubetest"
	"github.com/ecsd/ecsd/internal/server"
)

// Tier 2: ECS services on a real kubelet (kubetest.StartKubelet, root
// only), real containers of the tiny test program in a second containerd,
// reached over the CNI bridge on their pod IPs.

// kubeletWeb registers a revision of family web: the tiny program serving
// BODY on :8080, or args instead when given.
func kubeletWeb(t *testing.T, c *ecs.Client, image, body string, args ...string) string {
	t.Helper()
	if len(args) == 0 {
		args = []string{"serve", ":8080"}
	}
	out, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(image), Command: args,
			Environment:  []types.KeyValuePair{{Name: aws.String("BODY"), Value: aws.String(body)}},
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}},
		}},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

var kubeletNet = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
	Subnets: []string{"subnet-0123456789abcdef0"}, SecurityGroups: []string{"sg-0123456789abcdef0"},
}}

// httpGet answers the body of GET url, retrying for a while: a container
// that just started may not listen yet.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	var body string
	waitFor(t, 30*time.Second, "GET "+url, func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s: %s", resp.Status, b)
		}
		body = string(b)
		return nil
	})
	return body
}

// serviceAnswers checks that every RUNNING task of the service answers
// want over HTTP on its pod IP, as its ECS network interface reports it.
func serviceAnswers(t *testing.T, c *ecs.Client, cluster *kubetest.Cluster, ns, wantTD, want string) {
	t.Helper()
	tasks := serviceTasks(t, c, "default", "web", types.DesiredStatusRunning)
	if len(tasks) != 2 {
		t.Fatalf("%d running tasks, want 2", len(tasks))
	}
	for _, task := range tasks {
		if aws.ToString(task.TaskDefinitionArn) != wantTD {
			t.Errorf("task %s runs %s, want %s", aws.ToString(task.TaskArn), aws.ToString(task.TaskDefinitionArn), wantTD)
		}
		ni := task.Containers[0].NetworkInterfaces
		pod, err := podOf(t, cluster, ns, aws.ToString(task.TaskArn))
		if err != nil {
			t.Fatal(err)
		}
		if len(ni) != 1 || aws.ToString(ni[0].PrivateIpv4Address) != pod.Status.PodIP || pod.Spec.NodeName != kubetest.KubeletNode {
			t.Fatalf("task %s: network interfaces %+v; pod %s on %s: want the pod IP on the real node", aws.ToString(task.TaskArn), ni, pod.Status.PodIP, pod.Spec.NodeName)
		}
		if got := httpGet(t, "http://"+pod.Status.PodIP+":8080/"); got != want {
			t.Errorf("task %s on %s answers %q, want %q", aws.ToString(task.TaskArn), pod.Status.PodIP, got, want)
		}
	}
}

// waitRollout waits until the service has one deployment, of td, COMPLETED
// with 2 running.
func waitRollout(t *testing.T, c *ecs.Client, td string) types.Service {
	t.Helper()
	var s types.Service
	waitFor(t, 3*time.Minute, "the rollout of "+td, func() error {
		s = describeService(t, c, "default", "web")
		if len(s.Deployments) != 1 || aws.ToString(s.Deployments[0].TaskDefinition) != td ||
			s.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted || s.RunningCount != 2 {
			return fmt.Errorf("running %d, deployments %+v", s.RunningCount, s.Deployments)
		}
		return nil
	})
	return s
}

// TestKubeletService: a service of a locally built HTTP image on a real
// kubelet reaches steady state, answers on its pods' IPs, rolls to a new
// revision, and a crash-looping revision trips the circuit breaker, which
// rolls back; deleting the service leaves no container running.
func TestKubeletService(t *testing.T) {
	cluster := kubetest.StartKubelet(t)
	image := cluster.TinyImage(t)
	ns := cluster.Namespace(t)
	e := startServer(t, withRuntime(server.RuntimeKubernetes), withServiceHealthyAfter(time.Second), func(cfg *server.Config) {
		cfg.Kubeconfig, cfg.KubeNamespace = cluster.Kubeconfig, ns
	})
	c := e.defaultClient()

	v1 := kubeletWeb(t, c, image, "v1")
	created := createService(t, c, &ecs.CreateServiceInput{
		ServiceName: aws.String("web"), TaskDefinition: aws.String(v1), DesiredCount: aws.Int32(2),
		LaunchType: types.LaunchTypeFargate, NetworkConfiguration: kubeletNet,
		DeploymentConfiguration: &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}},
	})
	waitRollout(t, c, v1)
	waitFor(t, time.Minute, "the steady-state event", func() error {
		if ev := eventMessages(describeService(t, c, "default", "web")); !slices.Contains(ev, "(service web) has reached a steady state.") {
			return fmt.Errorf("events %q", ev)
		}
		return nil
	})
	serviceAnswers(t, c, cluster, ns, v1, "v1")

	// A new revision rolls out; the old tasks are stopped by the
	// scheduler, their containers with them.
	old := serviceTasks(t, c, "default", "web", types.DesiredStatusRunning)
	v2 := kubeletWeb(t, c, image, "v2")
	if _, err := c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String(v2)}); err != nil {
		t.Fatal(err)
	}
	s := waitRollout(t, c, v2)
	goodID := aws.ToString(s.Deployments[0].Id)
	serviceAnswers(t, c, cluster, ns, v2, "v2")
	for _, task := range old {
		stopped := waitKubeTask(t, c, aws.ToString(task.TaskArn), "STOPPED")
		if stopped.StopCode != types.TaskStopCodeServiceSchedulerInitiated {
			t.Errorf("old task %s: stop code %s, want ServiceSchedulerInitiated", aws.ToString(task.TaskArn), stopped.StopCode)
		}
	}

	// A revision whose container exits at once: the circuit breaker
	// trips after 3 failed tasks and rolls back to v2.
	bad := kubeletWeb(t, c, image, "bad", "exit", "3", "100")
	upd, err := c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String(bad)})
	if err != nil {
		t.Fatal(err)
	}
	badID := aws.ToString(upd.Service.Deployments[0].Id)
	waitFor(t, 5*time.Minute, "the circuit breaker to roll back", func() error {
		s = describeService(t, c, "default", "web")
		if len(s.Deployments) != 1 || aws.ToString(s.Deployments[0].Id) != goodID || s.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted {
			return fmt.Errorf("deployments %+v", s.Deployments)
		}
		return nil
	})
	ev := eventMessages(s)
	if !slices.Contains(ev, "(service web) (deployment "+badID+") deployment failed: tasks failed to start.") ||
		!slices.Contains(ev, "(service web) rolling back to deployment "+goodID+".") {
		t.Errorf("events %q: want the failed deployment and the rollback", ev)
	}
	failed := 0
	for _, task := range serviceTasks(t, c, "default", "web", types.DesiredStatusStopped) {
		if aws.ToString(task.TaskDefinitionArn) != bad {
			continue
		}
		if task.StopCode != types.TaskStopCodeEssentialContainerExited || task.Containers[0].ExitCode == nil || *task.Containers[0].ExitCode != 3 {
			t.Errorf("failed task %s: stop code %s, container %+v; want EssentialContainerExited, exit code 3", aws.ToString(task.TaskArn), task.StopCode, task.Containers[0])
		}
		failed++
	}
	if failed < 3 {
		t.Errorf("%d failed tasks of the bad revision, want at least the threshold 3", failed)
	}
	serviceAnswers(t, c, cluster, ns, v2, "v2")
	_ = created

	// Scale to zero and delete: no container of the namespace runs.
	if _, err := c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteService(t.Context(), &ecs.DeleteServiceInput{Service: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Minute, "every container of the service to stop", func() error {
		running, err := cluster.RunningContainers(ns)
		if err != nil {
			return err
		}
		if len(running) > 0 {
			return fmt.Errorf("%d containers still running: %v", len(running), running)
		}
		pods, err := cluster.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil {
				return fmt.Errorf("pod %s not deleted", p.Name)
			}
		}
		return nil
	})
}

// TestKubeletMetadata: the task metadata endpoint, asked from inside a pod
// on the real kubelet. The tiny program's "metadata" mode prints what the
// endpoints answer to its log, which the test reads through the API
// server (the kubelet's log API).
func TestKubeletMetadata(t *testing.T) {
	cluster := kubetest.StartKubelet(t)
	image := cluster.TinyImage(t)
	ns := cluster.Namespace(t)
	// ecsd outside the cluster: the metadata endpoints listen on the
	// host's address on the pods' bridge, where the pods reach it.
	port := freePort(t)
	url := fmt.Sprintf("http://%s:%d", kubetest.BridgeGateway, port)
	e := startServer(t, withRuntime(server.RuntimeKubernetes), func(cfg *server.Config) {
		cfg.Kubeconfig, cfg.KubeNamespace = cluster.Kubeconfig, ns
		cfg.KubeMetadataListen, cfg.KubeMetadataURL = fmt.Sprintf("%s:%d", kubetest.BridgeGateway, port), url
	})
	c := e.defaultClient()
	td := kubeletWeb(t, c, image, "", "metadata")
	out, err := c.RunTask(t.Context(), &ecs.RunTaskInput{TaskDefinition: aws.String(td), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: kubeletNet})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("RunTask: %v %+v", err, out)
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	waitKubeTask(t, c, arn, "RUNNING")
	pod, err := podOf(t, cluster, ns, arn)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, v := range pod.Spec.Containers[0].Env {
		env[v.Name] = v.Value
	}
	if got := env["ECS_CONTAINER_METADATA_URI_V4"]; !strings.HasPrefix(got, url+"/v4/") {
		t.Fatalf("ECS_CONTAINER_METADATA_URI_V4 = %q, want under %s/v4/", got, url)
	}
	var line string
	waitFor(t, time.Minute, "the container's metadata line", func() error {
		b, err := cluster.Client.CoreV1().Pods(ns).GetLogs(pod.Name, &corev1.PodLogOptions{Container: "app"}).DoRaw(context.Background())
		if err != nil {
			return err
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "{") {
				line = l
				return nil
			}
		}
		return fmt.Errorf("log %q", b)
	})
	var md map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &md); err != nil {
		t.Fatalf("metadata line %q: %v", line, err)
	}
	if !strings.Contains(string(md["task"]), arn) {
		t.Errorf("the task metadata endpoint, asked from the pod, answers %s: want the task %s", md["task"], arn)
	}
}
