package placement

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

// scenario is a random placement request over a small random cluster, sized
// so that resources, ports, GPUs and constraints all run out now and then.
func scenario(r *rand.Rand) Input {
	zones := []string{"us-east-1a", "us-east-1b", "us-east-1c"}
	var instances []Instance
	for i := range 1 + r.IntN(12) {
		in := Instance{
			ARN:            arnPrefix + fmt.Sprintf("i%02d", r.IntN(100)) + strconv.Itoa(i),
			Status:         StatusActive,
			AgentConnected: r.IntN(10) > 0,
			Attributes:     map[string]string{AttrAvailabilityZone: zones[r.IntN(len(zones))]},
			Remaining: Resources{
				CPU: 256 * r.IntN(17), Memory: 512 * r.IntN(17),
				PortsTCP: []int{22, 2375}, PortsUDP: []int{},
			},
			DynamicPorts: PortRange{49153, 49153 + r.IntN(6)},
		}
		switch r.IntN(10) {
		case 0:
			in.Status = StatusDraining
		case 1:
			in.Status = "REGISTERING"
		}
		if c := r.IntN(3); c > 0 {
			in.Attributes["color"] = []string{"", "red", "blue"}[c]
		}
		if r.IntN(3) == 0 {
			in.Remaining.GPUs = []string{}
			for g := range r.IntN(4) {
				in.Remaining.GPUs = append(in.Remaining.GPUs, "GPU-"+strconv.Itoa(g))
			}
		}
		for range r.IntN(3) {
			in.Remaining.PortsTCP = append(in.Remaining.PortsTCP, 8000+r.IntN(4))
		}
		for t := range r.IntN(4) {
			task := Task{ARN: in.ARN + "/t" + strconv.Itoa(t), Group: []string{"g", "other"}[r.IntN(2)]}
			if r.IntN(2) == 0 {
				task.HostPorts = []HostPort{{49153 + r.IntN(4), []Protocol{TCP, UDP}[r.IntN(2)]}}
			}
			in.Tasks = append(in.Tasks, task)
		}
		instances = append(instances, in)
	}
	req := Requirements{CPU: 128 * r.IntN(9), Memory: 256 * r.IntN(9), GPUs: r.IntN(3) * r.IntN(2)}
	for range r.IntN(3) {
		m := PortMapping{Container: "c", ContainerPort: 80, Count: 1, Protocol: []Protocol{TCP, UDP}[r.IntN(2)]}
		if r.IntN(2) == 0 {
			m.HostPort = 8000 + r.IntN(6)
		}
		if r.IntN(6) == 0 {
			m.ContainerPort, m.ContainerPortRange, m.Count = 0, "9000-9001", 2
		}
		req.Ports = append(req.Ports, m)
	}
	if r.IntN(4) == 0 {
		req.Attributes = []Attribute{{Name: "color"}}
	}
	pool := []Strategy{
		binpack(FieldCPU), binpack(FieldMemory), spread(FieldInstanceID),
		spread("attribute:" + AttrAvailabilityZone), spread("attribute:color"), {Type: types.PlacementStrategyTypeRandom},
	}
	var strategies []Strategy
	for range r.IntN(4) {
		strategies = append(strategies, pool[r.IntN(len(pool))])
	}
	var constraints []Constraint
	if r.IntN(3) == 0 {
		constraints = append(constraints, DistinctInstance())
	}
	if r.IntN(3) == 0 {
		constraints = append(constraints, MemberOf("attribute:color != blue", PredicateFunc(func(in *Instance) bool { return in.Attributes["color"] != "blue" })))
	}
	return Input{Instances: instances, Requirements: req, Count: 1 + r.IntN(15), Group: "g", Strategies: strategies, Constraints: constraints}
}

// ref is an independent model of one instance, replayed placement by
// placement to check the engine.
type ref struct {
	in         *Instance
	cpu, mem   int
	gpus       []string
	used       [2]map[int]bool
	reserved   [2]int
	group      int
	startCPU   int
	startMem   int
	placedHere int
}

