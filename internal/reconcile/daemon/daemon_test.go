package daemon

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ecsd/ecsd/internal/reconcile/placement"
)

const group = "service:agent"

func inst(id string, f ...func(*placement.Instance)) placement.Instance {
	in := placement.Instance{
		ARN: "arn:aws:ecs:us-east-1:123456789012:container-instance/c/" + id, Status: placement.StatusActive, AgentConnected: true,
		Attributes: map[string]string{"ecs.os-type": "linux", placement.AttrAvailabilityZone: "us-east-1a"},
		Remaining:  placement.Resources{CPU: 1024, Memory: 2048},
	}
	for _, g := range f {
		g(&in)
	}
	return in
}

func arn(id string) string { return "arn:aws:ecs:us-east-1:123456789012:container-instance/c/" + id }

var (
	v1  = Deployment{ID: "ecs-svc/1", Requirements: placement.Requirements{CPU: 128, Memory: 256}}
	v2  = Deployment{ID: "ecs-svc/2", Requirements: placement.Requirements{CPU: 128, Memory: 256}}
	big = Deployment{ID: "ecs-svc/3", Requirements: placement.Requirements{CPU: 4096, Memory: 256}}
)

// linuxOnly is a memberOf constraint "attribute:ecs.os-type == linux".
var linuxOnly = placement.MemberOf("attribute:ecs.os-type == linux", placement.PredicateFunc(func(in *placement.Instance) bool {
	return in.Attributes["ecs.os-type"] == "linux"
}))

type summary struct {
	Desired  int
	Starts   []string // instance IDs
	Stops    []string // task ARN:cause
	Unplaced []string // instance ID:reason
}

func summarize(p Plan) summary {
	s := summary{Desired: p.DesiredCount}
	for _, st := range p.Starts {
		s.Starts = append(s.Starts, placement.ContainerInstanceID(st.InstanceARN))
	}
	for _, st := range p.Stops {
		s.Stops = append(s.Stops, st.TaskARN+":"+string(st.Cause))
	}
	for _, u := range p.Unplaced {
		s.Unplaced = append(s.Unplaced, placement.ContainerInstanceID(u.InstanceARN)+":"+string(u.Failure.Reason))
	}
	return s
}

