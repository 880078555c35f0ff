package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecsd/ecsd/internal/store"
)

// TestReadStatementCache: reads are prepared once and then reused, a query
// that does not prepare still reports its own error, and a read whose
// context has ended does not run.
func TestReadStatementCache(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	if _, err := s.RegisterTaskDefinition(t.Context(), newTD("web"), nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := s.GetTaskDefinition(t.Context(), scope, "web", 1); err != nil {
			t.Fatal(err)
		}
		s.rmu.RLock()
		st := s.rstmts[getTaskDefinitionSQL]
		s.rmu.RUnlock()
		if st != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the point read was never prepared")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := s.GetTaskDefinition(t.Context(), scope, "web", 2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing revision through the prepared statement: got %v, want ErrNotFound", err)
	}

	for _, read := range []func(context.Context, func(context.Context, dbtx) error) error{s.read, s.readOne} {
		err := read(t.Context(), func(ctx context.Context, db dbtx) error {
			var n int
			return db.QueryRowContext(ctx, "SELECT count(*) FROM no_such_table").Scan(&n)
		})
		if err == nil || !strings.Contains(err.Error(), "no_such_table") {
			t.Errorf("bad query: got %v, want SQLite's error naming the table", err)
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.GetTaskDefinition(ctx, scope, "web", 1); !errors.Is(err, context.Canceled) {
		t.Errorf("read with an ended context: got %v, want context.Canceled", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// BenchmarkGetTaskDefinitionParallel measures the point read behind
// DescribeTaskDefinition from many goroutines, with a cancellable context
// as an HTTP request has.
func BenchmarkGetTaskDefinitionParallel(b *testing.B) {
	s := openStore(b, b.TempDir())
	defer s.Close()
	td := newTD("bench")
	td.Body = []byte(strings.Repeat("x", 1024))
	for range 10 {
		if _, err := s.RegisterTaskDefinition(b.Context(), td, nil); err != nil {
			b.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if _, err := s.GetTaskDefinition(ctx, scope, "bench", i%10+1); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkViewParallel measures a DescribeTasks-shaped read: one View
// with a cluster lookup and a few task lookups.
func BenchmarkViewParallel(b *testing.B) {
	s := openStore(b, b.TempDir())
	defer s.Close()
	body := []byte(strings.Repeat("x", 2048))
	err := s.Update(b.Context(), func(tx store.Tx) error {
		if err := tx.PutCluster(store.Cluster{Scope: scope, Name: "default", Status: store.ClusterActive, Body: []byte(`{}`)}); err != nil {
			return err
		}
		for i := range 10 {
			err := tx.PutTask(store.Task{Scope: scope, Cluster: "default", ID: fmt.Sprintf("%032x", i), LastStatus: store.TaskRunning,
				DesiredStatus: store.TaskRunning, CreatedAt: time.Now(), Body: body})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			err := s.View(ctx, func(tx store.ReadTx) error {
				if _, err := tx.Cluster(scope, "default"); err != nil {
					return err
				}
				for j := range 3 {
					if _, err := tx.Task(scope, "default", fmt.Sprintf("%032x", (i+j)%10)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestTaskDefinitionCacheNeverStale: once a write is acknowledged, no read
// returns what it replaced, while readers race to fill the cache with what
// they read just before.
func TestTaskDefinitionCacheNeverStale(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	if _, err := s.RegisterTaskDefinition(ctx, newTD("web"), nil); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = s.GetTaskDefinition(ctx, scope, "web", 1)
				_, _ = s.LatestActiveTaskDefinition(ctx, scope, "web")
			}
		}()
	}
	defer func() { close(stop); readers.Wait() }()

	statuses := []string{store.StatusInactive, store.StatusActive}
	for i := range 300 {
		want := statuses[i%2]
		_, err := s.UpdateTaskDefinitions(ctx, scope, []store.TaskDefinitionKey{{Family: "web", Revision: 1}},
			func(td store.TaskDefinition) (store.TaskDefinition, error) {
				td.Status = want
				return td, nil
			})
		if err != nil {
			t.Fatal(err)
		}
		td, err := s.GetTaskDefinition(ctx, scope, "web", 1)
		if err != nil {
			t.Fatal(err)
		}
		if td.Status != want {
			t.Fatalf("update %d: read status %s after %s was acknowledged", i, td.Status, want)
		}
		_, err = s.LatestActiveTaskDefinition(ctx, scope, "web")
		if active := err == nil; active != (want == store.StatusActive) {
			t.Fatalf("update %d: latest ACTIVE revision found=%v (%v) after status %s was acknowledged", i, active, err, want)
		}
	}

	// A new revision is the latest at once, and a reset forgets everything.
	if _, err := s.RegisterTaskDefinition(ctx, newTD("web"), nil); err != nil {
		t.Fatal(err)
	}
	if td, err := s.LatestActiveTaskDefinition(ctx, scope, "web"); err != nil || td.Revision != 2 {
		t.Fatalf("latest after registering revision 2: %v, %v", td.Revision, err)
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetTaskDefinition(ctx, scope, "web", 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after reset: got %v, want ErrNotFound", err)
	}
	if _, err := s.LatestActiveTaskDefinition(ctx, scope, "web"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("latest after reset: got %v, want ErrNotFound", err)
	}
}

// TestTaskDefinitionCacheCopies: callers own what they read; changing it
// changes nothing stored or cached.
func TestTaskDefinitionCacheCopies(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	if _, err := s.RegisterTaskDefinition(t.Context(), newTD("web"), nil); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		td, err := s.GetTaskDefinition(t.Context(), scope, "web", 1)
		if err != nil {
			t.Fatal(err)
		}
		if string(td.Body) != `{"containerDefinitions":[]}` {
			t.Fatalf("body %q", td.Body)
		}
		clear(td.Body)
	}
}
