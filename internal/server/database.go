package server

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

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
// writes are serializable and revision numbers gapless across them. The
// background work is not shared out yet: the replica holding the leader
// lease runs every loop (leader below), the others none
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

// leader runs the loops while this replica holds pgstore's leader lease,
// so that of several replicas on one database exactly one supervises
// tasks, schedules services and sweeps deletions at a time. The others
// serve the API; what they write is picked up by the leader's next pass
// (the loops' interval, 1s) rather than at once, since a kick reaches only
// the replica that took the request.
type leader struct {
	cancel  context.CancelFunc
	done    chan struct{}
	leading atomic.Bool
}

func lead(ctx context.Context, st *pgstore.Store, loops []loop, logger *slog.Logger) *leader {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &leader{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for {
			lease, err := st.Lead(ctx, pgstore.LeaseOptions{})
			if err != nil {
				return // shutting down
			}
			logger.Info("leader lease taken: this replica runs the task supervisor, service scheduler and deletion sweeper")
			l.leading.Store(true)
			for _, lp := range loops {
				lp.Start(lease.Context())
			}
			<-lease.Context().Done()
			for i := len(loops) - 1; i >= 0; i-- {
				loops[i].Stop()
			}
			l.leading.Store(false)
			lease.Release() // only now may another replica take over
			if ctx.Err() != nil {
				return
			}
			logger.Warn("leader lease lost: the loops stopped until this replica leads again")
		}
	}()
	return l
}

// stop ends leadership: the loops stop, then the lease is released.
func (l *leader) stop() {
	l.cancel()
	<-l.done
}
