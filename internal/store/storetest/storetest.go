// Package storetest is the conformance suite for store.Store: every backend
// runs Run (and RunRestart) from its own tests, so the backends cannot
// drift apart in behaviour that the use-cases rely on.
//
// It imports only the store package and test libraries; it must never
// import a backend.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ecsd/ecsd/internal/store"
)

var (
	scopeA = store.Scope{Account: "111111111111", Region: "us-east-1"}
	scopeB = store.Scope{Account: "222222222222", Region: "us-east-1"} // A's region, another account
	scopeC = store.Scope{Account: "111111111111", Region: "eu-west-1"} // A's account, another region

	// Millisecond precision: a backend need not keep more.
	t0 = time.Date(2025, 3, 4, 5, 6, 7, 8_000_000, time.UTC)
)

// Nil and empty slices are the same answer.
var equateEmpty = cmpopts.EquateEmpty()

// Hooks are what the suite needs from a backend beyond opening it.
type Hooks struct {
	// FailNextCommit makes the next write transaction of s fail to commit
	// once, as a serialization failure would (SQLSTATE 40001), so that s
	// runs its callback again. Every backend must provide it: the contract
	// says callbacks may run more than once, and "RetriedTransaction"
	// proves that state is right when they do.
	FailNextCommit func(s store.Store)
}

// Run runs the conformance suite. open must return a new, empty store each
// time it is called; the suite closes it when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) store.Store, hooks ...Hooks) {
	var h Hooks
	for _, x := range hooks {
		if x.FailNextCommit != nil {
			h.FailNextCommit = x.FailNextCommit
		}
	}
	tests := []struct {
		name string
		test func(t *testing.T, s store.Store)
	}{
		{"Register", testRegister},
		{"ScopeIsolation", testScopeIsolation},
		{"ConcurrentRegister", testConcurrentRegister},
		{"RevisionsNeverReused", testRevisionsNeverReused},
		{"GetAndLatestActive", testGetAndLatestActive},
		{"Update", testUpdate},
		{"UpdateRejectsImmutableChanges", testUpdateRejectsImmutableChanges},
		{"ListTaskDefinitions", testListTaskDefinitions},
		{"ListTaskDefinitionsPagination", testListTaskDefinitionsPagination},
		{"ListFamilies", testListFamilies},
		{"FamilyStatusFollowsRevisions", testFamilyStatusFollowsRevisions},
		{"Purge", testPurge},
		{"TaskDefinitionsToPurge", testTaskDefinitionsToPurge},
		{"Tags", testTags},
		{"Reset", testReset},
		{"BodyRoundTrip", testBodyRoundTrip},
		{"CanceledContext", testCanceledContext},
		// Orchestration transactions (orchestration.go).
		{"RecordsRoundTrip", testRecordsRoundTrip},
		{"GettersNotFound", testGettersNotFound},
		{"TxReadsItsOwnWrites", testTxReadsItsOwnWrites},
		{"RecordsAreCopies", testRecordsAreCopies},
		{"ClustersQuery", testClustersQuery},
		{"ServicesQuery", testServicesQuery},
		{"ServicesToSchedule", testServicesToSchedule},
		{"TasksQuery", testTasksQuery},
		{"TasksToSuperviseAndReap", testTasksToSuperviseAndReap},
		{"ServiceDeploymentsQuery", testServiceDeploymentsQuery},
		{"ClusterCounts", testClusterCounts},
		{"TaskDefinitionInUse", testTaskDefinitionInUse},
		{"SettingsAndAttributes", testSettingsAndAttributes},
		{"OrchestrationScopeIsolation", testOrchestrationScopeIsolation},
		{"UpdateAtomicity", testUpdateAtomicity},
		{"UpdateCanceledContext", testUpdateCanceledContext},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"ViewIsSnapshot", testViewIsSnapshot},
		{"ResourceTags", testResourceTags},
		{"ResetOrchestration", testResetOrchestration},
		{"TxPurgeTaskDefinition", testTxPurgeTaskDefinition},
		// Container instances and placement (instances.go).
		{"ContainerInstances", testContainerInstances},
		{"TaskPlacement", testTaskPlacement},
		{"ContainerInstanceTags", testContainerInstanceTags},
		{"RetriedTransaction", func(t *testing.T, s store.Store) { testRetriedTransaction(t, s, h) }},
		// What metrics count (counts.go), for stores that are a store.Counter.
		{"Counts", testCounts},
		// Capacity providers (capacityproviders.go).
		{"CapacityProviders", testCapacityProviders},
		{"TaskProtection", testTaskProtection},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			if err := s.Ping(t.Context()); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			tt.test(t, s)
		})
	}
}

// RunRestart checks that state, and the revision counters in particular,
// survive closing and reopening a store. open(t, dir) must open the store
// persisted under dir, empty the first time; the suite closes every store
// it opens.
func RunRestart(t *testing.T, open func(t *testing.T, dir string) store.Store) {
	dir := t.TempDir()
	s := open(t, dir)
	register(t, s, scopeA, "web", store.Tag{Key: "team", Value: "a"})
	register(t, s, scopeA, "web")
	register(t, s, scopeA, "web")
	setStatus(t, s, scopeA, "web", 3, store.StatusDeleteInProgress)
	if err := s.PurgeTaskDefinition(t.Context(), scopeA, "web", 3); err != nil {
		t.Fatalf("PurgeTaskDefinition: %v", err)
	}
	register(t, s, scopeA, "api")
	setStatus(t, s, scopeA, "api", 1, store.StatusInactive)
	writeRestartRecords(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t, dir)
	defer func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	got, err := s.GetTaskDefinition(t.Context(), scopeA, "web", 1)
	if err != nil {
		t.Fatalf("GetTaskDefinition after reopen: %v", err)
	}
	if diff := cmp.Diff(activeTD(scopeA, "web", 1), got); diff != "" {
		t.Errorf("web:1 after reopen (-want +got):\n%s", diff)
	}
	wantTags(t, s, resource(scopeA, "web", 1), []store.Tag{{Key: "team", Value: "a"}})
	if td := register(t, s, scopeA, "web"); td.Revision != 4 {
		t.Errorf("first revision registered after reopen = %d, want 4 (3 was purged, never reused)", td.Revision)
	}
	wantFamilies(t, s, scopeA, store.ListFamiliesQuery{Status: store.FamilyStatusActive, Limit: 10}, []string{"web"})
	wantFamilies(t, s, scopeA, store.ListFamiliesQuery{Status: store.FamilyStatusInactive, Limit: 10}, []string{"api"})
	checkRestartRecords(t, s)
}

