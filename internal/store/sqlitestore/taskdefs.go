package sqlitestore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ecsd/ecsd/internal/store"
)

const tdColumns = "account, region, family, revision, status, registered_at, deregistered_at, delete_requested_at, body"

// getTaskDefinitionSQL is a primary-key lookup.
const getTaskDefinitionSQL = `SELECT ` + tdColumns + ` FROM task_definitions
WHERE account = ? AND region = ? AND family = ? AND revision = ?`

// Queries whose plans TestQueryPlans checks.
const (
	latestActiveSQL = `SELECT ` + tdColumns + ` FROM task_definitions
WHERE account = ? AND region = ? AND status = 'ACTIVE' AND family = ?
ORDER BY revision DESC LIMIT 1`
	toPurgeSQL = `SELECT ` + tdColumns + ` FROM task_definitions
WHERE status = 'DELETE_IN_PROGRESS' AND delete_requested_at <= ?
ORDER BY delete_requested_at LIMIT ?`
)

// RegisterTaskDefinition implements store.Store.
func (s *Store) RegisterTaskDefinition(ctx context.Context, td store.TaskDefinition, tags []store.Tag) (store.TaskDefinition, error) {
	var out store.TaskDefinition
	err := s.writeRegistration(ctx, func(ctx context.Context, tx dbtx) error {
		var err error
		out, err = registerTaskDefinition(ctx, tx, td, tags)
		return err
	})
	if err != nil {
		return store.TaskDefinition{}, fmt.Errorf("sqlitestore: register task definition: %w", err)
	}
	return out, nil
}

