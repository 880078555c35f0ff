package kubedriver

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/ecsd/ecsd/internal/driver"
)

// Reasons, in ECS's words.
const (
	reasonOOM = "OutOfMemoryError: Container killed due to memory usage"
	// reasonPull prefixes a container whose image the node cannot pull
	// (ErrImagePull, ImagePullBackOff, ...), as the ECS agent words it.
	reasonPull = "CannotPullContainerError: "
	// reasonStart prefixes a container the node could not create or start.
	reasonStart = "CannotStartContainerError: "
	// reasonGone is a container whose pod was deleted before it ran.
	reasonGone = "CannotStartContainerError: pod deleted before the container started"
)

// waiting reasons of the kubelet that mean the container will never start
// without someone changing the pod.
var pullFailures = map[string]bool{
	"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true,
	"ErrImageNeverPull": true, "RegistryUnavailable": true, "ErrImageInspect": true,
	"SignatureValidationFailed": true,
}

var startFailures = map[string]bool{
	"CreateContainerConfigError": true, "CreateContainerError": true, "RunContainerError": true,
	"PreStartHookError": true, "PostStartHookError": true, "ContainerCannotRun": true,
}

// specOf is the GroupSpec a pod was made from.
func specOf(pod *corev1.Pod) (driver.GroupSpec, error) {
	var spec driver.GroupSpec
	raw, ok := pod.Annotations[annotationSpec]
	if !ok {
		return spec, fmt.Errorf("pod %s has no %s annotation", pod.Name, annotationSpec)
	}
	err := json.Unmarshal([]byte(raw), &spec)
	return spec, err
}

// groupState reads a pod as the driver reports a group: each container
// of the spec, in spec order, from the pod's container statuses.
func groupState(pod *corev1.Pod, now time.Time) (driver.GroupState, error) {
	spec, err := specOf(pod)
	if err != nil {
		return driver.GroupState{}, err
	}
	g := driver.GroupState{ID: spec.ID, Labels: spec.Labels, CreatedAt: pod.CreationTimestamp.Time, Host: pod.Spec.NodeName}
	if g.Labels == nil {
		g.Labels = map[string]string{}
	}
	if t, err := time.Parse(time.RFC3339Nano, pod.Annotations[annotationStopRequestedAt]); err == nil {
		g.StopRequestedAt = t
	}
	names := containerNames(spec.Containers)
	statuses := map[string]corev1.ContainerStatus{}
	for _, s := range pod.Status.InitContainerStatuses {
		statuses[s.Name] = s
	}
	for _, s := range pod.Status.ContainerStatuses {
		statuses[s.Name] = s
	}
	deleting := pod.DeletionTimestamp != nil
	finished := pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded
	for i, cs := range spec.Containers {
		c := driver.ContainerState{
			Name: cs.Name, Status: driver.StatusCreated, Health: driver.HealthUnknown,
			RuntimeName: pod.Name + "/" + names[i], CreatedAt: pod.CreationTimestamp.Time,
		}
		s, seen := statuses[names[i]]
		switch {
		case seen && s.State.Terminated != nil:
			t := s.State.Terminated
			c.Status = driver.StatusExited
			c.StartedAt, c.FinishedAt = t.StartedAt.Time, t.FinishedAt.Time
			code := int(t.ExitCode)
			if t.StartedAt.IsZero() && t.Reason != "Completed" && t.Reason != "Error" && t.Reason != "OOMKilled" {
				// Never ran (ContainerStatusUnknown, a pod deleted while
				// pulling): no exit code, a reason.
				c.Reason = reasonStart + t.Reason
				if t.Message != "" {
					c.Reason += ": " + t.Message
				}
			} else {
				c.ExitCode = &code
				if t.StartedAt.IsZero() {
					c.StartedAt = c.FinishedAt
				}
			}
			if t.Reason == "OOMKilled" {
				c.Reason = reasonOOM
			}
		case seen && s.State.Running != nil:
			c.Status = driver.StatusRunning
			c.StartedAt = s.State.Running.StartedAt.Time
			if cs.HealthCheck != nil && len(cs.HealthCheck.Command) > 0 {
				c.Health = health(cs.HealthCheck, s, c.StartedAt, now)
			}
		case seen && s.State.Waiting != nil && pullFailures[s.State.Waiting.Reason]:
			c.Status = driver.StatusExited
			c.Reason = reasonPull + waitingMessage(s.State.Waiting)
			c.FinishedAt = now
		case seen && s.State.Waiting != nil && startFailures[s.State.Waiting.Reason]:
			c.Status = driver.StatusExited
			c.Reason = reasonStart + waitingMessage(s.State.Waiting)
			c.FinishedAt = now
		case finished || deleting && pod.Status.Phase != corev1.PodRunning:
			// The pod ended (evicted, rejected by the node, deleted while
			// pending) before this container ran.
			c.Status = driver.StatusExited
			c.Reason = reasonGone
			if finished && (pod.Status.Reason != "" || pod.Status.Message != "") {
				c.Reason = strings.TrimSpace(reasonStart + pod.Status.Reason + ": " + pod.Status.Message)
			}
			c.FinishedAt = now
		}
		if seen {
			c.RuntimeID = s.ContainerID
			c.ImageDigest = imageDigest(s.ImageID)
			if c.Status != driver.StatusCreated && !c.StartedAt.IsZero() {
				// The kubelet pulls before it creates: the image was there
				// when the container started.
				c.PulledAt = c.StartedAt
			}
		}
		if c.Status == driver.StatusRunning || c.Status == driver.StatusExited && c.ExitCode != nil {
			c.PrivateIP = pod.Status.PodIP
			c.NetworkBindings = bindings(cs, spec.NetworkMode, pod)
		}
		g.Containers = append(g.Containers, c)
	}
	return g, nil
}

