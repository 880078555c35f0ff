// Package sqlitestore is the embedded store.Store: one SQLite file in the
// data directory, written through a single group-committing writer and read
// through a pool of read-only connections.
//
// It owns the SQL schema and its migrations. It must never import net/http,
// the protocol, the api, control or a driver.
package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecsd/ecsd/internal/store"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

var _ store.Store = (*Store)(nil)

// ErrClosed is returned by writes submitted after Close.
var ErrClosed = errors.New("sqlitestore: closed")

// FileName is the database file inside the data directory.
const FileName = "ecsd.db"

// Option configures Open.
type Option func(*options)

type options struct {
	maxBatch    int
	readConns   int
	busyTimeout time.Duration
}

// WithMaxBatch bounds how many writes share one transaction (default 128).
// 1 turns group commit off: one fsync per write.
func WithMaxBatch(n int) Option {
	return func(o *options) { o.maxBatch = max(n, 1) }
}

// WithReadConns sizes the read-only connection pool (default
// max(4, GOMAXPROCS)).
func WithReadConns(n int) Option {
	return func(o *options) { o.readConns = max(n, 1) }
}

// WithBusyTimeout sets how long a connection waits for a lock held by
// another process before failing with SQLITE_BUSY (default 5s). Within one
// process the writer never contends with itself.
func WithBusyTimeout(d time.Duration) Option {
	return func(o *options) { o.busyTimeout = d }
}

// Store is a store.Store on SQLite. It is safe for concurrent use.
type Store struct {
	wdb  *sql.DB
	conn *sql.Conn // the writer's connection; only run touches it
	rdb  *sql.DB

	tds tdCache // GetTaskDefinition's and LatestActiveTaskDefinition's

	rmu     sync.RWMutex
	rstmts  map[string]*sql.Stmt // prepared on rdb; see readStmt
	rclosed bool                 // set by Close under rmu
	// rprep counts statements being prepared in the background. Close
	// waits for them: a prepare still holding a read connection would
	// close it, and with it the database's last handle (which checkpoints
	// and removes the WAL), after Close had returned.
	rprep sync.WaitGroup

	mu     sync.RWMutex // guards closed against sends on queue
	closed bool
	queue  chan *request
	done   chan struct{} // closed when run returns

	maxBatch int
	// failNext is a test hook (storetest's FailNextCommit): the next write
	// is undone after it ran and run again, as a retry after a failed
	// commit would.
	failNext atomic.Bool
	commits  atomic.Uint64
	writes   atomic.Uint64

	closeOnce sync.Once
	closeErr  error
	unlock    func() // releases the data directory (lock_unix.go)
}

// Stats counts the writer's work since Open.
type Stats struct {
	Commits uint64 // transactions committed, each with at most one WAL fsync
	Writes  uint64 // successful write calls those transactions made durable
}

// Stats reports how well writes are being grouped: Writes/Commits is the
// mean batch size.
func (s *Store) Stats() Stats {
	return Stats{Commits: s.commits.Load(), Writes: s.writes.Load()}
}

