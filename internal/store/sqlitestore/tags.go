package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ecsd/ecsd/internal/store"
)

// ListTags implements store.Store.
func (s *Store) ListTags(ctx context.Context, r store.Resource) ([]store.Tag, error) {
	var tags []store.Tag
	err := s.read(ctx, func(ctx context.Context, tx dbtx) error {
		arn, err := tagTarget(ctx, tx, r)
		if err != nil {
			return err
		}
		tags, err = queryAll(ctx, tx, `SELECT key, value FROM tags WHERE arn = ? ORDER BY key`, []any{arn},
			func(rows *sql.Rows) (t store.Tag, err error) {
				return t, rows.Scan(&t.Key, &t.Value)
			})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list tags: %w", err)
	}
	return tags, nil
}

// TagResource implements store.Store.
func (s *Store) TagResource(ctx context.Context, r store.Resource, tags []store.Tag, limit int) error {
	err := s.write(ctx, func(ctx context.Context, tx dbtx) error {
		arn, err := tagTarget(ctx, tx, r)
		if err != nil {
			return err
		}
		if err := putTags(ctx, tx, r.Scope, arn, tags); err != nil {
			return err
		}
		// Counting after the merge gets overwrites right; the savepoint
		// undoes the merge when it is over the limit.
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM tags WHERE arn = ?`, arn).Scan(&n); err != nil {
			return err
		}
		if n > limit {
			return fmt.Errorf("%w: %s would have %d tags, the limit is %d", store.ErrTooManyTags, arn, n, limit)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: tag resource: %w", err)
	}
	return nil
}

// UntagResource implements store.Store.
func (s *Store) UntagResource(ctx context.Context, r store.Resource, keys []string) error {
	err := s.write(ctx, func(ctx context.Context, tx dbtx) error {
		arn, err := tagTarget(ctx, tx, r)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `DELETE FROM tags WHERE arn = ? AND key = ?`, arn, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: untag resource: %w", err)
	}
	return nil
}

// tagTarget checks, in tx, that r exists and returns the ARN its tags are
// stored under: the canonical ARN of the typed target (for a revision
// store.TaskDefinitionARN, for a service or task the long format), not
// r.ARN, so tags are found however the caller spelled the ARN. A cluster
// or service exists for tagging while its row does, INACTIVE included;
// whether an INACTIVE one may be tagged is ECS's decision, not the store's.
func tagTarget(ctx context.Context, tx dbtx, r store.Resource) (string, error) {
	var (
		query, what, arn string
		args             []any
	)
	switch k := r.TaskDefinition; {
	case k != nil && r.Cluster == "" && r.Service == "" && r.Task == "":
		query = `SELECT 1 FROM task_definitions WHERE account = ? AND region = ? AND family = ? AND revision = ?`
		args = []any{r.Account, r.Region, k.Family, k.Revision}
		what, arn = fmt.Sprintf("task definition %s:%d", k.Family, k.Revision), store.TaskDefinitionARN(r.Scope, k.Family, k.Revision)
	case k == nil && r.CapacityProvider != "" && r.Cluster == "":
		query = `SELECT 1 FROM capacity_providers WHERE account = ? AND region = ? AND name = ?`
		args = []any{r.Account, r.Region, r.CapacityProvider}
		what, arn = "capacity provider "+r.CapacityProvider, store.CapacityProviderARN(r.Scope, r.CapacityProvider)
	case k != nil || r.Cluster == "" || r.CapacityProvider != "" || countSet(r.Service, r.Task, r.ContainerInstance) > 1:
		return "", fmt.Errorf("%w: %q is not a resource this store can tag", store.ErrNotFound, r.ARN)
	case r.ContainerInstance != "":
		query = `SELECT 1 FROM container_instances WHERE account = ? AND region = ? AND cluster = ? AND id = ?`
		args = []any{r.Account, r.Region, r.Cluster, r.ContainerInstance}
		what, arn = fmt.Sprintf("container instance %s in cluster %s", r.ContainerInstance, r.Cluster), store.ContainerInstanceARN(r.Scope, r.Cluster, r.ContainerInstance)
	case r.Service != "":
		query = `SELECT 1 FROM services WHERE account = ? AND region = ? AND cluster = ? AND name = ?`
		args = []any{r.Account, r.Region, r.Cluster, r.Service}
		what, arn = fmt.Sprintf("service %s in cluster %s", r.Service, r.Cluster), store.ServiceARN(r.Scope, r.Cluster, r.Service)
	case r.Task != "":
		query = `SELECT 1 FROM tasks WHERE account = ? AND region = ? AND cluster = ? AND id = ?`
		args = []any{r.Account, r.Region, r.Cluster, r.Task}
		what, arn = fmt.Sprintf("task %s in cluster %s", r.Task, r.Cluster), store.TaskARN(r.Scope, r.Cluster, r.Task)
	default:
		query = `SELECT 1 FROM clusters WHERE account = ? AND region = ? AND name = ?`
		args = []any{r.Account, r.Region, r.Cluster}
		what, arn = "cluster "+r.Cluster, store.ClusterARN(r.Scope, r.Cluster)
	}
	var one int
	err := tx.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%w: %s", store.ErrNotFound, what)
	}
	if err != nil {
		return "", err
	}
	return arn, nil
}

func putTags(ctx context.Context, tx dbtx, scope store.Scope, arn string, tags []store.Tag) error {
	for _, t := range tags {
		_, err := tx.ExecContext(ctx, `INSERT INTO tags (account, region, arn, key, value) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (arn, key) DO UPDATE SET value = excluded.value`, scope.Account, scope.Region, arn, t.Key, t.Value)
		if err != nil {
			return err
		}
	}
	return nil
}

// Reset implements store.Store. Revision counters go too: after a reset the
// store is indistinguishable from a new one.
func (s *Store) Reset(ctx context.Context) error {
	err := s.write(ctx, func(ctx context.Context, tx dbtx) error {
		touchAllTaskDefinitions(tx)
		// Children before parents, for the foreign key.
		for _, table := range []string{
			"tags", "task_definitions", "families",
			"clusters", "services", "service_task_definitions", "tasks", "service_deployments", "service_revisions",
			"account_settings", "attributes", "container_instances", "capacity_providers",
		} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+table); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: reset: %w", err)
	}
	return nil
}

func countSet(ss ...string) int {
	n := 0
	for _, s := range ss {
		if s != "" {
			n++
		}
	}
	return n
}
