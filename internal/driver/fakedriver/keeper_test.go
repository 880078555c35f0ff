package fakedriver_test

import (
	"bytes"
	"context"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/driver/drivertest"
	"github.com/ecsd/ecsd/internal/driver/fakedriver"
)

// memKeeper is a Keeper in memory, standing in for the database replicas
// share (pgstore implements the same methods; its tests cover them there).
type memKeeper struct {
	mu   sync.Mutex
	docs map[string][]byte
}

func newMemKeeper() *memKeeper { return &memKeeper{docs: map[string][]byte{}} }

func (k *memKeeper) SimGroup(ctx context.Context, id string) ([]byte, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	b, ok := k.docs[id]
	return bytes.Clone(b), ok, nil
}

func (k *memKeeper) SimGroups(ctx context.Context) ([][]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	ids := make([]string, 0, len(k.docs))
	for id := range k.docs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([][]byte, 0, len(ids))
	for _, id := range ids {
		out = append(out, bytes.Clone(k.docs[id]))
	}
	return out, nil
}

func (k *memKeeper) CreateSimGroup(ctx context.Context, id string, doc []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.docs[id]; !ok {
		k.docs[id] = bytes.Clone(doc)
	}
	return nil
}

func (k *memKeeper) UpdateSimGroup(ctx context.Context, id string, old, doc []byte) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if cur, ok := k.docs[id]; !ok || !bytes.Equal(cur, old) {
		return false, nil
	}
	k.docs[id] = bytes.Clone(doc)
	return true, nil
}

func (k *memKeeper) DeleteSimGroup(ctx context.Context, id string) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, ok := k.docs[id]
	delete(k.docs, id)
	return ok, nil
}

func TestConformanceKeeper(t *testing.T) {
	clk := newClock()
	drivertest.Run(t, drivertest.Harness{
		New: func(t *testing.T) driver.Driver {
			d, err := fakedriver.New(fakedriver.Config{Keeper: newMemKeeper(), NowFunc: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
		Advance: clk.Advance,
		RunsForever: func(name string) driver.ContainerSpec {
			return driver.ContainerSpec{Name: name, Image: "busybox", Essential: true}
		},
		Exits: func(name string, code int, after time.Duration) driver.ContainerSpec {
			return driver.ContainerSpec{Name: name, Image: "busybox", Env: env(
				fakedriver.KnobRunSeconds, strconv.FormatFloat(after.Seconds(), 'f', -1, 64),
				fakedriver.KnobExitCode, strconv.Itoa(code))}
		},
		FailsToStart: func(name string) (driver.ContainerSpec, string) {
			return driver.ContainerSpec{Name: name, Image: "nope", Env: env(
				fakedriver.KnobStartFailure, "CannotPullContainerError: pull image manifest has been retried 5 time(s)")}, "CannotPullContainerError"
		},
		IgnoresSIGTERM: func(name string) driver.ContainerSpec {
			return driver.ContainerSpec{Name: name, Image: "busybox", Env: env(fakedriver.KnobStopSeconds, "3600")}
		},
		Patience: time.Minute,
	})
}

// TestKeeperSharedBetweenReplicas: two engines on one keeper (two ecsd
// replicas on one database) see each other's groups at once: a group one
// started runs on the other with its original start time, a stop either
// records is the one both see, and a removal is seen by both. Nothing is
// kept in a directory.
func TestKeeperSharedBetweenReplicas(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	k := newMemKeeper()
	a, err := fakedriver.New(fakedriver.Config{Keeper: k, NowFunc: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	spec := driver.GroupSpec{ID: "task-1", Labels: map[string]string{"ecsd.managed": "true"},
		Containers: []driver.ContainerSpec{{Name: "app", Image: "busybox", Essential: true}}}
	if err := a.Start(ctx, spec); err != nil {
		t.Fatal(err)
	}
	started := clk.Now()
	clk.Advance(time.Minute)
	// b opens after a started the group, as a replica that takes over.
	b, err := fakedriver.New(fakedriver.Config{Keeper: k, NowFunc: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	g := inspect(t, b, "task-1")
	if !g.Running() || !g.Containers[0].StartedAt.Equal(started) {
		t.Fatalf("on the other replica: running %t, startedAt %s; want running since %s", g.Running(), g.Containers[0].StartedAt, started)
	}
	// A second Start of the same ID (a deposed leader's, or a retry) keeps
	// the first group and its start time.
	if err := b.Start(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if g := inspect(t, a, "task-1"); !g.Containers[0].StartedAt.Equal(started) {
		t.Fatalf("startedAt after a second Start: %s, want %s", g.Containers[0].StartedAt, started)
	}
	if err := b.Stop(ctx, "task-1", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	stopAt := clk.Now()
	clk.Advance(time.Second)
	if err := a.Stop(ctx, "task-1", time.Second); err != nil { // the first stop request stays
		t.Fatal(err)
	}
	g = inspect(t, a, "task-1")
	if !g.StopRequestedAt.Equal(stopAt) || g.Running() {
		t.Fatalf("on the first replica: stop requested at %s (want %s), running %t", g.StopRequestedAt, stopAt, g.Running())
	}
	list, err := a.List(ctx, map[string]string{"ecsd.managed": "true"})
	if err != nil || len(list) != 1 || list[0].ID != "task-1" {
		t.Fatalf("List: %v, %v", list, err)
	}
	if err := a.Remove(ctx, "task-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Inspect(ctx, "task-1"); err == nil {
		t.Fatal("the other replica still inspects a removed group")
	}
	if err := b.Remove(ctx, "task-1"); err == nil {
		t.Fatal("removing a removed group: no error, want ErrNotFound")
	}
}
