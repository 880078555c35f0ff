package server

import (
	"os"
	"path/filepath"
	"testing"
)

// The kubernetes runtime's client is not held to client-go's default
// 5 requests/s, which paced 1,000 tasks' starts and stops to minutes.
func TestKubeClientConfigRate(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: u
  user: {token: t}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	rc, err := KubeClientConfig(kc)
	if err != nil {
		t.Fatal(err)
	}
	if rc.QPS != kubeQPS || rc.Burst != kubeBurst {
		t.Fatalf("QPS %v burst %d, want %v and %d", rc.QPS, rc.Burst, float32(kubeQPS), kubeBurst)
	}
}
