package control

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

// Nodes of the kubernetes runtime as container instances. Each node the
// runtime reports is an instance of every ACTIVE cluster (or of
// ManagedInstances.NodeClusters), registered by ecsd as the ECS agent
// would register an EC2 instance: its allocatable CPU and memory as the
// registered resources, its labels as custom attributes. A node that is
// not Ready is an instance whose agent disconnected (placement refuses
// it); a node that is gone is an instance whose EC2 instance terminated:
// deregistered, its tasks stopped with ECS's reason.

// NodeInstance is a runtime node as a container instance.
type NodeInstance struct {
	// Name is the node's name; the ec2InstanceId derives from it.
	Name  string
	Ready bool
	// CPU units (1024 a core) and MiB that tasks may use.
	CPU, Memory int
	// Architecture is x86_64 or arm64, OSType linux or windows.
	Architecture, OSType string
	// Zone and InstanceType when the node's labels name them.
	Zone, InstanceType string
	PrivateIP          string
	// KubeletVersion is reported as the instance's Docker version.
	KubeletVersion string
	// Labels are the node's labels; NodeAttributes makes them attributes.
	Labels map[string]string
}

// NodeInstanceID is a node's ec2InstanceId: stable for a node name, so a
// restarted ecsd finds the instances it registered.
func NodeInstanceID(name string) string {
	h := sha256.Sum256([]byte("ecsd-kube-node/" + name))
	return "i-" + hex.EncodeToString(h[:])[:17]
}

// NodeAttributes are a node's labels as container instance attributes:
// names sanitised to ECS's rules (characters other than letters, digits,
// '-', '_', '/', '\' and '.' become '_'; at most 128), values as they are
// (every valid label value is a valid attribute value), an empty value as
// an attribute without one. Labels in ECS's reserved namespaces (ecs.*,
// com.amazonaws.ecs.*) are left out: the instance's own attributes carry
// those names.
func NodeAttributes(labels map[string]string) []types.Attribute {
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	seen := map[string]bool{}
	var out []types.Attribute
	for _, k := range names {
		name := SanitizeAttributeName(k)
		if name == "" || seen[name] || ecs.IsBuiltinAttribute(name) {
			continue
		}
		a := types.Attribute{Name: ptr(name)}
		if v := labels[k]; v != "" {
			a.Value = ptr(v)
		}
		if ecs.ValidateAttribute(a) != nil {
			continue
		}
		seen[name] = true
		out = append(out, a)
	}
	return out
}

// SanitizeAttributeName maps a name onto ECS's attribute name rules.
func SanitizeAttributeName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_/\\.", c) >= 0) {
			b[i] = '_'
		}
	}
	if len(b) > 128 {
		b = b[:128]
	}
	return string(b)
}

func (c *Control) nodesIn(cluster string) bool {
	m := c.Instances
	return m.NodesFunc != nil && (len(m.NodeClusters) == 0 || slices.Contains(m.NodeClusters, cluster))
}

// nodeSync is what one cluster's node sync changed.
type nodeSync struct {
	changed bool     // an instance was registered, changed or deregistered
	stopped []string // ARNs of tasks stopped because their node went away
}

// provisionNodes makes a cluster's node instances match nodes: registers
// new nodes, updates changed ones (resources, Ready, labels; an instance's
// status, ACTIVE or DRAINING, is the user's and stays), and deregisters
// the instances of nodes that are gone. A cluster that is not to have
// nodes (NodeClusters, or no kubernetes runtime now) has its node
// instances' agents disconnected, as the Docker host's are.
func (c *Control) provisionNodes(tx store.Tx, scope store.Scope, cluster string, nodes []NodeInstance) (nodeSync, error) {
	var out nodeSync
	existing, err := tx.ContainerInstances(scope, store.ContainerInstancesQuery{Cluster: cluster, Statuses: []string{store.InstanceActive, store.InstanceDraining}})
	if err != nil {
		return out, ecs.ServerException(err)
	}
	byID := map[string]store.ContainerInstance{}
	for _, rec := range existing {
		if rec.Source == store.InstanceSourceKubeNode {
			byID[rec.EC2InstanceID] = rec
		}
	}
	if !c.nodesIn(cluster) {
		for _, rec := range byID {
			ci, err := records.ContainerInstance(rec)
			if err != nil {
				return out, ecs.ServerException(err)
			}
			if ci.AgentConnected {
				if err := c.disconnectAgent(tx, rec); err != nil {
					return out, err
				}
				out.changed = true
			}
		}
		return out, nil
	}
	for _, n := range nodes {
		id := NodeInstanceID(n.Name)
		cur, ok := byID[id]
		delete(byID, id)
		var curp *store.ContainerInstance
		if ok {
			same, err := nodeUnchanged(tx, cur, n, scope.Region)
			if err != nil || same {
				if err != nil {
					return out, err
				}
				continue
			}
			curp = &cur
		}
		if err := c.registerNode(tx, scope, cluster, n, curp); err != nil {
			return out, err
		}
		out.changed = true
	}
	// What is left are instances of nodes that are gone: the EC2
	// instance terminated.
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		rec := byID[id]
		placed, err := tx.PlacedTasks(scope, cluster, rec.ID)
		if err != nil {
			return out, ecs.ServerException(err)
		}
		now := c.now()
		for _, p := range placed {
			trec, err := tx.Task(scope, cluster, p.ID)
			if err != nil {
				return out, ecs.ServerException(err)
			}
			t, err := records.Task(trec)
			if err != nil {
				return out, ecs.ServerException(err)
			}
			next := ecs.RequestStop(t, types.TaskStopCodeTerminationNotice, "Host EC2 (instance "+rec.EC2InstanceID+") terminated.", now)
			nrec, err := records.FromTask(scope, next)
			if err != nil {
				return out, ecs.ServerException(err)
			}
			if err := tx.PutTask(nrec); err != nil {
				return out, ecs.ServerException(err)
			}
			out.stopped = append(out.stopped, deref(next.TaskArn))
		}
		if _, err := c.setInstanceStatus(tx, rec, store.InstanceInactive); err != nil {
			return out, err
		}
		out.changed = true
	}
	return out, nil
}

