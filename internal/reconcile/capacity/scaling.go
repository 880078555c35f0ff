package capacity

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/reconcile/placement"
)

// Managed scaling defaults, from the API reference's ManagedScaling [V]:
// instanceWarmupPeriod "If this parameter is omitted, the default value of
// 300 seconds is used"; maximumScalingStepSize "the default value of 10000";
// minimumScalingStepSize "the default value of 1"; targetCapacity "The
// default value of 100 percent".
const (
	DefaultTargetCapacity         = 100
	DefaultMinimumScalingStepSize = 1
	DefaultMaximumScalingStepSize = 10000
	DefaultInstanceWarmupPeriod   = 300 * time.Second
)

// ECS's timing of scale-in, from the developer guide's "Amazon ECS managed
// scaling behavior" [V]: "CloudWatch scale-in alarms require 15 data points
// (15 minutes) before the scale-in process for the Amazon EC2 Auto Scaling
// group starts", and "Amazon ECS waits 15 minutes after a scale-out process
// before starting scale-in processes at all times."
const (
	ScaleInAlarmPeriod   = 15 * time.Minute
	ScaleInAfterScaleOut = 15 * time.Minute
)

// InitialScaleOut is the size ECS scales an empty group to: "When a
// scale-out process is required and there are no currently running
// container instances, Amazon ECS always scales-out to two instances
// initially" [V developer guide, managed scaling behavior].
const InitialScaleOut = 2

// ManagedScaling is a capacity provider's managed scaling settings with
// ECS's defaults applied.
type ManagedScaling struct {
	Enabled                bool
	TargetCapacity         int
	MinimumScalingStepSize int
	MaximumScalingStepSize int
	InstanceWarmupPeriod   time.Duration
}

// ManagedScalingFrom reads a capacity provider's managedScaling (nil:
// managed scaling off).
func ManagedScalingFrom(ms *types.ManagedScaling) ManagedScaling {
	out := ManagedScaling{
		TargetCapacity:         DefaultTargetCapacity,
		MinimumScalingStepSize: DefaultMinimumScalingStepSize,
		MaximumScalingStepSize: DefaultMaximumScalingStepSize,
		InstanceWarmupPeriod:   DefaultInstanceWarmupPeriod,
	}
	if ms == nil {
		return out
	}
	out.Enabled = ms.Status == types.ManagedScalingStatusEnabled
	if ms.TargetCapacity != nil {
		out.TargetCapacity = int(*ms.TargetCapacity)
	}
	if ms.MinimumScalingStepSize != nil {
		out.MinimumScalingStepSize = int(*ms.MinimumScalingStepSize)
	}
	if ms.MaximumScalingStepSize != nil {
		out.MaximumScalingStepSize = int(*ms.MaximumScalingStepSize)
	}
	if ms.InstanceWarmupPeriod != nil {
		out.InstanceWarmupPeriod = time.Duration(*ms.InstanceWarmupPeriod) * time.Second
	}
	return out
}

// GroupInstance is one EC2 instance of the capacity provider's Auto Scaling
// group, launched or launching.
type GroupInstance struct {
	// ID is the EC2 instance ID; ContainerInstanceARN is empty until the
	// instance has registered with the cluster.
	ID                   string
	ContainerInstanceARN string
	AvailabilityZone     string
	LaunchedAt           time.Time
	// NonDaemonTasks counts the instance's tasks that are not STOPPED and
	// belong to no DAEMON service: "A container instance is considered
	// empty even when daemon tasks are running." [V]
	NonDaemonTasks int
}

// InstanceType is the capacity of one instance type of the group: its
// registered CPU units, MiB, GPUs and the host ports its agent reserves.
type InstanceType struct {
	CPU, Memory, GPUs int
	ReservedPorts     []int
}

