package storetest

import (
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/store"
)

// testRetriedTransaction forces one retry of each kind of write and checks
// that only the committed run counts: a read-modify-write is applied once,
// a registration takes one revision number (no gap), and a status change
// moves the family's ACTIVE count once.
func testRetriedTransaction(t *testing.T, s store.Store, h Hooks) {
	if h.FailNextCommit == nil {
		t.Fatal("the backend gives the suite no Hooks.FailNextCommit: every backend must be able to force a retry")
	}
	counter := func(n int) store.Cluster {
		c := clusterRec(scopeA, "counter", store.ClusterActive)
		c.Body = []byte(strconv.Itoa(n))
		return c
	}
	put(t, s, counter(0))

	h.FailNextCommit(s)
	runs := 0
	err := s.Update(t.Context(), func(tx store.Tx) error {
		runs++ // counting runs is this test's only side effect, and its point
		c, err := tx.Cluster(scopeA, "counter")
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(string(c.Body))
		if err != nil {
			return err
		}
		return tx.PutCluster(counter(n + 1))
	})
	if err != nil {
		t.Fatalf("Update with a forced retry: %v", err)
	}
	if runs != 2 {
		t.Errorf("fn ran %d times with one forced retry, want 2", runs)
	}
	got := read(t, s, func(tx store.ReadTx) (store.Cluster, error) { return tx.Cluster(scopeA, "counter") })
	if string(got.Body) != "1" {
		t.Errorf("counter = %s after one retried increment, want 1", got.Body)
	}

	// Registration: the retried run must not leave a revision behind.
	h.FailNextCommit(s)
	if td := register(t, s, scopeA, "web"); td.Revision != 1 {
		t.Errorf("first revision registered with a forced retry = %d, want 1", td.Revision)
	}
	if td := register(t, s, scopeA, "web"); td.Revision != 2 {
		t.Errorf("next revision = %d, want 2", td.Revision)
	}
	keys, err := s.ListTaskDefinitions(t.Context(), scopeA, store.ListTaskDefinitionsQuery{Status: store.StatusActive, Limit: 10})
	if err != nil {
		t.Fatalf("ListTaskDefinitions: %v", err)
	}
	if diff := cmp.Diff([]store.TaskDefinitionKey{{Family: "web", Revision: 1}, {Family: "web", Revision: 2}}, keys); diff != "" {
		t.Errorf("revisions after a retried registration (-want +got):\n%s", diff)
	}

	// UpdateTaskDefinitions: deregistering both revisions under a retry
	// must count each out of ACTIVE once, so that one new registration
	// makes the family ACTIVE again.
	h.FailNextCommit(s)
	calls := 0
	res, err := s.UpdateTaskDefinitions(t.Context(), scopeA,
		[]store.TaskDefinitionKey{{Family: "web", Revision: 1}, {Family: "web", Revision: 2}},
		func(cur store.TaskDefinition) (store.TaskDefinition, error) {
			calls++
			cur.Status = store.StatusInactive
			cur.DeregisteredAt = t0
			return cur, nil
		})
	if err != nil {
		t.Fatalf("UpdateTaskDefinitions with a forced retry: %v", err)
	}
	for i, r := range res {
		if r.Err != nil || r.TaskDefinition.Status != store.StatusInactive {
			t.Errorf("result %d = %+v, want INACTIVE without error", i, r)
		}
	}
	if calls != 4 {
		t.Errorf("UpdateFunc ran %d times for two keys and one forced retry, want 4", calls)
	}
	families := func(status string) []string {
		t.Helper()
		fs, err := s.ListTaskDefinitionFamilies(t.Context(), scopeA, store.ListFamiliesQuery{Status: status, Limit: 10})
		if err != nil {
			t.Fatalf("ListTaskDefinitionFamilies(%s): %v", status, err)
		}
		return fs
	}
	if got := families(store.FamilyStatusInactive); !cmp.Equal(got, []string{"web"}) {
		t.Errorf("INACTIVE families after deregistering every revision = %q, want [web]", got)
	}
	if td := register(t, s, scopeA, "web"); td.Revision != 3 {
		t.Errorf("revision after the retried deregistration = %d, want 3", td.Revision)
	}
	if got := families(store.FamilyStatusActive); !cmp.Equal(got, []string{"web"}) {
		t.Errorf("ACTIVE families after registering web:3 = %q, want [web] (the retry counted a revision out twice)", got)
	}
}
