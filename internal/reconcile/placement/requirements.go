package placement

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Protocol is a host port's transport protocol: ECS keeps TCP ports in the
// PORTS resource and UDP ports in PORTS_UDP.
type Protocol string

const (
	TCP Protocol = "tcp"
	UDP Protocol = "udp"
)

// PortMapping is one port mapping of a task as it bears on the host.
type PortMapping struct {
	// Container is the container's name, ContainerPort its port (0 for a
	// range mapping, whose ports ContainerPortRange gives as "first-last").
	Container          string
	ContainerPort      int
	ContainerPortRange string
	// HostPort is the static host port (the first of a static range); 0
	// asks for a dynamic host port from the instance's ephemeral range.
	HostPort int
	// Count is how many consecutive host ports the mapping takes: 1, or the
	// size of its container port range.
	Count    int
	Protocol Protocol
}

// Dynamic reports whether the host port is chosen at placement.
func (m PortMapping) Dynamic() bool { return m.HostPort == 0 }

// Attribute is an instance attribute the task requires: the instance must
// carry Name, with Value when Value is not nil.
type Attribute struct {
	Name  string
	Value *string
}

// Requirements is what one task needs from a container instance.
type Requirements struct {
	// CPU is in CPU units, Memory in MiB: what placing the task subtracts
	// from the instance's remaining CPU and MEMORY resources.
	CPU, Memory int
	// GPUs is how many of the instance's GPUs the task takes.
	GPUs int
	// Ports are the mappings that take host ports (none in awsvpc mode,
	// where the task's ports live on its own network interface).
	Ports []PortMapping
	// Attributes the instance must have: the task definition's
	// requiresAttributes.
	Attributes []Attribute
}

// StaticPorts returns the static host ports of protocol p, in mapping order.
func (r Requirements) StaticPorts(p Protocol) []int {
	var out []int
	for _, m := range r.Ports {
		if m.Protocol != p || m.Dynamic() {
			continue
		}
		for k := range m.Count {
			out = append(out, m.HostPort+k)
		}
	}
	return out
}