func newRefs(instances []Instance, group string) []*ref {
	out := make([]*ref, len(instances))
	for i := range instances {
		in := &instances[i]
		r := &ref{in: in, cpu: in.Remaining.CPU, mem: in.Remaining.Memory, gpus: slices.Clone(in.Remaining.GPUs), startCPU: in.Remaining.CPU, startMem: in.Remaining.Memory}
		for p, list := range [2][]int{in.Remaining.PortsTCP, in.Remaining.PortsUDP} {
			r.used[p] = map[int]bool{}
			for _, port := range list {
				r.used[p][port] = true
			}
			r.reserved[p] = len(r.used[p])
		}
		for _, t := range in.Tasks {
			if t.Group == group {
				r.group++
			}
			for _, hp := range t.HostPorts {
				r.used[proto(hp.Protocol)][hp.Port] = true
			}
		}
		out[i] = r
	}
	return out
}

// fits decides feasibility from scratch, without the engine's caches.
func (r *ref) fits(in Input) bool {
	req := in.Requirements
	if r.in.Status != StatusActive || !r.in.AgentConnected || r.cpu < req.CPU || r.mem < req.Memory || len(r.gpus) < req.GPUs {
		return false
	}
	for _, a := range req.Attributes {
		if v, ok := r.in.Attributes[a.Name]; !ok || (a.Value != nil && *a.Value != v) {
			return false
		}
	}
	dr := r.in.dynamicRange()
	for p, pr := range [2]Protocol{TCP, UDP} {
		static := req.StaticPorts(pr)
		if r.reserved[p]+len(static) > MaxReservedPorts {
			return false
		}
		taken := map[int]bool{}
		for _, s := range static {
			if r.used[p][s] || taken[s] {
				return false
			}
			taken[s] = true
		}
		for _, m := range req.Ports {
			if m.Protocol != pr || !m.Dynamic() {
				continue
			}
			found := false
			for first := dr.First; first+m.Count-1 <= dr.Last && !found; first++ {
				ok := true
				for q := first; q < first+m.Count; q++ {
					ok = ok && !r.used[p][q] && !taken[q]
				}
				if ok {
					found = true
					for q := first; q < first+m.Count; q++ {
						taken[q] = true
					}
				}
			}
			if !found {
				return false
			}
		}
	}
	for _, c := range in.Constraints {
		if c.Type == types.PlacementConstraintTypeDistinctInstance && r.group > 0 {
			return false
		}
		if c.Type == types.PlacementConstraintTypeMemberOf && !c.Predicate.Match(r.in) {
			return false
		}
	}
	return true
}

