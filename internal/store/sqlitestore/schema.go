package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/ecsd/ecsd/internal/store"
)

// migrations[i] takes the schema from version i to i+1; PRAGMA user_version
// holds the version. Steps are append-only: a released step is never edited,
// because data directories already carry its result.
var migrations = []string{
	// 1: task definitions and tags.
	`
CREATE TABLE families (
	account       TEXT    NOT NULL,
	region        TEXT    NOT NULL,
	family        TEXT    NOT NULL,
	-- Highest revision ever assigned; kept after purges so numbers are
	-- never reused.
	last_revision INTEGER NOT NULL,
	active_count  INTEGER NOT NULL, -- revisions with status ACTIVE
	live_count    INTEGER NOT NULL, -- revisions not yet purged
	-- The family-listing status, indexed so ListTaskDefinitionFamilies
	-- seeks instead of scanning families or revisions. NULL: not listed.
	status TEXT GENERATED ALWAYS AS (
		CASE WHEN active_count > 0 THEN 'ACTIVE' WHEN live_count > 0 THEN 'INACTIVE' END
	) VIRTUAL,
	PRIMARY KEY (account, region, family)
) WITHOUT ROWID;
CREATE INDEX families_by_status ON families (account, region, status, family);

CREATE TABLE task_definitions (
	account             TEXT    NOT NULL,
	region              TEXT    NOT NULL,
	family              TEXT    NOT NULL,
	revision            INTEGER NOT NULL,
	status              TEXT    NOT NULL,
	registered_at       INTEGER, -- unix milliseconds; NULL is the zero time
	deregistered_at     INTEGER,
	delete_requested_at INTEGER,
	body                BLOB    NOT NULL,
	PRIMARY KEY (account, region, family, revision),
	FOREIGN KEY (account, region, family) REFERENCES families (account, region, family)
);
CREATE INDEX task_definitions_by_status ON task_definitions (account, region, status, family, revision);
CREATE INDEX task_definitions_to_purge ON task_definitions (status, delete_requested_at);

CREATE TABLE tags (
	account TEXT NOT NULL,
	region  TEXT NOT NULL,
	arn     TEXT NOT NULL,
	key     TEXT NOT NULL,
	value   TEXT NOT NULL,
	PRIMARY KEY (arn, key)
) WITHOUT ROWID;
`,
}

// migrate brings the schema to len(migrations) in one transaction, so a
// crash mid-migration leaves the previous version intact.
func migrate(ctx context.Context, conn *sql.Conn, dir string) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("sqlitestore: the data dir %s was written by a newer ecsd (schema version %d, this binary knows up to %d): %w",
			dir, v, len(migrations), store.ErrNewerSchema)
	}
	if v == len(migrations) {
		return nil
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("sqlitestore: migrate to schema version %d: %w", i+1, err)
		}
	}
	// PRAGMA takes no parameters; the value is our own integer.
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(len(migrations))); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	return nil
}
