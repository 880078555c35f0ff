// Package pgstore is the store.Store on PostgreSQL, which several ecsd
// replicas can share: every write is one SERIALIZABLE transaction,
// retried from the start when PostgreSQL aborts it as a serialization
// failure or a deadlock, and committed with synchronous_commit on.
//
// Its queries and transaction helpers are generated from sqlitestore's
// (zz_sqlite_*.go, see internal/gen), so both backends answer from the
// same SQL; what is PostgreSQL's own is here (connections, the retry loop,
// placeholder rebinding) and in schema.go. It keeps no cache of stored
// records: another replica may change any of them (tdcache.go).
//
// It must never import net/http, the protocol, the api, control or a
// driver.
package pgstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/ecsd/ecsd/internal/store"
)

var _ store.Store = (*Store)(nil)

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("pgstore: closed")

// Option configures Open.
type Option func(*options)

type options struct {
	maxConns  int
	txTimeout time.Duration
}

// WithMaxConns sizes the connection pool (default 16).
func WithMaxConns(n int) Option {
	return func(o *options) { o.maxConns = max(n, 1) }
}

// WithTxTimeout bounds one write, retries included (default 30s): past it
// the write fails with nothing committed.
func WithTxTimeout(d time.Duration) Option {
	return func(o *options) { o.txTimeout = d }
}

// Store is a store.Store on PostgreSQL. It is safe for concurrent use, and
// any number of Stores, in any number of processes, may share a database.
type Store struct {
	db        *sql.DB
	tds       tdCache
	txTimeout time.Duration

	// failNext is a test hook (storetest's FailNextCommit): the next write
	// transaction is rolled back instead of committed and reported as a
	// serialization failure, so the retry loop runs it again.
	failNext atomic.Bool
	// retries counts transactions run again after a serialization failure.
	retries atomic.Uint64

	closeMu sync.RWMutex
	closed  bool
}

// Stats counts the store's retries since Open.
type Stats struct {
	Retries uint64 // write transactions run again after a serialization failure or deadlock
}

// Stats reports how often writes conflicted.
func (s *Store) Stats() Stats { return Stats{Retries: s.retries.Load()} }

// Open connects to the database at url (postgres://...), brings its schema
// up to date and returns the store. A database whose schema is newer than
// this binary knows is refused with an error wrapping store.ErrNewerSchema.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	o := options{maxConns: 16, txTimeout: 30 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: database URL: %w", err)
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	// An acknowledged write must survive the loss of the database server
	// too, whatever the server's default: COMMIT returns only once the WAL
	// is flushed (and, with synchronous standbys, replicated).
	cfg.RuntimeParams["synchronous_commit"] = "on"
	cfg.RuntimeParams["application_name"] = "ecsd"
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(o.maxConns)
	db.SetMaxIdleConns(o.maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("pgstore: cannot reach the database at %s: %w", redact(url), err)
	}
	if err := migrate(ctx, db, redact(url)); err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db, txTimeout: o.txTimeout}, nil
}

// redact drops the password from a URL for messages.
func redact(url string) string {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return "(unparseable URL)"
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// Ready reports whether the database answers a query and its schema is
// the version this binary brings it to: a replica is ready to serve only
// then. Its error says why not. Bound ctx: a database that does not
// answer holds Ready until ctx ends.
func (s *Store) Ready(ctx context.Context) error {
	if s.isClosed() {
		return ErrClosed
	}
	var v int
	if err := s.db.QueryRowContext(ctx, "SELECT version FROM ecsd_schema").Scan(&v); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("the database did not answer in time: %w", err)
		}
		return fmt.Errorf("the database does not answer: %w", err)
	}
	if v != len(migrations) {
		return fmt.Errorf("the database's schema is at version %d, this ecsd runs on version %d", v, len(migrations))
	}
	return nil
}

// Unavailable reports whether err means the database could not be reached
// or went away (connection refused or cut, server shutting down or
// starting up): the call may succeed once the database is back, and is
// no fault of the request's.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P01-57P03: admin shutdown,
		// crash shutdown, cannot connect now.
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P")
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || pgconn.SafeToRetry(err)
}

// Ping reports whether the store is open and the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if s.isClosed() {
		return ErrClosed
	}
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("pgstore: ping: %w", err)
	}
	return nil
}

func (s *Store) isClosed() bool {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	return s.closed
}

