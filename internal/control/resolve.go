package control

import (
	"errors"
	"time"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/notify"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

// Notifier carries a use-case's change notice to the loops that act on
// it: a topic and the ARN of what changed (notify.Hub in ecsd).
type Notifier interface {
	Notify(topic notify.Topic, key string)
}

// The topics use-cases notify, by the names the use-cases have long used.
const (
	// TopicTask's key is a task's ARN: a task was created or asked to stop.
	TopicTask = notify.Task
	// TopicService's key is a service's ARN.
	TopicService = notify.Service
	// TopicCapacityProvider's key is a capacity provider's ARN.
	TopicCapacityProvider = notify.CapacityProvider
	// TopicInstance's key is a cluster whose container instances' status
	// changed (UpdateContainerInstancesState).
	TopicInstance = notify.Instance
)

func (c *Control) notify(topic notify.Topic, key string) {
	if c.Notifier != nil {
		c.Notifier.Notify(topic, key)
	}
}

// MaxInactiveGrace is the longest consistency window AWS documents for
// deregistration ("up to a 10-minute window").
const MaxInactiveGrace = 10 * time.Minute

// TaskDefinitionUse says how an operation that starts tasks or deploys a
// revision words its refusals: ECS answers RunTask and UpdateService
// differently for the same INACTIVE revision (see docs/compat.md).
type TaskDefinitionUse struct {
	// Inactive is returned for an INACTIVE or DELETE_IN_PROGRESS revision
	// outside the grace window.
	Inactive *ecs.Error
	// NotFound is returned for an identifier that names no revision (or a
	// family with no ACTIVE revision).
	NotFound *ecs.Error
}

// usableTaskDefinition resolves ident inside tx for an operation that
// starts tasks from it or deploys it. A bare family means its latest ACTIVE
// revision. A revision that is no longer ACTIVE is refused with
// use.Inactive unless it was deregistered less than InactiveGrace ago.
func (c *Control) usableTaskDefinition(tx store.ReadTx, who Caller, ident string, use TaskDefinitionUse) (store.TaskDefinition, error) {
	ref, err := ecs.ParseTaskDefinitionRef(ident)
	var revErr *ecs.RevisionError
	if errors.As(err, &revErr) {
		return store.TaskDefinition{}, ecs.ClientException("%s", revErr.Error())
	}
	if !ecs.ValidFamily(ref.Family) || !inScope(ref, who.Scope) {
		return store.TaskDefinition{}, use.NotFound
	}
	var rec store.TaskDefinition
	if ref.HasRevision {
		rec, err = tx.TaskDefinition(who.Scope, ref.Family, ref.Revision)
	} else {
		rec, err = tx.LatestActiveTaskDefinition(who.Scope, ref.Family)
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.TaskDefinition{}, use.NotFound
	}
	if err != nil {
		return store.TaskDefinition{}, ecs.ServerException(err)
	}
	if rec.Status != store.StatusActive && !c.withinInactiveGrace(rec) {
		return store.TaskDefinition{}, use.Inactive
	}
	return rec, nil
}

// withinInactiveGrace reports whether a deregistered revision is still in
// the configured consistency window.
func (c *Control) withinInactiveGrace(rec store.TaskDefinition) bool {
	if c.InactiveGrace <= 0 || rec.DeregisteredAt.IsZero() {
		return false
	}
	return c.now().Sub(rec.DeregisteredAt) < c.InactiveGrace
}

// readCluster resolves the cluster a request names: a name or a cluster
// ARN; "" is the default cluster. A missing cluster is
// ClusterNotFoundException "Cluster not found."; a deleted (INACTIVE) one
// the same type with "The referenced cluster was inactive.", as ECS
// answers both.
func readCluster(tx store.ReadTx, who Caller, ident string) (store.Cluster, error) {
	name, err := clusterName(who, ident)
	if err != nil {
		return store.Cluster{}, err
	}
	rec, err := tx.Cluster(who.Scope, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Cluster{}, ecs.ClusterNotFoundException()
	case err != nil:
		return store.Cluster{}, ecs.ServerException(err)
	case rec.Status != store.ClusterActive:
		return store.Cluster{}, ecs.ClusterInactiveException()
	}
	return rec, nil
}

// describeCluster is readCluster for DescribeServices, DescribeTasks and
// DescribeContainerInstances: a deleted (INACTIVE) cluster is still
// looked in, so what it held answers as itself (an INACTIVE service, a
// STOPPED task) and the rest as MISSING failures. The Terraform AWS
// provider's destroy checks, which pass against AWS, accept only those
// answers after the cluster is gone (docs/compat.md); an unknown cluster
// stays ClusterNotFoundException.
func describeCluster(tx store.ReadTx, who Caller, ident string) (store.Cluster, error) {
	rec, err := readCluster(tx, who, ident)
	var e *ecs.Error
	if err != nil && errors.As(err, &e) && e.Message == ecs.ClusterInactiveException().Message {
		name, nerr := clusterName(who, ident)
		if nerr != nil {
			return store.Cluster{}, nerr
		}
		if rec, err = tx.Cluster(who.Scope, name); err != nil {
			return store.Cluster{}, ecs.ServerException(err)
		}
	}
	return rec, err
}

// useCluster is readCluster for operations that place work on a cluster
// (RunTask, CreateService). The ECS API never creates the default cluster
// on its own (the console and the container agent call CreateCluster for
// it), so neither does ecsd unless CreateDefaultCluster is set: then a
// request that names no cluster creates "default" when it does not exist.
func (c *Control) useCluster(tx store.Tx, who Caller, ident string) (store.Cluster, error) {
	rec, err := readCluster(tx, who, ident)
	if ident != "" || !c.CreateDefaultCluster {
		return rec, err
	}
	var e *ecs.Error
	if !errors.As(err, &e) || e.Code != "ClusterNotFoundException" {
		return rec, err
	}
	cl := ecs.NewCluster(who.Region, who.Account, ecs.DefaultCluster)
	rec, err = records.FromCluster(who.Scope, cl)
	if err != nil {
		return store.Cluster{}, ecs.ServerException(err)
	}
	if err := tx.PutCluster(rec); err != nil {
		return store.Cluster{}, ecs.ServerException(err)
	}
	if err := c.provisionInstances(tx, who.Scope, rec.Name, nil); err != nil {
		return store.Cluster{}, err
	}
	return rec, nil
}

// clusterName extracts the cluster name from a name or ARN. ECS answers
// an ARN of another account or region, or of another resource type, as a
// cluster it cannot find.
func clusterName(who Caller, ident string) (string, error) {
	if ident == "" {
		return ecs.DefaultCluster, nil
	}
	ref, ok := ecs.ParseResourceRef("cluster", ident)
	if !ok || ref.IsARN && (!ecs.OwnAccount(ref.Account, who.Account) || ref.Region != who.Region) {
		return "", ecs.ClusterNotFoundException()
	}
	return ref.Name, nil
}
