package api

import (
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/awsjson"
	"github.com/ecsd/ecsd/internal/control"
	domain "github.com/ecsd/ecsd/internal/ecs"
)

func registerClusters(srv *awsjson.Server, c *control.Control) {
	awsjson.HandleFunc(srv, "CreateCluster", func(ctx context.Context, req *awsjson.Request, in *ecs.CreateClusterInput) (*ecs.CreateClusterOutput, error) {
		cl, err := c.CreateCluster(ctx, caller(req), control.CreateClusterRequest{
			Name: deref(in.ClusterName),
			Tags: in.Tags,
			Spec: domain.ClusterSpec{
				Settings:                        in.Settings,
				Configuration:                   in.Configuration,
				CapacityProviders:               in.CapacityProviders,
				DefaultCapacityProviderStrategy: in.DefaultCapacityProviderStrategy,
				ServiceConnectDefaults:          in.ServiceConnectDefaults,
			},
		})
		if err != nil {
			return nil, err
		}
		return &ecs.CreateClusterOutput{Cluster: &cl}, nil
	})
	awsjson.HandleFunc(srv, "DescribeClusters", func(ctx context.Context, req *awsjson.Request, in *ecs.DescribeClustersInput) (*ecs.DescribeClustersOutput, error) {
		clusters, failures, err := c.DescribeClusters(ctx, caller(req), in.Clusters, in.Include)
		if err != nil {
			return nil, err
		}
		return &ecs.DescribeClustersOutput{Clusters: clusters, Failures: failures}, nil
	})
	awsjson.HandleFunc(srv, "ListClusters", func(ctx context.Context, req *awsjson.Request, in *ecs.ListClustersInput) (*ecs.ListClustersOutput, error) {
		arns, next, err := c.ListClusters(ctx, caller(req), in.MaxResults, deref(in.NextToken))
		if err != nil {
			return nil, err
		}
		return &ecs.ListClustersOutput{ClusterArns: arns, NextToken: optional(next)}, nil
	})
	awsjson.HandleFunc(srv, "UpdateCluster", func(ctx context.Context, req *awsjson.Request, in *ecs.UpdateClusterInput) (*ecs.UpdateClusterOutput, error) {
		cl, err := c.UpdateCluster(ctx, caller(req), control.UpdateClusterRequest{
			Cluster:                deref(in.Cluster),
			Settings:               in.Settings,
			Configuration:          in.Configuration,
			ServiceConnectDefaults: in.ServiceConnectDefaults,
		})
		if err != nil {
			return nil, err
		}
		return &ecs.UpdateClusterOutput{Cluster: &cl}, nil
	})
	awsjson.HandleFunc(srv, "UpdateClusterSettings", func(ctx context.Context, req *awsjson.Request, in *ecs.UpdateClusterSettingsInput) (*ecs.UpdateClusterSettingsOutput, error) {
		cl, err := c.UpdateClusterSettings(ctx, caller(req), deref(in.Cluster), in.Settings)
		if err != nil {
			return nil, err
		}
		return &ecs.UpdateClusterSettingsOutput{Cluster: &cl}, nil
	})
	awsjson.HandleFunc(srv, "PutClusterCapacityProviders", func(ctx context.Context, req *awsjson.Request, in *ecs.PutClusterCapacityProvidersInput) (*ecs.PutClusterCapacityProvidersOutput, error) {
		cl, err := c.PutClusterCapacityProviders(ctx, caller(req), deref(in.Cluster), in.CapacityProviders, in.DefaultCapacityProviderStrategy)
		if err != nil {
			return nil, err
		}
		return &ecs.PutClusterCapacityProvidersOutput{Cluster: &cl}, nil
	})
	awsjson.HandleFunc(srv, "DeleteCluster", func(ctx context.Context, req *awsjson.Request, in *ecs.DeleteClusterInput) (*ecs.DeleteClusterOutput, error) {
		cl, err := c.DeleteCluster(ctx, caller(req), deref(in.Cluster))
		if err != nil {
			return nil, err
		}
		return &ecs.DeleteClusterOutput{Cluster: &cl}, nil
	})
	awsjson.HandleFunc(srv, "DescribeCapacityProviders", func(ctx context.Context, req *awsjson.Request, in *ecs.DescribeCapacityProvidersInput) (*ecs.DescribeCapacityProvidersOutput, error) {
		cps, failures, next, err := c.DescribeCapacityProviders(ctx, caller(req), control.DescribeCapacityProvidersRequest{
			CapacityProviders: in.CapacityProviders,
			Cluster:           deref(in.Cluster),
			MaxResults:        in.MaxResults,
			NextToken:         deref(in.NextToken),
			IncludeTags:       slices.Contains(in.Include, types.CapacityProviderFieldTags),
		})
		if err != nil {
			return nil, err
		}
		// FARGATE and FARGATE_SPOT carry "tags": [] with and without
		// include TAGS, as recorded; other providers carry their tags
		// with include TAGS only.
		return &ecs.DescribeCapacityProvidersOutput{CapacityProviders: cps, Failures: failures, NextToken: optional(next)}, nil
	})
	awsjson.HandleFunc(srv, "CreateCapacityProvider", func(ctx context.Context, req *awsjson.Request, in *ecs.CreateCapacityProviderInput) (*ecs.CreateCapacityProviderOutput, error) {
		cp, err := c.CreateCapacityProvider(ctx, caller(req), control.CreateCapacityProviderRequest{
			Name: deref(in.Name), AutoScalingGroupProvider: in.AutoScalingGroupProvider,
			ManagedInstances: in.ManagedInstancesProvider != nil || in.Cluster != nil, Tags: in.Tags,
		})
		if err != nil {
			return nil, err
		}
		return &ecs.CreateCapacityProviderOutput{CapacityProvider: &cp}, nil
	})
	awsjson.HandleFunc(srv, "UpdateCapacityProvider", func(ctx context.Context, req *awsjson.Request, in *ecs.UpdateCapacityProviderInput) (*ecs.UpdateCapacityProviderOutput, error) {
		cp, err := c.UpdateCapacityProvider(ctx, caller(req), deref(in.Name), in.AutoScalingGroupProvider, in.ManagedInstancesProvider != nil)
		if err != nil {
			return nil, err
		}
		return &ecs.UpdateCapacityProviderOutput{CapacityProvider: &cp}, nil
	})
	awsjson.HandleFunc(srv, "DeleteCapacityProvider", func(ctx context.Context, req *awsjson.Request, in *ecs.DeleteCapacityProviderInput) (*ecs.DeleteCapacityProviderOutput, error) {
		cp, err := c.DeleteCapacityProvider(ctx, caller(req), deref(in.CapacityProvider))
		if err != nil {
			return nil, err
		}
		return &ecs.DeleteCapacityProviderOutput{CapacityProvider: &cp}, nil
	})
}
