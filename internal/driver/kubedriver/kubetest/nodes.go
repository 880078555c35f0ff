package kubetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Nodes of a test's own: the shared kwok-node-N stay as they are, so a
// test that cordons, fails or deletes a node adds one first.

// AddNode adds a kwok node named name with the shared nodes' labels plus
// labels, waits until it is Ready, and deletes it when t ends.
func (c *Cluster) AddNode(t testing.TB, name string, labels map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.addNode(ctx, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Client.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	if len(labels) == 0 {
		return
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": labels}})
	if _, err := c.Client.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("labelling node %s: %v", name, err)
	}
}

// SetNodeNotReady makes a node look as a node whose kubelet stopped
// reporting: kwok lets it go (its annotation removed) and its Ready
// condition turns Unknown, as the node lifecycle controller sets it.
func (c *Cluster) SetNodeNotReady(t testing.TB, name string) {
	t.Helper()
	ctx := context.Background()
	patch := []byte(`{"metadata":{"annotations":{"kwok.x-k8s.io/node":null}}}`)
	if _, err := c.Client.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("releasing node %s from kwok: %v", name, err)
	}
	// kwok may still be writing the status it last computed: retry the
	// status write until it sticks.
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("node %s: %v", name, err)
		}
		for i := range n.Status.Conditions {
			if n.Status.Conditions[i].Type == corev1.NodeReady {
				n.Status.Conditions[i].Status = corev1.ConditionUnknown
				n.Status.Conditions[i].Reason = "NodeStatusUnknown"
				n.Status.Conditions[i].Message = "Kubelet stopped posting node status."
			}
		}
		_, err = c.Client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		if err == nil {
			return
		}
		if !apierrors.IsConflict(err) || time.Now().After(deadline) {
			t.Fatalf("marking node %s not ready: %v", name, err)
		}
	}
}

// DeleteNode deletes a node, as a cluster autoscaler removing its machine
// does.
func (c *Cluster) DeleteNode(t testing.TB, name string) {
	t.Helper()
	if err := c.Client.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("deleting node %s: %v", name, err)
	}
}
