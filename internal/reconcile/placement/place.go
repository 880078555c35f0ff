package placement

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Reason is why a container instance cannot take a task, worded as ECS
// words it in RunTask and StartTask failures [V developer guide, "Amazon
// ECS API failure reasons": RESOURCE:* (CPU, MEMORY, PORTS, GPU), AGENT,
// ATTRIBUTE, "MemberOf placement constraint unsatisfied"; the RunTask
// failure "DistinctInstance placement constraint unsatisfied." is recorded
// in a boto3 script's output (2022); RESOURCE:PORTS_UDP follows the
// resource's name, PORTS_UDP [I]].
type Reason string

const (
	ReasonAgent            Reason = "AGENT"
	ReasonAttribute        Reason = "ATTRIBUTE"
	ReasonCPU              Reason = "RESOURCE:CPU"
	ReasonGPU              Reason = "RESOURCE:GPU"
	ReasonMemory           Reason = "RESOURCE:MEMORY"
	ReasonPorts            Reason = "RESOURCE:PORTS"
	ReasonPortsUDP         Reason = "RESOURCE:PORTS_UDP"
	ReasonDistinctInstance Reason = "DistinctInstance placement constraint unsatisfied."
	ReasonMemberOf         Reason = "MemberOf placement constraint unsatisfied."
)

// stages orders the checks an instance passes, in the order ECS documents
// them (resources "CPU, GPU, memory, and port", then the constraints); an
// instance that fails a later check is a closer match than one that fails
// an earlier one. The agent and the attributes come first: without them
// nothing else matters.
var stages = [...]Reason{ReasonAgent, ReasonAttribute, ReasonCPU, ReasonGPU, ReasonMemory, ReasonPorts, ReasonPortsUDP, ReasonDistinctInstance, ReasonMemberOf}

// fits is the stage of an instance that passes every check.
const fits = int8(len(stages))

// Input is one placement request: Count tasks with the same requirements.
type Input struct {
	// Instances are the cluster's container instances (all of them: tasks
	// on draining instances still count for spread). Only ACTIVE ones take
	// tasks.
	Instances    []Instance
	Requirements Requirements
	Count        int
	// Group is the new tasks' task group ("service:NAME" for a service).
	Group string
	// TaskARNs, when given, name the new tasks (one per task); they are
	// recorded on the instances in Result.Instances.
	TaskARNs    []string
	Strategies  []Strategy
	Constraints []Constraint
	// RandFunc returns a uniformly random number in [0, n). The random
	// strategy uses it, and so does the choice between instances the
	// strategies leave tied. Without it, ties go to the first instance in
	// ARN order.
	RandFunc func(n int) int
}

// Binding is a port mapping of a placed task with its host port(s), the
// dynamic ones chosen: what the task's networkBindings report.
type Binding struct {
	Container          string
	ContainerPort      int
	ContainerPortRange string
	HostPort           int
	// HostPortRange is "first-last" for a range mapping.
	HostPortRange string
	Protocol      Protocol
	// Dynamic is set when the host port(s) came from the instance's
	// ephemeral range; Count is how many consecutive ports the mapping
	// holds from HostPort (or the first of HostPortRange).
	Dynamic bool
	Count   int
}

// Placement is where one task goes and what it reserves there.
type Placement struct {
	InstanceARN string
	CPU, Memory int
	// PortsTCP and PortsUDP are the static host ports reserved (added to
	// the instance's PORTS and PORTS_UDP resources); dynamic ones are only
	// in Bindings.
	PortsTCP, PortsUDP []int
	Bindings           []Binding
	// GPUs are the IDs of the GPUs the task takes.
	GPUs []string
}

// Failure is why a task was not placed.
type Failure struct {
	// NoInstances is set when the cluster has no ACTIVE container instance.
	NoInstances bool
	// InstanceARN is the closest matching container instance, the one that
	// passed the most checks, and Reason the check it failed.
	InstanceARN string
	Reason      Reason
}

// Outcome is the fate of one task: exactly one of Placement and Failure is
// set.
type Outcome struct {
	Placement *Placement
	Failure   *Failure
}

