package control_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/control"
	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

// runTaskAs starts a task of a two-container revision and moves it as
// the supervisor would, with the runtime reporting obs for both
// containers.
func runTaskAs(t *testing.T, c *control.Control, exec bool, obs string) types.Task {
	t.Helper()
	ctx := context.Background()
	td := def("pair")
	td.ContainerDefinitions = append(td.ContainerDefinitions, types.ContainerDefinition{Name: ptr("side"), Image: ptr("x"), Memory: ptr(int32(64))})
	reg, err := c.RegisterTaskDefinition(ctx, alice, td, nil)
	if err != nil {
		t.Fatal(err)
	}
	tasks, _, err := c.RunTask(ctx, alice, control.RunTaskRequest{TaskDefinition: "pair", EnableExecuteCommand: exec})
	if err != nil {
		t.Fatal(err)
	}
	task := tasks[0]
	now := time.Now()
	observed := ecs.Observation{Present: true}
	for _, n := range []string{"app", "side"} {
		o := ecs.ObservedContainer{Name: n, State: obs, RuntimeID: "rt-" + n}
		if obs != ecs.ObservedCreated {
			o.StartedAt = now
		}
		if obs == ecs.ObservedExited {
			o.ExitCode, o.FinishedAt = ptr(int32(0)), now
		}
		observed.Containers = append(observed.Containers, o)
	}
	for range 10 {
		next, changed := ecs.AdvanceTask(task, ecs.StepInput{Definition: reg, Observed: observed, Now: now, Due: true})
		if !changed {
			break
		}
		task = next
	}
	err = c.Store.Update(ctx, func(tx store.Tx) error {
		rec, err := records.FromTask(alice.Scope, task)
		if err != nil {
			return err
		}
		return tx.PutTask(rec)
	})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func TestExecuteCommand(t *testing.T) {
	c, _ := newControl(t)
	ctx := context.Background()
	var opened []control.ExecTarget
	c.OpenExecFunc = func(_ context.Context, tg control.ExecTarget) (control.ExecSession, error) {
		opened = append(opened, tg)
		return control.ExecSession{ID: "ecs-execute-command-0123", StreamURL: "ws://" + tg.Host + "/x", Token: "tok"}, nil
	}
	running := runTaskAs(t, c, true, ecs.ObservedRunning)
	if *running.LastStatus != ecs.TaskRunning {
		t.Fatalf("task is %s", *running.LastStatus)
	}
	req := control.ExecuteCommandRequest{Task: *running.TaskArn, Container: "side", Command: "/bin/sh", Interactive: true, Host: "127.0.0.1:4566"}
	got, err := c.ExecuteCommand(ctx, alice, req)
	if err != nil {
		t.Fatalf("ExecuteCommand: %v", err)
	}
	side := running.Containers[1]
	if got.TaskARN != *running.TaskArn || got.ClusterARN != *running.ClusterArn || got.ContainerName != "side" ||
		got.ContainerARN != *side.ContainerArn || !got.Interactive || got.Session.StreamURL != "ws://127.0.0.1:4566/x" {
		t.Errorf("result %+v", got)
	}
	if len(opened) != 1 || opened[0].Group != ecs.TaskID(*running.TaskArn) || opened[0].Container != "side" || opened[0].Command != "/bin/sh" {
		t.Errorf("opened %+v", opened)
	}

	stopped := runTaskAs(t, c, true, ecs.ObservedExited)
	pending := runTaskAs(t, c, true, ecs.ObservedCreated)
	disabled := runTaskAs(t, c, false, ecs.ObservedRunning)
	for _, tc := range []struct {
		name       string
		req        control.ExecuteCommandRequest
		code, want string
	}{
		{"non-interactive", control.ExecuteCommandRequest{Task: *running.TaskArn, Container: "app", Command: "ls"}, "InvalidParameterException", "Interactive is the only mode supported currently."},
		{"no command", control.ExecuteCommandRequest{Task: *running.TaskArn, Container: "app", Interactive: true}, "InvalidParameterException", "Command can not be blank."},
		{"unknown cluster", control.ExecuteCommandRequest{Cluster: "nope", Task: *running.TaskArn, Command: "ls", Interactive: true}, "ClusterNotFoundException", "Cluster not found."},
		{"unknown task", control.ExecuteCommandRequest{Task: "0123456789abcdef0123456789abcdef", Command: "ls", Interactive: true}, "InvalidParameterException", "The referenced task was not found"},
		{"container needed", control.ExecuteCommandRequest{Task: *running.TaskArn, Command: "ls", Interactive: true}, "InvalidParameterException", "The task has more than one container; specify the container to run the command in."},
		{"unknown container", control.ExecuteCommandRequest{Task: *running.TaskArn, Container: "db", Command: "ls", Interactive: true}, "InvalidParameterException", "The container db does not exist in the task."},
		{"not enabled", control.ExecuteCommandRequest{Task: *disabled.TaskArn, Container: "app", Command: "ls", Interactive: true}, "InvalidParameterException", "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn’t running. Wait and try again or run a new task with execute command enabled and try again."},
		{"stopped", control.ExecuteCommandRequest{Task: *stopped.TaskArn, Container: "app", Command: "ls", Interactive: true}, "InvalidParameterException", "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn’t running. Wait and try again or run a new task with execute command enabled and try again."},
		{"not started yet", control.ExecuteCommandRequest{Task: *pending.TaskArn, Container: "app", Command: "ls", Interactive: true}, "InvalidParameterException", "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn’t running. Wait and try again or run a new task with execute command enabled and try again."},
	} {
		_, err := c.ExecuteCommand(ctx, alice, tc.req)
		var e *ecs.Error
		if !errors.As(err, &e) || e.Code != tc.code || e.Message != tc.want {
			t.Errorf("%s: error %v, want %s %q", tc.name, err, tc.code, tc.want)
		}
	}
	if len(opened) != 1 {
		t.Errorf("refused requests opened sessions: %+v", opened)
	}

	// The runtime cannot open the session.
	c.OpenExecFunc = func(context.Context, control.ExecTarget) (control.ExecSession, error) {
		return control.ExecSession{}, errors.New("container gone")
	}
	_, err = c.ExecuteCommand(ctx, alice, req)
	var e *ecs.Error
	if !errors.As(err, &e) || e.Code != "TargetNotConnectedException" || e.Message != "The execute command failed due to an internal error. Try again later." || e.Fault {
		t.Errorf("runtime failure: %v", err)
	}
	// The simulated runtime runs no processes.
	c.OpenExecFunc = nil
	_, err = c.ExecuteCommand(ctx, alice, req)
	if !errors.As(err, &e) || e.Code != "TargetNotConnectedException" || e.Message != "The execute command failed because the task runs on ecsd's simulated runtime, which has no process to run a command in. Start ecsd with --runtime docker to use ECS Exec." {
		t.Errorf("simulated runtime: %v", err)
	}
}
