package control

import (
	"context"
	"errors"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

// MaxDescribeClusters is how many clusters one DescribeClusters names at
// most ("A list of up to 100 cluster names").
const MaxDescribeClusters = 100

// CreateClusterRequest is CreateCluster's input in domain terms.
type CreateClusterRequest struct {
	// Name is "" for the default cluster.
	Name string
	Tags []types.Tag
	Spec ecs.ClusterSpec
}

// CreateCluster creates a cluster. As in ECS it is idempotent: creating a
// name that is ACTIVE answers the existing cluster unchanged. Creating a
// name whose cluster was deleted (INACTIVE) makes a new cluster under it.
// A cluster created without a containerInsights setting takes the caller's
// effective containerInsights account setting.
func (c *Control) CreateCluster(ctx context.Context, who Caller, r CreateClusterRequest) (types.Cluster, error) {
	name := r.Name
	if name == "" {
		name = ecs.DefaultCluster
	}
	if !ecs.ValidClusterName(name) {
		return types.Cluster{}, ecs.InvalidClusterName(name)
	}
	if err := ecs.ValidateTags(r.Tags); err != nil {
		return types.Cluster{}, err
	}
	if err := validateManagedTags(r.Tags); err != nil {
		return types.Cluster{}, err
	}
	var out types.Cluster
	err := c.Store.Update(ctx, func(tx store.Tx) error {
		cur, err := tx.Cluster(who.Scope, name)
		switch {
		case err == nil && cur.Status == store.ClusterActive:
			out, err = clusterView(tx, cur, nil)
			return err
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return ecs.ServerException(err)
		}
		insights, err := effectiveSetting(tx, who, principalKey(who, who.ARN), types.SettingNameContainerInsights)
		if err != nil {
			return err
		}
		cl, err := ecs.BuildCluster(who.Region, who.Account, name, insights.value, r.Spec)
		if err != nil {
			return err
		}
		rec, err := putCluster(tx, who.Scope, cl)
		if err != nil {
			return err
		}
		// A deleted cluster's tags do not carry over to the new cluster of
		// the same name.
		if err := replaceTags(tx, who.Scope, store.ClusterARN(who.Scope, name), r.Tags); err != nil {
			return err
		}
		if err := c.provisionInstances(tx, who.Scope, name, r.Tags); err != nil {
			return err
		}
		out, err = clusterView(tx, rec, &clusterFields{settings: true, configurations: true})
		if err != nil {
			return err
		}
		out.Tags = r.Tags
		if out.Tags == nil {
			out.Tags = []types.Tag{}
		}
		return nil
	})
	return out, err
}

// DescribeClusters describes clusters by name or ARN, INACTIVE ones
// included. No names means the default cluster. Clusters that do not
// exist are failures with reason MISSING, not errors.
func (c *Control) DescribeClusters(ctx context.Context, who Caller, idents []string, include []types.ClusterField) ([]types.Cluster, []types.Failure, error) {
	if len(idents) > MaxDescribeClusters {
		return nil, nil, ecs.InvalidParameterException("clusters can have at most %d items.", MaxDescribeClusters)
	}
	if len(idents) == 0 {
		idents = []string{ecs.DefaultCluster}
	}
	fields := &clusterFields{}
	for _, f := range include {
		switch f {
		case types.ClusterFieldSettings:
			fields.settings = true
		case types.ClusterFieldConfigurations:
			fields.configurations = true
		case types.ClusterFieldStatistics:
			fields.statistics = true
		case types.ClusterFieldTags:
			fields.tags = true
		case types.ClusterFieldAttachments:
			fields.attachments = true
		}
	}
	clusters, failures := []types.Cluster{}, []types.Failure{}
	err := c.Store.View(ctx, func(tx store.ReadTx) error {
		for _, ident := range idents {
			name, arn, ok := describedCluster(who, ident)
			var rec store.Cluster
			var err error
			if ok {
				rec, err = tx.Cluster(who.Scope, name)
			}
			if !ok || errors.Is(err, store.ErrNotFound) {
				failures = append(failures, missing(arn))
				continue
			}
			if err != nil {
				return ecs.ServerException(err)
			}
			cl, err := clusterView(tx, rec, fields)
			if err != nil {
				return err
			}
			clusters = append(clusters, cl)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return clusters, failures, nil
}

// describedCluster resolves one DescribeClusters identifier to the name to
// look up and the ARN a MISSING failure reports: the identifier itself when
// it is an ARN, else the cluster ARN ECS builds from the name. ok is false
// when no cluster can have that identifier.
func describedCluster(who Caller, ident string) (name, arn string, ok bool) {
	ref, parsed := ecs.ParseResourceRef("cluster", ident)
	if !parsed {
		if len(ident) >= 4 && ident[:4] == "arn:" {
			return "", ident, false
		}
		return "", ecs.ClusterARN(who.Region, who.Account, ident), false
	}
	if ref.IsARN {
		ok = ecs.OwnAccount(ref.Account, who.Account) && ref.Region == who.Region && ecs.ValidClusterName(ref.Name)
		return ref.Name, ident, ok
	}
	return ref.Name, ecs.ClusterARN(who.Region, who.Account, ref.Name), ecs.ValidClusterName(ref.Name)
}

// ListClusters lists cluster ARNs in name order. INACTIVE clusters are
// listed while they remain, as ECS lists clusters that "remain
// discoverable" after deletion (see docs/compat.md).
func (c *Control) ListClusters(ctx context.Context, who Caller, maxResults *int32, nextToken string) ([]string, string, error) {
	limit, err := pageSize(maxResults)
	if err != nil {
		return nil, "", err
	}
	const query = "clusters"
	q := store.ClustersQuery{Limit: limit + 1}
	if nextToken != "" {
		if err := decodeToken(nextToken, query, &q.After); err != nil {
			return nil, "", err
		}
	}
	var recs []store.Cluster
	err = c.Store.View(ctx, func(tx store.ReadTx) error {
		var err error
		recs, err = tx.Clusters(who.Scope, q)
		return err
	})
	if err != nil {
		return nil, "", ecs.ServerException(err)
	}
	var next string
	if len(recs) > limit {
		recs = recs[:limit]
		next = encodeToken(query, recs[len(recs)-1].Name)
	}
	arns := make([]string, len(recs))
	for i, r := range recs {
		arns[i] = ecs.ClusterARN(who.Region, who.Account, r.Name)
	}
	return arns, next, nil
}

// UpdateClusterRequest is UpdateCluster's input in domain terms.
type UpdateClusterRequest struct {
	Cluster                string
	Settings               []types.ClusterSetting
	Configuration          *types.ClusterConfiguration
	ServiceConnectDefaults *types.ClusterServiceConnectDefaultsRequest
}

// UpdateCluster changes a cluster's settings, configuration and Service
// Connect defaults; members the request leaves out keep their values.
func (c *Control) UpdateCluster(ctx context.Context, who Caller, r UpdateClusterRequest) (types.Cluster, error) {
	if err := ecs.ValidateClusterSettings(r.Settings); err != nil {
		return types.Cluster{}, err
	}
	return c.changeCluster(ctx, who, r.Cluster, func(_ store.ReadTx, cl *types.Cluster) error {
		cl.Settings = ecs.MergeClusterSettings(cl.Settings, r.Settings)
		if r.Configuration != nil {
			cl.Configuration = r.Configuration
		}
		if r.ServiceConnectDefaults != nil {
			cl.ServiceConnectDefaults = ecs.ServiceConnectDefaults(r.ServiceConnectDefaults)
		}
		return nil
	})
}

// UpdateClusterSettings changes a cluster's settings.
func (c *Control) UpdateClusterSettings(ctx context.Context, who Caller, cluster string, settings []types.ClusterSetting) (types.Cluster, error) {
	if len(settings) == 0 {
		return types.Cluster{}, ecs.InvalidParameterException("Settings can not be empty.")
	}
	if err := ecs.ValidateClusterSettings(settings); err != nil {
		return types.Cluster{}, err
	}
	return c.changeCluster(ctx, who, cluster, func(_ store.ReadTx, cl *types.Cluster) error {
		cl.Settings = ecs.MergeClusterSettings(cl.Settings, settings)
		return nil
	})
}

// PutClusterCapacityProviders replaces a cluster's capacity providers and
// default strategy. A provider a service or an unstopped task still uses
// cannot be removed.
func (c *Control) PutClusterCapacityProviders(ctx context.Context, who Caller, cluster string, providers []string, strategy []types.CapacityProviderStrategyItem) (types.Cluster, error) {
	if providers == nil {
		providers = []string{}
	}
	if strategy == nil {
		strategy = []types.CapacityProviderStrategyItem{}
	}
	if err := ecs.ValidateCapacityProviders(providers, strategy); err != nil {
		return types.Cluster{}, err
	}
	providers = ecs.NormalizeCapacityProviders(providers)
	return c.changeCluster(ctx, who, cluster, func(tx store.ReadTx, cl *types.Cluster) error {
		var removed []string
		for _, p := range cl.CapacityProviders {
			if !slices.Contains(providers, p) {
				removed = append(removed, p)
			}
		}
		if len(removed) > 0 {
			inUse, err := capacityProvidersInUse(tx, who.Scope, deref(cl.ClusterName))
			if err != nil {
				return err
			}
			for _, p := range removed {
				if inUse[p] {
					return &ecs.Error{Code: "ResourceInUseException", Message: "The specified capacity provider is in use and cannot be removed."}
				}
			}
		}
		cl.CapacityProviders = providers
		cl.DefaultCapacityProviderStrategy = ecs.NormalizeStrategy(strategy)
		return nil
	})
}

// capacityProvidersInUse returns the capacity providers that ACTIVE or
// DRAINING services and unstopped tasks of a cluster use.
func capacityProvidersInUse(tx store.ReadTx, scope store.Scope, cluster string) (map[string]bool, error) {
	inUse := map[string]bool{}
	svcs, err := tx.Services(scope, store.ServicesQuery{Cluster: cluster, Statuses: []string{store.ServiceActive, store.ServiceDraining}})
	if err != nil {
		return nil, ecs.ServerException(err)
	}
	for _, rec := range svcs {
		s, err := records.Service(rec)
		if err != nil {
			return nil, ecs.ServerException(err)
		}
		for _, item := range s.CapacityProviderStrategy {
			inUse[deref(item.CapacityProvider)] = true
		}
	}
	tasks, err := tx.Tasks(scope, store.TasksQuery{Cluster: cluster, NotLastStatus: store.TaskStopped})
	if err != nil {
		return nil, ecs.ServerException(err)
	}
	for _, rec := range tasks {
		t, err := records.Task(rec)
		if err != nil {
			return nil, ecs.ServerException(err)
		}
		if n := deref(t.CapacityProviderName); n != "" {
			inUse[n] = true
		}
	}
	return inUse, nil
}

// changeCluster applies fn to an ACTIVE cluster in one transaction and
// answers the changed cluster.
func (c *Control) changeCluster(ctx context.Context, who Caller, ident string, fn func(tx store.ReadTx, cl *types.Cluster) error) (types.Cluster, error) {
	var out types.Cluster
	err := c.Store.Update(ctx, func(tx store.Tx) error {
		rec, err := readCluster(tx, who, ident)
		if err != nil {
			return err
		}
		cl, err := records.Cluster(rec)
		if err != nil {
			return ecs.ServerException(err)
		}
		if err := fn(tx, &cl); err != nil {
			return err
		}
		if rec, err = putCluster(tx, who.Scope, cl); err != nil {
			return err
		}
		out, err = clusterView(tx, rec, &clusterFields{settings: true, configurations: true})
		return err
	})
	return out, err
}

// replaceTags gives a resource exactly the tags its creation carried.
func replaceTags(tx store.Tx, scope store.Scope, arn string, tags []types.Tag) error {
	if err := tx.DeleteTags(arn); err != nil {
		return ecs.ServerException(err)
	}
	if len(tags) > 0 {
		return wrapServer(tx.PutTags(scope, arn, records.FromTags(tags)))
	}
	return nil
}

// putCluster writes a cluster and answers the record written.
func putCluster(tx store.Tx, scope store.Scope, cl types.Cluster) (store.Cluster, error) {
	rec, err := records.FromCluster(scope, cl)
	if err != nil {
		return store.Cluster{}, ecs.ServerException(err)
	}
	if err := tx.PutCluster(rec); err != nil {
		return store.Cluster{}, ecs.ServerException(err)
	}
	return rec, nil
}

// DeleteCluster deletes a cluster: it becomes INACTIVE and stays
// describable. ECS refuses while the cluster has ACTIVE or DRAINING
// services, tasks that are not STOPPED, or container instances registered
// through the API (ecsd's own instances are deregistered with the
// cluster). Deleting an INACTIVE cluster answers it again.
func (c *Control) DeleteCluster(ctx context.Context, who Caller, ident string) (types.Cluster, error) {
	if ident == "" {
		return types.Cluster{}, ecs.InvalidParameterException("Cluster can not be blank.")
	}
	var out types.Cluster
	err := c.Store.Update(ctx, func(tx store.Tx) error {
		name, err := clusterName(who, ident)
		if err != nil {
			return err
		}
		rec, err := tx.Cluster(who.Scope, name)
		if errors.Is(err, store.ErrNotFound) {
			return ecs.ClusterNotFoundException()
		}
		if err != nil {
			return ecs.ServerException(err)
		}
		if rec.Status == store.ClusterActive {
			svcs, err := tx.Services(who.Scope, store.ServicesQuery{Cluster: name, Statuses: []string{store.ServiceActive, store.ServiceDraining}, Limit: 1})
			if err != nil {
				return ecs.ServerException(err)
			}
			if len(svcs) > 0 {
				return ecs.ClusterContainsServicesException()
			}
			tasks, err := tx.Tasks(who.Scope, store.TasksQuery{Cluster: name, NotLastStatus: store.TaskStopped, Limit: 1})
			if err != nil {
				return ecs.ServerException(err)
			}
			if len(tasks) > 0 {
				return ecs.ClusterContainsTasksException()
			}
			// Instances registered through the API must be deregistered
			// first, as in ECS; the ones ecsd registered itself go with
			// the cluster.
			instances, err := tx.ContainerInstances(who.Scope, store.ContainerInstancesQuery{Cluster: name, Statuses: []string{store.InstanceActive, store.InstanceDraining}})
			if err != nil {
				return ecs.ServerException(err)
			}
			for _, ci := range instances {
				if ci.Source == store.InstanceSourceAPI {
					return ecs.ClusterContainsContainerInstancesException()
				}
			}
			for _, ci := range instances {
				if _, err := c.setInstanceStatus(tx, ci, store.InstanceInactive); err != nil {
					return err
				}
			}
			cl, err := records.Cluster(rec)
			if err != nil {
				return ecs.ServerException(err)
			}
			cl.Status = ptr(store.ClusterInactive)
			if rec, err = putCluster(tx, who.Scope, cl); err != nil {
				return err
			}
		}
		out, err = clusterView(tx, rec, &clusterFields{settings: true, configurations: true})
		return err
	})
	return out, err
}

// clusterFields are the optional parts of a cluster a response carries
// (DescribeClusters' include).
type clusterFields struct {
	settings, configurations, statistics, tags, attachments bool
}

// clusterView builds the cluster a response carries from its record:
// live counts always; settings, configuration, statistics, tags and
// attachments only as fields asks (nil fields: the shape of an existing
// cluster that CreateCluster answers again, which is DescribeClusters'
// without include). Lists ECS always writes are empty, never absent.
func clusterView(tx store.ReadTx, rec store.Cluster, fields *clusterFields) (types.Cluster, error) {
	if fields == nil {
		fields = &clusterFields{}
	}
	cl, err := records.Cluster(rec)
	if err != nil {
		return types.Cluster{}, ecs.ServerException(err)
	}
	counts, err := tx.ClusterCounts(rec.Scope, rec.Name)
	if err != nil {
		return types.Cluster{}, ecs.ServerException(err)
	}
	cl.RunningTasksCount = int32(counts.RunningTasks)
	cl.PendingTasksCount = int32(counts.PendingTasks)
	cl.ActiveServicesCount = int32(counts.ActiveServices)
	cl.RegisteredContainerInstancesCount = int32(counts.RegisteredInstances)
	if cl.CapacityProviders == nil {
		cl.CapacityProviders = []string{}
	}
	if cl.DefaultCapacityProviderStrategy == nil {
		cl.DefaultCapacityProviderStrategy = []types.CapacityProviderStrategyItem{}
	}
	if !fields.settings || cl.Settings == nil {
		cl.Settings = []types.ClusterSetting{}
	}
	if !fields.configurations {
		cl.Configuration = nil
	}
	cl.Statistics = []types.KeyValuePair{}
	if fields.statistics {
		stats, err := clusterStats(tx, rec, cl)
		if err != nil {
			return types.Cluster{}, err
		}
		cl.Statistics = stats.Statistics()
	}
	cl.Tags = []types.Tag{}
	if fields.tags {
		tags, err := tx.Tags(store.ClusterARN(rec.Scope, rec.Name))
		if err != nil {
			return types.Cluster{}, ecs.ServerException(err)
		}
		cl.Tags = records.Tags(tags)
	}
	cl.Attachments, cl.AttachmentsStatus = nil, nil
	if fields.attachments {
		// Attachments are the Auto Scaling policies of EC2 capacity
		// providers and Service Connect's; ecsd makes neither.
		cl.Attachments = []types.Attachment{}
	}
	return cl, nil
}

// clusterStats counts a cluster's unstopped tasks and its ACTIVE and
// DRAINING services by launch type, with the same running/pending split as
// the cluster's live counts.
func clusterStats(tx store.ReadTx, rec store.Cluster, cl types.Cluster) (ecs.ClusterStats, error) {
	st := ecs.ClusterStats{
		RunningTasks: map[types.LaunchType]int{}, PendingTasks: map[types.LaunchType]int{},
		ActiveServices: map[types.LaunchType]int{}, DrainingServices: map[types.LaunchType]int{},
	}
	tasks, err := tx.Tasks(rec.Scope, store.TasksQuery{Cluster: rec.Name, NotLastStatus: store.TaskStopped})
	if err != nil {
		return st, ecs.ServerException(err)
	}
	for _, t := range tasks {
		lt := types.LaunchType(t.LaunchType)
		if lt == "" {
			task, err := records.Task(t)
			if err != nil {
				return st, ecs.ServerException(err)
			}
			lt = launchTypeOfProviders([]string{deref(task.CapacityProviderName)})
		}
		if t.LastStatus == store.TaskRunning {
			st.RunningTasks[lt]++
		} else {
			st.PendingTasks[lt]++
		}
	}
	svcs, err := tx.Services(rec.Scope, store.ServicesQuery{Cluster: rec.Name, Statuses: []string{store.ServiceActive, store.ServiceDraining}})
	if err != nil {
		return st, ecs.ServerException(err)
	}
	for _, s := range svcs {
		lt := types.LaunchType(s.LaunchType)
		if lt == "" {
			svc, err := records.Service(s)
			if err != nil {
				return st, ecs.ServerException(err)
			}
			strategy := svc.CapacityProviderStrategy
			if len(strategy) == 0 {
				strategy = cl.DefaultCapacityProviderStrategy
			}
			var names []string
			for _, item := range strategy {
				names = append(names, deref(item.CapacityProvider))
			}
			lt = launchTypeOfProviders(names)
		}
		if s.Status == store.ServiceDraining {
			st.DrainingServices[lt]++
		} else {
			st.ActiveServices[lt]++
		}
	}
	return st, nil
}

// launchTypeOfProviders is the launch type work placed with capacity
// providers counts under: FARGATE for the Fargate providers; EC2, ECS's
// default launch type, otherwise.
func launchTypeOfProviders(providers []string) types.LaunchType {
	for _, p := range providers {
		if ecs.IsBuiltinCapacityProvider(p) {
			return types.LaunchTypeFargate
		}
	}
	return types.LaunchTypeEc2
}
