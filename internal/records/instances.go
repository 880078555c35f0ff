package records

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/ecs/clusterquery"
	"github.com/ecsd/ecsd/internal/reconcile/placement"
	"github.com/ecsd/ecsd/internal/store"
	"github.com/ecsd/ecsd/internal/wire"
)

// Container instances: their records, the view clients get (attributes,
// remaining resources and task counts derived from the tasks on them) and
// task placement, shared by RunTask/StartTask (control) and the service
// scheduler (worker).

// AttrExternalAgent, set to ExternalAgentValue on a container instance,
// says an agent outside ecsd runs the tasks placed on it and reports their
// state through SubmitTaskStateChange and SubmitContainerStateChange; ecsd's
// runtime leaves them alone (docs/compat.md, "Agent API").
const (
	AttrExternalAgent  = "ecsd.agent"
	ExternalAgentValue = "external"
)

// FromContainerInstance makes the record of a container instance. The
// derived parts (attributes, tags, task counts, remaining resources,
// health) are not stored in the body.
func FromContainerInstance(scope store.Scope, ci types.ContainerInstance, source string, agentUpdateAt time.Time) (store.ContainerInstance, error) {
	ref, ok := ecs.ParseResourceRef("container-instance", deref(ci.ContainerInstanceArn))
	if !ok || ref.Cluster == "" {
		return store.ContainerInstance{}, fmt.Errorf("container instance ARN %q has no cluster", deref(ci.ContainerInstanceArn))
	}
	ci.Attributes, ci.Tags, ci.RemainingResources, ci.HealthStatus = nil, nil, nil, nil
	ci.RunningTasksCount, ci.PendingTasksCount = 0, 0
	body, err := wire.Marshal(ci)
	if err != nil {
		return store.ContainerInstance{}, err
	}
	return store.ContainerInstance{
		Scope: scope, Cluster: ref.Cluster, ID: ref.Name,
		EC2InstanceID:          deref(ci.Ec2InstanceId),
		Status:                 deref(ci.Status),
		CapacityProvider:       deref(ci.CapacityProviderName),
		Source:                 source,
		RegisteredAt:           derefTime(ci.RegisteredAt),
		AgentUpdateRequestedAt: agentUpdateAt,
		Body:                   body,
	}, nil
}

// ContainerInstance decodes a container instance record (without its
// derived parts; see InstanceView).
func ContainerInstance(rec store.ContainerInstance) (types.ContainerInstance, error) {
	var ci types.ContainerInstance
	if err := wire.Unmarshal(rec.Body, &ci); err != nil {
		return types.ContainerInstance{}, fmt.Errorf("stored container instance %s/%s: %w", rec.Cluster, rec.ID, err)
	}
	return ci, nil
}

// InstanceView is a container instance as DescribeContainerInstances shows
// it at now: its attributes, the task counts and remaining resources of
// the tasks placed on it (placed: its PlacedTasks), and an agent update's
// progress. Tags are [] (the caller fills them when asked).
func InstanceView(rec store.ContainerInstance, attrs []store.Attribute, placed []store.PlacedTask, now time.Time) (types.ContainerInstance, error) {
	ci, err := ContainerInstance(rec)
	if err != nil {
		return types.ContainerInstance{}, err
	}
	ci = ecs.AgentUpdateView(ci, rec.AgentUpdateRequestedAt, now)
	ci.Attributes = make([]types.Attribute, 0, len(attrs))
	for _, a := range attrs {
		item := types.Attribute{Name: ptr(a.Name)}
		if a.Value != "" {
			item.Value = ptr(a.Value)
		}
		ci.Attributes = append(ci.Attributes, item)
	}
	var used []ecs.Reservation
	for _, p := range placed {
		if p.ContainerInstance != rec.ID {
			continue
		}
		if p.LastStatus == store.TaskRunning {
			ci.RunningTasksCount++
		} else {
			ci.PendingTasksCount++
		}
		used = append(used, FromReservation(p.Reservation))
	}
	registered := ecs.ResourcesFromWire(ci.RegisteredResources)
	ci.RemainingResources = registered.Remaining(used).Wire()
	ci.Tags = []types.Tag{}
	if ci.Attachments == nil {
		ci.Attachments = []types.Attachment{}
	}
	return ci, nil
}