func waitingMessage(w *corev1.ContainerStateWaiting) string {
	if w.Message != "" {
		return w.Message
	}
	return w.Reason
}

// imageDigest is the digest part of a kubelet image ID
// ("docker.io/library/x@sha256:..." or "sha256:...").
func imageDigest(id string) string {
	if i := strings.LastIndex(id, "@"); i >= 0 {
		return id[i+1:]
	}
	if strings.HasPrefix(id, "sha256:") {
		return id
	}
	return ""
}

// health maps readiness onto ECS health: ready is HEALTHY; not ready once
// the start period and the retries have passed is UNHEALTHY; before that
// UNKNOWN, as ECS reports a container still in its start period.
func health(hc *driver.HealthCheck, s corev1.ContainerStatus, started, now time.Time) driver.Health {
	if s.Ready {
		return driver.HealthHealthy
	}
	interval := hc.Interval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	retries := hc.Retries
	if retries <= 0 {
		retries = 3
	}
	if !started.IsZero() && now.Sub(started) > hc.StartPeriod+time.Duration(retries)*interval {
		return driver.HealthUnhealthy
	}
	return driver.HealthUnknown
}

// bindings are a container's published ports. A host port the pod asked
// for is on the node; otherwise (awsvpc, bridge without a fixed host
// port, where Kubernetes has no ephemeral host ports) the port answers on
// the pod IP.
func bindings(cs driver.ContainerSpec, mode string, pod *corev1.Pod) []driver.NetworkBinding {
	var out []driver.NetworkBinding
	for _, p := range cs.PortMappings {
		proto := strings.ToLower(p.Protocol)
		if proto == "" {
			proto = "tcp"
		}
		b := driver.NetworkBinding{BindIP: pod.Status.PodIP, ContainerPort: p.ContainerPort, HostPort: p.ContainerPort, Protocol: proto}
		switch {
		case mode == driver.NetworkHost:
			b.BindIP = pod.Status.HostIP
		case (mode == driver.NetworkBridge || mode == "") && p.HostPort > 0:
			b.BindIP, b.HostPort = pod.Status.HostIP, p.HostPort
		}
		if b.BindIP == "" {
			continue
		}
		out = append(out, b)
	}
	return out
}
