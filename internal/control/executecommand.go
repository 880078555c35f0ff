package control

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

// ExecuteCommand's messages; docs/compat.md gives their sources.
const (
	msgInteractiveOnly = "Interactive is the only mode supported currently."
	msgExecNotEnabled  = "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn’t running. Wait and try again or run a new task with execute command enabled and try again."
	msgExecInternal    = "The execute command failed due to an internal error. Try again later."
	msgExecSimulated   = "The execute command failed because the task runs on ecsd's simulated runtime, which has no process to run a command in. Start ecsd with --runtime docker to use ECS Exec."
	msgCommandBlank    = "Command can not be blank."
	msgContainerNeeded = "The task has more than one container; specify the container to run the command in."
	msgContainerNone   = "The container %s does not exist in the task."
)

// ExecuteCommandRequest is ExecuteCommand's input in domain terms.
type ExecuteCommandRequest struct {
	Cluster, Task, Container, Command string
	Interactive                       bool
	// Host is where the caller reached ecsd (host:port); the session's
	// stream URL names it.
	Host string
}

// ExecTarget is the container an ExecuteCommand session runs a command
// in.
type ExecTarget struct {
	// Group is the task's container group in the runtime.
	Group, Container, Command, Host string
	TaskARN, ContainerARN           string
}

// ExecSession is ExecuteCommand's session: where the client streams and
// with which token.
type ExecSession struct {
	ID, StreamURL, Token string
}

// ExecuteCommandResult is ExecuteCommand's output in domain terms.
type ExecuteCommandResult struct {
	ClusterARN, TaskARN, ContainerARN, ContainerName string
	Interactive                                      bool
	Session                                          ExecSession
}

// ExecuteCommand opens an ECS Exec session on a container of a running
// task started with enableExecuteCommand. Only interactive sessions exist,
// as in ECS. The session itself is OpenExecFunc's: nil on a runtime that
// runs no processes.
func (c *Control) ExecuteCommand(ctx context.Context, who Caller, r ExecuteCommandRequest) (ExecuteCommandResult, error) {
	if !r.Interactive {
		return ExecuteCommandResult{}, ecs.InvalidParameterException(msgInteractiveOnly)
	}
	if r.Command == "" {
		return ExecuteCommandResult{}, ecs.InvalidParameterException(msgCommandBlank)
	}
	var (
		task   types.Task
		target ExecTarget
	)
	err := c.Store.View(ctx, func(tx store.ReadTx) error {
		clRec, err := readCluster(tx, who, r.Cluster)
		if err != nil {
			return err
		}
		rec, err := findTask(tx, who, clRec.Name, r.Task)
		if err != nil {
			return err
		}
		if task, err = records.Task(rec); err != nil {
			return ecs.ServerException(err)
		}
		target.Group = rec.ID
		return nil
	})
	if err != nil {
		return ExecuteCommandResult{}, ecs.AsError(err)
	}
	ctr, err := execContainer(task, r.Container)
	if err != nil {
		return ExecuteCommandResult{}, err
	}
	if !task.EnableExecuteCommand || !agentRunning(ctr) {
		return ExecuteCommandResult{}, ecs.InvalidParameterException(msgExecNotEnabled)
	}
	if c.OpenExecFunc == nil {
		return ExecuteCommandResult{}, ecs.TargetNotConnectedException(msgExecSimulated)
	}
	target.Container, target.Command, target.Host = deref(ctr.Name), r.Command, r.Host
	target.TaskARN, target.ContainerARN = deref(task.TaskArn), deref(ctr.ContainerArn)
	s, err := c.OpenExecFunc(ctx, target)
	if err != nil {
		// ECS answers this for whatever keeps its agent from taking the
		// session; the log gets the cause.
		e := ecs.TargetNotConnectedException(msgExecInternal)
		e.Cause = err
		return ExecuteCommandResult{}, e
	}
	return ExecuteCommandResult{
		ClusterARN: deref(task.ClusterArn), TaskARN: deref(task.TaskArn),
		ContainerARN: deref(ctr.ContainerArn), ContainerName: deref(ctr.Name),
		Interactive: true, Session: s,
	}, nil
}

// execContainer is the container a request names, or the task's only
// one.
func execContainer(task types.Task, name string) (types.Container, error) {
	if name == "" {
		if len(task.Containers) != 1 {
			return types.Container{}, ecs.InvalidParameterException(msgContainerNeeded)
		}
		return task.Containers[0], nil
	}
	for _, c := range task.Containers {
		if deref(c.Name) == name {
			return c, nil
		}
	}
	return types.Container{}, ecs.InvalidParameterException(msgContainerNone, name)
}

// agentRunning reports whether the container's ExecuteCommandAgent runs:
// it runs while the container does.
func agentRunning(c types.Container) bool {
	for _, a := range c.ManagedAgents {
		if a.Name == types.ManagedAgentNameExecuteCommandAgent {
			return deref(a.LastStatus) == ecs.ManagedAgentRunning
		}
	}
	// A task recorded before ecsd reported agents.
	return deref(c.LastStatus) == ecs.ContainerRunning
}
