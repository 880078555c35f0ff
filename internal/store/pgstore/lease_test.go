package pgstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ecsd/ecsd/internal/pgtest"
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
