package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/ecsd/ecsd/internal/store"
	"github.com/ecsd/ecsd/internal/store/pgstore"
	"github.com/ecsd/ecsd/internal/store/sqlitestore"
)

// storeCloser is the store the server runs on, with what the server reads
// of it beyond store.Store.
type storeCloser interface {
	store.Store
	Name() string
	Stats() any
}

// openStore opens the state: PostgreSQL when cfg.Database names a
// database, else the SQLite file in cfg.DataDir.
//
// Several ecsd processes on one PostgreSQL database all answer every API
// call from the same state, with the same semantics as one process:
// writes are serializable and revision numbers gapless across them. What
// they do not do yet is share the background work: each runs its own task
// supervisor, service scheduler and deletion sweeper over all the state,
// with no leases, so two of them may act on one service or task at once
// (docs/operations.md, "Several replicas").
func openStore(ctx context.Context, cfg Config) (storeCloser, error) {
	if cfg.Database == "" {
		st, err := sqlitestore.Open(ctx, cfg.DataDir)
		if err != nil {
			return nil, err
		}
		return sqliteStore{st}, nil
	}
	if !strings.HasPrefix(cfg.Database, "postgres://") && !strings.HasPrefix(cfg.Database, "postgresql://") {
		return nil, fmt.Errorf("--database: want a PostgreSQL URL (postgres://user:password@host:5432/dbname), got %q", redactURL(cfg.Database))
	}
	st, err := pgstore.Open(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	return pgStore{st}, nil
}

type sqliteStore struct{ *sqlitestore.Store }

func (sqliteStore) Name() string { return "sqlite" }
func (s sqliteStore) Stats() any { return s.Store.Stats() }

type pgStore struct{ *pgstore.Store }

func (pgStore) Name() string { return "postgres" }
func (s pgStore) Stats() any { return s.Store.Stats() }

// redactURL hides a password in a URL shown in an error.
func redactURL(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.LastIndex(u, "@"); j > i {
			if k := strings.Index(u[i+3:j], ":"); k >= 0 {
				return u[:i+3+k] + ":xxxxx" + u[j:]
			}
		}
	}
	return u
}
