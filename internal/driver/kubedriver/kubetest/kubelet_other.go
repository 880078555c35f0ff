//go:build !linux

package kubetest

import (
	"fmt"
	"testing"
)

// KubeletNode and BridgeGateway: see kubelet_linux.go.
const (
	KubeletNode   = "localhost"
	BridgeGateway = "10.217.0.1"
)

type kubeletNode struct{}

// StartKubelet skips: a real kubelet runs on Linux only.
func StartKubelet(t testing.TB) *Cluster {
	t.Helper()
	t.Skip("kubetest: a real kubelet (tier 2) runs on Linux only")
	return nil
}

func stopKubelet() error { return nil }

// TinyImage: see kubelet_linux.go.
func (c *Cluster) TinyImage(t testing.TB) string { t.Skip("tier 2 runs on Linux only"); return "" }

// RunningContainers: see kubelet_linux.go.
func (c *Cluster) RunningContainers(ns string) ([]string, error) {
	return nil, fmt.Errorf("tier 2 runs on Linux only")
}