// FromReservation and ToReservation convert between the domain's and the
// store's reservations.
func FromReservation(r store.Reservation) ecs.Reservation {
	return ecs.Reservation{CPU: r.CPU, Memory: r.Memory, Ports: r.Ports, PortsUDP: r.PortsUDP, GPUs: len(r.GPUIDs), GPUIDs: r.GPUIDs}
}

// ToReservation: see FromReservation.
func ToReservation(r ecs.Reservation) store.Reservation {
	return store.Reservation{CPU: r.CPU, Memory: r.Memory, Ports: r.Ports, PortsUDP: r.PortsUDP, GPUIDs: r.GPUIDs}
}

// ErrNoContainerInstances is Placer.Place's answer for a cluster without
// an ACTIVE container instance.
var ErrNoContainerInstances = ecs.InvalidParameterException(ecs.MsgNoContainerInstances)

// Placer places tasks on a cluster's container instances inside one
// transaction with the placement engine (reconcile/placement). It reads the
// instances once and keeps every placement it makes, so the tasks of one
// request (or one scheduler pass) never share what only one of them can
// have, and the reservations are stored with the tasks in the same
// transaction. DRAINING instances are read too: they take no task, but their
// tasks count for spread strategies, as on ECS.
type Placer struct {
	scope   store.Scope
	cluster string
	recs    []store.ContainerInstance
	views   []types.ContainerInstance
	insts   []placement.Instance
	// targets are what the cluster query language sees of each instance
	// beside its attributes and tasks (registeredAt, agentVersion...).
	targets map[string]*clusterquery.Target
	byARN   map[string]int
	active  int
	// RandFunc, when set, breaks the ties the strategies leave and drives
	// the random strategy; nil places on the first instance in ARN order.
	RandFunc func(n int) int
}

// NewPlacer reads the ACTIVE and DRAINING container instances of a cluster,
// what remains of them and the tasks on them.
func NewPlacer(tx store.ReadTx, scope store.Scope, cluster string, now time.Time) (*Placer, error) {
	p := &Placer{scope: scope, cluster: cluster, targets: map[string]*clusterquery.Target{}, byARN: map[string]int{}}
	recs, err := tx.ContainerInstances(scope, store.ContainerInstancesQuery{Cluster: cluster, Statuses: []string{store.InstanceActive, store.InstanceDraining}})
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return p, nil
	}
	placed, err := tx.PlacedTasks(scope, cluster, "")
	if err != nil {
		return nil, err
	}
	on := map[string][]store.PlacedTask{}
	for _, t := range placed {
		on[t.ContainerInstance] = append(on[t.ContainerInstance], t)
	}
	// Every instance's attributes in one read, not one read per instance.
	all, err := tx.Attributes(scope, cluster, "", "")
	if err != nil {
		return nil, err
	}
	attrsOf := map[string][]store.Attribute{}
	for _, a := range all {
		attrsOf[a.TargetID] = append(attrsOf[a.TargetID], a)
	}
	for _, rec := range recs {
		mine := on[rec.ID]
		ci, err := InstanceView(rec, attrsOf[rec.ID], mine, now)
		if err != nil {
			return nil, err
		}
		in := placement.InstanceFromECS(ci, placementTasks(scope, cluster, mine))
		p.byARN[in.ARN] = len(p.insts)
		p.recs = append(p.recs, rec)
		p.views = append(p.views, ci)
		p.insts = append(p.insts, in)
		p.targets[in.ARN] = queryTarget(ci)
		if rec.Status == store.InstanceActive {
			p.active++
		}
	}
	return p, nil
}

// placementTasks are the tasks placed on an instance as the placement
// engine sees them.
func placementTasks(scope store.Scope, cluster string, placed []store.PlacedTask) []placement.Task {
	tasks := make([]placement.Task, 0, len(placed))
	for _, t := range placed {
		pt := placement.Task{
			ARN:   ecs.TaskARN(scope.Region, scope.Account, cluster, t.ID),
			Group: t.Group, CPU: t.Reservation.CPU, Memory: t.Reservation.Memory,
		}
		for _, port := range t.Reservation.Ports {
			pt.HostPorts = append(pt.HostPorts, placement.HostPort{Port: port, Protocol: placement.TCP})
		}
		for _, port := range t.Reservation.PortsUDP {
			pt.HostPorts = append(pt.HostPorts, placement.HostPort{Port: port, Protocol: placement.UDP})
		}
		pt.HostPorts = appendDynamic(pt.HostPorts, t.Reservation.Dynamic)
		tasks = append(tasks, pt)
	}
	return tasks
}

