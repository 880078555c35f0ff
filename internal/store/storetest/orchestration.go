package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/store"
)

// Conformance tests of the orchestration transactions (store.Tx and
// store.ReadTx through Update and View).

// Fixtures. Each record is complete, with times at millisecond precision,
// so a round trip must return it unchanged.

func clusterRec(scope store.Scope, name, status string) store.Cluster {
	return store.Cluster{Scope: scope, Name: name, Status: status, Body: []byte(`{"clusterName":"` + name + `","status":"` + status + `"}`)}
}

func serviceRec(scope store.Scope, cluster, name, status string) store.Service {
	return store.Service{
		Scope: scope, Cluster: cluster, Name: name, Status: status,
		LaunchType: "FARGATE", SchedulingStrategy: "REPLICA",
		TaskDefinition: store.TaskDefinitionKey{Family: "web", Revision: 1},
		CreatedAt:      t0,
		Body:           []byte(`{"serviceName":"` + name + `"}`),
	}
}

func taskRec(scope store.Scope, cluster, id, lastStatus string) store.Task {
	k := store.Task{
		Scope: scope, Cluster: cluster, ID: id,
		TaskDefinition: store.TaskDefinitionKey{Family: "web", Revision: 1},
		LaunchType:     "FARGATE",
		DesiredStatus:  store.TaskRunning,
		LastStatus:     lastStatus,
		CreatedAt:      t0,
		Body:           []byte(`{"taskArn":"` + id + `"}`),
	}
	if lastStatus == store.TaskStopped {
		k.DesiredStatus, k.StoppedAt = store.TaskStopped, t0.Add(time.Hour)
	}
	return k
}

func deploymentRec(scope store.Scope, cluster, service, id, status string, created time.Time) store.ServiceDeployment {
	return store.ServiceDeployment{
		Scope: scope, ARN: "arn:aws:ecs:" + scope.Region + ":" + scope.Account + ":service-deployment/" + cluster + "/" + service + "/" + id,
		Cluster: cluster, Service: service, Status: status, CreatedAt: created,
		Body: []byte(`{"serviceDeploymentArn":"` + id + `"}`),
	}
}

