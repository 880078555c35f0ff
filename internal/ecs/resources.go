package ecs

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// arnPrefix is "arn:PARTITION:ecs:REGION:ACCOUNT:".
func arnPrefix(region, account string) string {
	return "arn:" + Partition(region) + ":ecs:" + region + ":" + account + ":"
}

// ClusterARN returns the ARN of a cluster.
func ClusterARN(region, account, cluster string) string {
	return arnPrefix(region, account) + "cluster/" + cluster
}

// ServiceARN returns a service ARN in the long format (cluster in the
// ARN), which every account has used since 2021.
func ServiceARN(region, account, cluster, service string) string {
	return arnPrefix(region, account) + "service/" + cluster + "/" + service
}

// TaskARN returns a task ARN in the long format.
func TaskARN(region, account, cluster, id string) string {
	return arnPrefix(region, account) + "task/" + cluster + "/" + id
}

// ContainerARN returns the ARN of one container of a task.
func ContainerARN(region, account, cluster, taskID, containerID string) string {
	return arnPrefix(region, account) + "container/" + cluster + "/" + taskID + "/" + containerID
}

// CapacityProviderARN returns the ARN of a capacity provider.
func CapacityProviderARN(region, account, name string) string {
	return arnPrefix(region, account) + "capacity-provider/" + name
}

// ServiceDeploymentARN returns the ARN of a service deployment.
func ServiceDeploymentARN(region, account, cluster, service, id string) string {
	return arnPrefix(region, account) + "service-deployment/" + cluster + "/" + service + "/" + id
}

// ServiceRevisionARN returns the ARN of a service revision.
func ServiceRevisionARN(region, account, cluster, service, id string) string {
	return arnPrefix(region, account) + "service-revision/" + cluster + "/" + service + "/" + id
}

// DefaultCluster is the cluster ECS uses when a request names none, and
// creates on first use.
const DefaultCluster = "default"

// ResourceRef is a parsed ECS resource identifier: a bare name or ID, or an
// ARN of the expected resource type.
type ResourceRef struct {
	// Cluster is the cluster named in the ARN ("" for a bare name, and for
	// short-format service ARNs, which carry none).
	Cluster string
	// Name is the cluster name, service name or task ID.
	Name            string
	IsARN           bool
	Region, Account string
}

// ParseResourceRef parses an identifier of resource type kind ("cluster",
// "service" or "task"). ok is false for an ARN that is not an ECS ARN of
// that type or whose resource part does not have the expected shape.
func ParseResourceRef(kind, s string) (ref ResourceRef, ok bool) {
	if !strings.HasPrefix(s, "arn:") {
		return ResourceRef{Name: s}, s != ""
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[2] != "ecs" {
		return ResourceRef{}, false
	}
	rest, found := strings.CutPrefix(parts[5], kind+"/")
	if !found || rest == "" {
		return ResourceRef{}, false
	}
	ref = ResourceRef{IsARN: true, Region: parts[3], Account: parts[4]}
	segs := strings.Split(rest, "/")
	switch {
	case kind == "cluster" && len(segs) == 1:
		ref.Name = segs[0]
	case kind != "cluster" && len(segs) == 1: // short format: service/NAME, task/ID
		ref.Name = segs[0]
	case kind != "cluster" && len(segs) == 2:
		ref.Cluster, ref.Name = segs[0], segs[1]
	default:
		return ResourceRef{}, false
	}
	return ref, ref.Name != ""
}

// ValidClusterName reports whether s is a cluster name ECS accepts: up to
// 255 letters, numbers, underscores and hyphens.
func ValidClusterName(s string) bool { return ValidFamily(s) }

// NewTaskID returns a task ID as ECS makes them: 32 lowercase hex digits.
func NewTaskID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NewUUID returns a random RFC 4122 version 4 UUID, the form of container
// IDs in container ARNs and of attachment IDs.
func NewUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
