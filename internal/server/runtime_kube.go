package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/driver/kubedriver"
	"github.com/ecsd/ecsd/internal/metadata"
	"github.com/ecsd/ecsd/internal/notify"
	"github.com/ecsd/ecsd/internal/store"
)

// DefaultKubeNamespace holds the kubernetes runtime's pods unless
// Config.KubeNamespace says otherwise. One namespace for every ECS
// cluster: the pods carry their cluster as a label, and ecsd needs rights
// in one namespace only (deploy/kubernetes).
const DefaultKubeNamespace = "ecsd"

// kubeTimeout bounds how long start-up waits for the API server.
const kubeTimeout = 30 * time.Second

// KubeScope is the ecsd.dev/scope label value of the pods an ecsd with
// data directory dir runs: two ecsd instances sharing a namespace never
// adopt or reap each other's pods.
func KubeScope(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(abs))
	return "d-" + hex.EncodeToString(sum[:])[:20], nil
}

// KubeClientConfig is the client configuration of the cluster kubeconfig
// names: the file, else $KUBECONFIG or ~/.kube/config, else the
// in-cluster service account.
func KubeClientConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		if c, err := rest.InClusterConfig(); err == nil {
			return withKubeRate(c), nil
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	c, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, err
	}
	return withKubeRate(c), nil
}

// The client-side rate limit of ecsd's requests to the API server.
// client-go's default (5 requests/s, bursts of 10) paced the supervisor:
// every pod create, stop-annotation patch and delete waited its turn, so
// 1,000 RunTask→RUNNING took 200 s (5/s exactly) and 1,000 StopTask
// (2 requests each) fell minutes behind the API server
// (docs/benchmarks.md). The API server's own priority and fairness
// protects it; this only bounds a runaway loop.
const (
	kubeQPS   = 200
	kubeBurst = 400
)

// withKubeRate raises c's rate limit to kubeQPS/kubeBurst unless the
// configuration already set one.
func withKubeRate(c *rest.Config) *rest.Config {
	if c.QPS == 0 && c.RateLimiter == nil {
		c.QPS = kubeQPS
	}
	if c.Burst == 0 && c.RateLimiter == nil {
		c.Burst = kubeBurst
	}
	return c
}

// openKube opens the kubernetes runtime: pods in one namespace of an
// existing cluster.
func openKube(ctx context.Context, cfg Config, st store.Store, hub *notify.Hub) (*runtime, error) {
	rc, err := KubeClientConfig(cfg.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubernetes runtime: %w", err)
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes runtime: %w", err)
	}
	ns := cfg.KubeNamespace
	if ns == "" {
		ns = DefaultKubeNamespace
	}
	scope, err := KubeScope(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("kubernetes runtime: %w", err)
	}
	rt := &runtime{name: RuntimeKubernetes, hub: hub}
	openCtx, cancel := context.WithTimeout(ctx, kubeTimeout)
	defer cancel()
	if err := kubedriver.EnsureNamespace(openCtx, client, ns); err != nil {
		return nil, fmt.Errorf("kubernetes runtime: %w", err)
	}
	d, err := kubedriver.New(openCtx, kubedriver.Config{
		Client: client, Namespace: ns, Scope: scope, Logger: cfg.Logger,
		// A pod's change reaches the supervisor at once.
		NotifyFunc: rt.notify,
		// Nodes are container instances (kubenodes.go).
		Nodes:            true,
		HostsChangedFunc: rt.notifyHosts,
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("kubernetes runtime: %s", rc.Host), err)
	}
	cfg.Logger.Info("runtime: tasks run as Kubernetes pods", "runtime", RuntimeKubernetes, "server", rc.Host,
		"namespace", ns, "scopeLabel", "ecsd.dev/scope="+scope)
	rt.driver = d
	if d.WatchesNodes() {
		rt.hosts = d
	}
	// The task metadata and credentials endpoints, served as on Docker
	// (the driver's Inspect behind them), on the address pods reach.
	if cfg.KubeMetadataURL == "" {
		cfg.Logger.Warn("metadata endpoint: no --kube-metadata-url; pods get a loopback URL only hostNetwork pods on this machine reach")
	}
	md, err := metadata.Start(ctx, metadata.Config{
		Store: st, Driver: d, Dir: cfg.DataDir, Logger: cfg.Logger,
		Listen: cfg.KubeMetadataListen, AdvertiseURL: cfg.KubeMetadataURL,
	})
	if err != nil {
		d.Close()
		return nil, err
	}
	rt.metadata = md
	rt.close = func() error { return errors.Join(md.Close(), d.Close()) }
	if err := writeRuntimeRecord(cfg.DataDir, runtimeRecord{
		Runtime: RuntimeKubernetes, Kubeconfig: cfg.Kubeconfig, Namespace: ns, Scope: scope,
	}); err != nil {
		cfg.Logger.Warn("runtime: cannot record the runtime for `ecsd logs`", "err", err)
	}
	return rt, nil
}

// runtimeRecord is what the data directory keeps of the runtime that runs
// its tasks, so `ecsd logs` reads their output through the same driver
// without the server.
type runtimeRecord struct {
	Runtime    string `json:"runtime"`
	Kubeconfig string `json:"kubeconfig,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	Scope      string `json:"scope,omitempty"`
}

const runtimeRecordFile = "runtime.json"

func writeRuntimeRecord(dir string, r runtimeRecord) error {
	if dir == "" {
		return nil
	}
	if r.Kubeconfig != "" {
		if abs, err := filepath.Abs(r.Kubeconfig); err == nil {
			r.Kubeconfig = abs
		}
	}
	b, _ := json.Marshal(r)
	tmp := filepath.Join(dir, runtimeRecordFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, runtimeRecordFile))
}

// OpenLogReader opens a reader of the output of the tasks the ecsd with
// data directory dir runs, for `ecsd logs`: on the kubernetes runtime the
// pod log API through the driver; ok is false for the other runtimes
// (Docker is read through its Engine by label, the simulated runtime has
// no output).
func OpenLogReader(ctx context.Context, dir string) (r driver.Driver, closeFunc func() error, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, runtimeRecordFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, err
	}
	var rec runtimeRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, nil, false, fmt.Errorf("%s: %w", runtimeRecordFile, err)
	}
	if rec.Runtime != RuntimeKubernetes {
		return nil, nil, false, nil
	}
	rc, err := KubeClientConfig(rec.Kubeconfig)
	if err != nil {
		return nil, nil, true, err
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, nil, true, err
	}
	openCtx, cancel := context.WithTimeout(ctx, kubeTimeout)
	defer cancel()
	d, err := kubedriver.New(openCtx, kubedriver.Config{Client: client, Namespace: rec.Namespace, Scope: rec.Scope})
	if err != nil {
		return nil, nil, true, err
	}
	return d, d.Close, true, nil
}
