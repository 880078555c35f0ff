package kubedriver

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ecsd/ecsd/internal/driver"
)

var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

func TestPodNames(t *testing.T) {
	for _, id := range []string{"abc123", "Task_ID", "0123456789abcdef0123456789abcdef", "-x-", strings.Repeat("a", 300)} {
		n := podName(id)
		if errs := validation.IsDNS1123Subdomain(n); len(errs) != 0 {
			t.Errorf("podName(%q) = %q: %v", id, n, errs)
		}
	}
	if podName("Task_ID") == podName("task-id") {
		t.Errorf("IDs that differ share pod %s", podName("task-id"))
	}
	if podName("abc123") != "abc123" {
		t.Errorf("a valid ID must be its own pod name, got %s", podName("abc123"))
	}
	names := containerNames([]driver.ContainerSpec{{Name: "web"}, {Name: "Web_App"}, {Name: "web-app"}, {Name: strings.Repeat("X", 255)}})
	seen := map[string]bool{}
	for _, n := range names {
		if errs := validation.IsDNS1123Label(n); len(errs) != 0 || seen[n] {
			t.Errorf("container name %q: %v (dup %v)", n, errs, seen[n])
		}
		seen[n] = true
	}
}

func TestLabelValue(t *testing.T) {
	arn := "arn:aws:ecs:us-east-1:000000000000:task/default/0123456789abcdef"
	h := LabelValue(arn)
	if !strings.HasPrefix(h, "sha256-") || len(validation.IsValidLabelValue(h)) != 0 || h != LabelValue(arn) {
		t.Errorf("LabelValue(arn) = %q: want a stable valid sha256- value", h)
	}
	if LabelValue("web") != "web" {
		t.Errorf("a valid value must stay as is")
	}
	pod, err := buildPod(driver.GroupSpec{ID: "g", Labels: map[string]string{"com.amazonaws.ecs.task-arn": arn, "bad key!": "x"},
		Containers: []driver.ContainerSpec{{Name: "a", Image: "i"}}}, "s", t0)
	if err != nil {
		t.Fatal(err)
	}
	if pod.Labels["com.amazonaws.ecs.task-arn"] != h || pod.Labels[labelScope] != "s" {
		t.Errorf("labels = %v", pod.Labels)
	}
	if _, ok := pod.Labels["bad key!"]; ok {
		t.Errorf("an invalid key became a label")
	}
	if _, err := buildPod(driver.GroupSpec{ID: "g", Labels: map[string]string{prefix + "x": "y"}, Containers: []driver.ContainerSpec{{Name: "a"}}}, "s", t0); err == nil {
		t.Errorf("a reserved label prefix was accepted")
	}
}

func q(s string) resource.Quantity { return resource.MustParse(s) }

