package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/ecsd/ecsd/internal/store"
)

// Conformance tests of container instances and task placement.

func instanceRec(scope store.Scope, cluster, id, status string) store.ContainerInstance {
	return store.ContainerInstance{
		Scope: scope, Cluster: cluster, ID: id, EC2InstanceID: "i-" + id, Status: status,
		Source: store.InstanceSourceAPI, RegisteredAt: t0,
		Body: []byte(`{"containerInstanceArn":"` + id + `"}`),
	}
}

func placedTaskRec(scope store.Scope, cluster, id, instance, lastStatus string, r store.Reservation) store.Task {
	k := taskRec(scope, cluster, id, lastStatus)
	k.LaunchType, k.Group, k.ContainerInstance, k.Reservation = "EC2", "family:web", instance, r
	return k
}

func putInstances(t *testing.T, s store.Store, cis ...store.ContainerInstance) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		for _, ci := range cis {
			if err := tx.PutContainerInstance(ci); err != nil {
				return err
			}
		}
		return nil
	})
}

func testContainerInstances(t *testing.T, s store.Store) {
	put(t, s, clusterRec(scopeA, "prod", store.ClusterActive))
	a := instanceRec(scopeA, "prod", "a1", store.InstanceActive)
	a.AgentUpdateRequestedAt = t0.Add(time.Minute)
	b := instanceRec(scopeA, "prod", "b2", store.InstanceDraining)
	b.CapacityProvider, b.Source = "cp", store.InstanceSourceSimulated
	c := instanceRec(scopeA, "prod", "c3", store.InstanceInactive)
	d := instanceRec(scopeA, "prod", "d4", store.InstanceActive)
	d.EC2InstanceID = ""
	other := instanceRec(scopeB, "prod", "a1", store.InstanceActive)
	putInstances(t, s, d, c, b, a, other)

	wantEqual(t, "ContainerInstance", a, read(t, s, func(tx store.ReadTx) (store.ContainerInstance, error) {
		return tx.ContainerInstance(scopeA, "prod", "a1")
	}))
	view(t, s, func(tx store.ReadTx) error {
		if _, err := tx.ContainerInstance(scopeA, "prod", "zz"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing instance: error = %v, want ErrNotFound", err)
		}
		return nil
	})
	ids := func(q store.ContainerInstancesQuery) []string {
		t.Helper()
		q.Cluster = "prod"
		var out []string
		for _, ci := range read(t, s, func(tx store.ReadTx) ([]store.ContainerInstance, error) { return tx.ContainerInstances(scopeA, q) }) {
			out = append(out, ci.ID)
		}
		return out
	}
	for _, tc := range []struct {
		q    store.ContainerInstancesQuery
		want []string
	}{
		{store.ContainerInstancesQuery{}, []string{"a1", "b2", "c3", "d4"}},
		{store.ContainerInstancesQuery{Limit: 2}, []string{"a1", "b2"}},
		{store.ContainerInstancesQuery{After: "b2", Limit: 10}, []string{"c3", "d4"}},
		{store.ContainerInstancesQuery{Statuses: []string{store.InstanceActive}}, []string{"a1", "d4"}},
		{store.ContainerInstancesQuery{Statuses: []string{store.InstanceActive, store.InstanceDraining}, After: "a1"}, []string{"b2", "d4"}},
		{store.ContainerInstancesQuery{EC2InstanceID: "i-c3"}, []string{"c3"}},
		{store.ContainerInstancesQuery{CapacityProvider: "cp"}, []string{"b2"}},
		{store.ContainerInstancesQuery{CapacityProvider: "none"}, nil},
	} {
		wantEqual(t, "ContainerInstances "+describe(tc.q), tc.want, ids(tc.q))
	}

	// Put replaces every non-key field.
	a.Status, a.EC2InstanceID, a.CapacityProvider, a.Source = store.InstanceInactive, "i-new", "cp2", store.InstanceSourceDockerHost
	a.RegisteredAt, a.AgentUpdateRequestedAt, a.Body = t0.Add(time.Hour), time.Time{}, []byte(`{"v":2}`)
	putInstances(t, s, a)
	wantEqual(t, "ContainerInstance after replace", a, read(t, s, func(tx store.ReadTx) (store.ContainerInstance, error) {
		return tx.ContainerInstance(scopeA, "prod", "a1")
	}))

	put(t, s,
		store.Attribute{Scope: scopeA, Cluster: "prod", TargetType: "container-instance", TargetID: "b2", Name: "z", Value: "1"},
		store.Attribute{Scope: scopeA, Cluster: "prod", TargetType: "container-instance", TargetID: "b2", Name: "a"},
		store.Attribute{Scope: scopeA, Cluster: "prod", TargetType: "container-instance", TargetID: "c3", Name: "m", Value: "2"},
	)
	wantEqual(t, "TargetAttributes of b2", []store.Attribute{
		{Scope: scopeA, Cluster: "prod", TargetType: "container-instance", TargetID: "b2", Name: "a"},
		{Scope: scopeA, Cluster: "prod", TargetType: "container-instance", TargetID: "b2", Name: "z", Value: "1"},
	}, read(t, s, func(tx store.ReadTx) ([]store.Attribute, error) { return tx.TargetAttributes(scopeA, "prod", "b2") }))

	// AllClusters walks every scope.
	put(t, s, clusterRec(scopeB, "b", store.ClusterActive), clusterRec(scopeA, "gone", store.ClusterInactive))
	var walked []string
	var after *store.Cluster
	for {
		page := read(t, s, func(tx store.ReadTx) ([]store.Cluster, error) { return tx.AllClusters(store.ClusterActive, after, 1) })
		if len(page) == 0 {
			break
		}
		walked = append(walked, page[0].Account+"/"+page[0].Name)
		after = &page[0]
	}
	wantEqual(t, "AllClusters ACTIVE", []string{scopeA.Account + "/prod", scopeB.Account + "/b"}, walked)
	if got := read(t, s, func(tx store.ReadTx) ([]store.Cluster, error) { return tx.AllClusters("", nil, 0) }); len(got) != 3 {
		t.Errorf("AllClusters of any status: %d, want 3", len(got))
	}

	// ACTIVE and DRAINING instances are registered; INACTIVE ones are not.
	counts := read(t, s, func(tx store.ReadTx) (store.ClusterCounts, error) { return tx.ClusterCounts(scopeA, "prod") })
	if counts.RegisteredInstances != 2 {
		t.Errorf("RegisteredInstances = %d, want 2 (b2 DRAINING, d4 ACTIVE)", counts.RegisteredInstances)
	}
	if err := s.Update(t.Context(), func(tx store.Tx) error {
		return tx.PutContainerInstance(store.ContainerInstance{Scope: scopeA, Cluster: "prod", Status: store.InstanceActive})
	}); err == nil {
		t.Error("PutContainerInstance without an ID succeeded")
	}
}

