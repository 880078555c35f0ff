// Package kubedriver runs container groups as pods on an existing
// Kubernetes cluster, through client-go: one pod per group, one
// Kubernetes container per ContainerSpec, in one namespace.
//
// The API server is the source of truth: each pod carries its GroupSpec,
// its creation time and its stop request in annotations, and a finalizer
// of the driver keeps it (with its containers' exit codes) after it has
// stopped, until Remove. So a restarted ecsd sees exactly what the first
// one did, and a pod deleted behind the driver's back stays visible as
// stopped with a reason. The driver watches its pods through an informer
// (one list, then a watch) and answers Inspect and List from that cache,
// never by polling the API server.
//
// It must never import ecs, the store or anything above the driver.
package kubedriver

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/ecsd/ecsd/internal/driver"
)

// Config configures the driver.
type Config struct {
	// Client talks to the API server.
	Client kubernetes.Interface
	// Namespace holds every pod of this driver. It must exist.
	Namespace string
	// Scope is the value of the ecsd.dev/scope label on every pod the
	// driver creates: List, Inspect, Stop and Remove see only pods
	// carrying it, so several ecsd instances (or test runs) can share a
	// namespace. A valid label value.
	Scope string
	// Logger gets watch errors; nil discards them.
	Logger *slog.Logger
	// NotifyFunc, if set, is called with a group's ID whenever its pod
	// changes (from the informer's goroutine; it must not block).
	NotifyFunc func(group string)
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
	// Nodes makes the driver watch the cluster's nodes and report them
	// as Hosts (it needs list/watch/patch on nodes).
	Nodes bool
	// HostsChangedFunc, if set, is called when a node appears, goes, or
	// changes what Hosts reports of it (not on status heartbeats; from the
	// informer's goroutine; it must not block).
	HostsChangedFunc func()
}

// Driver runs groups as pods.
type Driver struct {
	cfg      Config
	pods     corev1client
	informer cache.SharedIndexInformer
	stop     chan struct{}
	// nodes is the node watch; nil without Config.Nodes or when listing
	// nodes is forbidden.
	nodes *nodes

	mu sync.Mutex
	// known holds the newest pod object seen per name, from the informer
	// or from the driver's own writes, whichever is newer: Inspect right
	// after Start must see the pod although the watch has not delivered
	// it yet.
	known map[string]*corev1.Pod
	// removed holds the UIDs of pods Remove deleted, so a late watch event
	// does not bring them back.
	removed map[types.UID]bool
}

type corev1client interface {
	Create(ctx context.Context, pod *corev1.Pod, opts metav1.CreateOptions) (*corev1.Pod, error)
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Pod, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (*corev1.Pod, error)
}

var _ driver.Driver = (*Driver)(nil)
var _ driver.LogReader = (*Driver)(nil)

// New starts watching the namespace's pods of cfg.Scope and returns once
// the first list has arrived (or ctx ends).
func New(ctx context.Context, cfg Config) (*Driver, error) {
	if cfg.Client == nil || cfg.Namespace == "" {
		return nil, errors.New("kubedriver: Client and Namespace are required")
	}
	if cfg.Scope == "" {
		cfg.Scope = "default"
	}
	if LabelValue(cfg.Scope) != cfg.Scope {
		return nil, fmt.Errorf("kubedriver: scope %q is not a valid label value", cfg.Scope)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if _, err := cfg.Client.CoreV1().Namespaces().Get(ctx, cfg.Namespace, metav1.GetOptions{}); err != nil {
		return nil, fmt.Errorf("kubedriver: namespace %s: %w", cfg.Namespace, err)
	}
	d := &Driver{
		cfg:     cfg,
		pods:    cfg.Client.CoreV1().Pods(cfg.Namespace),
		stop:    make(chan struct{}),
		known:   map[string]*corev1.Pod{},
		removed: map[types.UID]bool{},
	}
	selector := labels.SelectorFromSet(labels.Set{labelScope: cfg.Scope}).String()
	factory := informers.NewSharedInformerFactoryWithOptions(cfg.Client, 0,
		informers.WithNamespace(cfg.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }))
	d.informer = factory.Core().V1().Pods().Informer()
	_ = d.informer.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		cfg.Logger.Warn("kubernetes: watching pods failed; retrying", "namespace", cfg.Namespace, "err", err)
	})
	if _, err := d.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { d.observe(obj, false) },
		UpdateFunc: func(_, obj any) { d.observe(obj, false) },
		DeleteFunc: func(obj any) { d.observe(obj, true) },
	}); err != nil {
		return nil, err
	}
	go d.informer.Run(d.stop)
	if !cache.WaitForCacheSync(ctx.Done(), d.informer.HasSynced) {
		close(d.stop)
		return nil, fmt.Errorf("kubedriver: listing pods in %s: %w", cfg.Namespace, context.Cause(ctx))
	}
	if cfg.Nodes {
		if err := d.watchNodes(ctx); err != nil {
			close(d.stop)
			return nil, err
		}
	}
	return d, nil
}

