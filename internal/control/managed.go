package control

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

// Container instances ecsd registers by itself, so EC2 tasks have
// somewhere to run without an ECS agent: simulated instances
// (--sim-instances, or the cluster tag ecsd:sim-instances) and, with the
// Docker runtime, the Docker host. README.md, "Container instances",
// documents both.

// TagSimInstances, on CreateCluster, gives the cluster that many
// simulated instances whatever --sim-instances says.
const TagSimInstances = "ecsd:sim-instances"

// MaxSimInstances bounds the simulated instances of one cluster.
const MaxSimInstances = 100

// A simulated instance: see records.SimInstanceType.
const (
	SimInstanceType   = records.SimInstanceType
	SimInstanceCPU    = records.SimInstanceCPU
	SimInstanceMemory = records.SimInstanceMemory
	SimDockerVersion  = records.SimDockerVersion
)

// AgentReservedPorts are the TCP ports the ECS agent reserves by default.
var AgentReservedPorts = records.AgentReservedPorts

// simZones are the zone letters simulated instances go to in turn, so
// instances land in distinct availability zones.
const simZones = records.SimZones

// ManagedInstances configures the instances ecsd registers itself.
type ManagedInstances struct {
	// Simulated is how many simulated instances every cluster gets.
	Simulated int
	// DockerHost, when set, is registered in every cluster, or only in
	// DockerHostClusters when that names any.
	DockerHost         *HostInstance
	DockerHostClusters []string
	// NodesFunc, when set, reports the kubernetes runtime's nodes now;
	// each is a container instance of every cluster, or only of
	// NodeClusters when that names any (nodes.go).
	NodesFunc    func() []NodeInstance
	NodeClusters []string
}

// HostInstance describes the Docker host as a container instance.
type HostInstance struct {
	EngineID      string // stable per Docker Engine: the ec2InstanceId derives from it
	Architecture  string // x86_64 or arm64
	OSType        string // linux or windows
	CPU, Memory   int    // CPU units (1024 a core) and MiB
	Ports         []int  // TCP ports taken on the host
	PortsUDP      []int
	DockerVersion string
}

// simCount is how many simulated instances a cluster with tags gets.
func (c *Control) simCount(tags []types.Tag) int {
	n := c.Instances.Simulated
	for _, t := range tags {
		if deref(t.Key) == TagSimInstances {
			if v, err := strconv.Atoi(strings.TrimSpace(deref(t.Value))); err == nil && v >= 0 {
				n = v
			}
		}
	}
	return min(n, MaxSimInstances)
}

// validateManagedTags refuses a sim-instances tag ecsd cannot honour.
func validateManagedTags(tags []types.Tag) error {
	for _, t := range tags {
		if deref(t.Key) != TagSimInstances {
			continue
		}
		v, err := strconv.Atoi(strings.TrimSpace(deref(t.Value)))
		if err != nil || v < 0 || v > MaxSimInstances {
			return ecs.InvalidParameterException("The tag %s must be a whole number of simulated container instances from 0 to %d.", TagSimInstances, MaxSimInstances)
		}
	}
	return nil
}

func (c *Control) dockerHostIn(cluster string) bool {
	m := c.Instances
	return m.DockerHost != nil && (len(m.DockerHostClusters) == 0 || slices.Contains(m.DockerHostClusters, cluster))
}

// provisionInstances gives an ACTIVE cluster the instances ecsd manages:
// simulated ones up to its count, and the Docker host (registered again
// with its current resources when it already is).
func (c *Control) provisionInstances(tx store.Tx, scope store.Scope, cluster string, tags []types.Tag) error {
	existing, err := tx.ContainerInstances(scope, store.ContainerInstancesQuery{Cluster: cluster, Statuses: []string{store.InstanceActive, store.InstanceDraining}})
	if err != nil {
		return ecs.ServerException(err)
	}
	sims := 0
	var host *store.ContainerInstance
	for i, rec := range existing {
		switch rec.Source {
		case store.InstanceSourceSimulated:
			sims++
		case store.InstanceSourceDockerHost:
			if h := c.Instances.DockerHost; h != nil && rec.EC2InstanceID == hostInstanceID(h.EngineID) {
				host = &existing[i]
			} else if err := c.disconnectAgent(tx, rec); err != nil {
				return err // another engine's host, or no Docker runtime now
			}
		}
	}
	for i := sims; i < c.simCount(tags); i++ {
		if err := c.registerManaged(tx, scope, cluster, store.InstanceSourceSimulated, simulatedIdentity(scope.Region, i), simResources(), nil,
			&types.VersionInfo{AgentVersion: ptr(ecs.LatestAgentVersion), AgentHash: ptr(ecs.LatestAgentHash), DockerVersion: ptr(SimDockerVersion)},
			ecs.AgentAttributes("linux", "LINUX")); err != nil {
			return err
		}
	}
	var nodes []NodeInstance
	if c.Instances.NodesFunc != nil {
		nodes = c.Instances.NodesFunc()
	}
	// Tasks of nodes that went away while ecsd was down stop here; the
	// supervisor's next pass acts on them.
	if _, err := c.provisionNodes(tx, scope, cluster, nodes); err != nil {
		return err
	}
	if !c.dockerHostIn(cluster) {
		return nil
	}
	h := c.Instances.DockerHost
	res := ecs.InstanceResources{CPU: h.CPU, Memory: h.Memory, Ports: h.Ports, PortsUDP: h.PortsUDP, HasPortsUDP: true}
	vi := &types.VersionInfo{AgentVersion: ptr(ecs.LatestAgentVersion), AgentHash: ptr(ecs.LatestAgentHash), DockerVersion: ptr("DockerVersion: " + h.DockerVersion)}
	osType, family := h.OSType, "LINUX"
	if osType == "" {
		osType = "linux"
	}
	if osType == "windows" {
		family = "WINDOWS_SERVER_2022_FULL"
	}
	id := ecs.InstanceIdentity{
		InstanceID: hostInstanceID(h.EngineID), InstanceType: "docker-host", AvailabilityZone: scope.Region + "a",
		Architecture: h.Architecture, Region: scope.Region,
	}
	return c.registerManaged(tx, scope, cluster, store.InstanceSourceDockerHost, id, res, host, vi, ecs.AgentAttributes(osType, family))
}

