package api

import (
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/awsjson"
	"github.com/ecsd/ecsd/internal/control"
	"github.com/ecsd/ecsd/internal/wire"
)

func registerServices(srv *awsjson.Server, c *control.Control) {
	awsjson.HandleFunc(srv, "CreateService", func(ctx context.Context, req *awsjson.Request, in *ecs.CreateServiceInput) (*ecs.CreateServiceOutput, error) {
		spec, err := serviceOf(in)
		if err != nil {
			return nil, err
		}
		s, err := c.CreateService(ctx, caller(req), control.CreateServiceRequest{
			Cluster:     deref(in.Cluster),
			ClientToken: deref(in.ClientToken),
			Role:        deref(in.Role),
			Service:     spec,
			Extras: control.DeploymentExtras{
				ServiceConnectConfiguration: in.ServiceConnectConfiguration,
				VolumeConfigurations:        in.VolumeConfigurations,
				VpcLatticeConfigurations:    in.VpcLatticeConfigurations,
			},
		})
		if err != nil {
			return nil, err
		}
		return &ecs.CreateServiceOutput{Service: &s}, nil
	})
	awsjson.HandleFunc(srv, "UpdateService", func(ctx context.Context, req *awsjson.Request, in *ecs.UpdateServiceInput) (*ecs.UpdateServiceOutput, error) {
		s, err := c.UpdateService(ctx, caller(req), control.UpdateServiceRequest{
			Cluster:                       deref(in.Cluster),
			Service:                       deref(in.Service),
			DesiredCount:                  in.DesiredCount,
			TaskDefinition:                in.TaskDefinition,
			ForceNewDeployment:            in.ForceNewDeployment,
			DeploymentConfiguration:       in.DeploymentConfiguration,
			DeploymentController:          in.DeploymentController,
			NetworkConfiguration:          in.NetworkConfiguration,
			CapacityProviderStrategy:      in.CapacityProviderStrategy,
			PlatformVersion:               in.PlatformVersion,
			HealthCheckGracePeriodSeconds: in.HealthCheckGracePeriodSeconds,
			EnableExecuteCommand:          in.EnableExecuteCommand,
			EnableECSManagedTags:          in.EnableECSManagedTags,
			PropagateTags:                 in.PropagateTags,
			PlacementConstraints:          in.PlacementConstraints,
			PlacementStrategy:             in.PlacementStrategy,
			LoadBalancers:                 in.LoadBalancers,
			ServiceRegistries:             in.ServiceRegistries,
			ServiceConnectConfiguration:   in.ServiceConnectConfiguration,
			VolumeConfigurations:          in.VolumeConfigurations,
			VpcLatticeConfigurations:      in.VpcLatticeConfigurations,
			AvailabilityZoneRebalancing:   in.AvailabilityZoneRebalancing,
		})
		if err != nil {
			return nil, err
		}
		return &ecs.UpdateServiceOutput{Service: &s}, nil
	})
	awsjson.HandleFunc(srv, "DeleteService", func(ctx context.Context, req *awsjson.Request, in *ecs.DeleteServiceInput) (*ecs.DeleteServiceOutput, error) {
		force := in.Force != nil && *in.Force
		s, err := c.DeleteService(ctx, caller(req), deref(in.Cluster), deref(in.Service), force)
		if err != nil {
			return nil, err
		}
		return &ecs.DeleteServiceOutput{Service: &s}, nil
	})
	awsjson.HandleFunc(srv, "DescribeServices", func(ctx context.Context, req *awsjson.Request, in *ecs.DescribeServicesInput) (*ecs.DescribeServicesOutput, error) {
		withTags := slices.Contains(in.Include, types.ServiceFieldTags)
		svcs, failures, err := c.DescribeServices(ctx, caller(req), deref(in.Cluster), in.Services, withTags)
		if err != nil {
			return nil, err
		}
		return &ecs.DescribeServicesOutput{Services: svcs, Failures: failures}, nil
	})
	awsjson.HandleFunc(srv, "ListServices", func(ctx context.Context, req *awsjson.Request, in *ecs.ListServicesInput) (*ecs.ListServicesOutput, error) {
		arns, next, err := c.ListServices(ctx, caller(req), control.ListServicesRequest{
			Cluster:            deref(in.Cluster),
			LaunchType:         in.LaunchType,
			SchedulingStrategy: in.SchedulingStrategy,
			MaxResults:         in.MaxResults,
			NextToken:          deref(in.NextToken),
		})
		if err != nil {
			return nil, err
		}
		return &ecs.ListServicesOutput{ServiceArns: arns, NextToken: optional(next)}, nil
	})
	awsjson.HandleFunc(srv, "ListServicesByNamespace", func(ctx context.Context, req *awsjson.Request, in *ecs.ListServicesByNamespaceInput) (*ecs.ListServicesByNamespaceOutput, error) {
		arns, next, err := c.ListServicesByNamespace(ctx, caller(req), deref(in.Namespace), in.MaxResults, deref(in.NextToken))
		if err != nil {
			return nil, err
		}
		return &ecs.ListServicesByNamespaceOutput{ServiceArns: arns, NextToken: optional(next)}, nil
	})
	awsjson.HandleFunc(srv, "ListServiceDeployments", func(ctx context.Context, req *awsjson.Request, in *ecs.ListServiceDeploymentsInput) (*ecs.ListServiceDeploymentsOutput, error) {
		out, next, err := c.ListServiceDeployments(ctx, caller(req), control.ListServiceDeploymentsRequest{
			Cluster:    deref(in.Cluster),
			Service:    deref(in.Service),
			CreatedAt:  in.CreatedAt,
			Statuses:   in.Status,
			MaxResults: in.MaxResults,
			NextToken:  deref(in.NextToken),
		})
		if err != nil {
			return nil, err
		}
		return &ecs.ListServiceDeploymentsOutput{ServiceDeployments: out, NextToken: optional(next)}, nil
	})
	awsjson.HandleFunc(srv, "DescribeServiceDeployments", func(ctx context.Context, req *awsjson.Request, in *ecs.DescribeServiceDeploymentsInput) (*ecs.DescribeServiceDeploymentsOutput, error) {
		out, failures, err := c.DescribeServiceDeployments(ctx, caller(req), in.ServiceDeploymentArns)
		if err != nil {
			return nil, err
		}
		return &ecs.DescribeServiceDeploymentsOutput{ServiceDeployments: out, Failures: failures}, nil
	})
	awsjson.HandleFunc(srv, "DescribeServiceRevisions", func(ctx context.Context, req *awsjson.Request, in *ecs.DescribeServiceRevisionsInput) (*ecs.DescribeServiceRevisionsOutput, error) {
		out, failures, err := c.DescribeServiceRevisions(ctx, caller(req), in.ServiceRevisionArns)
		if err != nil {
			return nil, err
		}
		return &ecs.DescribeServiceRevisionsOutput{ServiceRevisions: out, Failures: failures}, nil
	})
	awsjson.HandleFunc(srv, "StopServiceDeployment", func(ctx context.Context, req *awsjson.Request, in *ecs.StopServiceDeploymentInput) (*ecs.StopServiceDeploymentOutput, error) {
		arn, err := c.StopServiceDeployment(ctx, caller(req), deref(in.ServiceDeploymentArn), in.StopType)
		if err != nil {
			return nil, err
		}
		return &ecs.StopServiceDeploymentOutput{ServiceDeploymentArn: &arn}, nil
	})
	registerTaskSets(srv, c)
}