// Close stops watching.
func (d *Driver) Close() error {
	select {
	case <-d.stop:
	default:
		close(d.stop)
	}
	return nil
}

// observe records a pod the informer reports.
func (d *Driver) observe(obj any, deleted bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj, deleted = t.Obj, true
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	d.mu.Lock()
	if deleted {
		if cur := d.known[pod.Name]; cur != nil && cur.UID == pod.UID {
			delete(d.known, pod.Name)
		}
		delete(d.removed, pod.UID)
	} else {
		d.rememberLocked(pod)
	}
	d.mu.Unlock()
	if d.cfg.NotifyFunc != nil {
		if id := pod.Annotations[annotationGroup]; id != "" {
			d.cfg.NotifyFunc(id)
		}
	}
}

// rememberLocked keeps pod if it is newer than what is known under its
// name. Resource versions are etcd revisions: comparable as integers for
// one object, which is all this compares.
func (d *Driver) rememberLocked(pod *corev1.Pod) {
	if d.removed[pod.UID] {
		return
	}
	if cur := d.known[pod.Name]; cur != nil && cur.UID == pod.UID && rv(cur) > rv(pod) {
		return
	}
	d.known[pod.Name] = pod
}

func rv(p *corev1.Pod) int64 {
	n, _ := strconv.ParseInt(p.ResourceVersion, 10, 64)
	return n
}

// lookup is the pod of group id, or nil.
func (d *Driver) lookup(id string) *corev1.Pod {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.known[podName(id)]
	if p == nil || p.Annotations[annotationGroup] != id {
		return nil
	}
	return p
}

// Start creates the group's pod. The kubelet pulls images and starts
// containers in the background; failures show in Inspect.
func (d *Driver) Start(ctx context.Context, spec driver.GroupSpec) error {
	if spec.ID == "" || len(spec.Containers) == 0 {
		return errors.New("kubedriver: a group needs an ID and containers")
	}
	if d.lookup(spec.ID) != nil {
		return nil
	}
	pod, err := buildPod(spec, d.cfg.Scope, d.cfg.Now())
	if err != nil {
		return err
	}
	created, err := d.pods.Create(ctx, pod, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		existing, gerr := d.pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if gerr != nil {
			return gerr
		}
		if existing.Annotations[annotationGroup] != spec.ID {
			return fmt.Errorf("kubedriver: pod %s exists and belongs to group %q, not %q", pod.Name, existing.Annotations[annotationGroup], spec.ID)
		}
		created = existing
	} else if apierrors.IsForbidden(err) || apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsRequestEntityTooLargeError(err) {
		// RBAC, a ResourceQuota or LimitRange, an admission policy, a
		// spec the API server rejects: retrying the same pod changes
		// nothing. The API server's message says which.
		return fmt.Errorf("%w: %s", driver.ErrRefused, err.Error())
	} else if err != nil {
		return fmt.Errorf("kubedriver: creating pod %s: %w", pod.Name, err)
	}
	d.mu.Lock()
	d.rememberLocked(created)
	d.mu.Unlock()
	return nil
}

// Stop deletes the pod gracefully: the kubelet sends SIGTERM (the image's
// stop signal) and kills what still runs once the grace period ends. A
// pod has one grace period: the longest container stop timeout, or
// timeout. The finalizer keeps the pod so its exit codes stay readable.
func (d *Driver) Stop(ctx context.Context, id string, timeout time.Duration) error {
	pod := d.lookup(id)
	if pod == nil {
		return fmt.Errorf("group %s: %w", id, driver.ErrNotFound)
	}
	if pod.Annotations[annotationStopRequestedAt] != "" && pod.DeletionTimestamp != nil {
		return nil
	}
	spec, err := specOf(pod)
	if err != nil {
		return err
	}
	grace := time.Duration(0)
	for _, c := range spec.Containers {
		t := c.StopTimeout
		if t <= 0 {
			t = timeout
		}
		grace = max(grace, t)
	}
	if pod.Annotations[annotationStopRequestedAt] == "" {
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
			// Whole seconds, as the API server keeps deletionTimestamp
			// (request time + grace period): the kill never comes before
			// StopRequestedAt + the stop timeout.
			annotationStopRequestedAt: d.cfg.Now().UTC().Truncate(time.Second).Format(time.RFC3339Nano),
		}}})
		updated, err := d.pods.Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{})
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("group %s: %w", id, driver.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("kubedriver: recording the stop of %s: %w", pod.Name, err)
		}
		d.mu.Lock()
		d.rememberLocked(updated)
		d.mu.Unlock()
		pod = updated
	}
	if pod.DeletionTimestamp != nil {
		return nil
	}
	secs := int64((grace + time.Second - 1) / time.Second)
	uid := pod.UID
	err = d.pods.Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &secs, Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("kubedriver: deleting pod %s: %w", pod.Name, err)
	}
	return nil
}

