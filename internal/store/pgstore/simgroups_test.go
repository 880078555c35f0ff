package pgstore

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/driver/fakedriver"
	"github.com/ecsd/ecsd/internal/pgtest"
)

var _ fakedriver.Keeper = (*Store)(nil)

// TestSimGroupsShared runs the simulated runtime on two stores of one
// database, as two replicas do: a group one starts is the other's at once,
// with its start time; a stop or a removal on either is seen by both; and
// a deposed leader's runtime writes are refused like its store writes.
func TestSimGroupsShared(t *testing.T) {
	url := pgtest.Database(t)
	a, b := openStore(t, url), openStore(t, url)
	defer a.Close()
	defer b.Close()
	ctx := t.Context()
	da, err := fakedriver.New(fakedriver.Config{Keeper: a})
	if err != nil {
		t.Fatal(err)
	}
	db, err := fakedriver.New(fakedriver.Config{Keeper: b})
	if err != nil {
		t.Fatal(err)
	}
	spec := func(id string) driver.GroupSpec {
		return driver.GroupSpec{ID: id, Labels: map[string]string{"ecsd.managed": "true"},
			Containers: []driver.ContainerSpec{{Name: "app", Image: "busybox", Essential: true}}}
	}
	if err := da.Start(ctx, spec("t1")); err != nil {
		t.Fatal(err)
	}
	ga, err := da.Inspect(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	gb, err := db.Inspect(ctx, "t1")
	if err != nil {
		t.Fatalf("the other replica: %v", err)
	}
	if !gb.Running() || !gb.Containers[0].StartedAt.Equal(ga.Containers[0].StartedAt) {
		t.Fatalf("the other replica sees running %t since %s, want running since %s", gb.Running(), gb.Containers[0].StartedAt, ga.Containers[0].StartedAt)
	}
	if err := db.Start(ctx, spec("t1")); err != nil { // idempotent across replicas
		t.Fatal(err)
	}
	if err := db.Start(ctx, spec("t2")); err != nil {
		t.Fatal(err)
	}
	list, err := da.List(ctx, map[string]string{"ecsd.managed": "true"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, g := range list {
		ids = append(ids, g.ID)
	}
	if !slices.Equal(ids, []string{"t1", "t2"}) {
		t.Fatalf("List on a: %v, want [t1 t2]", ids)
	}
	if err := db.Stop(ctx, "t1", time.Second); err != nil {
		t.Fatal(err)
	}
	if ga, err = da.Inspect(ctx, "t1"); err != nil || ga.StopRequestedAt.IsZero() || ga.Running() {
		t.Fatalf("a after b's stop: %+v, %v", ga, err)
	}
	if err := da.Remove(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Inspect(ctx, "t1"); !errors.Is(err, driver.ErrNotFound) {
		t.Fatalf("b inspects the group a removed: %v, want ErrNotFound", err)
	}

	// Fencing: a leads, loses its session, b takes over; a's runtime
	// writes made for its old lease are refused and leave nothing.
	la, err := a.Lead(ctx, fastLease)
	if err != nil {
		t.Fatal(err)
	}
	defer la.Release()
	deposed := context.WithoutCancel(la.Context())
	if err := da.Start(deposed, spec("t3")); err != nil {
		t.Fatalf("start while a leads: %v", err)
	}
	var n int
	if err := b.db.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
WHERE locktype = 'advisory' AND objid = $1 AND granted`, leaderLock).Scan(&n); err != nil || n != 1 {
		t.Fatalf("terminating the leader's session: %d sessions, %v", n, err)
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	lb, err := b.Lead(lctx, fastLease)
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Release()
	if err := da.Start(deposed, spec("t4")); !errors.Is(err, ErrDeposed) {
		t.Fatalf("deposed leader's Start: %v, want ErrDeposed", err)
	}
	if err := da.Stop(deposed, "t3", time.Second); !errors.Is(err, ErrDeposed) {
		t.Fatalf("deposed leader's Stop: %v, want ErrDeposed", err)
	}
	if _, err := db.Inspect(ctx, "t4"); !errors.Is(err, driver.ErrNotFound) {
		t.Fatalf("the refused Start left a group: %v", err)
	}
	if g, err := db.Inspect(lb.Context(), "t3"); err != nil || !g.Running() {
		t.Fatalf("t3 after the refused Stop: %+v, %v; want running", g, err)
	}
}
