package records

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
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
// transaction. It reads the candidates once and reserves every placement
// on them, so the tasks of one request (or one scheduler pass) never
// share what only one of them can have, and the reservations it makes are
// stored with the tasks in the same transaction.
type Placer struct {
	scope   store.Scope
	cluster string
	choose  ecs.ChooseInstanceFunc
	recs    []store.ContainerInstance
	cands   []ecs.InstanceCandidate
	// groups are the task groups on each candidate, for the query
	// language's task:group.
	groups [][]string
}

// NewPlacer reads the ACTIVE container instances of a cluster and what
// remains of them. choose nil is ecs.FirstFit.
func NewPlacer(tx store.ReadTx, scope store.Scope, cluster string, choose ecs.ChooseInstanceFunc, now time.Time) (*Placer, error) {
	if choose == nil {
		choose = ecs.FirstFit
	}
	p := &Placer{scope: scope, cluster: cluster, choose: choose}
	recs, err := tx.ContainerInstances(scope, store.ContainerInstancesQuery{Cluster: cluster, Statuses: []string{store.InstanceActive}})
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
	for _, rec := range recs {
		attrs, err := tx.TargetAttributes(scope, cluster, rec.ID)
		if err != nil {
			return nil, err
		}
		ci, err := InstanceView(rec, attrs, placed, now)
		if err != nil {
			return nil, err
		}
		remaining := ecs.ResourcesFromWire(ci.RegisteredResources).Remaining(reservationsOn(placed, rec.ID))
		var groups []string
		for _, t := range placed {
			if t.ContainerInstance == rec.ID && t.Group != "" && !slices.Contains(groups, t.Group) {
				groups = append(groups, t.Group)
			}
		}
		p.recs = append(p.recs, rec)
		p.cands = append(p.cands, ecs.InstanceCandidate{Instance: ci, Remaining: remaining})
		p.groups = append(p.groups, groups)
	}
	return p, nil
}

func reservationsOn(placed []store.PlacedTask, id string) []ecs.Reservation {
	var out []ecs.Reservation
	for _, t := range placed {
		if t.ContainerInstance == id {
			out = append(out, FromReservation(t.Reservation))
		}
	}
	return out
}

// Candidates are the instances the placer chooses among, as they stand
// after the placements made so far.
func (p *Placer) Candidates() []ecs.InstanceCandidate { return p.cands }

// Placement is where a task went and what it holds there.
type Placement struct {
	Instance      types.ContainerInstance
	ID            string
	Reservation   ecs.Reservation
	ExternalAgent bool
}

// Place chooses an instance for a task with the given requirements and
// reserves them on it. Without any ACTIVE instance it returns
// ErrNoContainerInstances; when no instance can take the task, the
// failures say why, one per instance (ARN and reason), as RunTask reports
// them.
func (p *Placer) Place(need ecs.TaskRequirements, group string) (Placement, []types.Failure, error) {
	return p.PlaceWhere(nil, need, group)
}

// OfCapacityProvider is the candidate filter of a task a capacity
// provider launches: "EC2-provider tasks only land on the instances of the
// provider's Auto Scaling group", which ECS knows by the instance's
// capacityProviderName (set when the group's instance registers).
func OfCapacityProvider(provider string) func(types.ContainerInstance) bool {
	return func(ci types.ContainerInstance) bool { return deref(ci.CapacityProviderName) == provider }
}

// PlaceWhere is Place among the candidates keep accepts (nil: all). With
// none accepted it returns ErrNoContainerInstances.
func (p *Placer) PlaceWhere(keep func(types.ContainerInstance) bool, need ecs.TaskRequirements, group string) (Placement, []types.Failure, error) {
	var idx []int
	var cands []ecs.InstanceCandidate
	for i, c := range p.cands {
		if keep == nil || keep(c.Instance) {
			idx = append(idx, i)
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		return Placement{}, nil, ErrNoContainerInstances
	}
	j, reasons := p.choose(cands, need)
	if j < 0 || j >= len(cands) {
		var failures []types.Failure
		for k, r := range reasons {
			if r == "" || k >= len(cands) {
				continue
			}
			failures = append(failures, types.Failure{Arn: cands[k].Instance.ContainerInstanceArn, Reason: ptr(r)})
		}
		if len(failures) == 0 { // a chooser that declined without a reason
			failures = append(failures, types.Failure{Arn: cands[0].Instance.ContainerInstanceArn, Reason: ptr(ecs.FailureResourcePrefix + ecs.ResourceCPU)})
		}
		return Placement{}, failures, nil
	}
	i := idx[j]
	c := &p.cands[i]
	got := c.Remaining.Take(need.Reservation)
	if group != "" && !slices.Contains(p.groups[i], group) {
		p.groups[i] = append(p.groups[i], group)
	}
	return Placement{
		Instance: c.Instance, ID: p.recs[i].ID, Reservation: got,
		ExternalAgent: HasExternalAgent(c.Instance.Attributes),
	}, nil, nil
}

// TaskGroups are the groups of the tasks on candidate i, placements of
// this placer included.
func (p *Placer) TaskGroups(i int) []string { return p.groups[i] }

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
	rec.ExternalAgent = pl.ExternalAgent
}

// TaskRequirements is what an instance must offer a task of td with
// overrides.
func TaskRequirements(td types.TaskDefinition, ov *types.TaskOverride) ecs.TaskRequirements {
	return ecs.TaskRequirements{Reservation: ecs.TaskReservation(td, ov), RequiresAttributes: td.RequiresAttributes}
}

// PlacementFailureEvent is the service event for a task the scheduler
// could not place, in ECS's words.
func PlacementFailureEvent(service string, failures []types.Failure, err error) string {
	const tail = " For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
	head := "service " + service + " was unable to place a task because no container instance met all of its requirements."
	if err != nil || len(failures) == 0 {
		return head + " Reason: " + ecs.MsgNoContainerInstances + tail
	}
	f := failures[0]
	id := instanceID(deref(f.Arn))
	reason := deref(f.Reason)
	switch {
	case strings.HasPrefix(reason, ecs.FailureResourcePrefix):
		what := map[string]string{
			ecs.ResourceCPU: "CPU units", ecs.ResourceMemory: "memory", ecs.ResourcePorts: "ports",
			ecs.ResourcePortsUDP: "UDP ports", ecs.ResourceGPU: "GPUs",
		}[strings.TrimPrefix(reason, ecs.FailureResourcePrefix)]
		if what == "ports" || what == "UDP ports" {
			return head + " The closest matching container-instance " + id + " is already using a port required by your task." + tail
		}
		return head + " The closest matching container-instance " + id + " has insufficient " + what + " available." + tail
	case reason == ecs.FailureAttribute:
		return head + " The closest matching container-instance " + id + " is missing an attribute required by your task." + tail
	case reason == ecs.FailureAgent:
		return head + " The closest matching container-instance " + id + " encountered error \"AGENT\"." + tail
	}
	return head + " Reason: " + reason + "." + tail
}