// Inspect reports the group's containers from the watched pod.
func (d *Driver) Inspect(ctx context.Context, id string) (driver.GroupState, error) {
	pod := d.lookup(id)
	if pod == nil {
		return driver.GroupState{}, fmt.Errorf("group %s: %w", id, driver.ErrNotFound)
	}
	return d.groupState(pod, d.cfg.Now())
}

// groupState is groupState with what the node watch knows.
func (d *Driver) groupState(pod *corev1.Pod, now time.Time) (driver.GroupState, error) {
	g, err := groupState(pod, now)
	if err == nil && d.nodeGone(pod) {
		markNodeGone(&g, pod.Spec.NodeName, now)
	}
	return g, err
}

// List reports the groups whose labels include all of want.
func (d *Driver) List(ctx context.Context, want map[string]string) ([]driver.GroupState, error) {
	d.mu.Lock()
	pods := make([]*corev1.Pod, 0, len(d.known))
	for _, p := range d.known {
		pods = append(pods, p)
	}
	d.mu.Unlock()
	now := d.cfg.Now()
	var out []driver.GroupState
	for _, p := range pods {
		g, err := d.groupState(p, now)
		if err != nil {
			d.cfg.Logger.Warn("kubernetes: pod without a readable spec", "pod", p.Name, "err", err)
			continue
		}
		match := true
		for k, v := range want {
			if g.Labels[k] != v {
				match = false
				break
			}
		}
		if match {
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Remove deletes the pod at once (grace period 0: the kubelet kills what
// still runs) and lets it go by removing the finalizer.
func (d *Driver) Remove(ctx context.Context, id string) error {
	pod := d.lookup(id)
	if pod == nil {
		return fmt.Errorf("group %s: %w", id, driver.ErrNotFound)
	}
	uid := pod.UID
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"finalizers": withoutFinalizer(pod.Finalizers),
	}})
	if _, err := d.pods.Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("kubedriver: releasing pod %s: %w", pod.Name, err)
	}
	zero := int64(0)
	err := d.pods.Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("kubedriver: deleting pod %s: %w", pod.Name, err)
	}
	d.mu.Lock()
	if cur := d.known[pod.Name]; cur != nil && cur.UID == uid {
		delete(d.known, pod.Name)
	}
	d.removed[uid] = true
	d.mu.Unlock()
	return nil
}

func withoutFinalizer(fs []string) []string {
	out := []string{}
	for _, f := range fs {
		if f != finalizer {
			out = append(out, f)
		}
	}
	return out
}

// Logs reads a container's output through the pod log API. The API
// merges stdout and stderr: every line is reported as stdout.
func (d *Driver) Logs(ctx context.Context, id, container string, opts driver.LogOptions, fn func(driver.LogLine) error) error {
	pod := d.lookup(id)
	if pod == nil {
		return fmt.Errorf("group %s: %w", id, driver.ErrNotFound)
	}
	spec, err := specOf(pod)
	if err != nil {
		return err
	}
	names := containerNames(spec.Containers)
	name := ""
	for i, c := range spec.Containers {
		if c.Name == container {
			name = names[i]
		}
	}
	if name == "" {
		return fmt.Errorf("container %s of group %s: %w", container, id, driver.ErrNotFound)
	}
	po := &corev1.PodLogOptions{Container: name, Follow: opts.Follow, Timestamps: true}
	if !opts.Since.IsZero() {
		t := metav1.NewTime(opts.Since)
		po.SinceTime = &t
	}
	if opts.Tail > 0 {
		n := int64(opts.Tail)
		po.TailLines = &n
	}
	rc, err := d.cfg.Client.CoreV1().Pods(d.cfg.Namespace).GetLogs(pod.Name, po).Stream(ctx)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("container %s of group %s: %w", container, id, driver.ErrNotFound)
		}
		if apierrors.IsBadRequest(err) {
			// Not started yet: nothing written.
			return nil
		}
		return err
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		ts, text, _ := strings.Cut(sc.Text(), " ")
		line := driver.LogLine{Stream: "stdout", Text: text}
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			line.Time = t
		}
		if err := fn(line); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return sc.Err()
}

// EnsureNamespace creates namespace ns unless it exists (the cluster's
// controller-manager gives it the default ServiceAccount pods run as).
func EnsureNamespace(ctx context.Context, client kubernetes.Interface, ns string) error {
	_, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("namespace %s: %w", ns, err)
	}
	return nil
}
