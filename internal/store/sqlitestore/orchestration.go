package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ecsd/ecsd/internal/store"
)

var errNotImplemented = errors.New("sqlitestore: not implemented yet")

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.write(ctx, func(ctx context.Context, db dbtx) error {
		return fn(&tx{ctx: ctx, db: db})
	})
}

// View implements store.Store.
func (s *Store) View(ctx context.Context, fn func(tx store.ReadTx) error) error {
	return s.read(ctx, func(ctx context.Context, db dbtx) error {
		return fn(&tx{ctx: ctx, db: db})
	})
}

// tx is store.Tx over one of the store's transactions. The interface's
// methods take no context, so the transaction's own is kept here.
type tx struct {
	ctx context.Context
	db  dbtx
}

var _ store.Tx = (*tx)(nil)

func (t *tx) TaskDefinition(scope store.Scope, family string, revision int) (store.TaskDefinition, error) {
	return store.TaskDefinition{}, errNotImplemented
}
func (t *tx) LatestActiveTaskDefinition(scope store.Scope, family string) (store.TaskDefinition, error) {
	return store.TaskDefinition{}, errNotImplemented
}
func (t *tx) TaskDefinitionInUse(scope store.Scope, family string, revision int) (bool, error) {
	return false, errNotImplemented
}
func (t *tx) Cluster(scope store.Scope, name string) (store.Cluster, error) {
	return store.Cluster{}, errNotImplemented
}
func (t *tx) Clusters(scope store.Scope, q store.ClustersQuery) ([]store.Cluster, error) {
	return nil, errNotImplemented
}
func (t *tx) ClusterCounts(scope store.Scope, cluster string) (store.ClusterCounts, error) {
	return store.ClusterCounts{}, errNotImplemented
}
func (t *tx) Service(scope store.Scope, cluster, name string) (store.Service, error) {
	return store.Service{}, errNotImplemented
}
func (t *tx) Services(scope store.Scope, q store.ServicesQuery) ([]store.Service, error) {
	return nil, errNotImplemented
}
func (t *tx) ServicesToSchedule(after *store.Service, limit int) ([]store.Service, error) {
	return nil, errNotImplemented
}
func (t *tx) Task(scope store.Scope, cluster, id string) (store.Task, error) {
	return store.Task{}, errNotImplemented
}
func (t *tx) Tasks(scope store.Scope, q store.TasksQuery) ([]store.Task, error) {
	return nil, errNotImplemented
}
func (t *tx) TasksToSupervise(afterID string, limit int) ([]store.Task, error) {
	return nil, errNotImplemented
}
func (t *tx) StoppedTasksBefore(at time.Time, limit int) ([]store.Task, error) {
	return nil, errNotImplemented
}
func (t *tx) ServiceDeployment(scope store.Scope, arn string) (store.ServiceDeployment, error) {
	return store.ServiceDeployment{}, errNotImplemented
}
func (t *tx) ServiceDeployments(scope store.Scope, q store.ServiceDeploymentsQuery) ([]store.ServiceDeployment, error) {
	return nil, errNotImplemented
}
func (t *tx) ServiceRevision(scope store.Scope, arn string) (store.ServiceRevision, error) {
	return store.ServiceRevision{}, errNotImplemented
}
func (t *tx) Settings(scope store.Scope, principal string) ([]store.Setting, error) {
	return nil, errNotImplemented
}
func (t *tx) Attributes(scope store.Scope, cluster, targetType, name string) ([]store.Attribute, error) {
	return nil, errNotImplemented
}
func (t *tx) Tags(arn string) ([]store.Tag, error) { return nil, errNotImplemented }
func (t *tx) PutCluster(c store.Cluster) error     { return errNotImplemented }
func (t *tx) PutService(s store.Service) error     { return errNotImplemented }
func (t *tx) PutTask(task store.Task) error        { return errNotImplemented }
func (t *tx) DeleteTask(scope store.Scope, cluster, id string) error {
	return errNotImplemented
}
func (t *tx) PutServiceDeployment(d store.ServiceDeployment) error { return errNotImplemented }
func (t *tx) PutServiceRevision(r store.ServiceRevision) error     { return errNotImplemented }
func (t *tx) PutSetting(s store.Setting) error                     { return errNotImplemented }
func (t *tx) DeleteSetting(scope store.Scope, principal, name string) error {
	return errNotImplemented
}
func (t *tx) PutAttribute(a store.Attribute) error { return errNotImplemented }
func (t *tx) DeleteAttribute(scope store.Scope, cluster, targetID, name string) error {
	return errNotImplemented
}
func (t *tx) PutTags(scope store.Scope, arn string, tags []store.Tag) error {
	return errNotImplemented
}
func (t *tx) DeleteTags(arn string) error { return errNotImplemented }

var _ = fmt.Errorf
