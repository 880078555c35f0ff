// Package service owns how ECS builds a service from a CreateService or
// UpdateService request, as pure code: the request and what the store
// holds (the cluster, the revision) in, the service and its new
// deployment out. It applies ECS's defaults (scheduling strategy,
// deployment controller, deployment configuration and circuit breaker,
// propagateTags, availabilityZoneRebalancing, the empty lists), resolves
// where the tasks run (launch type, capacity provider strategy, the
// cluster's default strategy, platform version and family) and refuses
// the combinations ECS refuses. control validates what needs the store,
// calls this package inside its one transaction and writes the result.
//
// No store, no clock (now is an argument), no randomness (deployment ids
// are arguments). It must import only the domain (ecs), the SDK's model
// types and the standard library (internal/deps_test.go).
package service

import (
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
)

// Messages of the refusals this package makes; sources in docs/compat.md.
const (
	MsgLaunchTypeAndStrategy = "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again."
	MsgDaemonStrategy        = "Specifying a capacity provider strategy is not supported when you create a service using the DAEMON scheduling strategy."
	MsgAwsvpcNeedsNetwork    = "Network Configuration must be provided when networkMode 'awsvpc' is specified."
	MsgNetworkNotAwsvpc      = "Network Configuration is not valid for the given networkMode of this task definition."
	MsgDaemonFargate         = "Fargate does not support the DAEMON scheduling strategy."
	// The DAEMON refusals of placement strategies and of maximumPercent
	// above 100, as recorded in tool logs (kayac/ecspresso#402,
	// hashicorp/terraform-provider-aws#4825).
	MsgDaemonPlacementStrategy = "The daemon scheduling strategy does not support placement strategies. Remove the placement strategy and try again"
	MsgDaemonMaximumPercent    = "The daemon scheduling strategy does not support values above 100 for maximumPercent on a deployment configuration. Change the maximumPercent value to 100, and try again"
	MsgPlatformVersionEC2      = "The platform version must be null when specifying an EC2 launch type."
	MsgNegativeDesiredCount    = "desiredCount must be greater than or equal to 0."
	MsgFargateNotCompatible    = "Task definition does not support launch_type FARGATE."
)

// CheckPlacementFunc validates a service's placement strategy and
// constraints (control passes records.PlacementRules, which compiles
// memberOf expressions); nil accepts them.
type CheckPlacementFunc func(strategy []types.PlacementStrategy, constraints []types.PlacementConstraint) error

// Extras are the settings a deployment runs with that live on the
// deployment, not on the service.
type Extras struct {
	ServiceConnectConfiguration *types.ServiceConnectConfiguration
	VolumeConfigurations        []types.ServiceVolumeConfiguration
	VpcLatticeConfigurations    []types.VpcLatticeConfiguration
}

// ExtrasOf returns the deployment settings of a service's PRIMARY
// deployment.
func ExtrasOf(s types.Service) Extras {
	for _, d := range s.Deployments {
		if deref(d.Status) == ecs.DeploymentPrimary {
			return Extras{d.ServiceConnectConfiguration, d.VolumeConfigurations, d.VpcLatticeConfigurations}
		}
	}
	return Extras{}
}

// Defaults applies to a CreateService request's service what ECS decides
// before it looks at the cluster: the scheduling strategy (REPLICA), the
// deployment controller (ECS), the deployment configuration, a DAEMON
// service's desired count (the scheduler sets it), and the refusals of
// the combinations ECS does not take.
func Defaults(spec types.Service, checkPlacement CheckPlacementFunc) (types.Service, error) {
	if spec.SchedulingStrategy == "" {
		spec.SchedulingStrategy = types.SchedulingStrategyReplica
	}
	if spec.DeploymentController == nil || spec.DeploymentController.Type == "" {
		spec.DeploymentController = &types.DeploymentController{Type: types.DeploymentControllerTypeEcs}
	}
	daemon := spec.SchedulingStrategy == types.SchedulingStrategyDaemon
	switch {
	case spec.LaunchType != "" && len(spec.CapacityProviderStrategy) > 0:
		return types.Service{}, ecs.InvalidParameterException(MsgLaunchTypeAndStrategy)
	case daemon && len(spec.CapacityProviderStrategy) > 0:
		return types.Service{}, ecs.InvalidParameterException(MsgDaemonStrategy)
	case daemon && spec.LaunchType == types.LaunchTypeFargate:
		return types.Service{}, ecs.InvalidParameterException(MsgDaemonFargate)
	case spec.LaunchType == types.LaunchTypeEc2 && deref(spec.PlatformVersion) != "":
		return types.Service{}, ecs.InvalidParameterException(MsgPlatformVersionEC2)
	case spec.DesiredCount < 0:
		return types.Service{}, ecs.InvalidParameterException(MsgNegativeDesiredCount)
	}
	if daemon && len(spec.PlacementStrategy) > 0 {
		return types.Service{}, ecs.InvalidParameterException(MsgDaemonPlacementStrategy)
	}
	if checkPlacement != nil {
		if err := checkPlacement(spec.PlacementStrategy, spec.PlacementConstraints); err != nil {
			return types.Service{}, err
		}
	}
	if daemon {
		// A DAEMON service runs one task per ACTIVE container instance
		// that meets its constraints: the scheduler sets desiredCount.
		spec.DesiredCount = 0
	}
	dc, err := DeploymentConfiguration(nil, spec.DeploymentConfiguration, spec.SchedulingStrategy)
	if err != nil {
		return types.Service{}, err
	}
	spec.DeploymentConfiguration = dc
	return spec, nil
}