func TestCompute(t *testing.T) {
	other := func(in *placement.Instance) { in.Tasks = []placement.Task{{ARN: "web-1", Group: "service:web"}} }
	tests := []struct {
		name string
		in   Input
		want summary
	}{
		{
			// "deploys exactly one task on each active container instance
			// that meets all of the task placement constraints"
			name: "one task per ACTIVE instance that meets the constraints",
			in: Input{Deployments: []Deployment{v1}, Constraints: []placement.Constraint{linuxOnly}, Instances: []placement.Instance{
				inst("a"), inst("b"), inst("win", func(in *placement.Instance) { in.Attributes["ecs.os-type"] = "windows" }),
				inst("d", func(in *placement.Instance) { in.Status = placement.StatusDraining }),
				inst("r", func(in *placement.Instance) { in.Status = "REGISTERING" }),
			}},
			want: summary{Desired: 2, Starts: []string{"a", "b"}},
		},
		{
			// "monitors when new container instances are added to your
			// cluster and adds the daemon tasks to them"
			name: "a new instance gets its task, the others keep theirs",
			in: Input{Deployments: []Deployment{v1}, Instances: []placement.Instance{inst("a"), inst("new")},
				Tasks: []Task{{ARN: "t-a", InstanceARN: arn("a"), DeploymentID: "ecs-svc/1", Healthy: true}}},
			want: summary{Desired: 2, Starts: []string{"new"}},
		},
		{
			name: "no room: unplaced, retried on a later pass",
			in: Input{Deployments: []Deployment{big}, Instances: []placement.Instance{
				inst("a"), inst("off", func(in *placement.Instance) { in.AgentConnected = false }),
			}},
			want: summary{Desired: 2, Unplaced: []string{"a:RESOURCE:CPU", "off:AGENT"}},
		},
		{
			// "If a container instance transitions to DRAINING, the daemon
			// tasks on it are stopped" — last, after the other tasks.
			name: "draining: the daemon task stops once the others are gone",
			in: Input{Deployments: []Deployment{v1}, Instances: []placement.Instance{
				inst("busy", func(in *placement.Instance) { in.Status = placement.StatusDraining; other(in) }),
				inst("idle", func(in *placement.Instance) {
					in.Status = placement.StatusDraining
					in.Tasks = []placement.Task{{ARN: "t-idle", Group: group}, {ARN: "log-1", Group: "service:logs", Daemon: true}}
				}),
			}, Tasks: []Task{
				{ARN: "t-busy", InstanceARN: arn("busy"), DeploymentID: "ecs-svc/1", Healthy: true},
				{ARN: "t-idle", InstanceARN: arn("idle"), DeploymentID: "ecs-svc/1", Healthy: true},
			}},
			want: summary{Desired: 0, Stops: []string{"t-idle:INSTANCE_DRAINING"}},
		},
		{
			name: "a deregistered instance's task stops",
			in: Input{Deployments: []Deployment{v1}, Instances: []placement.Instance{inst("x", func(in *placement.Instance) { in.Status = "INACTIVE" })},
				Tasks: []Task{
					{ARN: "t-gone", InstanceARN: arn("nowhere"), DeploymentID: "ecs-svc/1"},
					{ARN: "t-x", InstanceARN: arn("x"), DeploymentID: "ecs-svc/1"},
					{ARN: "t-stopping", InstanceARN: arn("nowhere"), DeploymentID: "ecs-svc/1", Stopping: true},
				}},
			want: summary{Stops: []string{"t-gone:INSTANCE_GONE", "t-x:INSTANCE_GONE"}},
		},
		{
			// "evaluates the task placement constraints for running tasks
			// and will stop tasks that do not meet the placement
			// constraints"
			name: "a constraint no longer met",
			in: Input{Deployments: []Deployment{v1}, Constraints: []placement.Constraint{linuxOnly},
				Instances: []placement.Instance{inst("w", func(in *placement.Instance) { in.Attributes["ecs.os-type"] = "windows" })},
				Tasks:     []Task{{ARN: "t-w", InstanceARN: arn("w"), DeploymentID: "ecs-svc/1", Healthy: true}}},
			want: summary{Stops: []string{"t-w:CONSTRAINT_VIOLATED"}},
		},
		{
			name: "two tasks on one instance: the primary's healthy one stays",
			in: Input{Deployments: []Deployment{v2, v1}, Instances: []placement.Instance{inst("a")}, Tasks: []Task{
				{ARN: "t1", InstanceARN: arn("a"), DeploymentID: "ecs-svc/1", Healthy: true},
				{ARN: "t2", InstanceARN: arn("a"), DeploymentID: "ecs-svc/2", Healthy: true},
				{ARN: "t3", InstanceARN: arn("a"), DeploymentID: "ecs-svc/2"},
			}},
			want: summary{Desired: 1, Stops: []string{"t3:DUPLICATE", "t1:DUPLICATE"}},
		},
		{
			// maximumPercent 100: the old task stops first, and nothing
			// starts while it is still stopping.
			name: "deployment with minimumHealthyPercent 0: every old task stops at once",
			in: Input{Deployments: []Deployment{v2, v1}, Instances: []placement.Instance{inst("a"), inst("b"), inst("c")}, Tasks: []Task{
				{ARN: "t-a", InstanceARN: arn("a"), DeploymentID: "ecs-svc/1", Healthy: true},
				{ARN: "t-b", InstanceARN: arn("b"), DeploymentID: "ecs-svc/1", Healthy: true},
				{ARN: "t-c", InstanceARN: arn("c"), DeploymentID: "ecs-svc/1", Stopping: true},
			}},
			want: summary{Desired: 3, Stops: []string{"t-a:DEPLOYMENT", "t-b:DEPLOYMENT"}},
		},
		{
			// minimumHealthyPercent 50 of 4 instances keeps 2 healthy: with
			// one task already replaced and healthy, one more old task may
			// stop besides the unhealthy one.
			name: "deployment within minimumHealthyPercent",
			in: Input{Deployments: []Deployment{v2, v1}, MinimumHealthyPercent: 50,
				Instances: []placement.Instance{inst("a"), inst("b"), inst("c"), inst("d")}, Tasks: []Task{
					{ARN: "t-a", InstanceARN: arn("a"), DeploymentID: "ecs-svc/2", Healthy: true},
					{ARN: "t-b", InstanceARN: arn("b"), DeploymentID: "ecs-svc/1", Healthy: true},
					{ARN: "t-c", InstanceARN: arn("c"), DeploymentID: "ecs-svc/1", Healthy: true},
					{ARN: "t-d", InstanceARN: arn("d"), DeploymentID: "ecs-svc/1"},
				}},
			want: summary{Desired: 4, Stops: []string{"t-d:DEPLOYMENT", "t-b:DEPLOYMENT"}},
		},
		{
			name: "minimumHealthyPercent 100 blocks a daemon deployment",
			in: Input{Deployments: []Deployment{v2, v1}, MinimumHealthyPercent: 100,
				Instances: []placement.Instance{inst("a")}, Tasks: []Task{{ARN: "t-a", InstanceARN: arn("a"), DeploymentID: "ecs-svc/1", Healthy: true}}},
			want: summary{Desired: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Group = group
			got := summarize(Compute(tc.in))
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestComputeReservesAndReasons(t *testing.T) {
	in := Input{Group: group, Deployments: []Deployment{v2, v1}, Instances: []placement.Instance{inst("a"), inst("b")},
		Tasks: []Task{{ARN: "t-b", InstanceARN: arn("b"), DeploymentID: "ecs-svc/1", Healthy: true}}}
	before := slices.Clone(in.Instances)
	p := Compute(in)
	if diff := cmp.Diff(before, in.Instances); diff != "" {
		t.Errorf("input changed: %s", diff)
	}
	if len(p.Starts) != 1 || p.Starts[0].DeploymentID != "ecs-svc/2" || p.Starts[0].Placement.CPU != 128 {
		t.Fatalf("starts %+v", p.Starts)
	}
	if got := p.Instances[0]; got.Remaining.CPU != 1024-128 || len(got.Tasks) != 1 || !got.Tasks[0].Daemon || got.Tasks[0].Group != group {
		t.Errorf("instance after the start: %+v", got)
	}
	if len(p.Stops) != 1 || p.Stops[0].Reason != "Scaling activity initiated by (deployment ecs-svc/2)" || p.DeploymentBlocked {
		t.Errorf("stops %+v", p.Stops)
	}
	in.MinimumHealthyPercent = 100
	if p := Compute(in); !p.DeploymentBlocked || len(p.Stops) != 0 {
		t.Errorf("minimumHealthyPercent 100: blocked %v, stops %+v", p.DeploymentBlocked, p.Stops)
	}
	if got, want := DeploymentBlockedMessage("agent"), "(service agent) was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again."; got != want {
		t.Errorf("message %q", got)
	}
}

// TestComputeConverges drives random clusters through passes (stops take
// effect, starts become healthy, instances come and go) and checks on every
// pass that no instance ever holds two of the service's live tasks, that
// tasks start only on empty ACTIVE eligible instances, that healthy tasks
// never drop below minimumHealthyPercent through deployment stops, and that
// once the cluster settles every eligible instance runs exactly one PRIMARY
// task and no other instance runs one.
func TestComputeConverges(t *testing.T) {
	for seed := range uint64(500) {
		r := rand.New(rand.NewPCG(seed, 4))
		var instances []placement.Instance
		for i := range 1 + r.IntN(8) {
			instances = append(instances, inst(fmt.Sprint("i", i), func(in *placement.Instance) {
				if r.IntN(4) == 0 {
					in.Attributes["ecs.os-type"] = "windows"
				}
				if r.IntN(5) == 0 {
					in.Status = placement.StatusDraining
				}
			}))
		}
		var tasks []Task
		for i := range r.IntN(10) {
			tasks = append(tasks, Task{ARN: fmt.Sprint("old-", i), InstanceARN: arn(fmt.Sprint("i", r.IntN(10))), DeploymentID: "ecs-svc/1", Healthy: r.IntN(3) > 0})
		}
		minHealthy := []int{0, 50, 100}[r.IntN(3)]
		deployments := []Deployment{v2, v1}
		constraints := []placement.Constraint{linuxOnly}
		n := 0
		for pass := range 40 {
			in := Input{Group: group, Deployments: deployments, Constraints: constraints, MinimumHealthyPercent: minHealthy, Instances: instances, Tasks: tasks}
			// Every instance lists the service's tasks too, as callers do.
			for i := range in.Instances {
				in.Instances[i].Tasks = nil
				for _, tk := range tasks {
					if tk.InstanceARN == in.Instances[i].ARN {
						in.Instances[i].Tasks = append(in.Instances[i].Tasks, placement.Task{ARN: tk.ARN, Group: group, Daemon: true})
					}
				}
			}
			p := Compute(in)
			eligible := map[string]bool{}
			for _, x := range instances {
				if x.Status == placement.StatusActive && x.Attributes["ecs.os-type"] == "linux" {
					eligible[x.ARN] = true
				}
			}
			stopped := map[string]bool{}
			healthyBefore, healthyAfter := 0, 0
			for _, s := range p.Stops {
				stopped[s.TaskARN] = true
			}
			live := map[string]int{}
			for _, tk := range tasks {
				if eligible[tk.InstanceARN] && tk.Healthy && !tk.Stopping {
					healthyBefore++
					if !stopped[tk.ARN] || p.Stops[slices.IndexFunc(p.Stops, func(s Stop) bool { return s.TaskARN == tk.ARN })].Cause != CauseDeployment {
						healthyAfter++
					}
				}
				if !tk.Stopping && !stopped[tk.ARN] {
					live[tk.InstanceARN]++
				}
			}
			floor := (len(eligible)*minHealthy + 99) / 100
			if healthyAfter < min(healthyBefore, floor) {
				t.Fatalf("seed %d pass %d: deployment stops left %d healthy of %d (floor %d)", seed, pass, healthyAfter, healthyBefore, floor)
			}
			for _, s := range p.Starts {
				if !eligible[s.InstanceARN] {
					t.Fatalf("seed %d pass %d: started on ineligible %s", seed, pass, s.InstanceARN)
				}
				for _, tk := range tasks {
					if tk.InstanceARN == s.InstanceARN {
						t.Fatalf("seed %d pass %d: started on %s, which still has %s", seed, pass, s.InstanceARN, tk.ARN)
					}
				}
				live[s.InstanceARN]++
			}
			for a, c := range live {
				if c > 1 {
					t.Fatalf("seed %d pass %d: %d live tasks on %s", seed, pass, c, a)
				}
			}
			// Apply the pass: stopping tasks finish, stops begin, starts
			// come up healthy.
			var next []Task
			for _, tk := range tasks {
				switch {
				case tk.Stopping:
				case stopped[tk.ARN]:
					tk.Stopping = true
					next = append(next, tk)
				default:
					tk.Healthy = true
					next = append(next, tk)
				}
			}
			for _, s := range p.Starts {
				n++
				next = append(next, Task{ARN: fmt.Sprint("new-", n), InstanceARN: s.InstanceARN, DeploymentID: s.DeploymentID})
			}
			tasks = next
			// Now and then the cluster changes.
			if pass < 10 && r.IntN(4) == 0 {
				switch k := r.IntN(3); {
				case len(instances) == 0 || k == 0:
					instances = append(instances, inst(fmt.Sprint("late", pass)))
				case k == 1:
					instances[r.IntN(len(instances))].Status = placement.StatusDraining
				default:
					i := r.IntN(len(instances))
					instances = slices.Delete(instances, i, i+1)
				}
			}
		}
		// Settled: one PRIMARY task per eligible instance, none elsewhere.
		per := map[string]int{}
		for _, tk := range tasks {
			if !tk.Stopping {
				per[tk.InstanceARN]++
			}
		}
		for _, x := range instances {
			want := 0
			if x.Status == placement.StatusActive && x.Attributes["ecs.os-type"] == "linux" {
				want = 1
			}
			if per[x.ARN] != want {
				t.Fatalf("seed %d: %s (%s, %s) runs %d tasks, want %d; tasks %+v", seed, x.ARN, x.Status, x.Attributes["ecs.os-type"], per[x.ARN], want, tasks)
			}
		}
		// With maximumPercent at 100, a deployment can replace a healthy
		// task only while minimumHealthyPercent allows one to stop (50% of
		// one instance does not): then the plan must say it is blocked,
		// never stall silently.
		blocked := Compute(Input{Group: group, Deployments: deployments, Constraints: constraints, MinimumHealthyPercent: minHealthy, Instances: instances, Tasks: tasks}).DeploymentBlocked
		for _, tk := range tasks {
			if !tk.Stopping && tk.DeploymentID != "ecs-svc/2" && !blocked {
				t.Fatalf("seed %d: %s still runs %s (minimumHealthyPercent %d) and the deployment is not reported blocked", seed, tk.ARN, tk.DeploymentID, minHealthy)
			}
		}
		if blocked && minHealthy == 0 {
			t.Fatalf("seed %d: deployment blocked with minimumHealthyPercent 0", seed)
		}
	}
}
