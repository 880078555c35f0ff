package ecs

import (
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// The agent API: what an ECS container agent reports about the tasks on
// its instance (SubmitTaskStateChange, SubmitContainerStateChange,
// SubmitAttachmentStateChanges), applied to the task records.

// TaskStateChange is one SubmitTaskStateChange.
type TaskStateChange struct {
	Status                                           string
	Reason                                           string
	Containers                                       []types.ContainerStateChange
	Attachments                                      []types.AttachmentStateChange
	PullStartedAt, PullStoppedAt, ExecutionStoppedAt *time.Time
}

// taskOrder ranks lastStatus values so a report never moves a task back.
var taskOrder = map[string]int{
	TaskProvisioning: 0, TaskPending: 1, TaskActivating: 2, TaskRunning: 3,
	TaskDeactivating: 4, TaskStopping: 5, TaskDeprovisioning: 6, TaskStopped: 7,
}

// MarkStopped makes a task STOPPED now, as when its agent reports it so or
// its instance is gone. A task not yet asked to stop is asked first with
// the given code and reason.
func MarkStopped(t types.Task, now time.Time) types.Task {
	if deref(t.LastStatus) == TaskStopped {
		return t
	}
	next := cloneTask(t)
	requestStop(&next, types.TaskStopCodeEssentialContainerExited, ReasonEssentialContainerExited, now)
	finish(&next, now.UTC())
	next.Version = t.Version + 1
	return next
}

// ApplyTaskStateChange applies an agent's report to a task. Reports never
// move a task back, and a STOPPED task stays as it is. It reports whether
// the task changed.
func ApplyTaskStateChange(t types.Task, ch TaskStateChange, now time.Time) (types.Task, bool, error) {
	switch ch.Status {
	case "", TaskPending, TaskRunning, TaskStopped:
	default:
		return t, false, InvalidParameterException("Invalid status %q: an agent reports PENDING, RUNNING or STOPPED.", ch.Status)
	}
	if deref(t.LastStatus) == TaskStopped {
		return t, false, nil
	}
	now = now.UTC()
	next := cloneTask(t)
	changed := false
	for _, c := range ch.Containers {
		ok, err := applyContainer(&next, c.ContainerName, c.Status, c.ExitCode, c.Reason, c.RuntimeId, c.ImageDigest, c.NetworkBindings)
		if err != nil {
			return t, false, err
		}
		changed = changed || ok
	}
	for _, a := range ch.Attachments {
		changed = applyAttachment(&next, a) || changed
	}
	for _, p := range []struct {
		dst **time.Time
		src *time.Time
	}{
		{&next.PullStartedAt, ch.PullStartedAt}, {&next.PullStoppedAt, ch.PullStoppedAt},
		{&next.ExecutionStoppedAt, ch.ExecutionStoppedAt},
	} {
		if p.src != nil && (*p.dst == nil || !(*p.dst).Equal(*p.src)) {
			v := p.src.UTC()
			*p.dst, changed = &v, true
		}
	}
	if ch.Status != "" && taskOrder[ch.Status] > taskOrder[deref(next.LastStatus)] {
		switch ch.Status {
		case TaskRunning:
			if next.Connectivity == "" {
				next.Connectivity, next.ConnectivityAt = types.ConnectivityConnected, &now
			}
			if next.StartedAt == nil {
				next.StartedAt = &now
			}
			next.LastStatus = ptr(TaskRunning)
		case TaskStopped:
			reason := ch.Reason
			if reason == "" {
				reason = ReasonEssentialContainerExited
			}
			requestStop(&next, types.TaskStopCodeEssentialContainerExited, reason, now)
			finish(&next, now)
		default:
			next.LastStatus = ptr(ch.Status)
		}
		changed = true
	}
	if !changed {
		return t, false, nil
	}
	next.Version = t.Version + 1
	return next, true, nil
}

// ApplyContainerStateChange applies a SubmitContainerStateChange.
func ApplyContainerStateChange(t types.Task, name, status string, exitCode *int32, reason, runtimeID string, bindings []types.NetworkBinding) (types.Task, bool, error) {
	if deref(t.LastStatus) == TaskStopped {
		return t, false, nil
	}
	next := cloneTask(t)
	ok, err := applyContainer(&next, ptr(name), ptr(status), exitCode, ptr(reason), ptr(runtimeID), nil, bindings)
	if err != nil || !ok {
		return t, false, err
	}
	next.Version = t.Version + 1
	return next, true, nil
}

// ApplyAttachmentStateChange sets the status of the task's attachment an
// ARN names (arn:...:attachment/ID); it reports whether the task holds it.
func ApplyAttachmentStateChange(t types.Task, a types.AttachmentStateChange) (types.Task, bool) {
	next := cloneTask(t)
	if !applyAttachment(&next, a) {
		return t, false
	}
	next.Version = t.Version + 1
	return next, true
}

func applyAttachment(t *types.Task, a types.AttachmentStateChange) bool {
	arn := deref(a.AttachmentArn)
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	for i, at := range t.Attachments {
		if deref(at.Id) == id && deref(at.Status) != deref(a.Status) {
			at.Status = a.Status
			t.Attachments[i] = at
			return true
		}
	}
	return false
}

// AttachmentARN is the ARN agents use for a task attachment.
func AttachmentARN(region, account, id string) string {
	return arnPrefix(region, account) + "attachment/" + id
}

func applyContainer(t *types.Task, name, status *string, exitCode *int32, reason, runtimeID, digest *string, bindings []types.NetworkBinding) (bool, error) {
	for i, c := range t.Containers {
		if deref(c.Name) != deref(name) {
			continue
		}
		before := c
		if s := deref(status); s != "" {
			switch s {
			case ContainerPending, ContainerRunning, ContainerStopped:
			default:
				return false, InvalidParameterException("Invalid container status %q: an agent reports PENDING, RUNNING or STOPPED.", s)
			}
			if containerOrder(s) > containerOrder(deref(c.LastStatus)) {
				c.LastStatus = ptr(s)
			}
		}
		if exitCode != nil {
			c.ExitCode = ptr(*exitCode)
		}
		if deref(reason) != "" {
			c.Reason = ptr(*reason)
		}
		if deref(runtimeID) != "" {
			c.RuntimeId = ptr(*runtimeID)
		}
		if deref(digest) != "" {
			c.ImageDigest = ptr(*digest)
		}
		if bindings != nil {
			c.NetworkBindings = bindings
		}
		t.Containers[i] = c
		return !sameContainer(before, c), nil
	}
	return false, InvalidParameterException("Container %s is not a container of the task.", deref(name))
}

func containerOrder(s string) int {
	switch s {
	case ContainerRunning:
		return 1
	case ContainerStopped:
		return 2
	}
	return 0
}

func sameContainer(a, b types.Container) bool {
	return deref(a.LastStatus) == deref(b.LastStatus) && deref(a.Reason) == deref(b.Reason) &&
		deref(a.RuntimeId) == deref(b.RuntimeId) && deref(a.ImageDigest) == deref(b.ImageDigest) &&
		(a.ExitCode == nil) == (b.ExitCode == nil) && (a.ExitCode == nil || *a.ExitCode == *b.ExitCode) &&
		len(a.NetworkBindings) == len(b.NetworkBindings) && bindingsEqual(a.NetworkBindings, b.NetworkBindings)
}

func bindingsEqual(a, b []types.NetworkBinding) bool {
	for i := range a {
		x, y := a[i], b[i]
		if deref(x.BindIP) != deref(y.BindIP) || derefInt(x.ContainerPort) != derefInt(y.ContainerPort) ||
			derefInt(x.HostPort) != derefInt(y.HostPort) || x.Protocol != y.Protocol {
			return false
		}
	}
	return true
}