// checkPlacement replays a result against the model and reports every
// violated property.
func checkPlacement(t *testing.T, seed uint64, in Input, res Result) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d: "+format, append([]any{seed}, args...)...)
	}
	if len(res.Outcomes) != in.Count {
		fail("%d outcomes for %d tasks", len(res.Outcomes), in.Count)
	}
	refs := newRefs(in.Instances, in.Group)
	byARN := map[string]*ref{}
	for _, r := range refs {
		byARN[r.in.ARN] = r
	}
	zoneCount := func(attr, v string) int {
		n := 0
		for _, r := range refs {
			if r.in.Attributes[attr] == v {
				n += r.group
			}
		}
		return n
	}
	for k, o := range res.Outcomes {
		var feasible []*ref
		active := false
		for _, r := range refs {
			active = active || r.in.Status == StatusActive
			if r.fits(in) {
				feasible = append(feasible, r)
			}
		}
		if o.Failure != nil {
			if len(feasible) > 0 {
				fail("task %d failed (%+v) but %s fits", k, *o.Failure, feasible[0].in.ARN)
			}
			if o.Failure.NoInstances == active {
				fail("task %d: NoInstances=%v with ACTIVE instances=%v", k, o.Failure.NoInstances, active)
			}
			if !active {
				continue
			}
			if r := byARN[o.Failure.InstanceARN]; r == nil || r.in.Status != StatusActive || !slices.Contains(stages[:], o.Failure.Reason) {
				fail("task %d: failure %+v names no ACTIVE instance or no known reason", k, *o.Failure)
			}
			continue
		}
		p := o.Placement
		chosen := byARN[p.InstanceARN]
		if chosen == nil || !slices.Contains(feasible, chosen) {
			fail("task %d went to %s, which does not fit", k, p.InstanceARN)
		}
		// The strategies, in order, each keep the best of the field; the
		// chosen instance must survive every one up to a random rule.
		field := feasible
	rules:
		for _, s := range in.Strategies {
			var key func(r *ref) int
			switch {
			case s.Type == types.PlacementStrategyTypeRandom:
				break rules
			case s.Type == types.PlacementStrategyTypeBinpack && s.Field == FieldCPU:
				key = func(r *ref) int { return r.cpu }
			case s.Type == types.PlacementStrategyTypeBinpack:
				key = func(r *ref) int { return r.mem }
			case s.Field == FieldInstanceID:
				key = func(r *ref) int { return r.group }
			default:
				a := s.Attribute()
				key = func(r *ref) int { return zoneCount(a, r.in.Attributes[a]) }
			}
			least := key(field[0])
			for _, r := range field {
				least = min(least, key(r))
			}
			if key(chosen) != least {
				fail("task %d: %s on %s ranks %d, the best of the field is %d (strategies %v)", k, s.Type, s.Field, key(chosen), least, in.Strategies)
			}
			field = slices.DeleteFunc(slices.Clone(field), func(r *ref) bool { return key(r) != least })
		}
		// Reserve it in the model, checking that nothing is over-committed.
		chosen.cpu -= p.CPU
		chosen.mem -= p.Memory
		if p.CPU != in.Requirements.CPU || p.Memory != in.Requirements.Memory || len(p.GPUs) != in.Requirements.GPUs {
			fail("task %d reserved %d CPU, %d MiB, %d GPUs for %+v", k, p.CPU, p.Memory, len(p.GPUs), in.Requirements)
		}
		for _, g := range p.GPUs {
			i := slices.Index(chosen.gpus, g)
			if i < 0 {
				fail("task %d took GPU %s, which is not free on %s", k, g, chosen.in.ARN)
			}
			chosen.gpus = slices.Delete(chosen.gpus, i, i+1)
		}
		if len(p.Bindings) != len(in.Requirements.Ports) {
			fail("task %d has %d bindings for %d mappings", k, len(p.Bindings), len(in.Requirements.Ports))
		}
		dr := chosen.in.dynamicRange()
		for i, b := range p.Bindings {
			m := in.Requirements.Ports[i]
			first, count := b.HostPort, 1
			if b.HostPortRange != "" {
				lo, hi, _ := portRange(b.HostPortRange)
				first, count = lo, hi-lo+1
			}
			if count != m.Count || b.Protocol != m.Protocol {
				fail("task %d binding %+v for mapping %+v", k, b, m)
			}
			if m.Dynamic() && (first < dr.First || first+count-1 > dr.Last) {
				fail("task %d: dynamic port %d outside %v", k, first, dr)
			}
			if !m.Dynamic() && first != m.HostPort {
				fail("task %d: static port %d became %d", k, m.HostPort, first)
			}
			for q := first; q < first+count; q++ {
				if chosen.used[proto(b.Protocol)][q] {
					fail("task %d: host port %d/%s on %s is taken twice", k, q, b.Protocol, chosen.in.ARN)
				}
				chosen.used[proto(b.Protocol)][q] = true
			}
		}
		chosen.reserved[0] += len(p.PortsTCP)
		chosen.reserved[1] += len(p.PortsUDP)
		chosen.group++
		chosen.placedHere++
	}
	for i, r := range refs {
		got := res.Instances[i]
		if got.ARN != r.in.ARN {
			fail("result instance %d is %s, want %s (input order)", i, got.ARN, r.in.ARN)
		}
		if got.Remaining.CPU != r.cpu || got.Remaining.Memory != r.mem || got.Remaining.CPU < 0 || got.Remaining.Memory < 0 {
			fail("%s: remaining %d CPU / %d MiB, model %d / %d", r.in.ARN, got.Remaining.CPU, got.Remaining.Memory, r.cpu, r.mem)
		}
		if r.startCPU-r.cpu > r.startCPU || r.placedHere*in.Requirements.CPU > r.startCPU || r.placedHere*in.Requirements.Memory > r.startMem {
			fail("%s is over-committed", r.in.ARN)
		}
		if len(got.Remaining.PortsTCP) > max(MaxReservedPorts, len(r.in.Remaining.PortsTCP)) {
			fail("%s reserves %d TCP ports", r.in.ARN, len(got.Remaining.PortsTCP))
		}
		if len(got.Tasks) != len(r.in.Tasks)+r.placedHere {
			fail("%s: %d tasks recorded, want %d", r.in.ARN, len(got.Tasks), len(r.in.Tasks)+r.placedHere)
		}
		for _, c := range in.Constraints {
			if c.Type == types.PlacementConstraintTypeDistinctInstance && r.placedHere > 0 && r.group > 1 {
				fail("distinctInstance: %s has %d tasks of the group", r.in.ARN, r.group)
			}
		}
	}
}