// Result is the outcome of a request.
type Result struct {
	// Outcomes has one entry per task, in order.
	Outcomes []Outcome
	// Instances are the request's instances, in its order, with every
	// placed task's reservation applied and the task added to Tasks. An
	// instance that took no task shares its slices with the input's: treat
	// both as read-only.
	Instances []Instance
}

// Placed returns the placements, in order.
func (r *Result) Placed() []Placement {
	var out []Placement
	for _, o := range r.Outcomes {
		if o.Placement != nil {
			out = append(out, *o.Placement)
		}
	}
	return out
}

// Failures returns the failures, in order.
func (r *Result) Failures() []Failure {
	var out []Failure
	for _, o := range r.Outcomes {
		if o.Failure != nil {
			out = append(out, *o.Failure)
		}
	}
	return out
}

// node is one instance during a request: what the port check and commit
// need. What every placement reads for every instance lives in the
// engine's parallel slices (stage, cpu, mem, group, spreadOf), which keeps
// the scan over instances compact in memory.
type node struct {
	in *Instance
	// attrs reports whether the instance has the required attributes.
	attrs bool
	// used holds every host port in use, per protocol, sorted; reserved
	// counts the static (reserved) ones. Built only when the task takes host
	// ports.
	used     [2]portSet
	reserved [2]int
	// cursor is the lowest dynamic port that may be free, per protocol.
	cursor [2]int
	// owned is set once the instance's slices are copies of the caller's.
	owned bool
}

func proto(p Protocol) int {
	if p == UDP {
		return 1
	}
	return 0
}

// Stage values besides the indices of stages.
const (
	notPlaceable = -2 // not ACTIVE: no candidate, never the closest match
	unknown      = -1 // to be computed
)

type engine struct {
	in    Input
	nodes []node // in ARN order; the slices below are indexed alike
	// stage caches how far each instance gets through the checks. Only the
	// instance that receives a task changes, so every other instance keeps
	// its verdict from one placement to the next: a placement costs one
	// pass over these slices.
	stage []int8
	// cpu and mem mirror the instances' remaining resources; group counts
	// the request group's tasks on each.
	cpu, mem, group []int
	// spreadOf holds, per spread-by-attribute strategy, each instance's
	// attribute value interned as an index into counts, which holds the
	// group's tasks per value over every instance.
	spreadOf [][]int32
	counts   [][]int
	ports    bool
	members  []int // indices of memberOf constraints in in.Constraints
	// distinct is set when a distinctInstance constraint applies.
	distinct bool
	cand     []int
	// static are the task's static host ports per protocol; firsts and
	// taken are scratch space for the port check.
	static [2][]int
	firsts []int
	taken  []int
}

// Place places in.Count tasks one after the other. Each task goes to an
// ACTIVE instance whose agent is connected, that has the attributes, CPU,
// GPUs, memory and host ports the task needs and meets every constraint;
// among those the strategies choose, in order, each narrowing the field to
// the instances it ranks best:
//
//   - binpack on cpu or memory keeps the instances with the least remaining
//     amount of that resource: "a task is placed on the instance with the
//     least amount of remaining memory but still enough to run the task" [V
//     API reference, PlacementStrategy];
//   - spread keeps the instances whose value of the field holds the fewest
//     tasks of the group (instanceId: the instance itself; an instance
//     without the attribute counts as the value "" [I]);
//   - random keeps one instance at random.
//
// Ties left at the end go to RandFunc (or the first in ARN order). A task
// that fits nowhere fails with the closest matching instance and the check
// it failed; the tasks after it fail the same way, since nothing changed.
// in is never modified.
func Place(in Input) Result {
	res := Result{Outcomes: make([]Outcome, 0, in.Count), Instances: make([]Instance, len(in.Instances))}
	for i := range in.Instances {
		// Copied on first write (commit), so an instance that takes no
		// task costs nothing.
		res.Instances[i] = in.Instances[i]
	}
	e := &engine{in: in}
	e.setup(res.Instances)
	for k := 0; k < in.Count; k++ {
		o := e.placeOne(k)
		res.Outcomes = append(res.Outcomes, o)
		if o.Failure != nil {
			for k++; k < in.Count; k++ {
				f := *o.Failure
				res.Outcomes = append(res.Outcomes, Outcome{Failure: &f})
			}
		}
	}
	return res
}

