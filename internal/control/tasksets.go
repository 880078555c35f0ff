package control

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/reconcile/service"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

// Messages of task-set errors; sources in docs/compat.md.
const (
	MsgTaskSetNotFound      = "The specified task set does not exist."
	MsgTaskSetsNeedExternal = "Task sets can only be used with a service that uses the EXTERNAL deployment controller."
	MsgTaskSetScaledAbove0  = "The task set cannot be deleted while it is scaled above 0."
	MsgScaleOutOfRange      = "Scale value must be between 0 and 100."
)

// CreateTaskSetRequest is CreateTaskSet's input.
type CreateTaskSetRequest struct {
	Cluster, Service, TaskDefinition string
	ExternalID                       string
	LaunchType                       types.LaunchType
	CapacityProviderStrategy         []types.CapacityProviderStrategyItem
	NetworkConfiguration             *types.NetworkConfiguration
	LoadBalancers                    []types.LoadBalancer
	ServiceRegistries                []types.ServiceRegistry
	PlatformVersion                  string
	Scale                            *types.Scale
	Tags                             []types.Tag
}

// CreateTaskSet adds a task set to a service that uses the EXTERNAL
// deployment controller. Its revision must be ACTIVE (or within the
// INACTIVE grace window), as for CreateService. The first task set of a
// service becomes its PRIMARY task set; later ones are ACTIVE until
// UpdateServicePrimaryTaskSet.
func (c *Control) CreateTaskSet(ctx context.Context, who Caller, r CreateTaskSetRequest) (types.TaskSet, error) {
	if r.Tags != nil {
		if err := ecs.ValidateTags(r.Tags); err != nil {
			return types.TaskSet{}, err
		}
	}
	if r.LaunchType != "" && len(r.CapacityProviderStrategy) > 0 {
		return types.TaskSet{}, ecs.InvalidParameterException(MsgLaunchTypeAndStrategy)
	}
	scale, err := checkScale(r.Scale)
	if err != nil {
		return types.TaskSet{}, err
	}
	now := c.now()
	var out types.TaskSet
	err = c.changeTaskSets(ctx, who, r.Cluster, r.Service, func(tx store.Tx, s *types.Service, cluster types.Cluster) error {
		rec, err := c.usableTaskDefinition(tx, who, r.TaskDefinition, serviceTaskDefinitionUse)
		if err != nil {
			return err
		}
		td, err := materialize(rec)
		if err != nil {
			return err
		}
		// Where the task set runs is resolved as for a service.
		spec := types.Service{
			LaunchType: r.LaunchType, CapacityProviderStrategy: r.CapacityProviderStrategy,
			NetworkConfiguration: r.NetworkConfiguration, SchedulingStrategy: types.SchedulingStrategyReplica,
		}
		if r.PlatformVersion != "" {
			spec.PlatformVersion = ptr(r.PlatformVersion)
		}
		if err := service.ResolveLaunch(&spec, cluster, td); err != nil {
			return err
		}
		ref, _ := ecs.ParseResourceRef("service", deref(s.ServiceArn))
		id := ecs.NewDeploymentID()
		status := ecs.TaskSetActive
		if primaryTaskSet(*s) < 0 {
			status = ecs.TaskSetPrimary
		}
		ts := types.TaskSet{
			Id:                       ptr(id),
			TaskSetArn:               ptr(ecs.TaskSetARN(who.Region, who.Account, ref.Cluster, ref.Name, id)),
			ServiceArn:               s.ServiceArn,
			ClusterArn:               s.ClusterArn,
			Status:                   ptr(status),
			TaskDefinition:           td.TaskDefinitionArn,
			ComputedDesiredCount:     int32(ecs.ComputedDesiredCount(int(s.DesiredCount), scale)),
			CreatedAt:                timePtr(now),
			UpdatedAt:                timePtr(now),
			LaunchType:               spec.LaunchType,
			CapacityProviderStrategy: spec.CapacityProviderStrategy,
			NetworkConfiguration:     spec.NetworkConfiguration,
			LoadBalancers:            orEmpty(r.LoadBalancers),
			ServiceRegistries:        orEmpty(r.ServiceRegistries),
			Scale:                    scale,
			StabilityStatus:          types.StabilityStatusStabilizing,
			StabilityStatusAt:        timePtr(now),
			Tags:                     orEmpty(r.Tags),
		}
		if r.ExternalID != "" {
			ts.ExternalId = ptr(r.ExternalID)
		}
		if spec.PlatformVersion != nil {
			ts.PlatformVersion = ptr(service.PlatformVersion(*spec.PlatformVersion))
			ts.PlatformFamily = spec.PlatformFamily
		}
		s.TaskSets = append(s.TaskSets, ts)
		if status == ecs.TaskSetPrimary {
			adoptPrimary(s, ts)
		}
		out = ts
		return nil
	})
	return out, err
}

