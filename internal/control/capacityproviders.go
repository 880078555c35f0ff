package control

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

// Capacity providers. Every account has FARGATE and FARGATE_SPOT; Auto
// Scaling group providers are created with CreateCapacityProvider, each
// with a simulated Auto Scaling group (records.Group) that the managed
// scaling loop (worker.Scaling) sizes and fills with simulated container
// instances.

// MaxCapacityProvidersPage is DescribeCapacityProviders' page size limit
// ("This value can be between 1 and 10").
const MaxCapacityProvidersPage = 10

// MaxDescribeCapacityProviders is how many providers one request names at
// most ("Up to 100 capacity providers can be described in an action").
const MaxDescribeCapacityProviders = 100

// DescribeCapacityProvidersRequest is DescribeCapacityProviders' input in
// domain terms.
type DescribeCapacityProvidersRequest struct {
	CapacityProviders []string // names or ARNs; none for all
	Cluster           string   // when set, only the cluster's providers
	MaxResults        *int32
	NextToken         string
	IncludeTags       bool
}

// DescribeCapacityProviders describes capacity providers. Names that are
// not a capacity provider are failures with reason MISSING.
func (c *Control) DescribeCapacityProviders(ctx context.Context, who Caller, r DescribeCapacityProvidersRequest) ([]types.CapacityProvider, []types.Failure, string, error) {
	limit := MaxCapacityProvidersPage
	if r.MaxResults != nil {
		if *r.MaxResults < 1 || *r.MaxResults > MaxCapacityProvidersPage {
			return nil, nil, "", ecs.InvalidParameterException("maxResults must be between 1 and %d.", MaxCapacityProvidersPage)
		}
		limit = int(*r.MaxResults)
	}
	if len(r.CapacityProviders) > MaxDescribeCapacityProviders {
		return nil, nil, "", ecs.InvalidParameterException("capacityProviders can have at most %d items.", MaxDescribeCapacityProviders)
	}
	names := r.CapacityProviders
	stored := map[string]store.CapacityProvider{}
	err := c.Store.View(ctx, func(tx store.ReadTx) error {
		recs, err := tx.CapacityProviders(who.Scope, "")
		if err != nil {
			return ecs.ServerException(err)
		}
		for _, rec := range recs {
			stored[rec.Name] = rec
		}
		if len(names) == 0 {
			names = ecs.BuiltinCapacityProviders()
			for _, rec := range recs {
				if rec.Status == store.CapacityProviderActive {
					names = append(names, rec.Name)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, "", err
	}
	if r.Cluster != "" {
		var associated []string
		err := c.Store.View(ctx, func(tx store.ReadTx) error {
			rec, err := readCluster(tx, who, r.Cluster)
			if err != nil {
				return err
			}
			cl, err := records.Cluster(rec)
			if err != nil {
				return ecs.ServerException(err)
			}
			associated = cl.CapacityProviders
			return nil
		})
		if err != nil {
			return nil, nil, "", err
		}
		if len(r.CapacityProviders) == 0 {
			names = associated
		} else {
			names = slices.DeleteFunc(slices.Clone(names), func(n string) bool {
				name, _, _, _, _ := ecs.CapacityProviderRef(n)
				return !slices.Contains(associated, name)
			})
		}
	}
	query := "capacity-providers|" + r.Cluster + "|" + strings.Join(names, ",")
	var after int
	if r.NextToken != "" {
		if err := decodeToken(r.NextToken, query, &after); err != nil {
			return nil, nil, "", err
		}
		if after < 0 || after > len(names) {
			return nil, nil, "", ecs.InvalidParameterException("Invalid nextToken: the token is malformed or was issued for a different request.")
		}
	}
	providers, failures := []types.CapacityProvider{}, []types.Failure{}
	var next string
	for i := after; i < len(names); i++ {
		if len(providers)+len(failures) == limit {
			next = encodeToken(query, i)
			break
		}
		name, region, account, isARN, ok := ecs.CapacityProviderRef(names[i])
		if ok && ecs.IsBuiltinCapacityProvider(name) && (!isARN || region == who.Region && account == who.Account) {
			cp := ecs.BuiltinCapacityProvider(who.Region, who.Account, name)
			cp.Tags = []types.Tag{} // FARGATE and FARGATE_SPOT cannot be tagged
			providers = append(providers, cp)
			continue
		}
		if rec, found := stored[name]; ok && found && (!isARN || region == who.Region && account == who.Account) {
			cp, err := records.CapacityProviderView(rec)
			if err != nil {
				return nil, nil, "", ecs.ServerException(err)
			}
			if r.IncludeTags {
				var tags []store.Tag
				if err := c.Store.View(ctx, func(tx store.ReadTx) error {
					var err error
					tags, err = tx.Tags(store.CapacityProviderARN(who.Scope, name))
					return err
				}); err != nil {
					return nil, nil, "", ecs.ServerException(err)
				}
				cp.Tags = records.Tags(tags)
				if cp.Tags == nil {
					cp.Tags = []types.Tag{}
				}
			}
			providers = append(providers, cp)
			continue
		}
		arn := names[i]
		if !isARN {
			arn = ecs.CapacityProviderARN(who.Region, who.Account, names[i])
		}
		failures = append(failures, missing(arn))
	}
	return providers, failures, next, nil
}

// knownCapacityProvider reports, inside tx, whether a name is an ACTIVE
// Auto Scaling group capacity provider of the scope.
func knownCapacityProvider(tx store.ReadTx, scope store.Scope) func(string) bool {
	return func(name string) bool {
		rec, err := tx.CapacityProvider(scope, name)
		return err == nil && rec.Status == store.CapacityProviderActive
	}
}

// Simulated Auto Scaling groups are sized by tags on the capacity
// provider (README.md, "Capacity providers"): ecsd:asg-min-size,
// ecsd:asg-max-size and ecsd:asg-desired-capacity, defaults 0, 10 and the
// minimum size.
const (
	TagASGMinSize         = "ecsd:asg-min-size"
	TagASGMaxSize         = "ecsd:asg-max-size"
	TagASGDesiredCapacity = "ecsd:asg-desired-capacity"
	DefaultASGMaxSize     = 10
	// MaxASGSize bounds a simulated group.
	MaxASGSize = 100
)

// groupFromTags sizes a new simulated group from the provider's tags.
func groupFromTags(name string, tags []types.Tag) (records.Group, error) {
	g := records.Group{Name: name, MaxSize: DefaultASGMaxSize, DesiredCapacity: -1}
	for _, t := range tags {
		var dst *int
		switch deref(t.Key) {
		case TagASGMinSize:
			dst = &g.MinSize
		case TagASGMaxSize:
			dst = &g.MaxSize
		case TagASGDesiredCapacity:
			dst = &g.DesiredCapacity
		default:
			continue
		}
		v, err := strconv.Atoi(strings.TrimSpace(deref(t.Value)))
		if err != nil || v < 0 || v > MaxASGSize {
			return g, ecs.InvalidParameterException("The tag %s must be a whole number of instances from 0 to %d.", deref(t.Key), MaxASGSize)
		}
		*dst = v
	}
	if g.DesiredCapacity < 0 {
		g.DesiredCapacity = g.MinSize
	}
	if g.MinSize > g.MaxSize || g.DesiredCapacity < g.MinSize || g.DesiredCapacity > g.MaxSize {
		return g, ecs.InvalidParameterException("The simulated Auto Scaling group needs %s <= %s <= %s.", TagASGMinSize, TagASGDesiredCapacity, TagASGMaxSize)
	}
	return g, nil
}

// CreateCapacityProviderRequest is CreateCapacityProvider's input.
type CreateCapacityProviderRequest struct {
	Name                     string
	AutoScalingGroupProvider *types.AutoScalingGroupProvider
	ManagedInstances         bool
	Tags                     []types.Tag
}

// CreateCapacityProvider creates an Auto Scaling group capacity provider
// and its simulated group.
func (c *Control) CreateCapacityProvider(ctx context.Context, who Caller, r CreateCapacityProviderRequest) (types.CapacityProvider, error) {
	if r.ManagedInstances {
		return types.CapacityProvider{}, ecs.InvalidParameterException(ecs.MsgManagedInstancesUnsupported)
	}
	if !ecs.ValidCapacityProviderName(r.Name) {
		return types.CapacityProvider{}, ecs.ClientException(ecs.MsgCapacityProviderNameInvalid)
	}
	if r.AutoScalingGroupProvider == nil {
		return types.CapacityProvider{}, ecs.InvalidParameterException("autoScalingGroupProvider must be specified.")
	}
	if err := ecs.ValidateAutoScalingGroupProvider(*r.AutoScalingGroupProvider); err != nil {
		return types.CapacityProvider{}, err
	}
	if err := ecs.ValidateTags(r.Tags); err != nil {
		return types.CapacityProvider{}, err
	}
	cp := ecs.NewCapacityProvider(who.Region, who.Account, r.Name, *r.AutoScalingGroupProvider)
	if err := ecs.CheckTerminationProtection(*cp.AutoScalingGroupProvider); err != nil {
		return types.CapacityProvider{}, err
	}
	asgName, _ := ecs.AutoScalingGroupName(deref(cp.AutoScalingGroupProvider.AutoScalingGroupArn))
	g, err := groupFromTags(asgName, r.Tags)
	if err != nil {
		return types.CapacityProvider{}, err
	}
	err = c.Store.Update(ctx, func(tx store.Tx) error {
		cur, err := tx.CapacityProvider(who.Scope, r.Name)
		switch {
		case err == nil && cur.Status == store.CapacityProviderActive:
			return ecs.ClientException(ecs.MsgCapacityProviderExists)
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return ecs.ServerException(err)
		}
		all, err := tx.CapacityProviders(who.Scope, store.CapacityProviderActive)
		if err != nil {
			return ecs.ServerException(err)
		}
		for _, o := range all {
			if n, _ := ecs.AutoScalingGroupName(o.AutoScalingGroupARN); n == asgName {
				return ecs.ClientException(ecs.MsgAutoScalingGroupInUse)
			}
		}
		rec, err := records.FromCapacityProvider(who.Scope, cp, g, time.Time{})
		if err != nil {
			return ecs.ServerException(err)
		}
		if err := tx.PutCapacityProvider(rec); err != nil {
			return ecs.ServerException(err)
		}
		// A deleted provider's tags do not carry over to a new one.
		return replaceTags(tx, who.Scope, store.CapacityProviderARN(who.Scope, r.Name), r.Tags)
	})
	if err != nil {
		return types.CapacityProvider{}, ecs.AsError(err)
	}
	c.notify(TopicCapacityProvider, store.CapacityProviderARN(who.Scope, r.Name))
	cp.Tags = r.Tags
	if cp.Tags == nil {
		cp.Tags = []types.Tag{}
	}
	return cp, nil
}

// findCapacityProvider resolves a name or ARN to a stored, ACTIVE
// provider. FARGATE and FARGATE_SPOT are refused with refusal.
func findCapacityProvider(tx store.ReadTx, who Caller, ident string, builtin *ecs.Error) (store.CapacityProvider, error) {
	name, region, account, isARN, ok := ecs.CapacityProviderRef(ident)
	if !ok || isARN && (region != who.Region || account != who.Account) {
		return store.CapacityProvider{}, ecs.ClientException(ecs.MsgCapacityProviderNotFound)
	}
	if ecs.IsBuiltinCapacityProvider(name) {
		return store.CapacityProvider{}, builtin
	}
	rec, err := tx.CapacityProvider(who.Scope, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return rec, ecs.ClientException(ecs.MsgCapacityProviderNotFound)
	case err != nil:
		return rec, ecs.ServerException(err)
	case rec.Status != store.CapacityProviderActive:
		return rec, ecs.ClientException(ecs.MsgCapacityProviderNotFound)
	}
	return rec, nil
}

// UpdateCapacityProvider changes a provider's managed scaling, managed
// termination protection and managed draining. The change applies at
// once, so the provider is answered UPDATE_COMPLETE (Terraform waits for
// it).
func (c *Control) UpdateCapacityProvider(ctx context.Context, who Caller, ident string, up *types.AutoScalingGroupProviderUpdate, managedInstances bool) (types.CapacityProvider, error) {
	if managedInstances {
		return types.CapacityProvider{}, ecs.InvalidParameterException(ecs.MsgManagedInstancesUnsupported)
	}
	if ident == "" {
		return types.CapacityProvider{}, ecs.InvalidParameterException("name must be specified.")
	}
	var out types.CapacityProvider
	err := c.Store.Update(ctx, func(tx store.Tx) error {
		rec, err := findCapacityProvider(tx, who, ident, ecs.ClientException("The specified capacity provider is reserved and cannot be updated."))
		if err != nil {
			return err
		}
		cp, err := records.CapacityProvider(rec)
		if err != nil {
			return ecs.ServerException(err)
		}
		if up != nil {
			asg, err := ecs.UpdateAutoScalingGroupProvider(*cp.AutoScalingGroupProvider, *up)
			if err != nil {
				return err
			}
			cp.AutoScalingGroupProvider = &asg
		}
		cp.UpdateStatus = types.CapacityProviderUpdateStatusUpdateComplete
		cp.UpdateStatusReason = nil
		g, err := records.CapacityProviderGroup(rec)
		if err != nil {
			return ecs.ServerException(err)
		}
		next, err := records.FromCapacityProvider(who.Scope, cp, g, rec.DeleteRequestedAt)
		if err != nil {
			return ecs.ServerException(err)
		}
		if err := tx.PutCapacityProvider(next); err != nil {
			return ecs.ServerException(err)
		}
		out = cp
		return nil
	})
	if err != nil {
		return types.CapacityProvider{}, ecs.AsError(err)
	}
	c.notify(TopicCapacityProvider, deref(out.CapacityProviderArn))
	return out, nil
}

// DeleteCapacityProvider deletes a provider that no cluster has. ECS
// answers the deletion ACTIVE with updateStatus DELETE_IN_PROGRESS and
// describes the provider INACTIVE, DELETE_COMPLETE, once done; a provider
// a cluster still has is answered, without an error, with updateStatus
// DELETE_FAILED and the reason (aws-nuke#542: "It enters DELETE_FAILED if
// you try to delete the capacity provider whilst it is attached to the ECS
// cluster").
func (c *Control) DeleteCapacityProvider(ctx context.Context, who Caller, ident string) (types.CapacityProvider, error) {
	if ident == "" {
		return types.CapacityProvider{}, ecs.InvalidParameterException("capacityProvider must be specified.")
	}
	var out types.CapacityProvider
	err := c.Store.Update(ctx, func(tx store.Tx) error {
		rec, err := findCapacityProvider(tx, who, ident, ecs.ClientException("The specified capacity provider is reserved and cannot be deleted."))
		if err != nil {
			return err
		}
		cp, err := records.CapacityProvider(rec)
		if err != nil {
			return ecs.ServerException(err)
		}
		g, err := records.CapacityProviderGroup(rec)
		if err != nil {
			return ecs.ServerException(err)
		}
		cluster, err := clusterWithProvider(tx, who.Scope, rec.Name)
		if err != nil {
			return err
		}
		if cluster != "" {
			cp.UpdateStatus = types.CapacityProviderUpdateStatusDeleteFailed
			cp.UpdateStatusReason = ptr(fmt.Sprintf(msgDeleteAssociated, cluster))
			next, err := records.FromCapacityProvider(who.Scope, cp, g, rec.DeleteRequestedAt)
			if err != nil {
				return ecs.ServerException(err)
			}
			out = cp
			return tx.PutCapacityProvider(next)
		}
		now := c.now()
		done := cp
		done.Status, done.UpdateStatus, done.UpdateStatusReason = types.CapacityProviderStatusInactive, types.CapacityProviderUpdateStatusDeleteComplete, nil
		next, err := records.FromCapacityProvider(who.Scope, done, g, now)
		if err != nil {
			return ecs.ServerException(err)
		}
		if err := tx.PutCapacityProvider(next); err != nil {
			return ecs.ServerException(err)
		}
		cp.UpdateStatus, cp.UpdateStatusReason = types.CapacityProviderUpdateStatusDeleteInProgress, nil
		out = cp
		return nil
	})
	if err != nil {
		return types.CapacityProvider{}, ecs.AsError(err)
	}
	c.notify(TopicCapacityProvider, deref(out.CapacityProviderArn))
	return out, nil
}

// msgDeleteAssociated is the updateStatusReason of a deletion refused
// because a cluster has the provider [I: the wording is ecsd's].
const msgDeleteAssociated = "The capacity provider cannot be deleted because it is associated with cluster: %s. Remove the capacity provider from the cluster and try again."

// clusterWithProvider returns the first ACTIVE cluster (by name) of the
// scope that has the provider, or "".
func clusterWithProvider(tx store.ReadTx, scope store.Scope, name string) (string, error) {
	cls, err := tx.Clusters(scope, store.ClustersQuery{Status: store.ClusterActive})
	if err != nil {
		return "", ecs.ServerException(err)
	}
	for _, rec := range cls {
		cl, err := records.Cluster(rec)
		if err != nil {
			return "", ecs.ServerException(err)
		}
		if slices.Contains(cl.CapacityProviders, name) {
			return rec.Name, nil
		}
	}
	return "", nil
}