// registerManaged registers (or, given its record, re-registers) an
// instance ecsd manages.
func (c *Control) registerManaged(tx store.Tx, scope store.Scope, cluster, source string, id ecs.InstanceIdentity, res ecs.InstanceResources, cur *store.ContainerInstance, vi *types.VersionInfo, attrs []types.Attribute) error {
	var ci types.ContainerInstance
	var updateAt time.Time
	if cur != nil {
		var err error
		if ci, err = records.ContainerInstance(*cur); err != nil {
			return ecs.ServerException(err)
		}
		ci = ecs.AgentUpdateView(ci, cur.AgentUpdateRequestedAt, c.now())
		ci.RegisteredResources, ci.VersionInfo, ci.AgentConnected = res.Wire(), vi, true
		ci.Version++
		updateAt = cur.AgentUpdateRequestedAt
	} else {
		ci = ecs.NewContainerInstance(ecs.ContainerInstanceParams{
			Region: scope.Region, Account: scope.Account, Cluster: cluster, ID: ecs.NewContainerInstanceID(),
			Identity: id, Resources: res, VersionInfo: vi, Now: c.now(),
		})
	}
	rec, err := c.putInstance(tx, scope, ci, source, updateAt)
	if err != nil {
		return err
	}
	for _, a := range append(ecs.IdentityAttributes(id), attrs...) {
		if err := putAttribute(tx, scope, cluster, rec.ID, a); err != nil {
			return err
		}
	}
	return nil
}

// disconnectAgent marks an instance whose agent is gone (the Docker host
// of a runtime ecsd no longer uses): placement refuses it with AGENT, as
// ECS refuses an instance whose agent disconnected.
func (c *Control) disconnectAgent(tx store.Tx, rec store.ContainerInstance) error {
	ci, err := records.ContainerInstance(rec)
	if err != nil {
		return ecs.ServerException(err)
	}
	if !ci.AgentConnected {
		return nil
	}
	ci.AgentConnected = false
	ci.Version++
	_, err = c.putInstance(tx, rec.Scope, ci, rec.Source, rec.AgentUpdateRequestedAt)
	return err
}

func simResources() ecs.InstanceResources {
	return ecs.InstanceResources{CPU: SimInstanceCPU, Memory: SimInstanceMemory, Ports: slices.Clone(AgentReservedPorts), HasPortsUDP: true}
}

// simulatedIdentity is the identity document of the i-th simulated
// instance: a fresh EC2 instance ID and AMI, and zone i of the region.
func simulatedIdentity(region string, i int) ecs.InstanceIdentity {
	return ecs.InstanceIdentity{
		InstanceID: "i-" + randomHex(17), ImageID: "ami-" + randomHex(17), InstanceType: SimInstanceType,
		AvailabilityZone: region + string(simZones[i%len(simZones)]), Architecture: "x86_64", Region: region,
		PrivateIP: "10.0." + strconv.Itoa(i/250) + "." + strconv.Itoa(10+i%250),
	}
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// hostInstanceID is the Docker host's ec2InstanceId: stable for one
// Docker Engine across restarts.
func hostInstanceID(engineID string) string {
	h := sha256.Sum256([]byte("ecsd-docker-host/" + engineID))
	return "i-" + hex.EncodeToString(h[:])[:17]
}

// EnsureManagedInstances gives every ACTIVE cluster, in every account and
// region, the instances ecsd manages: at start-up, after the flags may
// have changed, and with the Docker host's current resources.
func (c *Control) EnsureManagedInstances(ctx context.Context) error {
	var after *store.Cluster
	for {
		var page []store.Cluster
		if err := c.Store.View(ctx, func(tx store.ReadTx) error {
			var err error
			page, err = tx.AllClusters(store.ClusterActive, after, 100)
			return err
		}); err != nil {
			return err
		}
		for _, cl := range page {
			err := c.Store.Update(ctx, func(tx store.Tx) error {
				tags, err := tx.Tags(store.ClusterARN(cl.Scope, cl.Name))
				if err != nil {
					return err
				}
				return c.provisionInstances(tx, cl.Scope, cl.Name, records.Tags(tags))
			})
			if err != nil {
				return err
			}
		}
		if len(page) < 100 {
			return nil
		}
		after = &page[len(page)-1]
	}
}
