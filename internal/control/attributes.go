package control

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/store"
)

// Attributes of container instances, ECS's only attribute target. The
// built-in ones (ecs.*) and the agent's capabilities are stored beside the
// custom ones, so ListAttributes and the cluster query language see them
// all.

// MaxAttributesPerCall is how many attributes one PutAttributes or
// DeleteAttributes carries at most.
const MaxAttributesPerCall = 10

// msgTargetNotFound is the model's description of TargetNotFoundException;
// ECS's own message text is not known.
const msgTargetNotFound = "The specified target wasn't found. You can view your available container instances with ListContainerInstances. Amazon ECS container instances are cluster-specific and Region-specific."

// attributeTarget resolves an attribute's target in a cluster: the
// registered (ACTIVE or DRAINING) container instance its targetId names,
// by ID or ARN. It answers the instance ID.
func attributeTarget(tx store.ReadTx, who Caller, cluster string, a types.Attribute) (string, error) {
	id := deref(a.TargetId)
	if id == "" {
		return "", ecs.InvalidParameterException("targetId can not be blank.")
	}
	if a.TargetType != "" && a.TargetType != types.TargetTypeContainerInstance {
		return "", ecs.InvalidParameterException("Invalid value '%s' for targetType.", a.TargetType)
	}
	rec, err := findInstance(tx, who, cluster, id)
	var e *ecs.Error
	if errors.As(err, &e) && e.Code == "InvalidParameterException" || err == nil && rec.Status == store.InstanceInactive {
		return "", ecs.TargetNotFoundException(msgTargetNotFound)
	}
	if err != nil {
		return "", err
	}
	return rec.ID, nil
}

func validateAttributes(attrs []types.Attribute) error {
	switch {
	case len(attrs) == 0:
		return ecs.InvalidParameterException("attributes can not be empty")
	case len(attrs) > MaxAttributesPerCall:
		return ecs.InvalidParameterException("attributes can have at most %d items.", MaxAttributesPerCall)
	}
	for _, a := range attrs {
		if err := ecs.ValidateAttribute(a); err != nil {
			return err
		}
	}
	return nil
}

// PutAttributes creates or replaces attributes on their targets.
// Custom attributes count against the limit of 10 per instance.
func (c *Control) PutAttributes(ctx context.Context, who Caller, cluster string, attrs []types.Attribute) ([]types.Attribute, error) {
	return c.changeAttributes(ctx, who, cluster, attrs, func(tx store.Tx, cluster, target string, a types.Attribute) error {
		if err := putAttribute(tx, who.Scope, cluster, target, a); err != nil {
			return err
		}
		return checkCustomAttributes(tx, who.Scope, cluster, target)
	})
}

// DeleteAttributes removes attributes from their targets.
func (c *Control) DeleteAttributes(ctx context.Context, who Caller, cluster string, attrs []types.Attribute) ([]types.Attribute, error) {
	return c.changeAttributes(ctx, who, cluster, attrs, func(tx store.Tx, cluster, target string, a types.Attribute) error {
		err := tx.DeleteAttribute(who.Scope, cluster, target, *a.Name)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return wrapServer(err)
	})
}

// changeAttributes checks attrs and, in one transaction, resolves each
// one's target in the cluster and applies fn to it. It answers attrs, as
// PutAttributes and DeleteAttributes do.
func (c *Control) changeAttributes(ctx context.Context, who Caller, cluster string, attrs []types.Attribute, fn func(tx store.Tx, cluster, target string, a types.Attribute) error) ([]types.Attribute, error) {
	if err := validateAttributes(attrs); err != nil {
		return nil, err
	}
	err := c.Store.Update(ctx, func(tx store.Tx) error {
		rec, err := readCluster(tx, who, cluster)
		if err != nil {
			return err
		}
		for _, a := range attrs {
			target, err := attributeTarget(tx, who, rec.Name, a)
			if err != nil {
				return err
			}
			if err := fn(tx, rec.Name, target, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return attrs, nil
}

// ListAttributesRequest is ListAttributes' input in domain terms.
type ListAttributesRequest struct {
	Cluster        string
	TargetType     types.TargetType
	AttributeName  *string
	AttributeValue *string
	MaxResults     *int32
	NextToken      string
}

// ListAttributes lists a cluster's attributes of one target type,
// optionally only those with a name, or a name and value.
func (c *Control) ListAttributes(ctx context.Context, who Caller, r ListAttributesRequest) ([]types.Attribute, string, error) {
	limit, err := pageSize(r.MaxResults)
	if err != nil {
		return nil, "", err
	}
	if r.TargetType == "" {
		return nil, "", ecs.InvalidParameterException("targetType can not be blank.")
	}
	if r.AttributeValue != nil && r.AttributeName == nil {
		return nil, "", ecs.InvalidParameterException("You must also specify an attribute name to filter by value.")
	}
	type cursor struct{ Target, Name string }
	var after *cursor
	var out []types.Attribute
	var next string
	err = c.Store.View(ctx, func(tx store.ReadTx) error {
		rec, err := readCluster(tx, who, r.Cluster)
		if err != nil {
			return err
		}
		query := fmt.Sprintf("attrs|%s|%s|%s|%s", rec.Name, r.TargetType, deref(r.AttributeName), deref(r.AttributeValue))
		if r.NextToken != "" {
			after = &cursor{}
			if err := decodeToken(r.NextToken, query, after); err != nil {
				return err
			}
		}
		attrs, err := tx.Attributes(who.Scope, rec.Name, string(r.TargetType), deref(r.AttributeName))
		if err != nil {
			return ecs.ServerException(err)
		}
		// A deregistered instance's attributes stay with its record but
		// are not listed.
		gone, err := tx.ContainerInstances(who.Scope, store.ContainerInstancesQuery{Cluster: rec.Name, Statuses: []string{store.InstanceInactive}})
		if err != nil {
			return ecs.ServerException(err)
		}
		inactive := map[string]bool{}
		for _, ci := range gone {
			inactive[ci.ID] = true
		}
		out = []types.Attribute{}
		for _, a := range attrs {
			if inactive[a.TargetID] {
				continue
			}
			if r.AttributeValue != nil && a.Value != *r.AttributeValue {
				continue
			}
			if after != nil && (a.TargetID < after.Target || a.TargetID == after.Target && a.Name <= after.Name) {
				continue
			}
			if len(out) == limit {
				last := out[len(out)-1]
				next = encodeToken(query, cursor{Target: instanceIDOf(*last.TargetId), Name: *last.Name})
				break
			}
			item := types.Attribute{Name: ptr(a.Name), TargetId: ptr(store.ContainerInstanceARN(who.Scope, rec.Name, a.TargetID)), TargetType: types.TargetType(a.TargetType)}
			if a.Value != "" {
				item.Value = ptr(a.Value)
			}
			out = append(out, item)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}
