package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecsd/ecsd/internal/pgtest"
	"github.com/ecsd/ecsd/internal/store"
)

var fastLease = LeaseOptions{Check: 50 * time.Millisecond, Timeout: time.Second}

// TestLeaseExclusive: of two stores on one database, one leads at a time,
// and the other takes over once the first releases.
func TestLeaseExclusive(t *testing.T) {
	url := pgtest.Database(t)
	a, b := openStore(t, url), openStore(t, url)
	defer a.Close()
	defer b.Close()

	la, err := a.Lead(t.Context(), fastLease)
	if err != nil {
		t.Fatalf("Lead on a: %v", err)
	}
	// While a holds the lease, b's campaign for ten checks gets nowhere.
	ctx, cancel := context.WithTimeout(t.Context(), 10*fastLease.Check)
	_, err = b.Lead(ctx, fastLease)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lead on b while a leads: error = %v, want the campaign's deadline", err)
	}
	if la.Context().Err() != nil {
		t.Fatal("a lost its lease while nobody took it")
	}

	got := make(chan *Lease, 1)
	go func() {
		lb, err := b.Lead(t.Context(), fastLease)
		if err != nil {
			t.Errorf("Lead on b: %v", err)
		}
		got <- lb
	}()
	la.Release()
	if la.Context().Err() == nil {
		t.Error("a's lease context is still live after Release")
	}
	select {
	case lb := <-got:
		if lb != nil {
			lb.Release()
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b did not take the lease within 10s of a releasing it")
	}
}

// TestLeaseLostWithSession: when the holder's session ends under it (the
// server, or a network cut, ends it), the holder's lease context is
// canceled and another store can lead.
func TestLeaseLostWithSession(t *testing.T) {
	url := pgtest.Database(t)
	a, b := openStore(t, url), openStore(t, url)
	defer a.Close()
	defer b.Close()
	la, err := a.Lead(t.Context(), fastLease)
	if err != nil {
		t.Fatalf("Lead on a: %v", err)
	}
	defer la.Release()
	var n int
	err = b.db.QueryRowContext(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
WHERE locktype = 'advisory' AND objid = $1 AND granted`, leaderLock).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("terminating the leader's session: %d sessions, %v", n, err)
	}
	select {
	case <-la.Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a still believes it leads 10s after its session ended")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	lb, err := b.Lead(ctx, fastLease)
	if err != nil {
		t.Fatalf("Lead on b after a's session ended: %v", err)
	}
	lb.Release()
}

// TestNotifyReachesOtherStores: a Notify on one store reaches a Listen on
// another store of the same database.
func TestNotifyReachesOtherStores(t *testing.T) {
	url := pgtest.Database(t)
	a, b := openStore(t, url), openStore(t, url)
	defer a.Close()
	defer b.Close()
	got := make(chan string, 10)
	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Listen(ctx, 50*time.Millisecond, ready, func(p string) { got <- p })
	}()
	defer func() { cancel(); <-done }()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("Listen was not in place within 10s")
	}
	if err := b.Notify(t.Context(), "service\narn:aws:ecs:us-east-1:000000000000:service/default/web"); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	select {
	case p := <-got:
		if p != "service\narn:aws:ecs:us-east-1:000000000000:service/default/web" {
			t.Errorf("payload %q", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification within 10s")
	}
}

// TestLeaseFencing: once another store has taken the lease, a write made
// with the deposed holder's lease context is refused with ErrDeposed and
// leaves nothing behind, while the new holder's writes commit; a write
// without an epoch (an API call) is not fenced.
func TestLeaseFencing(t *testing.T) {
	url := pgtest.Database(t)
	a, b := openStore(t, url), openStore(t, url)
	defer a.Close()
	defer b.Close()
	scope := store.Scope{Account: "000000000000", Region: "us-east-1"}
	put := func(ctx context.Context, s *Store, name string) error {
		return s.Update(ctx, func(tx store.Tx) error {
			return tx.PutCluster(store.Cluster{Scope: scope, Name: name, Status: "ACTIVE", Body: []byte(`{}`)})
		})
	}

	la, err := a.Lead(t.Context(), fastLease)
	if err != nil {
		t.Fatalf("Lead on a: %v", err)
	}
	defer la.Release()
	// Kept past the lease's cancelation, as a loop's write in flight is.
	deposed := context.WithoutCancel(la.Context())
	if err := put(deposed, a, "before"); err != nil {
		t.Fatalf("write while a leads: %v", err)
	}

	// a's session ends (the server, or a network cut, ended it) and b
	// takes over before a has noticed.
	var n int
	err = b.db.QueryRowContext(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
WHERE locktype = 'advisory' AND objid = $1 AND granted`, leaderLock).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("terminating the leader's session: %d sessions, %v", n, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	lb, err := b.Lead(ctx, fastLease)
	if err != nil {
		t.Fatalf("Lead on b: %v", err)
	}
	defer lb.Release()
	if lb.Epoch() != la.Epoch()+1 {
		t.Errorf("epochs: a %d, b %d, want b = a+1", la.Epoch(), lb.Epoch())
	}

	err = put(deposed, a, "after")
	if !errors.Is(err, ErrDeposed) {
		t.Fatalf("deposed leader's write: error = %v, want ErrDeposed", err)
	}
	if err := a.View(t.Context(), func(tx store.ReadTx) error {
		_, err := tx.Cluster(scope, "after")
		return err
	}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused write left a cluster behind (lookup: %v)", err)
	}
	if err := put(lb.Context(), b, "leader"); err != nil {
		t.Errorf("new leader's write: %v", err)
	}
	if err := put(t.Context(), a, "api"); err != nil {
		t.Errorf("unfenced write on the deposed replica: %v", err)
	}
}

// BenchmarkFencedWrite measures what the fencing check costs a loop's
// write: the same one-row Update, from concurrent writers, without an
// epoch (an API call) and with the lease's (a loop). docs/benchmarks.md has
// the figures.
func BenchmarkFencedWrite(b *testing.B) {
	url := pgtest.Database(b)
	s := openStore(b, url)
	defer s.Close()
	lease, err := s.Lead(b.Context(), LeaseOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer lease.Release()
	scope := store.Scope{Account: "000000000000", Region: "us-east-1"}
	for _, bc := range []struct {
		name string
		ctx  context.Context
	}{{"unfenced", b.Context()}, {"fenced", lease.Context()}} {
		b.Run(bc.name, func(b *testing.B) {
			var n atomic.Int64
			b.SetParallelism(2) // 2×GOMAXPROCS writers
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					name := fmt.Sprintf("%s-%d", bc.name, n.Add(1)%64)
					if err := s.Update(bc.ctx, func(tx store.Tx) error {
						return tx.PutCluster(store.Cluster{Scope: scope, Name: name, Status: "ACTIVE", Body: []byte(`{}`)})
					}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
