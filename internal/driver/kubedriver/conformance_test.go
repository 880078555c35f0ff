package kubedriver_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/driver/drivertest"
	"github.com/ecsd/ecsd/internal/driver/kubedriver"
	"github.com/ecsd/ecsd/internal/driver/kubedriver/kubetest"
)

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m)) }

// newDriver is a driver on the shared test cluster, in a namespace of
// its own.
func newDriver(t *testing.T, notify func(string)) (*kubedriver.Driver, *kubetest.Cluster, string) {
	t.Helper()
	c := kubetest.Start(t)
	ns := c.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := kubedriver.New(ctx, kubedriver.Config{Client: c.Client, Namespace: ns, Scope: "test", NotifyFunc: notify, Nodes: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, c, ns
}

// TestConformance runs the driver suite on kwok's fake nodes (tier 1):
// the containers' behaviour is scripted by kubetest's pod stages.
func TestConformance(t *testing.T) {
	kubetest.Start(t)
	drivertest.Run(t, drivertest.Harness{
		New:     func(t *testing.T) driver.Driver { d, _, _ := newDriver(t, nil); return d },
		Advance: time.Sleep,
		RunsForever: func(name string) driver.ContainerSpec {
			return driver.ContainerSpec{Name: name, Image: "ecsd-test/app:1", Essential: true}
		},
		Exits: func(name string, code int, after time.Duration) driver.ContainerSpec {
			return driver.ContainerSpec{Name: name, Image: "ecsd-test/app:1",
				Env:    []driver.EnvVar{{Name: kubetest.EnvExit, Value: strconv.Itoa(code)}},
				Labels: map[string]string{kubetest.LabelExitAfter: after.String()}}
		},
		FailsToStart: func(name string) (driver.ContainerSpec, string) {
			return driver.ContainerSpec{Name: name, Image: kubetest.UnpullableImage}, "CannotPullContainerError: "
		},
		IgnoresSIGTERM: func(name string) driver.ContainerSpec {
			return driver.ContainerSpec{Name: name, Image: "ecsd-test/app:1", Env: []driver.EnvVar{{Name: kubetest.EnvIgnoreTerm, Value: "1"}}}
		},
		Patience: 20 * time.Second,
		// Pods answer on their own IP (no ephemeral host ports); nodes
		// are hosts.
		Capabilities: drivertest.Capabilities{NoEphemeralHostPorts: true, Hosts: true},
		Unsupported: map[string]string{
			"DependsOn": "a pod starts its containers together; dependsOn is not enforced (docs/kubernetes-runtime.md)",
			"Exec":      "kwok runs no processes",
		},
	})
}

// TestConformanceKubelet runs the driver suite on a real kubelet (tier 2,
// root only): real containers of the tiny test program, in a second
// containerd, on a CNI bridge.
func TestConformanceKubelet(t *testing.T) {
	c := kubetest.StartKubelet(t)
	tiny := c.TinyImage(t)
	drivertest.Run(t, drivertest.Harness{
		New: func(t *testing.T) driver.Driver {
			ns := c.Namespace(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			d, err := kubedriver.New(ctx, kubedriver.Config{Client: c.Client, Namespace: ns, Scope: "test", Nodes: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return d
		},
		Advance: time.Sleep,
		RunsForever: func(name string) driver.ContainerSpec {
			return driver.ContainerSpec{Name: name, Image: tiny, Essential: true, Command: []string{"run"}}
		},
		Exits: func(name string, code int, after time.Duration) driver.ContainerSpec {
			return driver.ContainerSpec{Name: name, Image: tiny, Command: []string{"exit", strconv.Itoa(code), strconv.FormatInt(after.Milliseconds(), 10)}}
		},
		FailsToStart: func(name string) (driver.ContainerSpec, string) {
			// The node's containerd sends every pull to a closed port.
			return driver.ContainerSpec{Name: name, Image: "ecsd-test/does-not-exist:1"}, "CannotPullContainerError: "
		},
		IgnoresSIGTERM: func(name string) driver.ContainerSpec {
			return driver.ContainerSpec{Name: name, Image: tiny, Command: []string{"ignore-term"}}
		},
		Patience: 60 * time.Second,
		// Pods answer on their own IP (no ephemeral host ports); the real
		// node is a host.
		Capabilities: drivertest.Capabilities{NoEphemeralHostPorts: true, Hosts: true},
		Unsupported: map[string]string{
			"DependsOn": "a pod starts its containers together; dependsOn is not enforced (docs/kubernetes-runtime.md)",
			"Exec":      "the Kubernetes driver has no ECS Exec",
		},
	})
}

// TestPodLevelResources: the API server keeps a task's cpu and memory as
// pod-level resources (a disabled feature gate would drop the field
// silently) and the scheduler places the pod.
func TestPodLevelResources(t *testing.T) {
	d, c, ns := newDriver(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	spec := driver.GroupSpec{ID: "plr", TaskCPU: 512, TaskMemoryMiB: 1024, Containers: []driver.ContainerSpec{
		{Name: "a", Image: "ecsd-test/app:1", Essential: true, MemoryReservationMiB: 256},
		{Name: "b", Image: "ecsd-test/app:1", Essential: true},
	}}
	if err := d.Start(ctx, spec); err != nil {
		t.Fatal(err)
	}
	pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("pods %v: %v", pods, err)
	}
	r := pods.Items[0].Spec.Resources
	if r == nil || r.Limits.Cpu().String() != "500m" || r.Limits.Memory().String() != "1Gi" || r.Requests.Memory().String() != "1Gi" {
		t.Fatalf("pod-level resources = %+v, want cpu 500m, memory 1Gi", r)
	}
	for {
		g, err := d.Inspect(ctx, "plr")
		if err == nil && g.Running() && g.Containers[0].Status == driver.StatusRunning {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("not running: %+v %v", g, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
