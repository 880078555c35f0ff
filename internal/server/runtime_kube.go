package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ecsd/ecsd/internal/driver/kubedriver"
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
			return c, nil
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
}

// openKube opens the kubernetes runtime: pods in one namespace of an
// existing cluster.
func openKube(ctx context.Context, cfg Config) (*runtime, error) {
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
	rt := &runtime{name: RuntimeKubernetes}
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
	rt.close = d.Close
	return rt, nil
}