// DescribeTaskSets describes a service's task sets: the ones named (by id
// or ARN), or all of them. Unknown ones are failures with reason MISSING.
func (c *Control) DescribeTaskSets(ctx context.Context, who Caller, cluster, service string, idents []string, withTags bool) ([]types.TaskSet, []types.Failure, error) {
	sets, failures := []types.TaskSet{}, []types.Failure{}
	err := c.Store.View(ctx, func(tx store.ReadTx) error {
		rec, err := c.anyService(tx, who, cluster, service)
		if err != nil {
			return err
		}
		s, err := records.Service(rec)
		if err != nil {
			return ecs.ServerException(err)
		}
		if len(idents) == 0 {
			sets = append(sets, s.TaskSets...)
		}
		for _, ident := range idents {
			i := findTaskSet(s, ident)
			if i < 0 {
				failures = append(failures, missing(ident))
				continue
			}
			sets = append(sets, s.TaskSets[i])
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for i := range sets {
		if !withTags {
			sets[i].Tags = nil
		}
	}
	return sets, failures, nil
}

// UpdateTaskSet changes the scale of a task set.
func (c *Control) UpdateTaskSet(ctx context.Context, who Caller, cluster, service, taskSet string, scale *types.Scale) (types.TaskSet, error) {
	if scale == nil {
		return types.TaskSet{}, ecs.InvalidParameterException("Scale can not be blank.")
	}
	scale, err := checkScale(scale)
	if err != nil {
		return types.TaskSet{}, err
	}
	now := c.now()
	return c.changeTaskSet(ctx, who, cluster, service, taskSet, func(s *types.Service, i int) error {
		ts := &s.TaskSets[i]
		ts.Scale = scale
		if deref(ts.Status) != ecs.TaskSetDraining {
			ts.ComputedDesiredCount = int32(ecs.ComputedDesiredCount(int(s.DesiredCount), scale))
		}
		ts.UpdatedAt = timePtr(now)
		return nil
	})
}

// DeleteTaskSet drains a task set: its tasks stop and it leaves the
// service once they have. A task set still scaled above 0 needs force.
func (c *Control) DeleteTaskSet(ctx context.Context, who Caller, cluster, service, taskSet string, force bool) (types.TaskSet, error) {
	now := c.now()
	return c.changeTaskSet(ctx, who, cluster, service, taskSet, func(s *types.Service, i int) error {
		ts := &s.TaskSets[i]
		if ts.Scale != nil && ts.Scale.Value > 0 && !force && deref(ts.Status) != ecs.TaskSetDraining {
			return ecs.InvalidParameterException(MsgTaskSetScaledAbove0)
		}
		ts.Status = ptr(ecs.TaskSetDraining)
		ts.ComputedDesiredCount = 0
		ts.UpdatedAt = timePtr(now)
		return nil
	})
}

// UpdateServicePrimaryTaskSet makes a task set the service's PRIMARY one;
// the previous PRIMARY becomes ACTIVE. The service takes the primary task
// set's task definition, launch type and network configuration.
func (c *Control) UpdateServicePrimaryTaskSet(ctx context.Context, who Caller, cluster, service, taskSet string) (types.TaskSet, error) {
	now := c.now()
	return c.changeTaskSet(ctx, who, cluster, service, taskSet, func(s *types.Service, i int) error {
		if deref(s.TaskSets[i].Status) == ecs.TaskSetDraining {
			return ecs.InvalidParameterException("A DRAINING task set cannot be the primary task set.")
		}
		for j := range s.TaskSets {
			if j != i && deref(s.TaskSets[j].Status) == ecs.TaskSetPrimary {
				s.TaskSets[j].Status = ptr(ecs.TaskSetActive)
				s.TaskSets[j].UpdatedAt = timePtr(now)
			}
		}
		s.TaskSets[i].Status = ptr(ecs.TaskSetPrimary)
		s.TaskSets[i].UpdatedAt = timePtr(now)
		adoptPrimary(s, s.TaskSets[i])
		return nil
	})
}

// changeTaskSets applies fn to the task sets of an ACTIVE service that
// uses the EXTERNAL deployment controller, in one transaction, and tells
// the scheduler.
func (c *Control) changeTaskSets(ctx context.Context, who Caller, cluster, service string, fn func(tx store.Tx, s *types.Service, cl types.Cluster) error) error {
	_, err := c.changeService(ctx, who, cluster, service, func(tx store.Tx, rec store.Service, s *types.Service) error {
		if s.DeploymentController == nil || s.DeploymentController.Type != types.DeploymentControllerTypeExternal {
			return ecs.InvalidParameterException(MsgTaskSetsNeedExternal)
		}
		cl, err := clusterOf(tx, rec)
		if err != nil {
			return err
		}
		return fn(tx, s, cl)
	})
	return err
}

// changeTaskSet applies fn to one task set (by id or ARN; fn gets its
// index in s.TaskSets) as changeTaskSets does, and answers the task set.
func (c *Control) changeTaskSet(ctx context.Context, who Caller, cluster, service, taskSet string, fn func(s *types.Service, i int) error) (types.TaskSet, error) {
	var out types.TaskSet
	err := c.changeTaskSets(ctx, who, cluster, service, func(_ store.Tx, s *types.Service, _ types.Cluster) error {
		i := findTaskSet(*s, taskSet)
		if i < 0 {
			return ecs.TaskSetNotFoundException(MsgTaskSetNotFound)
		}
		if err := fn(s, i); err != nil {
			return err
		}
		out = s.TaskSets[i]
		return nil
	})
	return out, err
}

// adoptPrimary gives a service its PRIMARY task set's settings, as ECS
// does ("parameters ... updated on the primary task set ... transition to
// the service").
func adoptPrimary(s *types.Service, ts types.TaskSet) {
	s.TaskDefinition = ts.TaskDefinition
	s.LaunchType = ts.LaunchType
	s.CapacityProviderStrategy = ts.CapacityProviderStrategy
	s.NetworkConfiguration = ts.NetworkConfiguration
	s.PlatformVersion = ts.PlatformVersion
	s.PlatformFamily = ts.PlatformFamily
}

func primaryTaskSet(s types.Service) int {
	for i, ts := range s.TaskSets {
		if deref(ts.Status) == ecs.TaskSetPrimary {
			return i
		}
	}
	return -1
}

// findTaskSet finds a task set by id ("ecs-svc/…") or ARN.
func findTaskSet(s types.Service, ident string) int {
	for i, ts := range s.TaskSets {
		if ident == deref(ts.Id) || ident == deref(ts.TaskSetArn) || strings.HasSuffix(deref(ts.TaskSetArn), "/"+ident) {
			return i
		}
	}
	return -1
}

// checkScale applies the default scale (100 %) and its bounds.
func checkScale(scale *types.Scale) (*types.Scale, error) {
	if scale == nil {
		return &types.Scale{Value: 100, Unit: types.ScaleUnitPercent}, nil
	}
	if scale.Value < 0 || scale.Value > 100 {
		return nil, ecs.InvalidParameterException(MsgScaleOutOfRange)
	}
	out := *scale
	if out.Unit == "" {
		out.Unit = types.ScaleUnitPercent
	}
	return &out, nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
