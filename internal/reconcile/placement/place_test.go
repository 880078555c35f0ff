package placement

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

const arnPrefix = "arn:aws:ecs:us-east-1:123456789012:container-instance/c1/"

// inst is a connected ACTIVE instance with 4096 CPU units, 8192 MiB, the
// agent's reserved ports and no tasks.
func inst(id, az string) Instance {
	return Instance{
		ARN: arnPrefix + id, Status: StatusActive, AgentConnected: true,
		Attributes: map[string]string{AttrAvailabilityZone: az, "ecs.instance-type": "m5.xlarge"},
		Remaining:  Resources{CPU: 4096, Memory: 8192, PortsTCP: []int{22, 2375, 2376, 51678, 51679}, PortsUDP: []int{}},
	}
}

func with(in Instance, f func(*Instance)) Instance { f(&in); return in }

func placedOn(r Result) []string {
	var out []string
	for _, o := range r.Outcomes {
		if o.Placement != nil {
			out = append(out, ContainerInstanceID(o.Placement.InstanceARN))
		} else {
			out = append(out, "FAIL:"+string(o.Failure.Reason))
		}
	}
	return out
}

func binpack(field string) Strategy {
	return Strategy{Type: types.PlacementStrategyTypeBinpack, Field: field}
}
func spread(field string) Strategy {
	return Strategy{Type: types.PlacementStrategyTypeSpread, Field: field}
}