func (e *engine) setup(instances []Instance) {
	req := e.in.Requirements
	e.ports = len(req.Ports) > 0
	for i, c := range e.in.Constraints {
		switch c.Type {
		case types.PlacementConstraintTypeDistinctInstance:
			e.distinct = true
		case types.PlacementConstraintTypeMemberOf:
			e.members = append(e.members, i)
		}
	}
	var spreadAttrs []string
	for _, s := range e.in.Strategies {
		if s.Type == types.PlacementStrategyTypeSpread && s.Field != FieldInstanceID {
			spreadAttrs = append(spreadAttrs, s.Attribute())
		}
	}
	e.static = [2][]int{req.StaticPorts(TCP), req.StaticPorts(UDP)}
	e.firsts = make([]int, len(req.Ports))

	order := make([]int, len(instances))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(instances[a].ARN, instances[b].ARN) })
	n := len(instances)
	e.nodes = make([]node, n)
	e.stage = make([]int8, n)
	e.cpu, e.mem, e.group = make([]int, n), make([]int, n), make([]int, n)
	e.counts = make([][]int, len(spreadAttrs))
	e.spreadOf = make([][]int32, len(spreadAttrs))
	values := make([]map[string]int32, len(spreadAttrs))
	for k := range spreadAttrs {
		values[k] = map[string]int32{}
		e.spreadOf[k] = make([]int32, n)
	}
	for j, i := range order {
		in := &instances[i]
		nd := &e.nodes[j]
		*nd = node{in: in, attrs: hasAttributes(in, req.Attributes)}
		e.stage[j] = unknown
		if !in.placeable() {
			e.stage[j] = notPlaceable
		}
		e.cpu[j], e.mem[j] = in.Remaining.CPU, in.Remaining.Memory
		for _, t := range in.Tasks {
			if t.Group == e.in.Group {
				e.group[j]++
			}
		}
		for k, a := range spreadAttrs {
			v := in.Attributes[a]
			id, ok := values[k][v]
			if !ok {
				id = int32(len(values[k]))
				values[k][v] = id
				e.counts[k] = append(e.counts[k], 0)
			}
			e.spreadOf[k][j] = id
			e.counts[k][id] += e.group[j]
		}
		if e.ports {
			for p, list := range [2][]int{in.Remaining.PortsTCP, in.Remaining.PortsUDP} {
				nd.used[p] = newPortSet(list)
				nd.reserved[p] = len(nd.used[p])
				nd.cursor[p] = in.dynamicRange().First
			}
			for _, t := range in.Tasks {
				for _, hp := range t.HostPorts {
					nd.used[proto(hp.Protocol)].add(hp.Port)
				}
			}
		}
	}
	e.cand = make([]int, 0, n)
}

func hasAttributes(in *Instance, want []Attribute) bool {
	for _, a := range want {
		v, ok := in.Attributes[a.Name]
		if !ok || (a.Value != nil && v != *a.Value) {
			return false
		}
	}
	return true
}

func (e *engine) placeOne(k int) Outcome {
	e.cand = e.cand[:0]
	best, bestStage, active := -1, int8(-1), false
	for i, s := range e.stage {
		if s == notPlaceable {
			continue
		}
		active = true
		if s == unknown {
			s = e.check(i)
			e.stage[i] = s
		}
		if s == fits {
			e.cand = append(e.cand, i)
		} else if s > bestStage {
			best, bestStage = i, s
		}
	}
	if len(e.cand) == 0 {
		if !active {
			return Outcome{Failure: &Failure{NoInstances: true}}
		}
		return Outcome{Failure: &Failure{InstanceARN: e.nodes[best].in.ARN, Reason: stages[bestStage]}}
	}
	cand := e.narrow(e.cand)
	pick := cand[0]
	if len(cand) > 1 && e.in.RandFunc != nil {
		pick = cand[e.in.RandFunc(len(cand))]
	}
	return Outcome{Placement: e.commit(pick, k)}
}

