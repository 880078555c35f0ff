package control

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/reconcile/service"
	"github.com/ecsd/ecsd/internal/reconcile/servicedeployment"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

// MaxDescribeServices is how many services one DescribeServices names at
// most ("You may specify up to 10 services").
const MaxDescribeServices = 10

// Messages of service errors; sources in docs/compat.md. The refusals
// of service construction are the service package's.
const (
	MsgServiceNotIdempotent    = "Creation of service was not idempotent."
	MsgServiceNotActive        = "Service was not ACTIVE."
	MsgServiceScaledAbove0     = "The service cannot be stopped while it is scaled above 0."
	MsgTaskDefinitionInactive  = "TaskDefinition is inactive"
	MsgTaskDefinitionNotFound  = "TaskDefinition not found."
	MsgLaunchTypeAndStrategy   = service.MsgLaunchTypeAndStrategy
	MsgDaemonStrategy          = service.MsgDaemonStrategy
	MsgAwsvpcNeedsNetwork      = service.MsgAwsvpcNeedsNetwork
	MsgNetworkNotAwsvpc        = service.MsgNetworkNotAwsvpc
	MsgDaemonFargate           = service.MsgDaemonFargate
	MsgDaemonPlacementStrategy = service.MsgDaemonPlacementStrategy
	MsgDaemonMaximumPercent    = service.MsgDaemonMaximumPercent
	MsgTaskDefinitionRequired  = "TaskDefinition must be specified."
)

// serviceTaskDefinitionUse is how CreateService and UpdateService refuse
// a revision: both answer ClientException (unlike RunTask).
var serviceTaskDefinitionUse = TaskDefinitionUse{
	Inactive: ecs.ClientException(MsgTaskDefinitionInactive),
	NotFound: ecs.ClientException(MsgTaskDefinitionNotFound),
}

// CreateServiceRequest is CreateService's input. Service carries every
// member the input shares with the model's Service (the api layer copies
// them through the wire codec, so none is dropped); the rest are here.
type CreateServiceRequest struct {
	Cluster     string
	ClientToken string
	// Role is the IAM role name or ARN given for a load balancer.
	Role    string
	Service types.Service
	// Extras are the deployment settings the model's Service does not
	// carry (ECS keeps them on each deployment).
	Extras DeploymentExtras
}

// DeploymentExtras are the settings a deployment runs with that live on
// the deployment, not on the service.
type DeploymentExtras = service.Extras

// checkPlacement validates a service's placement rules as placing its
// tasks will read them (memberOf expressions compile).
func checkPlacement(strategy []types.PlacementStrategy, constraints []types.PlacementConstraint) error {
	_, _, err := records.PlacementRules(strategy, nil, constraints)
	return err
}

