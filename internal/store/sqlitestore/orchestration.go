package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ecsd/ecsd/internal/store"
)

// Update implements store.Store. fn runs in its own savepoint of the
// writer's batch transaction, so its error undoes exactly its writes.
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	var fnErr error
	err := s.write(ctx, func(ctx context.Context, db dbtx) error {
		fnErr = fn(&tx{ctx: ctx, db: db})
		return fnErr
	})
	if fnErr != nil {
		// The caller's own error (an *ecs.Error, say) goes back untouched:
		// callers match it with errors.As and show its message to clients.
		// (When fn failed, write returns exactly its error; fnErr is read
		// after write's happens-before edge with the writer.)
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: update: %w", err)
	}
	return nil
}

// View implements store.Store.
func (s *Store) View(ctx context.Context, fn func(tx store.ReadTx) error) error {
	var fnErr error
	err := s.read(ctx, func(ctx context.Context, db dbtx) error {
		fnErr = fn(&tx{ctx: ctx, db: db})
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: view: %w", err)
	}
	return nil
}

// tx is store.Tx over one of the store's transactions: the writer's batch
// (inside Update) or a read-only snapshot (inside View). The interface's
// methods take no context, so the transaction's own is kept here: the
// writer's for Update, whose statements must not be interrupted by one
// caller giving up, and the caller's for View.
type tx struct {
	ctx context.Context
	db  dbtx
}

var _ store.Tx = (*tx)(nil)

// fail wraps a store fault with what was being done.
func fail(what string, err error) error {
	return fmt.Errorf("sqlitestore: %s: %w", what, err)
}

// notFound is the getters' error for a missing record.
func notFound(format string, args ...any) error {
	return fmt.Errorf("sqlitestore: %s: %w", fmt.Sprintf(format, args...), store.ErrNotFound)
}

// limitArg turns "0 for no limit" into a bound both SQLite and PostgreSQL
// accept (SQLite's LIMIT -1 is an error in PostgreSQL, whose LIMIT ALL is
// one in SQLite); pgstore shares these queries.
func limitArg(n int) int64 {
	if n <= 0 {
		return math.MaxInt64
	}
	return int64(n)
}

// blob binds a body: the column is NOT NULL, and a nil slice binds as NULL.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// inList returns "(?, ?, ...)" for n values.
func inList(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

func appendStrings(args []any, vs []string) []any {
	for _, v := range vs {
		args = append(args, v)
	}
	return args
}

// requireKey rejects a record whose key has an empty part: it could never
// be addressed again, and it is always a caller's bug.
func requireKey(what string, parts ...string) error {
	for _, p := range parts {
		if p == "" {
			return fmt.Errorf("sqlitestore: %s: key part is empty (%q)", what, parts)
		}
	}
	return nil
}

// Task definitions.

func (t *tx) TaskDefinition(scope store.Scope, family string, revision int) (store.TaskDefinition, error) {
	td, err := getTaskDefinition(t.ctx, t.db, scope, family, revision)
	if err != nil {
		return store.TaskDefinition{}, fmt.Errorf("sqlitestore: task definition: %w", err)
	}
	return td, nil
}

func (t *tx) LatestActiveTaskDefinition(scope store.Scope, family string) (store.TaskDefinition, error) {
	td, err := scanTaskDefinition(t.db.QueryRowContext(t.ctx, latestActiveSQL, scope.Account, scope.Region, family))
	if errors.Is(err, sql.ErrNoRows) {
		return store.TaskDefinition{}, notFound("no ACTIVE revision of task definition family %s", family)
	}
	if err != nil {
		return store.TaskDefinition{}, fail("latest active task definition", err)
	}
	return td, nil
}

// Queries whose plans TestQueryPlans checks. The literal status conditions
// are what lets SQLite use the partial indexes.
const (
	taskDefinitionInUseSQL = `SELECT EXISTS (
	SELECT 1 FROM tasks WHERE account = ? AND region = ? AND family = ? AND revision = ? AND last_status <> 'STOPPED'
) OR EXISTS (
	SELECT 1 FROM service_task_definitions AS d
	JOIN services AS s ON s.account = d.account AND s.region = d.region AND s.cluster = d.cluster AND s.name = d.service
	WHERE d.account = ? AND d.region = ? AND d.family = ? AND d.revision = ? AND s.status <> 'INACTIVE'
)`
	clusterTaskCountsSQL = `SELECT count(*) FILTER (WHERE last_status = 'RUNNING'), count(*) FILTER (WHERE last_status <> 'RUNNING')
FROM tasks WHERE account = ? AND region = ? AND cluster = ? AND last_status <> 'STOPPED'`
	clusterServiceCountSQL = `SELECT count(*) FROM services
WHERE account = ? AND region = ? AND cluster = ? AND status <> 'INACTIVE' AND status IN ('ACTIVE', 'DRAINING')`
	servicesToScheduleSQL = `SELECT ` + serviceColumns + ` FROM services
WHERE status <> 'INACTIVE' AND (account, region, cluster, name) > (?, ?, ?, ?)
ORDER BY account, region, cluster, name LIMIT ?`
	tasksToSuperviseSQL = `SELECT ` + taskColumns + ` FROM tasks
WHERE last_status <> 'STOPPED' AND id > ? ORDER BY id LIMIT ?`
	stoppedTasksSQL = `SELECT ` + taskColumns + ` FROM tasks
WHERE last_status = 'STOPPED' AND stopped_at <= ? ORDER BY stopped_at LIMIT ?`
)

func (t *tx) TaskDefinitionInUse(scope store.Scope, family string, revision int) (bool, error) {
	var inUse bool
	err := t.db.QueryRowContext(t.ctx, taskDefinitionInUseSQL,
		scope.Account, scope.Region, family, revision,
		scope.Account, scope.Region, family, revision).Scan(&inUse)
	if err != nil {
		return false, fail("task definition in use", err)
	}
	return inUse, nil
}

func (t *tx) PurgeTaskDefinition(scope store.Scope, family string, revision int) error {
	if err := purgeTaskDefinition(t.ctx, t.db, scope, family, revision); err != nil {
		return fail("purge task definition", err)
	}
	return nil
}

// Clusters.

const clusterColumns = "account, region, name, status, body"

func scanCluster(row interface{ Scan(...any) error }) (store.Cluster, error) {
	var c store.Cluster
	err := row.Scan(&c.Account, &c.Region, &c.Name, &c.Status, &c.Body)
	return c, err
}

func (t *tx) Cluster(scope store.Scope, name string) (store.Cluster, error) {
	c, err := scanCluster(t.db.QueryRowContext(t.ctx, `SELECT `+clusterColumns+` FROM clusters
WHERE account = ? AND region = ? AND name = ?`, scope.Account, scope.Region, name))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Cluster{}, notFound("cluster %s", name)
	}
	if err != nil {
		return store.Cluster{}, fail("cluster", err)
	}
	return c, nil
}

func clustersSQL(scope store.Scope, q store.ClustersQuery) (string, []any) {
	var b strings.Builder
	b.WriteString(`SELECT ` + clusterColumns + ` FROM clusters WHERE account = ? AND region = ?`)
	args := []any{scope.Account, scope.Region}
	if q.Status != "" {
		b.WriteString(" AND status = ?")
		args = append(args, q.Status)
	}
	if q.After != "" {
		b.WriteString(" AND name > ?")
		args = append(args, q.After)
	}
	b.WriteString(" ORDER BY name LIMIT ?")
	return b.String(), append(args, limitArg(q.Limit))
}

func (t *tx) Clusters(scope store.Scope, q store.ClustersQuery) ([]store.Cluster, error) {
	query, args := clustersSQL(scope, q)
	cs, err := queryAll(t.ctx, t.db, query, args, func(rows *sql.Rows) (store.Cluster, error) { return scanCluster(rows) })
	if err != nil {
		return nil, fail("clusters", err)
	}
	return cs, nil
}

const allClustersSQL = `SELECT ` + clusterColumns + ` FROM clusters
WHERE (account, region, name) > (?, ?, ?) AND (? = '' OR status = ?) ORDER BY account, region, name LIMIT ?`

func (t *tx) AllClusters(status string, after *store.Cluster, limit int) ([]store.Cluster, error) {
	var a store.Cluster
	if after != nil {
		a = *after
	}
	cs, err := queryAll(t.ctx, t.db, allClustersSQL, []any{a.Account, a.Region, a.Name, status, status, limitArg(limit)},
		func(rows *sql.Rows) (store.Cluster, error) { return scanCluster(rows) })
	if err != nil {
		return nil, fail("all clusters", err)
	}
	return cs, nil
}

func (t *tx) ClusterCounts(scope store.Scope, cluster string) (store.ClusterCounts, error) {
	var c store.ClusterCounts
	err := t.db.QueryRowContext(t.ctx, clusterTaskCountsSQL, scope.Account, scope.Region, cluster).Scan(&c.RunningTasks, &c.PendingTasks)
	if err != nil {
		return store.ClusterCounts{}, fail("cluster counts", err)
	}
	err = t.db.QueryRowContext(t.ctx, clusterServiceCountSQL, scope.Account, scope.Region, cluster).Scan(&c.ActiveServices)
	if err != nil {
		return store.ClusterCounts{}, fail("cluster counts", err)
	}
	err = t.db.QueryRowContext(t.ctx, clusterInstanceCountSQL, scope.Account, scope.Region, cluster).Scan(&c.RegisteredInstances)
	if err != nil {
		return store.ClusterCounts{}, fail("cluster counts", err)
	}
	return c, nil
}

func (t *tx) PutCluster(c store.Cluster) error {
	if err := requireKey("put cluster", c.Account, c.Region, c.Name); err != nil {
		return err
	}
	_, err := t.db.ExecContext(t.ctx, `INSERT INTO clusters (`+clusterColumns+`) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (account, region, name) DO UPDATE SET status = excluded.status, body = excluded.body`,
		c.Account, c.Region, c.Name, c.Status, blob(c.Body))
	if err != nil {
		return fail("put cluster "+c.Name, err)
	}
	return nil
}

// Services.

const serviceColumns = "account, region, cluster, name, status, launch_type, scheduling_strategy, family, revision, created_at, body"

func scanService(row interface{ Scan(...any) error }) (store.Service, error) {
	var (
		s       store.Service
		created sql.NullInt64
	)
	err := row.Scan(&s.Account, &s.Region, &s.Cluster, &s.Name, &s.Status, &s.LaunchType, &s.SchedulingStrategy,
		&s.TaskDefinition.Family, &s.TaskDefinition.Revision, &created, &s.Body)
	s.CreatedAt = toTime(created)
	return s, err
}

func (t *tx) Service(scope store.Scope, cluster, name string) (store.Service, error) {
	s, err := scanService(t.db.QueryRowContext(t.ctx, `SELECT `+serviceColumns+` FROM services
WHERE account = ? AND region = ? AND cluster = ? AND name = ?`, scope.Account, scope.Region, cluster, name))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Service{}, notFound("service %s in cluster %s", name, cluster)
	}
	if err != nil {
		return store.Service{}, fail("service", err)
	}
	return s, nil
}