// Identity is what a new service is known by, which the store and the
// caller decide.
type Identity struct {
	ARN, ClusterARN string
	CreatedAt       time.Time
	CreatedBy       string
	// RoleARN is the roleArn the service reports (RoleARN).
	RoleARN string
}

// New is the ACTIVE service CreateService stores for spec (as Defaults
// left it): no tasks, events or deployments yet (StartDeployment adds the
// first), with ECS's defaults for what the request left out. Tags are
// stored apart.
func New(spec types.Service, id Identity) types.Service {
	svc := spec
	svc.ServiceArn = ptr(id.ARN)
	svc.ClusterArn = ptr(id.ClusterARN)
	svc.Status = ptr(ecs.ServiceActive)
	svc.CreatedAt = timePtr(id.CreatedAt)
	svc.CreatedBy = ptr(id.CreatedBy)
	svc.RunningCount, svc.PendingCount = 0, 0
	svc.Events = []types.ServiceEvent{}
	svc.Deployments = []types.Deployment{}
	svc.TaskSets = nil
	svc.Tags = nil
	svc.RoleArn = ptr(id.RoleARN)
	if svc.PropagateTags == "" {
		svc.PropagateTags = types.PropagateTagsNone
	}
	if svc.HealthCheckGracePeriodSeconds == nil {
		svc.HealthCheckGracePeriodSeconds = ptr(int32(0))
	}
	if svc.AvailabilityZoneRebalancing == "" && svc.SchedulingStrategy != types.SchedulingStrategyDaemon {
		svc.AvailabilityZoneRebalancing = types.AvailabilityZoneRebalancingEnabled
	}
	EmptyLists(&svc)
	return svc
}

// RoleARN is the roleArn a service reports: the role the request named
// (a bare name is a role of the caller's account), else the Amazon ECS
// service-linked role.
func RoleARN(region, account, role string) string {
	switch {
	case role == "":
		return ecs.ServiceLinkedRoleARN(region, account)
	case strings.HasPrefix(role, "arn:"):
		return role
	}
	return "arn:" + ecs.Partition(region) + ":iam::" + account + ":role/" + strings.TrimPrefix(role, "/")
}

// EmptyLists gives a service the empty lists ECS always writes, and its
// placement strategy as ECS stores it.
func EmptyLists(s *types.Service) {
	if s.LoadBalancers == nil {
		s.LoadBalancers = []types.LoadBalancer{}
	}
	if s.ServiceRegistries == nil {
		s.ServiceRegistries = []types.ServiceRegistry{}
	}
	if s.PlacementConstraints == nil {
		s.PlacementConstraints = []types.PlacementConstraint{}
	}
	if s.PlacementStrategy == nil {
		s.PlacementStrategy = []types.PlacementStrategy{}
	}
	s.PlacementStrategy = ecs.NormalizePlacementStrategy(s.PlacementStrategy)
}

