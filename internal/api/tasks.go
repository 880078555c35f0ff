package api

import (
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/awsjson"
	"github.com/ecsd/ecsd/internal/control"
)

func registerTasks(srv *awsjson.Server, c *control.Control) {
	awsjson.HandleFunc(srv, "RunTask", func(ctx context.Context, req *awsjson.Request, in *ecs.RunTaskInput) (*ecs.RunTaskOutput, error) {
		tasks, failures, err := c.RunTask(ctx, caller(req), control.RunTaskRequest{
			Cluster:                  deref(in.Cluster),
			TaskDefinition:           deref(in.TaskDefinition),
			Count:                    in.Count,
			Group:                    deref(in.Group),
			StartedBy:                deref(in.StartedBy),
			LaunchType:               in.LaunchType,
			CapacityProviderStrategy: in.CapacityProviderStrategy,
			NetworkConfiguration:     in.NetworkConfiguration,
			Overrides:                in.Overrides,
			PlatformVersion:          deref(in.PlatformVersion),
			PropagateTags:            in.PropagateTags,
			EnableECSManagedTags:     in.EnableECSManagedTags,
			EnableExecuteCommand:     in.EnableExecuteCommand,
			Tags:                     in.Tags,
			PlacementStrategy:        in.PlacementStrategy,
			PlacementConstraints:     in.PlacementConstraints,
		})
		if err != nil {
			return nil, err
		}
		return &ecs.RunTaskOutput{Tasks: tasks, Failures: failures}, nil
	})
	awsjson.HandleFunc(srv, "StartTask", func(ctx context.Context, req *awsjson.Request, in *ecs.StartTaskInput) (*ecs.StartTaskOutput, error) {
		tasks, failures, err := c.StartTask(ctx, caller(req), control.StartTaskRequest{
			Cluster:              deref(in.Cluster),
			TaskDefinition:       deref(in.TaskDefinition),
			ContainerInstances:   in.ContainerInstances,
			Group:                deref(in.Group),
			StartedBy:            deref(in.StartedBy),
			NetworkConfiguration: in.NetworkConfiguration,
			Overrides:            in.Overrides,
			Tags:                 in.Tags,
			EnableExecuteCommand: in.EnableExecuteCommand,
		})
		if err != nil {
			return nil, err
		}
		return &ecs.StartTaskOutput{Tasks: tasks, Failures: failures}, nil
	})
	awsjson.HandleFunc(srv, "StopTask", func(ctx context.Context, req *awsjson.Request, in *ecs.StopTaskInput) (*ecs.StopTaskOutput, error) {
		task, err := c.StopTask(ctx, caller(req), deref(in.Cluster), deref(in.Task), deref(in.Reason))
		if err != nil {
			return nil, err
		}
		return &ecs.StopTaskOutput{Task: &task}, nil
	})
	awsjson.HandleFunc(srv, "DescribeTasks", func(ctx context.Context, req *awsjson.Request, in *ecs.DescribeTasksInput) (*ecs.DescribeTasksOutput, error) {
		withTags := slices.Contains(in.Include, types.TaskFieldTags)
		tasks, failures, err := c.DescribeTasks(ctx, caller(req), deref(in.Cluster), in.Tasks, withTags)
		if err != nil {
			return nil, err
		}
		return &ecs.DescribeTasksOutput{Tasks: tasks, Failures: failures}, nil
	})
	awsjson.HandleFunc(srv, "ListTasks", func(ctx context.Context, req *awsjson.Request, in *ecs.ListTasksInput) (*ecs.ListTasksOutput, error) {
		arns, next, err := c.ListTasks(ctx, caller(req), control.ListTasksRequest{
			Cluster:           deref(in.Cluster),
			ContainerInstance: deref(in.ContainerInstance),
			Family:            deref(in.Family),
			ServiceName:       deref(in.ServiceName),
			StartedBy:         deref(in.StartedBy),
			DesiredStatus:     in.DesiredStatus,
			LaunchType:        in.LaunchType,
			MaxResults:        in.MaxResults,
			NextToken:         deref(in.NextToken),
		})
		if err != nil {
			return nil, err
		}
		return &ecs.ListTasksOutput{TaskArns: arns, NextToken: optional(next)}, nil
	})
}
