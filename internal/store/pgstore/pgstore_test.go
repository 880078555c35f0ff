package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	neturl "net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ecsd/ecsd/internal/pgtest"
	"github.com/ecsd/ecsd/internal/store"
	"github.com/ecsd/ecsd/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func openStore(t testing.TB, url string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

var hooks = storetest.Hooks{
	FailNextCommit: func(s store.Store) { s.(*Store).failNext.Store(true) },
}

func TestConformance(t *testing.T) {
	// One database, a schema per subtest: creating a database costs a
	// second on a loaded machine, a schema almost nothing.
	db := pgtest.Database(t)
	storetest.Run(t, func(t *testing.T) store.Store { return openStore(t, newSchema(t, db)) }, hooks)
}

// newSchema creates an empty schema in the database at url and returns a
// URL whose connections use it.
func newSchema(t *testing.T, url string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "s_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestRestart(t *testing.T) {
	// The "directory" of a store is its database.
	var mu sync.Mutex
	dbs := map[string]string{}
	storetest.RunRestart(t, func(t *testing.T, dir string) store.Store {
		mu.Lock()
		url, ok := dbs[dir]
		if !ok {
			url = pgtest.Database(t)
			dbs[dir] = url
		}
		mu.Unlock()
		return openStore(t, url)
	})
}

// TestGeneratedFilesCurrent: the queries shared with sqlitestore are
// regenerated after every change there.
func TestGeneratedFilesCurrent(t *testing.T) {
	out, err := exec.Command("go", "run", "./internal/gen", "-check", "../sqlitestore", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	url := pgtest.Database(t)
	s := openStore(t, url)
	if _, err := s.db.ExecContext(t.Context(), "UPDATE ecsd_schema SET version = version + 1"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(t.Context(), url)
	if !errors.Is(err, store.ErrNewerSchema) {
		t.Fatalf("Open of a newer schema: error = %v, want ErrNewerSchema", err)
	}
	if !strings.Contains(err.Error(), "newer ecsd") || strings.Contains(err.Error(), "password") {
		t.Errorf("message %q should say a newer ecsd wrote the database", err)
	}
}

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = $1 AND c = $2"},
		{"SELECT a FROM tasks INDEXED BY tasks_placed WHERE x = ?", "SELECT a FROM tasks WHERE x = $1"},
		{"SELECT '?' FROM t WHERE b = ?", "SELECT '?' FROM t WHERE b = $1"},
	} {
		if got := rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestConcurrentRegisterAcrossStores: two stores on one database, as two
// ecsd replicas would be, register revisions of one family concurrently;
// every number from 1 is handed out exactly once.
func TestConcurrentRegisterAcrossStores(t *testing.T) {
	url := pgtest.Database(t)
	a, b := openStore(t, url), openStore(t, url)
	defer a.Close()
	defer b.Close()
	const perWorker, workers = 15, 8
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	for w := range workers {
		s := a
		if w%2 == 1 {
			s = b
		}
		wg.Go(func() {
			for range perWorker {
				td, err := s.RegisterTaskDefinition(context.Background(), store.TaskDefinition{
					Scope: scope, Family: "web", Body: []byte(`{}`),
				}, nil)
				if err != nil {
					t.Errorf("RegisterTaskDefinition: %v", err)
					return
				}
				mu.Lock()
				got[td.Revision]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for rev := 1; rev <= perWorker*workers; rev++ {
		if got[rev] != 1 {
			t.Errorf("revision %d handed out %d times, want once", rev, got[rev])
		}
	}
	if len(got) != perWorker*workers {
		t.Errorf("%d distinct revisions, want %d", len(got), perWorker*workers)
	}
	t.Logf("retries: a %d, b %d", a.Stats().Retries, b.Stats().Retries)
}

var scope = store.Scope{Account: "123456789012", Region: "us-east-1"}
