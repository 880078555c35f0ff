package worker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecsd/ecsd/internal/store"
	"github.com/ecsd/ecsd/internal/store/sqlitestore"
	"github.com/ecsd/ecsd/internal/worker"
)

var (
	scope = store.Scope{Account: "123456789012", Region: "eu-west-2"}
	other = store.Scope{Account: "210987654321", Region: "us-east-1"}
	t0    = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func openStore(t *testing.T) *sqlitestore.Store {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// revision registers the next revision of family and takes it to status;
// DELETE_IN_PROGRESS ones are requested for deletion at requested.
func revision(t *testing.T, st store.Store, sc store.Scope, family, status string, requested time.Time) int {
	t.Helper()
	ctx := context.Background()
	td, err := st.RegisterTaskDefinition(ctx, store.TaskDefinition{Scope: sc, Family: family, RegisteredAt: t0.Add(-24 * time.Hour), Body: []byte(`{}`)},
		[]store.Tag{{Key: "k", Value: "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if status == store.StatusActive {
		return td.Revision
	}
	res, err := st.UpdateTaskDefinitions(ctx, sc, []store.TaskDefinitionKey{{Family: family, Revision: td.Revision}},
		func(cur store.TaskDefinition) (store.TaskDefinition, error) {
			cur.Status, cur.DeregisteredAt = status, t0.Add(-time.Hour)
			if status == store.StatusDeleteInProgress {
				cur.DeleteRequestedAt = requested
			}
			return cur, nil
		})
	if err != nil || res[0].Err != nil {
		t.Fatalf("update %s:%d: %v %v", family, td.Revision, err, res[0].Err)
	}
	return td.Revision
}

// present lists which of the named revisions still exist.
func present(t *testing.T, st store.Store, names ...string) []string {
	t.Helper()
	var out []string
	for _, name := range names {
		sc, n := scope, name
		if s, ok := strings.CutPrefix(name, "other/"); ok {
			sc, n = other, s
		}
		var fam string
		var rev int
		if _, err := fmt.Sscanf(strings.Replace(n, ":", " ", 1), "%s %d", &fam, &rev); err != nil {
			t.Fatal(err)
		}
		_, err := st.GetTaskDefinition(context.Background(), sc, fam, rev)
		switch {
		case err == nil:
			out = append(out, name)
		case !errors.Is(err, store.ErrNotFound):
			t.Fatal(err)
		}
	}
	return out
}

func TestDeletionRunOnce(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	clk := &clock{}
	d := worker.NewDeletion(worker.DeletionConfig{Delay: time.Hour, NowFunc: clk.Now}, st)

	revision(t, st, scope, "web", store.StatusDeleteInProgress, t0)                     // web:1
	revision(t, st, scope, "web", store.StatusDeleteInProgress, t0.Add(30*time.Minute)) // web:2
	revision(t, st, scope, "web", store.StatusInactive, time.Time{})                    // web:3
	revision(t, st, scope, "web", store.StatusActive, time.Time{})                      // web:4
	revision(t, st, other, "web", store.StatusDeleteInProgress, t0)                     // other/web:1
	all := []string{"web:1", "web:2", "web:3", "web:4", "other/web:1"}

	steps := []struct {
		now        time.Time
		wantPurged int
		wantLeft   []string
	}{
		{t0, 0, all},
		{t0.Add(time.Hour - time.Millisecond), 0, all},
		// Due at requestedAt+Delay exactly, in every scope.
		{t0.Add(time.Hour), 2, []string{"web:2", "web:3", "web:4"}},
		{t0.Add(time.Hour), 0, []string{"web:2", "web:3", "web:4"}},
		{t0.Add(90*time.Minute - time.Millisecond), 0, []string{"web:2", "web:3", "web:4"}},
		{t0.Add(90 * time.Minute), 1, []string{"web:3", "web:4"}},
		// INACTIVE and ACTIVE revisions are never purged.
		{t0.Add(1000 * time.Hour), 0, []string{"web:3", "web:4"}},
	}
	for _, s := range steps {
		clk.Set(s.now)
		n, err := d.RunOnce(ctx)
		if err != nil {
			t.Fatalf("at %v: %v", s.now, err)
		}
		if n != s.wantPurged {
			t.Errorf("at t0+%v: purged %d, want %d", s.now.Sub(t0), n, s.wantPurged)
		}
		if got := present(t, st, all...); strings.Join(got, " ") != strings.Join(s.wantLeft, " ") {
			t.Errorf("at t0+%v: left %v, want %v", s.now.Sub(t0), got, s.wantLeft)
		}
	}

	// The tags went with the revisions, and their numbers stay used.
	_, err := st.ListTags(ctx, store.Resource{Scope: scope, ARN: store.TaskDefinitionARN(scope, "web", 1),
		TaskDefinition: &store.TaskDefinitionKey{Family: "web", Revision: 1}})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tags of a purged revision: err %v, want ErrNotFound", err)
	}
	if rev := revision(t, st, scope, "web", store.StatusActive, time.Time{}); rev != 5 {
		t.Errorf("next revision after purges = %d, want 5", rev)
	}
}

func TestDeletionRunOnceBatches(t *testing.T) {
	st := openStore(t)
	for range 7 {
		revision(t, st, scope, "web", store.StatusDeleteInProgress, t0)
	}
	d := worker.NewDeletion(worker.DeletionConfig{Delay: time.Hour, Batch: 2, NowFunc: func() time.Time { return t0.Add(time.Hour) }}, st)
	n, err := d.RunOnce(context.Background())
	if err != nil || n != 7 {
		t.Errorf("RunOnce = %d, %v; want all 7 in one pass of batches of 2", n, err)
	}
}

// racingStore purges the first due revision itself before handing the
// list over, as another ecsd replica sweeping the same database would.
type racingStore struct {
	store.Store
}

func (r racingStore) TaskDefinitionsToPurge(ctx context.Context, before time.Time, limit int) ([]store.TaskDefinition, error) {
	due, err := r.Store.TaskDefinitionsToPurge(ctx, before, limit)
	if err == nil && len(due) > 0 {
		if err := r.Store.PurgeTaskDefinition(ctx, due[0].Scope, due[0].Family, due[0].Revision); err != nil {
			return nil, err
		}
	}
	return due, err
}

func TestDeletionRunOnceConcurrentPurge(t *testing.T) {
	st := openStore(t)
	for range 3 {
		revision(t, st, scope, "web", store.StatusDeleteInProgress, t0)
	}
	d := worker.NewDeletion(worker.DeletionConfig{Delay: time.Hour, NowFunc: func() time.Time { return t0.Add(time.Hour) }}, racingStore{st})
	n, err := d.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("RunOnce with a revision purged by another replica: %v", err)
	}
	if n != 2 {
		t.Errorf("purged %d, want the 2 the other replica left", n)
	}
	if left := present(t, st, "web:1", "web:2", "web:3"); len(left) != 0 {
		t.Errorf("left %v", left)
	}
}

func TestDeletionRunOnceStoreError(t *testing.T) {
	st := openStore(t)
	d := worker.NewDeletion(worker.DeletionConfig{Delay: time.Hour}, st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.RunOnce(context.Background()); err == nil {
		t.Error("RunOnce on a closed store succeeded")
	}
}

// observedStore reports each sweep and fails the test if the sweeper uses
// the store after Stop has returned.
type observedStore struct {
	store.Store
	t       *testing.T
	passes  chan struct{}
	stopped atomic.Bool
}

func (o *observedStore) TaskDefinitionsToPurge(ctx context.Context, before time.Time, limit int) ([]store.TaskDefinition, error) {
	if o.stopped.Load() {
		o.t.Error("sweeper used the store after Stop returned")
	}
	select {
	case o.passes <- struct{}{}:
	default:
	}
	return o.Store.TaskDefinitionsToPurge(ctx, before, limit)
}

// sweeperRunning reports whether a sweeper goroutine exists, from the
// goroutine profile, which names each goroutine's function.
func sweeperRunning() bool {
	var b bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
	return strings.Contains(b.String(), "worker.(*Deletion).Start")
}

// eventually waits for cond with a deadline instead of a fixed sleep.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func waitPasses(t *testing.T, o *observedStore, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for range n {
		select {
		case <-o.passes:
		case <-timeout:
			t.Fatalf("timed out waiting for %d sweeps", n)
		}
	}
}

func TestDeletionStartStop(t *testing.T) {
	if sweeperRunning() {
		t.Fatal("a sweeper is running before the test starts")
	}
	st := openStore(t)
	obs := &observedStore{Store: st, t: t, passes: make(chan struct{}, 1)}
	clk := &clock{t: t0.Add(2 * time.Hour)}
	d := worker.NewDeletion(worker.DeletionConfig{Delay: time.Hour, Interval: time.Millisecond, NowFunc: clk.Now}, obs)

	d.Stop() // before Start: nothing to stop

	revision(t, st, scope, "web", store.StatusDeleteInProgress, t0)
	d.Start(context.Background())
	d.Start(context.Background()) // already running: no second loop
	// The first pass runs at once, and the ticker keeps passes coming.
	waitPasses(t, obs, 3)
	eventually(t, "web:1 purged", func() bool { return len(present(t, st, "web:1")) == 0 })

	d.Stop()
	obs.stopped.Store(true)
	// Stop has waited for the loop; only its last instructions may remain.
	eventually(t, "the sweeper goroutine to exit after Stop", func() bool { return !sweeperRunning() })
	d.Stop() // twice is fine

	// A stopped sweeper starts again.
	obs.stopped.Store(false)
	revision(t, st, scope, "web", store.StatusDeleteInProgress, t0)
	d.Start(context.Background())
	waitPasses(t, obs, 1)
	eventually(t, "web:2 purged", func() bool { return len(present(t, st, "web:2")) == 0 })
	d.Stop()
	obs.stopped.Store(true)
	eventually(t, "the sweeper goroutine to exit after the second Stop", func() bool { return !sweeperRunning() })
}

func TestDeletionStopsWithContext(t *testing.T) {
	st := openStore(t)
	obs := &observedStore{Store: st, t: t, passes: make(chan struct{}, 1)}
	d := worker.NewDeletion(worker.DeletionConfig{Delay: time.Hour, Interval: time.Hour}, obs)
	ctx, cancel := context.WithCancel(context.Background())
	d.Start(ctx)
	waitPasses(t, obs, 1)
	cancel()
	eventually(t, "the sweeper to end with its context", func() bool { return !sweeperRunning() })

	stopped := make(chan struct{})
	go func() { d.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop after the context ended did not return")
	}
}