func servicesSQL(scope store.Scope, q store.ServicesQuery) (string, []any) {
	var b strings.Builder
	b.WriteString(`SELECT ` + serviceColumns + ` FROM services WHERE account = ? AND region = ? AND cluster = ?`)
	args := []any{scope.Account, scope.Region, q.Cluster}
	if len(q.Statuses) > 0 {
		b.WriteString(" AND status IN " + inList(len(q.Statuses)))
		args = appendStrings(args, q.Statuses)
	}
	if q.LaunchType != "" {
		b.WriteString(" AND launch_type = ?")
		args = append(args, q.LaunchType)
	}
	if q.SchedulingStrategy != "" {
		b.WriteString(" AND scheduling_strategy = ?")
		args = append(args, q.SchedulingStrategy)
	}
	if q.After != "" {
		b.WriteString(" AND name > ?")
		args = append(args, q.After)
	}
	b.WriteString(" ORDER BY name LIMIT ?")
	return b.String(), append(args, limitArg(q.Limit))
}

func (t *tx) Services(scope store.Scope, q store.ServicesQuery) ([]store.Service, error) {
	if q.Cluster == "" {
		return nil, errors.New("sqlitestore: services: the query names no cluster")
	}
	query, args := servicesSQL(scope, q)
	ss, err := queryAll(t.ctx, t.db, query, args, func(rows *sql.Rows) (store.Service, error) { return scanService(rows) })
	if err != nil {
		return nil, fail("services", err)
	}
	return ss, nil
}