func testRegister(t *testing.T, s store.Store) {
	// Lifecycle members in the input are the store's to set, not the caller's.
	in := store.TaskDefinition{
		Scope: scopeA, Family: "web", Revision: 99, Status: store.StatusInactive,
		RegisteredAt: t0, DeregisteredAt: t0, DeleteRequestedAt: t0, Body: body("web"),
	}
	got, err := s.RegisterTaskDefinition(t.Context(), in, nil)
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	want := activeTD(scopeA, "web", 1)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RegisterTaskDefinition returned (-want +got):\n%s", diff)
	}
	stored, err := s.GetTaskDefinition(t.Context(), scopeA, "web", 1)
	if err != nil {
		t.Fatalf("GetTaskDefinition: %v", err)
	}
	if diff := cmp.Diff(want, stored); diff != "" {
		t.Errorf("GetTaskDefinition (-want +got):\n%s", diff)
	}
	if loc := stored.RegisteredAt.Location(); loc != time.UTC {
		t.Errorf("RegisteredAt location = %v, want UTC", loc)
	}
	for want := 2; want <= 3; want++ {
		if td := register(t, s, scopeA, "web"); td.Revision != want {
			t.Errorf("revision = %d, want %d", td.Revision, want)
		}
	}
}

func testScopeIsolation(t *testing.T, s store.Store) {
	steps := []struct {
		scope  store.Scope
		family string
		want   int
	}{
		{scopeA, "web", 1},
		{scopeA, "web", 2},
		{scopeB, "web", 1},
		{scopeC, "web", 1},
		{scopeA, "api", 1},
		{scopeC, "web", 2},
		{scopeA, "web", 3},
	}
	for _, st := range steps {
		if td := register(t, s, st.scope, st.family); td.Revision != st.want {
			t.Errorf("register %v %s: revision %d, want %d", st.scope, st.family, td.Revision, st.want)
		}
	}
	if _, err := s.GetTaskDefinition(t.Context(), scopeB, "web", 2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetTaskDefinition(B, web:2) error = %v, want ErrNotFound", err)
	}
	if _, err := s.LatestActiveTaskDefinition(t.Context(), scopeB, "api"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LatestActiveTaskDefinition(B, api) error = %v, want ErrNotFound", err)
	}
	all := store.ListTaskDefinitionsQuery{Status: store.StatusActive, Limit: 100}
	wantKeys(t, s, scopeA, all, slices.Concat(keysOf("api", 1), keysOf("web", 1, 2, 3)))
	wantKeys(t, s, scopeB, all, keysOf("web", 1))
	wantKeys(t, s, scopeC, all, keysOf("web", 1, 2))
	families := store.ListFamiliesQuery{Status: store.FamilyStatusAll, Limit: 100}
	wantFamilies(t, s, scopeA, families, []string{"api", "web"})
	wantFamilies(t, s, scopeB, families, []string{"web"})

	// Deregistering in one scope leaves the same family elsewhere alone.
	setStatus(t, s, scopeC, "web", 2, store.StatusInactive)
	if td, err := s.LatestActiveTaskDefinition(t.Context(), scopeA, "web"); err != nil || td.Revision != 3 {
		t.Errorf("LatestActiveTaskDefinition(A, web) = %d, %v; want 3", td.Revision, err)
	}
	if _, err := s.UpdateTaskDefinitions(t.Context(), scopeB, keys("web", 3), setStatusFunc(store.StatusInactive)); err != nil {
		t.Fatalf("UpdateTaskDefinitions: %v", err)
	}
	if td := get(t, s, scopeA, "web", 3); td.Status != store.StatusActive {
		t.Errorf("A web:3 status = %s after an update in scope B, want ACTIVE", td.Status)
	}
}

