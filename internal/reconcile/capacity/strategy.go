// Package capacity holds the pure arithmetic of ECS capacity providers: how
// a capacity provider strategy splits tasks between providers (base, then
// weight), and how managed scaling sizes an Auto Scaling group from the
// CapacityProviderReservation metric (targetCapacity, minimum and maximum
// scaling step sizes, instance warm-up, scale-in with managed termination
// protection and managed draining).
//
// Like the rest of reconcile it must import only the domain, the SDK's
// model types, its sibling pure packages and the standard library: no
// store, no clock (the time is an input), no I/O.
package capacity

import (
	"errors"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// StrategyItem is one capacity provider of a strategy.
type StrategyItem struct {
	Provider     string
	Base, Weight int
}

// StrategyFrom converts a request's or a cluster's strategy.
func StrategyFrom(items []types.CapacityProviderStrategyItem) []StrategyItem {
	out := make([]StrategyItem, len(items))
	for i, it := range items {
		if it.CapacityProvider != nil {
			out[i].Provider = *it.CapacityProvider
		}
		out[i].Base, out[i].Weight = int(it.Base), int(it.Weight)
	}
	return out
}

// ErrNoWeight is returned for a strategy of several providers that all
// have weight 0: "If you specify multiple capacity providers in a strategy
// that all have a weight of 0, any RunTask or CreateService actions using
// the capacity provider strategy will fail." [V API reference,
// CapacityProviderStrategyItem]. The API layer validates strategies first
// (ecs.ValidateStrategy); this guards the arithmetic.
var ErrNoWeight = errors.New("capacity: every provider of the strategy has weight 0")

// Distribute returns how many of n new tasks go to each provider of the
// strategy, in the strategy's order, given how many tasks of the same
// service already run on each provider (nil for RunTask). ECS's rules [V
// API reference, CapacityProviderStrategyItem; developer guide, "Amazon ECS
// capacity providers"]:
//
//   - base: "how many tasks, at a minimum, to run on the specified capacity
//     provider"; "Only one capacity provider in a capacity provider strategy
//     can have a base defined"; "Base requirements are satisfied first
//     before weight distribution";
//   - weight: "the relative percentage of the total number of tasks
//     launched that should use the specified capacity provider. The weight
//     value is taken into consideration after the base value, if defined,
//     is satisfied." "If capacityProviderA has weight 1 and
//     capacityProviderB has weight 4, then for every 1 task on A, 4 tasks
//     will run on B."; "capacity providers with a weight of 0 can't be used
//     to place tasks" when several providers are given.
//
// Tasks are handed out one at a time: to the base provider until it runs
// its base, then to the weighted provider furthest below its exact share
// (the base provider's base tasks do not count towards its share), earlier
// providers first on a tie; every weighted provider stays within one task
// of its exact share [I: the interleaving is not documented]. A
// strategy of a single provider takes every task whatever its weight [I:
// the zero-weight rule is stated for several providers].
func Distribute(strategy []StrategyItem, n int, running map[string]int) ([]int, error) {
	out := make([]int, len(strategy))
	if n <= 0 || len(strategy) == 0 {
		return out, nil
	}
	if len(strategy) == 1 {
		out[0] = n
		return out, nil
	}
	have := make([]int, len(strategy))
	weighted := false
	for i, s := range strategy {
		have[i] = running[s.Provider]
		weighted = weighted || s.Weight > 0
	}
	if !weighted {
		return nil, ErrNoWeight
	}
	for range n {
		i := next(strategy, have)
		have[i]++
		out[i]++
	}
	return out, nil
}

// next picks the provider of the next task: the base provider while it is
// short of its base, then the weighted provider with the largest deficit
// against its exact share of the weighted tasks once this one is added,
// (T+1)·w/W − share. Picking the largest deficit keeps every provider
// within one task of its exact share.
func next(strategy []StrategyItem, have []int) int {
	for i, s := range strategy {
		if s.Base > 0 && have[i] < s.Base {
			return i
		}
	}
	total, weights := 0, 0
	for i, s := range strategy {
		if s.Weight > 0 {
			total += share(s, have[i])
			weights += s.Weight
		}
	}
	best, bestDeficit := -1, 0
	for i, s := range strategy {
		if s.Weight <= 0 {
			continue
		}
		// The deficit scaled by W, to stay in integers.
		d := (total+1)*s.Weight - weights*share(s, have[i])
		if best < 0 || d > bestDeficit {
			best, bestDeficit = i, d
		}
	}
	return best
}

// share is how many of a provider's tasks count towards its weight.
func share(s StrategyItem, have int) int { return max(0, have-s.Base) }

// Remove returns how many of the running tasks to stop on each provider
// when a service scales in by n: first those on providers the strategy no
// longer names (in otherProviders, returned separately) and on weight-0
// providers, then from the weighted provider furthest above its share, and
// the base provider's base tasks last — the reverse of Distribute [I: ECS
// documents how it places by strategy, not how it scales in by it].
func Remove(strategy []StrategyItem, n int, running map[string]int) (fromStrategy []int, fromOthers map[string]int) {
	fromStrategy = make([]int, len(strategy))
	fromOthers = map[string]int{}
	have := make([]int, len(strategy))
	named := map[string]bool{}
	for i, s := range strategy {
		have[i] = running[s.Provider]
		named[s.Provider] = true
	}
	var others []string
	for p, c := range running {
		if !named[p] && c > 0 {
			others = append(others, p)
		}
	}
	slices.Sort(others)
	left := map[string]int{}
	for _, p := range others {
		left[p] = running[p]
	}
	for range n {
		if i := removeFromOthers(others, left); i >= 0 {
			fromOthers[others[i]]++
			left[others[i]]--
			continue
		}
		i := pickRemoval(strategy, have)
		if i < 0 {
			break
		}
		have[i]--
		fromStrategy[i]++
	}
	return fromStrategy, fromOthers
}

func removeFromOthers(others []string, left map[string]int) int {
	for i, p := range others {
		if left[p] > 0 {
			return i
		}
	}
	return -1
}

func pickRemoval(strategy []StrategyItem, have []int) int {
	// Weight-0 providers hold no share at all.
	for i, s := range strategy {
		if s.Weight == 0 && have[i] > s.Base {
			return i
		}
	}
	best := -1
	for i, s := range strategy {
		if s.Weight <= 0 || share(s, have[i]) == 0 {
			continue
		}
		// The provider most over its share: largest share_i/w_i.
		if best < 0 || share(s, have[i])*strategy[best].Weight > share(strategy[best], have[best])*s.Weight {
			best = i
		}
	}
	if best >= 0 {
		return best
	}
	for i := len(strategy) - 1; i >= 0; i-- {
		if have[i] > 0 {
			return i
		}
	}
	return -1
}
