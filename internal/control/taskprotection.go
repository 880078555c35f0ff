package control

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/store"
)

// Task scale-in protection, as the API reference's UpdateTaskProtection and
// GetTaskProtection describe it: a service task can be protected for 1 to
// 2,880 minutes (120 by default) from scale-in and deployments; a
// standalone task is a TASK_NOT_VALID failure and an unknown one MISSING
// (developer guide, "API failure reasons").
const (
	DefaultProtectionMinutes  = 120
	MaxProtectionMinutes      = 2880
	MaxUpdateProtectionTasks  = 10
	MaxGetProtectionTasks     = 100
	FailureTaskNotValid       = "TASK_NOT_VALID"
	msgProtectionMinutes      = "expiresInMinutes must be between 1 and 2880."
	msgProtectionTasksEmpty   = "Tasks cannot be empty."
	msgProtectionTooManyTasks = "The maximum number of tasks is %d."
)

// UpdateTaskProtection sets or clears the scale-in protection of up to 10
// tasks of a cluster.
func (c *Control) UpdateTaskProtection(ctx context.Context, who Caller, cluster string, idents []string, enabled bool, expiresInMinutes *int32) ([]types.ProtectedTask, []types.Failure, error) {
	switch {
	case len(idents) == 0:
		return nil, nil, ecs.InvalidParameterException(msgProtectionTasksEmpty)
	case len(idents) > MaxUpdateProtectionTasks:
		return nil, nil, ecs.InvalidParameterException(msgProtectionTooManyTasks, MaxUpdateProtectionTasks)
	}
	minutes := int32(DefaultProtectionMinutes)
	if expiresInMinutes != nil {
		minutes = *expiresInMinutes
	}
	if enabled && (minutes < 1 || minutes > MaxProtectionMinutes) {
		return nil, nil, ecs.InvalidParameterException(msgProtectionMinutes)
	}
	now := c.now()
	var until time.Time
	if enabled {
		until = now.Add(time.Duration(minutes) * time.Minute).Truncate(time.Millisecond)
	}
	var out []types.ProtectedTask
	var failures []types.Failure
	var services []string
	err := c.Store.Update(ctx, func(tx store.Tx) error {
		out, failures, services = []types.ProtectedTask{}, []types.Failure{}, nil
		clRec, err := readCluster(tx, who, cluster)
		if err != nil {
			return err
		}
		for _, ident := range idents {
			rec, failure, err := protectableTask(tx, who, clRec.Name, ident)
			if err != nil {
				return err
			}
			if failure != nil {
				failures = append(failures, *failure)
				continue
			}
			if err := tx.SetTaskProtection(who.Scope, clRec.Name, rec.ID, until); err != nil {
				return ecs.ServerException(err)
			}
			rec.ProtectedUntil = until
			out = append(out, protectedTask(who, rec, now))
			services = append(services, ecs.ServiceARN(who.Region, who.Account, clRec.Name, rec.Service))
		}
		return nil
	})
	if err != nil {
		return nil, nil, ecs.AsError(err)
	}
	// A service waiting on a protected task looks again.
	for _, a := range services {
		c.notify(TopicService, a)
	}
	return out, failures, nil
}

// GetTaskProtection reports the scale-in protection of up to 100 tasks.
func (c *Control) GetTaskProtection(ctx context.Context, who Caller, cluster string, idents []string) ([]types.ProtectedTask, []types.Failure, error) {
	if len(idents) > MaxGetProtectionTasks {
		return nil, nil, ecs.InvalidParameterException(msgProtectionTooManyTasks, MaxGetProtectionTasks)
	}
	now := c.now()
	out, failures := []types.ProtectedTask{}, []types.Failure{}
	err := c.Store.View(ctx, func(tx store.ReadTx) error {
		clRec, err := readCluster(tx, who, cluster)
		if err != nil {
			return err
		}
		for _, ident := range idents {
			rec, failure, err := protectableTask(tx, who, clRec.Name, ident)
			if err != nil {
				return err
			}
			if failure != nil {
				failures = append(failures, *failure)
				continue
			}
			out = append(out, protectedTask(who, rec, now))
		}
		return nil
	})
	if err != nil {
		return nil, nil, ecs.AsError(err)
	}
	return out, failures, nil
}

// protectableTask finds a task whose protection can be read or set: a
// task a service started. The failure says why another cannot.
func protectableTask(tx store.ReadTx, who Caller, cluster, ident string) (store.Task, *types.Failure, error) {
	rec, err := findTask(tx, who, cluster, ident)
	var e *ecs.Error
	if errors.As(err, &e) && e.Code == "InvalidParameterException" {
		return store.Task{}, &types.Failure{Arn: ptr(missingTaskARN(who, cluster, ident)), Reason: ptr(ecs.FailureMissing)}, nil
	}
	if err != nil {
		return store.Task{}, nil, err
	}
	if rec.Service == "" {
		return store.Task{}, &types.Failure{Arn: ptr(ecs.TaskARN(who.Region, who.Account, cluster, rec.ID)), Reason: ptr(FailureTaskNotValid)}, nil
	}
	return rec, nil, nil
}

// protectedTask is a task's protection as the API shows it at now: an
// expired protection is off, with no expirationDate.
func protectedTask(who Caller, rec store.Task, now time.Time) types.ProtectedTask {
	pt := types.ProtectedTask{TaskArn: ptr(ecs.TaskARN(who.Region, who.Account, rec.Cluster, rec.ID))}
	if now.Before(rec.ProtectedUntil) {
		pt.ProtectionEnabled = true
		pt.ExpirationDate = ptr(rec.ProtectedUntil)
	}
	return pt
}