// TestContainerMapping walks every ContainerSpec member the pod mapping
// touches (docs/kubernetes-runtime.md lists them).
func TestContainerMapping(t *testing.T) {
	f, tr := false, true
	uid, gid := int64(1000), int64(50)
	dir := t.TempDir()
	envA, envB := filepath.Join(dir, "a.env"), filepath.Join(dir, "b.env")
	if err := os.WriteFile(envA, []byte("X=file-a\nY=file-a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(envB, []byte("# comment\nY=file-b\nZ=file-b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		mode string
		in   driver.ContainerSpec
		want func(c *corev1.Container)
	}{
		{name: "entryPoint is command, command is args", in: driver.ContainerSpec{EntryPoint: []string{"/bin/sh", "-c"}, Command: []string{"echo hi"}},
			want: func(c *corev1.Container) { c.Command, c.Args = []string{"/bin/sh", "-c"}, []string{"echo hi"} }},
		{name: "environment, later wins", in: driver.ContainerSpec{Env: []driver.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}, {Name: "A", Value: "3"}}},
			want: func(c *corev1.Container) { c.Env = []corev1.EnvVar{{Name: "A", Value: "3"}, {Name: "B", Value: "2"}} }},
		{name: "environmentFiles: first file wins, environment wins over files", in: driver.ContainerSpec{EnvFiles: []string{envA, "file://" + envB}, Env: []driver.EnvVar{{Name: "X", Value: "env"}, {Name: "W", Value: "env"}}},
			want: func(c *corev1.Container) {
				c.Env = []corev1.EnvVar{{Name: "X", Value: "env"}, {Name: "Y", Value: "file-a"}, {Name: "Z", Value: "file-b"}, {Name: "W", Value: "env"}}
			}},
		{name: "cpu is a request", in: driver.ContainerSpec{CPU: 512},
			want: func(c *corev1.Container) { c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: q("500m")} }},
		{name: "memory is limit and request", in: driver.ContainerSpec{MemoryMiB: 256},
			want: func(c *corev1.Container) {
				c.Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: q("256Mi")}
				c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: q("256Mi")}
			}},
		{name: "memoryReservation is the request", in: driver.ContainerSpec{MemoryMiB: 512, MemoryReservationMiB: 128},
			want: func(c *corev1.Container) {
				c.Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: q("128Mi")}
				c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: q("512Mi")}
			}},
		{name: "soft limit only", in: driver.ContainerSpec{MemoryReservationMiB: 64},
			want: func(c *corev1.Container) {
				c.Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: q("64Mi")}
			}},
		{name: "ports in awsvpc: container ports", mode: driver.NetworkAwsvpc, in: driver.ContainerSpec{PortMappings: []driver.PortMapping{{ContainerPort: 80, HostPort: 80}, {ContainerPort: 53, Protocol: "udp"}}},
			want: func(c *corev1.Container) {
				c.Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: "TCP"}, {ContainerPort: 53, Protocol: "UDP"}}
			}},
		{name: "bridge: a fixed host port is a hostPort", mode: driver.NetworkBridge, in: driver.ContainerSpec{PortMappings: []driver.PortMapping{{ContainerPort: 80, HostPort: 8080}, {ContainerPort: 81}}},
			want: func(c *corev1.Container) {
				c.Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080, Protocol: "TCP"}, {ContainerPort: 81, Protocol: "TCP"}}
			}},
		{name: "host: the container port on the node", mode: driver.NetworkHost, in: driver.ContainerSpec{PortMappings: []driver.PortMapping{{ContainerPort: 80}}},
			want: func(c *corev1.Container) {
				c.Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 80, Protocol: "TCP"}}
			}},
		{name: "healthCheck is a readiness probe", in: driver.ContainerSpec{HealthCheck: &driver.HealthCheck{Command: []string{"CMD-SHELL", "curl -f localhost"}, Interval: 10 * time.Second, Timeout: 2 * time.Second, Retries: 5, StartPeriod: 20 * time.Second}},
			want: func(c *corev1.Container) {
				c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/bin/sh", "-c", "curl -f localhost"}}},
					PeriodSeconds: 10, TimeoutSeconds: 2, FailureThreshold: 5, SuccessThreshold: 1, InitialDelaySeconds: 20}
			}},
		{name: "healthCheck CMD, defaults", in: driver.ContainerSpec{HealthCheck: &driver.HealthCheck{Command: []string{"CMD", "/check"}}},
			want: func(c *corev1.Container) {
				c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/check"}}},
					PeriodSeconds: 30, TimeoutSeconds: 5, FailureThreshold: 3, SuccessThreshold: 1}
			}},
		{name: "workingDirectory, interactive, pseudoTerminal", in: driver.ContainerSpec{WorkingDirectory: "/app", Interactive: true, PseudoTerminal: true},
			want: func(c *corev1.Container) { c.WorkingDir, c.Stdin, c.TTY = "/app", true, true }},
		{name: "numeric user and group", in: driver.ContainerSpec{User: "1000:50"},
			want: func(c *corev1.Container) {
				c.SecurityContext = &corev1.SecurityContext{RunAsUser: &uid, RunAsGroup: &gid}
			}},
		{name: "a user name is left to the image", in: driver.ContainerSpec{User: "nginx"}, want: func(c *corev1.Container) {}},
		{name: "privileged, read-only root, capabilities", in: driver.ContainerSpec{Privileged: true, ReadonlyRootFS: true, CapAdd: []string{"NET_ADMIN"}, CapDrop: []string{"CAP_MKNOD"}},
			want: func(c *corev1.Container) {
				c.SecurityContext = &corev1.SecurityContext{Privileged: &tr, ReadOnlyRootFilesystem: &tr,
					Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN"}, Drop: []corev1.Capability{"MKNOD"}}}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_ = f
			tc.in.Name, tc.in.Image = "app", "img:1"
			pod, err := buildPod(driver.GroupSpec{ID: "g", NetworkMode: tc.mode, Containers: []driver.ContainerSpec{tc.in}}, "s", t0)
			if err != nil {
				t.Fatal(err)
			}
			want := corev1.Container{Name: "app", Image: "img:1", ImagePullPolicy: corev1.PullIfNotPresent, TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError}
			tc.want(&want)
			if diff := cmp.Diff(want, pod.Spec.Containers[0]); diff != "" {
				t.Errorf("container (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPodMapping(t *testing.T) {
	spec := driver.GroupSpec{ID: "g", NetworkMode: driver.NetworkHost,
		Volumes: []driver.Volume{{Name: "data", Kind: driver.VolumeBind, HostPath: "/srv"}, {Name: "scratch", Kind: driver.VolumeTask}},
		Containers: []driver.ContainerSpec{
			{Name: "a", Image: "i", StopTimeout: 45 * time.Second, MountPoints: []driver.MountPoint{{Volume: "data", ContainerPath: "/data", ReadOnly: true}},
				Labels: map[string]string{"com.example.team": "web"}, ExtraHosts: []driver.HostEntry{{Hostname: "db", IP: "10.0.0.5"}},
				Sysctls: map[string]string{"net.core.somaxconn": "1024"}, Tmpfs: []driver.Tmpfs{{ContainerPath: "/run", SizeMiB: 16}}},
			{Name: "b", Image: "i", StopTimeout: 10 * time.Second, VolumesFrom: []driver.VolumeFrom{{Container: "a", ReadOnly: true}},
				DNSServers: []string{"10.0.0.2"}, DNSSearch: []string{"corp"}, SharedMemoryMiB: 64},
		}}
	pod, err := buildPod(spec, "s", t0)
	if err != nil {
		t.Fatal(err)
	}
	ps := pod.Spec
	if ps.RestartPolicy != corev1.RestartPolicyNever || !ps.HostNetwork || *ps.TerminationGracePeriodSeconds != 45 || *ps.AutomountServiceAccountToken {
		t.Errorf("pod spec = %+v: want restart Never, host network, grace 45s, no service account token", ps)
	}
	if len(ps.Volumes) != 4 || ps.Volumes[0].HostPath == nil || ps.Volumes[0].HostPath.Path != "/srv" || ps.Volumes[1].EmptyDir == nil {
		t.Errorf("volumes = %+v", ps.Volumes)
	}
	b := ps.Containers[1]
	if len(b.VolumeMounts) != 2 || b.VolumeMounts[0].MountPath != "/data" || !b.VolumeMounts[0].ReadOnly || b.VolumeMounts[1].MountPath != "/dev/shm" {
		t.Errorf("b's mounts = %+v: want a's /data (read-only) and /dev/shm", b.VolumeMounts)
	}
	if ps.DNSPolicy != corev1.DNSNone || ps.DNSConfig.Nameservers[0] != "10.0.0.2" || ps.DNSConfig.Searches[0] != "corp" {
		t.Errorf("dns = %v %+v", ps.DNSPolicy, ps.DNSConfig)
	}
	if len(ps.HostAliases) != 1 || ps.HostAliases[0].IP != "10.0.0.5" || ps.SecurityContext.Sysctls[0].Name != "net.core.somaxconn" {
		t.Errorf("host aliases %+v, sysctls %+v", ps.HostAliases, ps.SecurityContext)
	}
	spec.Containers[1].Labels = map[string]string{"com.example.team": "db"}
	if p, _ := buildPod(spec, "s", t0); p.Annotations["com.example.team"] != "" {
		t.Errorf("containers disagree on a label, yet the pod is annotated %q", p.Annotations["com.example.team"])
	}
	if pod.Annotations["com.example.team"] != "web" || len(pod.Finalizers) != 1 {
		t.Errorf("annotations %v finalizers %v", pod.Annotations, pod.Finalizers)
	}
	if _, err := buildPod(driver.GroupSpec{ID: "g", Containers: []driver.ContainerSpec{{Name: "a", MountPoints: []driver.MountPoint{{Volume: "nope"}}}}}, "s", t0); err == nil {
		t.Errorf("a mount of an undefined volume was accepted")
	}
	// An env file ecsd cannot read: refused (retrying reads the same
	// file), with the Docker runtime's reason.
	_, err = buildPod(driver.GroupSpec{ID: "g", Containers: []driver.ContainerSpec{{Name: "a", EnvFiles: []string{"/nonexistent/ecsd.env"}}}}, "s", t0)
	if !errors.Is(err, driver.ErrRefused) || !strings.Contains(err.Error(), ": ResourceInitializationError: failed to read env files: ") {
		t.Errorf("unreadable env file: %v", err)
	}
}

// TestStatusMapping reads pod states the kubelet reports.
func TestStatusMapping(t *testing.T) {
	spec := driver.GroupSpec{ID: "g", Labels: map[string]string{"k": "v"}, Containers: []driver.ContainerSpec{
		{Name: "run", Image: "i", HealthCheck: &driver.HealthCheck{Command: []string{"CMD", "x"}, Interval: time.Second, Retries: 2}, PortMappings: []driver.PortMapping{{ContainerPort: 80}}},
		{Name: "done", Image: "i"}, {Name: "oom", Image: "i"}, {Name: "pull", Image: "i"}, {Name: "config", Image: "i"}, {Name: "new", Image: "i"},
	}}
	pod, err := buildPod(spec, "s", t0)
	if err != nil {
		t.Fatal(err)
	}
	started := metav1.NewTime(t0.Add(time.Second))
	ended := metav1.NewTime(t0.Add(5 * time.Second))
	pod.CreationTimestamp = metav1.NewTime(t0)
	pod.Annotations[annotationStopRequestedAt] = t0.Add(4 * time.Second).Format(time.RFC3339Nano)
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.1.0.7", HostIP: "192.168.0.2", ContainerStatuses: []corev1.ContainerStatus{
		{Name: "run", ContainerID: "containerd://abc", ImageID: "docker.io/library/i@sha256:feed", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}},
		{Name: "done", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error", StartedAt: started, FinishedAt: ended}}},
		{Name: "oom", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled", StartedAt: started, FinishedAt: ended}}},
		{Name: "pull", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image \"i\""}}},
		{Name: "config", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: "secret \"s\" not found"}}},
		{Name: "new", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}},
	}}
	now := t0.Add(10 * time.Second)
	g, err := groupState(pod, now)
	if err != nil {
		t.Fatal(err)
	}
	three, oom := 3, 137
	want := driver.GroupState{ID: "g", Labels: map[string]string{"k": "v"}, CreatedAt: t0, StopRequestedAt: t0.Add(4 * time.Second), Containers: []driver.ContainerState{
		{Name: "run", Status: driver.StatusRunning, Health: driver.HealthUnhealthy, RuntimeID: "containerd://abc", RuntimeName: "g/run", ImageDigest: "sha256:feed",
			CreatedAt: t0, PulledAt: started.Time, StartedAt: started.Time, PrivateIP: "10.1.0.7",
			NetworkBindings: []driver.NetworkBinding{{BindIP: "10.1.0.7", ContainerPort: 80, HostPort: 80, Protocol: "tcp"}}},
		{Name: "done", Status: driver.StatusExited, ExitCode: &three, Health: driver.HealthUnknown, RuntimeName: "g/done", CreatedAt: t0, PulledAt: started.Time, StartedAt: started.Time, FinishedAt: ended.Time, PrivateIP: "10.1.0.7"},
		{Name: "oom", Status: driver.StatusExited, ExitCode: &oom, Reason: reasonOOM, Health: driver.HealthUnknown, RuntimeName: "g/oom", CreatedAt: t0, PulledAt: started.Time, StartedAt: started.Time, FinishedAt: ended.Time, PrivateIP: "10.1.0.7"},
		{Name: "pull", Status: driver.StatusExited, Reason: "CannotPullContainerError: Back-off pulling image \"i\"", Health: driver.HealthUnknown, RuntimeName: "g/pull", CreatedAt: t0, FinishedAt: now},
		{Name: "config", Status: driver.StatusExited, Reason: "CannotStartContainerError: secret \"s\" not found", Health: driver.HealthUnknown, RuntimeName: "g/config", CreatedAt: t0, FinishedAt: now},
		{Name: "new", Status: driver.StatusCreated, Health: driver.HealthUnknown, RuntimeName: "g/new", CreatedAt: t0},
	}}
	if diff := cmp.Diff(want, g); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
	if !g.Containers[3].FailedToStart() {
		t.Errorf("an image that cannot be pulled must be a failure to start")
	}
	// Ready is HEALTHY; within the start period and retries, UNKNOWN.
	pod.Status.ContainerStatuses[0].Ready = true
	if g, _ := groupState(pod, now); g.Containers[0].Health != driver.HealthHealthy {
		t.Errorf("ready container health = %s, want HEALTHY", g.Containers[0].Health)
	}
	pod.Status.ContainerStatuses[0].Ready = false
	if g, _ := groupState(pod, t0.Add(2*time.Second)); g.Containers[0].Health != driver.HealthUnknown {
		t.Errorf("health in the start period = %s, want UNKNOWN", g.Containers[0].Health)
	}
	// A pod deleted while pending: its containers never ran.
	pending, _ := buildPod(driver.GroupSpec{ID: "p", Containers: []driver.ContainerSpec{{Name: "a", Image: "i"}}}, "s", t0)
	del := metav1.NewTime(t0)
	pending.DeletionTimestamp = &del
	pending.Status.Phase = corev1.PodPending
	if g, _ := groupState(pending, now); !g.Containers[0].FailedToStart() || g.Containers[0].Reason != reasonGone {
		t.Errorf("deleted pending pod = %+v, want failed to start: %s", g.Containers[0], reasonGone)
	}
}

