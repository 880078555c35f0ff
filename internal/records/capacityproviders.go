package records

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/store"
	"github.com/ecsd/ecsd/internal/wire"
)

// FromCapacityProvider makes a capacity provider's record; the group is
// kept as given.
func FromCapacityProvider(scope store.Scope, cp types.CapacityProvider, g Group, deleteRequestedAt time.Time) (store.CapacityProvider, error) {
	cp.Tags = nil
	body, err := wire.Marshal(cp)
	if err != nil {
		return store.CapacityProvider{}, err
	}
	group, err := json.Marshal(g)
	if err != nil {
		return store.CapacityProvider{}, err
	}
	rec := store.CapacityProvider{
		Scope: scope, Name: deref(cp.Name), Status: string(cp.Status),
		DeleteRequestedAt: deleteRequestedAt, Body: body, Group: group,
	}
	if cp.AutoScalingGroupProvider != nil {
		rec.AutoScalingGroupARN = deref(cp.AutoScalingGroupProvider.AutoScalingGroupArn)
	}
	if rec.Status == string(types.CapacityProviderStatusDeprovisioning) || rec.Status == string(types.CapacityProviderStatusProvisioning) {
		rec.Status = store.CapacityProviderActive
	}
	return rec, nil
}

// CapacityProvider decodes a capacity provider's record.
func CapacityProvider(rec store.CapacityProvider) (types.CapacityProvider, error) {
	var cp types.CapacityProvider
	if err := wire.Unmarshal(rec.Body, &cp); err != nil {
		return cp, fmt.Errorf("capacity provider %s: %w", rec.Name, err)
	}
	return cp, nil
}

// CapacityProviderGroup decodes the simulated Auto Scaling group of a
// capacity provider's record.
func CapacityProviderGroup(rec store.CapacityProvider) (Group, error) {
	var g Group
	if len(rec.Group) == 0 {
		return g, nil
	}
	if err := json.Unmarshal(rec.Group, &g); err != nil {
		return g, fmt.Errorf("capacity provider %s: group: %w", rec.Name, err)
	}
	return g, nil
}

// Group is ecsd's simulated Auto Scaling group behind a capacity provider
// (ecsd has no Auto Scaling API): its size limits and desired capacity,
// its instances, and what managed scaling remembers between evaluations.
// README.md, "Capacity providers", documents how it is sized.
type Group struct {
	Name             string          `json:"name"`
	MinSize          int             `json:"minSize"`
	MaxSize          int             `json:"maxSize"`
	DesiredCapacity  int             `json:"desiredCapacity"`
	Instances        []GroupInstance `json:"instances,omitempty"`
	LastScaleOutAt   time.Time       `json:"lastScaleOutAt,omitzero"`
	BelowTargetSince time.Time       `json:"belowTargetSince,omitzero"`
	Reservation      float64         `json:"capacityProviderReservation"`
	LastEvaluatedAt  time.Time       `json:"lastEvaluatedAt,omitzero"`
}

// GroupInstance is one EC2 instance of a simulated group and, once it has
// registered, its container instance (cluster and ID).
type GroupInstance struct {
	EC2InstanceID       string    `json:"ec2InstanceId"`
	AvailabilityZone    string    `json:"availabilityZone"`
	LaunchedAt          time.Time `json:"launchedAt"`
	Cluster             string    `json:"cluster,omitempty"`
	ContainerInstanceID string    `json:"containerInstanceId,omitempty"`
	// Terminating: managed draining set the instance DRAINING; it goes
	// once its tasks have stopped.
	Terminating bool `json:"terminating,omitempty"`
	// Force: terminated whatever runs on it (no managed draining).
	Force bool `json:"force,omitempty"`
}

// CapacityProviderView is a stored provider as DescribeCapacityProviders
// answers it: while a deletion is in progress ECS still answers it ACTIVE
// with updateStatus DELETE_IN_PROGRESS; once done, INACTIVE with
// DELETE_COMPLETE.
func CapacityProviderView(rec store.CapacityProvider) (types.CapacityProvider, error) {
	cp, err := CapacityProvider(rec)
	if err != nil {
		return cp, err
	}
	if cp.AutoScalingGroupProvider != nil {
		cp.AutoScalingGroupProvider.ManagedScaling = ecs.ManagedScalingWithDefaults(cp.AutoScalingGroupProvider.ManagedScaling)
	}
	return cp, nil
}

// ProviderWaits reports whether tasks of a capacity provider that no
// instance can take now wait in PROVISIONING: the provider is an Auto
// Scaling group one with managed scaling ENABLED, which scales out for
// them ("the tasks ... go to the PROVISIONING state ... until capacity
// is available" [V developer guide, managed scaling]); without managed
// scaling nothing would ever come, and the task fails as on ECS [I].
func ProviderWaits(tx store.ReadTx, scope store.Scope, provider string) (bool, error) {
	if provider == "" || ecs.IsBuiltinCapacityProvider(provider) {
		return false, nil
	}
	rec, err := tx.CapacityProvider(scope, provider)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, ecs.ServerException(err)
	}
	cp, err := CapacityProvider(rec)
	if err != nil {
		return false, ecs.ServerException(err)
	}
	asg := cp.AutoScalingGroupProvider
	return rec.Status == store.CapacityProviderActive && asg != nil && asg.ManagedScaling != nil &&
		asg.ManagedScaling.Status == types.ManagedScalingStatusEnabled, nil
}

// Simulated instances (--sim-instances, the cluster tag, and capacity
// providers' simulated Auto Scaling groups) are c5.large instances on the
// ECS-optimized AMI, registered with the figures its agent reports in a
// recorded DescribeContainerInstances (aws-cli's
// update-container-instances-state example): 2 vCPUs (2048 CPU units) and
// 3705 MiB, ports 22, 2375, 2376, 51678 and 51679 reserved. A common,
// modest size keeps resource failures reachable in tests while a few
// tasks fit.
const (
	SimInstanceType   = "c5.large"
	SimInstanceCPU    = 2048
	SimInstanceMemory = 3705
	SimDockerVersion  = "DockerVersion: 25.0.8"
	// SimZones are the zone letters simulated instances go to, so
	// instances land in distinct availability zones.
	SimZones = "abcdef"
)

// AgentReservedPorts are the TCP ports the ECS agent reserves by default
// (ECS_RESERVED_PORTS): SSH, the Docker daemon and the agent's own.
var AgentReservedPorts = []int{22, 2375, 2376, 51678, 51679}

// SimInstanceResources are a simulated instance's registered resources.
func SimInstanceResources() ecs.InstanceResources {
	return ecs.InstanceResources{CPU: SimInstanceCPU, Memory: SimInstanceMemory, Ports: append([]int(nil), AgentReservedPorts...), HasPortsUDP: true}
}
