package control

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

// taggable resolves a resource ARN to the store resource it names. ECS
// answers a string that is not an ECS ARN with InvalidParameterException,
// and an ARN of another account or region, or of nothing that exists, with
// ResourceNotFoundException. Task and container-instance ARNs come in the
// long format (cluster in the ARN) and the short one, which names no
// cluster: that resolves to the only cluster holding the resource. A
// short-format service ARN is refused, as ECS refuses it for tagging.
func (c *Control) taggable(ctx context.Context, who Caller, arn string) (store.Resource, error) {
	invalid := ecs.InvalidParameterException("The ARN provided is invalid.")
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "ecs" || parts[5] == "" {
		return store.Resource{}, invalid
	}
	if parts[3] != who.Region || !ecs.OwnAccount(parts[4], who.Account) {
		return store.Resource{}, errResourceNotFound()
	}
	if parts[4] == "" { // tags are kept under the full ARN
		parts[4] = who.Account
		arn = strings.Join(parts, ":")
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
	case "cluster", "service", "task":
		ref, ok := ecs.ParseResourceRef(kind, arn)
		if !ok {
			return store.Resource{}, invalid
		}
		if kind == "service" && ref.Cluster == "" {
			return store.Resource{}, ecs.InvalidParameterException(ecs.MsgTagLongArnRequired)
		}
		r := store.Resource{Scope: who.Scope, ARN: arn, Cluster: ref.Cluster}
		switch kind {
		case "cluster":
			r.Cluster = ref.Name
		case "service":
			r.Service = ref.Name
		case "task":
			r.Task = ref.Name
		}
		err := c.Store.View(ctx, func(tx store.ReadTx) error {
			if kind == "cluster" {
				return taggableCluster(tx, who, ref.Name)
			}
			if r.Cluster != "" {
				return nil // the store checks that it exists
			}
			cluster, err := clusterHolding(tx, who, kind, ref.Name)
			r.Cluster = cluster
			return err
		})
		if err != nil {
			return store.Resource{}, err
		}
		return r, nil
	case "container-instance":
		ref, ok := ecs.ParseResourceRef(kind, arn)
		if !ok {
			return store.Resource{}, invalid
		}
		r := store.Resource{Scope: who.Scope, ARN: arn, Cluster: ref.Cluster, ContainerInstance: ref.Name}
		if r.Cluster != "" {
			return r, nil // the store checks that it exists
		}
		err := c.Store.View(ctx, func(tx store.ReadTx) error {
			cluster, err := clusterHolding(tx, who, kind, ref.Name)
			r.Cluster = cluster
			return err
		})
		if err != nil {
			return store.Resource{}, err
		}
		return r, nil
	case "capacity-provider":
		name, _, _, _, ok := ecs.CapacityProviderRef(arn)
		if !ok {
			return store.Resource{}, invalid
		}
		if ecs.IsBuiltinCapacityProvider(name) {
			return store.Resource{}, errResourceNotFound() // FARGATE and FARGATE_SPOT are not taggable
		}
		return store.Resource{Scope: who.Scope, ARN: arn, CapacityProvider: name}, nil // the store checks that it exists
	case "task-set":
		// A valid ECS resource type that ecsd does not hold.
		return store.Resource{}, errResourceNotFound()
	}
	return store.Resource{}, invalid
}

func errResourceNotFound() *ecs.Error {
	return ecs.ResourceNotFoundException("The specified resource wasn't found.")
}

// taggableCluster checks that a cluster may have its tags read or changed:
// it exists, and is not INACTIVE, which ECS refuses with its own message.
func taggableCluster(tx store.ReadTx, who Caller, name string) error {
	rec, err := tx.Cluster(who.Scope, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errResourceNotFound()
	case err != nil:
		return ecs.ServerException(err)
	case rec.Status != store.ClusterActive:
		return ecs.InvalidParameterException(ecs.MsgTagInactiveCluster)
	}
	return nil
}

// clusterHolding finds the cluster of a service or task that a
// short-format ARN names. A name held by no cluster, or by several, names
// no resource.
func clusterHolding(tx store.ReadTx, who Caller, kind, name string) (string, error) {
	clusters, err := tx.Clusters(who.Scope, store.ClustersQuery{})
	if err != nil {
		return "", ecs.ServerException(err)
	}
	var found []string
	for _, cl := range clusters {
		switch kind {
		case "service":
			_, err = tx.Service(who.Scope, cl.Name, name)
		case "container-instance":
			_, err = tx.ContainerInstance(who.Scope, cl.Name, name)
		default:
			_, err = tx.Task(who.Scope, cl.Name, name)
		}
		switch {
		case err == nil:
			found = append(found, cl.Name)
		case !errors.Is(err, store.ErrNotFound):
			return "", ecs.ServerException(err)
		}
	}
	if len(found) != 1 {
		return "", errResourceNotFound()
	}
	return found[0], nil
}

func notFoundOr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return errResourceNotFound()
	}
	return ecs.ServerException(err)
}

// TagResource adds or overwrites tags on a resource.
func (c *Control) TagResource(ctx context.Context, who Caller, arn string, tags []types.Tag) error {
	r, err := c.taggable(ctx, who, arn)
	if err != nil {
		return err
	}
	if tags == nil {
		tags = []types.Tag{} // the member is required; absent reads as empty
	}
	if err := ecs.ValidateTags(tags); err != nil {
		return err
	}
	err = c.Store.TagResource(ctx, r, records.FromTags(tags), ecs.MaxTags)
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
	r, err := c.taggable(ctx, who, arn)
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
	r, err := c.taggable(ctx, who, arn)
	if err != nil {
		return nil, err
	}
	tags, err := c.Store.ListTags(ctx, r)
	if err != nil {
		return nil, notFoundOr(err)
	}
	return records.Tags(tags), nil
}