// DeploymentConfiguration merges an update into the current deployment
// configuration (nil for a new service) and applies ECS's defaults: 100 %
// minimum healthy and 200 % maximum for REPLICA services, 0 % and 100 %
// for DAEMON ones, and a disabled circuit breaker.
func DeploymentConfiguration(cur, in *types.DeploymentConfiguration, strategy types.SchedulingStrategy) (*types.DeploymentConfiguration, error) {
	out := types.DeploymentConfiguration{}
	if cur != nil {
		out = *cur
	}
	if in != nil {
		if in.MinimumHealthyPercent != nil {
			out.MinimumHealthyPercent = in.MinimumHealthyPercent
		}
		if in.MaximumPercent != nil {
			out.MaximumPercent = in.MaximumPercent
		}
		if in.DeploymentCircuitBreaker != nil {
			out.DeploymentCircuitBreaker = in.DeploymentCircuitBreaker
		}
		if in.Alarms != nil {
			out.Alarms = in.Alarms
		}
		if in.Strategy != "" {
			out.Strategy = in.Strategy
		}
		if in.BakeTimeInMinutes != nil {
			out.BakeTimeInMinutes = in.BakeTimeInMinutes
		}
		if in.LifecycleHooks != nil {
			out.LifecycleHooks = in.LifecycleHooks
		}
		if in.CanaryConfiguration != nil {
			out.CanaryConfiguration = in.CanaryConfiguration
		}
		if in.LinearConfiguration != nil {
			out.LinearConfiguration = in.LinearConfiguration
		}
		if in.EarlySuccessCriteria != nil {
			out.EarlySuccessCriteria = in.EarlySuccessCriteria
		}
	}
	minPct, maxPct := int32(ecs.DefaultMinimumHealthyPercent), int32(ecs.DefaultMaximumPercent)
	if strategy == types.SchedulingStrategyDaemon {
		minPct, maxPct = ecs.DaemonDefaultMinimumHealthyPercent, ecs.DaemonDefaultMaximumPercent
	}
	if out.MinimumHealthyPercent == nil {
		out.MinimumHealthyPercent = ptr(minPct)
	}
	if out.MaximumPercent == nil {
		out.MaximumPercent = ptr(maxPct)
	}
	if strategy == types.SchedulingStrategyDaemon && *out.MaximumPercent > 100 {
		return nil, ecs.InvalidParameterException(MsgDaemonMaximumPercent)
	}
	if out.DeploymentCircuitBreaker == nil {
		out.DeploymentCircuitBreaker = &types.DeploymentCircuitBreaker{}
	}
	switch {
	case *out.MinimumHealthyPercent < 0 || *out.MinimumHealthyPercent > 100:
		return nil, ecs.InvalidParameterException("minimumHealthyPercent must be between 0 and 100.")
	case *out.MaximumPercent < 0:
		return nil, ecs.InvalidParameterException("maximumPercent must be greater than or equal to 0.")
	}
	return &out, nil
}

// ResolveLaunch resolves where a service's (or task set's) tasks run:
// the launch type or capacity provider strategy it names, else the
// cluster's default strategy (never for DAEMON services), else EC2. It
// checks the revision (td, zero when the service has none) and the
// network configuration against the result, and sets the platform
// version and family Fargate tasks report.
func ResolveLaunch(s *types.Service, cluster types.Cluster, td types.TaskDefinition) error {
	if s.LaunchType == "" && len(s.CapacityProviderStrategy) == 0 {
		if len(cluster.DefaultCapacityProviderStrategy) > 0 && s.SchedulingStrategy != types.SchedulingStrategyDaemon {
			s.CapacityProviderStrategy = cluster.DefaultCapacityProviderStrategy
		} else {
			s.LaunchType = types.LaunchTypeEc2
		}
	}
	if len(s.CapacityProviderStrategy) > 0 {
		if err := ecs.ValidateStrategy(s.CapacityProviderStrategy, cluster.CapacityProviders); err != nil {
			return err
		}
		s.CapacityProviderStrategy = ecs.NormalizeStrategy(s.CapacityProviderStrategy)
	}
	fargate := s.LaunchType == types.LaunchTypeFargate || usesFargateProvider(s.CapacityProviderStrategy)
	if td.TaskDefinitionArn != nil {
		if s.LaunchType == types.LaunchTypeFargate && !slices.Contains(td.Compatibilities, types.CompatibilityFargate) {
			return ecs.InvalidParameterException(MsgFargateNotCompatible)
		}
		if err := CheckNetwork(td, s.NetworkConfiguration); err != nil {
			return err
		}
	}
	if fargate {
		if s.PlatformVersion == nil || *s.PlatformVersion == "" {
			s.PlatformVersion = ptr("LATEST")
		}
		if s.PlatformFamily == nil {
			s.PlatformFamily = ptr(PlatformFamily(td))
		}
	} else {
		s.PlatformVersion, s.PlatformFamily = nil, nil
	}
	return nil
}