// Close closes the connections. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("pgstore: close: %w", err)
	}
	return nil
}

// dbtx is a transaction or the pool as the shared helpers see it.
type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, tx dbtx, query string, args []any, scan func(*sql.Rows) (T, error)) ([]T, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// pg runs the shared queries on PostgreSQL: it rebinds them and remembers
// whether PostgreSQL aborted the transaction for a conflict, which the
// retry loop must see even when the caller's fn turned that error into one
// of its own.
type pg struct {
	db       interface{ dbtx }
	conflict bool
}

func (p *pg) note(err error) error {
	if retryable(err) {
		p.conflict = true
	}
	return err
}

func (p *pg) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := p.db.ExecContext(ctx, rebind(query), args...)
	return res, p.note(err)
}

func (p *pg) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := p.db.QueryContext(ctx, rebind(query), args...)
	return rows, p.note(err)
}

func (p *pg) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return p.db.QueryRowContext(ctx, rebind(query), args...)
}

// rebinds caches rebind's results: the queries come from a fixed set of
// shapes (IN lists vary with the input, so the cache is bounded).
var rebinds sync.Map

const maxRebinds = 1024

var rebindCount atomic.Int64

// rebind turns the shared SQL into PostgreSQL's: ? placeholders become $n,
// and SQLite's INDEXED BY hints (which PostgreSQL's planner does without)
// are dropped. The shared queries hold no ? or INDEXED BY inside string
// literals; rebind skips quoted text anyway.
func rebind(query string) string {
	if v, ok := rebinds.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	inQuote := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			inQuote = !inQuote
			b.WriteByte(c)
		case inQuote:
			b.WriteByte(c)
		case c == '?':
			n++
			fmt.Fprintf(&b, "$%d", n)
		case c == ' ' && strings.HasPrefix(query[i:], " INDEXED BY "):
			j := i + len(" INDEXED BY ")
			for j < len(query) && (query[j] == '_' || query[j] >= 'a' && query[j] <= 'z' || query[j] >= '0' && query[j] <= '9') {
				j++
			}
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	out := b.String()
	if rebindCount.Add(1) <= maxRebinds {
		rebinds.Store(query, out)
	}
	return out
}

// retryable reports whether PostgreSQL aborted a transaction that would
// succeed if run again: a serialization failure or a deadlock.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return errors.Is(err, errForcedRetry)
}

var (
	// errForcedRetry marks an attempt to run again: the failNext hook's
	// commit, or a conflict fn reported as an error of its own.
	errForcedRetry = errors.New("pgstore: transaction aborted by a conflict")
	// errMaybeConflict marks an attempt in which some statement failed
	// and fn returned its own error: run again at most maxMaybeRetries
	// times, then fn's error stands.
	errMaybeConflict = errors.New("pgstore: a statement failed")
)

const maxMaybeRetries = 3

// A writeFunc is one write transaction's body.
type writeFunc func(ctx context.Context, tx dbtx) error

// write runs fn in a SERIALIZABLE transaction and commits it, running fn
// again on a fresh transaction whenever PostgreSQL aborts it as a
// serialization failure or deadlock (so fn may run more than once, as the
// store contract says). fn's own error rolls back and is returned as is.
//
// ctx bounds the wait before each attempt; an attempt, once begun, runs
// detached from it and bounded by the store's transaction timeout instead,
// so a caller giving up can never leave a COMMIT in doubt: write reports
// what actually happened.
func (s *Store) write(ctx context.Context, fn writeFunc) error {
	return s.writeAt(ctx, sql.LevelSerializable, fn)
}

// writeRegistration runs RegisterTaskDefinition's transaction at READ
// COMMITTED. Its only read is the family's counter, bumped by the same
// INSERT ... ON CONFLICT DO UPDATE, which under READ COMMITTED waits for a
// concurrent registration's row lock and then bumps the committed value,
// where SERIALIZABLE would abort one of the two. The numbers are gapless
// and unique either way (the row lock orders them, a rollback returns its
// number, the primary key forbids duplicates); this way concurrent
// registrations of one family queue instead of retrying, which halved
// registration throughput on PostgreSQL (bench/stores).
func (s *Store) writeRegistration(ctx context.Context, fn writeFunc) error {
	return s.writeAt(ctx, sql.LevelReadCommitted, fn)
}

