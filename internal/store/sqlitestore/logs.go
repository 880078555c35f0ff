package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecsd/ecsd/internal/store"
)

// LogsFileName is the CloudWatch Logs database inside the data directory.
// It is a file of its own so that a chatty container's lines never queue
// behind (or ahead of) the ECS state's writes, and so that `ecsd logs` can
// read it while ecsd runs.
const LogsFileName = "logs.db"

// logMigrations are the Logs database's schema steps, append-only as
// migrations. Times are Unix milliseconds. Events carry their group so a
// group's events are read in time order across streams from one index
// (FilterLogEvents); stored bytes are kept per stream and group so that
// describing them never sums events.
var logMigrations = []string{
	`
CREATE TABLE log_groups (
	id             INTEGER PRIMARY KEY,
	account        TEXT    NOT NULL,
	region         TEXT    NOT NULL,
	name           TEXT    NOT NULL,
	created_ms     INTEGER NOT NULL,
	retention_days INTEGER NOT NULL DEFAULT 0,
	stored_bytes   INTEGER NOT NULL DEFAULT 0,
	UNIQUE (account, region, name)
);
CREATE TABLE log_streams (
	id                INTEGER PRIMARY KEY,
	group_id          INTEGER NOT NULL,
	name              TEXT    NOT NULL,
	created_ms        INTEGER NOT NULL,
	first_event_ms    INTEGER NOT NULL DEFAULT 0,
	last_event_ms     INTEGER NOT NULL DEFAULT 0,
	last_ingestion_ms INTEGER NOT NULL DEFAULT 0,
	stored_bytes      INTEGER NOT NULL DEFAULT 0,
	UNIQUE (group_id, name)
);
CREATE INDEX log_streams_by_last_event ON log_streams (group_id, last_event_ms, name);
CREATE TABLE log_events (
	id        INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: it is the eventId
	group_id  INTEGER NOT NULL,
	stream_id INTEGER NOT NULL,
	ts        INTEGER NOT NULL,
	ingested  INTEGER NOT NULL,
	size      INTEGER NOT NULL,
	message   TEXT    NOT NULL
);
CREATE INDEX log_events_by_stream ON log_events (stream_id, ts, id);
CREATE INDEX log_events_by_group ON log_events (group_id, ts, id);
`,
}

// Logs is the SQLite CloudWatch Logs store.
type Logs struct {
	wdb *sql.DB // one connection: SQLite has one writer
	rdb *sql.DB
	wmu sync.Mutex

	bytes atomic.Int64
	// StoredFunc, when set, is told the bytes of messages each successful
	// PutLogEvents stored (the metrics' ecsd_log_bytes_stored_total). Set
	// it before the first write.
	StoredFunc func(n int64)
}

var _ store.LogStore = (*Logs)(nil)

// OpenLogs opens (creating if needed) the Logs database in dir.
func OpenLogs(ctx context.Context, dir string) (*Logs, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	path := filepath.Join(dir, LogsFileName)
	o := options{busyTimeout: 5 * time.Second}
	wdb, err := sql.Open("sqlite", dsn(path, o, false))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	wdb.SetMaxOpenConns(1)
	if err := migrateLogs(ctx, wdb); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlitestore: %s: %w", path, err)
	}
	rdb, err := sql.Open("sqlite", dsn(path, o, true))
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	rdb.SetMaxOpenConns(4)
	l := &Logs{wdb: wdb, rdb: rdb}
	var total sql.NullInt64
	if err := wdb.QueryRowContext(ctx, `SELECT SUM(stored_bytes) FROM log_groups`).Scan(&total); err != nil {
		l.Close()
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	l.bytes.Store(total.Int64)
	return l, nil
}

// OpenLogsReadOnly opens an existing Logs database for reading only, as
// `ecsd logs` does beside a running ecsd. A directory without one is
// store.ErrNotFound.
func OpenLogsReadOnly(ctx context.Context, dir string) (*Logs, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, LogsFileName)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%w: %s", store.ErrNotFound, path)
	}
	rdb, err := sql.Open("sqlite", dsn(path, options{busyTimeout: 5 * time.Second}, true))
	if err != nil {
		return nil, err
	}
	return &Logs{rdb: rdb}, nil
}

