package ecs

import (
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Messages of cluster errors (sources in docs/compat.md). The
// ClusterContains* and ClusterInactive ones are in errors.go.
const (
	// MsgTagInactiveCluster is what TagResource, UntagResource and
	// ListTagsForResource answer for an INACTIVE cluster.
	MsgTagInactiveCluster = "The specified cluster is inactive. Specify an active cluster and try again."
	// MsgTagLongArnRequired answers a tagging operation naming a service
	// by its short ARN (arn:aws:ecs:REGION:ACCOUNT:service/NAME).
	MsgTagLongArnRequired  = "Long arn format must be used for tagging operations"
	MsgInvalidSettingValue = "Invalid setting 'value'"
	MsgInvalidSettingName  = "Invalid setting 'name'"
	// MsgCapacityProviderNotFound names a capacity provider that does not
	// exist.
	MsgCapacityProviderNotFound = "The specified capacity provider does not exist. Specify a valid name or ARN and try again."
	// MsgStrategyNotAssociated is a strategy naming a provider the cluster
	// does not have.
	MsgStrategyNotAssociated = "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again."
)

// The capacity providers every account has. ecsd has no Auto Scaling
// groups, so these are the only ones.
const (
	CapacityProviderFargate     = "FARGATE"
	CapacityProviderFargateSpot = "FARGATE_SPOT"
)

// BuiltinCapacityProviders lists the capacity providers every account
// has, in the order ECS lists them.
func BuiltinCapacityProviders() []string {
	return []string{CapacityProviderFargate, CapacityProviderFargateSpot}
}

// IsBuiltinCapacityProvider reports whether name is FARGATE or
// FARGATE_SPOT.
func IsBuiltinCapacityProvider(name string) bool {
	return name == CapacityProviderFargate || name == CapacityProviderFargateSpot
}

// BuiltinCapacityProvider returns FARGATE or FARGATE_SPOT as
// DescribeCapacityProviders answers them: ACTIVE, without an Auto Scaling
// group provider.
func BuiltinCapacityProvider(region, account, name string) types.CapacityProvider {
	return types.CapacityProvider{
		CapacityProviderArn: ptr(CapacityProviderARN(region, account, name)),
		Name:                ptr(name),
		Status:              types.CapacityProviderStatusActive,
	}
}

// NewCluster returns a new ACTIVE cluster as CreateCluster with no options
// makes it.
func NewCluster(region, account, name string) types.Cluster {
	return types.Cluster{
		ClusterArn:  ptr(ClusterARN(region, account, name)),
		ClusterName: ptr(name),
		Status:      ptr("ACTIVE"), // PROVISIONING only with Auto Scaling group providers, which ecsd has not
		Settings: []types.ClusterSetting{
			{Name: types.ClusterSettingNameContainerInsights, Value: ptr("disabled")},
		},
		CapacityProviders:               []string{},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{},
		Statistics:                      []types.KeyValuePair{},
		Tags:                            []types.Tag{},
	}
}

// ClusterSpec is what CreateCluster may set besides the name and tags.
type ClusterSpec struct {
	Settings                        []types.ClusterSetting
	Configuration                   *types.ClusterConfiguration
	CapacityProviders               []string
	DefaultCapacityProviderStrategy []types.CapacityProviderStrategyItem
	ServiceConnectDefaults          *types.ClusterServiceConnectDefaultsRequest
	// KnownCapacityProvider reports whether a provider name (not FARGATE
	// or FARGATE_SPOT) is an ACTIVE capacity provider; nil knows none.
	KnownCapacityProvider func(name string) bool
}

// BuildCluster validates spec as CreateCluster does and returns the new
// ACTIVE cluster. containerInsights is the caller's effective account
// setting, which a cluster takes when the request sets none.
func BuildCluster(region, account, name, containerInsights string, spec ClusterSpec) (types.Cluster, error) {
	if !ValidClusterName(name) {
		return types.Cluster{}, InvalidClusterName(name)
	}
	if err := ValidateClusterSettings(spec.Settings); err != nil {
		return types.Cluster{}, err
	}
	if err := ValidateCapacityProviders(spec.CapacityProviders, spec.DefaultCapacityProviderStrategy, spec.KnownCapacityProvider); err != nil {
		return types.Cluster{}, err
	}
	c := NewCluster(region, account, name)
	if containerInsights != "" {
		c.Settings[0].Value = ptr(containerInsights)
	}
	c.Settings = MergeClusterSettings(c.Settings, spec.Settings)
	c.Configuration = spec.Configuration
	if spec.CapacityProviders != nil {
		c.CapacityProviders = NormalizeCapacityProviders(spec.CapacityProviders)
	}
	if spec.DefaultCapacityProviderStrategy != nil {
		c.DefaultCapacityProviderStrategy = NormalizeStrategy(spec.DefaultCapacityProviderStrategy)
	}
	c.ServiceConnectDefaults = ServiceConnectDefaults(spec.ServiceConnectDefaults)
	return c, nil
}

// InvalidClusterName is ECS's refusal of a cluster name that is not 1 to
// 255 letters, digits, hyphens and underscores, worded as ECS words its
// cluster-parameter check.
func InvalidClusterName(name string) *Error {
	return InvalidParameterException(`Cluster must match ^[a-zA-Z0-9\-_]{1,255}$, but was %s`, name)
}

// ValidateClusterSettings checks cluster settings: containerInsights is
// the only name (the protocol rejects others) and takes enabled, disabled
// or enhanced.
func ValidateClusterSettings(settings []types.ClusterSetting) error {
	for _, s := range settings {
		if s.Name != types.ClusterSettingNameContainerInsights {
			return InvalidParameterException(MsgInvalidSettingName)
		}
		if !validContainerInsights(deref(s.Value)) {
			return InvalidParameterException(MsgInvalidSettingValue)
		}
	}
	return nil
}

func validContainerInsights(v string) bool {
	return v == "enabled" || v == "disabled" || v == "enhanced"
}

// MergeClusterSettings applies update on top of current: a setting named
// in update replaces the one of the same name, others stay.
func MergeClusterSettings(current, update []types.ClusterSetting) []types.ClusterSetting {
	out := append([]types.ClusterSetting{}, current...)
	for _, u := range update {
		replaced := false
		for i := range out {
			if out[i].Name == u.Name {
				out[i], replaced = u, true
			}
		}
		if !replaced {
			out = append(out, u)
		}
	}
	return out
}

// ServiceConnectDefaults is the cluster member a serviceConnectDefaults
// request sets. ecsd keeps the namespace as given (ECS resolves a name to
// the Cloud Map namespace ARN, which ecsd has no Cloud Map for); an empty
// namespace removes the defaults, as ECS documents.
func ServiceConnectDefaults(req *types.ClusterServiceConnectDefaultsRequest) *types.ClusterServiceConnectDefaults {
	if req == nil || deref(req.Namespace) == "" {
		return nil
	}
	return &types.ClusterServiceConnectDefaults{Namespace: ptr(*req.Namespace)}
}

// Capacity provider strategy limits from the model's documentation.
const (
	MaxStrategyBase   = 100000
	MaxStrategyWeight = 1000
)

// ValidateCapacityProviders checks a cluster's capacity providers and its
// default strategy: every provider must exist (FARGATE, FARGATE_SPOT or
// one known says is ACTIVE), a cluster has at most
// MaxClusterCapacityProviders, and the strategy may only use the
// cluster's providers.
func ValidateCapacityProviders(providers []string, strategy []types.CapacityProviderStrategyItem, known func(string) bool) error {
	if len(providers) > MaxClusterCapacityProviders {
		return InvalidParameterException(MsgTooManyClusterCapacityProviders)
	}
	for _, p := range providers {
		name := capacityProviderName(p)
		if !IsBuiltinCapacityProvider(name) && (known == nil || !known(name)) {
			return ClientException(MsgCapacityProviderNotFound)
		}
	}
	return ValidateStrategy(strategy, providers)
}

// ValidateStrategy checks a capacity provider strategy against the
// providers it may use.
func ValidateStrategy(strategy []types.CapacityProviderStrategyItem, providers []string) error {
	withBase := 0
	seen := map[string]bool{}
	for _, item := range strategy {
		name := capacityProviderName(deref(item.CapacityProvider))
		if name == "" {
			return InvalidParameterException("The capacity provider strategy item is missing a capacity provider.")
		}
		associated := false
		for _, p := range providers {
			if capacityProviderName(p) == name {
				associated = true
			}
		}
		if !associated {
			return InvalidParameterException(MsgStrategyNotAssociated)
		}
		if seen[name] {
			return InvalidParameterException("The capacity provider strategy cannot contain duplicate capacity providers.")
		}
		seen[name] = true
		if item.Base < 0 || item.Base > MaxStrategyBase {
			return InvalidParameterException("The base value of a capacity provider strategy must be between 0 and %d.", MaxStrategyBase)
		}
		if item.Weight < 0 || item.Weight > MaxStrategyWeight {
			return InvalidParameterException("The weight value of a capacity provider strategy must be between 0 and %d.", MaxStrategyWeight)
		}
		if item.Base > 0 {
			withBase++
		}
	}
	if withBase > 1 {
		return InvalidParameterException("Only one capacity provider in a capacity provider strategy can have a base defined.")
	}
	return nil
}

// NormalizeStrategy returns the strategy as ECS echoes it: providers by
// short name.
func NormalizeStrategy(strategy []types.CapacityProviderStrategyItem) []types.CapacityProviderStrategyItem {
	out := make([]types.CapacityProviderStrategyItem, len(strategy))
	for i, item := range strategy {
		item.CapacityProvider = ptr(capacityProviderName(deref(item.CapacityProvider)))
		out[i] = item
	}
	return out
}

// NormalizeCapacityProviders returns providers by short name.
func NormalizeCapacityProviders(providers []string) []string {
	out := make([]string, len(providers))
	for i, p := range providers {
		out[i] = capacityProviderName(p)
	}
	return out
}

// capacityProviderName returns the short name of a capacity provider
// given by name or ARN.
func capacityProviderName(s string) string { return CapacityProviderName(s) }

// CapacityProviderName returns the short name of a capacity provider
// given by name or ARN.
func CapacityProviderName(s string) string {
	if name, _, _, isARN, ok := CapacityProviderRef(s); isARN && ok {
		return name
	}
	return s
}

// CapacityProviderRef parses a capacity provider name or ARN. ok is false
// for an ARN that is not an ECS capacity-provider ARN.
func CapacityProviderRef(s string) (name, region, account string, isARN, ok bool) {
	if !strings.HasPrefix(s, "arn:") {
		return s, "", "", false, s != ""
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[2] != "ecs" {
		return "", "", "", true, false
	}
	n, found := strings.CutPrefix(parts[5], "capacity-provider/")
	if !found || n == "" || strings.Contains(n, "/") {
		return "", "", "", true, false
	}
	return n, parts[3], parts[4], true, true
}

// ClusterStats are a cluster's task and service counts by launch type, as
// DescribeClusters reports them with include STATISTICS.
type ClusterStats struct {
	RunningTasks, PendingTasks       map[types.LaunchType]int
	ActiveServices, DrainingServices map[types.LaunchType]int
}

// Statistics returns the STATISTICS key-value pairs in ECS's order.
func (s ClusterStats) Statistics() []types.KeyValuePair {
	kv := func(name string, n int) types.KeyValuePair {
		return types.KeyValuePair{Name: ptr(name), Value: ptr(strconv.Itoa(n))}
	}
	const (
		ec2, fargate, external, mi = types.LaunchTypeEc2, types.LaunchTypeFargate, types.LaunchTypeExternal, types.LaunchTypeManagedInstances
	)
	return []types.KeyValuePair{
		kv("runningEC2TasksCount", s.RunningTasks[ec2]),
		kv("runningFargateTasksCount", s.RunningTasks[fargate]),
		kv("pendingEC2TasksCount", s.PendingTasks[ec2]),
		kv("pendingFargateTasksCount", s.PendingTasks[fargate]),
		kv("runningExternalTasksCount", s.RunningTasks[external]),
		kv("pendingExternalTasksCount", s.PendingTasks[external]),
		kv("runningManagedInstancesTasksCount", s.RunningTasks[mi]),
		kv("pendingManagedInstancesTasksCount", s.PendingTasks[mi]),
		kv("activeEC2ServiceCount", s.ActiveServices[ec2]),
		kv("activeFargateServiceCount", s.ActiveServices[fargate]),
		kv("drainingEC2ServiceCount", s.DrainingServices[ec2]),
		kv("drainingFargateServiceCount", s.DrainingServices[fargate]),
		kv("activeExternalServiceCount", s.ActiveServices[external]),
		kv("drainingExternalServiceCount", s.DrainingServices[external]),
		kv("activeManagedInstancesServiceCount", s.ActiveServices[mi]),
		kv("drainingManagedInstancesServiceCount", s.DrainingServices[mi]),
	}
}
