package store

import "github.com/ecsd/ecsd/internal/ecs"

// TaskDefinitionARN returns the ARN of one revision, exactly as clients
// see it. Stores key the tags of a revision by it: RegisterTaskDefinition
// receives tags but no ARN, and the tags must still be found under the ARN
// a client later sends.
func TaskDefinitionARN(s Scope, family string, revision int) string {
	return ecs.TaskDefinitionARN(s.Region, s.Account, family, revision)
}

// ClusterARN, ServiceARN and TaskARN return the canonical (long-format)
// ARNs that stores key the tags of clusters, services and tasks by, so the
// tags are found however a client spelled the ARN (or the bare name).
func ClusterARN(s Scope, cluster string) string {
	return ecs.ClusterARN(s.Region, s.Account, cluster)
}

// ServiceARN: see ClusterARN.
func ServiceARN(s Scope, cluster, service string) string {
	return ecs.ServiceARN(s.Region, s.Account, cluster, service)
}

// TaskARN: see ClusterARN.
func TaskARN(s Scope, cluster, id string) string {
	return ecs.TaskARN(s.Region, s.Account, cluster, id)
}

// ContainerInstanceARN: see ClusterARN.
func ContainerInstanceARN(s Scope, cluster, id string) string {
	return ecs.ContainerInstanceARN(s.Region, s.Account, cluster, id)
}

// CapacityProviderARN: see ClusterARN.
func CapacityProviderARN(s Scope, name string) string {
	return ecs.CapacityProviderARN(s.Region, s.Account, name)
}