func migrateLogs(ctx context.Context, db *sql.DB) error {
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version > len(logMigrations) {
		return store.ErrNewerSchema
	}
	for i := version; i < len(logMigrations); i++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, logMigrations[i]); err != nil {
			tx.Rollback()
			return err
		}
		if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(i+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the database.
func (l *Logs) Close() error {
	var errs []error
	if l.rdb != nil {
		errs = append(errs, l.rdb.Close())
	}
	if l.wdb != nil {
		errs = append(errs, l.wdb.Close())
	}
	return errors.Join(errs...)
}

// LogBytes implements store.LogStore.
func (l *Logs) LogBytes() int64 { return l.bytes.Load() }

// update runs fn in a write transaction.
func (l *Logs) update(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if l.wdb == nil {
		return errors.New("sqlitestore: the Logs store is open read-only")
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	tx, err := l.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func groupID(ctx context.Context, q queryer, scope store.Scope, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM log_groups WHERE account = ? AND region = ? AND name = ?`,
		scope.Account, scope.Region, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: %w", store.ErrNotFound, store.LogGroupMissing)
	}
	return id, err
}

func streamID(ctx context.Context, q queryer, group int64, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM log_streams WHERE group_id = ? AND name = ?`, group, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, store.ErrNotFound
	}
	return id, err
}

// CreateLogGroup implements store.LogStore.
func (l *Logs) CreateLogGroup(ctx context.Context, g store.LogGroup) error {
	return l.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO log_groups (account, region, name, created_ms, retention_days)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			g.Account, g.Region, g.Name, g.CreatedAt.UnixMilli(), g.RetentionDays)
		if err != nil {
			return err
		}
		return createdOrExists(ctx, tx)
	})
}

// createdOrExists turns an INSERT ... ON CONFLICT DO NOTHING that changed
// nothing into ErrExists.
func createdOrExists(ctx context.Context, tx *sql.Tx) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT changes()`).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return store.ErrExists
	}
	return nil
}

// LogGroup implements store.LogStore.
func (l *Logs) LogGroup(ctx context.Context, scope store.Scope, name string) (store.LogGroup, error) {
	gs, err := l.queryGroups(ctx, `WHERE account = ? AND region = ? AND name = ?`, scope.Account, scope.Region, name)
	if err != nil {
		return store.LogGroup{}, err
	}
	if len(gs) == 0 {
		return store.LogGroup{}, fmt.Errorf("%w: %w", store.ErrNotFound, store.LogGroupMissing)
	}
	return gs[0], nil
}

// LogGroups implements store.LogStore.
func (l *Logs) LogGroups(ctx context.Context, scope store.Scope, q store.LogGroupQuery) ([]store.LogGroup, error) {
	where := `WHERE account = ? AND region = ? AND name > ?`
	args := []any{scope.Account, scope.Region, q.After}
	if q.Prefix != "" {
		where += ` AND substr(name, 1, ?) = ?`
		args = append(args, len(q.Prefix), q.Prefix)
	}
	if q.Contains != "" {
		where += ` AND instr(lower(name), lower(?)) > 0`
		args = append(args, q.Contains)
	}
	where += ` ORDER BY name LIMIT ?`
	args = append(args, max(q.Limit, 1))
	return l.queryGroups(ctx, where, args...)
}

func (l *Logs) queryGroups(ctx context.Context, where string, args ...any) ([]store.LogGroup, error) {
	rows, err := l.rdb.QueryContext(ctx, `SELECT account, region, name, created_ms, retention_days, stored_bytes FROM log_groups `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.LogGroup
	for rows.Next() {
		var g store.LogGroup
		var created int64
		if err := rows.Scan(&g.Account, &g.Region, &g.Name, &created, &g.RetentionDays, &g.StoredBytes); err != nil {
			return nil, err
		}
		g.CreatedAt = time.UnixMilli(created).UTC()
		out = append(out, g)
	}
	return out, rows.Err()
}

// DeleteLogGroup implements store.LogStore.
func (l *Logs) DeleteLogGroup(ctx context.Context, scope store.Scope, name string) error {
	return l.update(ctx, func(tx *sql.Tx) error {
		id, err := groupID(ctx, tx, scope, name)
		if err != nil {
			return err
		}
		var bytes int64
		if err := tx.QueryRowContext(ctx, `SELECT stored_bytes FROM log_groups WHERE id = ?`, id).Scan(&bytes); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM log_events WHERE group_id = ?`,
			`DELETE FROM log_streams WHERE group_id = ?`,
			`DELETE FROM log_groups WHERE id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		l.bytes.Add(-bytes)
		return nil
	})
}

// SetLogRetention implements store.LogStore.
func (l *Logs) SetLogRetention(ctx context.Context, scope store.Scope, name string, days int) error {
	return l.update(ctx, func(tx *sql.Tx) error {
		id, err := groupID(ctx, tx, scope, name)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE log_groups SET retention_days = ? WHERE id = ?`, days, id)
		return err
	})
}