// update runs fn in s.Update and fails the test on an error.
func update(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// view runs fn in s.View and fails the test on an error.
func view(t *testing.T, s store.Store, fn func(tx store.ReadTx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// put stores records of any orchestration kind in one Update.
func put(t *testing.T, s store.Store, recs ...any) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		for _, r := range recs {
			var err error
			switch r := r.(type) {
			case store.Cluster:
				err = tx.PutCluster(r)
			case store.Service:
				err = tx.PutService(r)
			case store.Task:
				err = tx.PutTask(r)
			case store.ServiceDeployment:
				err = tx.PutServiceDeployment(r)
			case store.ServiceRevision:
				err = tx.PutServiceRevision(r)
			case store.Setting:
				err = tx.PutSetting(r)
			case store.Attribute:
				err = tx.PutAttribute(r)
			case store.ContainerInstance:
				err = tx.PutContainerInstance(r)
			default:
				return fmt.Errorf("put: unknown record %T", r)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// read runs one query in View and returns its result.
func read[T any](t *testing.T, s store.Store, fn func(tx store.ReadTx) (T, error)) T {
	t.Helper()
	var out T
	view(t, s, func(tx store.ReadTx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	return out
}

func wantEqual(t *testing.T, what string, want, got any) {
	t.Helper()
	if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

func testRecordsRoundTrip(t *testing.T, s store.Store) {
	c := clusterRec(scopeA, "prod", store.ClusterActive)
	sv := serviceRec(scopeA, "prod", "web", store.ServiceActive)
	k := taskRec(scopeA, "prod", "0123456789abcdef0123456789abcdef", store.TaskStopped)
	k.Service, k.StartedBy = "web", "ecs-svc/123"
	d := deploymentRec(scopeA, "prod", "web", "d1", "IN_PROGRESS", t0)
	r := store.ServiceRevision{Scope: scopeA, ARN: "arn:aws:ecs:us-east-1:111111111111:service-revision/prod/web/1", Cluster: "prod", Service: "web", Body: []byte(`{"x":1}`)}
	set := store.Setting{Scope: scopeA, Principal: "arn:aws:iam::111111111111:user/me", Name: "containerInsights", Value: "enabled"}
	attr := store.Attribute{Scope: scopeA, Cluster: "prod", TargetType: "container-instance", TargetID: "ci-1", Name: "stack", Value: "blue"}
	put(t, s, c, sv, k, d, r, set, attr)

	check := func(step string) {
		t.Helper()
		view(t, s, func(tx store.ReadTx) error {
			gotC, err := tx.Cluster(scopeA, c.Name)
			if err != nil {
				return err
			}
			wantEqual(t, step+": Cluster", c, gotC)
			gotS, err := tx.Service(scopeA, sv.Cluster, sv.Name)
			if err != nil {
				return err
			}
			wantEqual(t, step+": Service", sv, gotS)
			gotK, err := tx.Task(scopeA, k.Cluster, k.ID)
			if err != nil {
				return err
			}
			wantEqual(t, step+": Task", k, gotK)
			if loc := gotK.StoppedAt.Location(); loc != time.UTC {
				t.Errorf("%s: StoppedAt location = %v, want UTC", step, loc)
			}
			gotD, err := tx.ServiceDeployment(scopeA, d.ARN)
			if err != nil {
				return err
			}
			wantEqual(t, step+": ServiceDeployment", d, gotD)
			gotR, err := tx.ServiceRevision(scopeA, r.ARN)
			if err != nil {
				return err
			}
			wantEqual(t, step+": ServiceRevision", r, gotR)
			gotSet, err := tx.Settings(scopeA, set.Principal)
			if err != nil {
				return err
			}
			wantEqual(t, step+": Settings", []store.Setting{set}, gotSet)
			gotA, err := tx.Attributes(scopeA, attr.Cluster, "", "")
			if err != nil {
				return err
			}
			wantEqual(t, step+": Attributes", []store.Attribute{attr}, gotA)
			return nil
		})
	}
	check("after insert")

	// Put replaces by key, every non-key field included.
	c.Status, c.Body = store.ClusterInactive, []byte(`{"v":2}`)
	sv.Status, sv.LaunchType, sv.SchedulingStrategy = store.ServiceDraining, "EC2", "DAEMON"
	sv.TaskDefinition, sv.CreatedAt, sv.Body = store.TaskDefinitionKey{Family: "api", Revision: 7}, t0.Add(time.Minute), []byte(`{"v":2}`)
	k.TaskDefinition, k.Service, k.StartedBy, k.LaunchType = store.TaskDefinitionKey{Family: "api", Revision: 2}, "", "me", "EC2"
	k.DesiredStatus, k.LastStatus, k.CreatedAt, k.StoppedAt, k.Body = store.TaskRunning, store.TaskRunning, t0.Add(time.Second), time.Time{}, []byte(`{"v":2}`)
	d.Status, d.CreatedAt, d.Body = "SUCCESSFUL", t0.Add(time.Hour), []byte(`{"v":2}`)
	r.Body = []byte(`{"v":2}`)
	set.Value = "disabled"
	attr.Value, attr.TargetType = "", "container-instance"
	put(t, s, c, sv, k, d, r, set, attr)
	check("after replace")

	// A nil body is stored as an empty one.
	c2 := clusterRec(scopeA, "empty", store.ClusterActive)
	c2.Body = nil
	put(t, s, c2)
	if got := read(t, s, func(tx store.ReadTx) (store.Cluster, error) { return tx.Cluster(scopeA, "empty") }); len(got.Body) != 0 {
		t.Errorf("nil body read back as %q", got.Body)
	}
}

func testGettersNotFound(t *testing.T, s store.Store) {
	put(t, s, clusterRec(scopeA, "prod", store.ClusterActive))
	err := s.View(t.Context(), func(tx store.ReadTx) error {
		for what, err := range map[string]error{
			"Cluster":           second(tx.Cluster(scopeA, "nope")),
			"Service":           second(tx.Service(scopeA, "prod", "nope")),
			"Task":              second(tx.Task(scopeA, "prod", "nope")),
			"ServiceDeployment": second(tx.ServiceDeployment(scopeA, "arn:nope")),
			"ServiceRevision":   second(tx.ServiceRevision(scopeA, "arn:nope")),
			"TaskDefinition":    second(tx.TaskDefinition(scopeA, "web", 1)),
			"LatestActive":      second(tx.LatestActiveTaskDefinition(scopeA, "web")),
		} {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s of a missing record: error = %v, want ErrNotFound", what, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	err = s.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.DeleteSetting(scopeA, "", "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteSetting of a missing setting: error = %v, want ErrNotFound", err)
		}
		if err := tx.DeleteAttribute(scopeA, "prod", "ci-1", "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteAttribute of a missing attribute: error = %v, want ErrNotFound", err)
		}
		// Deleting a missing task is not an error: the reaper may race a
		// client-visible deletion.
		return tx.DeleteTask(scopeA, "prod", "nope")
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

// testTxReadsItsOwnWrites: an Update sees what it wrote before committing,
// and task definitions registered through the Store are visible in Tx.
func testTxReadsItsOwnWrites(t *testing.T, s store.Store) {
	register(t, s, scopeA, "web")
	update(t, s, func(tx store.Tx) error {
		td, err := tx.TaskDefinition(scopeA, "web", 1)
		if err != nil {
			return err
		}
		wantEqual(t, "TaskDefinition in Tx", activeTD(scopeA, "web", 1), td)
		if td, err := tx.LatestActiveTaskDefinition(scopeA, "web"); err != nil || td.Revision != 1 {
			t.Errorf("LatestActiveTaskDefinition in Tx = %d, %v; want 1", td.Revision, err)
		}
		if err := tx.PutCluster(clusterRec(scopeA, "prod", store.ClusterActive)); err != nil {
			return err
		}
		c, err := tx.Cluster(scopeA, "prod")
		if err != nil {
			return fmt.Errorf("cluster written in this Update: %w", err)
		}
		wantEqual(t, "cluster read back in the same Update", clusterRec(scopeA, "prod", store.ClusterActive), c)
		return nil
	})
}

func testRecordsAreCopies(t *testing.T, s store.Store) {
	c := clusterRec(scopeA, "prod", store.ClusterActive)
	body := c.Body
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutCluster(c); err != nil {
			return err
		}
		body[0] = 'X' // the caller reuses its buffer after Put
		got, err := tx.Cluster(scopeA, "prod")
		if err != nil {
			return err
		}
		got.Body[1] = 'Y' // and edits what it read
		return nil
	})
	got := read(t, s, func(tx store.ReadTx) (store.Cluster, error) { return tx.Cluster(scopeA, "prod") })
	want := clusterRec(scopeA, "prod", store.ClusterActive)
	wantEqual(t, "cluster after the caller edited its buffers", want, got)
	got.Body[0] = 'Z'
	wantEqual(t, "cluster after editing a View's result", want,
		read(t, s, func(tx store.ReadTx) (store.Cluster, error) { return tx.Cluster(scopeA, "prod") }))
}

func testClustersQuery(t *testing.T, s store.Store) {
	put(t, s,
		clusterRec(scopeA, "c", store.ClusterActive),
		clusterRec(scopeA, "a", store.ClusterActive),
		clusterRec(scopeA, "b", store.ClusterInactive),
		clusterRec(scopeA, "d", store.ClusterActive),
		clusterRec(scopeB, "a", store.ClusterActive),
		clusterRec(scopeC, "z", store.ClusterActive),
	)
	names := func(q store.ClustersQuery) []string {
		t.Helper()
		var out []string
		for _, c := range read(t, s, func(tx store.ReadTx) ([]store.Cluster, error) { return tx.Clusters(scopeA, q) }) {
			out = append(out, c.Name)
		}
		return out
	}
	for _, tc := range []struct {
		q    store.ClustersQuery
		want []string
	}{
		{store.ClustersQuery{}, []string{"a", "b", "c", "d"}},
		{store.ClustersQuery{Limit: 2}, []string{"a", "b"}},
		{store.ClustersQuery{After: "b", Limit: 2}, []string{"c", "d"}},
		{store.ClustersQuery{After: "d"}, nil},
		{store.ClustersQuery{Status: store.ClusterActive}, []string{"a", "c", "d"}},
		{store.ClustersQuery{Status: store.ClusterActive, After: "a", Limit: 1}, []string{"c"}},
		{store.ClustersQuery{Status: store.ClusterInactive}, []string{"b"}},
	} {
		wantEqual(t, fmt.Sprintf("Clusters(%+v)", tc.q), tc.want, names(tc.q))
	}
	got := read(t, s, func(tx store.ReadTx) ([]store.Cluster, error) { return tx.Clusters(scopeB, store.ClustersQuery{}) })
	wantEqual(t, "Clusters in scope B", []store.Cluster{clusterRec(scopeB, "a", store.ClusterActive)}, got)
}

func testServicesQuery(t *testing.T, s store.Store) {
	ec2 := serviceRec(scopeA, "prod", "e", store.ServiceActive)
	ec2.LaunchType = "EC2"
	daemon := serviceRec(scopeA, "prod", "f", store.ServiceActive)
	daemon.LaunchType, daemon.SchedulingStrategy = "EC2", "DAEMON"
	put(t, s,
		serviceRec(scopeA, "prod", "c", store.ServiceInactive),
		serviceRec(scopeA, "prod", "a", store.ServiceActive),
		serviceRec(scopeA, "prod", "b", store.ServiceDraining),
		serviceRec(scopeA, "prod", "d", store.ServiceActive),
		ec2, daemon,
		serviceRec(scopeA, "other", "a", store.ServiceActive),
		serviceRec(scopeB, "prod", "a", store.ServiceActive),
		serviceRec(scopeC, "prod", "x", store.ServiceActive),
	)
	for _, tc := range []struct {
		q    store.ServicesQuery
		want []string
	}{
		{store.ServicesQuery{Cluster: "prod"}, []string{"a", "b", "c", "d", "e", "f"}},
		{store.ServicesQuery{Cluster: "prod", Limit: 2}, []string{"a", "b"}},
		{store.ServicesQuery{Cluster: "prod", After: "b", Limit: 2}, []string{"c", "d"}},
		{store.ServicesQuery{Cluster: "prod", Statuses: []string{store.ServiceActive, store.ServiceDraining}}, []string{"a", "b", "d", "e", "f"}},
		{store.ServicesQuery{Cluster: "prod", Statuses: []string{store.ServiceInactive}}, []string{"c"}},
		{store.ServicesQuery{Cluster: "prod", LaunchType: "EC2"}, []string{"e", "f"}},
		{store.ServicesQuery{Cluster: "prod", SchedulingStrategy: "DAEMON"}, []string{"f"}},
		{store.ServicesQuery{Cluster: "prod", LaunchType: "FARGATE", SchedulingStrategy: "REPLICA", Statuses: []string{store.ServiceActive}, After: "a"}, []string{"d"}},
		{store.ServicesQuery{Cluster: "other"}, []string{"a"}},
		{store.ServicesQuery{Cluster: "nope"}, nil},
	} {
		var got []string
		for _, sv := range read(t, s, func(tx store.ReadTx) ([]store.Service, error) { return tx.Services(scopeA, tc.q) }) {
			if sv.Cluster != tc.q.Cluster {
				t.Errorf("Services(%+v) returned a service of cluster %s", tc.q, sv.Cluster)
			}
			got = append(got, sv.Name)
		}
		wantEqual(t, fmt.Sprintf("Services(%+v)", tc.q), tc.want, got)
	}
}

func testServicesToSchedule(t *testing.T, s store.Store) {
	all := []store.Service{
		serviceRec(scopeB, "prod", "a", store.ServiceActive),
		serviceRec(scopeA, "prod", "b", store.ServiceDraining),
		serviceRec(scopeA, "prod", "a", store.ServiceActive),
		serviceRec(scopeA, "dev", "z", store.ServiceActive),
		serviceRec(scopeC, "prod", "a", store.ServiceActive),
		serviceRec(scopeA, "prod", "c", store.ServiceInactive),
	}
	recs := make([]any, len(all))
	for i, sv := range all {
		recs[i] = sv
	}
	put(t, s, recs...)
	// (account, region, cluster, name) order; INACTIVE left out.
	want := []string{
		"111111111111/eu-west-1/prod/a",
		"111111111111/us-east-1/dev/z",
		"111111111111/us-east-1/prod/a",
		"111111111111/us-east-1/prod/b",
		"222222222222/us-east-1/prod/a",
	}
	key := func(sv store.Service) string {
		return sv.Account + "/" + sv.Region + "/" + sv.Cluster + "/" + sv.Name
	}
	for _, limit := range []int{0, 1, 2, 10} {
		var got []string
		var after *store.Service
		for range 20 {
			page := read(t, s, func(tx store.ReadTx) ([]store.Service, error) { return tx.ServicesToSchedule(after, limit) })
			if limit > 0 && len(page) > limit {
				t.Fatalf("ServicesToSchedule(limit %d) returned %d", limit, len(page))
			}
			for _, sv := range page {
				got = append(got, key(sv))
			}
			if len(page) == 0 || limit == 0 {
				break
			}
			after = &page[len(page)-1]
		}
		wantEqual(t, fmt.Sprintf("ServicesToSchedule pages of %d", limit), want, got)
	}
}

func testTasksQuery(t *testing.T, s store.Store) {
	mk := func(cluster, id string, edit func(*store.Task)) store.Task {
		k := taskRec(scopeA, cluster, id, store.TaskRunning)
		if edit != nil {
			edit(&k)
		}
		return k
	}
	put(t, s,
		mk("prod", "05", nil),
		mk("prod", "01", func(k *store.Task) { k.Service, k.StartedBy = "web", "ecs-svc/1" }),
		mk("prod", "03", func(k *store.Task) { k.Service, k.StartedBy = "web", "ecs-svc/1"; k.LastStatus = store.TaskPending }),
		mk("prod", "02", func(k *store.Task) { k.LaunchType = "EC2"; k.TaskDefinition.Revision = 2 }),
		mk("prod", "04", func(k *store.Task) {
			k.TaskDefinition = store.TaskDefinitionKey{Family: "api", Revision: 1}
			k.DesiredStatus, k.LastStatus, k.StoppedAt = store.TaskStopped, store.TaskStopped, t0
		}),
		mk("dev", "00", func(k *store.Task) { k.Service = "web" }),
		mk("dev", "06", func(k *store.Task) { k.DesiredStatus = store.TaskStopped }),
		taskRec(scopeB, "prod", "07", store.TaskRunning),
		taskRec(scopeC, "prod", "08", store.TaskRunning),
	)
	for _, tc := range []struct {
		q    store.TasksQuery
		want []string
	}{
		{store.TasksQuery{Cluster: "prod"}, []string{"01", "02", "03", "04", "05"}},
		{store.TasksQuery{}, []string{"00", "01", "02", "03", "04", "05", "06"}},
		{store.TasksQuery{Limit: 3}, []string{"00", "01", "02"}},
		{store.TasksQuery{After: "02", Limit: 3}, []string{"03", "04", "05"}},
		{store.TasksQuery{Cluster: "prod", After: "03"}, []string{"04", "05"}},
		{store.TasksQuery{Cluster: "prod", Service: "web"}, []string{"01", "03"}},
		{store.TasksQuery{Cluster: "prod", Service: "web", After: "01"}, []string{"03"}},
		{store.TasksQuery{Service: "web"}, []string{"00", "01", "03"}},
		{store.TasksQuery{Cluster: "prod", Family: "api"}, []string{"04"}},
		{store.TasksQuery{Family: "web"}, []string{"00", "01", "02", "03", "05", "06"}},
		{store.TasksQuery{StartedBy: "ecs-svc/1"}, []string{"01", "03"}},
		{store.TasksQuery{LaunchType: "EC2"}, []string{"02"}},
		{store.TasksQuery{DesiredStatus: store.TaskStopped}, []string{"04", "06"}},
		{store.TasksQuery{Cluster: "prod", DesiredStatus: store.TaskRunning}, []string{"01", "02", "03", "05"}},
		{store.TasksQuery{NotLastStatus: store.TaskStopped}, []string{"00", "01", "02", "03", "05", "06"}},
		{store.TasksQuery{NotLastStatus: store.TaskRunning}, []string{"03", "04"}},
		{store.TasksQuery{TaskDefinition: &store.TaskDefinitionKey{Family: "web", Revision: 2}}, []string{"02"}},
		{store.TasksQuery{TaskDefinition: &store.TaskDefinitionKey{Family: "web", Revision: 1}, Cluster: "prod", NotLastStatus: store.TaskStopped}, []string{"01", "03", "05"}},
		{store.TasksQuery{Cluster: "nope"}, nil},
	} {
		var got []string
		for _, k := range read(t, s, func(tx store.ReadTx) ([]store.Task, error) { return tx.Tasks(scopeA, tc.q) }) {
			got = append(got, k.ID)
		}
		wantEqual(t, fmt.Sprintf("Tasks(%+v)", tc.q), tc.want, got)
	}
	got := read(t, s, func(tx store.ReadTx) ([]store.Task, error) { return tx.Tasks(scopeB, store.TasksQuery{}) })
	wantEqual(t, "Tasks in scope B", []store.Task{taskRec(scopeB, "prod", "07", store.TaskRunning)}, got)
}

func testTasksToSuperviseAndReap(t *testing.T, s store.Store) {
	stopped := func(scope store.Scope, id string, at time.Time) store.Task {
		k := taskRec(scope, "prod", id, store.TaskStopped)
		k.StoppedAt = at
		return k
	}
	put(t, s,
		taskRec(scopeB, "prod", "a1", store.TaskRunning),
		taskRec(scopeA, "prod", "a3", store.TaskPending),
		taskRec(scopeC, "dev", "a2", "DEPROVISIONING"),
		taskRec(scopeA, "dev", "a0", store.TaskRunning),
		stopped(scopeA, "b2", t0.Add(2*time.Minute)),
		stopped(scopeB, "b0", t0),
		stopped(scopeC, "b1", t0.Add(time.Minute)),
		stopped(scopeA, "b3", t0.Add(3*time.Minute)),
	)
	for _, limit := range []int{0, 1, 3} {
		var got []string
		after := ""
		for range 20 {
			page := read(t, s, func(tx store.ReadTx) ([]store.Task, error) { return tx.TasksToSupervise(after, limit) })
			if limit > 0 && len(page) > limit {
				t.Fatalf("TasksToSupervise(limit %d) returned %d", limit, len(page))
			}
			for _, k := range page {
				got = append(got, k.ID)
			}
			if len(page) == 0 || limit == 0 {
				break
			}
			after = page[len(page)-1].ID
		}
		wantEqual(t, fmt.Sprintf("TasksToSupervise pages of %d", limit), []string{"a0", "a1", "a2", "a3"}, got)
	}
	for _, tc := range []struct {
		before time.Time
		limit  int
		want   []string
	}{
		{t0.Add(-time.Millisecond), 10, nil},
		{t0, 10, []string{"b0"}},
		{t0.Add(2 * time.Minute), 10, []string{"b0", "b1", "b2"}},
		{t0.Add(time.Hour), 2, []string{"b0", "b1"}},
		{t0.Add(time.Hour), 0, []string{"b0", "b1", "b2", "b3"}},
	} {
		var got []string
		for _, k := range read(t, s, func(tx store.ReadTx) ([]store.Task, error) { return tx.StoppedTasksBefore(tc.before, tc.limit) }) {
			got = append(got, k.ID)
		}
		wantEqual(t, fmt.Sprintf("StoppedTasksBefore(%v, %d)", tc.before, tc.limit), tc.want, got)
	}

	// Stopping a supervised task moves it from one walk to the other.
	update(t, s, func(tx store.Tx) error { return tx.PutTask(stopped(scopeA, "a3", t0.Add(-time.Minute))) })
	var ids []string
	for _, k := range read(t, s, func(tx store.ReadTx) ([]store.Task, error) { return tx.TasksToSupervise("", 0) }) {
		ids = append(ids, k.ID)
	}
	wantEqual(t, "TasksToSupervise after stopping a3", []string{"a0", "a1", "a2"}, ids)
	ids = nil
	for _, k := range read(t, s, func(tx store.ReadTx) ([]store.Task, error) { return tx.StoppedTasksBefore(t0, 0) }) {
		ids = append(ids, k.ID)
	}
	wantEqual(t, "StoppedTasksBefore after stopping a3", []string{"a3", "b0"}, ids)
}

func testServiceDeploymentsQuery(t *testing.T, s store.Store) {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	put(t, s,
		deploymentRec(scopeA, "prod", "web", "d1", "SUCCESSFUL", at(1)),
		deploymentRec(scopeA, "prod", "web", "d3", "IN_PROGRESS", at(3)),
		deploymentRec(scopeA, "prod", "web", "d2", "STOPPED", at(2)),
		deploymentRec(scopeA, "prod", "web", "d4", "PENDING", at(4)),
		deploymentRec(scopeA, "prod", "api", "x1", "SUCCESSFUL", at(5)),
		deploymentRec(scopeA, "dev", "web", "x2", "SUCCESSFUL", at(5)),
		deploymentRec(scopeB, "prod", "web", "x3", "SUCCESSFUL", at(5)),
	)
	for _, tc := range []struct {
		q    store.ServiceDeploymentsQuery
		want []string
	}{
		{store.ServiceDeploymentsQuery{}, []string{"d4", "d3", "d2", "d1"}},
		{store.ServiceDeploymentsQuery{Limit: 2}, []string{"d4", "d3"}},
		{store.ServiceDeploymentsQuery{Statuses: []string{"SUCCESSFUL", "STOPPED"}}, []string{"d2", "d1"}},
		{store.ServiceDeploymentsQuery{Statuses: []string{"IN_PROGRESS", "PENDING"}, Limit: 1}, []string{"d4"}},
		{store.ServiceDeploymentsQuery{CreatedAfter: at(2)}, []string{"d4", "d3"}},
		{store.ServiceDeploymentsQuery{CreatedBefore: at(3)}, []string{"d2", "d1"}},
		{store.ServiceDeploymentsQuery{CreatedAfter: at(1), CreatedBefore: at(4)}, []string{"d3", "d2"}},
		{store.ServiceDeploymentsQuery{CreatedAfter: at(4)}, nil},
	} {
		tc.q.Cluster, tc.q.Service = "prod", "web"
		var got []string
		for _, d := range read(t, s, func(tx store.ReadTx) ([]store.ServiceDeployment, error) { return tx.ServiceDeployments(scopeA, tc.q) }) {
			got = append(got, d.ARN[len(d.ARN)-2:])
		}
		wantEqual(t, fmt.Sprintf("ServiceDeployments(%+v)", tc.q), tc.want, got)
	}
	// A deployment is read only in its own scope.
	x3 := deploymentRec(scopeB, "prod", "web", "x3", "SUCCESSFUL", at(5))
	err := s.View(t.Context(), func(tx store.ReadTx) error {
		_, err := tx.ServiceDeployment(scopeA, x3.ARN)
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ServiceDeployment of scope B read in scope A: error = %v, want ErrNotFound", err)
	}
}

func testClusterCounts(t *testing.T, s store.Store) {
	k := func(cluster, id, last string) store.Task { return taskRec(scopeA, cluster, id, last) }
	put(t, s,
		k("prod", "1", store.TaskRunning),
		k("prod", "2", store.TaskRunning),
		k("prod", "3", store.TaskPending),
		k("prod", "4", "PROVISIONING"),
		k("prod", "5", "DEPROVISIONING"),
		k("prod", "6", store.TaskStopped),
		k("dev", "7", store.TaskRunning),
		taskRec(scopeB, "prod", "8", store.TaskRunning),
		serviceRec(scopeA, "prod", "a", store.ServiceActive),
		serviceRec(scopeA, "prod", "b", store.ServiceDraining),
		serviceRec(scopeA, "prod", "c", store.ServiceInactive),
		serviceRec(scopeA, "dev", "d", store.ServiceActive),
		serviceRec(scopeC, "prod", "e", store.ServiceActive),
	)
	for _, tc := range []struct {
		scope   store.Scope
		cluster string
		want    store.ClusterCounts
	}{
		{scopeA, "prod", store.ClusterCounts{RunningTasks: 2, PendingTasks: 3, ActiveServices: 2}},
		{scopeA, "dev", store.ClusterCounts{RunningTasks: 1, ActiveServices: 1}},
		{scopeA, "nope", store.ClusterCounts{}},
		{scopeB, "prod", store.ClusterCounts{RunningTasks: 1}},
		{scopeC, "prod", store.ClusterCounts{ActiveServices: 1}},
	} {
		got := read(t, s, func(tx store.ReadTx) (store.ClusterCounts, error) { return tx.ClusterCounts(tc.scope, tc.cluster) })
		wantEqual(t, fmt.Sprintf("ClusterCounts(%v, %s)", tc.scope, tc.cluster), tc.want, got)
	}
}

func testTaskDefinitionInUse(t *testing.T, s store.Store) {
	uses := func(k store.Task, family string, rev int) store.Task {
		k.TaskDefinition = store.TaskDefinitionKey{Family: family, Revision: rev}
		return k
	}
	svc := func(sv store.Service, family string, rev int) store.Service {
		sv.TaskDefinition = store.TaskDefinitionKey{Family: family, Revision: rev}
		return sv
	}
	put(t, s,
		uses(taskRec(scopeA, "prod", "1", store.TaskRunning), "running", 1),
		uses(taskRec(scopeA, "prod", "2", store.TaskPending), "pending", 1),
		uses(taskRec(scopeA, "prod", "3", store.TaskStopped), "stopped", 1),
		svc(serviceRec(scopeA, "prod", "a", store.ServiceActive), "active", 1),
		svc(serviceRec(scopeA, "prod", "b", store.ServiceDraining), "draining", 1),
		svc(serviceRec(scopeA, "prod", "c", store.ServiceInactive), "inactive", 1),
		uses(taskRec(scopeB, "prod", "4", store.TaskRunning), "elsewhere", 1),
		svc(serviceRec(scopeC, "prod", "d", store.ServiceActive), "elsewhere", 1),
		// A service rolling from old:1 to new:1 uses both.
		func() store.Service {
			sv := svc(serviceRec(scopeA, "prod", "e", store.ServiceActive), "new", 1)
			sv.TaskDefinitions = []store.TaskDefinitionKey{{Family: "old", Revision: 1}}
			return sv
		}(),
	)
	for _, tc := range []struct {
		family string
		rev    int
		want   bool
	}{
		{"running", 1, true},
		{"running", 2, false},
		{"pending", 1, true},
		{"stopped", 1, false},
		{"active", 1, true},
		{"draining", 1, true},
		{"inactive", 1, false},
		{"elsewhere", 1, false},
		{"nothing", 1, false},
		{"new", 1, true},
		{"old", 1, true},
	} {
		got := read(t, s, func(tx store.ReadTx) (bool, error) { return tx.TaskDefinitionInUse(scopeA, tc.family, tc.rev) })
		if got != tc.want {
			t.Errorf("TaskDefinitionInUse(%s:%d) = %v, want %v", tc.family, tc.rev, got, tc.want)
		}
	}
	// Stopping the task and deleting the service's use release the revisions.
	put(t, s, taskRec(scopeA, "prod", "1", store.TaskStopped), svc(serviceRec(scopeA, "prod", "a", store.ServiceInactive), "active", 1))
	for _, family := range []string{"running", "active"} {
		if read(t, s, func(tx store.ReadTx) (bool, error) { return tx.TaskDefinitionInUse(scopeA, family, 1) }) {
			t.Errorf("TaskDefinitionInUse(%s:1) after the user stopped = true", family)
		}
	}
	// The rollout completes: the service no longer refers to old:1.
	put(t, s, svc(serviceRec(scopeA, "prod", "e", store.ServiceActive), "new", 1))
	if read(t, s, func(tx store.ReadTx) (bool, error) { return tx.TaskDefinitionInUse(scopeA, "old", 1) }) {
		t.Errorf("TaskDefinitionInUse(old:1) after the service dropped it = true")
	}
}

func testSettingsAndAttributes(t *testing.T, s store.Store) {
	me := "arn:aws:iam::111111111111:user/me"
	set := func(scope store.Scope, principal, name, value string) store.Setting {
		return store.Setting{Scope: scope, Principal: principal, Name: name, Value: value}
	}
	attr := func(cluster, typ, target, name, value string) store.Attribute {
		return store.Attribute{Scope: scopeA, Cluster: cluster, TargetType: typ, TargetID: target, Name: name, Value: value}
	}
	put(t, s,
		set(scopeA, "", "taskLongArnFormat", "enabled"),
		set(scopeA, "", "containerInsights", "disabled"),
		set(scopeA, me, "containerInsights", "enabled"),
		set(scopeB, "", "containerInsights", "enhanced"),
		attr("prod", "container-instance", "ci-2", "b", "1"),
		attr("prod", "container-instance", "ci-1", "b", ""),
		attr("prod", "container-instance", "ci-1", "a", "2"),
		attr("prod", "task-definition", "td-1", "a", "3"),
		attr("dev", "container-instance", "ci-9", "a", "4"),
	)
	wantEqual(t, "Settings(A, defaults)",
		[]store.Setting{set(scopeA, "", "containerInsights", "disabled"), set(scopeA, "", "taskLongArnFormat", "enabled")},
		read(t, s, func(tx store.ReadTx) ([]store.Setting, error) { return tx.Settings(scopeA, "") }))
	wantEqual(t, "Settings(A, me)", []store.Setting{set(scopeA, me, "containerInsights", "enabled")},
		read(t, s, func(tx store.ReadTx) ([]store.Setting, error) { return tx.Settings(scopeA, me) }))
	wantEqual(t, "Settings(C, defaults)", []store.Setting(nil),
		read(t, s, func(tx store.ReadTx) ([]store.Setting, error) { return tx.Settings(scopeC, "") }))

	for _, tc := range []struct {
		cluster, typ, name string
		want               []store.Attribute
	}{
		{"prod", "", "", []store.Attribute{
			attr("prod", "container-instance", "ci-1", "a", "2"), attr("prod", "container-instance", "ci-1", "b", ""),
			attr("prod", "container-instance", "ci-2", "b", "1"), attr("prod", "task-definition", "td-1", "a", "3"),
		}},
		{"prod", "container-instance", "b", []store.Attribute{
			attr("prod", "container-instance", "ci-1", "b", ""), attr("prod", "container-instance", "ci-2", "b", "1"),
		}},
		{"prod", "", "a", []store.Attribute{attr("prod", "container-instance", "ci-1", "a", "2"), attr("prod", "task-definition", "td-1", "a", "3")}},
		{"prod", "task-definition", "", []store.Attribute{attr("prod", "task-definition", "td-1", "a", "3")}},
		{"dev", "", "", []store.Attribute{attr("dev", "container-instance", "ci-9", "a", "4")}},
		{"nope", "", "", nil},
	} {
		wantEqual(t, fmt.Sprintf("Attributes(%s, %q, %q)", tc.cluster, tc.typ, tc.name), tc.want,
			read(t, s, func(tx store.ReadTx) ([]store.Attribute, error) {
				return tx.Attributes(scopeA, tc.cluster, tc.typ, tc.name)
			}))
	}
	wantEqual(t, "Attributes in scope B", []store.Attribute(nil),
		read(t, s, func(tx store.ReadTx) ([]store.Attribute, error) { return tx.Attributes(scopeB, "prod", "", "") }))

	update(t, s, func(tx store.Tx) error {
		if err := tx.DeleteSetting(scopeA, "", "containerInsights"); err != nil {
			return err
		}
		return tx.DeleteAttribute(scopeA, "prod", "ci-1", "b")
	})
	wantEqual(t, "Settings(A, defaults) after delete", []store.Setting{set(scopeA, "", "taskLongArnFormat", "enabled")},
		read(t, s, func(tx store.ReadTx) ([]store.Setting, error) { return tx.Settings(scopeA, "") }))
	wantEqual(t, "Settings(A, me) after deleting the default", []store.Setting{set(scopeA, me, "containerInsights", "enabled")},
		read(t, s, func(tx store.ReadTx) ([]store.Setting, error) { return tx.Settings(scopeA, me) }))
	wantEqual(t, "Attributes(prod, b) after delete", []store.Attribute{attr("prod", "container-instance", "ci-2", "b", "1")},
		read(t, s, func(tx store.ReadTx) ([]store.Attribute, error) { return tx.Attributes(scopeA, "prod", "", "b") }))
}

func testOrchestrationScopeIsolation(t *testing.T, s store.Store) {
	d := deploymentRec(scopeA, "prod", "web", "d1", "SUCCESSFUL", t0)
	r := store.ServiceRevision{Scope: scopeA, ARN: "arn:aws:ecs:us-east-1:111111111111:service-revision/prod/web/1", Cluster: "prod", Service: "web"}
	put(t, s,
		clusterRec(scopeA, "prod", store.ClusterActive),
		serviceRec(scopeA, "prod", "web", store.ServiceActive),
		taskRec(scopeA, "prod", "t1", store.TaskRunning),
		d, r,
		store.Setting{Scope: scopeA, Name: "containerInsights", Value: "enabled"},
		store.Attribute{Scope: scopeA, Cluster: "prod", TargetType: "container-instance", TargetID: "ci", Name: "a"},
	)
	for _, other := range []store.Scope{scopeB, scopeC} {
		view(t, s, func(tx store.ReadTx) error {
			for what, err := range map[string]error{
				"Cluster":           second(tx.Cluster(other, "prod")),
				"Service":           second(tx.Service(other, "prod", "web")),
				"Task":              second(tx.Task(other, "prod", "t1")),
				"ServiceDeployment": second(tx.ServiceDeployment(other, d.ARN)),
				"ServiceRevision":   second(tx.ServiceRevision(other, r.ARN)),
			} {
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s in scope %v: error = %v, want ErrNotFound", what, other, err)
				}
			}
			lists := map[string]func() (int, error){
				"Clusters": func() (int, error) { v, err := tx.Clusters(other, store.ClustersQuery{}); return len(v), err },
				"Services": func() (int, error) {
					v, err := tx.Services(other, store.ServicesQuery{Cluster: "prod"})
					return len(v), err
				},
				"Tasks": func() (int, error) { v, err := tx.Tasks(other, store.TasksQuery{}); return len(v), err },
				"ServiceDeployments": func() (int, error) {
					v, err := tx.ServiceDeployments(other, store.ServiceDeploymentsQuery{Cluster: "prod", Service: "web"})
					return len(v), err
				},
				"Settings":   func() (int, error) { v, err := tx.Settings(other, ""); return len(v), err },
				"Attributes": func() (int, error) { v, err := tx.Attributes(other, "prod", "", ""); return len(v), err },
			}
			for what, list := range lists {
				if n, err := list(); n != 0 || err != nil {
					t.Errorf("%s in scope %v = %d records, %v; want none", what, other, n, err)
				}
			}
			if c, err := tx.ClusterCounts(other, "prod"); c != (store.ClusterCounts{}) || err != nil {
				t.Errorf("ClusterCounts in scope %v = %+v, %v; want zero", other, c, err)
			}
			return nil
		})
	}
}

// testErr is a caller's error type; Update and View must return it as is.
type testErr struct{ msg string }

func (e *testErr) Error() string { return e.msg }

func testUpdateAtomicity(t *testing.T, s store.Store) {
	put(t, s, clusterRec(scopeA, "keep", store.ClusterActive))

	// fn's error: nothing it wrote is kept, and the error comes back as is.
	want := &testErr{"ClusterContainsTasksException"}
	err := s.Update(t.Context(), func(tx store.Tx) error {
		for _, w := range []func() error{
			func() error { return tx.PutCluster(clusterRec(scopeA, "doomed", store.ClusterActive)) },
			func() error { return tx.PutCluster(clusterRec(scopeA, "keep", store.ClusterInactive)) },
			func() error { return tx.PutTask(taskRec(scopeA, "keep", "t1", store.TaskRunning)) },
			func() error {
				return tx.PutTags(scopeA, store.ClusterARN(scopeA, "keep"), []store.Tag{{Key: "k", Value: "v"}})
			},
			func() error {
				return tx.PutSetting(store.Setting{Scope: scopeA, Name: "containerInsights", Value: "enabled"})
			},
		} {
			if err := w(); err != nil {
				return err
			}
		}
		return want
	})
	if err != want {
		t.Errorf("Update returned %#v, want fn's error %#v itself", err, want)
	}
	var te *testErr
	if !errors.As(err, &te) {
		t.Errorf("errors.As(%v, *testErr) = false", err)
	}
	checkUntouched := func(step string) {
		t.Helper()
		view(t, s, func(tx store.ReadTx) error {
			if _, err := tx.Cluster(scopeA, "doomed"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: cluster written by the failed Update: error = %v, want ErrNotFound", step, err)
			}
			c, err := tx.Cluster(scopeA, "keep")
			if err != nil {
				return err
			}
			wantEqual(t, step+": cluster replaced by the failed Update", clusterRec(scopeA, "keep", store.ClusterActive), c)
			if ks, err := tx.Tasks(scopeA, store.TasksQuery{}); len(ks) != 0 || err != nil {
				t.Errorf("%s: tasks = %d, %v; want none", step, len(ks), err)
			}
			if tags, err := tx.Tags(store.ClusterARN(scopeA, "keep")); len(tags) != 0 || err != nil {
				t.Errorf("%s: tags = %v, %v; want none", step, tags, err)
			}
			if set, err := tx.Settings(scopeA, ""); len(set) != 0 || err != nil {
				t.Errorf("%s: settings = %v, %v; want none", step, set, err)
			}
			return nil
		})
	}
	checkUntouched("after an error")

	// A panic in fn reaches the caller; nothing fn wrote is kept.
	func() {
		defer func() {
			if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "bug in fn") {
				t.Errorf("recovered %v, want the panic from fn", p)
			}
		}()
		s.Update(t.Context(), func(tx store.Tx) error {
			if err := tx.PutCluster(clusterRec(scopeA, "doomed", store.ClusterActive)); err != nil {
				return err
			}
			panic("bug in fn")
		})
		t.Error("Update returned after fn panicked")
	}()
	checkUntouched("after a panic")
	// The store still serves writes.
	put(t, s, clusterRec(scopeA, "after", store.ClusterActive))

	// View returns fn's error as is too.
	if err := s.View(t.Context(), func(store.ReadTx) error { return want }); err != want {
		t.Errorf("View returned %#v, want fn's error itself", err)
	}
}

func testUpdateCanceledContext(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	called := false
	err := s.Update(ctx, func(tx store.Tx) error {
		called = true
		return tx.PutCluster(clusterRec(scopeA, "prod", store.ClusterActive))
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update with a canceled context: error = %v, want context.Canceled", err)
	}
	if called {
		t.Error("Update with a canceled context called fn")
	}
	if err := s.View(ctx, func(store.ReadTx) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("View with a canceled context: error = %v, want context.Canceled", err)
	}
	err = s.View(t.Context(), func(tx store.ReadTx) error {
		_, err := tx.Cluster(scopeA, "prod")
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("cluster written by a canceled Update: error = %v, want ErrNotFound", err)
	}
}

// testConcurrentUpdates: read-modify-write in Update is atomic: increments
// from many goroutines all land.
func testConcurrentUpdates(t *testing.T, s store.Store) {
	const goroutines, perGoroutine = 16, 20
	counter := func(n int) store.Cluster {
		c := clusterRec(scopeA, "counter", store.ClusterActive)
		c.Body = []byte(strconv.Itoa(n))
		return c
	}
	put(t, s, counter(0))
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range perGoroutine {
				err := s.Update(t.Context(), func(tx store.Tx) error {
					c, err := tx.Cluster(scopeA, "counter")
					if err != nil {
						return err
					}
					n, err := strconv.Atoi(string(c.Body))
					if err != nil {
						return err
					}
					return tx.PutCluster(counter(n + 1))
				})
				if err != nil {
					t.Errorf("Update: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	got := read(t, s, func(tx store.ReadTx) (store.Cluster, error) { return tx.Cluster(scopeA, "counter") })
	if string(got.Body) != strconv.Itoa(goroutines*perGoroutine) {
		t.Errorf("counter = %s after %d increments", got.Body, goroutines*perGoroutine)
	}
}

// testViewIsSnapshot: a View keeps reading what it first saw while an
// Update commits.
func testViewIsSnapshot(t *testing.T, s store.Store) {
	put(t, s, clusterRec(scopeA, "prod", store.ClusterActive))
	view(t, s, func(tx store.ReadTx) error {
		before, err := tx.Cluster(scopeA, "prod")
		if err != nil {
			return err
		}
		put(t, s, clusterRec(scopeA, "prod", store.ClusterInactive), clusterRec(scopeA, "new", store.ClusterActive))
		after, err := tx.Cluster(scopeA, "prod")
		if err != nil {
			return err
		}
		wantEqual(t, "cluster re-read in one View across a commit", before, after)
		if _, err := tx.Cluster(scopeA, "new"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("View saw a cluster committed after its first read: error = %v", err)
		}
		return nil
	})
	got := read(t, s, func(tx store.ReadTx) (store.Cluster, error) { return tx.Cluster(scopeA, "prod") })
	if got.Status != store.ClusterInactive {
		t.Errorf("a new View reads status %s, want the committed INACTIVE", got.Status)
	}
}

func clusterResource(scope store.Scope, arn, cluster string) store.Resource {
	return store.Resource{Scope: scope, ARN: arn, Cluster: cluster}
}

func testResourceTags(t *testing.T, s store.Store) {
	const id = "0123456789abcdef0123456789abcdef"
	put(t, s,
		clusterRec(scopeA, "prod", store.ClusterActive),
		clusterRec(scopeA, "old", store.ClusterInactive),
		serviceRec(scopeA, "prod", "web", store.ServiceActive),
		serviceRec(scopeA, "prod", "gone", store.ServiceInactive),
		taskRec(scopeA, "prod", id, store.TaskRunning),
	)
	short := "arn:aws:ecs:us-east-1:111111111111:"
	cluster := store.Resource{Scope: scopeA, ARN: short + "cluster/prod", Cluster: "prod"}
	// Short-format ARNs and bare names: the store keys by the typed target.
	service := store.Resource{Scope: scopeA, ARN: short + "service/web", Cluster: "prod", Service: "web"}
	task := store.Resource{Scope: scopeA, ARN: short + "task/" + id, Cluster: "prod", Task: id}
	for _, tc := range []struct {
		r   store.Resource
		arn string
	}{
		{cluster, store.ClusterARN(scopeA, "prod")},
		{service, store.ServiceARN(scopeA, "prod", "web")},
		{task, store.TaskARN(scopeA, "prod", id)},
		{store.Resource{Scope: scopeA, ARN: "old", Cluster: "old"}, store.ClusterARN(scopeA, "old")},
		{store.Resource{Scope: scopeA, ARN: "gone", Cluster: "prod", Service: "gone"}, store.ServiceARN(scopeA, "prod", "gone")},
	} {
		wantTags(t, s, tc.r, nil)
		if err := s.TagResource(t.Context(), tc.r, []store.Tag{{Key: "b", Value: "2"}, {Key: "a", Value: "1"}}, 3); err != nil {
			t.Fatalf("TagResource(%s): %v", tc.r.ARN, err)
		}
		if err := s.TagResource(t.Context(), tc.r, []store.Tag{{Key: "c", Value: "3"}, {Key: "d", Value: "4"}}, 3); !errors.Is(err, store.ErrTooManyTags) {
			t.Errorf("TagResource(%s) over the limit: error = %v, want ErrTooManyTags", tc.r.ARN, err)
		}
		if err := s.UntagResource(t.Context(), tc.r, []string{"b", "nope"}); err != nil {
			t.Fatalf("UntagResource(%s): %v", tc.r.ARN, err)
		}
		wantTags(t, s, tc.r, []store.Tag{{Key: "a", Value: "1"}})
		// The same tags, under the canonical ARN, through a transaction.
		wantEqual(t, "Tags("+tc.arn+")", []store.Tag{{Key: "a", Value: "1"}},
			read(t, s, func(tx store.ReadTx) ([]store.Tag, error) { return tx.Tags(tc.arn) }))
	}
	// Tags of one resource kind do not leak to another named alike.
	wantTags(t, s, store.Resource{Scope: scopeA, Cluster: "prod", Service: "web"}, []store.Tag{{Key: "a", Value: "1"}})

	missing := []store.Resource{
		{Scope: scopeA, ARN: "nope", Cluster: "nope"},
		{Scope: scopeB, ARN: "prod", Cluster: "prod"},
		{Scope: scopeC, ARN: "prod", Cluster: "prod"},
		{Scope: scopeA, ARN: "web", Cluster: "other", Service: "web"},
		{Scope: scopeA, ARN: "nope", Cluster: "prod", Service: "nope"},
		{Scope: scopeA, ARN: "t", Cluster: "prod", Task: "ffffffffffffffffffffffffffffffff"},
		{Scope: scopeA, ARN: "t", Cluster: "other", Task: id},
		{Scope: scopeA, ARN: "bad", Service: "web"}, // no cluster
		{Scope: scopeA, ARN: "bad"},                 // no target at all
	}
	for _, r := range missing {
		if _, err := s.ListTags(t.Context(), r); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ListTags(%+v): error = %v, want ErrNotFound", r, err)
		}
		if err := s.TagResource(t.Context(), r, []store.Tag{{Key: "k", Value: "v"}}, 50); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("TagResource(%+v): error = %v, want ErrNotFound", r, err)
		}
		if err := s.UntagResource(t.Context(), r, []string{"k"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UntagResource(%+v): error = %v, want ErrNotFound", r, err)
		}
	}

	// PutTags merges, DeleteTags clears, DeleteTask takes the task's tags.
	update(t, s, func(tx store.Tx) error {
		return tx.PutTags(scopeA, store.ClusterARN(scopeA, "prod"), []store.Tag{{Key: "a", Value: "10"}, {Key: "z", Value: "26"}})
	})
	wantTags(t, s, cluster, []store.Tag{{Key: "a", Value: "10"}, {Key: "z", Value: "26"}})
	update(t, s, func(tx store.Tx) error {
		if err := tx.DeleteTags(store.ClusterARN(scopeA, "prod")); err != nil {
			return err
		}
		return tx.DeleteTask(scopeA, "prod", id)
	})
	wantTags(t, s, cluster, nil)
	if _, err := s.ListTags(t.Context(), task); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ListTags of a deleted task: error = %v, want ErrNotFound", err)
	}
	if tags := read(t, s, func(tx store.ReadTx) ([]store.Tag, error) { return tx.Tags(store.TaskARN(scopeA, "prod", id)) }); len(tags) != 0 {
		t.Errorf("tags outlived their task: %v", tags)
	}
	// A task put again under the same ID starts untagged.
	put(t, s, taskRec(scopeA, "prod", id, store.TaskRunning))
	wantTags(t, s, task, nil)
}

func testResetOrchestration(t *testing.T, s store.Store) {
	put(t, s,
		clusterRec(scopeA, "prod", store.ClusterActive),
		serviceRec(scopeA, "prod", "web", store.ServiceActive),
		taskRec(scopeA, "prod", "t1", store.TaskRunning),
		taskRec(scopeA, "prod", "t2", store.TaskStopped),
		deploymentRec(scopeA, "prod", "web", "d1", "SUCCESSFUL", t0),
		store.ServiceRevision{Scope: scopeA, ARN: "rev", Cluster: "prod", Service: "web"},
		store.Setting{Scope: scopeA, Name: "containerInsights", Value: "enabled"},
		store.Attribute{Scope: scopeA, Cluster: "prod", TargetType: "container-instance", TargetID: "ci", Name: "a"},
	)
	update(t, s, func(tx store.Tx) error {
		return tx.PutTags(scopeA, store.ClusterARN(scopeA, "prod"), []store.Tag{{Key: "k", Value: "v"}})
	})
	if err := s.Reset(t.Context()); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	view(t, s, func(tx store.ReadTx) error {
		counts := map[string]func() (int, error){
			"Clusters": func() (int, error) { v, err := tx.Clusters(scopeA, store.ClustersQuery{}); return len(v), err },
			"Services": func() (int, error) { v, err := tx.ServicesToSchedule(nil, 0); return len(v), err },
			"Tasks":    func() (int, error) { v, err := tx.Tasks(scopeA, store.TasksQuery{}); return len(v), err },
			"StoppedTasks": func() (int, error) {
				v, err := tx.StoppedTasksBefore(t0.Add(24*time.Hour), 0)
				return len(v), err
			},
			"ServiceDeployments": func() (int, error) {
				v, err := tx.ServiceDeployments(scopeA, store.ServiceDeploymentsQuery{Cluster: "prod", Service: "web"})
				return len(v), err
			},
			"ServiceRevision": func() (int, error) {
				_, err := tx.ServiceRevision(scopeA, "rev")
				if errors.Is(err, store.ErrNotFound) {
					return 0, nil
				}
				return 1, err
			},
			"Settings":   func() (int, error) { v, err := tx.Settings(scopeA, ""); return len(v), err },
			"Attributes": func() (int, error) { v, err := tx.Attributes(scopeA, "prod", "", ""); return len(v), err },
			"Tags":       func() (int, error) { v, err := tx.Tags(store.ClusterARN(scopeA, "prod")); return len(v), err },
		}
		for what, count := range counts {
			if n, err := count(); n != 0 || err != nil {
				t.Errorf("%s after Reset = %d, %v; want none", what, n, err)
			}
		}
		return nil
	})
}

// restartRecords are written before RunRestart closes the store and
// checked after it reopens.
func restartRecords() []any {
	k := taskRec(scopeA, "prod", "t1", store.TaskStopped)
	placed := placedTaskRec(scopeA, "prod", "t2", "ci", store.TaskRunning, store.Reservation{CPU: 512, Memory: 256, Ports: []int{8080}})
	return []any{
		instanceRec(scopeA, "prod", "ci", store.InstanceDraining),
		placed,
		clusterRec(scopeA, "prod", store.ClusterActive),
		serviceRec(scopeA, "prod", "web", store.ServiceDraining),
		k,
		deploymentRec(scopeA, "prod", "web", "d1", "SUCCESSFUL", t0),
		store.ServiceRevision{Scope: scopeA, ARN: "rev", Cluster: "prod", Service: "web", Body: []byte(`{}`)},
		store.Setting{Scope: scopeA, Name: "containerInsights", Value: "enabled"},
		store.Attribute{Scope: scopeA, Cluster: "prod", TargetType: "container-instance", TargetID: "ci", Name: "a", Value: "b"},
	}
}

func writeRestartRecords(t *testing.T, s store.Store) {
	put(t, s, restartRecords()...)
	if err := s.TagResource(t.Context(), store.Resource{Scope: scopeA, ARN: "prod", Cluster: "prod"}, []store.Tag{{Key: "k", Value: "v"}}, 50); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
}

func checkRestartRecords(t *testing.T, s store.Store) {
	t.Helper()
	var got []any
	view(t, s, func(tx store.ReadTx) error {
		for _, get := range []func() (any, error){
			func() (any, error) { return tx.ContainerInstance(scopeA, "prod", "ci") },
			func() (any, error) { return tx.Task(scopeA, "prod", "t2") },
			func() (any, error) { return tx.Cluster(scopeA, "prod") },
			func() (any, error) { return tx.Service(scopeA, "prod", "web") },
			func() (any, error) { return tx.Task(scopeA, "prod", "t1") },
			func() (any, error) {
				return tx.ServiceDeployment(scopeA, deploymentRec(scopeA, "prod", "web", "d1", "", t0).ARN)
			},
			func() (any, error) { return tx.ServiceRevision(scopeA, "rev") },
			func() (any, error) { v, err := tx.Settings(scopeA, ""); return first(v), err },
			func() (any, error) { v, err := tx.Attributes(scopeA, "prod", "", ""); return first(v), err },
		} {
			v, err := get()
			if err != nil {
				return err
			}
			got = append(got, v)
		}
		return nil
	})
	wantEqual(t, "orchestration records after reopen", restartRecords(), got)
	wantTags(t, s, store.Resource{Scope: scopeA, ARN: "prod", Cluster: "prod"}, []store.Tag{{Key: "k", Value: "v"}})
}

func first[T any](v []T) any {
	if len(v) != 1 {
		return v
	}
	return v[0]
}

// testTxPurgeTaskDefinition: the sweeper's in-use check and purge share
// one transaction.
func testTxPurgeTaskDefinition(t *testing.T, s store.Store) {
	register(t, s, scopeA, "web", store.Tag{Key: "k", Value: "v"})
	register(t, s, scopeA, "web")
	register(t, s, scopeA, "web")
	setStatus(t, s, scopeA, "web", 1, store.StatusDeleteInProgress)
	setStatus(t, s, scopeA, "web", 2, store.StatusDeleteInProgress)

	err := s.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.PurgeTaskDefinition(scopeA, "web", 3); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("PurgeTaskDefinition of an ACTIVE revision: error = %v, want ErrNotFound", err)
		}
		if err := tx.PurgeTaskDefinition(scopeB, "web", 1); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("PurgeTaskDefinition in another scope: error = %v, want ErrNotFound", err)
		}
		inUse, err := tx.TaskDefinitionInUse(scopeA, "web", 1)
		if err != nil || inUse {
			t.Errorf("TaskDefinitionInUse(web:1) = %v, %v; want false", inUse, err)
		}
		return tx.PurgeTaskDefinition(scopeA, "web", 1)
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if _, err := s.GetTaskDefinition(t.Context(), scopeA, "web", 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("web:1 after the purge: error = %v, want ErrNotFound", err)
	}
	if tags := read(t, s, func(tx store.ReadTx) ([]store.Tag, error) { return tx.Tags(store.TaskDefinitionARN(scopeA, "web", 1)) }); len(tags) != 0 {
		t.Errorf("tags outlived the purged revision: %v", tags)
	}

	// A purge in an Update that fails is undone.
	errAbort := &testErr{"abort"}
	err = s.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.PurgeTaskDefinition(scopeA, "web", 2); err != nil {
			return err
		}
		return errAbort
	})
	if err != errAbort {
		t.Fatalf("Update returned %v, want %v", err, errAbort)
	}
	get(t, s, scopeA, "web", 2)
	wantFamilies(t, s, scopeA, store.ListFamiliesQuery{Status: store.FamilyStatusAll, Limit: 10}, []string{"web"})
	if td := register(t, s, scopeA, "web"); td.Revision != 4 {
		t.Errorf("revision after the purges = %d, want 4", td.Revision)
	}
}
