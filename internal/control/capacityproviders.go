package control

import (
	"context"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

// Capacity providers. Every account has FARGATE and FARGATE_SPOT; ecsd
// has no Auto Scaling groups, so they are the only ones.

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
	if len(names) == 0 {
		names = ecs.BuiltinCapacityProviders()
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
		arn := names[i]
		if !isARN {
			arn = ecs.CapacityProviderARN(who.Region, who.Account, names[i])
		}
		failures = append(failures, missing(arn))
	}
	return providers, failures, next, nil
}