func testConcurrentRegister(t *testing.T, s store.Store) {
	const goroutines, perGoroutine = 32, 20
	var (
		mu   sync.Mutex
		revs []int
		wg   sync.WaitGroup
	)
	for range goroutines {
		wg.Go(func() {
			for range perGoroutine {
				td, err := s.RegisterTaskDefinition(t.Context(), newTD(scopeA, "web"), []store.Tag{{Key: "k", Value: "v"}})
				if err != nil {
					t.Errorf("RegisterTaskDefinition: %v", err)
					return
				}
				mu.Lock()
				revs = append(revs, td.Revision)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(revs)
	want := make([]int, goroutines*perGoroutine)
	for i := range want {
		want[i] = i + 1
	}
	if diff := cmp.Diff(want, revs); diff != "" {
		t.Errorf("revisions handed out (-want +got):\n%s", diff)
	}
	var stored []int
	for _, k := range listAll(t, s, scopeA, store.ListTaskDefinitionsQuery{Family: "web", Status: store.StatusActive}, 100) {
		stored = append(stored, k.Revision)
	}
	if diff := cmp.Diff(want, stored); diff != "" {
		t.Errorf("revisions stored (-want +got):\n%s", diff)
	}
}

func testRevisionsNeverReused(t *testing.T, s store.Store) {
	for range 3 {
		register(t, s, scopeA, "web")
	}
	purge(t, s, scopeA, "web", 3)
	if td := register(t, s, scopeA, "web"); td.Revision != 4 {
		t.Errorf("after purging the latest revision, next revision = %d, want 4", td.Revision)
	}
	for rev := 1; rev <= 4; rev++ {
		if rev != 3 {
			purge(t, s, scopeA, "web", rev)
		}
	}
	wantFamilies(t, s, scopeA, store.ListFamiliesQuery{Status: store.FamilyStatusAll, Limit: 10}, nil)
	if td := register(t, s, scopeA, "web"); td.Revision != 5 {
		t.Errorf("after purging every revision, next revision = %d, want 5", td.Revision)
	}
	wantFamilies(t, s, scopeA, store.ListFamiliesQuery{Status: store.FamilyStatusActive, Limit: 10}, []string{"web"})
}

func testGetAndLatestActive(t *testing.T, s store.Store) {
	for range 5 {
		register(t, s, scopeA, "web")
	}
	setStatus(t, s, scopeA, "web", 3, store.StatusActive) // a no-op update must not disturb the counts
	setStatus(t, s, scopeA, "web", 4, store.StatusInactive)
	setStatus(t, s, scopeA, "web", 5, store.StatusDeleteInProgress)
	register(t, s, scopeA, "old")
	setStatus(t, s, scopeA, "old", 1, store.StatusInactive)

	gets := []struct {
		family     string
		revision   int
		wantStatus string // "" means ErrNotFound
	}{
		{"web", 1, store.StatusActive},
		{"web", 4, store.StatusInactive},
		{"web", 5, store.StatusDeleteInProgress},
		{"web", 6, ""},
		{"web", 0, ""},
		{"old", 1, store.StatusInactive},
		{"nope", 1, ""},
		{"we", 1, ""},
	}
	for _, g := range gets {
		td, err := s.GetTaskDefinition(t.Context(), scopeA, g.family, g.revision)
		switch {
		case g.wantStatus == "" && !errors.Is(err, store.ErrNotFound):
			t.Errorf("GetTaskDefinition(%s:%d) error = %v, want ErrNotFound", g.family, g.revision, err)
		case g.wantStatus != "" && err != nil:
			t.Errorf("GetTaskDefinition(%s:%d): %v", g.family, g.revision, err)
		case g.wantStatus != "" && (td.Family != g.family || td.Revision != g.revision || td.Status != g.wantStatus):
			t.Errorf("GetTaskDefinition(%s:%d) = %s:%d %s, want status %s", g.family, g.revision, td.Family, td.Revision, td.Status, g.wantStatus)
		}
	}

	latest := []struct {
		family string
		want   int // 0 means ErrNotFound
	}{
		{"web", 3}, // 4 is INACTIVE and 5 DELETE_IN_PROGRESS
		{"old", 0},
		{"nope", 0},
	}
	for _, l := range latest {
		td, err := s.LatestActiveTaskDefinition(t.Context(), scopeA, l.family)
		switch {
		case l.want == 0 && !errors.Is(err, store.ErrNotFound):
			t.Errorf("LatestActiveTaskDefinition(%s) error = %v, want ErrNotFound", l.family, err)
		case l.want != 0 && err != nil:
			t.Errorf("LatestActiveTaskDefinition(%s): %v", l.family, err)
		case l.want != 0:
			if diff := cmp.Diff(activeTD(scopeA, l.family, l.want), td); diff != "" {
				t.Errorf("LatestActiveTaskDefinition(%s) (-want +got):\n%s", l.family, diff)
			}
		}
	}
}

func testUpdate(t *testing.T, s store.Store) {
	for range 3 {
		register(t, s, scopeA, "web")
	}
	errBoom := errors.New("boom")
	t1 := t0.Add(time.Hour)
	var called []int
	fn := func(cur store.TaskDefinition) (store.TaskDefinition, error) {
		called = append(called, cur.Revision)
		if cur.Revision == 2 {
			return store.TaskDefinition{}, errBoom
		}
		cur.Status = store.StatusInactive
		cur.DeregisteredAt = t1
		return cur, nil
	}
	res, err := s.UpdateTaskDefinitions(t.Context(), scopeA,
		[]store.TaskDefinitionKey{{Family: "web", Revision: 1}, {Family: "web", Revision: 9}, {Family: "web", Revision: 2}, {Family: "nope", Revision: 1}, {Family: "web", Revision: 3}}, fn)
	if err != nil {
		t.Fatalf("UpdateTaskDefinitions: %v", err)
	}
	if diff := cmp.Diff([]int{1, 2, 3}, called); diff != "" {
		t.Errorf("fn called for revisions (-want +got):\n%s", diff)
	}
	inactive := func(rev int) store.TaskDefinition {
		td := activeTD(scopeA, "web", rev)
		td.Status, td.DeregisteredAt = store.StatusInactive, t1
		return td
	}
	want := []store.UpdateResult{
		{TaskDefinition: inactive(1)},
		{Err: store.ErrNotFound},
		{TaskDefinition: activeTD(scopeA, "web", 2), Err: errBoom},
		{Err: store.ErrNotFound},
		{TaskDefinition: inactive(3)},
	}
	if diff := cmp.Diff(want, res, cmpopts.EquateErrors(), cmpopts.IgnoreFields(store.UpdateResult{}, "TaskDefinition")); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	for i, r := range res {
		if want[i].Err == store.ErrNotFound {
			continue // nothing stored to report
		}
		if diff := cmp.Diff(want[i].TaskDefinition, r.TaskDefinition); diff != "" {
			t.Errorf("result %d (-want +got):\n%s", i, diff)
		}
		if stored := get(t, s, scopeA, "web", r.TaskDefinition.Revision); !cmp.Equal(stored, want[i].TaskDefinition) {
			t.Errorf("stored %s:%d differs from the result (-want +got):\n%s", stored.Family, stored.Revision, cmp.Diff(want[i].TaskDefinition, stored))
		}
	}
	wantFamilies(t, s, scopeA, store.ListFamiliesQuery{Status: store.FamilyStatusActive, Limit: 10}, []string{"web"})

	// Through DELETE_IN_PROGRESS and back: every lifecycle time round-trips.
	t2 := t1.Add(time.Minute)
	res, err = s.UpdateTaskDefinitions(t.Context(), scopeA, keys("web", 2), func(cur store.TaskDefinition) (store.TaskDefinition, error) {
		cur.Status, cur.DeregisteredAt, cur.DeleteRequestedAt = store.StatusDeleteInProgress, t1, t2
		return cur, nil
	})
	if err != nil || res[0].Err != nil {
		t.Fatalf("UpdateTaskDefinitions: %v, %v", err, res[0].Err)
	}
	wantTD := activeTD(scopeA, "web", 2)
	wantTD.Status, wantTD.DeregisteredAt, wantTD.DeleteRequestedAt = store.StatusDeleteInProgress, t1, t2
	if diff := cmp.Diff(wantTD, get(t, s, scopeA, "web", 2)); diff != "" {
		t.Errorf("web:2 (-want +got):\n%s", diff)
	}
	wantFamilies(t, s, scopeA, store.ListFamiliesQuery{Status: store.FamilyStatusActive, Limit: 10}, nil)
	wantFamilies(t, s, scopeA, store.ListFamiliesQuery{Status: store.FamilyStatusInactive, Limit: 10}, []string{"web"})

	// An empty batch is a valid no-op.
	if res, err := s.UpdateTaskDefinitions(t.Context(), scopeA, nil, fn); err != nil || len(res) != 0 {
		t.Errorf("UpdateTaskDefinitions(no keys) = %v, %v; want no results", res, err)
	}
}

func testUpdateRejectsImmutableChanges(t *testing.T, s store.Store) {
	register(t, s, scopeA, "web")
	edits := []struct {
		name string
		edit func(*store.TaskDefinition)
	}{
		{"family", func(td *store.TaskDefinition) { td.Family = "api" }},
		{"revision", func(td *store.TaskDefinition) { td.Revision = 7 }},
		{"scope", func(td *store.TaskDefinition) { td.Scope = scopeB }},
		{"registeredAt", func(td *store.TaskDefinition) { td.RegisteredAt = t0.Add(time.Second) }},
		{"body", func(td *store.TaskDefinition) { td.Body = []byte(`{}`) }},
		{"body in place", func(td *store.TaskDefinition) { td.Body[0] = 'X' }},
		{"unknown status", func(td *store.TaskDefinition) { td.Status = "PAUSED" }},
	}
	for _, e := range edits {
		t.Run(e.name, func(t *testing.T) {
			res, err := s.UpdateTaskDefinitions(t.Context(), scopeA, keys("web", 1), func(cur store.TaskDefinition) (store.TaskDefinition, error) {
				cur.Status = store.StatusInactive
				e.edit(&cur)
				return cur, nil
			})
			if err != nil {
				t.Fatalf("UpdateTaskDefinitions: %v", err)
			}
			if res[0].Err == nil || errors.Is(res[0].Err, store.ErrNotFound) {
				t.Errorf("result error = %v, want a rejection", res[0].Err)
			}
			if diff := cmp.Diff(activeTD(scopeA, "web", 1), get(t, s, scopeA, "web", 1)); diff != "" {
				t.Errorf("stored after a rejected update (-want +got):\n%s", diff)
			}
		})
	}
	wantFamilies(t, s, scopeA, store.ListFamiliesQuery{Status: store.FamilyStatusActive, Limit: 10}, []string{"web"})
}

func testListTaskDefinitions(t *testing.T, s store.Store) {
	// Interleaved so that insertion order is not list order.
	for i := 1; i <= 11; i++ {
		register(t, s, scopeA, "web")
		if i <= 2 {
			register(t, s, scopeA, "api")
		}
		if i == 1 {
			register(t, s, scopeA, "web-2")
		}
	}
	setStatus(t, s, scopeA, "web", 5, store.StatusInactive)
	setStatus(t, s, scopeA, "api", 2, store.StatusDeleteInProgress)

	webActive := keysOf("web", 1, 2, 3, 4, 6, 7, 8, 9, 10, 11)
	allActive := slices.Concat(keysOf("api", 1), webActive, keysOf("web-2", 1))
	tests := []struct {
		name string
		q    store.ListTaskDefinitionsQuery
		want []store.TaskDefinitionKey
	}{
		{"asc", store.ListTaskDefinitionsQuery{Status: store.StatusActive, Limit: 100}, allActive},
		{"desc", store.ListTaskDefinitionsQuery{Status: store.StatusActive, Desc: true, Limit: 100}, reversed(allActive)},
		{"family numeric order", store.ListTaskDefinitionsQuery{Family: "web", Status: store.StatusActive, Limit: 100}, webActive},
		{"family desc", store.ListTaskDefinitionsQuery{Family: "web", Status: store.StatusActive, Desc: true, Limit: 100}, reversed(webActive)},
		{"family is exact, not a prefix", store.ListTaskDefinitionsQuery{Family: "we", Status: store.StatusActive, Limit: 100}, nil},
		{"inactive", store.ListTaskDefinitionsQuery{Status: store.StatusInactive, Limit: 100}, keysOf("web", 5)},
		{"delete in progress", store.ListTaskDefinitionsQuery{Status: store.StatusDeleteInProgress, Limit: 100}, keysOf("api", 2)},
		{"family and status", store.ListTaskDefinitionsQuery{Family: "api", Status: store.StatusInactive, Limit: 100}, nil},
		{"limit", store.ListTaskDefinitionsQuery{Status: store.StatusActive, Limit: 3}, allActive[:3]},
		{"after, across families", store.ListTaskDefinitionsQuery{Status: store.StatusActive, After: cursor("web", 9), Limit: 100},
			slices.Concat(keysOf("web", 10, 11), keysOf("web-2", 1))},
		{"after, desc", store.ListTaskDefinitionsQuery{Status: store.StatusActive, Desc: true, After: cursor("web", 2), Limit: 100},
			slices.Concat(keysOf("web", 1), keysOf("api", 1))},
		{"after a key not in the list", store.ListTaskDefinitionsQuery{Family: "web", Status: store.StatusActive, After: cursor("web", 5), Limit: 3},
			keysOf("web", 6, 7, 8)},
		{"after a key not in the list, desc", store.ListTaskDefinitionsQuery{Family: "web", Status: store.StatusActive, Desc: true, After: cursor("web", 5), Limit: 100},
			keysOf("web", 4, 3, 2, 1)},
		{"family, after an earlier family", store.ListTaskDefinitionsQuery{Family: "web", Status: store.StatusActive, After: cursor("api", 7), Limit: 100}, webActive},
		{"family, after a later family", store.ListTaskDefinitionsQuery{Family: "web", Status: store.StatusActive, After: &store.TaskDefinitionKey{Family: "web-2", Revision: 0}, Limit: 100}, nil},
		{"family desc, after a later family", store.ListTaskDefinitionsQuery{Family: "web", Status: store.StatusActive, Desc: true, After: cursor("zzz", 1), Limit: 100}, reversed(webActive)},
		{"family desc, after an earlier family", store.ListTaskDefinitionsQuery{Family: "web", Status: store.StatusActive, Desc: true, After: cursor("api", 1), Limit: 100}, nil},
		{"after the last", store.ListTaskDefinitionsQuery{Status: store.StatusActive, After: &store.TaskDefinitionKey{Family: "web-2", Revision: 1}, Limit: 100}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantKeys(t, s, scopeA, tt.q, tt.want)
		})
	}
}

func testListTaskDefinitionsPagination(t *testing.T, s store.Store) {
	families := []string{"a", "b", "b-c", "c"}
	counts := []int{7, 1, 12, 4}
	var want []store.TaskDefinitionKey
	for i, f := range families {
		for rev := 1; rev <= counts[i]; rev++ {
			want = append(want, store.TaskDefinitionKey{Family: f, Revision: rev})
		}
	}
	// Register round-robin so that storage order differs from list order.
	for round := 1; round <= 12; round++ {
		for i, f := range families {
			if round <= counts[i] {
				register(t, s, scopeA, f)
			}
		}
	}
	for _, limit := range []int{1, 2, 3, 5, 11, 100} {
		for _, desc := range []bool{false, true} {
			for _, family := range []string{"", "b-c"} {
				t.Run(fmt.Sprintf("limit=%d/desc=%t/family=%q", limit, desc, family), func(t *testing.T) {
					w := want
					if family != "" {
						w = slices.DeleteFunc(slices.Clone(w), func(k store.TaskDefinitionKey) bool { return k.Family != family })
					}
					if desc {
						w = reversed(w)
					}
					got := listAll(t, s, scopeA, store.ListTaskDefinitionsQuery{Family: family, Status: store.StatusActive, Desc: desc}, limit)
					if diff := cmp.Diff(w, got, equateEmpty); diff != "" {
						t.Errorf("pages (-want +got):\n%s", diff)
					}
				})
			}
		}
	}
}

func testListFamilies(t *testing.T, s store.Store) {
	for _, f := range []string{"app-a", "app-b", "app-c", "app-c", "ap", "db", "dbx", "dbx", "gone", "web"} {
		register(t, s, scopeA, f)
	}
	setStatus(t, s, scopeA, "app-b", 1, store.StatusInactive)
	setStatus(t, s, scopeA, "app-c", 1, store.StatusInactive) // app-c:2 keeps it ACTIVE
	setStatus(t, s, scopeA, "dbx", 1, store.StatusDeleteInProgress)
	setStatus(t, s, scopeA, "dbx", 2, store.StatusDeleteInProgress)
	purge(t, s, scopeA, "gone", 1)
	register(t, s, scopeB, "app-z") // another scope is never listed

	const (
		active   = store.FamilyStatusActive
		inactive = store.FamilyStatusInactive
		all      = store.FamilyStatusAll
	)
	tests := []struct {
		q    store.ListFamiliesQuery
		want []string
	}{
		{store.ListFamiliesQuery{Status: active, Limit: 100}, []string{"ap", "app-a", "app-c", "db", "web"}},
		{store.ListFamiliesQuery{Status: inactive, Limit: 100}, []string{"app-b", "dbx"}},
		{store.ListFamiliesQuery{Status: all, Limit: 100}, []string{"ap", "app-a", "app-b", "app-c", "db", "dbx", "web"}},
		{store.ListFamiliesQuery{Prefix: "app", Status: all, Limit: 100}, []string{"app-a", "app-b", "app-c"}},
		{store.ListFamiliesQuery{Prefix: "app", Status: active, Limit: 100}, []string{"app-a", "app-c"}},
		{store.ListFamiliesQuery{Prefix: "ap", Status: active, Limit: 100}, []string{"ap", "app-a", "app-c"}},
		{store.ListFamiliesQuery{Prefix: "db", Status: inactive, Limit: 100}, []string{"dbx"}},
		{store.ListFamiliesQuery{Prefix: "app-c", Status: all, Limit: 100}, []string{"app-c"}},
		{store.ListFamiliesQuery{Prefix: "gone", Status: all, Limit: 100}, nil},
		{store.ListFamiliesQuery{Prefix: "x", Status: all, Limit: 100}, nil},
		{store.ListFamiliesQuery{Status: all, Limit: 2}, []string{"ap", "app-a"}},
		{store.ListFamiliesQuery{Status: all, After: "app-a", Limit: 100}, []string{"app-b", "app-c", "db", "dbx", "web"}},
		{store.ListFamiliesQuery{Status: active, After: "app-a", Limit: 2}, []string{"app-c", "db"}},
		{store.ListFamiliesQuery{Prefix: "app", Status: all, After: "a", Limit: 100}, []string{"app-a", "app-b", "app-c"}},
		{store.ListFamiliesQuery{Prefix: "app", Status: all, After: "app-b", Limit: 100}, []string{"app-c"}},
		{store.ListFamiliesQuery{Prefix: "app", Status: all, After: "app-c", Limit: 100}, nil},
		{store.ListFamiliesQuery{Prefix: "app", Status: all, After: "b", Limit: 100}, nil},
		{store.ListFamiliesQuery{Status: all, After: "web", Limit: 100}, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v", tt.q), func(t *testing.T) {
			wantFamilies(t, s, scopeA, tt.q, tt.want)
		})
	}
	for _, status := range []string{active, inactive, all} {
		var want []string
		for _, tt := range tests[:3] {
			if tt.q.Status == status {
				want = tt.want
			}
		}
		for _, limit := range []int{1, 2, 3} {
			var got []string
			q := store.ListFamiliesQuery{Status: status, Limit: limit}
			for range 100 {
				page, err := s.ListTaskDefinitionFamilies(t.Context(), scopeA, q)
				if err != nil {
					t.Fatalf("ListTaskDefinitionFamilies(%+v): %v", q, err)
				}
				if len(page) > limit {
					t.Fatalf("ListTaskDefinitionFamilies(%+v) returned %d families", q, len(page))
				}
				got = append(got, page...)
				if len(page) < limit {
					break
				}
				q.After = page[len(page)-1]
			}
			if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
				t.Errorf("status %s, pages of %d (-want +got):\n%s", status, limit, diff)
			}
		}
	}
}

func testFamilyStatusFollowsRevisions(t *testing.T, s store.Store) {
	check := func(step string, want string) {
		t.Helper()
		for _, status := range []string{store.FamilyStatusActive, store.FamilyStatusInactive, store.FamilyStatusAll} {
			var wantList []string
			if want != "" && (status == store.FamilyStatusAll || status == want) {
				wantList = []string{"web"}
			}
			got, err := s.ListTaskDefinitionFamilies(t.Context(), scopeA, store.ListFamiliesQuery{Status: status, Limit: 10})
			if err != nil {
				t.Fatalf("%s: ListTaskDefinitionFamilies: %v", step, err)
			}
			if diff := cmp.Diff(wantList, got, equateEmpty); diff != "" {
				t.Errorf("%s: families with status %s (-want +got):\n%s", step, status, diff)
			}
		}
	}
	register(t, s, scopeA, "web")
	register(t, s, scopeA, "web")
	check("registered", store.FamilyStatusActive)
	setStatus(t, s, scopeA, "web", 1, store.StatusInactive)
	check("one of two deregistered", store.FamilyStatusActive)
	setStatus(t, s, scopeA, "web", 2, store.StatusInactive)
	check("all deregistered", store.FamilyStatusInactive)
	register(t, s, scopeA, "web")
	check("registered again", store.FamilyStatusActive)
	for rev := 1; rev <= 3; rev++ {
		setStatus(t, s, scopeA, "web", rev, store.StatusDeleteInProgress)
	}
	check("all being deleted", store.FamilyStatusInactive)
	setStatus(t, s, scopeA, "web", 1, store.StatusActive)
	check("one reactivated", store.FamilyStatusActive)
	setStatus(t, s, scopeA, "web", 1, store.StatusDeleteInProgress)
	for rev := 1; rev <= 3; rev++ {
		if err := s.PurgeTaskDefinition(t.Context(), scopeA, "web", rev); err != nil {
			t.Fatalf("PurgeTaskDefinition(web:%d): %v", rev, err)
		}
	}
	check("all purged", "")
	register(t, s, scopeA, "web")
	check("registered after purge", store.FamilyStatusActive)
}

func testPurge(t *testing.T, s store.Store) {
	for rev := 1; rev <= 3; rev++ {
		register(t, s, scopeA, "web", store.Tag{Key: "rev", Value: fmt.Sprint(rev)})
	}
	purgeErr := func(scope store.Scope, family string, rev int) error {
		return s.PurgeTaskDefinition(t.Context(), scope, family, rev)
	}
	if err := purgeErr(scopeA, "web", 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("purging an ACTIVE revision: error = %v, want ErrNotFound", err)
	}
	setStatus(t, s, scopeA, "web", 1, store.StatusInactive)
	if err := purgeErr(scopeA, "web", 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("purging an INACTIVE revision: error = %v, want ErrNotFound", err)
	}
	get(t, s, scopeA, "web", 1)
	wantTags(t, s, resource(scopeA, "web", 1), []store.Tag{{Key: "rev", Value: "1"}})

	setStatus(t, s, scopeA, "web", 1, store.StatusDeleteInProgress)
	if err := purgeErr(scopeB, "web", 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("purging in another scope: error = %v, want ErrNotFound", err)
	}
	if err := purgeErr(scopeA, "web", 1); err != nil {
		t.Fatalf("PurgeTaskDefinition: %v", err)
	}
	if _, err := s.GetTaskDefinition(t.Context(), scopeA, "web", 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetTaskDefinition after purge: error = %v, want ErrNotFound", err)
	}
	if _, err := s.ListTags(t.Context(), resource(scopeA, "web", 1)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ListTags after purge: error = %v, want ErrNotFound", err)
	}
	if err := s.TagResource(t.Context(), resource(scopeA, "web", 1), []store.Tag{{Key: "k", Value: "v"}}, 50); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TagResource after purge: error = %v, want ErrNotFound", err)
	}
	if err := purgeErr(scopeA, "web", 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("purging twice: error = %v, want ErrNotFound", err)
	}
	if err := purgeErr(scopeA, "web", 99); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("purging a missing revision: error = %v, want ErrNotFound", err)
	}
	wantTags(t, s, resource(scopeA, "web", 2), []store.Tag{{Key: "rev", Value: "2"}})
	for _, status := range []string{store.StatusActive, store.StatusInactive, store.StatusDeleteInProgress} {
		got, err := s.ListTaskDefinitions(t.Context(), scopeA, store.ListTaskDefinitionsQuery{Status: status, Limit: 100})
		if err != nil {
			t.Fatalf("ListTaskDefinitions: %v", err)
		}
		if slices.Contains(got, store.TaskDefinitionKey{Family: "web", Revision: 1}) {
			t.Errorf("ListTaskDefinitions(%s) still lists the purged web:1", status)
		}
	}
	if got, err := s.TaskDefinitionsToPurge(t.Context(), t0.Add(24*time.Hour), 100); err != nil || len(got) != 0 {
		t.Errorf("TaskDefinitionsToPurge after purge = %v, %v; want none", got, err)
	}
	wantFamilies(t, s, scopeA, store.ListFamiliesQuery{Status: store.FamilyStatusActive, Limit: 10}, []string{"web"})
}