// Input is one managed scaling evaluation of one capacity provider (ECS
// makes one a minute: "Every minute, Amazon ECS collects information").
type Input struct {
	Now      time.Time
	Settings ManagedScaling
	// MinSize, MaxSize and DesiredCapacity are the Auto Scaling group's;
	// ECS "doesn't modify the MinimumCapacity or MaximumCapacity for the
	// group" [V].
	MinSize, MaxSize, DesiredCapacity int
	// Instances are the group's instances, launching ones included.
	Instances []GroupInstance
	// InstanceTypes are the group's instance types (one for ecsd's
	// simulated groups).
	InstanceTypes []InstanceType
	// Provisioning holds the requirements of each task waiting in
	// PROVISIONING for this capacity provider.
	Provisioning []placement.Requirements
	// LastScaleOutAt is when ECS last scaled the group out (zero: never).
	// BelowTargetSince is when the metric went below targetCapacity and
	// has stayed there (zero: it is not below); the caller keeps it from
	// Plan.BelowTarget.
	LastScaleOutAt, BelowTargetSince time.Time
	// ManagedTerminationProtection and ManagedDraining are the capacity
	// provider's settings (ENABLED).
	ManagedTerminationProtection, ManagedDraining bool
	// ScaleInAlarmPeriod and ScaleInAfterScaleOut replace ECS's 15-minute
	// scale-in waits when positive (ecsd's --scale-in-wait, for local work
	// and tests).
	ScaleInAlarmPeriod, ScaleInAfterScaleOut time.Duration
}

// Plan is the outcome of one evaluation.
type Plan struct {
	// M is the number of instances needed, N the number running;
	// Reservation is CapacityProviderReservation in percent.
	M, N        int
	Reservation float64
	// BelowTarget reports whether the metric is below targetCapacity.
	BelowTarget bool
	// DesiredCapacity is the group's new desired capacity; Launch how many
	// instances that adds.
	DesiredCapacity int
	Launch          int
	// Terminate lists the instances to remove (IDs), in order; with
	// managed draining, Drain lists those to set DRAINING first (the
	// caller terminates each once its tasks have stopped).
	Terminate, Drain []string
	// Hold says why a scaling the metric calls for waits ("" when none
	// does).
	Hold string
	// Incompatible counts the provisioning tasks no instance type of the
	// group can run: they stay in PROVISIONING and do not scale the group.
	Incompatible int
}

// Scale evaluates managed scaling as the developer guide's "Amazon ECS
// managed scaling behavior" and "Automatically manage Amazon ECS capacity
// with cluster auto scaling" describe it [V unless marked]:
//
//	CapacityProviderReservation = (number of instances needed) / (number of running instances) x 100
//
// N is the number of instances in the group. M, the number needed:
//
//   - with tasks in PROVISIONING, ECS groups them "so that each group has
//     the same exact resource requirements", computes for each group with
//     a binpack "the number of instances that are required to run the
//     unplaced tasks" on the largest instance type, leaves out the groups
//     the smallest type cannot run at all, and adds to N
//     minimumScalingStepSize "if the maximum calculated instance count is
//     less than the minimum scaling step size, or the lower of either the
//     maximumScalingStepSize or the maximum calculated instance count";
//     when no group is compatible, "cluster auto scaling stops and the
//     CapacityProviderReservation value remains at the targetCapacity
//     value";
//   - otherwise M is the number of instances running at least one task
//     that is not a daemon task.
//
// With N = 0 the metric is 200 when M > 0 ("always scales-out to two
// instances initially") and 100 when M = 0 [I]. The group then tracks the
// metric to targetCapacity as a target tracking policy does: the desired
// capacity is ceil(M × 100 / targetCapacity) [I: target tracking's
// proportional rule], so a targetCapacity of 90 keeps 10% of the
// instances free ("if you want the capacity provider to maintain 10% spare
// capacity, then that means the utilization is 90%, so use a
// targetCapacity of 90").
//
// Scale-out adds at least minimumScalingStepSize and at most
// maximumScalingStepSize instances, and waits while any instance is within
// its instanceWarmupPeriod ("The scale-out is blocked for instances that
// are within the instanceWarmupPeriod"); an instance warming up counts in
// N, and in M once it runs a task [I]. Scale-in waits until the metric
// has been below target for 15 minutes and 15 minutes have passed since the
// last scale-out, then removes at most half the group at a time (the guide:
// "greater than one instance and less than 50% each minute" [I: read as at
// least one, at most half]). With managed termination protection only
// empty instances are removed ("Amazon ECS removes the scale-in protection
// on the container instances that are empty"); without it the group picks
// by its termination policy, which ecsd approximates by the Default
// policy's first rules (the Availability Zone with the most instances, then
// the oldest instance) [I]. With managed draining the removed instances are
// drained first.
func Scale(in Input) Plan {
	s := in.Settings
	target := s.TargetCapacity
	if target <= 0 || target > 100 {
		target = DefaultTargetCapacity
	}
	p := Plan{N: len(in.Instances), DesiredCapacity: in.DesiredCapacity}
	busy := 0
	for _, gi := range in.Instances {
		if gi.NonDaemonTasks > 0 {
			busy++
		}
	}
	estimate, incompatible := estimateInstances(in.Provisioning, in.InstanceTypes)
	p.Incompatible = incompatible
	switch {
	case estimate > 0:
		step := estimate
		if step < s.MinimumScalingStepSize {
			step = s.MinimumScalingStepSize
		} else {
			step = min(step, s.MaximumScalingStepSize)
		}
		p.M = p.N + step
	case len(in.Provisioning) > 0:
		// Every provisioning task is incompatible: the metric stays at
		// the target and nothing scales.
		p.M = p.N
		p.Reservation = float64(target)
		return p
	default:
		p.M = busy
	}
	switch {
	case p.N == 0 && p.M > 0:
		p.Reservation = 200
	case p.N == 0:
		p.Reservation = 100
	default:
		p.Reservation = float64(p.M) * 100 / float64(p.N)
	}
	if !s.Enabled {
		return p
	}
	t := float64(target)
	switch {
	case p.Reservation > t:
		scaleOut(in, &p, target)
	case p.Reservation < t:
		p.BelowTarget = true
		scaleIn(in, &p, target)
	}
	return p
}

