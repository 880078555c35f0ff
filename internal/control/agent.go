package control

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

// The agent API (DiscoverPollEndpoint and the Submit*StateChange calls),
// which ECS reserves for its container agent. ecsd's contract
// (docs/compat.md, "Agent API"): reports are accepted for tasks on
// instances registered through RegisterContainerInstance. When the
// instance registered with the attribute ecsd.agent=external, the agent
// runs its tasks and its reports are what the tasks' states become;
// otherwise ecsd's runtime runs them, a report of STOPPED asks the task to
// stop (as StopTask does) and other reports are acknowledged only. Tasks
// of ecsd's own instances (simulated, the Docker host) have no agent
// outside ecsd.

// Acknowledgment is what the Submit* calls answer.
const Acknowledgment = "ACK"

const msgNotAgentTask = "The task is not running on a container instance registered with RegisterContainerInstance; only its agent reports its state."

// PollEndpoints are DiscoverPollEndpoint's answer.
type PollEndpoints struct {
	Endpoint, TelemetryEndpoint, ServiceConnectEndpoint string
}

// DiscoverPollEndpoint answers the endpoints an agent polls: ecsd itself
// (it serves no agent communication service; see docs/compat.md).
func (c *Control) DiscoverPollEndpoint(ctx context.Context, who Caller, cluster, instance string) (PollEndpoints, error) {
	err := c.Store.View(ctx, func(tx store.ReadTx) error {
		if cluster == "" && instance == "" {
			return nil
		}
		clRec, err := readCluster(tx, who, cluster)
		if err != nil {
			return err
		}
		if instance != "" {
			_, err = findInstance(tx, who, clRec.Name, instance)
		}
		return err
	})
	if err != nil {
		return PollEndpoints{}, ecs.AsError(err)
	}
	ep := c.PollEndpoint
	if ep == "" {
		ep = "https://ecs-a-1." + who.Region + ".amazonaws.com/"
	}
	return PollEndpoints{Endpoint: ep, TelemetryEndpoint: ep, ServiceConnectEndpoint: ep}, nil
}

// agentTask finds a task an agent reports on and says whether the agent
// runs it (external) or ecsd's runtime does.
func agentTask(tx store.ReadTx, who Caller, cluster, ident string) (store.Task, types.Task, error) {
	clRec, err := readCluster(tx, who, cluster)
	if err != nil {
		return store.Task{}, types.Task{}, err
	}
	rec, err := findTask(tx, who, clRec.Name, ident)
	if err != nil {
		return store.Task{}, types.Task{}, err
	}
	if rec.ContainerInstance == "" {
		return store.Task{}, types.Task{}, ecs.InvalidParameterException(msgNotAgentTask)
	}
	ci, err := tx.ContainerInstance(who.Scope, clRec.Name, rec.ContainerInstance)
	if errors.Is(err, store.ErrNotFound) || err == nil && ci.Source != store.InstanceSourceAPI {
		return store.Task{}, types.Task{}, ecs.InvalidParameterException(msgNotAgentTask)
	}
	if err != nil {
		return store.Task{}, types.Task{}, ecs.ServerException(err)
	}
	task, err := records.Task(rec)
	if err != nil {
		return store.Task{}, types.Task{}, ecs.ServerException(err)
	}
	return rec, task, nil
}

// applyReport writes what an agent reported: for a task the agent runs,
// the reported state; for one ecsd's runtime runs, only a stop request.
func (c *Control) applyReport(tx store.Tx, who Caller, rec store.Task, task types.Task, apply func(types.Task, time.Time) (types.Task, bool, error), stopReported bool, reason string) (bool, error) {
	now := c.now()
	var next types.Task
	var changed bool
	if rec.ExternalAgent {
		var err error
		if next, changed, err = apply(task, now); err != nil {
			return false, err
		}
	} else {
		if _, _, err := apply(task, now); err != nil { // validate the report all the same
			return false, err
		}
		if stopReported {
			if reason == "" {
				reason = ecs.ReasonEssentialContainerExited
			}
			next = ecs.RequestStop(task, types.TaskStopCodeEssentialContainerExited, reason, now)
			changed = next.Version != task.Version
		}
	}
	if !changed {
		return false, nil
	}
	nrec, err := records.FromTask(who.Scope, next)
	if err != nil {
		return false, ecs.ServerException(err)
	}
	return true, wrapServer(tx.PutTask(nrec))
}

