package sqlitestore

import (
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecsd/ecsd/internal/store"
)

// TestCountPlans holds the metrics' counts to their covering indexes: a
// scrape reads index entries, never a task's or a service's document, and
// never sorts.
func TestCountPlans(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	for q, index := range map[string]string{taskCountsSQL: "tasks_by_launch_type", serviceCountsSQL: "services_by_rollout_state"} {
		rows, err := s.rdb.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notUsed int
			var detail string
			if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if len(plan) != 1 || !strings.Contains(plan[0], "USING COVERING INDEX "+index) {
			t.Errorf("query\n%s\nhas plan %q, want one step over the covering index %s", q, plan, index)
		}
	}
}

// TestRolloutStateMigration: services stored before schema version 5 get
// their PRIMARY deployment's rollout state from their documents, so the
// first scrape after an upgrade counts them right.
func TestRolloutStateMigration(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations[:4] {
		if _, err := db.Exec(m); err != nil {
			t.Fatal(err)
		}
	}
	insert := `INSERT INTO services (account, region, cluster, name, status, launch_type, scheduling_strategy, family, revision, body)
VALUES ('111111111111', 'us-east-1', 'c', ?, ?, 'FARGATE', 'REPLICA', 'web', 1, ?)`
	for _, svc := range [][3]string{
		{"rolling", "ACTIVE", `{"deployments":[{"status":"ACTIVE","rolloutState":"COMPLETED"},{"status":"PRIMARY","rolloutState":"IN_PROGRESS"}]}`},
		{"done", "ACTIVE", `{"deployments":[{"status":"PRIMARY","rolloutState":"COMPLETED"}]}`},
		{"external", "ACTIVE", `{"deployments":[{"status":"PRIMARY"}]}`},
		{"none", "DRAINING", `{"serviceName":"none"}`},
		{"garbled", "ACTIVE", `{"deployments":`},
	} {
		if _, err := db.Exec(insert, svc[0], svc[1], []byte(svc[2])); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec("PRAGMA user_version = 4"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s := openStore(t, dir)
	defer s.Close()
	got, err := s.ServiceCounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []store.ServiceCount{
		{Status: "ACTIVE", RolloutState: "", Count: 2},
		{Status: "ACTIVE", RolloutState: "COMPLETED", Count: 1},
		{Status: "ACTIVE", RolloutState: "IN_PROGRESS", Count: 1},
		{Status: "DRAINING", RolloutState: "", Count: 1},
	}
	if !slices.Equal(got, want) {
		t.Errorf("service counts after the migration %+v, want %+v", got, want)
	}
}

// TestCommitFunc: every commit is reported once, before its writers are
// answered, with the writes it carried, failed ones included.
func TestCommitFunc(t *testing.T) {
	var mu sync.Mutex
	var commits, writes int
	s := openStore(t, t.TempDir(), WithCommitFunc(func(n int, took time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil || took <= 0 || n < 1 {
			t.Errorf("commit of %d writes in %s: %v", n, took, err)
		}
		commits++
		writes += n
	}))
	defer s.Close()
	refused := errors.New("refused")
	for i := range 3 {
		err := s.Update(t.Context(), func(tx store.Tx) error {
			if i == 1 {
				return refused
			}
			return tx.PutSetting(store.Setting{Scope: scope, Name: "n", Value: strconv.Itoa(i)})
		})
		if i == 1 && !errors.Is(err, refused) || i != 1 && err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		mu.Lock()
		got := writes
		mu.Unlock()
		if got != i+1 {
			t.Fatalf("after write %d the commits carried %d writes", i, got)
		}
	}
	if st := s.Stats(); uint64(commits) != st.Commits || st.Writes != 2 {
		t.Errorf("reported %d commits; Stats %+v", commits, st)
	}
}