func scaleOut(in Input, p *Plan, target int) {
	s := in.Settings
	for _, gi := range in.Instances {
		if in.Now.Sub(gi.LaunchedAt) < s.InstanceWarmupPeriod {
			p.Hold = fmt.Sprintf("instance %s is within its instanceWarmupPeriod", gi.ID)
			return
		}
	}
	desired := InitialScaleOut
	if p.N > 0 {
		desired = ceilDiv(p.M*100, target)
		launch := min(max(desired-p.N, s.MinimumScalingStepSize), s.MaximumScalingStepSize)
		desired = p.N + launch
	}
	desired = min(desired, in.MaxSize)
	if desired <= p.N {
		if in.MaxSize <= p.N {
			p.Hold = "the Auto Scaling group is at its maximum size"
		}
		return
	}
	p.DesiredCapacity = max(desired, in.MinSize)
	p.Launch = p.DesiredCapacity - p.N
}

func scaleIn(in Input, p *Plan, target int) {
	alarm, cooldown := ScaleInAlarmPeriod, ScaleInAfterScaleOut
	if in.ScaleInAlarmPeriod > 0 {
		alarm = in.ScaleInAlarmPeriod
	}
	if in.ScaleInAfterScaleOut > 0 {
		cooldown = in.ScaleInAfterScaleOut
	}
	if in.BelowTargetSince.IsZero() || in.Now.Sub(in.BelowTargetSince) < alarm {
		p.Hold = "the metric has been below targetCapacity for less than 15 minutes"
		return
	}
	if !in.LastScaleOutAt.IsZero() && in.Now.Sub(in.LastScaleOutAt) < cooldown {
		p.Hold = "less than 15 minutes since the last scale-out"
		return
	}
	desired := max(ceilDiv(p.M*100, target), in.MinSize)
	remove := min(p.N-desired, max(1, p.N/2))
	if remove <= 0 {
		return
	}
	victims := terminationOrder(in.Instances, in.ManagedTerminationProtection)
	if len(victims) < remove {
		remove = len(victims)
		if remove == 0 {
			p.Hold = "no instance is free of non-daemon tasks (managed termination protection)"
			return
		}
	}
	for _, gi := range victims[:remove] {
		p.Terminate = append(p.Terminate, gi.ID)
		if in.ManagedDraining {
			p.Drain = append(p.Drain, gi.ID)
		}
	}
	p.DesiredCapacity = p.N - remove
}

