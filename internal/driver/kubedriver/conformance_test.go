package kubedriver_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

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
