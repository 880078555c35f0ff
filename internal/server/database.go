package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecsd/ecsd/internal/notify"
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
// serve the API and relay their notices to it (pgRelay).
type leader struct {
	cancel  context.CancelFunc
	done    chan struct{}
	leading *atomic.Bool
}

func lead(ctx context.Context, st *pgstore.Store, loops []loop, leading *atomic.Bool, logger *slog.Logger) *leader {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &leader{cancel: cancel, done: make(chan struct{}), leading: leading}
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

// pgRelay carries change notices between replicas over PostgreSQL's
// LISTEN/NOTIFY. A replica that does not lead sends what its use-cases
// notify (the leader's loops act on it within milliseconds instead of at
// their resync); every replica delivers what it hears from the others to
// its own hub. Sending is asynchronous and batched, several notices to a
// NOTIFY: a request never waits for it, and a burst of RunTasks costs few
// round trips. A notice dropped (queue full, database away) is made up by
// the loops' resyncs.
type pgRelay struct {
	st      *pgstore.Store
	leading *atomic.Bool
	logger  *slog.Logger
	// origin tells this replica's own notices apart when they come back.
	origin string
	queue  chan relayed
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// dropped counts notices the full queue turned away since the last
	// warning.
	dropped atomic.Int64
}

type relayed struct {
	topic notify.Topic
	key   string
}

// relayQueue bounds the notices waiting to be sent; relayPayload the
// bytes of one NOTIFY (PostgreSQL's limit is 8000).
const (
	relayQueue   = 16384
	relayPayload = 7000
)

func newPGRelay(st *pgstore.Store, leading *atomic.Bool, logger *slog.Logger) *pgRelay {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &pgRelay{st: st, leading: leading, logger: logger, origin: hex.EncodeToString(b[:]), queue: make(chan relayed, relayQueue)}
}

// relayOrNil keeps a nil *pgRelay from becoming a non-nil notify.Relay.
func relayOrNil(r *pgRelay) notify.Relay {
	if r == nil {
		return nil
	}
	return r
}

// Send queues a notice for the other replicas, unless this replica leads:
// then its own loops, which the hub has told already, are the ones that
// act.
func (r *pgRelay) Send(topic notify.Topic, key string) {
	if r.leading.Load() {
		return
	}
	select {
	case r.queue <- relayed{topic, key}:
	default:
		r.dropped.Add(1)
	}
}

// start sends queued notices and delivers the other replicas' to hub
// until stop. resync is called when the LISTEN connection comes back after
// a drop: what was sent meanwhile is lost, so the loops look at everything.
func (r *pgRelay) start(ctx context.Context, hub *notify.Hub, resync func()) {
	ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	r.wg.Add(2)
	first := true
	go func() {
		defer r.wg.Done()
		r.st.ListenEach(ctx, time.Second, func() {
			if !first {
				resync()
			}
			first = false
		}, func(payload string) {
			origin, notices, ok := strings.Cut(payload, "\n")
			if !ok || origin == r.origin {
				return
			}
			notify.Decode(notices, hub.Deliver)
		})
	}()
	go func() {
		defer r.wg.Done()
		r.send(ctx)
	}()
}

func (r *pgRelay) send(ctx context.Context) {
	var b strings.Builder
	for {
		var n relayed
		select {
		case <-ctx.Done():
			return
		case n = <-r.queue:
		}
		b.Reset()
		notify.Encode(&b, n.topic, n.key)
	batch:
		for b.Len() < relayPayload-600 { // room for one more ARN
			select {
			case n = <-r.queue:
				notify.Encode(&b, n.topic, n.key)
			default:
				break batch
			}
		}
		nctx, cancel := context.WithTimeout(ctx, time.Second)
		err := r.st.Notify(nctx, r.origin+"\n"+b.String())
		cancel()
		if err != nil && ctx.Err() == nil {
			// The leader's resync picks the changes up anyway.
			r.logger.Warn("could not relay change notices to the leader replica", "err", err)
		}
		if d := r.dropped.Swap(0); d > 0 {
			r.logger.Warn("change notices dropped: the relay queue was full; the leader's resync picks the changes up", "dropped", d)
		}
	}
}

// stop ends sending and listening.
func (r *pgRelay) stop() {
	if r.cancel != nil {
		r.cancel()
		r.wg.Wait()
	}
}
