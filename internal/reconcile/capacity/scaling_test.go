package capacity

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/reconcile/placement"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// m5xlarge is one instance type: 4 vCPUs, 16 GiB.
var m5xlarge = []InstanceType{{CPU: 4096, Memory: 15700, ReservedPorts: []int{22, 2375, 2376, 51678, 51679}}}

func settings(f func(*ManagedScaling)) ManagedScaling {
	s := ManagedScalingFrom(&types.ManagedScaling{Status: types.ManagedScalingStatusEnabled})
	if f != nil {
		f(&s)
	}
	return s
}

// group returns n instances launched an hour ago, busy ones first.
func group(n, busy int) []GroupInstance {
	out := make([]GroupInstance, n)
	for i := range out {
		out[i] = GroupInstance{ID: fmt.Sprintf("i-%02d", i), AvailabilityZone: []string{"a", "b"}[i%2], LaunchedAt: t0.Add(-time.Hour)}
		if i < busy {
			out[i].NonDaemonTasks = 1
		}
	}
	return out
}

func tasks(n int, r placement.Requirements) []placement.Requirements {
	out := make([]placement.Requirements, n)
	for i := range out {
		out[i] = r
	}
	return out
}

var small = placement.Requirements{CPU: 1024, Memory: 2048}

func TestManagedScalingFrom(t *testing.T) {
	// ManagedScaling (API reference): instanceWarmupPeriod "the default
	// value of 300 seconds", maximumScalingStepSize "the default value of
	// 10000", minimumScalingStepSize "the default value of 1",
	// targetCapacity "The default value of 100 percent".
	want := ManagedScaling{Enabled: true, TargetCapacity: 100, MinimumScalingStepSize: 1, MaximumScalingStepSize: 10000, InstanceWarmupPeriod: 300 * time.Second}
	if diff := cmp.Diff(want, settings(nil)); diff != "" {
		t.Error(diff)
	}
	tc, lo, hi, wu := int32(90), int32(2), int32(5), int32(60)
	got := ManagedScalingFrom(&types.ManagedScaling{Status: types.ManagedScalingStatusDisabled, TargetCapacity: &tc, MinimumScalingStepSize: &lo, MaximumScalingStepSize: &hi, InstanceWarmupPeriod: &wu})
	if diff := cmp.Diff(ManagedScaling{TargetCapacity: 90, MinimumScalingStepSize: 2, MaximumScalingStepSize: 5, InstanceWarmupPeriod: time.Minute}, got); diff != "" {
		t.Error(diff)
	}
	if ManagedScalingFrom(nil).Enabled {
		t.Error("no managedScaling means managed scaling off")
	}
}

