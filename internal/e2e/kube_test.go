package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ecsd/ecsd/internal/driver/kubedriver"
	"github.com/ecsd/ecsd/internal/driver/kubedriver/kubetest"
	"github.com/ecsd/ecsd/internal/server"
)

// ECS tasks as Kubernetes pods, end to end: the official client against a
// server on the kubernetes runtime, and the API server checked behind it.
// The cluster is tier 1 (kubetest: a real etcd, kube-apiserver and
// kube-scheduler, kwok playing the kubelet on fake nodes); containers'
// behaviour is scripted through kwok's stages.

// kubeServer starts ecsd on the kubernetes runtime in a namespace of its
// own.
func kubeServer(t *testing.T, opts ...option) (*ecsd, *kubetest.Cluster, string) {
	t.Helper()
	c := kubetest.Start(t)
	ns := c.Namespace(t)
	e := startServer(t, append([]option{withRuntime(server.RuntimeKubernetes), func(cfg *server.Config) {
		cfg.Kubeconfig, cfg.KubeNamespace = c.Kubeconfig, ns
	}}, opts...)...)
	if e.Runtime() != server.RuntimeKubernetes {
		t.Fatalf("runtime = %s, want kubernetes", e.Runtime())
	}
	return e, c, ns
}

func kubeTask(t *testing.T, c *ecs.Client, family string, cds ...types.ContainerDefinition) string {
	t.Helper()
	out, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), ContainerDefinitions: cds,
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

func runKubeTask(t *testing.T, c *ecs.Client, td string) types.Task {
	t.Helper()
	out, err := c.RunTask(t.Context(), &ecs.RunTaskInput{TaskDefinition: aws.String(td)})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("RunTask: %v (failures %+v)", err, out)
	}
	return out.Tasks[0]
}

func waitKubeTask(t *testing.T, c *ecs.Client, arn, status string) types.Task {
	t.Helper()
	var task types.Task
	waitFor(t, 30*time.Second, arn+" "+status, func() error {
		out, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: []string{arn}})
		if err != nil {
			return err
		}
		if len(out.Tasks) != 1 {
			return fmt.Errorf("described %d tasks", len(out.Tasks))
		}
		task = out.Tasks[0]
		if got := aws.ToString(task.LastStatus); got != status {
			return fmt.Errorf("lastStatus %s", got)
		}
		return nil
	})
	return task
}

// podOf is the pod that runs a task, found by its hashed task-ARN label.
func podOf(t *testing.T, c *kubetest.Cluster, ns, taskARN string) (*corev1.Pod, error) {
	pods, err := c.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{
		LabelSelector: "com.amazonaws.ecs.task-arn=" + kubedriver.LabelValue(taskARN),
	})
	if err != nil {
		return nil, err
	}
	if len(pods.Items) != 1 {
		return nil, fmt.Errorf("%d pods for %s", len(pods.Items), taskARN)
	}
	return &pods.Items[0], nil
}

