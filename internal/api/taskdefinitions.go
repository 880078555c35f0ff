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

func registerTaskDefinitions(srv *awsjson.Server, c *control.Control) {
	awsjson.HandleFunc(srv, "RegisterTaskDefinition", func(ctx context.Context, req *awsjson.Request, in *ecs.RegisterTaskDefinitionInput) (*ecs.RegisterTaskDefinitionOutput, error) {
		def, err := definitionOf(in)
		if err != nil {
			return nil, err
		}
		td, err := c.RegisterTaskDefinition(ctx, caller(req), def, in.Tags)
		if err != nil {
			return nil, err
		}
		// ECS echoes tags only when the request carried them.
		return &ecs.RegisterTaskDefinitionOutput{TaskDefinition: &td, Tags: in.Tags}, nil
	})
	awsjson.HandleFunc(srv, "DescribeTaskDefinition", func(ctx context.Context, req *awsjson.Request, in *ecs.DescribeTaskDefinitionInput) (*ecs.DescribeTaskDefinitionOutput, error) {
		withTags := slices.Contains(in.Include, types.TaskDefinitionFieldTags)
		td, tags, err := c.DescribeTaskDefinition(ctx, caller(req), deref(in.TaskDefinition), withTags)
		if err != nil {
			return nil, err
		}
		return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: &td, Tags: tags}, nil
	})
	awsjson.HandleFunc(srv, "DeregisterTaskDefinition", func(ctx context.Context, req *awsjson.Request, in *ecs.DeregisterTaskDefinitionInput) (*ecs.DeregisterTaskDefinitionOutput, error) {
		td, err := c.DeregisterTaskDefinition(ctx, caller(req), deref(in.TaskDefinition))
		if err != nil {
			return nil, err
		}
		return &ecs.DeregisterTaskDefinitionOutput{TaskDefinition: &td}, nil
	})
	awsjson.HandleFunc(srv, "DeleteTaskDefinitions", func(ctx context.Context, req *awsjson.Request, in *ecs.DeleteTaskDefinitionsInput) (*ecs.DeleteTaskDefinitionsOutput, error) {
		tds, failures, err := c.DeleteTaskDefinitions(ctx, caller(req), in.TaskDefinitions)
		if err != nil {
			return nil, err
		}
		return &ecs.DeleteTaskDefinitionsOutput{TaskDefinitions: tds, Failures: failures}, nil
	})
	awsjson.HandleFunc(srv, "ListTaskDefinitions", func(ctx context.Context, req *awsjson.Request, in *ecs.ListTaskDefinitionsInput) (*ecs.ListTaskDefinitionsOutput, error) {
		arns, next, err := c.ListTaskDefinitions(ctx, caller(req), control.ListTaskDefinitionsRequest{
			FamilyPrefix: deref(in.FamilyPrefix),
			Status:       in.Status,
			Sort:         in.Sort,
			MaxResults:   in.MaxResults,
			NextToken:    deref(in.NextToken),
		})
		if err != nil {
			return nil, err
		}
		return &ecs.ListTaskDefinitionsOutput{TaskDefinitionArns: arns, NextToken: optional(next)}, nil
	})
	awsjson.HandleFunc(srv, "ListTaskDefinitionFamilies", func(ctx context.Context, req *awsjson.Request, in *ecs.ListTaskDefinitionFamiliesInput) (*ecs.ListTaskDefinitionFamiliesOutput, error) {
		fams, next, err := c.ListTaskDefinitionFamilies(ctx, caller(req), deref(in.FamilyPrefix), in.Status, in.MaxResults, deref(in.NextToken))
		if err != nil {
			return nil, err
		}
		return &ecs.ListTaskDefinitionFamiliesOutput{Families: fams, NextToken: optional(next)}, nil
	})
}

// definitionOf carries every member of the registration except tags into
// the model's TaskDefinition. The members share names, so the conversion
// goes through the wire codec rather than a hand-written copy that would
// silently drop any member added to the model later (a test checks that
// every RegisterTaskDefinition member survives).
func definitionOf(in *ecs.RegisterTaskDefinitionInput) (types.TaskDefinition, error) {
	cp := *in
	cp.Tags = nil
	raw, err := wire.Marshal(&cp)
	if err != nil {
		return types.TaskDefinition{}, err
	}
	var td types.TaskDefinition
	if err := wire.Unmarshal(raw, &td); err != nil {
		return types.TaskDefinition{}, err
	}
	return td, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
