package kubedriver

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/ecsd/ecsd/internal/driver"
)

// annotationCordonedBy, on a node, names the driver scope that cordoned it
// (SetDraining): only that scope lifts the cordon, so ecsd never undoes an
// operator's `kubectl cordon`.
const annotationCordonedBy = prefix + "cordoned-by"

var _ driver.HostLister = (*Driver)(nil)

// nodes is the node watch: one informer over the cluster's nodes.
type nodes struct {
	informer cache.SharedIndexInformer
	mu       sync.Mutex
	// byName is the newest node seen per name, from the informer or the
	// driver's own patches.
	byName map[string]*corev1.Node
	// deleted names the nodes seen deleted (and not seen again since),
	// and syncedAt is when the first list arrived: a pod bound to a node
	// that is gone by either is a pod whose machine went away.
	deleted  map[string]bool
	syncedAt time.Time
}

// watchNodes starts the node informer and waits for its first list. An
// API server that forbids listing nodes (RBAC without the ClusterRole of
// deploy/kubernetes) leaves the driver without hosts: the Kubernetes
// scheduler then places every task, as it places Fargate tasks.
func (d *Driver) watchNodes(ctx context.Context) error {
	if _, err := d.cfg.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		if apierrors.IsForbidden(err) {
			d.cfg.Logger.Warn("kubernetes: listing nodes is forbidden; nodes are not container instances and the Kubernetes scheduler places every task", "err", err)
			return nil
		}
		return fmt.Errorf("kubedriver: listing nodes: %w", err)
	}
	n := &nodes{byName: map[string]*corev1.Node{}, deleted: map[string]bool{}}
	factory := informers.NewSharedInformerFactory(d.cfg.Client, 0)
	n.informer = factory.Core().V1().Nodes().Informer()
	_ = n.informer.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		d.cfg.Logger.Warn("kubernetes: watching nodes failed; retrying", "err", err)
	})
	observe := func(obj any, deleted bool) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj, deleted = t.Obj, true
		}
		node, ok := obj.(*corev1.Node)
		if !ok {
			return
		}
		n.mu.Lock()
		cur := n.byName[node.Name]
		changed := cur == nil || deleted || hostChanged(hostOf(cur, d.cfg.Scope), hostOf(node, d.cfg.Scope))
		switch {
		case deleted:
			if cur != nil && cur.UID == node.UID {
				delete(n.byName, node.Name)
				n.deleted[node.Name] = true
			}
		case cur == nil || cur.UID != node.UID || rvNode(cur) <= rvNode(node):
			n.byName[node.Name] = node
			delete(n.deleted, node.Name)
		}
		n.mu.Unlock()
		// Node status heartbeats change nothing ECS shows: only a change
		// of what a container instance carries is worth a sync.
		if changed && d.cfg.HostsChangedFunc != nil {
			d.cfg.HostsChangedFunc()
		}
	}
	if _, err := n.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { observe(obj, false) },
		UpdateFunc: func(_, obj any) { observe(obj, false) },
		DeleteFunc: func(obj any) { observe(obj, true) },
	}); err != nil {
		return err
	}
	go n.informer.Run(d.stop)
	if !cache.WaitForCacheSync(ctx.Done(), n.informer.HasSynced) {
		return fmt.Errorf("kubedriver: listing nodes: %w", context.Cause(ctx))
	}
	n.syncedAt = d.cfg.Now()
	d.nodes = n
	return nil
}

// nodeGone reports whether a pod is bound to a node that no longer
// exists: its containers are gone with the machine, although nothing
// (no kubelet) will ever report them stopped.
func (d *Driver) nodeGone(pod *corev1.Pod) bool {
	name := pod.Spec.NodeName
	if d.nodes == nil || name == "" {
		return false
	}
	d.nodes.mu.Lock()
	defer d.nodes.mu.Unlock()
	if d.nodes.byName[name] != nil {
		return false
	}
	return d.nodes.deleted[name] || pod.CreationTimestamp.Time.Before(d.nodes.syncedAt)
}

// markNodeGone reports every container of a group whose node is gone as
// exited, without an exit code (nothing saw it exit).
func markNodeGone(g *driver.GroupState, node string, now time.Time) {
	for i := range g.Containers {
		c := &g.Containers[i]
		if c.Status == driver.StatusExited {
			continue
		}
		c.Status, c.Reason, c.FinishedAt = driver.StatusExited, "Host (node "+node+") was deleted", now
		if c.StartedAt.IsZero() {
			c.Reason = reasonStart + "node " + node + " was deleted before the container started"
		}
	}
}