func usesFargateProvider(strategy []types.CapacityProviderStrategyItem) bool {
	for _, item := range strategy {
		if ecs.IsBuiltinCapacityProvider(deref(item.CapacityProvider)) {
			return true
		}
	}
	return false
}

// PlatformFamily is the Fargate platform family of a revision: its
// operating system family, Linux by default.
func PlatformFamily(td types.TaskDefinition) string {
	if td.RuntimePlatform != nil && td.RuntimePlatform.OperatingSystemFamily != "" && td.RuntimePlatform.OperatingSystemFamily != types.OSFamilyLinux {
		return string(td.RuntimePlatform.OperatingSystemFamily)
	}
	return "Linux"
}

// PlatformVersion is the Fargate platform version a deployment runs for
// the one its service names: LATEST stands for ecs.DefaultFargatePlatform.
func PlatformVersion(v string) string {
	if v == "" || v == "LATEST" {
		return ecs.DefaultFargatePlatform
	}
	return v
}

// CheckNetwork applies ECS's rule that awsvpc revisions need a network
// configuration and other network modes take none.
func CheckNetwork(td types.TaskDefinition, nc *types.NetworkConfiguration) error {
	awsvpc := td.NetworkMode == types.NetworkModeAwsvpc
	has := nc != nil && nc.AwsvpcConfiguration != nil
	switch {
	case awsvpc && !has:
		return ecs.InvalidParameterException(MsgAwsvpcNeedsNetwork)
	case !awsvpc && has:
		return ecs.InvalidParameterException(MsgNetworkNotAwsvpc)
	case has && len(nc.AwsvpcConfiguration.Subnets) == 0:
		return ecs.InvalidParameterException("subnets can not be empty.")
	}
	return nil
}

// StartDeployment makes deploymentID the service's new PRIMARY
// deployment of its current configuration (IN_PROGRESS; the scheduler
// sets its desired count) and the previous PRIMARY ACTIVE, to drain as the
// new one comes up. It answers the new deployment and the revisions the
// service's deployments ran before (a service deployment's sources).
func StartDeployment(s *types.Service, deploymentID string, x Extras, now time.Time) (types.Deployment, []types.ServiceRevisionSummary) {
	ref, _ := ecs.ParseResourceRef("service", deref(s.ServiceArn))
	d := types.Deployment{
		Id:                          ptr(deploymentID),
		Status:                      ptr(ecs.DeploymentPrimary),
		TaskDefinition:              s.TaskDefinition,
		CreatedAt:                   timePtr(now),
		UpdatedAt:                   timePtr(now),
		LaunchType:                  s.LaunchType,
		CapacityProviderStrategy:    s.CapacityProviderStrategy,
		NetworkConfiguration:        s.NetworkConfiguration,
		RolloutState:                types.DeploymentRolloutStateInProgress,
		RolloutStateReason:          ptr(ecs.RolloutInProgress(deploymentID)),
		ServiceConnectConfiguration: x.ServiceConnectConfiguration,
		VolumeConfigurations:        x.VolumeConfigurations,
		VpcLatticeConfigurations:    x.VpcLatticeConfigurations,
	}
	if s.PlatformVersion != nil {
		// A deployment runs a concrete platform version.
		d.PlatformVersion = ptr(PlatformVersion(*s.PlatformVersion))
		d.PlatformFamily = s.PlatformFamily
	}
	var sources []types.ServiceRevisionSummary
	deployments := slices.Clone(s.Deployments)
	for i := range deployments {
		prev := &deployments[i]
		if deref(prev.Status) == ecs.DeploymentPrimary {
			prev.Status = ptr(ecs.DeploymentActive)
			prev.UpdatedAt = timePtr(now)
		}
		sources = append(sources, RevisionSummary(ref.Region, ref.Account, ref.Cluster, ref.Name, *prev))
	}
	s.Deployments = append([]types.Deployment{d}, deployments...)
	return d, sources
}

