package control

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/store"
)

// taggable resolves a resource ARN to the store resource it names. ECS
// answers a string that is not an ECS ARN with InvalidParameterException.
func taggable(who Caller, arn string) (store.Resource, error) {
	invalid := ecs.InvalidParameterException("The ARN provided is invalid.")
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "ecs" || parts[5] == "" {
		return store.Resource{}, invalid
	}
	if parts[3] != who.Region || parts[4] != who.Account {
		return store.Resource{}, ecs.ResourceNotFoundException("The specified resource wasn't found.")
	}
	kind, _, _ := strings.Cut(parts[5], "/")
	switch kind {
	case "task-definition":
		ref, err := ecs.ParseTaskDefinitionRef(arn)
		if err != nil || !ref.HasRevision || !ecs.ValidFamily(ref.Family) {
			return store.Resource{}, invalid
		}
		return store.Resource{Scope: who.Scope, ARN: arn,
			TaskDefinition: &store.TaskDefinitionKey{Family: ref.Family, Revision: ref.Revision}}, nil
	case "cluster", "service", "task", "container-instance", "capacity-provider", "task-set":
		// Valid ECS resource types that ecsd does not hold yet.
		return store.Resource{}, ecs.ResourceNotFoundException("The specified resource wasn't found.")
	}
	return store.Resource{}, invalid
}

func notFoundOr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return ecs.ResourceNotFoundException("The specified resource wasn't found.")
	}
	return ecs.ServerException(err)
}

// TagResource adds or overwrites tags on a resource.
func (c *Control) TagResource(ctx context.Context, who Caller, arn string, tags []types.Tag) error {
	r, err := taggable(who, arn)
	if err != nil {
		return err
	}
	if tags == nil {
		tags = []types.Tag{} // the member is required; absent reads as empty
	}
	if err := ecs.ValidateTags(tags); err != nil {
		return err
	}
	err = c.Store.TagResource(ctx, r, storeTags(tags), ecs.MaxTags)
	switch {
	case errors.Is(err, store.ErrTooManyTags):
		return ecs.InvalidParameterException("Tags can have at most %d items.", ecs.MaxTags)
	case err != nil:
		return notFoundOr(err)
	}
	return nil
}

// UntagResource removes tag keys from a resource.
func (c *Control) UntagResource(ctx context.Context, who Caller, arn string, keys []string) error {
	r, err := taggable(who, arn)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return ecs.InvalidParameterException("TagKeys can not be empty.")
	}
	if err := c.Store.UntagResource(ctx, r, keys); err != nil {
		return notFoundOr(err)
	}
	return nil
}

// ListTagsForResource returns a resource's tags.
func (c *Control) ListTagsForResource(ctx context.Context, who Caller, arn string) ([]types.Tag, error) {
	r, err := taggable(who, arn)
	if err != nil {
		return nil, err
	}
	tags, err := c.Store.ListTags(ctx, r)
	if err != nil {
		return nil, notFoundOr(err)
	}
	return modelTags(tags), nil
}