// CreateService creates a service and its first deployment, service
// revision and service deployment. A name may be reused once the service
// holding it is INACTIVE.
func (c *Control) CreateService(ctx context.Context, who Caller, r CreateServiceRequest) (types.Service, error) {
	spec := r.Service
	name := deref(spec.ServiceName)
	if name == "" || !ecs.ValidServiceName(name) {
		return types.Service{}, ecs.InvalidParameterException(`Service name must match ^[a-zA-Z0-9\-_]{1,255}$, but was %s`, name)
	}
	if spec.Tags != nil {
		if err := ecs.ValidateTags(spec.Tags); err != nil {
			return types.Service{}, err
		}
	}
	spec, err := service.Defaults(spec, checkPlacement)
	if err != nil {
		return types.Service{}, err
	}

	now := c.now()
	var out types.Service
	err = c.Store.Update(ctx, func(tx store.Tx) error {
		cl, err := c.useCluster(tx, who, r.Cluster)
		if err != nil {
			return err
		}
		arn := ecs.ServiceARN(who.Region, who.Account, cl.Name, name)
		cur, err := tx.Service(who.Scope, cl.Name, name)
		switch {
		case err == nil && cur.Status != store.ServiceInactive:
			return ecs.InvalidParameterException(MsgServiceNotIdempotent)
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return ecs.ServerException(err)
		}
		cluster, err := records.Cluster(cl)
		if err != nil {
			return ecs.ServerException(err)
		}
		svc := service.New(spec, service.Identity{
			ARN: arn, ClusterARN: ecs.ClusterARN(who.Region, who.Account, cl.Name),
			CreatedAt: now, CreatedBy: who.ARN, RoleARN: service.RoleARN(who.Region, who.Account, r.Role),
		})
		ecsController := svc.DeploymentController.Type == types.DeploymentControllerTypeEcs
		ident := deref(svc.TaskDefinition)
		var td types.TaskDefinition
		switch {
		case ident != "":
			rec, err := c.usableTaskDefinition(tx, who, ident, serviceTaskDefinitionUse)
			if err != nil {
				return err
			}
			if td, err = materialize(rec); err != nil {
				return err
			}
			svc.TaskDefinition = td.TaskDefinitionArn
		case svc.DeploymentController.Type != types.DeploymentControllerTypeExternal:
			return ecs.InvalidParameterException(MsgTaskDefinitionRequired)
		}
		if err := service.ResolveLaunch(&svc, cluster, td); err != nil {
			return err
		}
		if ecsController {
			if _, err := c.startDeployment(tx, who, &svc, td, r.Extras, now); err != nil {
				return err
			}
		}
		rec, err := putService(tx, who.Scope, svc)
		if err != nil {
			return err
		}
		// The tags of a deleted service of the same name do not carry over.
		if err := replaceTags(tx, who.Scope, arn, spec.Tags); err != nil {
			return err
		}
		out, err = serviceView(tx, rec, false)
		return err
	})
	if err != nil {
		return types.Service{}, err
	}
	c.notify(TopicService, deref(out.ServiceArn))
	return c.logDeployment(now)(out, nil)
}

// startDeployment makes a new PRIMARY deployment of the service's current
// configuration: the deployments[] entry (IN_PROGRESS; the scheduler sets
// its desired count), the service revision it deploys and the service
// deployment that records it. The previous PRIMARY becomes ACTIVE and
// drains as the new one comes up.
func (c *Control) startDeployment(tx store.Tx, who Caller, s *types.Service, td types.TaskDefinition, x DeploymentExtras, now time.Time) (types.Deployment, error) {
	ref, _ := ecs.ParseResourceRef("service", deref(s.ServiceArn))
	d, sources := service.StartDeployment(s, ecs.NewDeploymentID(), x, now)
	rev := service.Revision(*s, d, td, x, now)
	revRec, err := records.FromServiceRevision(who.Scope, rev)
	if err != nil {
		return d, ecs.ServerException(err)
	}
	if err := tx.PutServiceRevision(revRec); err != nil {
		return d, ecs.ServerException(err)
	}

	// A deployment still under way when a new one starts is stopped.
	if prevARN := deref(s.CurrentServiceDeployment); prevARN != "" {
		if err := stopServiceDeployment(tx, who, prevARN, now, "", servicedeployment.ReasonSuperseded); err != nil {
			return d, err
		}
	}
	sdARN := ecs.ServiceDeploymentARN(who.Region, who.Account, ref.Cluster, ref.Name, ecs.NewServiceDeploymentID())
	sd := servicedeployment.New(sdARN, *s, sources, deref(rev.ServiceRevisionArn), now)
	if err := putServiceDeployment(tx, who.Scope, sd); err != nil {
		return d, err
	}
	s.CurrentServiceDeployment = ptr(sdARN)
	return d, nil
}

