package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ecsd/ecsd/internal/store"
)

// testCapacityProviders: records round-trip, names are per scope, status
// filters, AllCapacityProviders spans scopes with ACTIVE ones only, tags
// need the record, and Reset clears them.
func testCapacityProviders(t *testing.T, s store.Store) {
	ctx := context.Background()
	at := time.UnixMilli(1_700_000_000_000).UTC()
	a := store.CapacityProvider{Scope: scopeA, Name: "cp-a", Status: store.CapacityProviderActive, AutoScalingGroupARN: "asg-a", Body: []byte(`{"name":"cp-a"}`), Group: []byte(`{"name":"asg-a"}`)}
	b := store.CapacityProvider{Scope: scopeA, Name: "cp-b", Status: store.CapacityProviderInactive, AutoScalingGroupARN: "asg-b", DeleteRequestedAt: at, Body: []byte(`{}`), Group: []byte(`{}`)}
	c := store.CapacityProvider{Scope: scopeB, Name: "cp-a", Status: store.CapacityProviderActive, AutoScalingGroupARN: "asg-c", Body: []byte(`{}`), Group: []byte(`{}`)}
	if err := s.Update(ctx, func(tx store.Tx) error {
		for _, cp := range []store.CapacityProvider{a, b, c} {
			if err := tx.PutCapacityProvider(cp); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "round trip", b, read(t, s, func(tx store.ReadTx) (store.CapacityProvider, error) { return tx.CapacityProvider(scopeA, "cp-b") }))
	names := func(cps []store.CapacityProvider) []string {
		var out []string
		for _, cp := range cps {
			out = append(out, cp.Account+"/"+cp.Name)
		}
		return out
	}
	wantEqual(t, "scope A", []string{scopeA.Account + "/cp-a", scopeA.Account + "/cp-b"},
		names(read(t, s, func(tx store.ReadTx) ([]store.CapacityProvider, error) { return tx.CapacityProviders(scopeA, "") })))
	wantEqual(t, "scope A INACTIVE", []string{scopeA.Account + "/cp-b"},
		names(read(t, s, func(tx store.ReadTx) ([]store.CapacityProvider, error) {
			return tx.CapacityProviders(scopeA, store.CapacityProviderInactive)
		})))
	if got := read(t, s, func(tx store.ReadTx) ([]store.CapacityProvider, error) { return tx.AllCapacityProviders() }); len(got) != 2 {
		t.Errorf("AllCapacityProviders = %v, want the two ACTIVE ones", names(got))
	}
	_, err := read2(s, func(tx store.ReadTx) (store.CapacityProvider, error) { return tx.CapacityProvider(scopeB, "cp-b") })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another scope's provider: %v, want ErrNotFound", err)
	}
	arn := store.CapacityProviderARN(scopeA, "cp-a")
	if err := s.TagResource(ctx, store.Resource{Scope: scopeA, ARN: arn, CapacityProvider: "cp-a"}, []store.Tag{{Key: "k", Value: "v"}}, 50); err != nil {
		t.Fatal(err)
	}
	if err := s.TagResource(ctx, store.Resource{Scope: scopeA, ARN: "x", CapacityProvider: "nope"}, []store.Tag{{Key: "k"}}, 50); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tagging a missing provider: %v, want ErrNotFound", err)
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if got := read(t, s, func(tx store.ReadTx) ([]store.CapacityProvider, error) { return tx.AllCapacityProviders() }); len(got) != 0 {
		t.Errorf("after Reset: %v", names(got))
	}
}

func read2[T any](s store.Store, fn func(tx store.ReadTx) (T, error)) (T, error) {
	var out T
	err := s.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	return out, err
}
