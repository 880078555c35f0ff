package api

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecsd/ecsd/internal/awsjson"
	"github.com/ecsd/ecsd/internal/control"
)

func registerTags(srv *awsjson.Server, c *control.Control) {
	awsjson.HandleFunc(srv, "TagResource", func(ctx context.Context, req *awsjson.Request, in *ecs.TagResourceInput) (*ecs.TagResourceOutput, error) {
		if err := c.TagResource(ctx, caller(req), deref(in.ResourceArn), in.Tags); err != nil {
			return nil, err
		}
		return &ecs.TagResourceOutput{}, nil
	})
	awsjson.HandleFunc(srv, "UntagResource", func(ctx context.Context, req *awsjson.Request, in *ecs.UntagResourceInput) (*ecs.UntagResourceOutput, error) {
		if err := c.UntagResource(ctx, caller(req), deref(in.ResourceArn), in.TagKeys); err != nil {
			return nil, err
		}
		return &ecs.UntagResourceOutput{}, nil
	})
	awsjson.HandleFunc(srv, "ListTagsForResource", func(ctx context.Context, req *awsjson.Request, in *ecs.ListTagsForResourceInput) (*ecs.ListTagsForResourceOutput, error) {
		tags, err := c.ListTagsForResource(ctx, caller(req), deref(in.ResourceArn))
		if err != nil {
			return nil, err
		}
		return &ecs.ListTagsForResourceOutput{Tags: tags}, nil
	})
}