func testTaskDefinitionsToPurge(t *testing.T, s store.Store) {
	type req struct {
		scope store.Scope
		at    time.Time // zero: not DELETE_IN_PROGRESS
	}
	reqs := []req{
		{scopeA, t0},
		{scopeA, time.Time{}},
		{scopeB, t0.Add(time.Minute)},
		{scopeA, t0.Add(2 * time.Minute)},
		{scopeC, t0.Add(time.Minute)},
	}
	var want []store.TaskDefinition
	for _, r := range reqs {
		td := register(t, s, r.scope, "web")
		if r.at.IsZero() {
			setStatus(t, s, r.scope, "web", td.Revision, store.StatusInactive)
			continue
		}
		res, err := s.UpdateTaskDefinitions(t.Context(), r.scope, keys("web", td.Revision), func(cur store.TaskDefinition) (store.TaskDefinition, error) {
			cur.Status, cur.DeregisteredAt, cur.DeleteRequestedAt = store.StatusDeleteInProgress, r.at, r.at
			return cur, nil
		})
		if err != nil || res[0].Err != nil {
			t.Fatalf("UpdateTaskDefinitions: %v, %v", err, res[0].Err)
		}
		if !r.at.After(t0.Add(time.Minute)) {
			want = append(want, res[0].TaskDefinition)
		}
	}
	sortTDs := cmpopts.SortSlices(func(a, b store.TaskDefinition) bool {
		return fmt.Sprint(a.Scope, a.Family, a.Revision) < fmt.Sprint(b.Scope, b.Family, b.Revision)
	})
	// The cutoff is inclusive: t0+1m is "at or before" t0+1m.
	got, err := s.TaskDefinitionsToPurge(t.Context(), t0.Add(time.Minute), 100)
	if err != nil {
		t.Fatalf("TaskDefinitionsToPurge: %v", err)
	}
	if diff := cmp.Diff(want, got, sortTDs); diff != "" {
		t.Errorf("TaskDefinitionsToPurge (-want +got):\n%s", diff)
	}
	got, err = s.TaskDefinitionsToPurge(t.Context(), t0.Add(time.Minute), 2)
	if err != nil {
		t.Fatalf("TaskDefinitionsToPurge: %v", err)
	}
	if len(got) != 2 {
		t.Errorf("TaskDefinitionsToPurge(limit 2) returned %d", len(got))
	}
	for _, td := range got {
		if !slices.ContainsFunc(want, func(w store.TaskDefinition) bool { return cmp.Equal(w, td) }) {
			t.Errorf("TaskDefinitionsToPurge(limit 2) returned %v %s:%d, not due", td.Scope, td.Family, td.Revision)
		}
	}
	got, err = s.TaskDefinitionsToPurge(t.Context(), t0.Add(-time.Millisecond), 100)
	if err != nil || len(got) != 0 {
		t.Errorf("TaskDefinitionsToPurge before any request = %d revisions, %v; want none", len(got), err)
	}
}