// terminationOrder lists the instances the group may terminate, first
// first: with managed termination protection only empty ones (the others
// keep their scale-in protection); in the Default termination policy's
// order, the Availability Zone with the most instances first, then the
// oldest launch, then the ID [I].
func terminationOrder(instances []GroupInstance, protected bool) []GroupInstance {
	perZone := map[string]int{}
	for _, gi := range instances {
		perZone[gi.AvailabilityZone]++
	}
	var out []GroupInstance
	for _, gi := range instances {
		if !protected || gi.NonDaemonTasks == 0 {
			out = append(out, gi)
		}
	}
	// Balance zones as instances go: pick one at a time from the fullest
	// zone.
	var ordered []GroupInstance
	for len(out) > 0 {
		best := 0
		for i, gi := range out {
			b := out[best]
			if c := cmp.Or(
				cmp.Compare(perZone[b.AvailabilityZone], perZone[gi.AvailabilityZone]),
				gi.LaunchedAt.Compare(b.LaunchedAt),
				strings.Compare(gi.ID, b.ID),
			); c < 0 {
				best = i
			}
		}
		ordered = append(ordered, out[best])
		perZone[out[best].AvailabilityZone]--
		out = slices.Delete(out, best, best+1)
	}
	return ordered
}

// estimateInstances groups the provisioning tasks by requirements and
// binpacks each group on the largest instance type; groups the smallest
// type cannot run once are left out and counted as incompatible.
func estimateInstances(tasks []placement.Requirements, instanceTypes []InstanceType) (instances, incompatible int) {
	if len(tasks) == 0 || len(instanceTypes) == 0 {
		return 0, len(tasks)
	}
	smallest, largest := instanceTypes[0], instanceTypes[0]
	for _, t := range instanceTypes[1:] {
		smallest.CPU, largest.CPU = min(smallest.CPU, t.CPU), max(largest.CPU, t.CPU)
		smallest.Memory, largest.Memory = min(smallest.Memory, t.Memory), max(largest.Memory, t.Memory)
		smallest.GPUs, largest.GPUs = min(smallest.GPUs, t.GPUs), max(largest.GPUs, t.GPUs)
	}
	groups := map[string]int{}
	shapes := map[string]placement.Requirements{}
	var keys []string
	for _, r := range tasks {
		k := shapeKey(r)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
			shapes[k] = r
		}
		groups[k]++
	}
	for _, k := range keys {
		r, n := shapes[k], groups[k]
		if perInstance(smallest, r) == 0 {
			incompatible += n
			continue
		}
		instances += ceilDiv(n, perInstance(largest, r))
	}
	return instances, incompatible
}

// perInstance is how many tasks of r one empty instance of type t holds.
func perInstance(t InstanceType, r placement.Requirements) int {
	k := math.MaxInt
	fit := func(have, need int) {
		if need > 0 {
			k = min(k, have/need)
		}
	}
	fit(t.CPU, r.CPU)
	fit(t.Memory, r.Memory)
	fit(t.GPUs, r.GPUs)
	for _, p := range append(r.StaticPorts(placement.TCP), r.StaticPorts(placement.UDP)...) {
		// A static host port can be taken once per instance.
		k = min(k, 1)
		if slices.Contains(t.ReservedPorts, p) {
			k = 0
		}
	}
	if k == math.MaxInt {
		// A task that reserves nothing: one instance runs any number.
		return math.MaxInt / 2
	}
	return k
}

func shapeKey(r placement.Requirements) string {
	return fmt.Sprint(r.CPU, "/", r.Memory, "/", r.GPUs, "/", r.StaticPorts(placement.TCP), "/", r.StaticPorts(placement.UDP))
}

func ceilDiv(a, b int) int {
	if b <= 0 {
		return 0
	}
	return (a + b - 1) / b
}