// check returns how far the ACTIVE instance i gets through the checks.
func (e *engine) check(i int) int8 {
	req := &e.in.Requirements
	n := &e.nodes[i]
	switch {
	case !n.in.AgentConnected:
		return 0
	case !n.attrs:
		return 1
	case req.CPU > e.cpu[i]:
		return 2
	case req.GPUs > len(n.in.Remaining.GPUs):
		return 3
	case req.Memory > e.mem[i]:
		return 4
	}
	if e.ports {
		if p, ok := e.portsFit(n); !ok {
			return 5 + int8(p)
		}
	}
	if e.distinct && e.group[i] > 0 {
		return 7
	}
	for _, ci := range e.members {
		if p := e.in.Constraints[ci].Predicate; p == nil || !p.Match(n.in) {
			return 8
		}
	}
	return fits
}

// portsFit checks the task's host ports on n. It fills e.firsts with the
// first host port of each mapping (the chosen one for a dynamic mapping) or,
// when they do not fit, returns the failing protocol. It allocates nothing:
// it runs for every instance at every placement.
func (e *engine) portsFit(n *node) (failing int, ok bool) {
	req := &e.in.Requirements
	dr := n.in.dynamicRange()
	for p, pr := range [2]Protocol{TCP, UDP} {
		static := e.static[p]
		if n.reserved[p]+len(static) > MaxReservedPorts {
			return p, false
		}
		// taken holds the ports this task takes, to keep them distinct.
		e.taken = e.taken[:0]
		for _, port := range static {
			if n.used[p].has(port) || slices.Contains(e.taken, port) {
				return p, false
			}
			e.taken = append(e.taken, port)
		}
		cursor := n.cursor[p]
		for i, m := range req.Ports {
			if m.Protocol != pr {
				continue
			}
			if !m.Dynamic() {
				e.firsts[i] = m.HostPort
				continue
			}
			first, ok := freeRun(n.used[p], e.taken, cursor, dr.Last, m.Count)
			if !ok {
				return p, false
			}
			for q := first; q < first+m.Count; q++ {
				e.taken = append(e.taken, q)
			}
			if m.Count == 1 {
				cursor = first + 1
			}
			e.firsts[i] = first
		}
	}
	return 0, true
}

// portSet is a sorted set of ports: cheaper to build than a map for the
// handful of ports an instance reserves, and built for every instance of
// every request.
type portSet []int

func newPortSet(ports []int) portSet {
	s := slices.Clone(ports)
	slices.Sort(s)
	return slices.Compact(s)
}

func (s portSet) has(p int) bool {
	_, ok := slices.BinarySearch(s, p)
	return ok
}

func (s *portSet) add(p int) {
	if i, ok := slices.BinarySearch(*s, p); !ok {
		*s = slices.Insert(*s, i, p)
	}
}

// freeRun finds count consecutive ports in [from, last] in neither used nor
// taken.
func freeRun(used portSet, taken []int, from, last, count int) (int, bool) {
	run := 0
	for q := from; q <= last; q++ {
		if used.has(q) || slices.Contains(taken, q) {
			run = 0
			continue
		}
		run++
		if run == count {
			return q - count + 1, true
		}
	}
	return 0, false
}

// narrow applies the strategies in order to the candidates.
func (e *engine) narrow(cand []int) []int {
	spreadK := 0
	for _, s := range e.in.Strategies {
		if len(cand) <= 1 {
			return cand
		}
		switch s.Type {
		case types.PlacementStrategyTypeRandom:
			if e.in.RandFunc == nil {
				return cand[:1]
			}
			i := e.in.RandFunc(len(cand))
			return cand[i : i+1]
		case types.PlacementStrategyTypeBinpack:
			if s.Field == FieldCPU {
				cand = keepMin(cand, e.cpu)
			} else {
				cand = keepMin(cand, e.mem)
			}
		case types.PlacementStrategyTypeSpread:
			if s.Field == FieldInstanceID {
				cand = keepMin(cand, e.group)
				continue
			}
			counts, of := e.counts[spreadK], e.spreadOf[spreadK]
			spreadK++
			cand = keepMinBy(cand, func(i int) int { return counts[of[i]] })
		}
	}
	return cand
}