func describe(q store.ContainerInstancesQuery) string {
	return "statuses=" + joinNames(q.Statuses) + " ec2=" + q.EC2InstanceID + " cp=" + q.CapacityProvider + " after=" + q.After
}

func joinNames(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

// testTaskPlacement: what a task holds on its instance is stored with the
// task, fixed at its first put, and counted while it is not STOPPED.
func testTaskPlacement(t *testing.T, s store.Store) {
	put(t, s, clusterRec(scopeA, "prod", store.ClusterActive))
	putInstances(t, s, instanceRec(scopeA, "prod", "a1", store.InstanceActive), instanceRec(scopeA, "prod", "b2", store.InstanceActive))
	r1 := store.Reservation{CPU: 256, Memory: 512, Ports: []int{80, 443}, PortsUDP: []int{53}, GPUIDs: []string{"GPU-0", "GPU-1"},
		Dynamic: []store.DynamicPort{
			{Container: "web", ContainerPort: 8080, HostPort: 49153, Count: 1},
			{Container: "dns_1", ContainerPort: 5000, HostPort: 49160, Count: 10, UDP: true},
		}}
	r2 := store.Reservation{CPU: 128, Memory: 64}
	put(t, s,
		placedTaskRec(scopeA, "prod", "t1", "a1", store.TaskRunning, r1),
		placedTaskRec(scopeA, "prod", "t2", "a1", store.TaskPending, r2),
		placedTaskRec(scopeA, "prod", "t3", "b2", store.TaskStopped, r2),
		placedTaskRec(scopeA, "prod", "t4", "b2", "DEACTIVATING", r2),
		taskRec(scopeA, "prod", "t5", store.TaskRunning), // not placed (Fargate)
	)
	got := read(t, s, func(tx store.ReadTx) (store.Task, error) { return tx.Task(scopeA, "prod", "t1") })
	wantEqual(t, "placed task round trip", placedTaskRec(scopeA, "prod", "t1", "a1", store.TaskRunning, r1), got)

	want := []store.PlacedTask{
		{ContainerInstance: "a1", ID: "t1", Group: "family:web", LastStatus: store.TaskRunning, Reservation: r1},
		{ContainerInstance: "a1", ID: "t2", Group: "family:web", LastStatus: store.TaskPending, Reservation: r2},
		{ContainerInstance: "b2", ID: "t4", Group: "family:web", LastStatus: "DEACTIVATING", Reservation: r2},
	}
	wantEqual(t, "PlacedTasks of the cluster", want,
		read(t, s, func(tx store.ReadTx) ([]store.PlacedTask, error) { return tx.PlacedTasks(scopeA, "prod", "") }))
	wantEqual(t, "PlacedTasks of a1", want[:2],
		read(t, s, func(tx store.ReadTx) ([]store.PlacedTask, error) { return tx.PlacedTasks(scopeA, "prod", "a1") }))

	// A later put changes the task but never its placement.
	moved := placedTaskRec(scopeA, "prod", "t1", "b2", store.TaskStopped, r2)
	moved.ExternalAgent = true
	put(t, s, moved)
	got = read(t, s, func(tx store.ReadTx) (store.Task, error) { return tx.Task(scopeA, "prod", "t1") })
	if got.ContainerInstance != "a1" || got.ExternalAgent || got.LastStatus != store.TaskStopped {
		t.Errorf("after a second put: instance %q, external %t, status %s; want a1, false, STOPPED", got.ContainerInstance, got.ExternalAgent, got.LastStatus)
	}
	wantEqual(t, "placement kept", r1, got.Reservation)
	// A STOPPED task holds nothing.
	wantEqual(t, "PlacedTasks of a1 once t1 stopped", want[1:2],
		read(t, s, func(tx store.ReadTx) ([]store.PlacedTask, error) { return tx.PlacedTasks(scopeA, "prod", "a1") }))

	ext := placedTaskRec(scopeA, "prod", "t6", "b2", store.TaskPending, r2)
	ext.ExternalAgent = true
	put(t, s, ext)
	if got := read(t, s, func(tx store.ReadTx) (store.Task, error) { return tx.Task(scopeA, "prod", "t6") }); !got.ExternalAgent {
		t.Error("ExternalAgent was not kept")
	}

	// A task put first without an instance (waiting in PROVISIONING for a
	// capacity provider's capacity) is placed by a later put, once.
	// What its RunTask request asked of placement stays with it through
	// later puts that do not carry it.
	waiting := placedTaskRec(scopeA, "prod", "t7", "", "PROVISIONING", store.Reservation{})
	waiting.RequestedPlacement = []byte(`{"placementStrategy":[{"type":"spread","field":"instanceId"}]}`)
	put(t, s, waiting)
	wantEqual(t, "waiting task", waiting, read(t, s, func(tx store.ReadTx) (store.Task, error) { return tx.Task(scopeA, "prod", "t7") }))
	placed := placedTaskRec(scopeA, "prod", "t7", "a1", store.TaskPending, r2)
	put(t, s, placed)
	placed.RequestedPlacement = waiting.RequestedPlacement
	wantEqual(t, "waiting task placed", placed, read(t, s, func(tx store.ReadTx) (store.Task, error) { return tx.Task(scopeA, "prod", "t7") }))
	put(t, s, placedTaskRec(scopeA, "prod", "t7", "b2", store.TaskRunning, r1))
	if got := read(t, s, func(tx store.ReadTx) (store.Task, error) { return tx.Task(scopeA, "prod", "t7") }); got.ContainerInstance != "a1" || got.Reservation.CPU != r2.CPU {
		t.Errorf("a placed waiting task moved: instance %q, reservation %+v", got.ContainerInstance, got.Reservation)
	}

	// ListTasks' containerInstance filter.
	taskIDs := func(q store.TasksQuery) []string {
		t.Helper()
		var out []string
		for _, k := range read(t, s, func(tx store.ReadTx) ([]store.Task, error) { return tx.Tasks(scopeA, q) }) {
			out = append(out, k.ID)
		}
		return out
	}
	wantEqual(t, "tasks on a1", []string{"t1", "t2", "t7"}, taskIDs(store.TasksQuery{Cluster: "prod", ContainerInstance: "a1"}))
	wantEqual(t, "tasks on b2 after t3", []string{"t4", "t6"}, taskIDs(store.TasksQuery{Cluster: "prod", ContainerInstance: "b2", After: "t3"}))
	wantEqual(t, "tasks on b2 desired STOPPED", []string{"t3"}, taskIDs(store.TasksQuery{Cluster: "prod", ContainerInstance: "b2", DesiredStatus: store.TaskStopped}))
}

// testContainerInstanceTags: a container instance ARN is taggable while
// its record exists.
func testContainerInstanceTags(t *testing.T, s store.Store) {
	put(t, s, clusterRec(scopeA, "prod", store.ClusterActive))
	putInstances(t, s, instanceRec(scopeA, "prod", "a1", store.InstanceActive))
	r := store.Resource{Scope: scopeA, ARN: "ci", Cluster: "prod", ContainerInstance: "a1"}
	if err := s.TagResource(t.Context(), r, []store.Tag{{Key: "k", Value: "v"}}, 50); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	wantTags(t, s, r, []store.Tag{{Key: "k", Value: "v"}})
	if got := read(t, s, func(tx store.ReadTx) ([]store.Tag, error) {
		return tx.Tags(store.ContainerInstanceARN(scopeA, "prod", "a1"))
	}); len(got) != 1 {
		t.Errorf("tags under the canonical ARN = %v, want one", got)
	}
	missing := store.Resource{Scope: scopeA, ARN: "ci", Cluster: "prod", ContainerInstance: "zz"}
	if err := s.TagResource(t.Context(), missing, []store.Tag{{Key: "k", Value: "v"}}, 50); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TagResource of a missing instance: %v, want ErrNotFound", err)
	}
	if err := s.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := read(t, s, func(tx store.ReadTx) ([]store.ContainerInstance, error) {
		return tx.ContainerInstances(scopeA, store.ContainerInstancesQuery{Cluster: "prod"})
	}); len(got) != 0 {
		t.Errorf("instances after Reset: %d", len(got))
	}
}

