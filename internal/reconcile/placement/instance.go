package placement

import (
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Container instance statuses that matter to placement.
const (
	StatusActive   = "ACTIVE"
	StatusDraining = "DRAINING"
)

// AttrAvailabilityZone is the built-in attribute ECS gives every container
// instance with its Availability Zone, the field of ECS's default spread.
const AttrAvailabilityZone = "ecs.availability-zone"

// The ECS container agent's default ephemeral host port range on Linux
// (ECS_DYNAMIC_HOST_PORT_RANGE, "49153-65535"), from which bridge-mode
// tasks without a hostPort get theirs [V developer guide, agent
// configuration; PortMapping.hostPort].
const (
	DefaultDynamicPortFirst = 49153
	DefaultDynamicPortLast  = 65535
)

// MaxReservedPorts is the most static host ports ECS reserves on one
// container instance: "The closest matching container instance for task
// placement can not exceed the maximum allowed reserved port limit of 100
// host ports per container instance." [V developer guide, service event
// messages, "Too many ports registered"]. ecsd applies it to TCP and UDP
// separately [I].
const MaxReservedPorts = 100

// Resources are a container instance's remaining resources, as its
// remainingResources list them.
type Resources struct {
	// CPU is in CPU units, Memory in MiB.
	CPU, Memory int
	// PortsTCP and PortsUDP are the reserved host ports (the PORTS and
	// PORTS_UDP string sets): the agent's reserved ports and the static
	// host ports of the instance's tasks.
	PortsTCP, PortsUDP []int
	// GPUs are the IDs of the instance's free GPUs.
	GPUs []string
}

// PortRange is an inclusive range of host ports.
type PortRange struct{ First, Last int }

// HostPort is a host port a task holds.
type HostPort struct {
	Port     int
	Protocol Protocol
}

// Task is what placement needs to know of a task already on an instance
// (any task that is not STOPPED: a stopping task still holds its
// resources, which Remaining already reflects).
type Task struct {
	ARN string
	// Group is the task group: "service:NAME" for a service's tasks,
	// "family:FAMILY" or the RunTask group for standalone ones. Spread
	// strategies and distinctInstance count tasks of one group [V
	// developer guide: "Service tasks are spread based on the tasks from
	// that service. Standalone tasks are spread based on the tasks from the
	// same task group."].
	Group             string
	TaskDefinitionARN string
	// CPU and Memory are what the task reserves on the instance.
	CPU, Memory int
	// Daemon is set for tasks of DAEMON services: managed scaling counts an
	// instance running only daemon tasks as empty, and a draining
	// instance's daemon task stops last.
	Daemon bool
	// HostPorts are the host ports of its network bindings, dynamic ones
	// included, so that a dynamic port is never handed out twice.
	HostPorts []HostPort
}

// Instance is a container instance as placement sees it.
type Instance struct {
	// ARN is the container instance ARN; failures and events name it.
	ARN string
	// Status is ACTIVE, DRAINING, REGISTERING, ...: only ACTIVE instances
	// whose agent is connected receive tasks.
	Status         string
	AgentConnected bool
	EC2InstanceID  string
	// Attributes are the instance's attributes, built-in (ecs.*,
	// com.amazonaws.ecs.capability.*) and custom; a valueless attribute
	// maps to "".
	Attributes map[string]string
	Remaining  Resources
	// DynamicPorts is the instance's ephemeral host port range; the zero
	// value means the agent's default.
	DynamicPorts PortRange
	// Tasks are the instance's tasks that are not STOPPED.
	Tasks []Task
}

// ID is the container instance ID: the last element of the ARN, as service
// event messages name it.
func (in *Instance) ID() string { return ContainerInstanceID(in.ARN) }

// ContainerInstanceID returns the ID part of a container instance ARN (or
// the argument when it has no slash).
func ContainerInstanceID(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

func (in *Instance) dynamicRange() PortRange {
	if in.DynamicPorts.First <= 0 || in.DynamicPorts.Last < in.DynamicPorts.First {
		return PortRange{DefaultDynamicPortFirst, DefaultDynamicPortLast}
	}
	return in.DynamicPorts
}

// placeable reports whether the instance takes new tasks at all. Draining
// instances take none [V "When a container instance is set to DRAINING,
// Amazon ECS prevents new tasks from being scheduled for placement on the
// container instance."]; neither do instances that are registering,
// deregistering or inactive.
func (in *Instance) placeable() bool { return in.Status == StatusActive }

// clone copies what placement changes, so the caller's instance is never
// modified.
func (in Instance) clone() Instance {
	in.Remaining.PortsTCP = slices.Clone(in.Remaining.PortsTCP)
	in.Remaining.PortsUDP = slices.Clone(in.Remaining.PortsUDP)
	in.Remaining.GPUs = slices.Clone(in.Remaining.GPUs)
	in.Tasks = slices.Clip(in.Tasks)
	return in
}

// InstanceFromECS builds an Instance from a container instance record and
// the instance's tasks (which the caller converts with TaskFromECS, marking
// DAEMON services' tasks).
func InstanceFromECS(ci types.ContainerInstance, tasks []Task) Instance {
	in := Instance{
		ARN:            deref(ci.ContainerInstanceArn),
		Status:         deref(ci.Status),
		AgentConnected: ci.AgentConnected,
		EC2InstanceID:  deref(ci.Ec2InstanceId),
		Attributes:     make(map[string]string, len(ci.Attributes)),
		Tasks:          tasks,
	}
	for _, a := range ci.Attributes {
		if a.Name != nil {
			in.Attributes[*a.Name] = deref(a.Value)
		}
	}
	for _, r := range ci.RemainingResources {
		switch deref(r.Name) {
		case "CPU":
			in.Remaining.CPU = int(r.IntegerValue)
		case "MEMORY":
			in.Remaining.Memory = int(r.IntegerValue)
		case "PORTS":
			in.Remaining.PortsTCP = atois(r.StringSetValue)
		case "PORTS_UDP":
			in.Remaining.PortsUDP = atois(r.StringSetValue)
		case "GPU":
			in.Remaining.GPUs = slices.Clone(r.StringSetValue)
		}
	}
	return in
}

// TaskFromECS builds a Task from a task record. Daemon is left for the
// caller, who knows the task's service. CPU and Memory are the task's cpu
// and memory, which for a task without task-level memory is the sum of its
// containers' memory limits rather than their reservations [I].
func TaskFromECS(t types.Task) Task {
	out := Task{ARN: deref(t.TaskArn), Group: deref(t.Group), TaskDefinitionARN: deref(t.TaskDefinitionArn)}
	if t.Cpu != nil {
		out.CPU, _ = parseUnits(*t.Cpu, "vcpu")
	}
	if t.Memory != nil {
		out.Memory, _ = parseUnits(*t.Memory, "gb")
	}
	for _, c := range t.Containers {
		for _, b := range c.NetworkBindings {
			p := TCP
			if b.Protocol == types.TransportProtocolUdp {
				p = UDP
			}
			switch {
			case b.HostPort != nil:
				out.HostPorts = append(out.HostPorts, HostPort{int(*b.HostPort), p})
			case b.HostPortRange != nil:
				if lo, hi, err := portRange(*b.HostPortRange); err == nil {
					for port := lo; port <= hi; port++ {
						out.HostPorts = append(out.HostPorts, HostPort{port, p})
					}
				}
			}
		}
	}
	return out
}

// RemainingResources renders the instance's remaining resources as a
// container instance's remainingResources list: what the caller writes back
// after placing tasks.
func (in *Instance) RemainingResources() []types.Resource {
	ports := func(ps []int) []string {
		s := slices.Clone(ps)
		slices.Sort(s)
		out := make([]string, len(s))
		for i, p := range s {
			out[i] = strconv.Itoa(p)
		}
		return out
	}
	res := []types.Resource{
		{Name: ptr("CPU"), Type: ptr("INTEGER"), IntegerValue: int32(in.Remaining.CPU)},
		{Name: ptr("MEMORY"), Type: ptr("INTEGER"), IntegerValue: int32(in.Remaining.Memory)},
		{Name: ptr("PORTS"), Type: ptr("STRINGSET"), StringSetValue: ports(in.Remaining.PortsTCP)},
		{Name: ptr("PORTS_UDP"), Type: ptr("STRINGSET"), StringSetValue: ports(in.Remaining.PortsUDP)},
	}
	if in.Remaining.GPUs != nil { // an instance without GPUs has no GPU resource
		gpus := slices.Clone(in.Remaining.GPUs)
		slices.Sort(gpus)
		res = append(res, types.Resource{Name: ptr("GPU"), Type: ptr("STRINGSET"), StringSetValue: gpus})
	}
	return res
}

func atois(ss []string) []int {
	out := make([]int, 0, len(ss))
	for _, s := range ss {
		if n, err := strconv.Atoi(s); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }
