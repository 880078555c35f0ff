package capacity

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

func TestDistribute(t *testing.T) {
	tests := []struct {
		name     string
		strategy []StrategyItem
		n        int
		running  map[string]int
		want     []int
	}{
		{
			// "You have a strategy that contains two capacity providers,
			// and both have a weight of 1. When the base percentage is
			// reached, the tasks are split evenly across the two capacity
			// providers." (developer guide, capacity providers)
			name:     "equal weights split evenly",
			strategy: []StrategyItem{{Provider: "A", Weight: 1}, {Provider: "B", Weight: 1}},
			n:        10, want: []int{5, 5},
		},
		{
			// "suppose that you specify a weight of 1 for capacityProviderA
			// and a weight of 4 for capacityProviderB. Then, for every one
			// task that's run using capacityProviderA, there are four tasks
			// that use capacityProviderB."
			name:     "weights 1 and 4",
			strategy: []StrategyItem{{Provider: "A", Weight: 1}, {Provider: "B", Weight: 4}},
			n:        10, want: []int{2, 8},
		},
		{
			// base "designates how many tasks, at a minimum, to run on the
			// specified capacity provider"; weight "is taken into
			// consideration after the base value, if defined, is
			// satisfied".
			name:     "base first, then weight",
			strategy: []StrategyItem{{Provider: "FARGATE", Base: 2, Weight: 1}, {Provider: "FARGATE_SPOT", Weight: 3}},
			n:        10, want: []int{2 + 2, 6},
		},
		{
			name:     "fewer tasks than the base",
			strategy: []StrategyItem{{Provider: "A", Weight: 1}, {Provider: "B", Base: 3, Weight: 1}},
			n:        2, want: []int{0, 2},
		},
		{
			// "any capacity providers with a weight of zero aren't used to
			// place tasks"
			name:     "weight 0 takes nothing beyond its base",
			strategy: []StrategyItem{{Provider: "A", Base: 1, Weight: 0}, {Provider: "B", Weight: 1}},
			n:        5, want: []int{1, 4},
		},
		{
			name:     "a single provider takes every task, whatever its weight",
			strategy: []StrategyItem{{Provider: "A"}},
			n:        3, want: []int{3},
		},
		{
			// A service scaling out counts what already runs: 6 on A and 0
			// on B with weights 1:1 sends the next four to B... then
			// alternates.
			name:     "a service's running tasks count",
			strategy: []StrategyItem{{Provider: "A", Weight: 1}, {Provider: "B", Weight: 1}},
			n:        8, running: map[string]int{"A": 6}, want: []int{1, 7},
		},
		{
			name:     "the base is already met by running tasks",
			strategy: []StrategyItem{{Provider: "A", Base: 2, Weight: 1}, {Provider: "B", Weight: 1}},
			n:        2, running: map[string]int{"A": 2}, want: []int{1, 1},
		},
		{
			name:     "ties go to the earlier provider",
			strategy: []StrategyItem{{Provider: "A", Weight: 2}, {Provider: "B", Weight: 2}},
			n:        1, want: []int{1, 0},
		},
		{name: "nothing to place", strategy: []StrategyItem{{Provider: "A", Weight: 1}}, n: 0, want: []int{0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Distribute(tc.strategy, tc.n, tc.running)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := Distribute([]StrategyItem{{Provider: "A"}, {Provider: "B", Base: 2}}, 1, nil); !errors.Is(err, ErrNoWeight) {
		t.Errorf("all weights 0: %v", err)
	}
}

func TestStrategyFrom(t *testing.T) {
	a := "A"
	got := StrategyFrom([]types.CapacityProviderStrategyItem{{CapacityProvider: &a, Base: 1, Weight: 2}})
	if diff := cmp.Diff([]StrategyItem{{Provider: "A", Base: 1, Weight: 2}}, got); diff != "" {
		t.Error(diff)
	}
}

// TestDistributeProperties: every task goes somewhere, bases are met
// first, weight-0 providers get nothing beyond their base, and the weighted
// shares stay within one task of their exact proportion.
func TestDistributeProperties(t *testing.T) {
	for seed := range uint64(2000) {
		r := rand.New(rand.NewPCG(seed, 1))
		k := 2 + r.IntN(5)
		strategy := make([]StrategyItem, k)
		baseAt := -1
		if r.IntN(2) == 0 {
			baseAt = r.IntN(k)
		}
		for i := range strategy {
			strategy[i] = StrategyItem{Provider: string(rune('A' + i)), Weight: r.IntN(5)}
			if i == baseAt {
				strategy[i].Base = 1 + r.IntN(5)
			}
		}
		strategy[r.IntN(k)].Weight = 1 + r.IntN(5)
		n := r.IntN(60)
		got, err := Distribute(strategy, n, nil)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		total, weightSum, weighted := 0, 0, 0
		for i, s := range strategy {
			total += got[i]
			weightSum += s.Weight
			if s.Weight == 0 && got[i] > s.Base {
				t.Fatalf("seed %d: weight-0 provider %s got %d (base %d)", seed, s.Provider, got[i], s.Base)
			}
			weighted += max(0, got[i]-s.Base)
		}
		if total != n {
			t.Fatalf("seed %d: %v places %d of %d", seed, got, total, n)
		}
		if baseAt >= 0 && got[baseAt] < min(n, strategy[baseAt].Base) {
			t.Fatalf("seed %d: base provider got %d, base %d, n %d", seed, got[baseAt], strategy[baseAt].Base, n)
		}
		for i, s := range strategy {
			if s.Weight == 0 {
				continue
			}
			exact := float64(weighted) * float64(s.Weight) / float64(weightSum)
			if d := float64(max(0, got[i]-s.Base)) - exact; d > 1 || d < -1 {
				t.Fatalf("seed %d: %s has %d weighted tasks, exact share %.2f (%v over %v)", seed, s.Provider, got[i]-s.Base, exact, got, strategy)
			}
		}
	}
}

func TestRemove(t *testing.T) {
	strategy := []StrategyItem{{Provider: "A", Base: 2, Weight: 1}, {Provider: "B", Weight: 3}}
	// 2 base + 2 weighted on A, 6 on B, 3 left on a provider the strategy
	// dropped: those go first, then the most over-share, the base last.
	fromStrategy, fromOthers := Remove(strategy, 12, map[string]int{"A": 4, "B": 6, "OLD": 3})
	if diff := cmp.Diff(map[string]int{"OLD": 3}, fromOthers); diff != "" {
		t.Errorf("others: %s", diff)
	}
	if diff := cmp.Diff([]int{3, 6}, fromStrategy); diff != "" {
		t.Errorf("strategy: %s", diff)
	}
	fromStrategy, _ = Remove(strategy, 4, map[string]int{"A": 4, "B": 6})
	left := []int{4 - fromStrategy[0], 6 - fromStrategy[1]}
	if diff := cmp.Diff([]int{3, 3}, left); diff != "" {
		t.Errorf("after removing 4 of 10 (base 2, 1:3): left %v, removed %v", left, fromStrategy)
	}
}