// testTaskProtection: SetTaskProtection sets and clears a task's scale-in
// protection; later puts of the task keep it; a missing task is
// ErrNotFound.
func testTaskProtection(t *testing.T, s store.Store) {
	put(t, s, clusterRec(scopeA, "prod", store.ClusterActive), taskRec(scopeA, "prod", "t1", store.TaskRunning))
	until := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	set := func(id string, at time.Time) error {
		return s.Update(t.Context(), func(tx store.Tx) error { return tx.SetTaskProtection(scopeA, "prod", id, at) })
	}
	if err := set("t1", until); err != nil {
		t.Fatal(err)
	}
	get := func() store.Task {
		return read(t, s, func(tx store.ReadTx) (store.Task, error) { return tx.Task(scopeA, "prod", "t1") })
	}
	if got := get().ProtectedUntil; !got.Equal(until) {
		t.Errorf("ProtectedUntil = %v, want %v", got, until)
	}
	// The supervisor's puts carry no protection and must not clear it.
	put(t, s, taskRec(scopeA, "prod", "t1", "STOPPING"))
	if got := get(); !got.ProtectedUntil.Equal(until) || got.LastStatus != "STOPPING" {
		t.Errorf("after a put: protected until %v, status %s", got.ProtectedUntil, got.LastStatus)
	}
	if err := set("t1", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := get().ProtectedUntil; !got.IsZero() {
		t.Errorf("cleared protection = %v", got)
	}
	if err := set("missing", until); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetTaskProtection of a missing task: %v, want ErrNotFound", err)
	}
}