// Open opens (creating if needed) the database in dir, brings its schema up
// to date and starts the writer. A database whose schema is newer than this
// binary knows is refused with an error wrapping store.ErrNewerSchema.
func Open(ctx context.Context, dir string, opts ...Option) (*Store, error) {
	o := options{maxBatch: 128, readConns: max(4, runtime.GOMAXPROCS(0)), busyTimeout: 5 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	// A relative path would become the authority of the file: URI
	// ("file://data/ecsd.db"), which SQLite refuses.
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	path := filepath.Join(dir, FileName)
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}

	wdb, err := sql.Open("sqlite", dsn(path, o, false))
	if err != nil {
		unlock()
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	wdb.SetMaxOpenConns(1)
	conn, err := wdb.Conn(ctx)
	if err != nil {
		wdb.Close()
		unlock()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	fail := func(err error) (*Store, error) {
		conn.Close()
		wdb.Close()
		unlock()
		return nil, err
	}
	if err := migrate(ctx, conn, dir); err != nil {
		if isBusy(err) {
			// Not another ecsd (that would hold ecsd.lock): some other
			// program, such as the sqlite3 shell, holds the write lock.
			err = fmt.Errorf("sqlitestore: %s is locked by another process (waited %s for it): %w", path, o.busyTimeout, err)
		}
		return fail(err)
	}
	// The database and WAL files now exist; without syncing their directory
	// entries a power cut could lose the files and with them every
	// acknowledged write.
	if err := syncDir(dir); err != nil {
		return fail(fmt.Errorf("sqlitestore: %w", err))
	}

	rdb, err := sql.Open("sqlite", dsn(path, o, true))
	if err != nil {
		return fail(fmt.Errorf("sqlitestore: %w", err))
	}
	rdb.SetMaxOpenConns(o.readConns)
	rdb.SetMaxIdleConns(o.readConns)
	if err := rdb.PingContext(ctx); err != nil {
		rdb.Close()
		return fail(fmt.Errorf("sqlitestore: %w", err))
	}

	s := &Store{
		wdb:      wdb,
		conn:     conn,
		rdb:      rdb,
		queue:    make(chan *request, o.maxBatch),
		done:     make(chan struct{}),
		maxBatch: o.maxBatch,
		rstmts:   map[string]*sql.Stmt{},
		unlock:   unlock,
	}
	go s.run()
	return s, nil
}

// isBusy reports whether err is SQLite's SQLITE_BUSY: a lock another
// connection held past the busy timeout.
func isBusy(err error) bool {
	var coded interface{ Code() int }
	return errors.As(err, &coded) && coded.Code()&0xff == 5 // SQLITE_BUSY and its extended codes
}

func dsn(path string, o options, readOnly bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(o.busyTimeout.Milliseconds(), 10))
	q.Set("_foreign_keys", "1")
	// FULL makes every COMMIT fsync the WAL: a write we acknowledge survives
	// power loss, not only a crash of this process.
	q.Set("_synchronous", "FULL")
	if readOnly {
		q.Set("_query_only", "1")
	} else {
		q.Set("_journal_mode", "WAL")
		// Take the write lock at BEGIN so a batch never fails half-way on
		// a lock upgrade.
		q.Set("_txlock", "immediate")
	}
	return (&url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}).String()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Ping reports whether the store is open and the database answers.
func (s *Store) Ping(ctx context.Context) error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	var one int
	if err := s.rdb.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlitestore: ping: %w", err)
	}
	return nil
}

// Close stops accepting writes, commits those already queued, checkpoints
// the WAL into the database file and closes it. It is safe to call more
// than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.queue)
		s.mu.Unlock()
		<-s.done

		var errs []error
		s.rmu.Lock()
		s.rclosed = true
		s.rmu.Unlock()
		s.rprep.Wait() // a prepare finishing now sees rclosed and closes its statement
		s.rmu.Lock()
		for _, st := range s.rstmts {
			if st != nil {
				errs = append(errs, st.Close())
			}
		}
		s.rmu.Unlock()
		errs = append(errs, s.rdb.Close())
		if _, err := s.conn.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			errs = append(errs, fmt.Errorf("checkpoint: %w", err))
		}
		errs = append(errs, s.conn.Close(), s.wdb.Close())
		s.unlock()
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("sqlitestore: close: %w", err)
		}
	})
	return s.closeErr
}

// dbtx is a transaction as the helpers see it: a *sql.Tx for reads, a
// *batchTx in the writer.
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

