package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/ecsd/ecsd/internal/store"
	"github.com/ecsd/ecsd/internal/worker"
)

// TestDeletionWaitsForUsers: a DELETE_IN_PROGRESS revision stays while a
// task that is not STOPPED or a service that is not INACTIVE uses it, and
// for Delay after its last task stopped (ECS: "up to 1 hour" after).
func TestDeletionWaitsForUsers(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	const delay = time.Hour
	taskRev := revision(t, st, scope, "web", store.StatusDeleteInProgress, t0)
	svcRev := revision(t, st, scope, "web", store.StatusDeleteInProgress, t0)
	revision(t, st, scope, "web", store.StatusDeleteInProgress, t0) // used by nothing

	put := func(fn func(tx store.Tx) error) {
		t.Helper()
		if err := st.Update(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	task := store.Task{Scope: scope, Cluster: "default", ID: "0123456789abcdef0123456789abcdef",
		TaskDefinition: store.TaskDefinitionKey{Family: "web", Revision: taskRev},
		DesiredStatus:  store.TaskRunning, LastStatus: store.TaskRunning, CreatedAt: t0, Body: []byte(`{}`)}
	svc := store.Service{Scope: scope, Cluster: "default", Name: "api", Status: store.ServiceActive,
		TaskDefinition: store.TaskDefinitionKey{Family: "web", Revision: svcRev}, CreatedAt: t0, Body: []byte(`{}`)}
	put(func(tx store.Tx) error { return tx.PutTask(task) })
	put(func(tx store.Tx) error { return tx.PutService(svc) })

	clk := &clock{t: t0.Add(2 * delay)}
	d := worker.NewDeletion(worker.DeletionConfig{Delay: delay, NowFunc: clk.Now}, st)
	names := []string{"web:1", "web:2", "web:3"}
	step := func(wantLeft ...string) {
		t.Helper()
		if _, err := d.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		got := present(t, st, names...)
		if len(got) != len(wantLeft) {
			t.Fatalf("at t0+%v: left %v, want %v", clk.Now().Sub(t0), got, wantLeft)
		}
		for i := range got {
			if got[i] != wantLeft[i] {
				t.Fatalf("at t0+%v: left %v, want %v", clk.Now().Sub(t0), got, wantLeft)
			}
		}
	}
	step("web:1", "web:2") // the unused one goes; the running task and the service hold theirs

	// The task stops: its revision waits another Delay after stoppedAt.
	stoppedAt := clk.Now()
	task.DesiredStatus, task.LastStatus, task.StoppedAt = store.TaskStopped, store.TaskStopped, stoppedAt
	put(func(tx store.Tx) error { return tx.PutTask(task) })
	clk.Set(stoppedAt.Add(delay - time.Millisecond))
	step("web:1", "web:2")
	clk.Set(stoppedAt.Add(delay))
	step("web:2")

	// A DRAINING service still uses its revision; an INACTIVE one does not.
	svc.Status = store.ServiceDraining
	put(func(tx store.Tx) error { return tx.PutService(svc) })
	step("web:2")
	svc.Status = store.ServiceInactive
	put(func(tx store.Tx) error { return tx.PutService(svc) })
	step()
}
