package pgstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
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
	epoch  int64
	ctx    context.Context
	cancel context.CancelFunc
	conn   *sql.Conn
	held   chan struct{} // closed when hold returns
	once   sync.Once
}

// Context is canceled once the lease is lost or may have been. It carries
// the lease's epoch (WithEpoch): every write made with it, or with a
// context derived from it, is fenced.
func (l *Lease) Context() context.Context { return l.ctx }

// Epoch is the fencing token this lease took: one more than the previous
// holder's.
func (l *Lease) Epoch() int64 { return l.epoch }

// ErrDeposed refuses a write made for a lease that another replica has
// since taken (WithEpoch).
var ErrDeposed = errors.New("pgstore: refused a write for a leader lease another replica has taken over")

type epochKey struct{}

// WithEpoch marks ctx's writes as made by the leader holding epoch: the
// store then commits them only while no replica has taken the lease since
// (table ecsd_lease), and refuses them with ErrDeposed otherwise. The
// check is in the write's own transaction and holds a share lock on the
// lease row until it commits, so a new leader's bump of the epoch waits
// for a deposed leader's write in flight, and every write the deposed
// leader begins after the bump is refused: no write of an old leader
// lands once a new one leads. Lease.Context carries its epoch already.
func WithEpoch(ctx context.Context, epoch int64) context.Context {
	return context.WithValue(ctx, epochKey{}, epoch)
}

func epochFrom(ctx context.Context) (int64, bool) {
	e, ok := ctx.Value(epochKey{}).(int64)
	return e, ok
}

// checkEpoch refuses the transaction tx unless the lease is still at
// epoch. Run first in the transaction.
func checkEpoch(ctx context.Context, tx dbtx, epoch int64) error {
	var cur int64
	if err := tx.QueryRowContext(ctx, "SELECT epoch FROM ecsd_lease WHERE id = 1 FOR SHARE").Scan(&cur); err != nil {
		if retryable(err) {
			// A new leader bumped the epoch after this snapshot: the
			// retry's fresh snapshot sees it and refuses.
			return errors.Join(err, errForcedRetry)
		}
		return fmt.Errorf("pgstore: lease epoch: %w", err)
	}
	if cur != epoch {
		return fmt.Errorf("%w (this write's epoch %d, the lease's %d)", ErrDeposed, epoch, cur)
	}
	return nil
}

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
// then can another replica take it. A holder whose
// session the server has already ended keeps acting until its next check
// fails, at most o.Check + o.Timeout later, but its writes are fenced:
// each lease takes a new epoch, and a write made with the lease's context
// commits only while the epoch is still the lease's (WithEpoch). What the
// window still allows is a deposed leader's runtime acting (starting or
// stopping a container) before its refused write (docs/operations.md).
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
		if conn, epoch, ok, _ := s.tryLock(ctx, o.Timeout); ok {
			l := &Lease{epoch: epoch, conn: conn, held: make(chan struct{})}
			l.ctx, l.cancel = context.WithCancel(WithEpoch(ctx, epoch))
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
// returns while the lock is held, and with it the lease's next epoch.
func (s *Store) tryLock(ctx context.Context, timeout time.Duration) (*sql.Conn, int64, bool, error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := s.db.Conn(cctx)
	if err != nil {
		return nil, 0, false, err
	}
	var ok bool
	if err := conn.QueryRowContext(cctx, "SELECT pg_try_advisory_lock($1)", leaderLock).Scan(&ok); err != nil {
		discard(conn) // it may hold the lock without our knowing
		return nil, 0, false, err
	}
	if !ok {
		conn.Close()
		return nil, 0, false, nil
	}
	// The fencing token. The bump waits for the writes of a deposed
	// leader that passed their check (checkEpoch's share lock); a timeout
	// here gives the lock up and campaigns again.
	var epoch int64
	if err := conn.QueryRowContext(cctx, "UPDATE ecsd_lease SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch").Scan(&epoch); err != nil {
		discard(conn)
		return nil, 0, false, err
	}
	return conn, epoch, true, nil
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