// DynamicPortsOn chooses the dynamic host ports of a task of td (with
// overrides) on one container instance, as StartTask places a task on the
// instance it names: ci is the instance's view and placed the tasks on it.
// ok is false when the instance's ephemeral range has no room left (ECS's
// RESOURCE:PORTS).
func DynamicPortsOn(scope store.Scope, cluster string, ci types.ContainerInstance, placed []store.PlacedTask, td types.TaskDefinition, ov *types.TaskOverride) (ds []store.DynamicPort, ok bool) {
	req := TaskPlacementRequirements(td, ov)
	var dyn []placement.PortMapping
	for _, m := range req.Ports {
		if m.Dynamic() {
			dyn = append(dyn, m)
		}
	}
	if len(dyn) == 0 {
		return nil, true
	}
	// Only the ports are in question here: StartTask checked the rest.
	in := placement.InstanceFromECS(ci, placementTasks(scope, cluster, placed))
	in.Status, in.AgentConnected = placement.StatusActive, true
	res := placement.Place(placement.Input{Instances: []placement.Instance{in}, Requirements: placement.Requirements{Ports: dyn}, Count: 1})
	p := res.Outcomes[0].Placement
	if p == nil {
		return nil, false
	}
	return DynamicPorts(p.Bindings), true
}

// appendDynamic adds the dynamic host ports a task holds, so that the
// placement engine never hands them out again while the task holds them.
func appendDynamic(hps []placement.HostPort, ds []store.DynamicPort) []placement.HostPort {
	for _, d := range ds {
		p := placement.TCP
		if d.UDP {
			p = placement.UDP
		}
		for k := range max(d.Count, 1) {
			hps = append(hps, placement.HostPort{Port: d.HostPort + k, Protocol: p})
		}
	}
	return hps
}

// DynamicPorts are the dynamic host ports of a placement's bindings, as the
// store keeps them with the task.
func DynamicPorts(bs []placement.Binding) []store.DynamicPort {
	var out []store.DynamicPort
	for _, b := range bs {
		if !b.Dynamic {
			continue
		}
		d := store.DynamicPort{Container: b.Container, ContainerPort: b.ContainerPort, HostPort: b.HostPort, Count: max(b.Count, 1), UDP: b.Protocol == placement.UDP}
		if b.ContainerPortRange != "" {
			fmt.Sscanf(b.ContainerPortRange, "%d-", &d.ContainerPort)
			fmt.Sscanf(b.HostPortRange, "%d-", &d.HostPort)
		}
		out = append(out, d)
	}
	return out
}

// queryTarget is what the cluster query language sees of an instance,
// apart from its attributes and task groups, which placement keeps current.
func queryTarget(ci types.ContainerInstance) *clusterquery.Target {
	t := &clusterquery.Target{
		EC2InstanceID:     deref(ci.Ec2InstanceId),
		RunningTasksCount: int(ci.RunningTasksCount),
		AgentConnected:    ci.AgentConnected,
		RegisteredAt:      derefTime(ci.RegisteredAt),
	}
	if ci.VersionInfo != nil {
		t.AgentVersion = deref(ci.VersionInfo.AgentVersion)
	}
	return t
}

// Instances are the placer's instances as they stand after the placements
// made so far (read-only).
func (p *Placer) Instances() []placement.Instance { return p.insts }

// Placement is where a task went and what it holds there.
type Placement struct {
	Instance      types.ContainerInstance
	ID            string
	Reservation   ecs.Reservation
	ExternalAgent bool
	// Bindings are the task's host ports, dynamic ones chosen.
	Bindings []placement.Binding
	// Dynamic are the host ports chosen from the instance's ephemeral
	// range (DynamicPorts of Bindings): stored with the task, passed to the
	// runtime, reported in its networkBindings.
	Dynamic []store.DynamicPort
}

