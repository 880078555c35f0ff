package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ecsd/ecsd/internal/control"
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
func openStore(ctx context.Context, cfg Config, onCommit sqlitestore.CommitFunc) (storeCloser, error) {
	if cfg.Database == "" {
		st, err := sqlitestore.Open(ctx, cfg.DataDir, sqlitestore.WithCommitFunc(onCommit))
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

// readyTimeout bounds /ready's query: a load balancer's probe wants an
// answer well within its own timeout, and a database slower than this is
// not one to send traffic to.
const readyTimeout = 2 * time.Second

// serveReady answers /ready, the readiness probe for load balancers and
// orchestrators: 200 when the store answers a query (within readyTimeout)
// and, on PostgreSQL, its schema is the one this binary runs on; 503 with
// the reason otherwise. /health stays liveness: it says the process
// serves, and which replica leads.
func serveReady(w http.ResponseWriter, r *http.Request, st storeCloser) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	var err error
	if pg, ok := st.(pgStore); ok {
		err = pg.Ready(ctx)
	} else {
		err = st.Ping(ctx)
	}
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "unavailable", "store": st.Name(), "reason": err.Error()})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "ready", "store": st.Name()})
}

// storeUnavailable picks out the store errors that mean the database is
// out of reach, which the API answers with ECS's outage message; nil for
// SQLite, whose file is always there.
func storeUnavailable(st storeCloser) func(error) bool {
	if _, ok := st.(pgStore); !ok {
		return nil
	}
	return func(err error) bool {
		// A request that ran out of time waiting for the database is as
		// much an outage to the client.
		return pgstore.Unavailable(err) || errors.Is(err, context.DeadlineExceeded)
	}
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
// serve the API and wake the leader's loops (wakeLeader).
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
			// No longer the leader from here on, whatever the loops still
			// finish: a pass stuck in a transaction on a database out of
			// reach ends only at the store's transaction timeout (its
			// writes are fenced meanwhile), and /health must not claim
			// the lease for that long.
			l.leading.Store(false)
			for i := len(loops) - 1; i >= 0; i-- {
				loops[i].Stop()
			}
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

// wakeLeader makes a kick given on a follower reach the leader's loops
// within milliseconds instead of at their next pass: a follower forwards
// every use-case's notice over PostgreSQL's LISTEN/NOTIFY once its write
// has committed, and every replica hands what it hears to its own loops
// (which run only on the leader; on the others a kick is a no-op until they
// lead). It returns the function that stops listening.
func wakeLeader(ctx context.Context, st *pgstore.Store, ctl *control.Control, s *Server, logger *slog.Logger) func() {
	local := ctl.NotifyFunc
	ctl.NotifyFunc = func(topic, key string) {
		local(topic, key)
		if l := s.leader; l != nil && !l.leading.Load() {
			nctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := st.Notify(nctx, topic+"\n"+key); err != nil {
				// The leader's next pass picks the change up anyway.
				logger.Warn("could not wake the leader replica", "err", err)
			}
		}
	}
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		st.Listen(lctx, time.Second, nil, func(payload string) {
			if topic, key, ok := strings.Cut(payload, "\n"); ok {
				local(topic, key)
			}
		})
	}()
	return func() {
		cancel()
		<-done
	}
}
