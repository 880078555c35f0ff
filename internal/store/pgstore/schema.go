package pgstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ecsd/ecsd/internal/store"
)

// migrations[i] takes the schema from version i to i+1; the table
// ecsd_schema holds the version. Steps are append-only: a released step is
// never edited, because databases already carry its result.
//
// The tables are sqlitestore's (the queries are shared, see internal/gen),
// in PostgreSQL's types: BIGINT for integers and unix-millisecond times,
// BYTEA for documents, and TEXT COLLATE "C" for every name, so that order
// and comparisons are byte-wise as in SQLite (ListTaskDefinitionFamilies'
// prefix bound relies on it) whatever the database's default collation.
var migrations = []string{
	// 1: the state sqlitestore's schema versions 1 to 4 hold.
	`
CREATE TABLE families (
	account       TEXT COLLATE "C" NOT NULL,
	region        TEXT COLLATE "C" NOT NULL,
	family        TEXT COLLATE "C" NOT NULL,
	-- Highest revision ever assigned; kept after purges so numbers are
	-- never reused. Registration bumps it in its transaction: the row
	-- lock orders concurrent registrations of a family, across replicas.
	last_revision BIGINT NOT NULL,
	active_count  BIGINT NOT NULL,
	live_count    BIGINT NOT NULL,
	status TEXT COLLATE "C" GENERATED ALWAYS AS (
		CASE WHEN active_count > 0 THEN 'ACTIVE' WHEN live_count > 0 THEN 'INACTIVE' END
	) STORED,
	PRIMARY KEY (account, region, family)
);
CREATE INDEX families_by_status ON families (account, region, status, family);

CREATE TABLE task_definitions (
	account             TEXT COLLATE "C" NOT NULL,
	region              TEXT COLLATE "C" NOT NULL,
	family              TEXT COLLATE "C" NOT NULL,
	revision            BIGINT NOT NULL,
	status              TEXT COLLATE "C" NOT NULL,
	registered_at       BIGINT,
	deregistered_at     BIGINT,
	delete_requested_at BIGINT,
	body                BYTEA NOT NULL,
	PRIMARY KEY (account, region, family, revision),
	FOREIGN KEY (account, region, family) REFERENCES families (account, region, family)
);
CREATE INDEX task_definitions_by_status ON task_definitions (account, region, status, family, revision);
CREATE INDEX task_definitions_to_purge ON task_definitions (status, delete_requested_at);

CREATE TABLE tags (
	account TEXT COLLATE "C" NOT NULL,
	region  TEXT COLLATE "C" NOT NULL,
	arn     TEXT COLLATE "C" NOT NULL,
	key     TEXT COLLATE "C" NOT NULL,
	value   TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (arn, key)
);

CREATE TABLE clusters (
	account TEXT COLLATE "C" NOT NULL,
	region  TEXT COLLATE "C" NOT NULL,
	name    TEXT COLLATE "C" NOT NULL,
	status  TEXT COLLATE "C" NOT NULL,
	body    BYTEA NOT NULL,
	PRIMARY KEY (account, region, name)
);
CREATE INDEX clusters_by_status ON clusters (account, region, status, name);

CREATE TABLE services (
	account             TEXT COLLATE "C" NOT NULL,
	region              TEXT COLLATE "C" NOT NULL,
	cluster             TEXT COLLATE "C" NOT NULL,
	name                TEXT COLLATE "C" NOT NULL,
	status              TEXT COLLATE "C" NOT NULL,
	launch_type         TEXT COLLATE "C" NOT NULL,
	scheduling_strategy TEXT COLLATE "C" NOT NULL,
	family              TEXT COLLATE "C" NOT NULL,
	revision            BIGINT NOT NULL,
	created_at          BIGINT,
	body                BYTEA NOT NULL,
	PRIMARY KEY (account, region, cluster, name)
);
CREATE INDEX services_to_schedule ON services (account, region, cluster, name, status) WHERE status <> 'INACTIVE';
CREATE INDEX services_by_task_definition ON services (account, region, family, revision) WHERE status <> 'INACTIVE';

CREATE TABLE service_task_definitions (
	account  TEXT COLLATE "C" NOT NULL,
	region   TEXT COLLATE "C" NOT NULL,
	cluster  TEXT COLLATE "C" NOT NULL,
	service  TEXT COLLATE "C" NOT NULL,
	family   TEXT COLLATE "C" NOT NULL,
	revision BIGINT NOT NULL,
	PRIMARY KEY (account, region, cluster, service, family, revision)
);
CREATE INDEX service_task_definitions_by_revision ON service_task_definitions (account, region, family, revision);

CREATE TABLE tasks (
	account            TEXT COLLATE "C" NOT NULL,
	region             TEXT COLLATE "C" NOT NULL,
	cluster            TEXT COLLATE "C" NOT NULL,
	id                 TEXT COLLATE "C" NOT NULL,
	family             TEXT COLLATE "C" NOT NULL,
	revision           BIGINT NOT NULL,
	service            TEXT COLLATE "C" NOT NULL,
	started_by         TEXT COLLATE "C" NOT NULL,
	launch_type        TEXT COLLATE "C" NOT NULL,
	desired_status     TEXT COLLATE "C" NOT NULL,
	last_status        TEXT COLLATE "C" NOT NULL,
	created_at         BIGINT,
	stopped_at         BIGINT,
	task_group         TEXT COLLATE "C" NOT NULL DEFAULT '',
	container_instance TEXT COLLATE "C" NOT NULL DEFAULT '',
	reserved_cpu       BIGINT NOT NULL DEFAULT 0,
	reserved_memory    BIGINT NOT NULL DEFAULT 0,
	reserved_ports     TEXT COLLATE "C" NOT NULL DEFAULT '',
	reserved_ports_udp TEXT COLLATE "C" NOT NULL DEFAULT '',
	reserved_gpus      TEXT COLLATE "C" NOT NULL DEFAULT '',
	external_agent     BOOLEAN NOT NULL DEFAULT false,
	body               BYTEA NOT NULL,
	PRIMARY KEY (account, region, cluster, id)
);
CREATE INDEX tasks_by_id ON tasks (account, region, id);
CREATE INDEX tasks_by_service ON tasks (account, region, cluster, service, id);
CREATE INDEX tasks_to_supervise ON tasks (id) WHERE last_status <> 'STOPPED';
CREATE INDEX tasks_stopped ON tasks (stopped_at) WHERE last_status = 'STOPPED';
CREATE INDEX tasks_live ON tasks (account, region, cluster, last_status) WHERE last_status <> 'STOPPED';
CREATE INDEX tasks_by_task_definition ON tasks (account, region, family, revision) WHERE last_status <> 'STOPPED';
CREATE INDEX tasks_by_container_instance ON tasks (account, region, cluster, container_instance, id) WHERE container_instance <> '';
CREATE INDEX tasks_placed ON tasks (account, region, cluster, container_instance, id) WHERE container_instance <> '' AND last_status <> 'STOPPED';

CREATE TABLE service_deployments (
	arn        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	account    TEXT COLLATE "C" NOT NULL,
	region     TEXT COLLATE "C" NOT NULL,
	cluster    TEXT COLLATE "C" NOT NULL,
	service    TEXT COLLATE "C" NOT NULL,
	status     TEXT COLLATE "C" NOT NULL,
	created_at BIGINT,
	body       BYTEA NOT NULL,
	-- SQLite's implicit rowid, which the shared query orders ties by
	-- (newest inserted first).
	rowid      BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX service_deployments_by_service ON service_deployments (account, region, cluster, service, created_at, rowid);

CREATE TABLE service_revisions (
	arn     TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	account TEXT COLLATE "C" NOT NULL,
	region  TEXT COLLATE "C" NOT NULL,
	cluster TEXT COLLATE "C" NOT NULL,
	service TEXT COLLATE "C" NOT NULL,
	body    BYTEA NOT NULL
);

CREATE TABLE account_settings (
	account   TEXT COLLATE "C" NOT NULL,
	region    TEXT COLLATE "C" NOT NULL,
	principal TEXT COLLATE "C" NOT NULL,
	name      TEXT COLLATE "C" NOT NULL,
	value     TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (account, region, principal, name)
);

CREATE TABLE attributes (
	account     TEXT COLLATE "C" NOT NULL,
	region      TEXT COLLATE "C" NOT NULL,
	cluster     TEXT COLLATE "C" NOT NULL,
	target_type TEXT COLLATE "C" NOT NULL,
	target_id   TEXT COLLATE "C" NOT NULL,
	name        TEXT COLLATE "C" NOT NULL,
	value       TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (account, region, cluster, target_id, name)
);

CREATE TABLE container_instances (
	account           TEXT COLLATE "C" NOT NULL,
	region            TEXT COLLATE "C" NOT NULL,
	cluster           TEXT COLLATE "C" NOT NULL,
	id                TEXT COLLATE "C" NOT NULL,
	ec2_instance_id   TEXT COLLATE "C" NOT NULL,
	status            TEXT COLLATE "C" NOT NULL,
	capacity_provider TEXT COLLATE "C" NOT NULL,
	source            TEXT COLLATE "C" NOT NULL,
	registered_at     BIGINT,
	agent_update_at   BIGINT,
	body              BYTEA NOT NULL,
	PRIMARY KEY (account, region, cluster, id)
);
CREATE INDEX container_instances_by_status ON container_instances (account, region, cluster, status, id);
CREATE INDEX container_instances_by_ec2 ON container_instances (account, region, cluster, ec2_instance_id, id);
CREATE INDEX container_instances_by_provider ON container_instances (account, region, cluster, capacity_provider, id) WHERE capacity_provider <> '';
`,
	// 2: sqlitestore's version 5: what every metrics scrape counts
	// (store.Counter), from covering indexes.
	`
ALTER TABLE services ADD COLUMN rollout_state TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX services_by_rollout_state ON services (status, rollout_state) WHERE status <> 'INACTIVE';
CREATE INDEX tasks_by_launch_type ON tasks (launch_type, last_status);
`,
	// 3: sqlitestore's version 6: capacity providers with ecsd's simulated
	// Auto Scaling group beside each.
	`
CREATE TABLE capacity_providers (
	account             TEXT COLLATE "C" NOT NULL,
	region              TEXT COLLATE "C" NOT NULL,
	name                TEXT COLLATE "C" NOT NULL,
	status              TEXT COLLATE "C" NOT NULL,
	asg_arn             TEXT COLLATE "C" NOT NULL,
	delete_requested_at BIGINT,
	body                BYTEA NOT NULL,
	asg                 BYTEA NOT NULL,
	PRIMARY KEY (account, region, name)
);
CREATE INDEX capacity_providers_active ON capacity_providers (account, region, name) WHERE status = 'ACTIVE';
`,
	// Task scale-in protection (UpdateTaskProtection): when it expires,
	// unix milliseconds; NULL: not protected (sqlitestore's migration of
	// the same name).
	`ALTER TABLE tasks ADD COLUMN protected_until BIGINT;`,
	// 5: the leader lease's fencing token (lease.go): bumped by every
	// replica that takes the lease, checked by every write the leader's
	// loops make.
	`
CREATE TABLE ecsd_lease (
	id    BIGINT PRIMARY KEY CHECK (id = 1),
	epoch BIGINT NOT NULL
);
INSERT INTO ecsd_lease (id, epoch) VALUES (1, 0);
`,
	// 6: host ports chosen from the instance's ephemeral range
	// (sqlitestore's migration of the same column).
	`ALTER TABLE tasks ADD COLUMN reserved_dynamic_ports TEXT COLLATE "C" NOT NULL DEFAULT '';`,
	// 7: what a RunTask request asked of placement, for a task waiting in
	// PROVISIONING (sqlitestore's migration of the same column).
	`ALTER TABLE tasks ADD COLUMN requested_placement BYTEA NOT NULL DEFAULT '';`,
}

// migrationLock is the advisory lock key replicas starting together take
// around migrating, so that one migrates and the others then see its
// result ("ecsd" in ASCII).
const migrationLock = 0x65637364

// migrate brings the schema to len(migrations) in one transaction, so a
// crash mid-migration leaves the previous version intact.
func migrate(ctx context.Context, db *sql.DB, where string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLock); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS ecsd_schema (version BIGINT NOT NULL)"); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	var v int
	err = tx.QueryRowContext(ctx, "SELECT version FROM ecsd_schema").Scan(&v)
	switch {
	case err == sql.ErrNoRows:
		if _, err := tx.ExecContext(ctx, "INSERT INTO ecsd_schema (version) VALUES (0)"); err != nil {
			return fmt.Errorf("pgstore: migrate: %w", err)
		}
	case err != nil:
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("pgstore: the database %s was written by a newer ecsd (schema version %d, this binary knows up to %d): %w",
			where, v, len(migrations), store.ErrNewerSchema)
	}
	if v == len(migrations) {
		return nil
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("pgstore: migrate to schema version %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "UPDATE ecsd_schema SET version = $1", len(migrations)); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	return nil
}