// nodeIdentity is a node's instance identity document.
func nodeIdentity(n NodeInstance, region string) ecs.InstanceIdentity {
	zone := n.Zone
	if zone == "" {
		zone = region + "a"
	}
	itype := n.InstanceType
	if itype == "" {
		itype = "kubernetes-node"
	}
	arch := n.Architecture
	switch arch {
	case "amd64", "":
		arch = "x86_64"
	case "aarch64":
		arch = "arm64"
	}
	return ecs.InstanceIdentity{
		InstanceID: NodeInstanceID(n.Name), InstanceType: itype, AvailabilityZone: zone,
		Architecture: arch, Region: region, PrivateIP: n.PrivateIP,
	}
}

func nodeResources(n NodeInstance) ecs.InstanceResources {
	return ecs.InstanceResources{CPU: n.CPU, Memory: n.Memory, Ports: slices.Clone(AgentReservedPorts), HasPortsUDP: true}
}

// nodeAttributes are every attribute a node's instance carries.
func nodeAttributes(n NodeInstance, region string) []types.Attribute {
	osType, family := n.OSType, "LINUX"
	if osType == "" {
		osType = "linux"
	}
	if osType == "windows" {
		family = "WINDOWS_SERVER_2022_FULL"
	}
	attrs := append(ecs.IdentityAttributes(nodeIdentity(n, region)), ecs.AgentAttributes(osType, family)...)
	return append(attrs, NodeAttributes(n.Labels)...)
}

// nodeUnchanged reports whether an instance already shows the node as it
// is: the same Ready, resources and attributes. Node status heartbeats
// then write nothing.
func nodeUnchanged(tx store.ReadTx, rec store.ContainerInstance, n NodeInstance, region string) (bool, error) {
	ci, err := records.ContainerInstance(rec)
	if err != nil {
		return false, ecs.ServerException(err)
	}
	if ci.AgentConnected != n.Ready {
		return false, nil
	}
	res := nodeResources(n).Wire()
	if len(res) != len(ci.RegisteredResources) {
		return false, nil
	}
	for i := range res {
		if deref(res[i].Name) != deref(ci.RegisteredResources[i].Name) || res[i].IntegerValue != ci.RegisteredResources[i].IntegerValue {
			return false, nil
		}
	}
	attrs, err := tx.TargetAttributes(rec.Scope, rec.Cluster, rec.ID)
	if err != nil {
		return false, ecs.ServerException(err)
	}
	want := nodeAttributes(n, region)
	if len(attrs) != len(want) {
		return false, nil
	}
	have := map[string]string{}
	for _, a := range attrs {
		have[a.Name] = a.Value
	}
	for _, a := range want {
		if v, ok := have[deref(a.Name)]; !ok || v != deref(a.Value) {
			return false, nil
		}
	}
	return true, nil
}