func (s *Store) writeAt(ctx context.Context, iso sql.IsolationLevel, fn writeFunc) error {
	if s.isClosed() {
		return ErrClosed
	}
	deadline := time.Now().Add(s.txTimeout)
	backoff := time.Millisecond
	maybe := 0
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.attempt(ctx, deadline, iso, fn)
		if errors.Is(err, errMaybeConflict) {
			if maybe++; maybe > maxMaybeRetries {
				return unwrapFirst(err)
			}
		} else if !retryable(err) {
			return err
		}
		s.retries.Add(1)
		if time.Now().After(deadline) {
			return fmt.Errorf("pgstore: still conflicting after %d attempts: %w", attempt+1, err)
		}
		// Jittered so that transactions that conflicted do not meet again.
		t := time.NewTimer(backoff/2 + rand.N(backoff))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		backoff = min(2*backoff, 50*time.Millisecond)
	}
}

// attempt runs fn once. Its error is retryable when the attempt should be
// run again.
//
// Until the transaction has begun, the caller may still withdraw the write
// (its ctx ends: a client gone, a request timeout), so that a database that
// does not answer (down, unreachable) holds no request past its deadline;
// from BEGIN on the transaction runs detached from the caller, to its
// commit or rollback.
func (s *Store) attempt(caller context.Context, deadline time.Time, iso sql.IsolationLevel, fn writeFunc) (err error) {
	ctx, cancel := context.WithDeadline(context.WithoutCancel(caller), deadline)
	defer cancel()
	withdraw := context.AfterFunc(caller, cancel)
	sqlTx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: iso})
	if !withdraw() {
		// The caller gave up while BEGIN was under way: nothing is
		// written, and the canceled transaction rolls back.
		if err == nil {
			sqlTx.Rollback()
		}
		return fmt.Errorf("pgstore: begin: %w", context.Cause(caller))
	}
	if err != nil {
		return fmt.Errorf("pgstore: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			sqlTx.Rollback()
		}
	}()
	p := &pg{db: sqlTx}
	if epoch, ok := epochFrom(ctx); ok {
		if err := checkEpoch(ctx, p, epoch); err != nil {
			return err
		}
	}
	if err := fn(ctx, p); err != nil {
		if p.conflict || retryable(err) {
			return errors.Join(err, errForcedRetry) // run again; the rollback undoes this run
		}
		if aborted(ctx, sqlTx) {
			// A statement failed and fn reported an error of its own. A
			// single-row read reports through Scan, where note cannot see
			// it, so this may be a conflict: run again, a few times.
			return errors.Join(err, errMaybeConflict)
		}
		return err
	}
	if s.failNext.CompareAndSwap(true, false) {
		return errForcedRetry
	}
	committed = true
	if err := sqlTx.Commit(); err != nil {
		if errors.Is(err, pgx.ErrTxCommitRollback) {
			// PostgreSQL rolled back instead: some statement failed and fn
			// ignored it. Treated as a conflict; a persistent failure
			// ends at the transaction timeout.
			return errors.Join(fmt.Errorf("pgstore: commit rolled back: %w", err), errForcedRetry)
		}
		return fmt.Errorf("pgstore: commit: %w", err)
	}
	return nil
}

// aborted reports whether tx is in PostgreSQL's failed-transaction state:
// one of its statements failed.
func aborted(ctx context.Context, tx *sql.Tx) bool {
	var one int
	err := tx.QueryRowContext(ctx, "SELECT 1").Scan(&one)
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "25P02"
}

// read runs fn in a read-only REPEATABLE READ transaction: one snapshot,
// taken at its first statement, for a method's several queries.
func (s *Store) read(ctx context.Context, fn func(ctx context.Context, tx dbtx) error) error {
	if s.isClosed() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(ctx, &pg{db: tx})
}

// readOne runs fn, which must run exactly one statement, outside a
// transaction: one statement sees one snapshot by itself.
func (s *Store) readOne(ctx context.Context, fn func(ctx context.Context, db dbtx) error) error {
	if s.isClosed() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return fn(ctx, &pg{db: s.db})
}

// unwrapFirst returns the first error joined in err: fn's own, which
// callers match by identity.
func unwrapFirst(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok && len(j.Unwrap()) > 0 {
		return j.Unwrap()[0]
	}
	return err
}