// stopServiceDeployment ends a service deployment that is still under way
// (PENDING or IN_PROGRESS): STOPPED, with the reason. A rollback already
// started is left to finish.
func stopServiceDeployment(tx store.Tx, who Caller, arn string, now time.Time, status types.ServiceDeploymentStatus, reason string) error {
	rec, err := tx.ServiceDeployment(who.Scope, arn)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return ecs.ServerException(err)
	}
	sd, err := records.ServiceDeployment(rec)
	if err != nil {
		return ecs.ServerException(err)
	}
	sd, changed := servicedeployment.Stop(sd, status, reason, now)
	if !changed {
		return nil
	}
	return putServiceDeployment(tx, who.Scope, sd)
}

// putServiceDeployment writes a service deployment.
func putServiceDeployment(tx store.Tx, scope store.Scope, sd types.ServiceDeployment) error {
	rec, err := records.FromServiceDeployment(scope, sd)
	if err != nil {
		return ecs.ServerException(err)
	}
	return wrapServer(tx.PutServiceDeployment(rec))
}

func wrapServer(err error) error {
	if err != nil {
		return ecs.ServerException(err)
	}
	return nil
}

// UpdateServiceRequest is UpdateService's input: nil and empty members
// leave the service as it is.
type UpdateServiceRequest struct {
	Cluster                       string
	Service                       string
	DesiredCount                  *int32
	TaskDefinition                *string
	ForceNewDeployment            bool
	DeploymentConfiguration       *types.DeploymentConfiguration
	DeploymentController          *types.DeploymentController
	NetworkConfiguration          *types.NetworkConfiguration
	CapacityProviderStrategy      []types.CapacityProviderStrategyItem
	PlatformVersion               *string
	HealthCheckGracePeriodSeconds *int32
	EnableExecuteCommand          *bool
	EnableECSManagedTags          *bool
	PropagateTags                 types.PropagateTags
	PlacementConstraints          []types.PlacementConstraint
	PlacementStrategy             []types.PlacementStrategy
	LoadBalancers                 []types.LoadBalancer
	ServiceRegistries             []types.ServiceRegistry
	ServiceConnectConfiguration   *types.ServiceConnectConfiguration
	VolumeConfigurations          []types.ServiceVolumeConfiguration
	VpcLatticeConfigurations      []types.VpcLatticeConfiguration
	AvailabilityZoneRebalancing   types.AvailabilityZoneRebalancing
}

// update is the change r asks of the service, as service.Apply takes it
// (the revision it names is looked up apart).
func (r UpdateServiceRequest) update() service.Update {
	return service.Update{
		DesiredCount:                  r.DesiredCount,
		ForceNewDeployment:            r.ForceNewDeployment,
		DeploymentConfiguration:       r.DeploymentConfiguration,
		DeploymentController:          r.DeploymentController,
		NetworkConfiguration:          r.NetworkConfiguration,
		CapacityProviderStrategy:      r.CapacityProviderStrategy,
		PlatformVersion:               r.PlatformVersion,
		HealthCheckGracePeriodSeconds: r.HealthCheckGracePeriodSeconds,
		EnableExecuteCommand:          r.EnableExecuteCommand,
		EnableECSManagedTags:          r.EnableECSManagedTags,
		PropagateTags:                 r.PropagateTags,
		PlacementConstraints:          r.PlacementConstraints,
		PlacementStrategy:             r.PlacementStrategy,
		LoadBalancers:                 r.LoadBalancers,
		ServiceRegistries:             r.ServiceRegistries,
		ServiceConnectConfiguration:   r.ServiceConnectConfiguration,
		VolumeConfigurations:          r.VolumeConfigurations,
		VpcLatticeConfigurations:      r.VpcLatticeConfigurations,
		AvailabilityZoneRebalancing:   r.AvailabilityZoneRebalancing,
	}
}