// TestPlaceProperties checks, over many random clusters and requests, that
// the engine never over-commits an instance (CPU, memory, host ports, GPUs),
// places only on ACTIVE connected instances that meet every constraint,
// fails only when no instance fits, honours the strategies in order (binpack
// takes the least remaining of its field, spread the value with the fewest
// of the group's tasks) and gives the same answer for the same seed.
func TestPlaceProperties(t *testing.T) {
	seeds := uint64(3000)
	if testing.Short() {
		seeds = 300
	}
	placedSome, failedSome := 0, 0
	for seed := range seeds {
		gen := rand.New(rand.NewPCG(seed, 7))
		in := scenario(gen)
		in.RandFunc = rand.New(rand.NewPCG(seed, 11)).IntN
		res := Place(in)
		checkPlacement(t, seed, in, res)
		if len(res.Placed()) > 0 {
			placedSome++
		}
		if len(res.Failures()) > 0 {
			failedSome++
		}
		in.RandFunc = rand.New(rand.NewPCG(seed, 11)).IntN
		if again := Place(in); !cmp.Equal(res, again) {
			t.Fatalf("seed %d: the same seed gave another result:\n%s", seed, cmp.Diff(res, again))
		}
	}
	// The generator must exercise both outcomes, or the test proves little.
	if placedSome < int(seeds)/4 || failedSome < int(seeds)/4 {
		t.Errorf("only %d of %d requests placed a task and %d failed one", placedSome, seeds, failedSome)
	}
}

// TestPlaceSpreadIsBalanced: with room everywhere, spreading over an
// attribute (or over instances) keeps every value within one task of the
// others.
func TestPlaceSpreadIsBalanced(t *testing.T) {
	zones := []string{"a", "b", "c", "d"}
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 3))
		var instances []Instance
		for i := range 1 + r.IntN(10) {
			instances = append(instances, Instance{
				ARN: arnPrefix + strconv.Itoa(i), Status: StatusActive, AgentConnected: true,
				Attributes: map[string]string{AttrAvailabilityZone: zones[r.IntN(len(zones))]},
				Remaining:  Resources{CPU: 1 << 20, Memory: 1 << 20},
			})
		}
		field := "attribute:" + AttrAvailabilityZone
		if r.IntN(2) == 0 {
			field = FieldInstanceID
		}
		strategies := []Strategy{spread(field)}
		if r.IntN(2) == 0 {
			strategies = append(strategies, binpack(FieldMemory))
		}
		count := 1 + r.IntN(60)
		res := Place(Input{Instances: instances, Requirements: Requirements{CPU: 1, Memory: 1 + r.IntN(5)}, Count: count, Group: "g",
			Strategies: strategies, RandFunc: rand.New(rand.NewPCG(seed, 5)).IntN})
		per := map[string]int{}
		for _, in := range instances {
			if field == FieldInstanceID {
				per[in.ARN] = 0
			} else {
				per[in.Attributes[AttrAvailabilityZone]] = 0
			}
		}
		for _, in := range res.Instances {
			key := in.ARN
			if field != FieldInstanceID {
				key = in.Attributes[AttrAvailabilityZone]
			}
			per[key] += len(in.Tasks)
		}
		lo, hi := count, 0
		for _, n := range per {
			lo, hi = min(lo, n), max(hi, n)
		}
		if hi-lo > 1 {
			t.Fatalf("seed %d: spread on %s left %v", seed, field, per)
		}
	}
}