func TestKubeTaskLifecycle(t *testing.T) {
	e, cluster, ns := kubeServer(t)
	c := e.defaultClient()
	td := kubeTask(t, c, "kube-web", types.ContainerDefinition{
		Name: aws.String("web"), Image: aws.String("ecsd-test/web:1"), Memory: aws.Int32(128), Cpu: 256,
		Environment:  []types.KeyValuePair{{Name: aws.String("GREETING"), Value: aws.String("hi")}},
		PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}},
	})
	task := runKubeTask(t, c, td)
	arn := aws.ToString(task.TaskArn)
	running := waitKubeTask(t, c, arn, "RUNNING")
	pod, err := podOf(t, cluster, ns, arn)
	if err != nil {
		t.Fatal(err)
	}
	kc := pod.Spec.Containers[0]
	greeting := ""
	for _, ev := range kc.Env {
		if ev.Name == "GREETING" {
			greeting = ev.Value
		}
	}
	if kc.Image != "ecsd-test/web:1" || greeting != "hi" || kc.Resources.Limits.Memory().String() != "128Mi" ||
		kc.Resources.Requests.Cpu().MilliValue() != 250 || pod.Spec.RestartPolicy != corev1.RestartPolicyNever || pod.Spec.NodeName == "" {
		t.Errorf("pod = %+v: want the task definition's image, env, 128Mi limit, 250m request, restart Never, scheduled", pod.Spec)
	}
	if running.StartedAt == nil || running.PullStartedAt == nil || len(running.Containers) != 1 || running.Containers[0].RuntimeId == nil {
		t.Errorf("running task = %+v: want startedAt, pullStartedAt and the container's runtime id", running)
	}
	// A bridge task placed on a node's container instance has the host
	// port placement chose, on the node's address (kwok's nodes may have
	// none: then no binding); one without answers on the pod IP.
	wantIP, wantPort := pod.Status.PodIP, int32(8080)
	if hp := kc.Ports[0].HostPort; hp > 0 {
		wantIP, wantPort = pod.Status.HostIP, hp
	}
	b := running.Containers[0].NetworkBindings
	switch {
	case wantIP == "" && len(b) != 0:
		t.Errorf("network bindings = %+v: want none, the node has no address", b)
	case wantIP != "" && (len(b) != 1 || aws.ToString(b[0].BindIP) != wantIP || aws.ToInt32(b[0].ContainerPort) != 8080 || aws.ToInt32(b[0].HostPort) != wantPort):
		t.Errorf("network bindings = %+v: want 8080 on %s:%d", b, wantIP, wantPort)
	}
	if _, err := c.StopTask(t.Context(), &ecs.StopTaskInput{Task: aws.String(arn), Reason: aws.String("done here")}); err != nil {
		t.Fatal(err)
	}
	stopped := waitKubeTask(t, c, arn, "STOPPED")
	if stopped.StopCode != types.TaskStopCodeUserInitiated || aws.ToString(stopped.StoppedReason) != "done here" ||
		stopped.Containers[0].ExitCode == nil || *stopped.Containers[0].ExitCode != 0 {
		t.Errorf("stopped task: code %s reason %q container %+v; want UserInitiated, exit 0", stopped.StopCode, aws.ToString(stopped.StoppedReason), stopped.Containers[0])
	}
	// StopTask deleted the pod (gracefully): it is kept by the driver's
	// finalizer only until the task is forgotten.
	pod, err = podOf(t, cluster, ns, arn)
	if err == nil && pod.DeletionTimestamp == nil {
		t.Errorf("pod of a stopped task is not being deleted: %+v", pod.ObjectMeta)
	}
}

func TestKubeExitCodesAndPullFailures(t *testing.T) {
	e, _, _ := kubeServer(t)
	c := e.defaultClient()
	exits := kubeTask(t, c, "kube-exits",
		types.ContainerDefinition{Name: aws.String("main"), Image: aws.String("ecsd-test/app:1"), Memory: aws.Int32(64),
			Environment:  []types.KeyValuePair{{Name: aws.String(kubetest.EnvExit), Value: aws.String("3")}},
			DockerLabels: map[string]string{kubetest.LabelExitAfter: "1s"}},
		types.ContainerDefinition{Name: aws.String("sidecar"), Image: aws.String("ecsd-test/app:1"), Memory: aws.Int32(64), Essential: aws.Bool(false)},
	)
	task := waitKubeTask(t, c, aws.ToString(runKubeTask(t, c, exits).TaskArn), "STOPPED")
	byName := map[string]types.Container{}
	for _, ct := range task.Containers {
		byName[aws.ToString(ct.Name)] = ct
	}
	if task.StopCode != types.TaskStopCodeEssentialContainerExited || byName["main"].ExitCode == nil || *byName["main"].ExitCode != 3 {
		t.Errorf("task = stop code %s, main %+v: want EssentialContainerExited, exit 3", task.StopCode, byName["main"])
	}
	if !strings.Contains(aws.ToString(task.StoppedReason), "Essential container in task exited") {
		t.Errorf("stoppedReason = %q", aws.ToString(task.StoppedReason))
	}

	bad := kubeTask(t, c, "kube-unpullable", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(kubetest.UnpullableImage), Memory: aws.Int32(64)})
	failed := waitKubeTask(t, c, aws.ToString(runKubeTask(t, c, bad).TaskArn), "STOPPED")
	if failed.StopCode != types.TaskStopCodeTaskFailedToStart || !strings.HasPrefix(aws.ToString(failed.Containers[0].Reason), "CannotPullContainerError") {
		t.Errorf("unpullable task: stop code %s, container reason %q; want TaskFailedToStart, CannotPullContainerError",
			failed.StopCode, aws.ToString(failed.Containers[0].Reason))
	}
}