func TestPlaceStrategies(t *testing.T) {
	small := Requirements{CPU: 256, Memory: 1024}
	three := []Instance{
		with(inst("a1", "us-east-1a"), func(in *Instance) { in.Remaining.Memory = 6000 }),
		with(inst("a2", "us-east-1a"), func(in *Instance) { in.Remaining.Memory = 3000 }),
		with(inst("b1", "us-east-1b"), func(in *Instance) { in.Remaining.Memory = 4000 }),
	}
	tests := []struct {
		name       string
		instances  []Instance
		req        Requirements
		count      int
		strategies []Strategy
		want       []string
	}{
		{
			// "a task is placed on the instance with the least amount of
			// remaining memory but still enough to run the task"
			name: "binpack memory fills the fullest instance first", instances: three, req: small, count: 4,
			strategies: []Strategy{binpack(FieldMemory)},
			want:       []string{"a2", "a2", "b1", "b1"},
		},
		{
			name: "binpack cpu", req: small, count: 2,
			instances: []Instance{
				with(inst("x", "z"), func(in *Instance) { in.Remaining.CPU = 2048 }),
				with(inst("y", "z"), func(in *Instance) { in.Remaining.CPU = 512 }),
			},
			strategies: []Strategy{binpack(FieldCPU)},
			want:       []string{"y", "y"},
		},
		{
			name: "binpack skips an instance that is too small", req: Requirements{Memory: 3500}, count: 2, instances: three,
			strategies: []Strategy{binpack(FieldMemory)},
			want:       []string{"b1", "a1"},
		},
		{
			// "distributes tasks evenly across Availability Zones and then
			// bin packs tasks based on memory within each Availability Zone"
			name: "spread across zones, then binpack within the zone", instances: three, req: small, count: 4,
			strategies: []Strategy{spread("attribute:" + AttrAvailabilityZone), binpack(FieldMemory)},
			want:       []string{"a2", "b1", "a2", "b1"},
		},
		{
			name: "spread by instanceId", instances: three, req: small, count: 5,
			strategies: []Strategy{spread(FieldInstanceID)},
			want:       []string{"a1", "a2", "b1", "a1", "a2"},
		},
		{
			name: "spread counts the group's tasks already running", req: small, count: 2,
			instances: []Instance{
				with(inst("a1", "us-east-1a"), func(in *Instance) {
					in.Tasks = []Task{{ARN: "t1", Group: "service:web"}, {ARN: "t2", Group: "service:web"}, {ARN: "x", Group: "service:other"}}
				}),
				inst("b1", "us-east-1b"),
			},
			strategies: []Strategy{spread("attribute:" + AttrAvailabilityZone)},
			want:       []string{"b1", "b1"},
		},
		{
			name: "no strategy: the first instance in ARN order", instances: three, req: small, count: 2,
			want: []string{"a1", "a1"},
		},
		{
			name: "a random strategy with no source takes the first", instances: three, req: small, count: 1,
			strategies: []Strategy{{Type: types.PlacementStrategyTypeRandom}, binpack(FieldMemory)},
			want:       []string{"a1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Place(Input{Instances: tc.instances, Requirements: tc.req, Count: tc.count, Group: "service:web", Strategies: tc.strategies})
			if diff := cmp.Diff(tc.want, placedOn(got)); diff != "" {
				t.Errorf("placements (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlaceFailures(t *testing.T) {
	req := Requirements{CPU: 1024, Memory: 2048}
	tests := []struct {
		name        string
		instances   []Instance
		req         Requirements
		constraints []Constraint
		count       int
		want        []string
		closest     string
	}{
		{name: "cpu", instances: []Instance{with(inst("a", "z"), func(in *Instance) { in.Remaining.CPU = 512 })}, req: req, count: 1,
			want: []string{"FAIL:RESOURCE:CPU"}, closest: "a"},
		{name: "memory", instances: []Instance{with(inst("a", "z"), func(in *Instance) { in.Remaining.Memory = 100 })}, req: req, count: 1,
			want: []string{"FAIL:RESOURCE:MEMORY"}, closest: "a"},
		{name: "memory runs out after two tasks", instances: []Instance{with(inst("a", "z"), func(in *Instance) { in.Remaining.Memory = 4096 })}, req: req, count: 4,
			want: []string{"a", "a", "FAIL:RESOURCE:MEMORY", "FAIL:RESOURCE:MEMORY"}, closest: "a"},
		{name: "gpu", instances: []Instance{with(inst("a", "z"), func(in *Instance) { in.Remaining.GPUs = []string{"GPU-1"} })},
			req: Requirements{GPUs: 2}, count: 1, want: []string{"FAIL:RESOURCE:GPU"}, closest: "a"},
		{name: "static port in use", instances: []Instance{inst("a", "z")},
			req: Requirements{Ports: []PortMapping{{ContainerPort: 22, HostPort: 22, Count: 1, Protocol: TCP}}}, count: 1,
			want: []string{"FAIL:RESOURCE:PORTS"}, closest: "a"},
		{name: "static port taken by the first task", instances: []Instance{inst("a", "z")},
			req: Requirements{Ports: []PortMapping{{ContainerPort: 80, HostPort: 80, Count: 1, Protocol: TCP}}}, count: 2,
			want: []string{"a", "FAIL:RESOURCE:PORTS"}, closest: "a"},
		{name: "udp port", instances: []Instance{with(inst("a", "z"), func(in *Instance) { in.Remaining.PortsUDP = []int{53} })},
			req: Requirements{Ports: []PortMapping{{ContainerPort: 53, HostPort: 53, Count: 1, Protocol: UDP}}}, count: 1,
			want: []string{"FAIL:RESOURCE:PORTS_UDP"}, closest: "a"},
		{name: "the same port number on tcp and udp is no conflict", instances: []Instance{with(inst("a", "z"), func(in *Instance) { in.Remaining.PortsUDP = []int{80} })},
			req: Requirements{Ports: []PortMapping{{ContainerPort: 80, HostPort: 80, Count: 1, Protocol: TCP}}}, count: 1,
			want: []string{"a"}},
		{name: "agent disconnected", instances: []Instance{with(inst("a", "z"), func(in *Instance) { in.AgentConnected = false })}, req: req, count: 1,
			want: []string{"FAIL:AGENT"}, closest: "a"},
		{name: "missing attribute", instances: []Instance{inst("a", "z")},
			req: Requirements{Attributes: []Attribute{{Name: "ecs.capability.task-eni"}}}, count: 1,
			want: []string{"FAIL:ATTRIBUTE"}, closest: "a"},
		{name: "attribute with the wrong value", instances: []Instance{inst("a", "z")},
			req: Requirements{Attributes: []Attribute{{Name: "ecs.instance-type", Value: str("t3.micro")}}}, count: 1,
			want: []string{"FAIL:ATTRIBUTE"}, closest: "a"},
		{name: "distinctInstance", instances: []Instance{inst("a", "z"), inst("b", "z")}, req: req, count: 3,
			constraints: []Constraint{DistinctInstance()},
			want:        []string{"a", "b", "FAIL:DistinctInstance placement constraint unsatisfied."}, closest: "a"},
		{name: "memberOf", instances: []Instance{inst("a", "z")}, req: req, count: 1,
			constraints: []Constraint{MemberOf("attribute:ecs.instance-type == t3.micro", PredicateFunc(func(in *Instance) bool {
				return in.Attributes["ecs.instance-type"] == "t3.micro"
			}))},
			want: []string{"FAIL:MemberOf placement constraint unsatisfied."}, closest: "a"},
		{
			// A draining instance is no candidate; the closest match is
			// among the ACTIVE ones.
			name: "draining instances are skipped",
			instances: []Instance{
				with(inst("a", "z"), func(in *Instance) { in.Status = StatusDraining }),
				with(inst("b", "z"), func(in *Instance) { in.Remaining.CPU = 0 }),
			},
			req: req, count: 1, want: []string{"FAIL:RESOURCE:CPU"}, closest: "b",
		},
		{
			// The closest match is the instance that passed the most
			// checks: b has the memory a lacks but not the port.
			name: "closest matching instance",
			instances: []Instance{
				with(inst("a", "z"), func(in *Instance) { in.Remaining.Memory = 10 }),
				with(inst("b", "z"), func(in *Instance) { in.Remaining.PortsTCP = append(in.Remaining.PortsTCP, 80) }),
				with(inst("c", "z"), func(in *Instance) { in.AgentConnected = false }),
			},
			req:  Requirements{CPU: 10, Memory: 100, Ports: []PortMapping{{ContainerPort: 80, HostPort: 80, Count: 1, Protocol: TCP}}},
			want: []string{"FAIL:RESOURCE:PORTS"}, count: 1, closest: "b",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Place(Input{Instances: tc.instances, Requirements: tc.req, Count: tc.count, Group: "family:web", Constraints: tc.constraints})
			if diff := cmp.Diff(tc.want, placedOn(got)); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			if f := got.Failures(); len(f) > 0 && ContainerInstanceID(f[0].InstanceARN) != tc.closest {
				t.Errorf("closest matching instance %q, want %q", f[0].InstanceARN, tc.closest)
			}
		})
	}
}

func TestPlaceNoInstances(t *testing.T) {
	for name, instances := range map[string][]Instance{
		"none":          nil,
		"only draining": {with(inst("a", "z"), func(in *Instance) { in.Status = StatusDraining })},
		"only inactive": {with(inst("a", "z"), func(in *Instance) { in.Status = "INACTIVE" })},
	} {
		got := Place(Input{Instances: instances, Requirements: Requirements{CPU: 1}, Count: 2})
		for _, o := range got.Outcomes {
			if o.Failure == nil || !o.Failure.NoInstances {
				t.Errorf("%s: outcome %+v, want NoInstances", name, o)
			}
		}
		if len(got.Outcomes) != 2 {
			t.Errorf("%s: %d outcomes", name, len(got.Outcomes))
		}
	}
}

func TestPlacePorts(t *testing.T) {
	a := with(inst("a", "z"), func(in *Instance) {
		in.DynamicPorts = PortRange{49153, 49160}
		in.Remaining.PortsTCP = append(in.Remaining.PortsTCP, 49153) // a static reservation inside the range
		in.Tasks = []Task{{ARN: "old", Group: "g", HostPorts: []HostPort{{49154, TCP}, {49156, TCP}}}}
	})
	req := Requirements{CPU: 1, Memory: 1, Ports: []PortMapping{
		{Container: "web", ContainerPort: 80, Count: 1, Protocol: TCP},
		{Container: "web", ContainerPort: 8080, HostPort: 8080, Count: 1, Protocol: TCP},
		{Container: "dns", ContainerPort: 53, Count: 1, Protocol: UDP},
	}}
	got := Place(Input{Instances: []Instance{a}, Requirements: req, Count: 1, Group: "g", TaskARNs: []string{"t1"}})
	p := got.Outcomes[0].Placement
	if p == nil {
		t.Fatalf("not placed: %+v", got.Outcomes[0].Failure)
	}
	want := []Binding{
		{Container: "web", ContainerPort: 80, HostPort: 49155, Protocol: TCP, Dynamic: true, Count: 1},
		{Container: "web", ContainerPort: 8080, HostPort: 8080, Protocol: TCP, Count: 1},
		{Container: "dns", ContainerPort: 53, HostPort: 49153, Protocol: UDP, Dynamic: true, Count: 1},
	}
	if diff := cmp.Diff(want, p.Bindings); diff != "" {
		t.Errorf("bindings (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{8080}, p.PortsTCP); diff != "" {
		t.Errorf("static tcp ports: %s", diff)
	}
	// The next task sees the first one's ports; with a range of 8 ports and
	// 4 used, dynamic TCP ports run out after 49157..49160.
	second := Place(Input{Instances: got.Instances, Requirements: Requirements{Ports: []PortMapping{{ContainerPort: 80, Count: 1, Protocol: TCP}}}, Count: 5, Group: "g"})
	if diff := cmp.Diff([]string{"a", "a", "a", "a", "FAIL:RESOURCE:PORTS"}, placedOn(second)); diff != "" {
		t.Errorf("second request (-want +got):\n%s", diff)
	}
	var hosts []int
	for _, p := range second.Placed() {
		hosts = append(hosts, p.Bindings[0].HostPort)
	}
	if diff := cmp.Diff([]int{49157, 49158, 49159, 49160}, hosts); diff != "" {
		t.Errorf("dynamic ports (-want +got):\n%s", diff)
	}
}

func TestPlacePortRanges(t *testing.T) {
	a := with(inst("a", "z"), func(in *Instance) {
		in.DynamicPorts = PortRange{50000, 50010}
		in.Remaining.PortsTCP = []int{50002}
	})
	req := Requirements{Ports: []PortMapping{
		{Container: "c", ContainerPortRange: "9000-9003", Count: 4, Protocol: TCP},
		{Container: "c", ContainerPortRange: "7000-7001", HostPort: 7000, Count: 2, Protocol: TCP},
	}}
	got := Place(Input{Instances: []Instance{a}, Requirements: req, Count: 2})
	if diff := cmp.Diff([]string{"a", "FAIL:RESOURCE:PORTS"}, placedOn(got)); diff != "" {
		t.Fatalf("outcomes (-want +got):\n%s", diff)
	}
	want := []Binding{
		{Container: "c", ContainerPortRange: "9000-9003", HostPortRange: "50003-50006", Protocol: TCP, Dynamic: true, Count: 4},
		{Container: "c", ContainerPortRange: "7000-7001", HostPortRange: "7000-7001", Protocol: TCP, Count: 2},
	}
	if diff := cmp.Diff(want, got.Outcomes[0].Placement.Bindings); diff != "" {
		t.Errorf("bindings (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{50002, 7000, 7001}, got.Instances[0].Remaining.PortsTCP); diff != "" {
		t.Errorf("remaining PORTS (-want +got):\n%s", diff)
	}
}

func TestPlaceReservedPortLimit(t *testing.T) {
	a := inst("a", "z")
	a.Remaining.PortsTCP = nil
	for p := 1000; p < 1000+MaxReservedPorts-1; p++ {
		a.Remaining.PortsTCP = append(a.Remaining.PortsTCP, p)
	}
	req := Requirements{Ports: []PortMapping{{ContainerPort: 80, HostPort: 80, Count: 1, Protocol: TCP}}}
	if got := placedOn(Place(Input{Instances: []Instance{a}, Requirements: req, Count: 1})); got[0] != "a" {
		t.Fatalf("the 100th reserved port was refused: %v", got)
	}
	req.Ports = append(req.Ports, PortMapping{ContainerPort: 81, HostPort: 81, Count: 1, Protocol: TCP})
	if got := placedOn(Place(Input{Instances: []Instance{a}, Requirements: req, Count: 1})); got[0] != "FAIL:RESOURCE:PORTS" {
		t.Fatalf("the 101st reserved port was accepted: %v", got)
	}
}

func TestPlaceReservesAndLeavesInputAlone(t *testing.T) {
	a := with(inst("a", "z"), func(in *Instance) { in.Remaining.GPUs = []string{"GPU-3", "GPU-1", "GPU-2"} })
	before := a.clone()
	req := Requirements{CPU: 1000, Memory: 3000, GPUs: 2, Ports: []PortMapping{{ContainerPort: 80, HostPort: 80, Count: 1, Protocol: TCP}}}
	got := Place(Input{Instances: []Instance{a}, Requirements: req, Count: 1, Group: "g", TaskARNs: []string{"task-1"}})
	if diff := cmp.Diff(before, a); diff != "" {
		t.Errorf("the caller's instance changed:\n%s", diff)
	}
	p := got.Outcomes[0].Placement
	if diff := cmp.Diff([]string{"GPU-1", "GPU-2"}, p.GPUs); diff != "" {
		t.Errorf("GPUs: %s", diff)
	}
	after := got.Instances[0]
	if after.Remaining.CPU != 4096-1000 || after.Remaining.Memory != 8192-3000 {
		t.Errorf("remaining cpu/memory %d/%d", after.Remaining.CPU, after.Remaining.Memory)
	}
	if diff := cmp.Diff([]Task{{ARN: "task-1", Group: "g", CPU: 1000, Memory: 3000, HostPorts: []HostPort{{80, TCP}}}}, after.Tasks); diff != "" {
		t.Errorf("tasks: %s", diff)
	}
	wantRes := []types.Resource{
		{Name: str("CPU"), Type: str("INTEGER"), IntegerValue: 3096},
		{Name: str("MEMORY"), Type: str("INTEGER"), IntegerValue: 5192},
		{Name: str("PORTS"), Type: str("STRINGSET"), StringSetValue: []string{"22", "80", "2375", "2376", "51678", "51679"}},
		{Name: str("PORTS_UDP"), Type: str("STRINGSET"), StringSetValue: []string{}},
		{Name: str("GPU"), Type: str("STRINGSET"), StringSetValue: []string{"GPU-3"}},
	}
	if diff := cmp.Diff(wantRes, after.RemainingResources(), cmpResource); diff != "" {
		t.Errorf("remainingResources (-want +got):\n%s", diff)
	}
}

var cmpResource = cmp.Comparer(func(a, b types.Resource) bool {
	return deref(a.Name) == deref(b.Name) && deref(a.Type) == deref(b.Type) && a.IntegerValue == b.IntegerValue &&
		strings.Join(a.StringSetValue, ",") == strings.Join(b.StringSetValue, ",")
})

func TestInstanceFromECS(t *testing.T) {
	ci := types.ContainerInstance{
		ContainerInstanceArn: str(arnPrefix + "abc"), Status: str("ACTIVE"), AgentConnected: true, Ec2InstanceId: str("i-1"),
		Attributes: []types.Attribute{{Name: str(AttrAvailabilityZone), Value: str("us-east-1a")}, {Name: str("ecs.capability.task-eni")}},
		RemainingResources: []types.Resource{
			{Name: str("CPU"), IntegerValue: 2048}, {Name: str("MEMORY"), IntegerValue: 3000},
			{Name: str("PORTS"), StringSetValue: []string{"22", "80"}}, {Name: str("PORTS_UDP"), StringSetValue: []string{}},
			{Name: str("GPU"), StringSetValue: []string{"GPU-a"}},
		},
	}
	task := TaskFromECS(types.Task{TaskArn: str("t"), Group: str("service:web"), Cpu: str("256"), Memory: str("512"), Containers: []types.Container{{
		NetworkBindings: []types.NetworkBinding{{HostPort: i32(49153)}, {HostPortRange: str("50000-50001"), Protocol: types.TransportProtocolUdp}},
	}}})
	got := InstanceFromECS(ci, []Task{task})
	want := Instance{
		ARN: arnPrefix + "abc", Status: "ACTIVE", AgentConnected: true, EC2InstanceID: "i-1",
		Attributes: map[string]string{AttrAvailabilityZone: "us-east-1a", "ecs.capability.task-eni": ""},
		Remaining:  Resources{CPU: 2048, Memory: 3000, PortsTCP: []int{22, 80}, PortsUDP: []int{}, GPUs: []string{"GPU-a"}},
		Tasks: []Task{{ARN: "t", Group: "service:web", CPU: 256, Memory: 512,
			HostPorts: []HostPort{{49153, TCP}, {50000, UDP}, {50001, UDP}}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("instance (-want +got):\n%s", diff)
	}
	if got.ID() != "abc" {
		t.Errorf("ID %q", got.ID())
	}
}

func TestPlaceMemberOfSeesPlacedTasks(t *testing.T) {
	// An expression on task:group sees the tasks placed before in the same
	// request: here "not on an instance that already runs one of ours".
	none := PredicateFunc(func(in *Instance) bool {
		for _, t := range in.Tasks {
			if t.Group == "g" {
				return false
			}
		}
		return true
	})
	got := Place(Input{Instances: []Instance{inst("a", "z"), inst("b", "z")}, Requirements: Requirements{CPU: 1}, Count: 3, Group: "g",
		Constraints: []Constraint{MemberOf("not(task:group == g)", none)}})
	if diff := cmp.Diff([]string{"a", "b", "FAIL:MemberOf placement constraint unsatisfied."}, placedOn(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPlaceRandomUsesTheSource(t *testing.T) {
	instances := []Instance{inst("a", "z"), inst("b", "z"), inst("c", "z"), inst("d", "z")}
	seen := map[string]bool{}
	r := rand.New(rand.NewPCG(1, 2))
	got := Place(Input{Instances: instances, Requirements: Requirements{CPU: 1}, Count: 200,
		Strategies: []Strategy{{Type: types.PlacementStrategyTypeRandom}}, RandFunc: r.IntN})
	for _, id := range placedOn(got) {
		seen[id] = true
	}
	if len(seen) != 4 {
		t.Errorf("random placement used %v, want all four instances", seen)
	}
}