func testTags(t *testing.T, s store.Store) {
	register(t, s, scopeA, "web", store.Tag{Key: "b", Value: "2"}, store.Tag{Key: "a", Value: "1"})
	register(t, s, scopeA, "web")
	web1, web2 := resource(scopeA, "web", 1), resource(scopeA, "web", 2)
	ctx := t.Context()

	wantTags(t, s, web1, []store.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}})
	wantTags(t, s, web2, nil)

	steps := []struct {
		name    string
		tag     []store.Tag
		untag   []string
		max     int
		wantErr error
		want    []store.Tag
	}{
		{name: "add and overwrite", tag: []store.Tag{{Key: "b", Value: "20"}, {Key: "c", Value: "3"}}, max: 3, want: []store.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "20"}, {Key: "c", Value: "3"}}},
		{name: "over the limit", tag: []store.Tag{{Key: "d", Value: "4"}}, max: 3, wantErr: store.ErrTooManyTags, want: []store.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "20"}, {Key: "c", Value: "3"}}},
		{name: "over the limit changes nothing", tag: []store.Tag{{Key: "a", Value: "10"}, {Key: "d", Value: "4"}}, max: 3, wantErr: store.ErrTooManyTags, want: []store.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "20"}, {Key: "c", Value: "3"}}},
		{name: "overwrite at the limit", tag: []store.Tag{{Key: "a", Value: "10"}}, max: 3, want: []store.Tag{{Key: "a", Value: "10"}, {Key: "b", Value: "20"}, {Key: "c", Value: "3"}}},
		{name: "untag, missing keys ignored", untag: []string{"c", "nope"}, want: []store.Tag{{Key: "a", Value: "10"}, {Key: "b", Value: "20"}}},
		{name: "empty value", tag: []store.Tag{{Key: "e", Value: ""}}, max: 50, want: []store.Tag{{Key: "a", Value: "10"}, {Key: "b", Value: "20"}, {Key: "e", Value: ""}}},
		{name: "untag all", untag: []string{"a", "b", "e"}, want: nil},
	}
	for _, st := range steps {
		var err error
		if st.untag != nil {
			err = s.UntagResource(ctx, web1, st.untag)
		} else {
			err = s.TagResource(ctx, web1, st.tag, st.max)
		}
		if !errors.Is(err, st.wantErr) {
			t.Errorf("%s: error = %v, want %v", st.name, err, st.wantErr)
		}
		wantTags(t, s, web1, st.want)
	}
	wantTags(t, s, web2, nil)

	// A revision's tags outlive its deregistration.
	if err := s.TagResource(ctx, web2, []store.Tag{{Key: "k", Value: "v"}}, 50); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	setStatus(t, s, scopeA, "web", 2, store.StatusInactive)
	wantTags(t, s, web2, []store.Tag{{Key: "k", Value: "v"}})

	missing := []store.Resource{
		resource(scopeA, "web", 3),
		resource(scopeA, "api", 1),
		resource(scopeB, "web", 1),
		resource(scopeC, "web", 1),
	}
	for _, r := range missing {
		if _, err := s.ListTags(ctx, r); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ListTags(%s): error = %v, want ErrNotFound", r.ARN, err)
		}
		if err := s.TagResource(ctx, r, []store.Tag{{Key: "k", Value: "v"}}, 50); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("TagResource(%s): error = %v, want ErrNotFound", r.ARN, err)
		}
		if err := s.UntagResource(ctx, r, []string{"k"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UntagResource(%s): error = %v, want ErrNotFound", r.ARN, err)
		}
	}
}