// UpdateService changes a service. A change to what its tasks run (task
// definition, network configuration, capacity provider strategy, platform
// version, load balancers, service registries, Service Connect, volumes)
// or forceNewDeployment starts a new deployment; the desired count and
// the other settings apply to the running deployment. A service whose
// revision was deregistered may still change its desired count: only a
// newly named revision must be ACTIVE.
func (c *Control) UpdateService(ctx context.Context, who Caller, r UpdateServiceRequest) (types.Service, error) {
	if r.DesiredCount != nil && *r.DesiredCount < 0 {
		return types.Service{}, ecs.InvalidParameterException(service.MsgNegativeDesiredCount)
	}
	now := c.now()
	return c.logDeployment(now)(c.changeService(ctx, who, r.Cluster, r.Service, func(tx store.Tx, rec store.Service, s *types.Service) error {
		cluster, err := clusterOf(tx, rec)
		if err != nil {
			return err
		}
		u := r.update()
		if err := service.CheckController(*s, u, r.TaskDefinition != nil); err != nil {
			return err
		}
		var td types.TaskDefinition
		if r.TaskDefinition != nil {
			tdRec, err := c.usableTaskDefinition(tx, who, *r.TaskDefinition, serviceTaskDefinitionUse)
			if err != nil {
				return err
			}
			if td, err = materialize(tdRec); err != nil {
				return err
			}
			u.TaskDefinition = td
		}
		controller := service.Controller(*s)
		deploy, x, err := service.Apply(s, u, cluster, checkPlacement)
		if err != nil {
			return err
		}
		if deploy && controller == types.DeploymentControllerTypeEcs {
			if td.TaskDefinitionArn == nil {
				// The service's own revision: a forced deployment
				// re-deploys it even if it was deregistered since.
				if td, err = serviceTaskDefinition(tx, who, deref(s.TaskDefinition)); err != nil {
					return err
				}
			}
			if err := service.ResolveLaunch(s, cluster, td); err != nil {
				return err
			}
			if _, err := c.startDeployment(tx, who, s, td, x, now); err != nil {
				return err
			}
		}
		service.EmptyLists(s)
		return nil
	}))
}

// serviceTaskDefinition loads the revision a service runs, whatever its
// status: a service keeps its revision after it is deregistered.
func serviceTaskDefinition(tx store.ReadTx, who Caller, arn string) (types.TaskDefinition, error) {
	ref, err := ecs.ParseTaskDefinitionRef(arn)
	if err != nil || !ref.HasRevision {
		return types.TaskDefinition{}, ecs.ClientException(MsgTaskDefinitionNotFound)
	}
	rec, err := tx.TaskDefinition(who.Scope, ref.Family, ref.Revision)
	if errors.Is(err, store.ErrNotFound) {
		return types.TaskDefinition{}, ecs.ClientException(MsgTaskDefinitionNotFound)
	}
	if err != nil {
		return types.TaskDefinition{}, ecs.ServerException(err)
	}
	return materialize(rec)
}

// DeleteService deletes a service: it goes DRAINING, the scheduler stops
// its tasks, and it is INACTIVE once none is left running. ECS refuses a
// REPLICA service still scaled above 0 unless force is set.
func (c *Control) DeleteService(ctx context.Context, who Caller, cluster, service string, force bool) (types.Service, error) {
	now := c.now()
	return c.changeService(ctx, who, cluster, service, func(tx store.Tx, _ store.Service, s *types.Service) error {
		if s.SchedulingStrategy != types.SchedulingStrategyDaemon && s.DesiredCount > 0 && !force {
			return ecs.InvalidParameterException(MsgServiceScaledAbove0)
		}
		s.Status = ptr(ecs.ServiceDraining)
		s.DesiredCount = 0
		if arn := deref(s.CurrentServiceDeployment); arn != "" {
			if err := stopServiceDeployment(tx, who, arn, now, "", servicedeployment.ReasonServiceDeleted); err != nil {
				return err
			}
		}
		return nil
	})
}