// PlaceRequest is Count tasks with the same requirements, rules and group.
type PlaceRequest struct {
	Requirements placement.Requirements
	Count        int
	Group        string
	Strategies   []placement.Strategy
	Constraints  []placement.Constraint
	// CandidateFunc, when set, says which instances may take these tasks
	// (a capacity provider's: OfCapacityProvider). The others still count
	// for spread and distinctInstance, and are never named as the closest
	// match.
	CandidateFunc func(ci types.ContainerInstance) bool
}

// OfCapacityProvider is the candidate filter of a task a capacity
// provider launches: "EC2-provider tasks only land on the instances of the
// provider's Auto Scaling group", which ECS knows by the instance's
// capacityProviderName (set when the group's instance registers).
func OfCapacityProvider(provider string) func(types.ContainerInstance) bool {
	return func(ci types.ContainerInstance) bool { return deref(ci.CapacityProviderName) == provider }
}

// Place places the tasks of r in one batch: each task reserves what it
// takes before the next is placed. It returns one placement per task
// placed, in order, and the failure of the first task that could not be
// placed (the tasks after it fail the same way): the closest matching
// instance and why. Without any ACTIVE instance it returns
// ErrNoContainerInstances.
func (p *Placer) Place(r PlaceRequest) ([]Placement, *placement.Failure, error) {
	out, failure, _, err := p.place(r, false)
	return out, failure, err
}

// PlaceReporting is Place, and when a task could not be placed, RunTask's
// failures for it: each candidate instance with the reason it refused the
// task, as ECS lists them.
func (p *Placer) PlaceReporting(r PlaceRequest) ([]Placement, *placement.Failure, []types.Failure, error) {
	return p.place(r, true)
}

func (p *Placer) place(r PlaceRequest, report bool) ([]Placement, *placement.Failure, []types.Failure, error) {
	if p.active == 0 {
		return nil, nil, nil, ErrNoContainerInstances
	}
	insts := p.insts
	var excluded []int
	if r.CandidateFunc != nil {
		insts = slices.Clone(p.insts)
		for i := range insts {
			if insts[i].Status == placement.StatusActive && !r.CandidateFunc(p.views[i]) {
				insts[i].Status = "EXCLUDED"
				excluded = append(excluded, i)
			}
		}
	}
	constraints := make([]placement.Constraint, len(r.Constraints))
	for i, c := range r.Constraints {
		if q, ok := c.Predicate.(*queryPredicate); ok {
			c.Predicate = &queryPredicate{expr: q.expr, targets: p.targets}
		}
		constraints[i] = c
	}
	in := placement.Input{
		Instances: insts, Requirements: r.Requirements, Count: r.Count, Group: r.Group,
		Strategies: r.Strategies, Constraints: constraints, RandFunc: p.RandFunc,
	}
	res := placement.Place(in)
	var reasons []types.Failure
	if report && len(res.Placed()) < r.Count {
		// Why each candidate refused the first task left: one placement
		// of it on that instance alone, as the instances now stand.
		for _, one := range res.Instances {
			if one.Status != placement.StatusActive {
				continue
			}
			in.Instances, in.Count = []placement.Instance{one}, 1
			if f := placement.Place(in).Outcomes[0].Failure; f != nil && !f.NoInstances {
				reasons = append(reasons, placement.RunTaskFailure(*f))
			}
		}
	}
	p.insts = res.Instances
	for _, i := range excluded {
		p.insts[i].Status = placement.StatusActive
	}
	var out []Placement
	var failure *placement.Failure
	for _, o := range res.Outcomes {
		if o.Failure != nil {
			if failure == nil {
				f := *o.Failure
				failure = &f
			}
			continue
		}
		pl := o.Placement
		i := p.byARN[pl.InstanceARN]
		out = append(out, Placement{
			Instance: p.views[i], ID: p.recs[i].ID,
			Reservation: ecs.Reservation{
				CPU: pl.CPU, Memory: pl.Memory, Ports: pl.PortsTCP, PortsUDP: pl.PortsUDP,
				GPUs: len(pl.GPUs), GPUIDs: pl.GPUs,
			},
			ExternalAgent: HasExternalAgent(p.views[i].Attributes),
			Bindings:      pl.Bindings,
			Dynamic:       DynamicPorts(pl.Bindings),
		})
	}
	return out, failure, reasons, nil
}

