package api

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecsd/ecsd/internal/awsjson"
	"github.com/ecsd/ecsd/internal/control"
	domain "github.com/ecsd/ecsd/internal/ecs"
)

func registerContainerInstances(srv *awsjson.Server, c *control.Control) {
	awsjson.HandleFunc(srv, "RegisterContainerInstance", func(ctx context.Context, req *awsjson.Request, in *ecs.RegisterContainerInstanceInput) (*ecs.RegisterContainerInstanceOutput, error) {
		ci, err := c.RegisterContainerInstance(ctx, caller(req), control.RegisterContainerInstanceRequest{
			Cluster:                           deref(in.Cluster),
			ContainerInstanceArn:              deref(in.ContainerInstanceArn),
			InstanceIdentityDocument:          deref(in.InstanceIdentityDocument),
			InstanceIdentityDocumentSignature: deref(in.InstanceIdentityDocumentSignature),
			TotalResources:                    in.TotalResources,
			VersionInfo:                       in.VersionInfo,
			Attributes:                        in.Attributes,
			PlatformDevices:                   in.PlatformDevices,
			Tags:                              in.Tags,
		})
		if err != nil {
			return nil, err
		}
		return &ecs.RegisterContainerInstanceOutput{ContainerInstance: &ci}, nil
	})
	awsjson.HandleFunc(srv, "DescribeContainerInstances", func(ctx context.Context, req *awsjson.Request, in *ecs.DescribeContainerInstancesInput) (*ecs.DescribeContainerInstancesOutput, error) {
		cis, failures, err := c.DescribeContainerInstances(ctx, caller(req), deref(in.Cluster), in.ContainerInstances, in.Include)
		if err != nil {
			return nil, err
		}
		return &ecs.DescribeContainerInstancesOutput{ContainerInstances: cis, Failures: failures}, nil
	})
	awsjson.HandleFunc(srv, "ListContainerInstances", func(ctx context.Context, req *awsjson.Request, in *ecs.ListContainerInstancesInput) (*ecs.ListContainerInstancesOutput, error) {
		arns, next, err := c.ListContainerInstances(ctx, caller(req), control.ListContainerInstancesRequest{
			Cluster:    deref(in.Cluster),
			Filter:     deref(in.Filter),
			Status:     in.Status,
			MaxResults: in.MaxResults,
			NextToken:  deref(in.NextToken),
		})
		if err != nil {
			return nil, err
		}
		return &ecs.ListContainerInstancesOutput{ContainerInstanceArns: arns, NextToken: optional(next)}, nil
	})
	awsjson.HandleFunc(srv, "DeregisterContainerInstance", func(ctx context.Context, req *awsjson.Request, in *ecs.DeregisterContainerInstanceInput) (*ecs.DeregisterContainerInstanceOutput, error) {
		ci, err := c.DeregisterContainerInstance(ctx, caller(req), deref(in.Cluster), deref(in.ContainerInstance), in.Force != nil && *in.Force)
		if err != nil {
			return nil, err
		}
		return &ecs.DeregisterContainerInstanceOutput{ContainerInstance: &ci}, nil
	})
	awsjson.HandleFunc(srv, "UpdateContainerInstancesState", func(ctx context.Context, req *awsjson.Request, in *ecs.UpdateContainerInstancesStateInput) (*ecs.UpdateContainerInstancesStateOutput, error) {
		cis, failures, err := c.UpdateContainerInstancesState(ctx, caller(req), deref(in.Cluster), in.ContainerInstances, in.Status)
		if err != nil {
			return nil, err
		}
		return &ecs.UpdateContainerInstancesStateOutput{ContainerInstances: cis, Failures: failures}, nil
	})
	awsjson.HandleFunc(srv, "UpdateContainerAgent", func(ctx context.Context, req *awsjson.Request, in *ecs.UpdateContainerAgentInput) (*ecs.UpdateContainerAgentOutput, error) {
		ci, err := c.UpdateContainerAgent(ctx, caller(req), deref(in.Cluster), deref(in.ContainerInstance))
		if err != nil {
			return nil, err
		}
		return &ecs.UpdateContainerAgentOutput{ContainerInstance: &ci}, nil
	})

	// The agent API.
	awsjson.HandleFunc(srv, "DiscoverPollEndpoint", func(ctx context.Context, req *awsjson.Request, in *ecs.DiscoverPollEndpointInput) (*ecs.DiscoverPollEndpointOutput, error) {
		ep, err := c.DiscoverPollEndpoint(ctx, caller(req), deref(in.Cluster), deref(in.ContainerInstance))
		if err != nil {
			return nil, err
		}
		return &ecs.DiscoverPollEndpointOutput{Endpoint: &ep.Endpoint, TelemetryEndpoint: &ep.TelemetryEndpoint, ServiceConnectEndpoint: &ep.ServiceConnectEndpoint}, nil
	})
	awsjson.HandleFunc(srv, "SubmitTaskStateChange", func(ctx context.Context, req *awsjson.Request, in *ecs.SubmitTaskStateChangeInput) (*ecs.SubmitTaskStateChangeOutput, error) {
		ack, err := c.SubmitTaskStateChange(ctx, caller(req), deref(in.Cluster), deref(in.Task), domain.TaskStateChange{
			Status: deref(in.Status), Reason: deref(in.Reason), Containers: in.Containers, Attachments: in.Attachments,
			PullStartedAt: in.PullStartedAt, PullStoppedAt: in.PullStoppedAt, ExecutionStoppedAt: in.ExecutionStoppedAt,
		})
		if err != nil {
			return nil, err
		}
		return &ecs.SubmitTaskStateChangeOutput{Acknowledgment: &ack}, nil
	})
	awsjson.HandleFunc(srv, "SubmitContainerStateChange", func(ctx context.Context, req *awsjson.Request, in *ecs.SubmitContainerStateChangeInput) (*ecs.SubmitContainerStateChangeOutput, error) {
		ack, err := c.SubmitContainerStateChange(ctx, caller(req), control.ContainerStateChange{
			Cluster: deref(in.Cluster), Task: deref(in.Task), ContainerName: deref(in.ContainerName),
			RuntimeID: deref(in.RuntimeId), Status: deref(in.Status), Reason: deref(in.Reason),
			ExitCode: in.ExitCode, NetworkBindings: in.NetworkBindings,
		})
		if err != nil {
			return nil, err
		}
		return &ecs.SubmitContainerStateChangeOutput{Acknowledgment: &ack}, nil
	})
	awsjson.HandleFunc(srv, "SubmitAttachmentStateChanges", func(ctx context.Context, req *awsjson.Request, in *ecs.SubmitAttachmentStateChangesInput) (*ecs.SubmitAttachmentStateChangesOutput, error) {
		ack, err := c.SubmitAttachmentStateChanges(ctx, caller(req), deref(in.Cluster), in.Attachments)
		if err != nil {
			return nil, err
		}
		return &ecs.SubmitAttachmentStateChangesOutput{Acknowledgment: &ack}, nil
	})
}

func registerTaskProtection(srv *awsjson.Server, c *control.Control) {
	awsjson.HandleFunc(srv, "UpdateTaskProtection", func(ctx context.Context, req *awsjson.Request, in *ecs.UpdateTaskProtectionInput) (*ecs.UpdateTaskProtectionOutput, error) {
		tasks, failures, err := c.UpdateTaskProtection(ctx, caller(req), deref(in.Cluster), in.Tasks, in.ProtectionEnabled, in.ExpiresInMinutes)
		if err != nil {
			return nil, err
		}
		return &ecs.UpdateTaskProtectionOutput{ProtectedTasks: tasks, Failures: failures}, nil
	})
	awsjson.HandleFunc(srv, "GetTaskProtection", func(ctx context.Context, req *awsjson.Request, in *ecs.GetTaskProtectionInput) (*ecs.GetTaskProtectionOutput, error) {
		tasks, failures, err := c.GetTaskProtection(ctx, caller(req), deref(in.Cluster), in.Tasks)
		if err != nil {
			return nil, err
		}
		return &ecs.GetTaskProtectionOutput{ProtectedTasks: tasks, Failures: failures}, nil
	})
}