// changeService applies fn to an ACTIVE service in one transaction, tells
// the scheduler, and answers the changed service.
func (c *Control) changeService(ctx context.Context, who Caller, cluster, service string, fn func(tx store.Tx, rec store.Service, s *types.Service) error) (types.Service, error) {
	var out types.Service
	err := c.Store.Update(ctx, func(tx store.Tx) error {
		rec, err := c.activeService(tx, who, cluster, service)
		if err != nil {
			return err
		}
		s, err := records.Service(rec)
		if err != nil {
			return ecs.ServerException(err)
		}
		if err := fn(tx, rec, &s); err != nil {
			return err
		}
		if rec, err = putService(tx, who.Scope, s); err != nil {
			return err
		}
		out, err = serviceView(tx, rec, false)
		return err
	})
	if err != nil {
		return types.Service{}, err
	}
	c.notify(TopicService, deref(out.ServiceArn))
	return out, nil
}

// putService writes a service and answers the record written.
func putService(tx store.Tx, scope store.Scope, s types.Service) (store.Service, error) {
	rec, err := records.FromService(scope, s)
	if err != nil {
		return store.Service{}, ecs.ServerException(err)
	}
	if err := tx.PutService(rec); err != nil {
		return store.Service{}, ecs.ServerException(err)
	}
	return rec, nil
}

// clusterOf loads the cluster a service belongs to.
func clusterOf(tx store.ReadTx, rec store.Service) (types.Cluster, error) {
	clRec, err := tx.Cluster(rec.Scope, rec.Cluster)
	if err != nil {
		return types.Cluster{}, ecs.ServerException(err)
	}
	cl, err := records.Cluster(clRec)
	if err != nil {
		return types.Cluster{}, ecs.ServerException(err)
	}
	return cl, nil
}

// activeService finds the ACTIVE service an operation that changes it
// names. A service that does not exist is ServiceNotFoundException; one
// that is DRAINING or INACTIVE is ServiceNotActiveException.
func (c *Control) activeService(tx store.ReadTx, who Caller, cluster, service string) (store.Service, error) {
	rec, err := c.anyService(tx, who, cluster, service)
	if err != nil {
		return store.Service{}, err
	}
	if rec.Status != store.ServiceActive {
		return store.Service{}, ecs.ServiceNotActiveException()
	}
	return rec, nil
}

// serviceName extracts the service name from a name or ARN. A long-format
// ARN must name the cluster the request is about.
func serviceName(who Caller, cluster, ident string) (string, bool) {
	ref, ok := ecs.ParseResourceRef("service", ident)
	if !ok || !ecs.ValidServiceName(ref.Name) {
		return "", false
	}
	if ref.IsARN && (!ecs.OwnAccount(ref.Account, who.Account) || ref.Region != who.Region || ref.Cluster != "" && ref.Cluster != cluster) {
		return "", false
	}
	return ref.Name, true
}