func testReset(t *testing.T, s store.Store) {
	register(t, s, scopeA, "web", store.Tag{Key: "k", Value: "v"})
	register(t, s, scopeA, "web")
	register(t, s, scopeB, "api")
	setStatus(t, s, scopeA, "web", 2, store.StatusDeleteInProgress)

	if err := s.Reset(t.Context()); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if _, err := s.GetTaskDefinition(t.Context(), scopeA, "web", 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetTaskDefinition after Reset: error = %v, want ErrNotFound", err)
	}
	for _, scope := range []store.Scope{scopeA, scopeB} {
		wantKeys(t, s, scope, store.ListTaskDefinitionsQuery{Status: store.StatusActive, Limit: 10}, nil)
		wantFamilies(t, s, scope, store.ListFamiliesQuery{Status: store.FamilyStatusAll, Limit: 10}, nil)
	}
	if got, err := s.TaskDefinitionsToPurge(t.Context(), t0.Add(24*time.Hour), 10); err != nil || len(got) != 0 {
		t.Errorf("TaskDefinitionsToPurge after Reset = %v, %v; want none", got, err)
	}
	if td := register(t, s, scopeA, "web"); td.Revision != 1 {
		t.Errorf("first revision after Reset = %d, want 1", td.Revision)
	}
	wantTags(t, s, resource(scopeA, "web", 1), nil)
}