// CreateLogStream implements store.LogStore.
func (l *Logs) CreateLogStream(ctx context.Context, scope store.Scope, group, stream string, at time.Time) error {
	return l.update(ctx, func(tx *sql.Tx) error {
		gid, err := groupID(ctx, tx, scope, group)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO log_streams (group_id, name, created_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			gid, stream, at.UnixMilli()); err != nil {
			return err
		}
		return createdOrExists(ctx, tx)
	})
}

// LogStreams implements store.LogStore.
func (l *Logs) LogStreams(ctx context.Context, scope store.Scope, group string, q store.LogStreamQuery) ([]store.LogStream, error) {
	gid, err := groupID(ctx, l.rdb, scope, group)
	if err != nil {
		return nil, err
	}
	where := `WHERE group_id = ?`
	args := []any{gid}
	if q.Prefix != "" {
		where += ` AND substr(name, 1, ?) = ?`
		args = append(args, len(q.Prefix), q.Prefix)
	}
	cmp, dir := ">", "ASC"
	if q.Desc {
		cmp, dir = "<", "DESC"
	}
	if q.ByLastEvent {
		if q.After != nil {
			where += ` AND (last_event_ms, name) ` + cmp + ` (?, ?)`
			args = append(args, q.After.LastEvent, q.After.Name)
		}
		where += ` ORDER BY last_event_ms ` + dir + `, name ` + dir
	} else {
		if q.After != nil {
			where += ` AND name ` + cmp + ` ?`
			args = append(args, q.After.Name)
		}
		where += ` ORDER BY name ` + dir
	}
	where += ` LIMIT ?`
	args = append(args, max(q.Limit, 1))
	rows, err := l.rdb.QueryContext(ctx, `SELECT name, created_ms, first_event_ms, last_event_ms, last_ingestion_ms, stored_bytes FROM log_streams `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.LogStream
	for rows.Next() {
		s := store.LogStream{Group: group}
		var created int64
		if err := rows.Scan(&s.Name, &created, &s.FirstEvent, &s.LastEvent, &s.LastIngestion, &s.StoredBytes); err != nil {
			return nil, err
		}
		s.CreatedAt = time.UnixMilli(created).UTC()
		out = append(out, s)
	}
	return out, rows.Err()
}

// DeleteLogStream implements store.LogStore.
func (l *Logs) DeleteLogStream(ctx context.Context, scope store.Scope, group, stream string) error {
	return l.update(ctx, func(tx *sql.Tx) error {
		gid, err := groupID(ctx, tx, scope, group)
		if err != nil {
			return err
		}
		sid, err := streamID(ctx, tx, gid, stream)
		if err != nil {
			return err
		}
		var bytes int64
		if err := tx.QueryRowContext(ctx, `SELECT stored_bytes FROM log_streams WHERE id = ?`, sid).Scan(&bytes); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM log_events WHERE stream_id = ?`, sid); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM log_streams WHERE id = ?`, sid); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE log_groups SET stored_bytes = stored_bytes - ? WHERE id = ?`, bytes, gid); err != nil {
			return err
		}
		l.bytes.Add(-bytes)
		return nil
	})
}

// PutLogEvents implements store.LogStore.
func (l *Logs) PutLogEvents(ctx context.Context, scope store.Scope, group, stream string, events []store.LogEvent, create bool) error {
	var added int64
	err := l.update(ctx, func(tx *sql.Tx) error {
		added = 0
		now := time.Now().UnixMilli()
		gid, err := groupID(ctx, tx, scope, group)
		if errors.Is(err, store.ErrNotFound) && create {
			var res sql.Result
			res, err = tx.ExecContext(ctx, `INSERT INTO log_groups (account, region, name, created_ms) VALUES (?, ?, ?, ?)`,
				scope.Account, scope.Region, group, now)
			if err == nil {
				gid, err = res.LastInsertId()
			}
		}
		if err != nil {
			return err
		}
		sid, err := streamID(ctx, tx, gid, stream)
		if errors.Is(err, store.ErrNotFound) && create {
			var res sql.Result
			res, err = tx.ExecContext(ctx, `INSERT INTO log_streams (group_id, name, created_ms) VALUES (?, ?, ?)`, gid, stream, now)
			if err == nil {
				sid, err = res.LastInsertId()
			}
		}
		if err != nil {
			return err
		}
		if len(events) == 0 {
			return nil
		}
		// Many rows per statement: the driver's cost is per statement, not
		// per row (a fifth of the time of one INSERT per event).
		const perStmt = 200
		first, last, ingested := int64(math.MaxInt64), int64(math.MinInt64), int64(0)
		args := make([]any, 0, perStmt*6)
		var full *sql.Stmt
		defer func() {
			if full != nil {
				full.Close()
			}
		}()
		for i := 0; i < len(events); i += perStmt {
			part := events[i:min(i+perStmt, len(events))]
			args = args[:0]
			for _, e := range part {
				ing := e.Ingestion
				if ing == 0 {
					ing = now
				}
				args = append(args, gid, sid, e.Timestamp, ing, len(e.Message), e.Message)
				first, last, ingested = min(first, e.Timestamp), max(last, e.Timestamp), max(ingested, ing)
				added += int64(len(e.Message))
			}
			if len(part) == perStmt {
				if full == nil {
					if full, err = tx.PrepareContext(ctx, insertEvents(perStmt)); err != nil {
						return err
					}
				}
				if _, err := full.ExecContext(ctx, args...); err != nil {
					return err
				}
				continue
			}
			if _, err := tx.ExecContext(ctx, insertEvents(len(part)), args...); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE log_streams SET
				first_event_ms = CASE WHEN first_event_ms = 0 OR first_event_ms > ? THEN ? ELSE first_event_ms END,
				last_event_ms = MAX(last_event_ms, ?),
				last_ingestion_ms = MAX(last_ingestion_ms, ?),
				stored_bytes = stored_bytes + ?
			WHERE id = ?`, first, first, last, ingested, added, sid); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE log_groups SET stored_bytes = stored_bytes + ? WHERE id = ?`, added, gid)
		return err
	})
	if err == nil {
		l.bytes.Add(added)
		if l.StoredFunc != nil {
			l.StoredFunc(added)
		}
	}
	return err
}

// insertEvents is an INSERT of n events.
func insertEvents(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO log_events (group_id, stream_id, ts, ingested, size, message) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`(?, ?, ?, ?, ?, ?)`)
	}
	return b.String()
}

func bounds(start, end *int64) (int64, int64) {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if start != nil {
		lo = *start
	}
	if end != nil {
		hi = *end
	}
	return lo, hi
}

// GetLogEvents implements store.LogStore.
func (l *Logs) GetLogEvents(ctx context.Context, scope store.Scope, group, stream string, q store.LogEventsQuery) ([]store.LogEvent, error) {
	gid, err := groupID(ctx, l.rdb, scope, group)
	if err != nil {
		return nil, err
	}
	sid, err := streamID(ctx, l.rdb, gid, stream)
	if err != nil {
		return nil, err
	}
	lo, hi := bounds(q.Start, q.End)
	var query string
	var args []any
	if q.Backward {
		pos := store.LogPosition{Timestamp: math.MaxInt64, ID: math.MaxInt64}
		if q.Before != nil {
			pos = *q.Before
		}
		// One tight range on the index: SQLite seeks on the row value
		// alone, so the time bound is folded into it.
		if q.End != nil && pos.Timestamp >= *q.End {
			pos = store.LogPosition{Timestamp: *q.End, ID: math.MinInt64}
		}
		// Scalar bounds on ts are what SQLite turns into an index range
		// (both ends); the row value only skips the position's own
		// millisecond.
		query = `SELECT id, ts, ingested, message FROM log_events WHERE stream_id = ? AND ts <= ? AND ts >= ? AND (ts, id) < (?, ?)
			ORDER BY ts DESC, id DESC LIMIT ?`
		args = []any{sid, pos.Timestamp, lo, pos.Timestamp, pos.ID, max(q.Limit, 1)}
	} else {
		pos := store.LogPosition{Timestamp: math.MinInt64, ID: math.MinInt64}
		if q.After != nil {
			pos = *q.After
		}
		if q.Start != nil && pos.Timestamp < *q.Start {
			pos = store.LogPosition{Timestamp: *q.Start, ID: math.MinInt64}
		}
		query = `SELECT id, ts, ingested, message FROM log_events WHERE stream_id = ? AND ts >= ? AND ts < ? AND (ts, id) > (?, ?)
			ORDER BY ts, id LIMIT ?`
		args = []any{sid, pos.Timestamp, hi, pos.Timestamp, pos.ID, max(q.Limit, 1)}
	}
	rows, err := l.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.LogEvent
	size := 0
	for rows.Next() {
		e := store.LogEvent{Stream: stream}
		if err := rows.Scan(&e.ID, &e.Timestamp, &e.Ingestion, &e.Message); err != nil {
			return nil, err
		}
		// CloudWatch Logs counts 26 bytes of overhead per event.
		size += len(e.Message) + 26
		if q.MaxBytes > 0 && size > q.MaxBytes && len(out) > 0 {
			break
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if q.Backward {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// FilterLogEvents implements store.LogStore.
func (l *Logs) FilterLogEvents(ctx context.Context, scope store.Scope, group string, q store.FilterLogEventsQuery) (store.FilterLogEventsResult, error) {
	var res store.FilterLogEventsResult
	gid, err := groupID(ctx, l.rdb, scope, group)
	if err != nil {
		return res, err
	}
	// Streams are few beside events: resolve the selection to ids and
	// their names once.
	names := map[int64]string{}
	rows, err := l.rdb.QueryContext(ctx, `SELECT id, name FROM log_streams WHERE group_id = ?`, gid)
	if err != nil {
		return res, err
	}
	want := map[string]bool{}
	for _, s := range q.Streams {
		want[s] = true
	}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return res, err
		}
		if (len(q.Streams) == 0 || want[name]) && strings.HasPrefix(name, q.StreamPrefix) {
			names[id] = name
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, err
	}
	selective := len(q.Streams) > 0 || q.StreamPrefix != ""
	if selective && len(names) == 0 {
		res.Done = true
		return res, nil
	}
	_, hi := bounds(q.Start, q.End)
	res.Last = store.LogPosition{Timestamp: math.MinInt64, ID: math.MinInt64}
	if q.After != nil {
		res.Last = *q.After
	}
	if q.Start != nil && res.Last.Timestamp < *q.Start {
		res.Last = store.LogPosition{Timestamp: *q.Start, ID: math.MinInt64}
	}
	// The group's first and last event bound the time slices below.
	var minTs, maxTs sql.NullInt64
	// Two queries: SQLite answers a lone MIN or MAX from the index, both
	// together by a scan.
	if err := l.rdb.QueryRowContext(ctx, `SELECT MIN(ts) FROM log_events WHERE group_id = ?`, gid).Scan(&minTs); err != nil {
		return res, err
	}
	if err := l.rdb.QueryRowContext(ctx, `SELECT MAX(ts) FROM log_events WHERE group_id = ?`, gid).Scan(&maxTs); err != nil {
		return res, err
	}
	if !maxTs.Valid {
		res.Done = true
		return res, nil
	}
	hi = min(hi, maxTs.Int64+1)
	if res.Last.Timestamp < minTs.Int64 {
		res.Last = store.LogPosition{Timestamp: minTs.Int64, ID: math.MinInt64}
	}
	// The group is read a time slice at a time: a search for a rare term
	// (looked for by SQLite itself) may pass millions of events without
	// a match, and a slice is the unit after which a call can stop and
	// answer a nextToken that moves on, within its budget. The slice
	// grows while slices are quick and shrinks when one is slow.
	const chunk = 1000
	query := `SELECT id, stream_id, ts, ingested, message FROM log_events
			WHERE group_id = ? AND ts >= ? AND ts < ? AND (ts, id) > (?, ?)`
	for range q.Contains {
		query += ` AND instr(message, ?) > 0`
	}
	query += ` ORDER BY ts, id LIMIT ?`
	began := time.Now()
	slice := int64(1000) // milliseconds
	scanned, size := 0, 0
	for {
		if res.Last.Timestamp >= hi {
			res.Done = true
			return res, nil
		}
		if q.Budget > 0 && time.Since(began) > q.Budget {
			return res, nil
		}
		end := hi
		if res.Last.Timestamp < hi-slice {
			end = res.Last.Timestamp + slice
		}
		n := 0
		args := []any{gid, res.Last.Timestamp, end, res.Last.Timestamp, res.Last.ID}
		for _, c := range q.Contains {
			args = append(args, c)
		}
		args = append(args, chunk)
		t0 := time.Now()
		rows, err := l.rdb.QueryContext(ctx, query, args...)
		if err != nil {
			return res, err
		}
		for rows.Next() {
			var e store.LogEvent
			var sid int64
			if err := rows.Scan(&e.ID, &sid, &e.Timestamp, &e.Ingestion, &e.Message); err != nil {
				rows.Close()
				return res, err
			}
			n++
			scanned++
			res.Last = store.LogPosition{Timestamp: e.Timestamp, ID: e.ID}
			name, ok := names[sid]
			if ok && (q.Match == nil || q.Match(e.Message)) {
				e.Stream = name
				res.Events = append(res.Events, e)
				size += len(e.Message) + 26
			}
			if len(res.Events) >= max(q.Limit, 1) || (q.ScanLimit > 0 && scanned >= q.ScanLimit) || (q.MaxBytes > 0 && size >= q.MaxBytes) {
				rows.Close()
				return res, nil
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return res, err
		}
		if n < chunk {
			// The slice is exhausted: everything before its end is read.
			res.Last = store.LogPosition{Timestamp: end - 1, ID: math.MaxInt64}
			if end >= hi {
				res.Done = true
				return res, nil
			}
			switch took := time.Since(t0); {
			case took < 20*time.Millisecond && slice < 1<<40:
				slice *= 4
			case took > 200*time.Millisecond && slice > 1:
				slice /= 2
			}
		}
	}
}

// ExpireLogEvents implements store.LogStore.
func (l *Logs) ExpireLogEvents(ctx context.Context, now time.Time) (int64, error) {
	rows, err := l.rdb.QueryContext(ctx, `SELECT id, retention_days FROM log_groups WHERE retention_days > 0`)
	if err != nil {
		return 0, err
	}
	type due struct{ id, cutoff int64 }
	var groups []due
	for rows.Next() {
		var id, days int64
		if err := rows.Scan(&id, &days); err != nil {
			rows.Close()
			return 0, err
		}
		groups = append(groups, due{id, now.Add(-time.Duration(days) * 24 * time.Hour).UnixMilli()})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	var total int64
	for _, g := range groups {
		// In batches, so that expiring a large backlog never holds the
		// writer for long.
		for {
			var n, freed int64
			err := l.update(ctx, func(tx *sql.Tx) error {
				n, freed = 0, 0
				rows, err := tx.QueryContext(ctx, `DELETE FROM log_events WHERE id IN
					(SELECT id FROM log_events WHERE group_id = ? AND ts < ? ORDER BY ts, id LIMIT 10000)
					RETURNING stream_id, size`, g.id, g.cutoff)
				if err != nil {
					return err
				}
				perStream := map[int64]int64{}
				for rows.Next() {
					var sid, size int64
					if err := rows.Scan(&sid, &size); err != nil {
						rows.Close()
						return err
					}
					perStream[sid] += size
					n++
					freed += size
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					return err
				}
				for sid, b := range perStream {
					if _, err := tx.ExecContext(ctx, `UPDATE log_streams SET stored_bytes = MAX(0, stored_bytes - ?),
							first_event_ms = COALESCE((SELECT MIN(ts) FROM log_events WHERE stream_id = ?), 0)
						WHERE id = ?`, b, sid, sid); err != nil {
						return err
					}
				}
				_, err = tx.ExecContext(ctx, `UPDATE log_groups SET stored_bytes = MAX(0, stored_bytes - ?) WHERE id = ?`, freed, g.id)
				return err
			})
			if err != nil {
				return total, err
			}
			l.bytes.Add(-freed)
			total += n
			if n == 0 {
				break
			}
		}
	}
	return total, nil
}

// ResetLogs implements store.LogStore.
func (l *Logs) ResetLogs(ctx context.Context) error {
	err := l.update(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM log_events`, `DELETE FROM log_streams`, `DELETE FROM log_groups`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		l.bytes.Store(0)
	}
	return err
}

// TaskStream is a stream an awslogs container of a task writes to.
type TaskStream struct {
	Scope  store.Scope
	Group  string
	Stream string
}

// TaskStreams finds the streams of a task's containers in every scope:
// those whose name ends in "/" and the task ID, as the awslogs driver
// names them (`ecsd logs TASK`).
func (l *Logs) TaskStreams(ctx context.Context, taskID string) ([]TaskStream, error) {
	rows, err := l.rdb.QueryContext(ctx, `SELECT g.account, g.region, g.name, s.name FROM log_streams s
		JOIN log_groups g ON g.id = s.group_id
		WHERE substr(s.name, -?) = ? ORDER BY s.name, g.name`, len(taskID)+1, "/"+taskID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TaskStream
	for rows.Next() {
		var ts TaskStream
		if err := rows.Scan(&ts.Scope.Account, &ts.Scope.Region, &ts.Group, &ts.Stream); err != nil {
			return nil, err
		}
		out = append(out, ts)
	}
	return out, rows.Err()
}