func registerTaskSets(srv *awsjson.Server, c *control.Control) {
	awsjson.HandleFunc(srv, "CreateTaskSet", func(ctx context.Context, req *awsjson.Request, in *ecs.CreateTaskSetInput) (*ecs.CreateTaskSetOutput, error) {
		ts, err := c.CreateTaskSet(ctx, caller(req), control.CreateTaskSetRequest{
			Cluster: deref(in.Cluster), Service: deref(in.Service), TaskDefinition: deref(in.TaskDefinition),
			ExternalID: deref(in.ExternalId), LaunchType: in.LaunchType, CapacityProviderStrategy: in.CapacityProviderStrategy,
			NetworkConfiguration: in.NetworkConfiguration, LoadBalancers: in.LoadBalancers, ServiceRegistries: in.ServiceRegistries,
			PlatformVersion: deref(in.PlatformVersion), Scale: in.Scale, Tags: in.Tags,
		})
		if err != nil {
			return nil, err
		}
		return &ecs.CreateTaskSetOutput{TaskSet: &ts}, nil
	})
	awsjson.HandleFunc(srv, "DescribeTaskSets", func(ctx context.Context, req *awsjson.Request, in *ecs.DescribeTaskSetsInput) (*ecs.DescribeTaskSetsOutput, error) {
		withTags := slices.Contains(in.Include, types.TaskSetFieldTags)
		sets, failures, err := c.DescribeTaskSets(ctx, caller(req), deref(in.Cluster), deref(in.Service), in.TaskSets, withTags)
		if err != nil {
			return nil, err
		}
		return &ecs.DescribeTaskSetsOutput{TaskSets: sets, Failures: failures}, nil
	})
	awsjson.HandleFunc(srv, "UpdateTaskSet", func(ctx context.Context, req *awsjson.Request, in *ecs.UpdateTaskSetInput) (*ecs.UpdateTaskSetOutput, error) {
		ts, err := c.UpdateTaskSet(ctx, caller(req), deref(in.Cluster), deref(in.Service), deref(in.TaskSet), in.Scale)
		if err != nil {
			return nil, err
		}
		return &ecs.UpdateTaskSetOutput{TaskSet: &ts}, nil
	})
	awsjson.HandleFunc(srv, "DeleteTaskSet", func(ctx context.Context, req *awsjson.Request, in *ecs.DeleteTaskSetInput) (*ecs.DeleteTaskSetOutput, error) {
		ts, err := c.DeleteTaskSet(ctx, caller(req), deref(in.Cluster), deref(in.Service), deref(in.TaskSet), in.Force != nil && *in.Force)
		if err != nil {
			return nil, err
		}
		return &ecs.DeleteTaskSetOutput{TaskSet: &ts}, nil
	})
	awsjson.HandleFunc(srv, "UpdateServicePrimaryTaskSet", func(ctx context.Context, req *awsjson.Request, in *ecs.UpdateServicePrimaryTaskSetInput) (*ecs.UpdateServicePrimaryTaskSetOutput, error) {
		ts, err := c.UpdateServicePrimaryTaskSet(ctx, caller(req), deref(in.Cluster), deref(in.Service), deref(in.PrimaryTaskSet))
		if err != nil {
			return nil, err
		}
		return &ecs.UpdateServicePrimaryTaskSetOutput{TaskSet: &ts}, nil
	})
}

// serviceOf carries every CreateService member the model's Service also
// has into a Service (the members share names, so the wire codec maps
// them; a hand-written copy would silently drop members added later).
// The members only the input has (cluster, clientToken, role and the
// deployment settings) travel separately.
func serviceOf(in *ecs.CreateServiceInput) (types.Service, error) {
	raw, err := wire.Marshal(in)
	if err != nil {
		return types.Service{}, err
	}
	var s types.Service
	if err := wire.Unmarshal(raw, &s); err != nil {
		return types.Service{}, err
	}
	return s, nil
}