func rvNode(n *corev1.Node) int64 {
	var v int64
	fmt.Sscan(n.ResourceVersion, &v)
	return v
}

// Hosts reports the cluster's nodes from the watch; none when the driver
// may not list them.
func (d *Driver) Hosts() []driver.Host {
	if d.nodes == nil {
		return nil
	}
	d.nodes.mu.Lock()
	out := make([]driver.Host, 0, len(d.nodes.byName))
	for _, n := range d.nodes.byName {
		out = append(out, hostOf(n, d.cfg.Scope))
	}
	d.nodes.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// SetDraining cordons a node (spec.unschedulable, with the scope in an
// annotation) or lifts the cordon this scope set. Pods already on the
// node keep running: ECS stops a draining instance's service tasks itself
// (the service scheduler), and leaves standalone tasks alone.
func (d *Driver) SetDraining(ctx context.Context, name string, draining bool) error {
	if d.nodes == nil {
		return fmt.Errorf("node %s: %w", name, driver.ErrNotFound)
	}
	d.nodes.mu.Lock()
	node := d.nodes.byName[name]
	d.nodes.mu.Unlock()
	if node == nil {
		return fmt.Errorf("node %s: %w", name, driver.ErrNotFound)
	}
	ours := node.Annotations[annotationCordonedBy] == d.cfg.Scope
	var patch map[string]any
	switch {
	case draining && !node.Spec.Unschedulable:
		patch = map[string]any{
			"metadata": map[string]any{"annotations": map[string]any{annotationCordonedBy: d.cfg.Scope}},
			"spec":     map[string]any{"unschedulable": true},
		}
	case !draining && node.Spec.Unschedulable && ours:
		patch = map[string]any{
			"metadata": map[string]any{"annotations": map[string]any{annotationCordonedBy: nil}},
			"spec":     map[string]any{"unschedulable": nil},
		}
	case !draining && !node.Spec.Unschedulable && ours:
		// Someone uncordoned it already: forget the claim.
		patch = map[string]any{"metadata": map[string]any{"annotations": map[string]any{annotationCordonedBy: nil}}}
	default:
		return nil
	}
	raw, _ := json.Marshal(patch)
	updated, err := d.cfg.Client.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, raw, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("node %s: %w", name, driver.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("kubedriver: cordoning node %s: %w", name, err)
	}
	d.nodes.mu.Lock()
	if cur := d.nodes.byName[name]; cur == nil || cur.UID == updated.UID && rvNode(cur) <= rvNode(updated) {
		d.nodes.byName[name] = updated
	}
	d.nodes.mu.Unlock()
	return nil
}

// hostOf reads a node as a host: allocatable CPU in CPU units (1024 a
// core, from millicores) and memory in MiB, Ready from its condition.
func hostOf(n *corev1.Node, scope string) driver.Host {
	h := driver.Host{
		Name:          n.Name,
		Unschedulable: n.Spec.Unschedulable,
		Draining:      n.Spec.Unschedulable && n.Annotations[annotationCordonedBy] == scope,
		Labels:        n.Labels,
		Architecture:  n.Labels[corev1.LabelArchStable],
		OS:            n.Labels[corev1.LabelOSStable],
		Zone:          n.Labels[corev1.LabelTopologyZone],
		InstanceType:  n.Labels[corev1.LabelInstanceTypeStable],
		Version:       n.Status.NodeInfo.KubeletVersion,
	}
	if h.Architecture == "" {
		h.Architecture = n.Status.NodeInfo.Architecture
	}
	if h.OS == "" {
		h.OS = n.Status.NodeInfo.OperatingSystem
	}
	if cpu, ok := n.Status.Allocatable[corev1.ResourceCPU]; ok {
		h.CPU = int(cpu.MilliValue() * 1024 / 1000)
	}
	if mem, ok := n.Status.Allocatable[corev1.ResourceMemory]; ok {
		h.MemoryMiB = int(mem.Value() >> 20)
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			h.Ready = c.Status == corev1.ConditionTrue
		}
	}
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP && h.Address == "" {
			h.Address = a.Address
		}
	}
	return h
}

// hostChanged reports whether anything a container instance shows
// differs between two readings of a node.
func hostChanged(a, b driver.Host) bool {
	return !reflect.DeepEqual(a, b)
}

// WatchesNodes reports whether the driver watches the cluster's nodes
// (Config.Nodes, and listing them is allowed).
func (d *Driver) WatchesNodes() bool { return d.nodes != nil }
