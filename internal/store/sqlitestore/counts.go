package sqlitestore

import (
	"context"
	"database/sql"

	"github.com/ecsd/ecsd/internal/store"
)

var _ store.Counter = (*Store)(nil)

// Both counts read only a covering index (schema version 5; see
// TestQueryPlans): a scrape with ten thousand tasks stored never touches
// their documents.
const (
	taskCountsSQL = `SELECT last_status, launch_type, count(*) FROM tasks
GROUP BY launch_type, last_status ORDER BY launch_type, last_status`
	serviceCountsSQL = `SELECT status, rollout_state, count(*) FROM services WHERE status <> 'INACTIVE'
GROUP BY status, rollout_state ORDER BY status, rollout_state`
)

// TaskCounts implements store.Counter.
func (s *Store) TaskCounts(ctx context.Context) ([]store.TaskCount, error) {
	var out []store.TaskCount
	err := s.readOne(ctx, func(ctx context.Context, db dbtx) error {
		var err error
		out, err = queryAll(ctx, db, taskCountsSQL, nil, func(rows *sql.Rows) (store.TaskCount, error) {
			var c store.TaskCount
			return c, rows.Scan(&c.LastStatus, &c.LaunchType, &c.Count)
		})
		return err
	})
	if err != nil {
		return nil, fail("task counts", err)
	}
	return out, nil
}

// ServiceCounts implements store.Counter.
func (s *Store) ServiceCounts(ctx context.Context) ([]store.ServiceCount, error) {
	var out []store.ServiceCount
	err := s.readOne(ctx, func(ctx context.Context, db dbtx) error {
		var err error
		out, err = queryAll(ctx, db, serviceCountsSQL, nil, func(rows *sql.Rows) (store.ServiceCount, error) {
			var c store.ServiceCount
			return c, rows.Scan(&c.Status, &c.RolloutState, &c.Count)
		})
		return err
	})
	if err != nil {
		return nil, fail("service counts", err)
	}
	return out, nil
}