// RequirementsFor computes what a task of td, with overrides ov (nil for
// none), reserves on a container instance, as ECS computes it for the EC2
// launch type:
//
//   - CPU: the task-level cpu (overridden or from the revision) when set,
//     else the sum of the containers' cpu (0 when unset).
//   - Memory: the task-level memory when set, else the sum over containers
//     of memoryReservation when set, else memory. The developer guide's
//     task definition parameters: "If you specify memoryReservation, then
//     that value is subtracted from the available memory resources for the
//     container instance where the container is placed. Otherwise, the
//     value of memory is used." [V]
//   - GPUs: the sum of the containers' GPU resourceRequirements [V "Amazon
//     ECS task definitions for GPU workloads"].
//   - Ports: in bridge mode (also the default mode on Linux) a mapping with
//     a hostPort takes that static port and one with hostPort 0 or none a
//     dynamic port from the instance's ephemeral range; a
//     containerPortRange takes as many consecutive dynamic ports. In host
//     mode every mapping takes its containerPort (or range) as a static
//     port. awsvpc and none take no host ports.
//   - Attributes: the revision's requiresAttributes.
//
// td is a registered revision (PrepareTaskDefinition has run, so cpu and
// memory are plain numbers); overrides may still use "1 vCPU" or "2 GB".
func RequirementsFor(td types.TaskDefinition, ov *types.TaskOverride) (Requirements, error) {
	var r Requirements
	byName := map[string]types.ContainerOverride{}
	var taskCPU, taskMem *string = td.Cpu, td.Memory
	if ov != nil {
		for _, o := range ov.ContainerOverrides {
			if o.Name != nil {
				byName[*o.Name] = o
			}
		}
		if ov.Cpu != nil {
			taskCPU = ov.Cpu
		}
		if ov.Memory != nil {
			taskMem = ov.Memory
		}
	}
	var sumCPU, sumMem int
	for _, c := range td.ContainerDefinitions {
		name := deref(c.Name)
		o := byName[name]
		cpu := int(c.Cpu)
		if o.Cpu != nil {
			cpu = int(*o.Cpu)
		}
		mem, res := c.Memory, c.MemoryReservation
		if o.Memory != nil {
			mem = o.Memory
		}
		if o.MemoryReservation != nil {
			res = o.MemoryReservation
		}
		sumCPU += cpu
		switch {
		case res != nil:
			sumMem += int(*res)
		case mem != nil:
			sumMem += int(*mem)
		}
		reqs := c.ResourceRequirements
		if o.ResourceRequirements != nil {
			reqs = o.ResourceRequirements
		}
		for _, rr := range reqs {
			if rr.Type != types.ResourceTypeGpu || rr.Value == nil {
				continue
			}
			n, err := strconv.Atoi(*rr.Value)
			if err != nil || n < 0 {
				return Requirements{}, fmt.Errorf("placement: container %q: GPU value %q is not a count", name, *rr.Value)
			}
			r.GPUs += n
		}
		ports, err := hostPorts(name, c.PortMappings, td.NetworkMode)
		if err != nil {
			return Requirements{}, err
		}
		r.Ports = append(r.Ports, ports...)
	}
	r.CPU, r.Memory = sumCPU, sumMem
	if taskCPU != nil {
		v, err := parseUnits(*taskCPU, "vcpu")
		if err != nil {
			return Requirements{}, fmt.Errorf("placement: task cpu %q: %w", *taskCPU, err)
		}
		r.CPU = v
	}
	if taskMem != nil {
		v, err := parseUnits(*taskMem, "gb")
		if err != nil {
			return Requirements{}, fmt.Errorf("placement: task memory %q: %w", *taskMem, err)
		}
		r.Memory = v
	}
	for _, a := range td.RequiresAttributes {
		if a.Name == nil {
			continue
		}
		r.Attributes = append(r.Attributes, Attribute{Name: *a.Name, Value: a.Value})
	}
	return r, nil
}

// hostPorts maps one container's port mappings to the host ports they take
// in network mode mode.
func hostPorts(container string, pms []types.PortMapping, mode types.NetworkMode) ([]PortMapping, error) {
	if mode == types.NetworkModeAwsvpc || mode == types.NetworkModeNone {
		return nil, nil
	}
	var out []PortMapping
	for _, pm := range pms {
		m := PortMapping{Container: container, Count: 1, Protocol: TCP}
		if pm.Protocol == types.TransportProtocolUdp {
			m.Protocol = UDP
		}
		switch {
		case pm.ContainerPortRange != nil:
			lo, hi, err := portRange(*pm.ContainerPortRange)
			if err != nil {
				return nil, fmt.Errorf("placement: container %q: %w", container, err)
			}
			m.ContainerPortRange = *pm.ContainerPortRange
			m.Count = hi - lo + 1
			if mode == types.NetworkModeHost {
				m.HostPort = lo
			}
		case pm.ContainerPort != nil:
			m.ContainerPort = int(*pm.ContainerPort)
			switch {
			case mode == types.NetworkModeHost:
				m.HostPort = m.ContainerPort
			case pm.HostPort != nil:
				m.HostPort = int(*pm.HostPort)
			}
		default:
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

// portRange parses "first-last".
func portRange(s string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("container port range %q is not first-last", s)
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi {
		return 0, 0, fmt.Errorf("container port range %q is not first-last", s)
	}
	return lo, hi, nil
}

// parseUnits reads a task cpu or memory value: a plain number, or one with
// the unit suffix ("1 vCPU" is 1024 CPU units, "2 GB" 2048 MiB).
func parseUnits(s, suffix string) (int, error) {
	v := strings.TrimSpace(strings.ToLower(s))
	mult := 1.0
	if n, ok := strings.CutSuffix(v, suffix); ok {
		v, mult = strings.TrimSpace(n), 1024
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("not a number of units")
	}
	return int(f * mult), nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