// queryPredicate is a compiled memberOf expression; the placer binds it to
// what it knows of each instance beyond placement's view.
type queryPredicate struct {
	expr    *clusterquery.Expr
	targets map[string]*clusterquery.Target
}

func (q *queryPredicate) Match(in *placement.Instance) bool {
	t := clusterquery.Target{Attributes: in.Attributes}
	if base := q.targets[in.ARN]; base != nil {
		t = *base
		t.Attributes = in.Attributes
	}
	for _, task := range in.Tasks {
		if task.Group != "" && !slices.Contains(t.TaskGroups, task.Group) {
			t.TaskGroups = append(t.TaskGroups, task.Group)
		}
	}
	return q.expr.Match(&t)
}

// PlacementRules validates and compiles a request's placement strategy and
// its constraints merged with the task definition's, as RunTask,
// CreateService and UpdateService take them.
func PlacementRules(strategy []types.PlacementStrategy, taskDefinition []types.TaskDefinitionPlacementConstraint, request []types.PlacementConstraint) ([]placement.Strategy, []placement.Constraint, error) {
	ss, err := placement.Strategies(strategy)
	if err != nil {
		return nil, nil, err
	}
	merged, err := placement.MergeConstraints(taskDefinition, request)
	if err != nil {
		return nil, nil, err
	}
	cs, err := placement.CompileConstraints(merged, func(expression string) (placement.Predicate, error) {
		expr, err := clusterquery.Parse(expression)
		if err != nil {
			return nil, ecs.InvalidParameterException("Invalid placement constraint expression %q: %s.", expression, err.Error())
		}
		return &queryPredicate{expr: expr}, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return ss, cs, nil
}

// requestedPlacement is what a RunTask request asked of placement, as
// store.Task.RequestedPlacement keeps it for a task waiting in
// PROVISIONING.
type requestedPlacement struct {
	Strategy    []requestedRule `json:"placementStrategy,omitempty"`
	Constraints []requestedRule `json:"placementConstraints,omitempty"`
}

type requestedRule struct {
	Type       string `json:"type"`
	Field      string `json:"field,omitempty"`
	Expression string `json:"expression,omitempty"`
}

// RequestedPlacement encodes a RunTask request's placement strategy and
// constraints for a task that waits for capacity (nil when it has none).
func RequestedPlacement(strategy []types.PlacementStrategy, constraints []types.PlacementConstraint) ([]byte, error) {
	if len(strategy) == 0 && len(constraints) == 0 {
		return nil, nil
	}
	var r requestedPlacement
	for _, s := range strategy {
		r.Strategy = append(r.Strategy, requestedRule{Type: string(s.Type), Field: deref(s.Field)})
	}
	for _, c := range constraints {
		r.Constraints = append(r.Constraints, requestedRule{Type: string(c.Type), Expression: deref(c.Expression)})
	}
	return json.Marshal(r)
}

// RequestedPlacementRules are the placement rules of a waiting standalone
// task: its request's strategy and constraints (RequestedPlacement) merged
// with its revision's constraints, as RunTask would have placed it.
func RequestedPlacementRules(requested []byte, td types.TaskDefinition) ([]placement.Strategy, []placement.Constraint, error) {
	var r requestedPlacement
	if len(requested) > 0 {
		if err := json.Unmarshal(requested, &r); err != nil {
			return nil, nil, fmt.Errorf("stored placement request: %w", err)
		}
	}
	var strategy []types.PlacementStrategy
	for _, s := range r.Strategy {
		ps := types.PlacementStrategy{Type: types.PlacementStrategyType(s.Type)}
		if s.Field != "" {
			ps.Field = ptr(s.Field)
		}
		strategy = append(strategy, ps)
	}
	var constraints []types.PlacementConstraint
	for _, c := range r.Constraints {
		pc := types.PlacementConstraint{Type: types.PlacementConstraintType(c.Type)}
		if c.Expression != "" {
			pc.Expression = ptr(c.Expression)
		}
		constraints = append(constraints, pc)
	}
	return PlacementRules(strategy, td.PlacementConstraints, constraints)
}

// TaskPlacementRequirements is what an instance must offer a task of td
// with overrides, as the placement engine reads it.
func TaskPlacementRequirements(td types.TaskDefinition, ov *types.TaskOverride) placement.Requirements {
	r, err := placement.RequirementsFor(td, ov)
	if err == nil {
		return r
	}
	// A revision ECS accepted always parses; should one not, place it by
	// the domain's reading of its reservation.
	res := ecs.TaskReservation(td, ov)
	r = placement.Requirements{CPU: res.CPU, Memory: res.Memory, GPUs: res.GPUs}
	for _, port := range res.Ports {
		r.Ports = append(r.Ports, placement.PortMapping{HostPort: port, ContainerPort: port, Count: 1, Protocol: placement.TCP})
	}
	for _, port := range res.PortsUDP {
		r.Ports = append(r.Ports, placement.PortMapping{HostPort: port, ContainerPort: port, Count: 1, Protocol: placement.UDP})
	}
	for _, a := range td.RequiresAttributes {
		r.Attributes = append(r.Attributes, placement.Attribute{Name: deref(a.Name), Value: a.Value})
	}
	return r
}

// HasExternalAgent reports an instance registered with
// AttrExternalAgent=external.
func HasExternalAgent(attrs []types.Attribute) bool {
	for _, a := range attrs {
		if deref(a.Name) == AttrExternalAgent && deref(a.Value) == ExternalAgentValue {
			return true
		}
	}
	return false
}

// ApplyPlacement records a placement in a new task: its container
// instance, the instance's availability zone, its CPU architecture
// attribute and the GPUs its containers were given.
func ApplyPlacement(t *types.Task, td types.TaskDefinition, pl Placement) {
	t.ContainerInstanceArn = pl.Instance.ContainerInstanceArn
	for _, a := range pl.Instance.Attributes {
		switch deref(a.Name) {
		case ecs.AttrAvailabilityZone:
			t.AvailabilityZone = ptr(deref(a.Value))
		case ecs.AttrCPUArchitecture:
			t.Attributes = append(t.Attributes, types.Attribute{Name: ptr(ecs.AttrCPUArchitecture), Value: ptr(deref(a.Value))})
		}
	}
	if len(pl.Reservation.GPUIDs) == 0 {
		return
	}
	// Hand the GPUs out to the containers that asked, in order.
	next := pl.Reservation.GPUIDs
	for ci := range t.Containers {
		for _, cd := range td.ContainerDefinitions {
			if deref(cd.Name) != deref(t.Containers[ci].Name) {
				continue
			}
			for _, rr := range cd.ResourceRequirements {
				if rr.Type != types.ResourceTypeGpu {
					continue
				}
				n := 0
				fmt.Sscan(deref(rr.Value), &n)
				n = min(n, len(next))
				t.Containers[ci].GpuIds = append(t.Containers[ci].GpuIds, next[:n]...)
				next = next[n:]
			}
		}
	}
}

// PlacementRecord sets a new task's record's placement columns.
func PlacementRecord(rec *store.Task, pl Placement) {
	rec.ContainerInstance = pl.ID
	rec.Reservation = ToReservation(pl.Reservation)
	rec.Reservation.Dynamic = pl.Dynamic
	rec.ExternalAgent = pl.ExternalAgent
}

// PlacementFailureEvent is the service event for a task the scheduler
// could not place, in ECS's words.
func PlacementFailureEvent(service string, f *placement.Failure, err error) string {
	if err != nil || f == nil {
		return placement.ServiceUnableToPlaceMessage(service, placement.Failure{NoInstances: true})
	}
	return placement.ServiceUnableToPlaceMessage(service, *f)
}

// TaskRequirements is what an instance must offer a task of td with
// overrides, as StartTask checks the instances it names.
func TaskRequirements(td types.TaskDefinition, ov *types.TaskOverride) ecs.TaskRequirements {
	return ecs.TaskRequirements{Reservation: ecs.TaskReservation(td, ov), RequiresAttributes: td.RequiresAttributes}
}
