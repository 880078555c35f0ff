package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The simulated runtime's container groups (fakedriver.Keeper): kept here
// when replicas share the database, so that the engine outlives every
// replica as a Docker daemon outlives ecsd, and a replica that takes the
// lease supervises the tasks another one started instead of finding their
// containers gone. Writes go through write, so a deposed leader's (its
// context carries its lease's epoch) are refused like its store writes.

// SimGroup returns a group's document; false if there is none.
func (s *Store) SimGroup(ctx context.Context, id string) ([]byte, bool, error) {
	var body []byte
	err := s.readOne(ctx, func(ctx context.Context, db dbtx) error {
		return db.QueryRowContext(ctx, "SELECT body FROM ecsd_sim_groups WHERE id = $1", id).Scan(&body)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("pgstore: simulated runtime group %s: %w", id, err)
	}
	return body, true, nil
}

// SimGroups returns every group's document, in ID order.
func (s *Store) SimGroups(ctx context.Context) ([][]byte, error) {
	var out [][]byte
	err := s.readOne(ctx, func(ctx context.Context, db dbtx) error {
		var err error
		out, err = queryAll(ctx, db, "SELECT body FROM ecsd_sim_groups ORDER BY id", nil, func(r *sql.Rows) ([]byte, error) {
			var b []byte
			err := r.Scan(&b)
			return b, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: simulated runtime groups: %w", err)
	}
	return out, nil
}

// CreateSimGroup stores a new group; a known ID is left alone.
func (s *Store) CreateSimGroup(ctx context.Context, id string, doc []byte) error {
	return s.write(ctx, func(ctx context.Context, tx dbtx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO ecsd_sim_groups (id, body) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", id, doc)
		return err
	})
}

// UpdateSimGroup replaces a group's document if it is still old, and
// reports whether it did.
func (s *Store) UpdateSimGroup(ctx context.Context, id string, old, doc []byte) (bool, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx dbtx) error {
		res, err := tx.ExecContext(ctx, "UPDATE ecsd_sim_groups SET body = $3 WHERE id = $1 AND body = $2", id, old, doc)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n == 1, err
}

// DeleteSimGroup removes a group and reports whether there was one.
func (s *Store) DeleteSimGroup(ctx context.Context, id string) (bool, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx dbtx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM ecsd_sim_groups WHERE id = $1", id)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n == 1, err
}