// SubmitTaskStateChange applies an agent's report of a task.
func (c *Control) SubmitTaskStateChange(ctx context.Context, who Caller, cluster, ident string, ch ecs.TaskStateChange) (string, error) {
	var arn string
	changed := false
	err := c.Store.Update(ctx, func(tx store.Tx) error {
		rec, task, err := agentTask(tx, who, cluster, ident)
		if err != nil {
			return err
		}
		arn = deref(task.TaskArn)
		changed, err = c.applyReport(tx, who, rec, task, func(t types.Task, now time.Time) (types.Task, bool, error) {
			return ecs.ApplyTaskStateChange(t, ch, now)
		}, ch.Status == ecs.TaskStopped, ch.Reason)
		return err
	})
	if err != nil {
		return "", ecs.AsError(err)
	}
	if changed {
		c.notify(TopicTask, arn)
	}
	return Acknowledgment, nil
}

// ContainerStateChange is one SubmitContainerStateChange.
type ContainerStateChange struct {
	Cluster, Task, ContainerName, RuntimeID, Status, Reason string
	ExitCode                                                *int32
	NetworkBindings                                         []types.NetworkBinding
}

// SubmitContainerStateChange applies an agent's report of one container.
func (c *Control) SubmitContainerStateChange(ctx context.Context, who Caller, r ContainerStateChange) (string, error) {
	var arn string
	changed := false
	err := c.Store.Update(ctx, func(tx store.Tx) error {
		rec, task, err := agentTask(tx, who, r.Cluster, r.Task)
		if err != nil {
			return err
		}
		arn = deref(task.TaskArn)
		changed, err = c.applyReport(tx, who, rec, task, func(t types.Task, _ time.Time) (types.Task, bool, error) {
			return ecs.ApplyContainerStateChange(t, r.ContainerName, r.Status, r.ExitCode, r.Reason, r.RuntimeID, r.NetworkBindings)
		}, false, "")
		return err
	})
	if err != nil {
		return "", ecs.AsError(err)
	}
	if changed {
		c.notify(TopicTask, arn)
	}
	return Acknowledgment, nil
}

// SubmitAttachmentStateChanges applies an agent's report of task
// attachments (their ARNs end in the attachment's ID).
func (c *Control) SubmitAttachmentStateChanges(ctx context.Context, who Caller, cluster string, changes []types.AttachmentStateChange) (string, error) {
	if len(changes) == 0 {
		return "", ecs.InvalidParameterException("attachments can not be empty.")
	}
	var arns []string
	err := c.Store.Update(ctx, func(tx store.Tx) error {
		arns = nil
		clRec, err := readCluster(tx, who, cluster)
		if err != nil {
			return err
		}
		instances, err := tx.ContainerInstances(who.Scope, store.ContainerInstancesQuery{Cluster: clRec.Name})
		if err != nil {
			return ecs.ServerException(err)
		}
		external := map[string]bool{}
		for _, ci := range instances {
			if ci.Source == store.InstanceSourceAPI {
				external[ci.ID] = true
			}
		}
		placed, err := tx.PlacedTasks(who.Scope, clRec.Name, "")
		if err != nil {
			return ecs.ServerException(err)
		}
		for _, ch := range changes {
			found := false
			for _, p := range placed {
				if !external[p.ContainerInstance] {
					continue
				}
				rec, err := tx.Task(who.Scope, clRec.Name, p.ID)
				if err != nil {
					return ecs.ServerException(err)
				}
				task, err := records.Task(rec)
				if err != nil {
					return ecs.ServerException(err)
				}
				next, ok := ecs.ApplyAttachmentStateChange(task, ch)
				if !ok {
					if holdsAttachment(task, deref(ch.AttachmentArn)) {
						found = true // already in that state
					}
					continue
				}
				found = true
				if rec.ExternalAgent {
					nrec, err := records.FromTask(who.Scope, next)
					if err != nil {
						return ecs.ServerException(err)
					}
					if err := tx.PutTask(nrec); err != nil {
						return ecs.ServerException(err)
					}
					arns = append(arns, deref(next.TaskArn))
				}
			}
			if !found {
				return ecs.InvalidParameterException("Attachment %s was not found on a task of a container instance registered with RegisterContainerInstance.", deref(ch.AttachmentArn))
			}
		}
		return nil
	})
	if err != nil {
		return "", ecs.AsError(err)
	}
	for _, a := range arns {
		c.notify(TopicTask, a)
	}
	return Acknowledgment, nil
}

func holdsAttachment(t types.Task, arn string) bool {
	for _, a := range t.Attachments {
		if a.Id != nil && len(arn) >= len(*a.Id) && arn[len(arn)-len(*a.Id):] == *a.Id {
			return true
		}
	}
	return false
}