func testBodyRoundTrip(t *testing.T, s store.Store) {
	big := make([]byte, 1<<20)
	r := rand.NewChaCha8([32]byte{1})
	r.Read(big)
	bodies := []struct {
		name string
		body []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"json", []byte(`{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:1.27","essential":true}],"cpu":"256"}`)},
		{"unicode", []byte(`{"name":"ünïcødé ✓ 日本"}`)},
		{"binary", []byte{0, 1, 0xff, 0xfe, 0, '\'', '"', '\\', 0x80}},
		{"1MiB random", big},
	}
	for _, b := range bodies {
		t.Run(b.name, func(t *testing.T) {
			family := "body-" + strings.ReplaceAll(b.name, " ", "-")
			td, err := s.RegisterTaskDefinition(t.Context(), store.TaskDefinition{Scope: scopeA, Family: family, RegisteredAt: t0, Body: b.body}, nil)
			if err != nil {
				t.Fatalf("RegisterTaskDefinition: %v", err)
			}
			if !bytes.Equal(td.Body, b.body) {
				t.Errorf("returned body differs (%d bytes, want %d)", len(td.Body), len(b.body))
			}
			got := get(t, s, scopeA, family, td.Revision)
			if !bytes.Equal(got.Body, b.body) {
				t.Errorf("stored body differs (%d bytes, want %d)", len(got.Body), len(b.body))
			}
		})
	}
}