func TestScale(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want Plan
	}{
		{
			// "When a scale-out process is required and there are no
			// currently running container instances, Amazon ECS always
			// scales-out to two instances initially" (managed scaling
			// behavior).
			name: "from zero: two instances",
			in:   Input{Settings: settings(nil), MaxSize: 10, Provisioning: tasks(1, small)},
			want: Plan{M: 1, N: 0, Reservation: 200, DesiredCapacity: 2, Launch: 2},
		},
		{
			name: "from zero, ten tasks: still two first",
			in:   Input{Settings: settings(nil), MaxSize: 10, Provisioning: tasks(10, small)},
			want: Plan{M: 3, N: 0, Reservation: 200, DesiredCapacity: 2, Launch: 2},
		},
		{
			// "The CapacityProviderReservation value equals targetCapacity:
			// The Auto Scaling group doesn't need to scale in or scale out."
			name: "every instance busy at target 100: steady",
			in:   Input{Settings: settings(nil), MaxSize: 10, DesiredCapacity: 3, Instances: group(3, 3)},
			want: Plan{M: 3, N: 3, Reservation: 100, DesiredCapacity: 3},
		},
		{
			// "if you want the capacity provider to maintain 10% spare
			// capacity, then that means the utilization is 90%, so use a
			// targetCapacity of 90" (API reference, ManagedScaling).
			name: "target 90: nine busy instances want a tenth",
			in:   Input{Settings: settings(func(s *ManagedScaling) { s.TargetCapacity = 90 }), MaxSize: 20, DesiredCapacity: 9, Instances: group(9, 9)},
			want: Plan{M: 9, N: 9, Reservation: 100, DesiredCapacity: 10, Launch: 1},
		},
		{
			name: "target 90: nine busy of ten is the target",
			in:   Input{Settings: settings(func(s *ManagedScaling) { s.TargetCapacity = 90 }), MaxSize: 20, DesiredCapacity: 10, Instances: group(10, 9)},
			want: Plan{M: 9, N: 10, Reservation: 90, DesiredCapacity: 10},
		},
		{
			// "For each group of tasks, Amazon ECS calculates the number of
			// instances that are required to run the unplaced tasks. This
			// calculation uses a binpack strategy." Five 1-vCPU tasks need
			// two 4-vCPU instances; three 7000 MiB tasks need two 15700 MiB ones.
			name: "binpack estimate per group of identical tasks",
			in: Input{Settings: settings(nil), MaxSize: 20, DesiredCapacity: 2, Instances: group(2, 2), InstanceTypes: m5xlarge,
				Provisioning: append(tasks(5, small), tasks(3, placement.Requirements{CPU: 512, Memory: 7000})...)},
			want: Plan{M: 2 + 4, N: 2, Reservation: 300, DesiredCapacity: 6, Launch: 4},
		},
		{
			// minimumScalingStepSize: "When additional capacity is
			// required, Amazon ECS will scale up the minimum scaling step
			// size even if the actual demand is less than the minimum
			// scaling step size."
			name: "minimum step size",
			in: Input{Settings: settings(func(s *ManagedScaling) { s.MinimumScalingStepSize = 3 }), MaxSize: 20, DesiredCapacity: 2,
				Instances: group(2, 2), InstanceTypes: m5xlarge, Provisioning: tasks(1, small)},
			want: Plan{M: 5, N: 2, Reservation: 250, DesiredCapacity: 5, Launch: 3},
		},
		{
			// "Amazon ECS then launch either the minimumScalingStepSize, if
			// the maximum calculated instance count is less than the
			// minimum scaling step size, or the lower of either the
			// maximumScalingStepSize or the maximum calculated instance
			// count value."
			name: "maximum step size",
			in: Input{Settings: settings(func(s *ManagedScaling) { s.MaximumScalingStepSize = 5 }), MaxSize: 100, DesiredCapacity: 1,
				Instances: group(1, 1), InstanceTypes: m5xlarge, Provisioning: tasks(40, placement.Requirements{CPU: 2048, Memory: 1024})},
			want: Plan{M: 6, N: 1, Reservation: 600, DesiredCapacity: 6, Launch: 5},
		},
		{
			// "If the smallest instance type can't run at least one
			// instance of the task, the calculation considers the task as
			// not compatible ... When all the tasks aren't compatible with
			// the smallest instance type, cluster auto scaling stops and
			// the CapacityProviderReservation value remains at the
			// targetCapacity value."
			name: "tasks too big for the instance type",
			in: Input{Settings: settings(nil), MaxSize: 10, DesiredCapacity: 1, Instances: group(1, 1), InstanceTypes: m5xlarge,
				Provisioning: tasks(2, placement.Requirements{CPU: 8192, Memory: 1024})},
			want: Plan{M: 1, N: 1, Reservation: 100, DesiredCapacity: 1, Incompatible: 2},
		},
		{
			name: "incompatible tasks are left out of the estimate",
			in: Input{Settings: settings(nil), MaxSize: 10, DesiredCapacity: 1, Instances: group(1, 1), InstanceTypes: m5xlarge,
				Provisioning: append(tasks(2, placement.Requirements{CPU: 8192}), tasks(1, small)...)},
			want: Plan{M: 2, N: 1, Reservation: 200, DesiredCapacity: 2, Launch: 1, Incompatible: 2},
		},
		{
			name: "a static host port: one task per instance",
			in: Input{Settings: settings(nil), MaxSize: 10, DesiredCapacity: 1, Instances: group(1, 1), InstanceTypes: m5xlarge,
				Provisioning: tasks(3, placement.Requirements{CPU: 10, Ports: []placement.PortMapping{{ContainerPort: 80, HostPort: 80, Count: 1, Protocol: placement.TCP}}})},
			want: Plan{M: 4, N: 1, Reservation: 400, DesiredCapacity: 4, Launch: 3},
		},
		{
			// "The scale-out is blocked for instances that are within the
			// instanceWarmupPeriod."
			name: "warm-up blocks the next scale-out",
			in: Input{Now: t0, Settings: settings(nil), MaxSize: 10, DesiredCapacity: 2, InstanceTypes: m5xlarge, Provisioning: tasks(9, small),
				Instances: []GroupInstance{{ID: "i-1", LaunchedAt: t0.Add(-time.Minute)}, {ID: "i-2", LaunchedAt: t0.Add(-time.Hour)}}},
			want: Plan{M: 5, N: 2, Reservation: 250, DesiredCapacity: 2, Hold: "instance i-1 is within its instanceWarmupPeriod"},
		},
		{
			name: "the group's maximum caps a scale-out",
			in:   Input{Now: t0, Settings: settings(nil), MaxSize: 3, DesiredCapacity: 2, Instances: group(2, 2), InstanceTypes: m5xlarge, Provisioning: tasks(9, small)},
			want: Plan{M: 5, N: 2, Reservation: 250, DesiredCapacity: 3, Launch: 1},
		},
		{
			name: "managed scaling off: the metric only",
			in:   Input{Settings: ManagedScalingFrom(nil), MaxSize: 10, DesiredCapacity: 1, Instances: group(1, 1), InstanceTypes: m5xlarge, Provisioning: tasks(4, small)},
			want: Plan{M: 2, N: 1, Reservation: 200, DesiredCapacity: 1},
		},
		{
			// "CloudWatch scale-in alarms require 15 data points (15
			// minutes) before the scale-in process ... starts"
			name: "scale-in waits for 15 minutes below target",
			in:   Input{Now: t0, Settings: settings(nil), MaxSize: 10, DesiredCapacity: 4, Instances: group(4, 1), BelowTargetSince: t0.Add(-10 * time.Minute)},
			want: Plan{M: 1, N: 4, Reservation: 25, BelowTarget: true, DesiredCapacity: 4, Hold: "the metric has been below targetCapacity for less than 15 minutes"},
		},
		{
			// "Amazon ECS waits 15 minutes after a scale-out process before
			// starting scale-in processes at all times."
			name: "scale-in waits 15 minutes after a scale-out",
			in: Input{Now: t0, Settings: settings(nil), MaxSize: 10, DesiredCapacity: 4, Instances: group(4, 1),
				BelowTargetSince: t0.Add(-20 * time.Minute), LastScaleOutAt: t0.Add(-5 * time.Minute)},
			want: Plan{M: 1, N: 4, Reservation: 25, BelowTarget: true, DesiredCapacity: 4, Hold: "less than 15 minutes since the last scale-out"},
		},
		{
			// "If all the container instances use managed termination
			// protection, Amazon ECS removes the scale-in protection on the
			// container instances that are empty." At most half the group
			// goes in one step.
			name: "scale-in of empty instances, half at a time",
			in: Input{Now: t0, Settings: settings(nil), MaxSize: 10, DesiredCapacity: 4, Instances: group(4, 1),
				BelowTargetSince: t0.Add(-20 * time.Minute), ManagedTerminationProtection: true},
			want: Plan{M: 1, N: 4, Reservation: 25, BelowTarget: true, DesiredCapacity: 2, Terminate: []string{"i-01", "i-02"}},
		},
		{
			// "A container instance is considered empty even when daemon
			// tasks are running."
			name: "instances running only daemon tasks are empty",
			in: Input{Now: t0, Settings: settings(nil), MaxSize: 10, MinSize: 0, DesiredCapacity: 2, Instances: group(2, 0),
				BelowTargetSince: t0.Add(-time.Hour), ManagedTerminationProtection: true, ManagedDraining: true},
			want: Plan{M: 0, N: 2, Reservation: 0, BelowTarget: true, DesiredCapacity: 1, Terminate: []string{"i-00"}, Drain: []string{"i-00"}},
		},
		{
			name: "the group's minimum size stops a scale-in",
			in: Input{Now: t0, Settings: settings(nil), MaxSize: 10, MinSize: 3, DesiredCapacity: 4, Instances: group(4, 0),
				BelowTargetSince: t0.Add(-time.Hour), ManagedTerminationProtection: true},
			want: Plan{M: 0, N: 4, Reservation: 0, BelowTarget: true, DesiredCapacity: 3, Terminate: []string{"i-00"}},
		},
		{
			// Without managed termination protection "the Amazon EC2 Auto
			// Scaling group selects EC2 instances using the Amazon EC2 Auto
			// Scaling group termination policy": it may pick a busy one.
			name: "without termination protection the group picks by zone and age",
			in: Input{Now: t0, Settings: settings(nil), MaxSize: 10, DesiredCapacity: 3, BelowTargetSince: t0.Add(-time.Hour),
				Instances: []GroupInstance{
					{ID: "i-new-a", AvailabilityZone: "a", LaunchedAt: t0.Add(-time.Hour)},
					{ID: "i-old-a", AvailabilityZone: "a", LaunchedAt: t0.Add(-2 * time.Hour), NonDaemonTasks: 2},
					{ID: "i-b", AvailabilityZone: "b", LaunchedAt: t0.Add(-3 * time.Hour)},
				}},
			want: Plan{M: 1, N: 3, Reservation: float64(100) / 3, BelowTarget: true, DesiredCapacity: 2, Terminate: []string{"i-old-a"}},
		},
		{
			name: "the last empty instance goes when nothing runs",
			in: Input{Now: t0, Settings: settings(func(s *ManagedScaling) { s.TargetCapacity = 50 }), MaxSize: 10, DesiredCapacity: 1,
				Instances: group(1, 0), BelowTargetSince: t0.Add(-time.Hour), ManagedTerminationProtection: true, MinSize: 0},
			want: Plan{M: 0, N: 1, Reservation: 0, BelowTarget: true, DesiredCapacity: 0, Terminate: []string{"i-00"}},
		},
		{
			name: "nothing at all",
			in:   Input{Settings: settings(nil), MaxSize: 10},
			want: Plan{Reservation: 100},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in.InstanceTypes == nil {
				tc.in.InstanceTypes = m5xlarge
			}
			if tc.in.Now.IsZero() {
				tc.in.Now = t0
			}
			got := Scale(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestScaleProperties: the desired capacity stays within the group's
// bounds, a scale-out adds between the step sizes (or two from zero),
// never happens during warm-up, and a scale-in only removes what the rules
// allow.
func TestScaleProperties(t *testing.T) {
	for seed := range uint64(3000) {
		r := rand.New(rand.NewPCG(seed, 9))
		s := settings(func(s *ManagedScaling) {
			s.TargetCapacity = 1 + r.IntN(100)
			s.MinimumScalingStepSize = 1 + r.IntN(4)
			s.MaximumScalingStepSize = s.MinimumScalingStepSize + r.IntN(10)
		})
		n := r.IntN(12)
		in := Input{
			Now: t0, Settings: s, MinSize: r.IntN(3), InstanceTypes: m5xlarge,
			BelowTargetSince:             t0.Add(-time.Duration(r.IntN(40)) * time.Minute),
			LastScaleOutAt:               t0.Add(-time.Duration(r.IntN(40)) * time.Minute),
			ManagedTerminationProtection: r.IntN(2) == 0,
		}
		in.MaxSize = in.MinSize + r.IntN(30)
		for i := range n {
			in.Instances = append(in.Instances, GroupInstance{
				ID: fmt.Sprintf("i-%d", i), AvailabilityZone: []string{"a", "b", "c"}[r.IntN(3)],
				LaunchedAt: t0.Add(-time.Duration(r.IntN(20)) * time.Minute), NonDaemonTasks: r.IntN(3),
			})
		}
		in.DesiredCapacity = n
		in.Provisioning = tasks(r.IntN(3)*r.IntN(20), placement.Requirements{CPU: 256 * (1 + r.IntN(20)), Memory: 512})
		p := Scale(in)
		busy := 0
		for _, gi := range in.Instances {
			if gi.NonDaemonTasks > 0 {
				busy++
			}
		}
		switch {
		case p.Launch > 0:
			if p.DesiredCapacity > in.MaxSize || p.DesiredCapacity != n+p.Launch {
				t.Fatalf("seed %d: scale-out to %d (max %d, %d running, launch %d)", seed, p.DesiredCapacity, in.MaxSize, n, p.Launch)
			}
			if n == 0 && p.DesiredCapacity > InitialScaleOut && p.DesiredCapacity > in.MinSize {
				t.Fatalf("seed %d: from zero to %d", seed, p.DesiredCapacity)
			}
			if n > 0 && p.DesiredCapacity < in.MaxSize && (p.Launch < s.MinimumScalingStepSize || p.Launch > s.MaximumScalingStepSize) {
				t.Fatalf("seed %d: launched %d outside steps %d..%d", seed, p.Launch, s.MinimumScalingStepSize, s.MaximumScalingStepSize)
			}
			for _, gi := range in.Instances {
				if t0.Sub(gi.LaunchedAt) < s.InstanceWarmupPeriod {
					t.Fatalf("seed %d: scaled out while %s warms up", seed, gi.ID)
				}
			}
		case len(p.Terminate) > 0:
			if p.DesiredCapacity != n-len(p.Terminate) || p.DesiredCapacity < in.MinSize || len(p.Terminate) > max(1, n/2) {
				t.Fatalf("seed %d: scale-in from %d to %d removing %v (min %d)", seed, n, p.DesiredCapacity, p.Terminate, in.MinSize)
			}
			if t0.Sub(in.BelowTargetSince) < ScaleInAlarmPeriod || t0.Sub(in.LastScaleOutAt) < ScaleInAfterScaleOut {
				t.Fatalf("seed %d: scaled in too early", seed)
			}
			if p.DesiredCapacity < ceilDiv(busy*100, s.TargetCapacity) {
				t.Fatalf("seed %d: scaled in below what %d busy instances need at target %d: %d", seed, busy, s.TargetCapacity, p.DesiredCapacity)
			}
			for _, id := range p.Terminate {
				for _, gi := range in.Instances {
					if gi.ID == id && in.ManagedTerminationProtection && gi.NonDaemonTasks > 0 {
						t.Fatalf("seed %d: terminated protected busy instance %s", seed, id)
					}
				}
			}
		default:
			if p.DesiredCapacity != in.DesiredCapacity {
				t.Fatalf("seed %d: desired changed to %d without a launch or a termination", seed, p.DesiredCapacity)
			}
		}
	}
}