// keepMin keeps, in place and in order, the candidates with the least
// value in vals.
func keepMin(cand []int, vals []int) []int {
	least := vals[cand[0]]
	out := cand[:0]
	for _, i := range cand {
		switch v := vals[i]; {
		case v < least:
			least, out = v, append(out[:0], i)
		case v == least:
			out = append(out, i)
		}
	}
	return out
}

// keepMinBy is keepMin with a computed key.
func keepMinBy(cand []int, key func(int) int) []int {
	least := key(cand[0])
	out := cand[:0]
	for _, i := range cand {
		switch v := key(i); {
		case v < least:
			least, out = v, append(out[:0], i)
		case v == least:
			out = append(out, i)
		}
	}
	return out
}

// commit reserves the task's resources on instance i and records the task
// there.
func (e *engine) commit(i, k int) *Placement {
	req := &e.in.Requirements
	n := &e.nodes[i]
	in := n.in
	if !n.owned {
		*in = in.clone()
		n.owned = true
	}
	p := &Placement{InstanceARN: in.ARN, CPU: req.CPU, Memory: req.Memory}
	in.Remaining.CPU -= req.CPU
	in.Remaining.Memory -= req.Memory
	e.cpu[i], e.mem[i] = in.Remaining.CPU, in.Remaining.Memory
	if req.GPUs > 0 {
		gpus := slices.Clone(in.Remaining.GPUs)
		slices.Sort(gpus)
		p.GPUs = gpus[:req.GPUs:req.GPUs]
		in.Remaining.GPUs = slices.DeleteFunc(in.Remaining.GPUs, func(g string) bool { return slices.Contains(p.GPUs, g) })
	}
	task := Task{Group: e.in.Group, CPU: req.CPU, Memory: req.Memory}
	if k < len(e.in.TaskARNs) {
		task.ARN = e.in.TaskARNs[k]
	}
	if e.ports {
		e.portsFit(n)
		firsts := e.firsts
		for j, m := range req.Ports {
			b := Binding{Container: m.Container, ContainerPort: m.ContainerPort, ContainerPortRange: m.ContainerPortRange, HostPort: firsts[j], Protocol: m.Protocol,
				Dynamic: m.Dynamic(), Count: m.Count}
			if m.ContainerPortRange != "" {
				b.HostPort = 0
				b.HostPortRange = strconv.Itoa(firsts[j]) + "-" + strconv.Itoa(firsts[j]+m.Count-1)
			}
			p.Bindings = append(p.Bindings, b)
			pi := proto(m.Protocol)
			for q := firsts[j]; q < firsts[j]+m.Count; q++ {
				n.used[pi].add(q)
				task.HostPorts = append(task.HostPorts, HostPort{q, m.Protocol})
			}
		}
		p.PortsTCP, p.PortsUDP = slices.Clone(e.static[0]), slices.Clone(e.static[1])
		in.Remaining.PortsTCP = append(in.Remaining.PortsTCP, p.PortsTCP...)
		in.Remaining.PortsUDP = append(in.Remaining.PortsUDP, p.PortsUDP...)
		n.reserved[0] += len(p.PortsTCP)
		n.reserved[1] += len(p.PortsUDP)
		for pi := range n.cursor {
			for n.used[pi].has(n.cursor[pi]) {
				n.cursor[pi]++
			}
		}
	}
	in.Tasks = append(in.Tasks, task)
	e.group[i]++
	for k := range e.counts {
		e.counts[k][e.spreadOf[k][i]]++
	}
	e.stage[i] = unknown
	return p
}