// Revision is the service revision a new deployment d of s deploys.
func Revision(s types.Service, d types.Deployment, td types.TaskDefinition, x Extras, now time.Time) types.ServiceRevision {
	ref, _ := ecs.ParseResourceRef("service", deref(s.ServiceArn))
	return types.ServiceRevision{
		ServiceRevisionArn:          ptr(ecs.ServiceRevisionARN(ref.Region, ref.Account, ref.Cluster, ref.Name, ecs.RevisionID(deref(d.Id)))),
		ServiceArn:                  s.ServiceArn,
		ClusterArn:                  s.ClusterArn,
		TaskDefinition:              s.TaskDefinition,
		CapacityProviderStrategy:    s.CapacityProviderStrategy,
		LaunchType:                  s.LaunchType,
		PlatformVersion:             d.PlatformVersion,
		PlatformFamily:              d.PlatformFamily,
		LoadBalancers:               s.LoadBalancers,
		ServiceRegistries:           s.ServiceRegistries,
		NetworkConfiguration:        s.NetworkConfiguration,
		ContainerImages:             ContainerImages(td),
		GuardDutyEnabled:            false,
		ServiceConnectConfiguration: x.ServiceConnectConfiguration,
		VolumeConfigurations:        x.VolumeConfigurations,
		VpcLatticeConfigurations:    x.VpcLatticeConfigurations,
		CreatedAt:                   timePtr(now),
	}
}

// ContainerImages are the images a service revision records: one per
// container of the revision, in its order.
func ContainerImages(td types.TaskDefinition) []types.ContainerImage {
	out := make([]types.ContainerImage, 0, len(td.ContainerDefinitions))
	for _, cd := range td.ContainerDefinitions {
		out = append(out, types.ContainerImage{ContainerName: cd.Name, Image: cd.Image})
	}
	return out
}

// RevisionSummary is one deployment's revision as a service deployment
// lists it, with the deployment's counts.
func RevisionSummary(region, account, cluster, service string, d types.Deployment) types.ServiceRevisionSummary {
	return types.ServiceRevisionSummary{
		Arn:                ptr(ecs.ServiceRevisionARN(region, account, cluster, service, ecs.RevisionID(deref(d.Id)))),
		RequestedTaskCount: d.DesiredCount,
		RunningTaskCount:   d.RunningCount,
		PendingTaskCount:   d.PendingCount,
	}
}

// StopPrimary marks the service's PRIMARY deployment, when its id is
// deploymentID, FAILED as StopServiceDeployment leaves it: "stopped" for
// stopType ABORT, "rolled back" for ROLLBACK (the caller then rolls the
// service back, reconcile.RollBack). It reports false, changing nothing,
// when deploymentID is not the PRIMARY deployment.
func StopPrimary(s *types.Service, deploymentID string, stopType types.StopServiceDeploymentStopType, now time.Time) bool {
	i := slices.IndexFunc(s.Deployments, func(d types.Deployment) bool {
		return deref(d.Id) == deploymentID && deref(d.Status) == ecs.DeploymentPrimary
	})
	if i < 0 {
		return false
	}
	s.Deployments = slices.Clone(s.Deployments)
	p := &s.Deployments[i]
	p.RolloutState = types.DeploymentRolloutStateFailed
	if stopType == types.StopServiceDeploymentStopTypeAbort {
		p.RolloutStateReason = ptr("ECS deployment " + deploymentID + " stopped.")
		p.UpdatedAt = timePtr(now)
	} else {
		p.RolloutStateReason = ptr("ECS deployment " + deploymentID + " rolled back.")
	}
	return true
}

