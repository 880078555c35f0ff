package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func query(t *testing.T, url string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT 41 + 1").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Each test gets a database of its own on the binary's shared server.
func TestDatabase(t *testing.T) {
	a, b := Database(t), Database(t)
	if a == b {
		t.Fatalf("two databases with one URL %s", a)
	}
	if n := query(t, a); n != 42 {
		t.Fatalf("SELECT 41 + 1 = %d", n)
	}
}

// A server of its own survives SIGKILL and comes back on its port with
// what it had committed.
func TestKillRestart(t *testing.T) {
	if ok, why := Available(); !ok {
		t.Skip(why)
	}
	ctx := t.Context()
	s, err := Start(ctx, "", Options{}) // t.TempDir() is root-only: the postgres user could not enter it
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.CreateDatabase(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, s.URL("k"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE t (v int); INSERT INTO t VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.Connect(ctx, s.URL("k")); err == nil {
		t.Fatal("connected to a killed server")
	}
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err = pgx.Connect(ctx, s.URL("k"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v int
	if err := conn.QueryRow(ctx, "SELECT v FROM t").Scan(&v); err != nil || v != 7 {
		t.Fatalf("after restart: v = %d, %v; want 7", v, err)
	}
}