func testCanceledContext(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.RegisterTaskDefinition(ctx, newTD(scopeA, "web"), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("RegisterTaskDefinition with a canceled context: error = %v, want context.Canceled", err)
	}
	if _, err := s.ListTaskDefinitions(ctx, scopeA, store.ListTaskDefinitionsQuery{Status: store.StatusActive, Limit: 10}); !errors.Is(err, context.Canceled) {
		t.Errorf("ListTaskDefinitions with a canceled context: error = %v, want context.Canceled", err)
	}
	if td := register(t, s, scopeA, "web"); td.Revision != 1 {
		t.Errorf("revision after a canceled registration = %d, want 1", td.Revision)
	}
}

// Helpers.

func body(family string) []byte {
	return []byte(`{"family":"` + family + `","containerDefinitions":[{"name":"app","image":"nginx"}]}`)
}

func newTD(scope store.Scope, family string) store.TaskDefinition {
	return store.TaskDefinition{Scope: scope, Family: family, RegisteredAt: t0, Body: body(family)}
}

// activeTD is what the store holds for a revision registered with newTD.
func activeTD(scope store.Scope, family string, rev int) store.TaskDefinition {
	td := newTD(scope, family)
	td.Revision, td.Status = rev, store.StatusActive
	return td
}

func register(t *testing.T, s store.Store, scope store.Scope, family string, tags ...store.Tag) store.TaskDefinition {
	t.Helper()
	td, err := s.RegisterTaskDefinition(t.Context(), newTD(scope, family), tags)
	if err != nil {
		t.Fatalf("RegisterTaskDefinition(%s): %v", family, err)
	}
	return td
}

func get(t *testing.T, s store.Store, scope store.Scope, family string, rev int) store.TaskDefinition {
	t.Helper()
	td, err := s.GetTaskDefinition(t.Context(), scope, family, rev)
	if err != nil {
		t.Fatalf("GetTaskDefinition(%s:%d): %v", family, rev, err)
	}
	return td
}

func setStatusFunc(status string) store.UpdateFunc {
	return func(cur store.TaskDefinition) (store.TaskDefinition, error) {
		cur.Status = status
		switch status {
		case store.StatusActive:
			cur.DeregisteredAt, cur.DeleteRequestedAt = time.Time{}, time.Time{}
		case store.StatusInactive:
			cur.DeregisteredAt, cur.DeleteRequestedAt = t0.Add(time.Hour), time.Time{}
		case store.StatusDeleteInProgress:
			cur.DeregisteredAt, cur.DeleteRequestedAt = t0.Add(time.Hour), t0.Add(2*time.Hour)
		}
		return cur, nil
	}
}

func setStatus(t *testing.T, s store.Store, scope store.Scope, family string, rev int, status string) {
	t.Helper()
	res, err := s.UpdateTaskDefinitions(t.Context(), scope, keys(family, rev), setStatusFunc(status))
	if err != nil {
		t.Fatalf("UpdateTaskDefinitions(%s:%d -> %s): %v", family, rev, status, err)
	}
	if res[0].Err != nil {
		t.Fatalf("UpdateTaskDefinitions(%s:%d -> %s): %v", family, rev, status, res[0].Err)
	}
}

func purge(t *testing.T, s store.Store, scope store.Scope, family string, rev int) {
	t.Helper()
	setStatus(t, s, scope, family, rev, store.StatusDeleteInProgress)
	if err := s.PurgeTaskDefinition(t.Context(), scope, family, rev); err != nil {
		t.Fatalf("PurgeTaskDefinition(%s:%d): %v", family, rev, err)
	}
}

func cursor(family string, rev int) *store.TaskDefinitionKey {
	return &store.TaskDefinitionKey{Family: family, Revision: rev}
}

func keys(family string, rev int) []store.TaskDefinitionKey {
	return []store.TaskDefinitionKey{{Family: family, Revision: rev}}
}

func keysOf(family string, revs ...int) []store.TaskDefinitionKey {
	ks := make([]store.TaskDefinitionKey, len(revs))
	for i, r := range revs {
		ks[i] = store.TaskDefinitionKey{Family: family, Revision: r}
	}
	return ks
}

func reversed[T any](s []T) []T {
	s = slices.Clone(s)
	slices.Reverse(s)
	return s
}

func resource(scope store.Scope, family string, rev int) store.Resource {
	return store.Resource{
		Scope:          scope,
		ARN:            store.TaskDefinitionARN(scope, family, rev),
		TaskDefinition: &store.TaskDefinitionKey{Family: family, Revision: rev},
	}
}

func wantKeys(t *testing.T, s store.Store, scope store.Scope, q store.ListTaskDefinitionsQuery, want []store.TaskDefinitionKey) {
	t.Helper()
	got, err := s.ListTaskDefinitions(t.Context(), scope, q)
	if err != nil {
		t.Fatalf("ListTaskDefinitions(%+v): %v", q, err)
	}
	if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
		t.Errorf("ListTaskDefinitions(%+v) (-want +got):\n%s", q, diff)
	}
}

func wantFamilies(t *testing.T, s store.Store, scope store.Scope, q store.ListFamiliesQuery, want []string) {
	t.Helper()
	got, err := s.ListTaskDefinitionFamilies(t.Context(), scope, q)
	if err != nil {
		t.Fatalf("ListTaskDefinitionFamilies(%+v): %v", q, err)
	}
	if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
		t.Errorf("ListTaskDefinitionFamilies(%+v) (-want +got):\n%s", q, diff)
	}
}

func wantTags(t *testing.T, s store.Store, r store.Resource, want []store.Tag) {
	t.Helper()
	got, err := s.ListTags(t.Context(), r)
	if err != nil {
		t.Fatalf("ListTags(%s): %v", r.ARN, err)
	}
	if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
		t.Errorf("ListTags(%s) (-want +got):\n%s", r.ARN, diff)
	}
}

// listAll pages through q with the given page size, checking that no page
// exceeds it, and returns every key.
func listAll(t *testing.T, s store.Store, scope store.Scope, q store.ListTaskDefinitionsQuery, limit int) []store.TaskDefinitionKey {
	t.Helper()
	q.Limit = limit
	var all []store.TaskDefinitionKey
	for range 10_000 {
		page, err := s.ListTaskDefinitions(t.Context(), scope, q)
		if err != nil {
			t.Fatalf("ListTaskDefinitions(%+v): %v", q, err)
		}
		if len(page) > limit {
			t.Fatalf("ListTaskDefinitions(%+v) returned %d keys", q, len(page))
		}
		all = append(all, page...)
		if len(page) < limit {
			return all
		}
		last := page[len(page)-1]
		q.After = &last
	}
	t.Fatalf("ListTaskDefinitions(%+v) never ran out of pages", q)
	return nil
}