// DescribeServices describes up to 10 services of a cluster, INACTIVE
// ones included. Services that do not exist are failures with reason
// MISSING; their arn is the input ARN, or for a name the short-format
// service ARN (without the cluster), as ECS reports it.
func (c *Control) DescribeServices(ctx context.Context, who Caller, cluster string, idents []string, withTags bool) ([]types.Service, []types.Failure, error) {
	switch {
	case len(idents) == 0:
		return nil, nil, ecs.InvalidParameterException("Services cannot be empty.")
	case len(idents) > MaxDescribeServices:
		return nil, nil, ecs.InvalidParameterException("service names can have at most %d items.", MaxDescribeServices)
	}
	services, failures := []types.Service{}, []types.Failure{}
	err := c.Store.View(ctx, func(tx store.ReadTx) error {
		cl, err := describeCluster(tx, who, cluster)
		if err != nil {
			return err
		}
		for _, ident := range idents {
			name, ok := serviceName(who, cl.Name, ident)
			var rec store.Service
			if ok {
				rec, err = tx.Service(who.Scope, cl.Name, name)
			}
			if !ok || errors.Is(err, store.ErrNotFound) {
				arn := ident
				if !strings.HasPrefix(ident, "arn:") {
					arn = "arn:" + ecs.Partition(who.Region) + ":ecs:" + who.Region + ":" + who.Account + ":service/" + ident
				}
				failures = append(failures, missing(arn))
				continue
			}
			if err != nil {
				return ecs.ServerException(err)
			}
			s, err := serviceView(tx, rec, withTags)
			if err != nil {
				return err
			}
			services = append(services, s)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return services, failures, nil
}

// serviceView is a service as responses carry it: the stored document
// with its current service revisions and, when asked, its tags.
func serviceView(tx store.ReadTx, rec store.Service, withTags bool) (types.Service, error) {
	s, err := records.Service(rec)
	if err != nil {
		return types.Service{}, ecs.ServerException(err)
	}
	if s.Events == nil {
		s.Events = []types.ServiceEvent{}
	}
	if s.Deployments == nil {
		s.Deployments = []types.Deployment{}
	}
	s.CurrentServiceRevisions = nil
	if len(s.Deployments) > 0 {
		ref, _ := ecs.ParseResourceRef("service", deref(s.ServiceArn))
		for _, d := range s.Deployments {
			sum := service.RevisionSummary(rec.Region, rec.Account, ref.Cluster, ref.Name, d)
			s.CurrentServiceRevisions = append(s.CurrentServiceRevisions, types.ServiceCurrentRevisionSummary{
				Arn: sum.Arn, RequestedTaskCount: sum.RequestedTaskCount, RunningTaskCount: sum.RunningTaskCount, PendingTaskCount: sum.PendingTaskCount,
			})
		}
	}
	if withTags {
		tags, err := tx.Tags(store.ServiceARN(rec.Scope, rec.Cluster, rec.Name))
		if err != nil {
			return types.Service{}, ecs.ServerException(err)
		}
		s.Tags = records.Tags(tags)
	}
	return s, nil
}

// ListServicesRequest is ListServices' input.
type ListServicesRequest struct {
	Cluster            string
	LaunchType         types.LaunchType
	SchedulingStrategy types.SchedulingStrategy
	MaxResults         *int32
	NextToken          string
}

// ListServices lists the ARNs of a cluster's ACTIVE services in name
// order: a deleted service "is no longer visible in ... the ListServices
// API operation", from the moment it is DRAINING. Pages hold 10 by
// default.
func (c *Control) ListServices(ctx context.Context, who Caller, r ListServicesRequest) ([]string, string, error) {
	limit, err := pageSizeOr(r.MaxResults, 10)
	if err != nil {
		return nil, "", err
	}
	const query = "services"
	q := store.ServicesQuery{Statuses: []string{store.ServiceActive}, LaunchType: string(r.LaunchType),
		SchedulingStrategy: string(r.SchedulingStrategy), Limit: limit + 1}
	var cursor struct {
		Cluster, After string
	}
	if r.NextToken != "" {
		if err := decodeToken(r.NextToken, query, &cursor); err != nil {
			return nil, "", err
		}
	}
	var recs []store.Service
	var clusterName string
	err = c.Store.View(ctx, func(tx store.ReadTx) error {
		cl, err := readCluster(tx, who, r.Cluster)
		if err != nil {
			return err
		}
		clusterName = cl.Name
		if r.NextToken != "" && cursor.Cluster != cl.Name {
			return ecs.InvalidParameterException("Invalid nextToken: the token is malformed or was issued for a different request.")
		}
		q.Cluster, q.After = cl.Name, cursor.After
		recs, err = tx.Services(who.Scope, q)
		if err != nil {
			return ecs.ServerException(err)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	var next string
	if len(recs) > limit {
		recs = recs[:limit]
		cursor.Cluster, cursor.After = clusterName, recs[len(recs)-1].Name
		next = encodeToken(query, cursor)
	}
	arns := make([]string, len(recs))
	for i, rec := range recs {
		arns[i] = ecs.ServiceARN(who.Region, who.Account, rec.Cluster, rec.Name)
	}
	return arns, next, nil
}

// pageSizeOr is pageSize for an operation whose default page is smaller
// than the 100 most List operations take.
func pageSizeOr(maxResults *int32, def int) (int, error) {
	if maxResults == nil {
		return def, nil
	}
	return pageSize(maxResults)
}

// ListServicesByNamespace lists the ACTIVE services, in every cluster,
// whose Service Connect configuration uses a namespace (by name or ARN).
// ecsd has no AWS Cloud Map: a namespace exists while a cluster's Service
// Connect defaults or a service names it; any other is not found, as ECS
// answers a namespace Cloud Map does not have.
func (c *Control) ListServicesByNamespace(ctx context.Context, who Caller, namespace string, maxResults *int32, nextToken string) ([]string, string, error) {
	if namespace == "" {
		return nil, "", ecs.InvalidParameterException("Namespace can not be blank.")
	}
	limit, err := pageSizeOr(maxResults, 10)
	if err != nil {
		return nil, "", err
	}
	const query = "servicesByNamespace"
	var after string
	if nextToken != "" {
		if err := decodeToken(nextToken, query+"/"+namespace, &after); err != nil {
			return nil, "", err
		}
	}
	var arns []string
	known := false
	err = c.Store.View(ctx, func(tx store.ReadTx) error {
		clusters, err := tx.Clusters(who.Scope, store.ClustersQuery{})
		if err != nil {
			return ecs.ServerException(err)
		}
		for _, clRec := range clusters {
			cl, err := records.Cluster(clRec)
			if err != nil {
				return ecs.ServerException(err)
			}
			if cl.ServiceConnectDefaults != nil && sameNamespace(deref(cl.ServiceConnectDefaults.Namespace), namespace) {
				known = true
			}
			svcs, err := tx.Services(who.Scope, store.ServicesQuery{Cluster: clRec.Name})
			if err != nil {
				return ecs.ServerException(err)
			}
			for _, rec := range svcs {
				s, err := records.Service(rec)
				if err != nil {
					return ecs.ServerException(err)
				}
				sc := service.ExtrasOf(s).ServiceConnectConfiguration
				if sc == nil || !sameNamespace(deref(sc.Namespace), namespace) {
					continue
				}
				known = true
				if rec.Status == store.ServiceActive {
					arns = append(arns, deref(s.ServiceArn))
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if !known {
		return nil, "", ecs.NamespaceNotFoundException("Failed to retrieve namespace for %s", namespace)
	}
	slices.Sort(arns)
	start, _ := slices.BinarySearch(arns, after)
	if after != "" && start < len(arns) && arns[start] == after {
		start++
	}
	arns = arns[start:]
	var next string
	if len(arns) > limit {
		arns = arns[:limit]
		next = encodeToken(query+"/"+namespace, arns[len(arns)-1])
	}
	if arns == nil {
		arns = []string{}
	}
	return arns, next, nil
}

// sameNamespace compares a Service Connect namespace as stored with one a
// request names: the same name or ARN, or an ARN ending in the name.
func sameNamespace(stored, asked string) bool {
	if stored == asked {
		return true
	}
	base := func(s string) string { return s[strings.LastIndexByte(s, '/')+1:] }
	return base(stored) == base(asked)
}

// logDeployment logs, at info level, the deployment a successful
// CreateService or UpdateService started (its PRIMARY deployment was
// created at now).
func (c *Control) logDeployment(now time.Time) func(types.Service, error) (types.Service, error) {
	return func(s types.Service, err error) (types.Service, error) {
		if err != nil || c.Logger == nil {
			return s, err
		}
		for _, d := range s.Deployments {
			if deref(d.Status) == ecs.DeploymentPrimary && d.CreatedAt != nil && d.CreatedAt.Equal(now) {
				c.Logger.Info("deployment started", "service", deref(s.ServiceName), "cluster", clusterNameOfARN(deref(s.ClusterArn)),
					"deployment", deref(d.Id), "taskDefinition", deref(d.TaskDefinition), "desiredCount", s.DesiredCount)
			}
		}
		return s, err
	}
}

func clusterNameOfARN(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
