package sqlitestore

import (
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/ecsd/ecsd/internal/store"
)

// Container instances.

const instanceColumns = "account, region, cluster, id, ec2_instance_id, status, capacity_provider, source, registered_at, agent_update_at, body"

// Queries whose plans TestQueryPlans checks.
const (
	clusterInstanceCountSQL = `SELECT count(*) FROM container_instances
WHERE account = ? AND region = ? AND cluster = ? AND status IN ('ACTIVE', 'DRAINING')`
	placedTasksSQL = `SELECT container_instance, id, task_group, last_status, reserved_cpu, reserved_memory, reserved_ports, reserved_ports_udp, reserved_gpus, reserved_dynamic_ports
FROM tasks INDEXED BY tasks_placed
WHERE account = ? AND region = ? AND cluster = ? AND container_instance <> '' AND last_status <> 'STOPPED'`
)

func scanInstance(row interface{ Scan(...any) error }) (store.ContainerInstance, error) {
	var (
		ci                  store.ContainerInstance
		registered, updated sql.NullInt64
	)
	err := row.Scan(&ci.Account, &ci.Region, &ci.Cluster, &ci.ID, &ci.EC2InstanceID, &ci.Status, &ci.CapacityProvider,
		&ci.Source, &registered, &updated, &ci.Body)
	ci.RegisteredAt, ci.AgentUpdateRequestedAt = toTime(registered), toTime(updated)
	return ci, err
}

func (t *tx) ContainerInstance(scope store.Scope, cluster, id string) (store.ContainerInstance, error) {
	ci, err := scanInstance(t.db.QueryRowContext(t.ctx, `SELECT `+instanceColumns+` FROM container_instances
WHERE account = ? AND region = ? AND cluster = ? AND id = ?`, scope.Account, scope.Region, cluster, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.ContainerInstance{}, notFound("container instance %s in cluster %s", id, cluster)
	}
	if err != nil {
		return store.ContainerInstance{}, fail("container instance", err)
	}
	return ci, nil
}

func containerInstancesSQL(scope store.Scope, q store.ContainerInstancesQuery) (string, []any) {
	var b strings.Builder
	b.WriteString(`SELECT ` + instanceColumns + ` FROM container_instances`)
	switch {
	case q.EC2InstanceID != "":
		b.WriteString(" INDEXED BY container_instances_by_ec2")
	case q.CapacityProvider != "":
		b.WriteString(" INDEXED BY container_instances_by_provider")
	case len(q.Statuses) == 1:
		b.WriteString(" INDEXED BY container_instances_by_status")
	}
	b.WriteString(" WHERE account = ? AND region = ? AND cluster = ?")
	args := []any{scope.Account, scope.Region, q.Cluster}
	if len(q.Statuses) > 0 {
		b.WriteString(" AND status IN " + inList(len(q.Statuses)))
		args = appendStrings(args, q.Statuses)
	}
	if q.EC2InstanceID != "" {
		b.WriteString(" AND ec2_instance_id = ?")
		args = append(args, q.EC2InstanceID)
	}
	if q.CapacityProvider != "" {
		b.WriteString(" AND capacity_provider = ? AND capacity_provider <> ''")
		args = append(args, q.CapacityProvider)
	}
	if q.After != "" {
		b.WriteString(" AND id > ?")
		args = append(args, q.After)
	}
	b.WriteString(" ORDER BY id LIMIT ?")
	return b.String(), append(args, limitArg(q.Limit))
}

func (t *tx) ContainerInstances(scope store.Scope, q store.ContainerInstancesQuery) ([]store.ContainerInstance, error) {
	if q.Cluster == "" {
		return nil, errors.New("sqlitestore: container instances: the query names no cluster")
	}
	query, args := containerInstancesSQL(scope, q)
	cis, err := queryAll(t.ctx, t.db, query, args, func(rows *sql.Rows) (store.ContainerInstance, error) { return scanInstance(rows) })
	if err != nil {
		return nil, fail("container instances", err)
	}
	return cis, nil
}

func (t *tx) PutContainerInstance(ci store.ContainerInstance) error {
	if err := requireKey("put container instance", ci.Account, ci.Region, ci.Cluster, ci.ID, ci.Status); err != nil {
		return err
	}
	_, err := t.db.ExecContext(t.ctx, `INSERT INTO container_instances (`+instanceColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account, region, cluster, id) DO UPDATE SET
	ec2_instance_id = excluded.ec2_instance_id, status = excluded.status, capacity_provider = excluded.capacity_provider,
	source = excluded.source, registered_at = excluded.registered_at, agent_update_at = excluded.agent_update_at, body = excluded.body`,
		ci.Account, ci.Region, ci.Cluster, ci.ID, ci.EC2InstanceID, ci.Status, ci.CapacityProvider, ci.Source,
		fromTime(ci.RegisteredAt), fromTime(ci.AgentUpdateRequestedAt), blob(ci.Body))
	if err != nil {
		return fail("put container instance "+ci.ID, err)
	}
	return nil
}

func (t *tx) PlacedTasks(scope store.Scope, cluster, id string) ([]store.PlacedTask, error) {
	query, args := placedTasksSQL, []any{scope.Account, scope.Region, cluster}
	if id != "" {
		query += " AND container_instance = ?"
		args = append(args, id)
	}
	query += " ORDER BY container_instance, id"
	ps, err := queryAll(t.ctx, t.db, query, args, func(rows *sql.Rows) (store.PlacedTask, error) {
		var (
			p                       store.PlacedTask
			ports, portsUDP, gpuIDs string
			dynamic                 string
		)
		err := rows.Scan(&p.ContainerInstance, &p.ID, &p.Group, &p.LastStatus, &p.Reservation.CPU, &p.Reservation.Memory,
			&ports, &portsUDP, &gpuIDs, &dynamic)
		p.Reservation.Ports, p.Reservation.PortsUDP, p.Reservation.GPUIDs = splitInts(ports), splitInts(portsUDP), splitStrings(gpuIDs)
		p.Reservation.Dynamic = store.ParseDynamicPorts(dynamic)
		return p, err
	})
	if err != nil {
		return nil, fail("placed tasks", err)
	}
	return ps, nil
}

// Reservation columns hold lists comma-separated.

func joinInts(vs []int) string {
	var b strings.Builder
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(v))
	}
	return b.String()
}

func splitInts(s string) []int {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := make([]int, 0, len(parts))
	for _, p := range parts {
		if v, err := strconv.Atoi(p); err == nil {
			out = append(out, v)
		}
	}
	return out
}

func splitStrings(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
