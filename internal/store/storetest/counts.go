package storetest

import (
	"testing"

	"github.com/ecsd/ecsd/internal/store"
)

// testCounts: a store.Counter counts tasks of every scope by last status
// and launch type, and live services by status and rollout state, and the
// counts follow every write (a status change moves a task between
// counts; a deleted task leaves them; an INACTIVE service is not counted).
func testCounts(t *testing.T, s store.Store) {
	c, ok := s.(store.Counter)
	if !ok {
		t.Skipf("%T is not a store.Counter: its metrics report no task or service counts", s)
	}
	tasks := func() []store.TaskCount {
		t.Helper()
		got, err := c.TaskCounts(t.Context())
		if err != nil {
			t.Fatalf("TaskCounts: %v", err)
		}
		return got
	}
	services := func() []store.ServiceCount {
		t.Helper()
		got, err := c.ServiceCounts(t.Context())
		if err != nil {
			t.Fatalf("ServiceCounts: %v", err)
		}
		return got
	}
	wantEqual(t, "task counts of an empty store", []store.TaskCount(nil), tasks())
	wantEqual(t, "service counts of an empty store", []store.ServiceCount(nil), services())

	ec2 := func(r store.Task) store.Task { r.LaunchType = "EC2"; return r }
	put(t, s,
		taskRec(scopeA, "c", "t1", store.TaskRunning),
		taskRec(scopeA, "c", "t2", store.TaskRunning),
		taskRec(scopeB, "c", "t3", store.TaskRunning),
		ec2(taskRec(scopeC, "d", "t4", store.TaskRunning)),
		taskRec(scopeA, "c", "t5", store.TaskPending),
		taskRec(scopeA, "c", "t6", store.TaskStopped),
	)
	wantEqual(t, "task counts", []store.TaskCount{
		{LastStatus: "RUNNING", LaunchType: "EC2", Count: 1},
		{LastStatus: "PENDING", LaunchType: "FARGATE", Count: 1},
		{LastStatus: "RUNNING", LaunchType: "FARGATE", Count: 3},
		{LastStatus: "STOPPED", LaunchType: "FARGATE", Count: 1},
	}, tasks())
	put(t, s, taskRec(scopeA, "c", "t5", store.TaskRunning), taskRec(scopeA, "c", "t1", store.TaskStopped))
	update(t, s, func(tx store.Tx) error { return tx.DeleteTask(scopeA, "c", "t6") })
	wantEqual(t, "task counts after a start, a stop and a deletion", []store.TaskCount{
		{LastStatus: "RUNNING", LaunchType: "EC2", Count: 1},
		{LastStatus: "RUNNING", LaunchType: "FARGATE", Count: 3},
		{LastStatus: "STOPPED", LaunchType: "FARGATE", Count: 1},
	}, tasks())

	rolling := func(r store.Service, state string) store.Service { r.RolloutState = state; return r }
	put(t, s,
		rolling(serviceRec(scopeA, "c", "web", store.ServiceActive), "IN_PROGRESS"),
		rolling(serviceRec(scopeB, "c", "web", store.ServiceActive), "IN_PROGRESS"),
		rolling(serviceRec(scopeA, "c", "api", store.ServiceActive), "COMPLETED"),
		rolling(serviceRec(scopeA, "c", "old", store.ServiceDraining), "FAILED"),
		rolling(serviceRec(scopeA, "c", "gone", store.ServiceInactive), "COMPLETED"),
		serviceRec(scopeC, "c", "external", store.ServiceActive),
	)
	wantEqual(t, "service counts", []store.ServiceCount{
		{Status: "ACTIVE", RolloutState: "", Count: 1},
		{Status: "ACTIVE", RolloutState: "COMPLETED", Count: 1},
		{Status: "ACTIVE", RolloutState: "IN_PROGRESS", Count: 2},
		{Status: "DRAINING", RolloutState: "FAILED", Count: 1},
	}, services())
	put(t, s, rolling(serviceRec(scopeA, "c", "web", store.ServiceActive), "COMPLETED"))
	wantEqual(t, "service counts after a rollout completed", []store.ServiceCount{
		{Status: "ACTIVE", RolloutState: "", Count: 1},
		{Status: "ACTIVE", RolloutState: "COMPLETED", Count: 2},
		{Status: "ACTIVE", RolloutState: "IN_PROGRESS", Count: 1},
		{Status: "DRAINING", RolloutState: "FAILED", Count: 1},
	}, services())
}
