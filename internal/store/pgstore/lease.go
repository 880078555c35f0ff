package pgstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"sync"
	"time"
)

// leaderLock is the session advisory lock whose holder runs the
// background loops ("ecsl" in ASCII).
const leaderLock = 0x6563736c

// LeaseOptions tune Lead.
type LeaseOptions struct {
	// Check is how often the holder confirms its session is alive, and a
	// follower tries to take the lock (default 1s).
	Check time.Duration
	// Timeout bounds one check (default 2s): a holder whose check fails or
	// times out gives the lease up.
	Timeout time.Duration
}

func (o LeaseOptions) withDefaults() LeaseOptions {
	if o.Check <= 0 {
		o.Check = time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	return o
}

// A Lease is this process's hold on the leader lock.
type Lease struct {
	ctx    context.Context
	cancel context.CancelFunc
	conn   *sql.Conn
	held   chan struct{} // closed when hold returns
	once   sync.Once
}

// Context is canceled once the lease is lost or may have been.
func (l *Lease) Context() context.Context { return l.ctx }

// Release gives the lease up: call it once the work done as leader has
// stopped, so that no other replica can take over while it still runs.
func (l *Lease) Release() {
	l.once.Do(func() {
		l.cancel()
		<-l.held
		discard(l.conn) // ending the session releases the lock
	})
}

// Lead blocks until this process holds the leader lease, one PostgreSQL
// session advisory lock that at most one session in the database holds.
// The lease's context is canceled once the lease is lost or may have been:
// when a check of the holding session fails or takes longer than
// o.Timeout, when ctx ends, or when the store closes; the caller must then
// stop acting as leader and call Release. Lead returns ctx's error if ctx
// ends first.
//
// PostgreSQL releases the lock when the holding session ends (Release, the
// process dies, its connection is cut and the server notices), and only
// then can another replica take it. The lease is not fenced: a holder whose
// session the server has already ended keeps acting until its next check
// fails, at most o.Check + o.Timeout later. Writes stay serializable
// meanwhile; what the window allows is two replicas' loops acting on the
// same task or service for that long (docs/operations.md).
func (s *Store) Lead(ctx context.Context, o LeaseOptions) (*Lease, error) {
	o = o.withDefaults()
	t := time.NewTicker(o.Check)
	defer t.Stop()
	for {
		if s.isClosed() {
			return nil, ErrClosed
		}
		// An error (the database unreachable) is tried again at the next
		// check: a follower has nothing to give up.
		if conn, ok, _ := s.tryLock(ctx, o.Timeout); ok {
			l := &Lease{conn: conn, held: make(chan struct{})}
			l.ctx, l.cancel = context.WithCancel(ctx)
			go func() {
				defer close(l.held)
				defer l.cancel()
				s.hold(l.ctx, conn, o)
			}()
			return l, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// tryLock takes the leader lock on a connection of its own, which it
// returns while the lock is held.
func (s *Store) tryLock(ctx context.Context, timeout time.Duration) (*sql.Conn, bool, error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := s.db.Conn(cctx)
	if err != nil {
		return nil, false, err
	}
	var ok bool
	if err := conn.QueryRowContext(cctx, "SELECT pg_try_advisory_lock($1)", leaderLock).Scan(&ok); err != nil {
		discard(conn) // it may hold the lock without our knowing
		return nil, false, err
	}
	if !ok {
		conn.Close()
		return nil, false, nil
	}
	return conn, true, nil
}

// discard closes conn's session instead of returning it to the pool: the
// lock is the session's, and a pooled session holding it would keep every
// replica from leading while no one acts.
func discard(conn *sql.Conn) {
	conn.Raw(func(any) error { return driver.ErrBadConn })
	conn.Close()
}

// hold checks the holding session until the lease is lost or given up.
func (s *Store) hold(lead context.Context, conn *sql.Conn, o LeaseOptions) {
	t := time.NewTicker(o.Check)
	defer t.Stop()
	for {
		select {
		case <-lead.Done():
			return
		case <-t.C:
		}
		if s.isClosed() {
			return
		}
		cctx, ccancel := context.WithTimeout(lead, o.Timeout)
		// Still the holder? A session PostgreSQL ended and a reconnect
		// would not hold it, so ask the server, not the driver.
		var held bool
		err := conn.QueryRowContext(cctx, `SELECT EXISTS (SELECT 1 FROM pg_locks
WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND objid = $1 AND granted)`, leaderLock).Scan(&held)
		ccancel()
		if err != nil || !held {
			return
		}
	}
}