func registerTaskDefinition(ctx context.Context, tx dbtx, td store.TaskDefinition, tags []store.Tag) (store.TaskDefinition, error) {
	// The counter lives in the family row and is bumped inside the writer's
	// transaction, so numbers are gapless and unique without retries.
	err := tx.QueryRowContext(ctx, `
INSERT INTO families (account, region, family, last_revision, active_count, live_count)
VALUES (?, ?, ?, 1, 1, 1)
ON CONFLICT (account, region, family) DO UPDATE SET
	last_revision = families.last_revision + 1,
	active_count = families.active_count + 1,
	live_count = families.live_count + 1
RETURNING last_revision`, td.Account, td.Region, td.Family).Scan(&td.Revision)
	if err != nil {
		return store.TaskDefinition{}, err
	}
	td.Status = store.StatusActive
	td.RegisteredAt = toTime(fromTime(td.RegisteredAt))
	td.DeregisteredAt = time.Time{}
	td.DeleteRequestedAt = time.Time{}
	td.Body = bytes.Clone(td.Body)
	if td.Body == nil {
		td.Body = []byte{} // body is NOT NULL; a nil slice would bind as NULL
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO task_definitions (`+tdColumns+`) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?)`,
		td.Account, td.Region, td.Family, td.Revision, td.Status, fromTime(td.RegisteredAt), td.Body)
	if err != nil {
		return store.TaskDefinition{}, err
	}
	touchTaskDefinition(tx, td.Scope, td.Family, td.Revision)
	arn := store.TaskDefinitionARN(td.Scope, td.Family, td.Revision)
	if err := putTags(ctx, tx, td.Scope, arn, tags); err != nil {
		return store.TaskDefinition{}, err
	}
	return td, nil
}

// GetTaskDefinition implements store.Store.
func (s *Store) GetTaskDefinition(ctx context.Context, scope store.Scope, family string, revision int) (store.TaskDefinition, error) {
	if err := ctx.Err(); err != nil {
		return store.TaskDefinition{}, fmt.Errorf("sqlitestore: get task definition: %w", err)
	}
	key := tdCacheKey{scope, family, revision}
	td, gen, ok := s.tds.get(key)
	if ok {
		return td, nil
	}
	err := s.readOne(ctx, func(ctx context.Context, tx dbtx) error {
		var err error
		td, err = getTaskDefinition(ctx, tx, scope, family, revision)
		return err
	})
	if err != nil {
		return store.TaskDefinition{}, fmt.Errorf("sqlitestore: get task definition: %w", err)
	}
	s.tds.put(key, td, gen)
	return td, nil
}

func getTaskDefinition(ctx context.Context, tx dbtx, scope store.Scope, family string, revision int) (store.TaskDefinition, error) {
	row := tx.QueryRowContext(ctx, getTaskDefinitionSQL, scope.Account, scope.Region, family, revision)
	td, err := scanTaskDefinition(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.TaskDefinition{}, fmt.Errorf("%w: task definition %s:%d", store.ErrNotFound, family, revision)
	}
	return td, err
}

// LatestActiveTaskDefinition implements store.Store.
func (s *Store) LatestActiveTaskDefinition(ctx context.Context, scope store.Scope, family string) (store.TaskDefinition, error) {
	if err := ctx.Err(); err != nil {
		return store.TaskDefinition{}, fmt.Errorf("sqlitestore: latest active task definition: %w", err)
	}
	key := tdCacheKey{scope, family, 0}
	td, gen, ok := s.tds.get(key)
	if ok {
		return td, nil
	}
	err := s.readOne(ctx, func(ctx context.Context, tx dbtx) error {
		row := tx.QueryRowContext(ctx, latestActiveSQL, scope.Account, scope.Region, family)
		var err error
		td, err = scanTaskDefinition(row)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: no ACTIVE revision of task definition family %s", store.ErrNotFound, family)
		}
		return err
	})
	if err != nil {
		return store.TaskDefinition{}, fmt.Errorf("sqlitestore: latest active task definition: %w", err)
	}
	s.tds.put(key, td, gen)
	return td, nil
}

// UpdateTaskDefinitions implements store.Store.
func (s *Store) UpdateTaskDefinitions(ctx context.Context, scope store.Scope, keys []store.TaskDefinitionKey, fn store.UpdateFunc) ([]store.UpdateResult, error) {
	var results []store.UpdateResult
	err := s.write(ctx, func(ctx context.Context, tx dbtx) error {
		var err error
		results, err = updateTaskDefinitions(ctx, tx, scope, keys, fn)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: update task definitions: %w", err)
	}
	return results, nil
}

func updateTaskDefinitions(ctx context.Context, tx dbtx, scope store.Scope, keys []store.TaskDefinitionKey, fn store.UpdateFunc) ([]store.UpdateResult, error) {
	results := make([]store.UpdateResult, len(keys))
	for i, k := range keys {
		cur, err := getTaskDefinition(ctx, tx, scope, k.Family, k.Revision)
		if errors.Is(err, store.ErrNotFound) {
			results[i].Err = err
			continue
		}
		if err != nil {
			return nil, err
		}
		in := cur
		in.Body = bytes.Clone(cur.Body) // fn must not be able to edit what we compare against
		next, err := fn(in)
		if err == nil {
			err = checkUpdate(cur, next)
		}
		if err != nil {
			results[i] = store.UpdateResult{TaskDefinition: cur, Err: err}
			continue
		}
		touchTaskDefinition(tx, scope, k.Family, k.Revision)
		next.Body = cur.Body
		next.DeregisteredAt = toTime(fromTime(next.DeregisteredAt))
		next.DeleteRequestedAt = toTime(fromTime(next.DeleteRequestedAt))
		_, err = tx.ExecContext(ctx, `UPDATE task_definitions SET status = ?, deregistered_at = ?, delete_requested_at = ?
WHERE account = ? AND region = ? AND family = ? AND revision = ?`,
			next.Status, fromTime(next.DeregisteredAt), fromTime(next.DeleteRequestedAt),
			scope.Account, scope.Region, k.Family, k.Revision)
		if err != nil {
			return nil, err
		}
		if d := activeDelta(cur.Status, next.Status); d != 0 {
			_, err := tx.ExecContext(ctx, `UPDATE families SET active_count = active_count + ?
WHERE account = ? AND region = ? AND family = ?`, d, scope.Account, scope.Region, k.Family)
			if err != nil {
				return nil, err
			}
		}
		results[i].TaskDefinition = next
	}
	return results, nil
}

// checkUpdate enforces that a revision is immutable apart from its
// lifecycle, and that the status stays one the listings know.
func checkUpdate(cur, next store.TaskDefinition) error {
	if next.Scope != cur.Scope || next.Family != cur.Family || next.Revision != cur.Revision ||
		!next.RegisteredAt.Equal(cur.RegisteredAt) || !bytes.Equal(next.Body, cur.Body) {
		return fmt.Errorf("sqlitestore: update of task definition %s:%d changed more than its status and lifecycle times", cur.Family, cur.Revision)
	}
	switch next.Status {
	case store.StatusActive, store.StatusInactive, store.StatusDeleteInProgress:
		return nil
	}
	return fmt.Errorf("sqlitestore: update of task definition %s:%d: unknown status %q", cur.Family, cur.Revision, next.Status)
}

func activeDelta(from, to string) int {
	d := 0
	if from == store.StatusActive {
		d--
	}
	if to == store.StatusActive {
		d++
	}
	return d
}

// ListTaskDefinitions implements store.Store.
func (s *Store) ListTaskDefinitions(ctx context.Context, scope store.Scope, q store.ListTaskDefinitionsQuery) ([]store.TaskDefinitionKey, error) {
	query, args, err := listTaskDefinitionsSQL(scope, q)
	if err != nil || query == "" {
		return nil, err
	}
	var keys []store.TaskDefinitionKey
	err = s.readOne(ctx, func(ctx context.Context, tx dbtx) error {
		var err error
		keys, err = queryAll(ctx, tx, query, args, func(rows *sql.Rows) (k store.TaskDefinitionKey, err error) {
			return k, rows.Scan(&k.Family, &k.Revision)
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list task definitions: %w", err)
	}
	return keys, nil
}

// listTaskDefinitionsSQL builds a seek on task_definitions_by_status, so a
// page costs the same however many revisions are stored (TestQueryPlans
// holds it to that). An empty query means the page is empty.
func listTaskDefinitionsSQL(scope store.Scope, q store.ListTaskDefinitionsQuery) (string, []any, error) {
	switch q.Status {
	case store.StatusActive, store.StatusInactive, store.StatusDeleteInProgress:
	default:
		return "", nil, fmt.Errorf("sqlitestore: list task definitions: unknown status %q", q.Status)
	}
	if q.Limit <= 0 {
		return "", nil, fmt.Errorf("sqlitestore: list task definitions: limit %d is not positive", q.Limit)
	}
	var b strings.Builder
	b.WriteString("SELECT family, revision FROM task_definitions WHERE account = ? AND region = ? AND status = ?")
	args := []any{scope.Account, scope.Region, q.Status}
	op, dir := ">", "ASC"
	if q.Desc {
		op, dir = "<", "DESC"
	}
	switch {
	case q.Family != "":
		b.WriteString(" AND family = ?")
		args = append(args, q.Family)
		if q.After == nil {
			break
		}
		// SQLite does not seek on a row value whose first column is
		// already fixed by an equality, so the cursor is resolved here.
		switch c := strings.Compare(q.After.Family, q.Family); {
		case c == 0:
			b.WriteString(" AND revision " + op + " ?")
			args = append(args, q.After.Revision)
		case (c > 0) != q.Desc: // the cursor is past the whole family
			return "", nil, nil
		}
	case q.After != nil:
		b.WriteString(" AND (family, revision) " + op + " (?, ?)")
		args = append(args, q.After.Family, q.After.Revision)
	}
	b.WriteString(" ORDER BY family " + dir + ", revision " + dir + " LIMIT ?")
	args = append(args, q.Limit)
	return b.String(), args, nil
}

// ListTaskDefinitionFamilies implements store.Store.
func (s *Store) ListTaskDefinitionFamilies(ctx context.Context, scope store.Scope, q store.ListFamiliesQuery) ([]string, error) {
	query, args, err := listFamiliesSQL(scope, q)
	if err != nil {
		return nil, err
	}
	var families []string
	err = s.readOne(ctx, func(ctx context.Context, tx dbtx) error {
		var err error
		families, err = queryAll(ctx, tx, query, args, func(rows *sql.Rows) (f string, err error) {
			return f, rows.Scan(&f)
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list task definition families: %w", err)
	}
	return families, nil
}

// listFamiliesSQL builds a seek on the families table: ACTIVE and INACTIVE
// on families_by_status, ALL on the primary key (skipping only fully purged
// families). Revisions are never read.
func listFamiliesSQL(scope store.Scope, q store.ListFamiliesQuery) (string, []any, error) {
	if q.Limit <= 0 {
		return "", nil, fmt.Errorf("sqlitestore: list task definition families: limit %d is not positive", q.Limit)
	}
	var b strings.Builder
	args := []any{scope.Account, scope.Region}
	switch q.Status {
	case store.FamilyStatusActive, store.FamilyStatusInactive:
		// Without INDEXED BY the planner walks the primary key instead: it
		// does not cost indexes on generated columns well.
		b.WriteString("SELECT family FROM families INDEXED BY families_by_status WHERE account = ? AND region = ? AND status = ?")
		args = append(args, q.Status)
	case store.FamilyStatusAll:
		b.WriteString("SELECT family FROM families WHERE account = ? AND region = ? AND live_count > 0")
	default:
		return "", nil, fmt.Errorf("sqlitestore: list task definition families: unknown status %q", q.Status)
	}
	// One lower bound, the tighter of cursor and prefix, so the index range
	// starts where the page does.
	switch {
	case q.After != "" && q.After >= q.Prefix:
		b.WriteString(" AND family > ?")
		args = append(args, q.After)
	case q.Prefix != "":
		b.WriteString(" AND family >= ?")
		args = append(args, q.Prefix)
	}
	if end, ok := prefixEnd(q.Prefix); ok {
		b.WriteString(" AND family < ?")
		args = append(args, end)
	}
	b.WriteString(" ORDER BY family LIMIT ?")
	args = append(args, q.Limit)
	return b.String(), args, nil
}

// prefixEnd returns the least string greater than every string with prefix
// p, in SQLite's BINARY (byte-wise) order, and false when there is none.
func prefixEnd(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// TaskDefinitionsToPurge implements store.Store, oldest request first.
func (s *Store) TaskDefinitionsToPurge(ctx context.Context, requestedBefore time.Time, limit int) ([]store.TaskDefinition, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("sqlitestore: task definitions to purge: limit %d is not positive", limit)
	}
	var tds []store.TaskDefinition
	err := s.read(ctx, func(ctx context.Context, tx dbtx) error {
		var err error
		tds, err = queryAll(ctx, tx, toPurgeSQL, []any{requestedBefore.UnixMilli(), limit},
			func(rows *sql.Rows) (store.TaskDefinition, error) { return scanTaskDefinition(rows) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: task definitions to purge: %w", err)
	}
	return tds, nil
}

// PurgeTaskDefinition implements store.Store.
func (s *Store) PurgeTaskDefinition(ctx context.Context, scope store.Scope, family string, revision int) error {
	err := s.write(ctx, func(ctx context.Context, tx dbtx) error {
		return purgeTaskDefinition(ctx, tx, scope, family, revision)
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: purge task definition: %w", err)
	}
	return nil
}

func purgeTaskDefinition(ctx context.Context, tx dbtx, scope store.Scope, family string, revision int) error {
	touchTaskDefinition(tx, scope, family, revision)
	res, err := tx.ExecContext(ctx, `DELETE FROM task_definitions
WHERE account = ? AND region = ? AND family = ? AND revision = ? AND status = 'DELETE_IN_PROGRESS'`,
		scope.Account, scope.Region, family, revision)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("%w: DELETE_IN_PROGRESS task definition %s:%d", store.ErrNotFound, family, revision)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM tags WHERE arn = ?`, store.TaskDefinitionARN(scope, family, revision)); err != nil {
		return err
	}
	// last_revision stays: a purged number is never handed out again.
	_, err = tx.ExecContext(ctx, `UPDATE families SET live_count = live_count - 1
WHERE account = ? AND region = ? AND family = ?`, scope.Account, scope.Region, family)
	return err
}

func scanTaskDefinition(row interface{ Scan(...any) error }) (store.TaskDefinition, error) {
	var (
		td                       store.TaskDefinition
		registered, dereg, delRq sql.NullInt64
	)
	err := row.Scan(&td.Account, &td.Region, &td.Family, &td.Revision, &td.Status, &registered, &dereg, &delRq, &td.Body)
	if err != nil {
		return store.TaskDefinition{}, err
	}
	td.RegisteredAt, td.DeregisteredAt, td.DeleteRequestedAt = toTime(registered), toTime(dereg), toTime(delRq)
	return td, nil
}

// fromTime and toTime map times to nullable unix milliseconds; the zero
// time is NULL.
func fromTime(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func toTime(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return time.UnixMilli(ms.Int64).UTC()
}
