package sqlitestore

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/store"
	"github.com/ecsd/ecsd/internal/store/storetest"
)

var scope = store.Scope{Account: "123456789012", Region: "us-east-1"}

func openStore(t testing.TB, dir string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func newTD(family string) store.TaskDefinition {
	return store.TaskDefinition{Scope: scope, Family: family, RegisteredAt: time.UnixMilli(1e12), Body: []byte(`{"containerDefinitions":[]}`)}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openStore(t, t.TempDir()) }, storetest.Hooks{
		FailNextCommit: func(s store.Store) { s.(*Store).failNext.Store(true) },
	})
}

func TestRestart(t *testing.T) {
	storetest.RunRestart(t, func(t *testing.T, dir string) store.Store { return openStore(t, dir) })
}

func TestOpenConfiguresDurability(t *testing.T) {
	// Characters that mean something in a URI must reach SQLite intact.
	dir := filepath.Join(t.TempDir(), "nested", "data dir?#%&")
	s := openStore(t, dir)
	defer s.Close()
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Fatalf("database file: %v", err)
	}
	var journal string
	var synchronous, fk int
	err := s.write(t.Context(), func(ctx context.Context, tx dbtx) error {
		for q, dst := range map[string]any{"PRAGMA journal_mode": &journal, "PRAGMA synchronous": &synchronous, "PRAGMA foreign_keys": &fk} {
			if err := tx.QueryRowContext(ctx, q).Scan(dst); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if journal != "wal" || synchronous != 2 || fk != 1 {
		t.Errorf("writer has journal_mode=%s synchronous=%d foreign_keys=%d, want wal, 2 (FULL), 1", journal, synchronous, fk)
	}
	if _, err := s.rdb.ExecContext(t.Context(), "DELETE FROM tags"); err == nil {
		t.Error("a read connection accepted a write")
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	dir := t.TempDir()
	if err := openStore(t, dir).Close(); err != nil {
		t.Fatal(err)
	}
	newer := len(migrations) + 1
	db, err := sql.Open("sqlite", filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = " + strconv.Itoa(newer)); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(t.Context(), dir)
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded on a database from a newer ecsd")
	}
	if !errors.Is(err, store.ErrNewerSchema) {
		t.Errorf("error %v does not wrap store.ErrNewerSchema", err)
	}
	want := fmt.Sprintf("written by a newer ecsd (schema version %d, this binary knows up to %d)", newer, len(migrations))
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q does not name the data dir and say %q", err, want)
	}

	db, err = sql.Open("sqlite", filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != newer {
		t.Errorf("user_version after the refused Open = %d, %v; want it untouched at %d", v, err, newer)
	}
}

// TestQueryPlans holds the listings to seeks: a page must cost the same
// with a thousand or a million stored revisions, so no plan may scan a
// table or sort into a temporary b-tree.
func TestQueryPlans(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	type query struct {
		sql  string
		args []any
	}
	var queries []query
	add := func(sql string, args []any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		queries = append(queries, query{sql, args})
	}
	after := &store.TaskDefinitionKey{Family: "web", Revision: 7}
	for _, desc := range []bool{false, true} {
		for _, q := range []store.ListTaskDefinitionsQuery{
			{Status: store.StatusActive, Desc: desc, Limit: 10},
			{Status: store.StatusActive, Desc: desc, After: after, Limit: 10},
			{Family: "web", Status: store.StatusInactive, Desc: desc, Limit: 10},
			{Family: "web", Status: store.StatusInactive, Desc: desc, After: after, Limit: 10},
		} {
			add(listTaskDefinitionsSQL(scope, q))
		}
	}
	for _, status := range []string{store.FamilyStatusActive, store.FamilyStatusInactive, store.FamilyStatusAll} {
		for _, q := range []store.ListFamiliesQuery{
			{Status: status, Limit: 10},
			{Status: status, Prefix: "web", Limit: 10},
			{Status: status, Prefix: "web", After: "web-2", Limit: 10},
			{Status: status, After: "web-2", Limit: 10},
		} {
			add(listFamiliesSQL(scope, q))
		}
	}
	add(latestActiveSQL, []any{scope.Account, scope.Region, "web"}, nil)
	add(toPurgeSQL, []any{int64(1e12), 10}, nil)

	// Orchestration listings.
	addQ := func(sql string, args []any) { t.Helper(); add(sql, args, nil) }
	for _, q := range []store.ClustersQuery{
		{}, {Limit: 10}, {After: "a", Limit: 10},
		{Status: store.ClusterActive, Limit: 10}, {Status: store.ClusterActive, After: "a", Limit: 10},
	} {
		addQ(clustersSQL(scope, q))
	}
	for _, q := range []store.ServicesQuery{
		{Cluster: "c", Limit: 10},
		{Cluster: "c", After: "web", Limit: 10},
		{Cluster: "c", Statuses: []string{store.ServiceActive, store.ServiceDraining}, LaunchType: "FARGATE", SchedulingStrategy: "REPLICA", After: "web", Limit: 10},
	} {
		addQ(servicesSQL(scope, q))
	}
	for _, cluster := range []string{"c", ""} {
		for _, q := range []store.TasksQuery{
			{Limit: 10},
			{After: "abc", Limit: 10},
			{Service: "web", Limit: 10},
			{Service: "web", After: "abc", Limit: 10},
			{Family: "web", Limit: 10},
			{StartedBy: "me", LaunchType: "FARGATE", DesiredStatus: store.TaskRunning, NotLastStatus: store.TaskStopped, After: "abc", Limit: 10},
			{TaskDefinition: &store.TaskDefinitionKey{Family: "web", Revision: 3}, NotLastStatus: store.TaskStopped, Limit: 10},
		} {
			q.Cluster = cluster
			addQ(tasksSQL(scope, q))
		}
	}
	for _, q := range []store.ServiceDeploymentsQuery{
		{Cluster: "c", Service: "web", Limit: 10},
		{Cluster: "c", Service: "web", Statuses: []string{"SUCCESSFUL"}, CreatedAfter: time.UnixMilli(1e12), CreatedBefore: time.UnixMilli(2e12), Limit: 10},
	} {
		addQ(serviceDeploymentsSQL(scope, q))
	}
	addQ(servicesToScheduleSQL, []any{"", "", "", "", 10})
	addQ(servicesToScheduleSQL, []any{scope.Account, scope.Region, "c", "web", 10})
	addQ(tasksToSuperviseSQL, []any{"abc", 10})
	addQ(stoppedTasksSQL, []any{int64(1e12), 10})
	addQ(clusterTaskCountsSQL, []any{scope.Account, scope.Region, "c"})
	addQ(clusterServiceCountSQL, []any{scope.Account, scope.Region, "c"})
	addQ(taskDefinitionInUseSQL, []any{scope.Account, scope.Region, "web", 3, scope.Account, scope.Region, "web", 3})
	addQ(settingsSQL, []any{scope.Account, scope.Region, ""})
	for _, q := range [][2]string{{"", ""}, {"container-instance", ""}, {"", "ecs.os-type"}} {
		addQ(attributesSQL(scope, "c", q[0], q[1]))
	}
	for _, q := range []store.TasksQuery{
		{Cluster: "c", ContainerInstance: "ci", Limit: 10},
		{Cluster: "c", ContainerInstance: "ci", DesiredStatus: store.TaskRunning, After: "abc", Limit: 10},
	} {
		addQ(tasksSQL(scope, q))
	}
	for _, q := range []store.ContainerInstancesQuery{
		{Cluster: "c", Limit: 10},
		{Cluster: "c", After: "abc", Limit: 10},
		{Cluster: "c", Statuses: []string{store.InstanceActive}, After: "abc", Limit: 10},
		{Cluster: "c", Statuses: []string{store.InstanceActive, store.InstanceDraining}, Limit: 10},
		{Cluster: "c", EC2InstanceID: "i-1", Limit: 10},
		{Cluster: "c", CapacityProvider: "cp", Statuses: []string{store.InstanceActive}, After: "abc", Limit: 10},
	} {
		addQ(containerInstancesSQL(scope, q))
	}
	addQ(clusterInstanceCountSQL, []any{scope.Account, scope.Region, "c"})
	addQ(allClustersSQL, []any{"", "", "", "ACTIVE", "ACTIVE", 10})
	addQ(allClustersSQL, []any{scope.Account, scope.Region, "c", "", "", 10})
	addQ(targetAttributesSQL, []any{scope.Account, scope.Region, "c", "ci"})
	addQ(placedTasksSQL+" ORDER BY container_instance, id", []any{scope.Account, scope.Region, "c"})
	addQ(placedTasksSQL+" AND container_instance = ? ORDER BY container_instance, id", []any{scope.Account, scope.Region, "c", "ci"})

	for _, q := range queries {
		rows, err := s.rdb.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q.sql, q.args...)
		if err != nil {
			t.Fatalf("%s: %v", q.sql, err)
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
		for _, step := range plan {
			// An EXISTS pair runs as scalar subqueries over one constant row.
			if step == "SCAN CONSTANT ROW" || strings.HasPrefix(step, "SCALAR SUBQUERY") {
				continue
			}
			if os.Getenv("ECSD_SHOW_PLANS") != "" {
				t.Logf("%s\n=> %q", q.sql, step)
			}
			if !strings.HasPrefix(step, "SEARCH ") || strings.Contains(step, "TEMP B-TREE") {
				t.Errorf("query\n%s\nhas plan %q, want only index searches", q.sql, plan)
				break
			}
		}
	}
}

// TestDerivedStateMatchesRevisions drives random operations and checks
// what the interface cannot see: the family counters agree with a recount
// of the revisions, and no tag outlives its revision.
func TestDerivedStateMatchesRevisions(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	rnd := rand.New(rand.NewPCG(1, 2))
	families := []string{"a", "b", "c"}
	statuses := []string{store.StatusActive, store.StatusInactive, store.StatusDeleteInProgress}
	last := map[string]int{}
	for range 600 {
		f := families[rnd.IntN(len(families))]
		rev := 1 + rnd.IntN(last[f]+1)
		switch op := rnd.IntN(10); {
		case op < 3:
			td, err := s.RegisterTaskDefinition(ctx, newTD(f), []store.Tag{{Key: "k", Value: "v"}})
			if err != nil {
				t.Fatal(err)
			}
			last[f] = td.Revision
		case op < 7:
			status := statuses[rnd.IntN(len(statuses))]
			_, err := s.UpdateTaskDefinitions(ctx, scope, []store.TaskDefinitionKey{{Family: f, Revision: rev}}, func(cur store.TaskDefinition) (store.TaskDefinition, error) {
				cur.Status, cur.DeleteRequestedAt = status, cur.RegisteredAt
				return cur, nil
			})
			if err != nil {
				t.Fatal(err)
			}
		case op < 9:
			if err := s.PurgeTaskDefinition(ctx, scope, f, rev); err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatal(err)
			}
		default:
			r := store.Resource{Scope: scope, TaskDefinition: &store.TaskDefinitionKey{Family: f, Revision: rev}}
			if err := s.TagResource(ctx, r, []store.Tag{{Key: fmt.Sprint(rnd.IntN(5)), Value: "v"}}, 50); err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatal(err)
			}
		}
	}

	rows, err := s.rdb.QueryContext(ctx, `
SELECT f.family, f.last_revision, f.active_count, f.live_count,
	(SELECT count(*) FROM task_definitions t WHERE (t.account, t.region, t.family) = (f.account, f.region, f.family) AND t.status = 'ACTIVE'),
	(SELECT count(*) FROM task_definitions t WHERE (t.account, t.region, t.family) = (f.account, f.region, f.family)),
	(SELECT coalesce(max(revision), 0) FROM task_definitions t WHERE (t.account, t.region, t.family) = (f.account, f.region, f.family))
FROM families f`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var f string
		var lastRev, active, live, wantActive, wantLive, maxRev int
		if err := rows.Scan(&f, &lastRev, &active, &live, &wantActive, &wantLive, &maxRev); err != nil {
			t.Fatal(err)
		}
		if active != wantActive || live != wantLive || lastRev < maxRev || lastRev != last[f] {
			t.Errorf("family %s: last_revision=%d active_count=%d live_count=%d; recount: %d registered, %d ACTIVE, %d live, highest live %d",
				f, lastRev, active, live, last[f], wantActive, wantLive, maxRev)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var orphans int
	err = s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM tags WHERE arn NOT IN (
	SELECT 'arn:aws:ecs:' || region || ':' || account || ':task-definition/' || family || ':' || revision FROM task_definitions)`).Scan(&orphans)
	if err != nil || orphans != 0 {
		t.Errorf("%d tags outlived their revision (%v)", orphans, err)
	}
}

// waitFor polls cond; tests use it instead of sleeping.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

// holdWriter occupies the writer with a write that blocks until the
// returned release is called, so that a test can line up a batch.
func holdWriter(t *testing.T, s *Store) (release func()) {
	t.Helper()
	started, unblock, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.write(context.Background(), func(context.Context, dbtx) error {
			close(started)
			<-unblock
			return nil
		})
	}()
	<-started
	return func() {
		close(unblock)
		if err := <-done; err != nil {
			t.Errorf("holding write: %v", err)
		}
	}
}

func TestGroupCommit(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	release := holdWriter(t, s)

	const writers = 100 // fewer than the default batch bound of 128
	revs := make(chan int, writers)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			td, err := s.RegisterTaskDefinition(t.Context(), newTD("web"), nil)
			if err != nil {
				t.Errorf("RegisterTaskDefinition: %v", err)
				return
			}
			revs <- td.Revision
		})
	}
	waitFor(t, "all writers to queue", func() bool { return len(s.queue) == writers })
	release()
	wg.Wait()
	close(revs)

	got := slices.Sorted(func(yield func(int) bool) {
		for r := range revs {
			yield(r)
		}
	})
	if len(got) != writers || got[0] != 1 || got[writers-1] != writers {
		t.Errorf("revisions = %v, want 1..%d", got, writers)
	}
	// One commit for the holding write, one for everything queued behind it.
	if diff := cmp.Diff(Stats{Commits: 2, Writes: writers + 1}, s.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
}

func TestBatchedWritesFailAlone(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	release := holdWriter(t, s)

	errBoom := errors.New("boom")
	var (
		wg               sync.WaitGroup
		okErrs           [2]error
		failErr          error
		recovered        atomic.Value
		purgeErr, tagErr error
	)
	for i := range okErrs {
		wg.Go(func() { _, okErrs[i] = s.RegisterTaskDefinition(t.Context(), newTD("web"), nil) })
	}
	wg.Go(func() {
		// Writes, then fails: its write must not survive.
		failErr = s.write(t.Context(), func(ctx context.Context, tx dbtx) error {
			if _, err := registerTaskDefinition(ctx, tx, newTD("doomed"), nil); err != nil {
				return err
			}
			return errBoom
		})
	})
	wg.Go(func() {
		defer func() { recovered.Store(fmt.Sprint(recover())) }()
		s.write(t.Context(), func(ctx context.Context, tx dbtx) error {
			if _, err := registerTaskDefinition(ctx, tx, newTD("panicked"), nil); err != nil {
				return err
			}
			panic("update func bug")
		})
	})
	wg.Go(func() { purgeErr = s.PurgeTaskDefinition(t.Context(), scope, "web", 1) })
	wg.Go(func() {
		tagErr = s.TagResource(t.Context(), store.Resource{Scope: scope, TaskDefinition: &store.TaskDefinitionKey{Family: "nope", Revision: 1}}, nil, 1)
	})
	waitFor(t, "all writes to queue", func() bool { return len(s.queue) == 6 })
	release()
	wg.Wait()

	for i, err := range okErrs {
		if err != nil {
			t.Errorf("registration %d: %v", i, err)
		}
	}
	if !errors.Is(failErr, errBoom) {
		t.Errorf("failing write returned %v, want %v", failErr, errBoom)
	}
	if p, _ := recovered.Load().(string); !strings.Contains(p, "update func bug") {
		t.Errorf("panic re-raised in the caller = %q, want the original panic", p)
	}
	if !errors.Is(purgeErr, store.ErrNotFound) || !errors.Is(tagErr, store.ErrNotFound) {
		t.Errorf("purge, tag errors = %v, %v; want ErrNotFound", purgeErr, tagErr)
	}
	for _, family := range []string{"doomed", "panicked"} {
		if _, err := s.GetTaskDefinition(t.Context(), scope, family, 1); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s:1 after its write failed: error = %v, want ErrNotFound", family, err)
		}
	}
	keys, err := s.ListTaskDefinitions(t.Context(), scope, store.ListTaskDefinitionsQuery{Status: store.StatusActive, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.TaskDefinitionKey{{Family: "web", Revision: 1}, {Family: "web", Revision: 2}}, keys); diff != "" {
		t.Errorf("stored revisions (-want +got):\n%s", diff)
	}
	if got := s.Stats().Commits; got != 2 {
		t.Errorf("commits = %d, want 2 (the six writes shared one)", got)
	}
}

func TestCancelWhileQueuedWritesNothing(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	release := holdWriter(t, s)

	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := s.RegisterTaskDefinition(ctx, newTD("web"), nil)
		errc <- err
	}()
	waitFor(t, "the write to queue", func() bool { return len(s.queue) == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("canceled queued write returned %v, want context.Canceled", err)
	}
	release()
	td, err := s.RegisterTaskDefinition(t.Context(), newTD("web"), nil)
	if err != nil || td.Revision != 1 {
		t.Errorf("next registration = revision %d, %v; want 1 (the canceled one was never applied)", td.Revision, err)
	}
}

func TestCancelAfterTakenReportsCommit(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	ctx, cancel := context.WithCancel(t.Context())
	started, unblock := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- s.write(ctx, func(ctx context.Context, tx dbtx) error {
			_, err := registerTaskDefinition(ctx, tx, newTD("web"), nil)
			close(started)
			<-unblock
			return err
		})
	}()
	<-started
	cancel()
	close(unblock)
	if err := <-errc; err != nil {
		t.Errorf("write canceled after the writer took it returned %v, want nil: it was committed", err)
	}
	if _, err := s.GetTaskDefinition(t.Context(), scope, "web", 1); err != nil {
		t.Errorf("GetTaskDefinition: %v", err)
	}
}

func TestCloseDrainsQueuedWrites(t *testing.T) {
	s := openStore(t, t.TempDir())
	release := holdWriter(t, s)
	const writers = 10
	errs := make(chan error, writers)
	for range writers {
		go func() {
			_, err := s.RegisterTaskDefinition(t.Context(), newTD("web"), nil)
			errs <- err
		}()
	}
	waitFor(t, "all writers to queue", func() bool { return len(s.queue) == writers })
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	waitFor(t, "Close to stop accepting writes", func() bool {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return s.closed
	})
	release()
	for range writers {
		if err := <-errs; err != nil {
			t.Errorf("write queued before Close: %v", err)
		}
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.RegisterTaskDefinition(t.Context(), newTD("web"), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("write after Close returned %v, want ErrClosed", err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Error("Ping after Close succeeded")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if st := s.Stats(); st.Writes != writers+1 {
		t.Errorf("writes = %d, want %d", st.Writes, writers+1)
	}
}

const helperDirEnv = "ECSD_SQLITESTORE_HELPER_DIR"

// TestHelperProcess is the child of TestKill9Durability: it registers
// revisions from several goroutines until it is killed, printing each
// revision once RegisterTaskDefinition has acknowledged it.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperDirEnv)
	if dir == "" {
		t.Skip("run only as the child of TestKill9Durability")
	}
	s, err := Open(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	// Bounded so that an orphaned child stops by itself.
	var budget atomic.Int64
	budget.Store(100_000)
	for range 8 {
		wg.Go(func() {
			for budget.Add(-1) >= 0 {
				td, err := s.RegisterTaskDefinition(context.Background(), newTD("web"), nil)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Printf("ack %d\n", td.Revision)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	os.Exit(3) // the parent should have killed us long ago
}

// TestKill9Durability kills a writing process with SIGKILL and checks that
// every revision it acknowledged is there after reopening, and that the
// numbering is still gapless. (A kill leaves the OS page cache intact; power
// loss is covered by synchronous=FULL, which TestOpenConfiguresDurability
// checks.)
func TestKill9Durability(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperDirEnv+"="+dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const killAfter = 300
	var acked []int
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "ack "))
		if err != nil {
			t.Errorf("child printed %q", sc.Text())
			continue
		}
		acked = append(acked, n)
		if len(acked) == killAfter {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
		}
	}
	err = cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.Exited() {
		t.Fatalf("child was not killed: %v\n%s", err, stderr.String())
	}
	if len(acked) < killAfter {
		t.Fatalf("child acknowledged only %d revisions", len(acked))
	}

	s := openStore(t, dir)
	defer s.Close()
	var stored []int
	q := store.ListTaskDefinitionsQuery{Family: "web", Status: store.StatusActive, Limit: 1000}
	for {
		page, err := s.ListTaskDefinitions(t.Context(), scope, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range page {
			stored = append(stored, k.Revision)
		}
		if len(page) < q.Limit {
			break
		}
		q.After = &page[len(page)-1]
	}
	for i, rev := range stored {
		if rev != i+1 {
			t.Fatalf("stored revisions are not 1..%d: position %d holds %d", len(stored), i, rev)
		}
	}
	slices.Sort(acked)
	if i := slices.IndexFunc(acked, func(rev int) bool { return rev > len(stored) }); i >= 0 {
		t.Fatalf("revision %d was acknowledged but only 1..%d survived the kill", acked[i], len(stored))
	}
	if len(slices.Compact(acked)) != len(acked) {
		t.Errorf("a revision number was acknowledged twice")
	}
	td, err := s.RegisterTaskDefinition(t.Context(), newTD("web"), nil)
	if err != nil || td.Revision != len(stored)+1 {
		t.Errorf("registration after restart = revision %d, %v; want %d", td.Revision, err, len(stored)+1)
	}
	t.Logf("%d acknowledged before the kill landed, %d stored", len(acked), len(stored))
}

// BenchmarkRegisterParallel measures durable registrations from many
// goroutines, with group commit and without it (maxBatch=1: one fsync per
// registration).
func BenchmarkRegisterParallel(b *testing.B) {
	for _, maxBatch := range []int{1, 128} {
		b.Run(fmt.Sprintf("maxBatch=%d", maxBatch), func(b *testing.B) {
			s := openStore(b, b.TempDir(), WithMaxBatch(maxBatch))
			defer s.Close()
			var n atomic.Int64
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				td := newTD(fmt.Sprintf("family-%d", n.Add(1)%4)) // a few hot families
				for pb.Next() {
					if _, err := s.RegisterTaskDefinition(context.Background(), td, nil); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			st := s.Stats()
			b.ReportMetric(float64(st.Writes)/float64(st.Commits), "writes/commit")
		})
	}
}

// BenchmarkUpdateTaskParallel measures a RunTask-shaped transaction (read
// the cluster, insert a task, count the cluster's tasks) from many
// goroutines through group commit.
func BenchmarkUpdateTaskParallel(b *testing.B) {
	s := openStore(b, b.TempDir())
	defer s.Close()
	err := s.Update(b.Context(), func(tx store.Tx) error {
		return tx.PutCluster(store.Cluster{Scope: scope, Name: "default", Status: store.ClusterActive, Body: []byte(`{}`)})
	})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(strings.Repeat("x", 2048))
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("%032x", n.Add(1))
			err := s.Update(context.Background(), func(tx store.Tx) error {
				if _, err := tx.Cluster(scope, "default"); err != nil {
					return err
				}
				if err := tx.PutTask(store.Task{Scope: scope, Cluster: "default", ID: id, LastStatus: store.TaskPending,
					DesiredStatus: store.TaskRunning, CreatedAt: time.Now(), Body: body}); err != nil {
					return err
				}
				_, err := tx.ClusterCounts(scope, "default")
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	st := s.Stats()
	b.ReportMetric(float64(st.Writes)/float64(st.Commits), "writes/commit")
}

// TestOpenRelativeDir: the default --data-dir is relative ("ecsd-data"),
// and a relative path must not end up as the authority of SQLite's URI.
func TestOpenRelativeDir(t *testing.T) {
	t.Chdir(t.TempDir())
	st, err := Open(context.Background(), filepath.Join("rel", "data"))
	if err != nil {
		t.Fatalf("Open with a relative directory: %v", err)
	}
	if err := st.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join("rel", "data", FileName)); err != nil {
		t.Fatalf("database not created under the relative directory: %v", err)
	}
}