func TestKubeServiceScales(t *testing.T) {
	e, cluster, ns := kubeServer(t)
	c := e.defaultClient()
	td := kubeTask(t, c, "kube-svc", types.ContainerDefinition{Name: aws.String("web"), Image: aws.String("ecsd-test/web:1"), Memory: aws.Int32(64)})
	if _, err := c.CreateService(t.Context(), &ecs.CreateServiceInput{
		ServiceName: aws.String("web"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(3),
	}); err != nil {
		t.Fatal(err)
	}
	pods := func(want int) func() error {
		return func() error {
			list, err := cluster.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
			if err != nil {
				return err
			}
			live := 0
			for _, p := range list.Items {
				if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
					live++
				}
			}
			if live != want {
				return fmt.Errorf("%d running pods, want %d", live, want)
			}
			return nil
		}
	}
	running := func(want int32) func() error {
		return func() error {
			out, err := c.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Services: []string{"web"}})
			if err != nil {
				return err
			}
			if got := out.Services[0].RunningCount; got != want {
				return fmt.Errorf("runningCount %d", got)
			}
			return nil
		}
	}
	waitFor(t, 30*time.Second, "3 running tasks", running(3))
	waitFor(t, 30*time.Second, "3 running pods", pods(3))
	if _, err := c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "1 running task", running(1))
	waitFor(t, 30*time.Second, "1 running pod", pods(1))
}

// TestKubeEnvFilesAndTaskResources: a task's environmentFiles reach the
// pod's env as on Docker (environment wins), its task-level cpu and memory
// become pod-level resources, and an unreadable env file fails the task
// with the Docker runtime's reason.
func TestKubeEnvFilesAndTaskResources(t *testing.T) {
	e, cluster, ns := kubeServer(t)
	c := e.defaultClient()
	envFile := filepath.Join(t.TempDir(), "app.env")
	if err := os.WriteFile(envFile, []byte("FROM_FILE=file\nBOTH=file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	register := func(family, file string) string {
		out, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
			Family: aws.String(family), Cpu: aws.String("512"), Memory: aws.String("1024"),
			ContainerDefinitions: []types.ContainerDefinition{{
				Name: aws.String("app"), Image: aws.String("ecsd-test/app:1"), MemoryReservation: aws.Int32(128),
				Environment:      []types.KeyValuePair{{Name: aws.String("BOTH"), Value: aws.String("environment")}},
				EnvironmentFiles: []types.EnvironmentFile{{Type: types.EnvironmentFileTypeS3, Value: aws.String(file)}},
			}},
		})
		if err != nil {
			t.Fatalf("RegisterTaskDefinition: %v", err)
		}
		return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	}
	arn := aws.ToString(runKubeTask(t, c, register("kube-envfile", envFile)).TaskArn)
	waitKubeTask(t, c, arn, "RUNNING")
	pod, err := podOf(t, cluster, ns, arn)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, ev := range pod.Spec.Containers[0].Env {
		env[ev.Name] = ev.Value
	}
	if env["FROM_FILE"] != "file" || env["BOTH"] != "environment" {
		t.Errorf("pod env = %v: want FROM_FILE from the file, BOTH from environment", env)
	}
	r := pod.Spec.Resources
	if r == nil || r.Limits.Cpu().MilliValue() != 500 || r.Limits.Memory().String() != "1Gi" || r.Requests.Memory().String() != "1Gi" {
		t.Errorf("pod-level resources = %+v: want 500m cpu, 1Gi memory", r)
	}

	missing := filepath.Join(t.TempDir(), "missing.env")
	arn = aws.ToString(runKubeTask(t, c, register("kube-envfile-missing", missing)).TaskArn)
	stopped := waitKubeTask(t, c, arn, "STOPPED")
	want := "ResourceInitializationError: failed to read env files: open " + missing + ": no such file or directory"
	if stopped.StopCode != types.TaskStopCodeTaskFailedToStart || aws.ToString(stopped.Containers[0].Reason) != want {
		t.Errorf("stopped: code %s container reason %q, want TaskFailedToStart, %q", stopped.StopCode, aws.ToString(stopped.Containers[0].Reason), want)
	}
}