func (t *tx) ServicesToSchedule(after *store.Service, limit int) ([]store.Service, error) {
	// The empty key sorts before every real one.
	var a store.Service
	if after != nil {
		a = *after
	}
	ss, err := queryAll(t.ctx, t.db, servicesToScheduleSQL, []any{a.Account, a.Region, a.Cluster, a.Name, limitArg(limit)},
		func(rows *sql.Rows) (store.Service, error) { return scanService(rows) })
	if err != nil {
		return nil, fail("services to schedule", err)
	}
	return ss, nil
}

func (t *tx) PutService(s store.Service) error {
	if err := requireKey("put service", s.Account, s.Region, s.Cluster, s.Name); err != nil {
		return err
	}
	_, err := t.db.ExecContext(t.ctx, `INSERT INTO services (`+serviceColumns+`, rollout_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account, region, cluster, name) DO UPDATE SET
	status = excluded.status, launch_type = excluded.launch_type, scheduling_strategy = excluded.scheduling_strategy,
	family = excluded.family, revision = excluded.revision, created_at = excluded.created_at, body = excluded.body,
	rollout_state = excluded.rollout_state`,
		s.Account, s.Region, s.Cluster, s.Name, s.Status, s.LaunchType, s.SchedulingStrategy,
		s.TaskDefinition.Family, s.TaskDefinition.Revision, fromTime(s.CreatedAt), blob(s.Body), s.RolloutState)
	if err != nil {
		return fail("put service "+s.Name, err)
	}
	_, err = t.db.ExecContext(t.ctx, `DELETE FROM service_task_definitions WHERE account = ? AND region = ? AND cluster = ? AND service = ?`,
		s.Account, s.Region, s.Cluster, s.Name)
	if err != nil {
		return fail("put service "+s.Name, err)
	}
	for _, k := range append([]store.TaskDefinitionKey{s.TaskDefinition}, s.TaskDefinitions...) {
		if k.Family == "" {
			continue
		}
		_, err := t.db.ExecContext(t.ctx, `INSERT INTO service_task_definitions (account, region, cluster, service, family, revision)
VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, s.Account, s.Region, s.Cluster, s.Name, k.Family, k.Revision)
		if err != nil {
			return fail("put service "+s.Name, err)
		}
	}
	return nil
}

// Tasks.

const taskColumns = "account, region, cluster, id, family, revision, service, started_by, launch_type, desired_status, last_status, created_at, stopped_at, " +
	"task_group, container_instance, reserved_cpu, reserved_memory, reserved_ports, reserved_ports_udp, reserved_gpus, external_agent, protected_until, reserved_dynamic_ports, requested_placement, body"

func scanTask(row interface{ Scan(...any) error }) (store.Task, error) {
	var (
		k                       store.Task
		created, stopped        sql.NullInt64
		protected               sql.NullInt64
		ports, portsUDP, gpuIDs string
		dynamic                 string
	)
	err := row.Scan(&k.Account, &k.Region, &k.Cluster, &k.ID, &k.TaskDefinition.Family, &k.TaskDefinition.Revision,
		&k.Service, &k.StartedBy, &k.LaunchType, &k.DesiredStatus, &k.LastStatus, &created, &stopped,
		&k.Group, &k.ContainerInstance, &k.Reservation.CPU, &k.Reservation.Memory, &ports, &portsUDP, &gpuIDs, &k.ExternalAgent, &protected, &dynamic, &k.RequestedPlacement, &k.Body)
	k.CreatedAt, k.StoppedAt, k.ProtectedUntil = toTime(created), toTime(stopped), toTime(protected)
	k.Reservation.Ports, k.Reservation.PortsUDP, k.Reservation.GPUIDs = splitInts(ports), splitInts(portsUDP), splitStrings(gpuIDs)
	k.Reservation.Dynamic = store.ParseDynamicPorts(dynamic)
	if len(k.RequestedPlacement) == 0 {
		k.RequestedPlacement = nil
	}
	return k, err
}

func (t *tx) Task(scope store.Scope, cluster, id string) (store.Task, error) {
	k, err := scanTask(t.db.QueryRowContext(t.ctx, `SELECT `+taskColumns+` FROM tasks
WHERE account = ? AND region = ? AND cluster = ? AND id = ?`, scope.Account, scope.Region, cluster, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Task{}, notFound("task %s in cluster %s", id, cluster)
	}
	if err != nil {
		return store.Task{}, fail("task", err)
	}
	return k, nil
}

func tasksSQL(scope store.Scope, q store.TasksQuery) (string, []any) {
	var b strings.Builder
	b.WriteString(`SELECT ` + taskColumns + ` FROM tasks`)
	switch {
	case q.Cluster != "" && q.ContainerInstance != "":
		b.WriteString(" INDEXED BY tasks_by_container_instance")
	case q.Cluster != "" && q.Service != "":
		// Without INDEXED BY the planner prefers the primary key once
		// there is a cursor, walking every later task of the cluster.
		b.WriteString(" INDEXED BY tasks_by_service")
	}
	b.WriteString(" WHERE account = ? AND region = ?")
	args := []any{scope.Account, scope.Region}
	for _, f := range []struct {
		column, value string
	}{
		{"cluster", q.Cluster},
		{"service", q.Service},
		{"family", q.Family},
		{"started_by", q.StartedBy},
		{"launch_type", q.LaunchType},
		{"desired_status", q.DesiredStatus},
	} {
		if f.value != "" {
			b.WriteString(" AND " + f.column + " = ?")
			args = append(args, f.value)
		}
	}
	if q.NotLastStatus != "" {
		b.WriteString(" AND last_status <> ?")
		args = append(args, q.NotLastStatus)
	}
	if k := q.TaskDefinition; k != nil {
		b.WriteString(" AND family = ? AND revision = ?")
		args = append(args, k.Family, k.Revision)
	}
	if q.ContainerInstance != "" {
		// The literal lets the partial index serve the filter.
		b.WriteString(" AND container_instance = ? AND container_instance <> ''")
		args = append(args, q.ContainerInstance)
	}
	if q.After != "" {
		b.WriteString(" AND id > ?")
		args = append(args, q.After)
	}
	b.WriteString(" ORDER BY id LIMIT ?")
	return b.String(), append(args, limitArg(q.Limit))
}

func (t *tx) Tasks(scope store.Scope, q store.TasksQuery) ([]store.Task, error) {
	query, args := tasksSQL(scope, q)
	ks, err := queryAll(t.ctx, t.db, query, args, func(rows *sql.Rows) (store.Task, error) { return scanTask(rows) })
	if err != nil {
		return nil, fail("tasks", err)
	}
	return ks, nil
}

func (t *tx) TasksToSupervise(afterID string, limit int) ([]store.Task, error) {
	ks, err := queryAll(t.ctx, t.db, tasksToSuperviseSQL, []any{afterID, limitArg(limit)},
		func(rows *sql.Rows) (store.Task, error) { return scanTask(rows) })
	if err != nil {
		return nil, fail("tasks to supervise", err)
	}
	return ks, nil
}

func (t *tx) StoppedTasksBefore(at time.Time, limit int) ([]store.Task, error) {
	ks, err := queryAll(t.ctx, t.db, stoppedTasksSQL, []any{at.UnixMilli(), limitArg(limit)},
		func(rows *sql.Rows) (store.Task, error) { return scanTask(rows) })
	if err != nil {
		return nil, fail("stopped tasks", err)
	}
	return ks, nil
}

func (t *tx) PutTask(k store.Task) error {
	if err := requireKey("put task", k.Account, k.Region, k.Cluster, k.ID); err != nil {
		return err
	}
	if k.LastStatus == store.TaskStopped && k.StoppedAt.IsZero() {
		// StoppedTasksBefore could never return it: it would stay forever.
		return fmt.Errorf("sqlitestore: put task %s: STOPPED without a StoppedAt", k.ID)
	}
	// The placement columns (container_instance, reserved_*,
	// external_agent) are written once: by the insert, or by the update
	// that places a task that waited in PROVISIONING without an instance
	// (capacity providers). A placed task never moves.
	r := k.Reservation
	_, err := t.db.ExecContext(t.ctx, `INSERT INTO tasks (`+taskColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account, region, cluster, id) DO UPDATE SET
	family = excluded.family, revision = excluded.revision, service = excluded.service, started_by = excluded.started_by,
	launch_type = excluded.launch_type, desired_status = excluded.desired_status, last_status = excluded.last_status,
	created_at = excluded.created_at, stopped_at = excluded.stopped_at, task_group = excluded.task_group, body = excluded.body,
	reserved_cpu = CASE WHEN tasks.container_instance = '' THEN excluded.reserved_cpu ELSE tasks.reserved_cpu END,
	reserved_memory = CASE WHEN tasks.container_instance = '' THEN excluded.reserved_memory ELSE tasks.reserved_memory END,
	reserved_ports = CASE WHEN tasks.container_instance = '' THEN excluded.reserved_ports ELSE tasks.reserved_ports END,
	reserved_ports_udp = CASE WHEN tasks.container_instance = '' THEN excluded.reserved_ports_udp ELSE tasks.reserved_ports_udp END,
	reserved_gpus = CASE WHEN tasks.container_instance = '' THEN excluded.reserved_gpus ELSE tasks.reserved_gpus END,
	requested_placement = CASE WHEN length(tasks.requested_placement) = 0 THEN excluded.requested_placement ELSE tasks.requested_placement END,
	reserved_dynamic_ports = CASE WHEN tasks.container_instance = '' THEN excluded.reserved_dynamic_ports ELSE tasks.reserved_dynamic_ports END,
	external_agent = CASE WHEN tasks.container_instance = '' THEN excluded.external_agent ELSE tasks.external_agent END,
	container_instance = CASE WHEN tasks.container_instance = '' THEN excluded.container_instance ELSE tasks.container_instance END`,
		k.Account, k.Region, k.Cluster, k.ID, k.TaskDefinition.Family, k.TaskDefinition.Revision,
		k.Service, k.StartedBy, k.LaunchType, k.DesiredStatus, k.LastStatus,
		fromTime(k.CreatedAt), fromTime(k.StoppedAt),
		k.Group, k.ContainerInstance, r.CPU, r.Memory, joinInts(r.Ports), joinInts(r.PortsUDP), strings.Join(r.GPUIDs, ","), k.ExternalAgent,
		fromTime(k.ProtectedUntil), store.FormatDynamicPorts(r.Dynamic), blob(k.RequestedPlacement), blob(k.Body))
	if err != nil {
		return fail("put task "+k.ID, err)
	}
	return nil
}

func (t *tx) SetTaskProtection(scope store.Scope, cluster, id string, until time.Time) error {
	res, err := t.db.ExecContext(t.ctx, `UPDATE tasks SET protected_until = ? WHERE account = ? AND region = ? AND cluster = ? AND id = ?`,
		fromTime(until), scope.Account, scope.Region, cluster, id)
	if err != nil {
		return fail("set task protection "+id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return notFound("task %s in cluster %s", id, cluster)
	}
	return nil
}

func (t *tx) DeleteTask(scope store.Scope, cluster, id string) error {
	_, err := t.db.ExecContext(t.ctx, `DELETE FROM tasks WHERE account = ? AND region = ? AND cluster = ? AND id = ?`,
		scope.Account, scope.Region, cluster, id)
	if err != nil {
		return fail("delete task "+id, err)
	}
	return t.DeleteTags(store.TaskARN(scope, cluster, id))
}

// Service deployments and revisions.

const deploymentColumns = "arn, account, region, cluster, service, status, created_at, body"

func scanDeployment(row interface{ Scan(...any) error }) (store.ServiceDeployment, error) {
	var (
		d       store.ServiceDeployment
		created sql.NullInt64
	)
	err := row.Scan(&d.ARN, &d.Account, &d.Region, &d.Cluster, &d.Service, &d.Status, &created, &d.Body)
	d.CreatedAt = toTime(created)
	return d, err
}

func (t *tx) ServiceDeployment(scope store.Scope, arn string) (store.ServiceDeployment, error) {
	d, err := scanDeployment(t.db.QueryRowContext(t.ctx, `SELECT `+deploymentColumns+` FROM service_deployments
WHERE arn = ? AND account = ? AND region = ?`, arn, scope.Account, scope.Region))
	if errors.Is(err, sql.ErrNoRows) {
		return store.ServiceDeployment{}, notFound("service deployment %s", arn)
	}
	if err != nil {
		return store.ServiceDeployment{}, fail("service deployment", err)
	}
	return d, nil
}

// serviceDeploymentsSQL reads the service's index backwards. CreatedAfter
// and CreatedBefore are strict bounds, as ECS words them ("created after
// this time").
func serviceDeploymentsSQL(scope store.Scope, q store.ServiceDeploymentsQuery) (string, []any) {
	var b strings.Builder
	b.WriteString(`SELECT ` + deploymentColumns + ` FROM service_deployments
WHERE account = ? AND region = ? AND cluster = ? AND service = ?`)
	args := []any{scope.Account, scope.Region, q.Cluster, q.Service}
	if len(q.Statuses) > 0 {
		b.WriteString(" AND status IN " + inList(len(q.Statuses)))
		args = appendStrings(args, q.Statuses)
	}
	if !q.CreatedAfter.IsZero() {
		b.WriteString(" AND created_at > ?")
		args = append(args, q.CreatedAfter.UnixMilli())
	}
	if !q.CreatedBefore.IsZero() {
		b.WriteString(" AND created_at < ?")
		args = append(args, q.CreatedBefore.UnixMilli())
	}
	// Ties (one millisecond) go newest-inserted first, which the index's
	// trailing rowid gives for free.
	b.WriteString(" ORDER BY created_at DESC, rowid DESC LIMIT ?")
	return b.String(), append(args, limitArg(q.Limit))
}

func (t *tx) ServiceDeployments(scope store.Scope, q store.ServiceDeploymentsQuery) ([]store.ServiceDeployment, error) {
	query, args := serviceDeploymentsSQL(scope, q)
	ds, err := queryAll(t.ctx, t.db, query, args, func(rows *sql.Rows) (store.ServiceDeployment, error) { return scanDeployment(rows) })
	if err != nil {
		return nil, fail("service deployments", err)
	}
	return ds, nil
}

func (t *tx) PutServiceDeployment(d store.ServiceDeployment) error {
	if err := requireKey("put service deployment", d.ARN, d.Account, d.Region); err != nil {
		return err
	}
	_, err := t.db.ExecContext(t.ctx, `INSERT INTO service_deployments (`+deploymentColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (arn) DO UPDATE SET account = excluded.account, region = excluded.region, cluster = excluded.cluster,
	service = excluded.service, status = excluded.status, created_at = excluded.created_at, body = excluded.body`,
		d.ARN, d.Account, d.Region, d.Cluster, d.Service, d.Status, fromTime(d.CreatedAt), blob(d.Body))
	if err != nil {
		return fail("put service deployment "+d.ARN, err)
	}
	return nil
}

func (t *tx) ServiceRevision(scope store.Scope, arn string) (store.ServiceRevision, error) {
	var r store.ServiceRevision
	err := t.db.QueryRowContext(t.ctx, `SELECT arn, account, region, cluster, service, body FROM service_revisions
WHERE arn = ? AND account = ? AND region = ?`, arn, scope.Account, scope.Region).Scan(&r.ARN, &r.Account, &r.Region, &r.Cluster, &r.Service, &r.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ServiceRevision{}, notFound("service revision %s", arn)
	}
	if err != nil {
		return store.ServiceRevision{}, fail("service revision", err)
	}
	return r, nil
}

func (t *tx) PutServiceRevision(r store.ServiceRevision) error {
	if err := requireKey("put service revision", r.ARN, r.Account, r.Region); err != nil {
		return err
	}
	_, err := t.db.ExecContext(t.ctx, `INSERT INTO service_revisions (arn, account, region, cluster, service, body) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (arn) DO UPDATE SET account = excluded.account, region = excluded.region, cluster = excluded.cluster,
	service = excluded.service, body = excluded.body`,
		r.ARN, r.Account, r.Region, r.Cluster, r.Service, blob(r.Body))
	if err != nil {
		return fail("put service revision "+r.ARN, err)
	}
	return nil
}

// Account settings.

const settingsSQL = `SELECT account, region, principal, name, value FROM account_settings
WHERE account = ? AND region = ? AND principal = ? ORDER BY name`

func (t *tx) Settings(scope store.Scope, principal string) ([]store.Setting, error) {
	ss, err := queryAll(t.ctx, t.db, settingsSQL, []any{scope.Account, scope.Region, principal},
		func(rows *sql.Rows) (s store.Setting, err error) {
			return s, rows.Scan(&s.Account, &s.Region, &s.Principal, &s.Name, &s.Value)
		})
	if err != nil {
		return nil, fail("settings", err)
	}
	return ss, nil
}

func (t *tx) PutSetting(s store.Setting) error {
	if err := requireKey("put setting", s.Account, s.Region, s.Name); err != nil {
		return err
	}
	_, err := t.db.ExecContext(t.ctx, `INSERT INTO account_settings (account, region, principal, name, value) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (account, region, principal, name) DO UPDATE SET value = excluded.value`,
		s.Account, s.Region, s.Principal, s.Name, s.Value)
	if err != nil {
		return fail("put setting "+s.Name, err)
	}
	return nil
}

func (t *tx) DeleteSetting(scope store.Scope, principal, name string) error {
	res, err := t.db.ExecContext(t.ctx, `DELETE FROM account_settings WHERE account = ? AND region = ? AND principal = ? AND name = ?`,
		scope.Account, scope.Region, principal, name)
	return deleted(res, err, "setting "+name)
}

// deleted reports a DELETE's outcome: ErrNotFound when it matched nothing.
func deleted(res sql.Result, err error, what string) error {
	if err != nil {
		return fail("delete "+what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fail("delete "+what, err)
	}
	if n == 0 {
		return notFound("%s", what)
	}
	return nil
}

// Attributes.

func attributesSQL(scope store.Scope, cluster, targetType, name string) (string, []any) {
	query := `SELECT account, region, cluster, target_type, target_id, name, value FROM attributes
WHERE account = ? AND region = ? AND cluster = ?`
	args := []any{scope.Account, scope.Region, cluster}
	if targetType != "" {
		query += " AND target_type = ?"
		args = append(args, targetType)
	}
	if name != "" {
		query += " AND name = ?"
		args = append(args, name)
	}
	return query + " ORDER BY target_id, name", args
}

func (t *tx) Attributes(scope store.Scope, cluster, targetType, name string) ([]store.Attribute, error) {
	query, args := attributesSQL(scope, cluster, targetType, name)
	as, err := queryAll(t.ctx, t.db, query, args, func(rows *sql.Rows) (a store.Attribute, err error) {
		return a, rows.Scan(&a.Account, &a.Region, &a.Cluster, &a.TargetType, &a.TargetID, &a.Name, &a.Value)
	})
	if err != nil {
		return nil, fail("attributes", err)
	}
	return as, nil
}

const targetAttributesSQL = `SELECT account, region, cluster, target_type, target_id, name, value FROM attributes
WHERE account = ? AND region = ? AND cluster = ? AND target_id = ? ORDER BY name`

func (t *tx) TargetAttributes(scope store.Scope, cluster, targetID string) ([]store.Attribute, error) {
	as, err := queryAll(t.ctx, t.db, targetAttributesSQL, []any{scope.Account, scope.Region, cluster, targetID}, func(rows *sql.Rows) (a store.Attribute, err error) {
		return a, rows.Scan(&a.Account, &a.Region, &a.Cluster, &a.TargetType, &a.TargetID, &a.Name, &a.Value)
	})
	if err != nil {
		return nil, fail("target attributes", err)
	}
	return as, nil
}

func (t *tx) PutAttribute(a store.Attribute) error {
	if err := requireKey("put attribute", a.Account, a.Region, a.Cluster, a.TargetID, a.Name); err != nil {
		return err
	}
	_, err := t.db.ExecContext(t.ctx, `INSERT INTO attributes (account, region, cluster, target_type, target_id, name, value)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account, region, cluster, target_id, name) DO UPDATE SET target_type = excluded.target_type, value = excluded.value`,
		a.Account, a.Region, a.Cluster, a.TargetType, a.TargetID, a.Name, a.Value)
	if err != nil {
		return fail("put attribute "+a.Name, err)
	}
	return nil
}

func (t *tx) DeleteAttribute(scope store.Scope, cluster, targetID, name string) error {
	res, err := t.db.ExecContext(t.ctx, `DELETE FROM attributes
WHERE account = ? AND region = ? AND cluster = ? AND target_id = ? AND name = ?`,
		scope.Account, scope.Region, cluster, targetID, name)
	return deleted(res, err, "attribute "+name+" of "+targetID)
}

// Tags.

func (t *tx) Tags(arn string) ([]store.Tag, error) {
	tags, err := queryAll(t.ctx, t.db, `SELECT key, value FROM tags WHERE arn = ? ORDER BY key`, []any{arn},
		func(rows *sql.Rows) (tag store.Tag, err error) { return tag, rows.Scan(&tag.Key, &tag.Value) })
	if err != nil {
		return nil, fail("tags", err)
	}
	return tags, nil
}

func (t *tx) PutTags(scope store.Scope, arn string, tags []store.Tag) error {
	if err := putTags(t.ctx, t.db, scope, arn, tags); err != nil {
		return fail("put tags", err)
	}
	return nil
}

func (t *tx) DeleteTags(arn string) error {
	if _, err := t.db.ExecContext(t.ctx, `DELETE FROM tags WHERE arn = ?`, arn); err != nil {
		return fail("delete tags", err)
	}
	return nil
}