// registerNode registers a node's instance, or updates it given its
// record: resources, agentConnected from Ready, and the attributes, whose
// custom ones are the node's labels (a label removed from the node is an
// attribute removed from the instance).
func (c *Control) registerNode(tx store.Tx, scope store.Scope, cluster string, n NodeInstance, cur *store.ContainerInstance) error {
	id := nodeIdentity(n, scope.Region)
	version := n.KubeletVersion
	if version == "" {
		version = "unknown"
	}
	vi := &types.VersionInfo{AgentVersion: ptr(ecs.LatestAgentVersion), AgentHash: ptr(ecs.LatestAgentHash), DockerVersion: ptr("DockerVersion: kubelet " + version)}
	attrs := nodeAttributes(n, scope.Region)
	var ci types.ContainerInstance
	var rec store.ContainerInstance
	if cur != nil {
		var err error
		if ci, err = records.ContainerInstance(*cur); err != nil {
			return ecs.ServerException(err)
		}
		ci = ecs.AgentUpdateView(ci, cur.AgentUpdateRequestedAt, c.now())
		ci.RegisteredResources, ci.VersionInfo, ci.AgentConnected = nodeResources(n).Wire(), vi, n.Ready
		ci.Version++
		if rec, err = c.putInstance(tx, scope, ci, store.InstanceSourceKubeNode, cur.AgentUpdateRequestedAt); err != nil {
			return err
		}
		old, err := tx.TargetAttributes(scope, cluster, rec.ID)
		if err != nil {
			return ecs.ServerException(err)
		}
		keep := map[string]bool{}
		for _, a := range attrs {
			keep[deref(a.Name)] = true
		}
		for _, a := range old {
			if !keep[a.Name] {
				if err := tx.DeleteAttribute(scope, cluster, rec.ID, a.Name); err != nil {
					return ecs.ServerException(err)
				}
			}
		}
	} else {
		ci = ecs.NewContainerInstance(ecs.ContainerInstanceParams{
			Region: scope.Region, Account: scope.Account, Cluster: cluster, ID: ecs.NewContainerInstanceID(),
			Identity: id, Resources: nodeResources(n), VersionInfo: vi, Now: c.now(),
		})
		ci.AgentConnected = n.Ready
		var err error
		if rec, err = c.putInstance(tx, scope, ci, store.InstanceSourceKubeNode, time.Time{}); err != nil {
			return err
		}
	}
	for _, a := range attrs {
		if err := putAttribute(tx, scope, cluster, rec.ID, a); err != nil {
			return err
		}
	}
	return nil
}

// SyncNodeInstances makes every ACTIVE cluster's node instances match the
// runtime's nodes now (ManagedInstances.NodesFunc), and tells the service
// scheduler of clusters whose capacity changed. The kubernetes runtime
// calls it whenever a node appears, goes or changes.
func (c *Control) SyncNodeInstances(ctx context.Context) error {
	if c.Instances.NodesFunc == nil {
		return nil
	}
	nodes := c.Instances.NodesFunc()
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
			var res nodeSync
			err := c.Store.Update(ctx, func(tx store.Tx) error {
				var err error
				res, err = c.provisionNodes(tx, cl.Scope, cl.Name, nodes)
				return err
			})
			if err != nil {
				return err
			}
			for _, a := range res.stopped {
				c.notify(TopicTask, a)
			}
			if res.changed {
				c.kickClusterServices(ctx, Caller{Scope: cl.Scope}, cl.Name)
			}
		}
		if len(page) < 100 {
			return nil
		}
		after = &page[len(page)-1]
	}
}

// NodeDraining reports, per node name, whether any cluster's instance of
// the node is DRAINING: the kubernetes runtime cordons exactly those
// nodes.
func (c *Control) NodeDraining(ctx context.Context) (map[string]bool, error) {
	if c.Instances.NodesFunc == nil {
		return nil, nil
	}
	names := map[string]string{}
	out := map[string]bool{}
	for _, n := range c.Instances.NodesFunc() {
		names[NodeInstanceID(n.Name)] = n.Name
		out[n.Name] = false
	}
	var after *store.Cluster
	for {
		var page []store.Cluster
		err := c.Store.View(ctx, func(tx store.ReadTx) error {
			var err error
			if page, err = tx.AllClusters(store.ClusterActive, after, 100); err != nil {
				return err
			}
			for _, cl := range page {
				recs, err := tx.ContainerInstances(cl.Scope, store.ContainerInstancesQuery{Cluster: cl.Name, Statuses: []string{store.InstanceDraining}})
				if err != nil {
					return err
				}
				for _, r := range recs {
					if name, ok := names[r.EC2InstanceID]; ok && r.Source == store.InstanceSourceKubeNode {
						out[name] = true
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(page) < 100 {
			return out, nil
		}
		after = &page[len(page)-1]
	}
}

// NodeOfInstance is the node a container instance ARN stands for ("" when
// it is not a node's instance, or the node is gone): where the kubernetes
// runtime runs a task the placement engine put on that instance.
func (c *Control) NodeOfInstance(ctx context.Context, instanceARN string) (string, error) {
	if c.Instances.NodesFunc == nil || instanceARN == "" {
		return "", nil
	}
	ref, ok := ecs.ParseResourceRef("container-instance", instanceARN)
	if !ok || !ref.IsARN || ref.Cluster == "" {
		return "", nil
	}
	var rec store.ContainerInstance
	err := c.Store.View(ctx, func(tx store.ReadTx) error {
		var err error
		rec, err = tx.ContainerInstance(store.Scope{Account: ref.Account, Region: ref.Region}, ref.Cluster, ref.Name)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil || rec.Source != store.InstanceSourceKubeNode {
		return "", err
	}
	for _, n := range c.Instances.NodesFunc() {
		if NodeInstanceID(n.Name) == rec.EC2InstanceID {
			return n.Name, nil
		}
	}
	return "", nil
}
