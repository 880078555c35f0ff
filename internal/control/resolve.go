package control

import (
	"errors"
	"time"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

// Notification topics for NotifyFunc.
const (
	TopicTask    = "task"
	TopicService = "service"
)

func (c *Control) notify(topic, key string) {
	if c.NotifyFunc != nil {
		c.NotifyFunc(topic, key)
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
// ARN; "" is the default cluster. A missing or INACTIVE cluster is
// ClusterNotFoundException, as in ECS.
func (c *Control) readCluster(tx store.ReadTx, who Caller, ident string) (store.Cluster, error) {
	name, err := clusterName(who, ident)
	if err != nil {
		return store.Cluster{}, err
	}
	rec, err := tx.Cluster(who.Scope, name)
	if errors.Is(err, store.ErrNotFound) || err == nil && rec.Status != store.ClusterActive {
		return store.Cluster{}, ecs.ClusterNotFoundException()
	}
	if err != nil {
		return store.Cluster{}, ecs.ServerException(err)
	}
	return rec, nil
}

// useCluster is readCluster for operations that place work on a cluster:
// when the request names no cluster and the default cluster does not exist
// yet, it is created, as ECS does on first use.
func (c *Control) useCluster(tx store.Tx, who Caller, ident string) (store.Cluster, error) {
	rec, err := c.readCluster(tx, who, ident)
	var e *ecs.Error
	if ident != "" || !errors.As(err, &e) || e.Code != "ClusterNotFoundException" {
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
	if !ok || ref.IsARN && (ref.Account != who.Account || ref.Region != who.Region) {
		return "", ecs.ClusterNotFoundException()
	}
	return ref.Name, nil
}