// Update is what an UpdateService request asks: nil and empty members
// leave the service as it is.
type Update struct {
	// TaskDefinition is the revision the request names, as the store
	// holds it (zero when it names none).
	TaskDefinition                types.TaskDefinition
	DesiredCount                  *int32
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

// Controller is the deployment controller a service uses (ECS when it
// names none).
func Controller(s types.Service) types.DeploymentControllerType {
	if s.DeploymentController != nil && s.DeploymentController.Type != "" {
		return s.DeploymentController.Type
	}
	return types.DeploymentControllerTypeEcs
}

// CheckController refuses, for a service whose deployments another
// controller (CODE_DEPLOY, EXTERNAL) makes, an update that would start
// one. names says whether the request names a task definition.
func CheckController(s types.Service, u Update, names bool) error {
	controller := Controller(s)
	if controller != types.DeploymentControllerTypeEcs && (names || u.NetworkConfiguration != nil || u.PlatformVersion != nil || u.LoadBalancers != nil || u.ForceNewDeployment) {
		return ecs.InvalidParameterException("Unable to update task definition on services with a %s deployment controller. Use AWS CodeDeploy to trigger a new deployment.", controller)
	}
	return nil
}

// Apply makes an UpdateService change to s. A change to what its tasks
// run (task definition, network configuration, capacity provider
// strategy, platform version, load balancers, service registries, Service
// Connect, volumes) or forceNewDeployment asks for a new deployment
// (deploy), to run with the deployment settings x; the desired count and
// the other settings apply to the running deployment.
func Apply(s *types.Service, u Update, cluster types.Cluster, checkPlacement CheckPlacementFunc) (deploy bool, x Extras, err error) {
	deploy = u.ForceNewDeployment
	if td := u.TaskDefinition; td.TaskDefinitionArn != nil && deref(td.TaskDefinitionArn) != deref(s.TaskDefinition) {
		s.TaskDefinition = td.TaskDefinitionArn
		deploy = true
	}
	changed := func(cur, next any) bool { return !reflect.DeepEqual(cur, next) }
	if u.NetworkConfiguration != nil && changed(s.NetworkConfiguration, u.NetworkConfiguration) {
		s.NetworkConfiguration, deploy = u.NetworkConfiguration, true
	}
	if u.CapacityProviderStrategy != nil {
		strategy := ecs.NormalizeStrategy(u.CapacityProviderStrategy)
		if changed(s.CapacityProviderStrategy, strategy) {
			if err := ecs.ValidateStrategy(strategy, cluster.CapacityProviders); err != nil {
				return false, Extras{}, err
			}
			s.CapacityProviderStrategy, deploy = strategy, true
			if len(strategy) > 0 {
				s.LaunchType = ""
			}
		}
	}
	if u.PlatformVersion != nil && *u.PlatformVersion != deref(s.PlatformVersion) {
		s.PlatformVersion, deploy = u.PlatformVersion, true
	}
	if u.LoadBalancers != nil && changed(s.LoadBalancers, u.LoadBalancers) {
		s.LoadBalancers, deploy = u.LoadBalancers, true
	}
	if u.ServiceRegistries != nil && changed(s.ServiceRegistries, u.ServiceRegistries) {
		s.ServiceRegistries, deploy = u.ServiceRegistries, true
	}
	x = ExtrasOf(*s)
	if u.ServiceConnectConfiguration != nil && changed(x.ServiceConnectConfiguration, u.ServiceConnectConfiguration) {
		x.ServiceConnectConfiguration, deploy = u.ServiceConnectConfiguration, true
	}
	if u.VolumeConfigurations != nil && changed(x.VolumeConfigurations, u.VolumeConfigurations) {
		x.VolumeConfigurations, deploy = u.VolumeConfigurations, true
	}
	if u.VpcLatticeConfigurations != nil && changed(x.VpcLatticeConfigurations, u.VpcLatticeConfigurations) {
		x.VpcLatticeConfigurations, deploy = u.VpcLatticeConfigurations, true
	}
	if u.DesiredCount != nil && s.SchedulingStrategy != types.SchedulingStrategyDaemon {
		s.DesiredCount = *u.DesiredCount
	}
	dc, err := DeploymentConfiguration(s.DeploymentConfiguration, u.DeploymentConfiguration, s.SchedulingStrategy)
	if err != nil {
		return false, Extras{}, err
	}
	s.DeploymentConfiguration = dc
	if u.DeploymentController != nil && u.DeploymentController.Type != "" {
		s.DeploymentController = u.DeploymentController
	}
	if u.HealthCheckGracePeriodSeconds != nil {
		s.HealthCheckGracePeriodSeconds = u.HealthCheckGracePeriodSeconds
	}
	if u.EnableExecuteCommand != nil {
		s.EnableExecuteCommand = *u.EnableExecuteCommand
	}
	if u.EnableECSManagedTags != nil {
		s.EnableECSManagedTags = *u.EnableECSManagedTags
	}
	if u.PropagateTags != "" {
		s.PropagateTags = u.PropagateTags
	}
	if u.PlacementConstraints != nil {
		s.PlacementConstraints = u.PlacementConstraints
	}
	if u.PlacementStrategy != nil {
		if s.SchedulingStrategy == types.SchedulingStrategyDaemon && len(u.PlacementStrategy) > 0 {
			return false, Extras{}, ecs.InvalidParameterException(MsgDaemonPlacementStrategy)
		}
		s.PlacementStrategy = u.PlacementStrategy
	}
	if checkPlacement != nil {
		if err := checkPlacement(s.PlacementStrategy, s.PlacementConstraints); err != nil {
			return false, Extras{}, err
		}
	}
	if u.AvailabilityZoneRebalancing != "" {
		s.AvailabilityZoneRebalancing = u.AvailabilityZoneRebalancing
	}
	return deploy, x, nil
}

func ptr[T any](v T) *T { return &v }

func timePtr(t time.Time) *time.Time { return &t }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