// TestPodResources: the task's cpu and memory are pod-level limits and
// requests; the containers keep their own values inside them.
func TestPodResources(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cpu, mem int
		want     *corev1.ResourceRequirements
	}{
		{name: "none", want: nil},
		{name: "cpu and memory", cpu: 512, mem: 1024, want: &corev1.ResourceRequirements{
			Limits:   corev1.ResourceList{corev1.ResourceCPU: q("500m"), corev1.ResourceMemory: q("1Gi")},
			Requests: corev1.ResourceList{corev1.ResourceCPU: q("500m"), corev1.ResourceMemory: q("1Gi")}}},
		{name: "memory only", mem: 512, want: &corev1.ResourceRequirements{
			Limits:   corev1.ResourceList{corev1.ResourceMemory: q("512Mi")},
			Requests: corev1.ResourceList{corev1.ResourceMemory: q("512Mi")}}},
		{name: "cpu only, vCPU fractions", cpu: 256, want: &corev1.ResourceRequirements{
			Limits:   corev1.ResourceList{corev1.ResourceCPU: q("250m")},
			Requests: corev1.ResourceList{corev1.ResourceCPU: q("250m")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod, err := buildPod(driver.GroupSpec{ID: "g", TaskCPU: tc.cpu, TaskMemoryMiB: tc.mem,
				Containers: []driver.ContainerSpec{{Name: "a", Image: "i", CPU: 128, MemoryMiB: 64}}}, "s", t0)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, pod.Spec.Resources); diff != "" {
				t.Errorf("pod resources (-want +got):\n%s", diff)
			}
			if c := pod.Spec.Containers[0].Resources; c.Limits.Memory().String() != "64Mi" || c.Requests.Cpu().String() != "125m" {
				t.Errorf("container resources changed: %+v", c)
			}
		})
	}
}