// read runs fn in a read-only transaction so that a method's several
// queries see one snapshot.
//
// The statements run detached from ctx once it has been checked: every
// read is an index seek bounded by a LIMIT or a key, done in microseconds,
// and watching a cancellable context costs more than that (database/sql
// and the driver each start a goroutine per transaction and per query to
// watch it; with them a DescribeTaskDefinition spent more CPU watching its
// context than reading its row).
func (s *Store) read(ctx context.Context, fn func(ctx context.Context, tx dbtx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(ctx, &readTx{Tx: tx, s: s})
}

// readOne runs fn, which must run exactly one statement, outside a
// transaction: one statement sees one snapshot by itself, and BEGIN and
// ROLLBACK cost as much again as a point read. ctx is handled as in read.
func (s *Store) readOne(ctx context.Context, fn func(ctx context.Context, db dbtx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return fn(context.WithoutCancel(ctx), readPool{s})
}

// readPool runs queries on the read pool, prepared when possible.
type readPool struct{ s *Store }

func (p readPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return p.s.rdb.ExecContext(ctx, query, args...) // refused: the pool's connections are query-only
}

func (p readPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.s.readStmt(query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.s.rdb.QueryContext(ctx, query, args...)
}

func (p readPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.s.readStmt(query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.s.rdb.QueryRowContext(ctx, query, args...)
}

// maxReadStmts bounds the read statement cache. Queries are built from a
// fixed set of shapes, but IN lists vary with the caller's input.
const maxReadStmts = 256

// readStmt returns query prepared on the read pool, or nil while it is not
// (the caller then runs it unprepared). database/sql keeps one prepared
// copy per connection, so SQLite parses each query once per connection
// instead of once per call: parsing was 40% of a point read.
//
// A miss prepares the query in the background: preparing on the pool needs
// a free connection, and the caller holds one for its transaction, so
// waiting here would deadlock once every connection's holder waited.
func (s *Store) readStmt(query string) *sql.Stmt {
	s.rmu.RLock()
	st, ok := s.rstmts[query]
	closed := s.rclosed
	s.rmu.RUnlock()
	if ok || closed {
		return st // nil while being prepared, or when it does not prepare
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if _, ok := s.rstmts[query]; ok || s.rclosed || len(s.rstmts) >= maxReadStmts {
		return nil
	}
	s.rstmts[query] = nil // being prepared
	s.rprep.Add(1)
	go func() {
		defer s.rprep.Done()
		st, err := s.rdb.PrepareContext(context.Background(), query)
		s.rmu.Lock()
		defer s.rmu.Unlock()
		switch {
		case err != nil:
			// Left nil: the query runs unprepared and reports its own error.
		case s.rclosed:
			st.Close()
		default:
			s.rstmts[query] = st
		}
	}()
	return nil
}

// readTx is a read transaction whose queries use the read statement cache.
type readTx struct {
	*sql.Tx
	s *Store
}

func (t *readTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.s.readStmt(query); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

func (t *readTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.s.readStmt(query); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

// writeRegistration is write for RegisterTaskDefinition. A registration
// reads nothing but the family's counter row, which it bumps in the same
// statement, so a backend whose transactions conflict may run it at a
// weaker isolation where that row's lock alone orders registrations
// (pgstore: READ COMMITTED, no retries). Here every write is serialized by
// the one writer anyway.
func (s *Store) writeRegistration(ctx context.Context, fn writeFunc) error {
	return s.write(ctx, fn)
}

// A writeFunc is one write. The writer calls it with its own context, not
// the caller's; see write.
type writeFunc func(ctx context.Context, tx dbtx) error

// A request is one write waiting for the writer.
type request struct {
	fn    writeFunc
	state atomic.Int32
	done  chan struct{} // closed once err and panic are final
	err   error
	panic any
}

// Request states. A request leaves queued exactly once, by a CAS from
// either the writer (taken) or its caller giving up (abandoned), so each
// write is either applied and reported or dropped and reported as dropped.
const (
	queued int32 = iota
	taken
	abandoned
)

// write submits fn to the writer and waits until the batch holding it has
// committed. fn runs in its own savepoint, so an error from fn undoes only
// fn's changes and is returned as is.
//
// ctx bounds the wait only while the request is still queued: cancelling
// then withdraws it and returns ctx.Err() with nothing written. Once the
// writer has taken it, the outcome is already being decided in a
// transaction shared with other callers, and returning ctx.Err() could
// report a committed write as failed (a client retry would then register a
// second revision). So write waits for the commit, which takes one batch,
// and reports what actually happened.
func (s *Store) write(ctx context.Context, fn writeFunc) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &request{fn: fn, done: make(chan struct{})}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	select {
	case s.queue <- r:
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()

	select {
	case <-r.done:
	case <-ctx.Done():
		if r.state.CompareAndSwap(queued, abandoned) {
			return ctx.Err()
		}
		<-r.done
	}
	if r.panic != nil {
		panic(r.panic)
	}
	return r.err
}

// run is the writer: it owns s.conn and turns whatever is queued into one
// transaction, so concurrent writers share one fsync.
func (s *Store) run() {
	defer close(s.done)
	batch := make([]*request, 0, s.maxBatch)
	for r := range s.queue {
		batch = append(batch[:0], r)
	fill:
		for len(batch) < s.maxBatch {
			select {
			case r, ok := <-s.queue:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.commit(batch)
		clear(batch) // let finished requests be collected while idle
	}
}

func (s *Store) commit(batch []*request) {
	var work []*request
	for _, r := range batch {
		if r.state.CompareAndSwap(queued, taken) {
			work = append(work, r)
		}
	}
	if len(work) == 0 {
		return
	}
	defer func() {
		for _, r := range work {
			close(r.done)
		}
	}()
	failAll := func(err error) {
		for _, r := range work {
			if r.err == nil && r.panic == nil {
				r.err = err
			}
		}
	}

	// Statements run without the callers' contexts: cancelling one would
	// interrupt SQLite, and an interrupted write inside a transaction rolls
	// back the whole batch.
	ctx := context.Background()
	sqlTx, err := s.conn.BeginTx(ctx, nil)
	if err != nil {
		failAll(fmt.Errorf("begin: %w", err))
		return
	}
	tx := &batchTx{Tx: sqlTx, stmts: make(map[string]*sql.Stmt)}
	for _, r := range work {
		if err := s.apply(ctx, tx, r); err != nil {
			// The savepoint machinery itself failed (I/O error, disk full):
			// the transaction's state is unknown, so nothing in it commits.
			tx.Rollback()
			failAll(fmt.Errorf("savepoint: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		// A failed COMMIT can leave SQLite's transaction open, and the
		// next BEGIN would then fail forever.
		s.conn.ExecContext(ctx, "ROLLBACK")
		failAll(fmt.Errorf("commit: %w", err))
		return
	}
	// Before any writer in the batch is told it is done (the deferred
	// close), so no acknowledged write can be read stale from the cache.
	s.tds.invalidate(tx.touched, tx.touchedAll)
	s.commits.Add(1)
	var n uint64
	for _, r := range work {
		if r.err == nil && r.panic == nil {
			n++
		}
	}
	s.writes.Add(n)
}

// apply runs r.fn inside a savepoint, recording its outcome in r. Its own
// error is reserved for failures that poison the whole transaction.
func (s *Store) apply(ctx context.Context, tx *batchTx, r *request) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
		return err
	}
	r.err, r.panic = call(ctx, tx, r.fn)
	if r.err == nil && r.panic == nil && s.failNext.CompareAndSwap(true, false) {
		// The forced retry: undo the run as a failed commit would, and
		// run fn again on the state before it.
		if _, err := tx.ExecContext(ctx, "ROLLBACK TO w"); err != nil {
			return err
		}
		r.err, r.panic = call(ctx, tx, r.fn)
	}
	if r.err != nil || r.panic != nil {
		if _, err := tx.ExecContext(ctx, "ROLLBACK TO w"); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, "RELEASE w")
	return err
}

// call runs fn, capturing a panic so it can be re-raised in the caller's
// goroutine: a bug in a caller's UpdateFunc must crash (or be recovered by)
// that caller, not the writer every caller depends on.
func call(ctx context.Context, tx dbtx, fn writeFunc) (err error, panicked any) {
	defer func() {
		if p := recover(); p != nil {
			panicked = fmt.Sprintf("%v [recovered in the sqlitestore writer]\n\n%s", p, debug.Stack())
		}
	}()
	return fn(ctx, tx), nil
}

// batchTx is the writer's transaction. It prepares each distinct statement
// once per batch: parsing SQL took about 40% of the writer's CPU, and the
// writer is what every write waits on. The statements close with the
// transaction.
type batchTx struct {
	*sql.Tx
	stmts map[string]*sql.Stmt
	// Task definitions the batch changed, for tdCache.
	touched    []tdCacheKey
	touchedAll bool
}

func (t *batchTx) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := t.stmts[query]; ok {
		return st, nil
	}
	st, err := t.Tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	t.stmts[query] = st
	return st, nil
}

func (t *batchTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := t.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (t *batchTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := t.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (t *batchTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := t.prepare(ctx, query)
	if err != nil {
		return t.Tx.QueryRowContext(ctx, query, args...) // a *sql.Row carrying the same error
	}
	return st.QueryRowContext(ctx, args...)
}
