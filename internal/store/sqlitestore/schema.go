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
	// 2: orchestration state. Each record keeps its ECS document in body
	// and copies into columns only what is filtered or sorted on; every
	// listing has an index that serves its filter and its order, so a page
	// is a seek (TestQueryPlans). Tables with a body keep their rowid: WITHOUT
	// ROWID tables suit small rows, and bodies run to kilobytes.
	`
CREATE TABLE clusters (
	account TEXT NOT NULL,
	region  TEXT NOT NULL,
	name    TEXT NOT NULL,
	status  TEXT NOT NULL,
	body    BLOB NOT NULL,
	PRIMARY KEY (account, region, name)
);
CREATE INDEX clusters_by_status ON clusters (account, region, status, name);

CREATE TABLE services (
	account             TEXT    NOT NULL,
	region              TEXT    NOT NULL,
	cluster             TEXT    NOT NULL,
	name                TEXT    NOT NULL,
	status              TEXT    NOT NULL,
	launch_type         TEXT    NOT NULL,
	scheduling_strategy TEXT    NOT NULL,
	family              TEXT    NOT NULL, -- the primary deployment's task definition
	revision            INTEGER NOT NULL,
	created_at          INTEGER, -- unix milliseconds; NULL is the zero time
	body                BLOB    NOT NULL,
	PRIMARY KEY (account, region, cluster, name)
);
-- The scheduler's walk over every live service, and the cluster's count of
-- ACTIVE and DRAINING services (status makes it covering).
CREATE INDEX services_to_schedule ON services (account, region, cluster, name, status) WHERE status <> 'INACTIVE';
CREATE INDEX services_by_task_definition ON services (account, region, family, revision) WHERE status <> 'INACTIVE';

CREATE TABLE tasks (
	account        TEXT    NOT NULL,
	region         TEXT    NOT NULL,
	cluster        TEXT    NOT NULL,
	id             TEXT    NOT NULL,
	family         TEXT    NOT NULL,
	revision       INTEGER NOT NULL,
	service        TEXT    NOT NULL, -- '' unless a service started the task
	started_by     TEXT    NOT NULL,
	launch_type    TEXT    NOT NULL,
	desired_status TEXT    NOT NULL,
	last_status    TEXT    NOT NULL,
	created_at     INTEGER,
	stopped_at     INTEGER,
	body           BLOB    NOT NULL,
	PRIMARY KEY (account, region, cluster, id)
);
-- ListTasks across every cluster of a scope, in ID order.
CREATE INDEX tasks_by_id ON tasks (account, region, id);
CREATE INDEX tasks_by_service ON tasks (account, region, cluster, service, id);
-- The supervisor's walk over every task not yet STOPPED.
CREATE INDEX tasks_to_supervise ON tasks (id) WHERE last_status <> 'STOPPED';
-- The reaper's walk over STOPPED tasks, oldest first.
CREATE INDEX tasks_stopped ON tasks (stopped_at) WHERE last_status = 'STOPPED';
-- A cluster's running and pending counts, covering and over live tasks only.
CREATE INDEX tasks_live ON tasks (account, region, cluster, last_status) WHERE last_status <> 'STOPPED';
CREATE INDEX tasks_by_task_definition ON tasks (account, region, family, revision) WHERE last_status <> 'STOPPED';

CREATE TABLE service_deployments (
	arn        TEXT NOT NULL PRIMARY KEY,
	account    TEXT NOT NULL,
	region     TEXT NOT NULL,
	cluster    TEXT NOT NULL,
	service    TEXT NOT NULL,
	status     TEXT NOT NULL,
	created_at INTEGER,
	body       BLOB NOT NULL
);
CREATE INDEX service_deployments_by_service ON service_deployments (account, region, cluster, service, created_at);

CREATE TABLE service_revisions (
	arn     TEXT NOT NULL PRIMARY KEY,
	account TEXT NOT NULL,
	region  TEXT NOT NULL,
	cluster TEXT NOT NULL,
	service TEXT NOT NULL,
	body    BLOB NOT NULL
);

CREATE TABLE account_settings (
	account   TEXT NOT NULL,
	region    TEXT NOT NULL,
	principal TEXT NOT NULL, -- '' for the account default
	name      TEXT NOT NULL,
	value     TEXT NOT NULL,
	PRIMARY KEY (account, region, principal, name)
) WITHOUT ROWID;

CREATE TABLE attributes (
	account     TEXT NOT NULL,
	region      TEXT NOT NULL,
	cluster     TEXT NOT NULL,
	target_type TEXT NOT NULL,
	target_id   TEXT NOT NULL,
	name        TEXT NOT NULL,
	value       TEXT NOT NULL,
	PRIMARY KEY (account, region, cluster, target_id, name)
) WITHOUT ROWID;
`,
	// 3: every revision a service refers to, not only its primary
	// deployment's, so none of them is purged while the service is live.
	`
CREATE TABLE service_task_definitions (
	account  TEXT    NOT NULL,
	region   TEXT    NOT NULL,
	cluster  TEXT    NOT NULL,
	service  TEXT    NOT NULL,
	family   TEXT    NOT NULL,
	revision INTEGER NOT NULL,
	PRIMARY KEY (account, region, cluster, service, family, revision)
) WITHOUT ROWID;
CREATE INDEX service_task_definitions_by_revision ON service_task_definitions (account, region, family, revision);
INSERT INTO service_task_definitions (account, region, cluster, service, family, revision)
SELECT account, region, cluster, name, family, revision FROM services WHERE family <> '';
`,
	// 4: container instances, and where tasks are placed. What a task
	// holds on its instance is kept with the task, so an instance's
	// remaining resources are derived from the tasks on it and a restart
	// can never book anything twice.
	`
CREATE TABLE container_instances (
	account           TEXT NOT NULL,
	region            TEXT NOT NULL,
	cluster           TEXT NOT NULL,
	id                TEXT NOT NULL,
	ec2_instance_id   TEXT NOT NULL, -- '' when unknown
	status            TEXT NOT NULL,
	capacity_provider TEXT NOT NULL, -- '' for none
	source            TEXT NOT NULL, -- api, simulated, docker-host
	registered_at     INTEGER,       -- unix milliseconds
	agent_update_at   INTEGER,       -- UpdateContainerAgent accepted; NULL: never
	body              BLOB NOT NULL,
	PRIMARY KEY (account, region, cluster, id)
);
CREATE INDEX container_instances_by_status ON container_instances (account, region, cluster, status, id);
CREATE INDEX container_instances_by_ec2 ON container_instances (account, region, cluster, ec2_instance_id, id);
CREATE INDEX container_instances_by_provider ON container_instances (account, region, cluster, capacity_provider, id) WHERE capacity_provider <> '';

ALTER TABLE tasks ADD COLUMN task_group         TEXT    NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN container_instance TEXT    NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN reserved_cpu       INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN reserved_memory    INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN reserved_ports     TEXT    NOT NULL DEFAULT ''; -- comma-separated
ALTER TABLE tasks ADD COLUMN reserved_ports_udp TEXT    NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN reserved_gpus      TEXT    NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN external_agent     INTEGER NOT NULL DEFAULT 0;
-- ListTasks' containerInstance filter, in ID order.
CREATE INDEX tasks_by_container_instance ON tasks (account, region, cluster, container_instance, id) WHERE container_instance <> '';
-- What holds resources: placed tasks not yet STOPPED.
CREATE INDEX tasks_placed ON tasks (account, region, cluster, container_instance, id) WHERE container_instance <> '' AND last_status <> 'STOPPED';
`,
	// 5: what every metrics scrape counts, each from a covering index
	// (store.Counter): tasks by last status and launch type, live services
	// by the rollout state of their PRIMARY deployment. Existing services
	// get their rollout state from their documents once, here.
	`
ALTER TABLE services ADD COLUMN rollout_state TEXT NOT NULL DEFAULT '';
UPDATE services SET rollout_state = COALESCE((
	SELECT json_extract(d.value, '$.rolloutState') FROM json_each(CAST(services.body AS TEXT), '$.deployments') AS d
	WHERE json_extract(d.value, '$.status') = 'PRIMARY'), '')
WHERE json_valid(CAST(body AS TEXT));
CREATE INDEX services_by_rollout_state ON services (status, rollout_state) WHERE status <> 'INACTIVE';
-- Launch type first: led by last_status, the planner took this index over
-- tasks_stopped for the reaper's walk and sorted (TestQueryPlans).
CREATE INDEX tasks_by_launch_type ON tasks (launch_type, last_status);
`,
	// 6: capacity providers (Auto Scaling group ones) with ecsd's
	// simulated Auto Scaling group beside each.
	`
CREATE TABLE capacity_providers (
	account             TEXT NOT NULL,
	region              TEXT NOT NULL,
	name                TEXT NOT NULL,
	status              TEXT NOT NULL,
	asg_arn             TEXT NOT NULL,
	delete_requested_at INTEGER,       -- unix milliseconds; NULL: never
	body                BLOB NOT NULL,
	asg                 BLOB NOT NULL,
	PRIMARY KEY (account, region, name)
);
CREATE INDEX capacity_providers_active ON capacity_providers (account, region, name) WHERE status = 'ACTIVE';
`,
	// Task scale-in protection (UpdateTaskProtection): when it expires,
	// unix milliseconds; NULL: not protected. Only SetTaskProtection
	// writes it, so the supervisor's puts never clear it.
	`ALTER TABLE tasks ADD COLUMN protected_until INTEGER;`,
	// Host ports chosen from the instance's ephemeral range for bridge
	// port mappings without a hostPort (store.FormatDynamicPorts), held
	// like the static ones while the task is not STOPPED.
	`ALTER TABLE tasks ADD COLUMN reserved_dynamic_ports TEXT NOT NULL DEFAULT '';`,
	// What a RunTask request asked of placement, for a task that waits in
	// PROVISIONING for capacity (store.Task.RequestedPlacement).
	`ALTER TABLE tasks ADD COLUMN requested_placement BLOB NOT NULL DEFAULT x'';`,
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
