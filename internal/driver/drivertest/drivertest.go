// Package drivertest is the conformance suite every driver passes: the
// simulated runtime with a virtual clock, Docker with real containers.
// A driver's test calls Run with a Harness that knows how to make
// containers behave (run for ever, exit with a code, fail to start,
// ignore SIGTERM) on that runtime and how to let time pass.
//
// It must never import ecs or anything above the driver.
package drivertest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ecsd/ecsd/internal/driver"
)

// Harness adapts the suite to one runtime.
type Harness struct {
	// New returns a fresh driver with no groups.
	New func(t *testing.T) driver.Driver
	// Advance lets d of time pass: the simulated runtime moves its
	// clock, a real one sleeps.
	Advance func(d time.Duration)
	// RunsForever is a container that runs until stopped and exits
	// promptly on SIGTERM.
	RunsForever func(name string) driver.ContainerSpec
	// Exits is a container that exits on its own with code after about
	// after.
	Exits func(name string, code int, after time.Duration) driver.ContainerSpec
	// FailsToStart is a container that cannot start (an image that cannot
	// be pulled); reason is a prefix of the reason the runtime reports.
	FailsToStart func(name string) (spec driver.ContainerSpec, reason string)
	// IgnoresSIGTERM is a container that keeps running after SIGTERM, so
	// it is killed once its stop timeout passes.
	IgnoresSIGTERM func(name string) driver.ContainerSpec
	// Patience is how long to wait for something to happen before
	// failing (in Advance steps of Patience/100).
	Patience time.Duration
	// Shell, for a runtime that implements driver.Execer, is a container
	// that runs until stopped with a POSIX sh, stty and cat on its PATH
	// (it may skip t where it cannot have one); nil skips the Exec cases.
	Shell func(t *testing.T, name string) driver.ContainerSpec
	// Capabilities say how the runtime does what runtimes legitimately
	// do differently; the suite checks each its runtime's way.
	Capabilities Capabilities
	// Unsupported names cases (as Run names its subtests) the runtime
	// legitimately cannot pass, with why: they are skipped with that
	// message (Kubernetes starts a pod's containers together: no
	// dependsOn ordering).
	Unsupported map[string]string
}

// Capabilities are where runtimes legitimately differ.
type Capabilities struct {
	// NoEphemeralHostPorts: a bridge container port without a host port
	// answers on the group's own address at the container port
	// (Kubernetes has no ephemeral host ports) rather than on an
	// ephemeral host port (Docker, the simulated runtime).
	NoEphemeralHostPorts bool
	// Hosts: the driver is a driver.HostLister with at least one host,
	// runs a group on GroupSpec.Host and reports it in GroupState.Host,
	// and SetDraining cordons a host (Kubernetes nodes).
	Hosts bool
}

// Run runs the conformance suite.
func Run(t *testing.T, h Harness) {
	if h.Patience <= 0 {
		h.Patience = time.Minute
	}
	s := suite{h: h}
	s.run(t, "StartInspect", s.startInspect)
	s.run(t, "StartIsIdempotent", s.startIdempotent)
	s.run(t, "ExitCodes", s.exitCodes)
	s.run(t, "FailureToStart", s.failureToStart)
	s.run(t, "Stop", s.stop)
	s.run(t, "StopKillsAfterTimeout", s.stopKills)
	s.run(t, "StopIsIdempotent", s.stopIdempotent)
	s.run(t, "ListByLabels", s.list)
	s.run(t, "Remove", s.remove)
	s.run(t, "NotFound", s.notFound)
	s.run(t, "DependsOn", s.dependsOn)
	s.run(t, "BridgePortBindings", s.bridgePorts)
	s.run(t, "Exec", s.exec)
	s.run(t, "Hosts", s.hosts)
}

type suite struct{ h Harness }

func (s suite) run(t *testing.T, name string, f func(*testing.T)) {
	t.Run(name, func(t *testing.T) {
		if why, ok := s.h.Unsupported[name]; ok {
			t.Skipf("unsupported on this runtime: %s", why)
		}
		f(t)
	})
}

var ctx = context.Background()

// groupID makes IDs unique per test, so a shared runtime (Docker) never
// mixes tests up.
func groupID(t *testing.T, suffix string) string {
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	return strings.ToLower(fmt.Sprintf("dt-%s-%s-%d", name, suffix, time.Now().UnixNano()%1e6))
}

func (s suite) start(t *testing.T, d driver.Driver, spec driver.GroupSpec) {
	t.Helper()
	if err := d.Start(ctx, spec); err != nil {
		t.Fatalf("Start(%s): %v", spec.ID, err)
	}
	t.Cleanup(func() { _ = d.Remove(context.Background(), spec.ID) })
}

// waitFor lets time pass until cond holds for the group's state.
func (s suite) waitFor(t *testing.T, d driver.Driver, id, what string, cond func(driver.GroupState) bool) driver.GroupState {
	t.Helper()
	step := s.h.Patience / 100
	var last driver.GroupState
	for i := 0; i <= 100; i++ {
		g, err := d.Inspect(ctx, id)
		if err != nil {
			t.Fatalf("Inspect(%s): %v", id, err)
		}
		if cond(g) {
			return g
		}
		last = g
		s.h.Advance(step)
	}
	t.Fatalf("%s: not reached within %v; last state %+v", what, s.h.Patience, last)
	return last
}

func container(g driver.GroupState, name string) driver.ContainerState {
	for _, c := range g.Containers {
		if c.Name == name {
			return c
		}
	}
	return driver.ContainerState{}
}

func (s suite) startInspect(t *testing.T) {
	d := s.h.New(t)
	id := groupID(t, "g")
	spec := driver.GroupSpec{ID: id, Labels: map[string]string{"suite": "start"},
		Containers: []driver.ContainerSpec{s.h.RunsForever("app"), s.h.RunsForever("sidecar")}}
	s.start(t, d, spec)
	g := s.waitFor(t, d, id, "both containers running", func(g driver.GroupState) bool {
		return container(g, "app").Status == driver.StatusRunning && container(g, "sidecar").Status == driver.StatusRunning
	})
	if g.ID != id {
		t.Errorf("Inspect ID = %q, want %q", g.ID, id)
	}
	if len(g.Containers) != 2 || g.Containers[0].Name != "app" || g.Containers[1].Name != "sidecar" {
		t.Errorf("containers = %+v, want app and sidecar in spec order", g.Containers)
	}
	for _, c := range g.Containers {
		if c.RuntimeID == "" || c.StartedAt.IsZero() || c.ExitCode != nil || !c.FinishedAt.IsZero() {
			t.Errorf("running container %s = %+v: want runtime id and start time, no exit", c.Name, c)
		}
		if c.Health != driver.HealthUnknown {
			t.Errorf("container %s without health check has health %q, want UNKNOWN", c.Name, c.Health)
		}
	}
	if g.Labels["suite"] != "start" {
		t.Errorf("labels = %v, want suite=start", g.Labels)
	}
	if !g.StopRequestedAt.IsZero() {
		t.Errorf("StopRequestedAt = %v before any Stop", g.StopRequestedAt)
	}
}

func (s suite) startIdempotent(t *testing.T) {
	d := s.h.New(t)
	id := groupID(t, "g")
	spec := driver.GroupSpec{ID: id, Containers: []driver.ContainerSpec{s.h.RunsForever("app")}}
	s.start(t, d, spec)
	first := s.waitFor(t, d, id, "running", func(g driver.GroupState) bool {
		return container(g, "app").Status == driver.StatusRunning
	})
	s.h.Advance(s.h.Patience / 100)
	if err := d.Start(ctx, spec); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	again, err := d.Inspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	a, b := container(first, "app"), container(again, "app")
	if a.RuntimeID != b.RuntimeID || !a.StartedAt.Equal(b.StartedAt) || b.Status != driver.StatusRunning {
		t.Errorf("second Start changed the container: before %+v, after %+v", a, b)
	}
	list, err := d.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range list {
		if g.ID == id {
			n++
		}
	}
	if n != 1 {
		t.Errorf("List has group %s %d times, want once", id, n)
	}
}

func (s suite) exitCodes(t *testing.T) {
	d := s.h.New(t)
	id := groupID(t, "g")
	s.start(t, d, driver.GroupSpec{ID: id, Containers: []driver.ContainerSpec{
		s.h.Exits("zero", 0, time.Second),
		s.h.Exits("three", 3, time.Second),
		s.h.RunsForever("stays"),
	}})
	g := s.waitFor(t, d, id, "both exited", func(g driver.GroupState) bool {
		return container(g, "zero").Status == driver.StatusExited && container(g, "three").Status == driver.StatusExited
	})
	for name, want := range map[string]int{"zero": 0, "three": 3} {
		c := container(g, name)
		if c.ExitCode == nil || *c.ExitCode != want {
			t.Errorf("%s exit code = %v, want %d", name, c.ExitCode, want)
		}
		if c.StartedAt.IsZero() || c.FinishedAt.Before(c.StartedAt) || c.FailedToStart() {
			t.Errorf("%s = %+v: want started, then finished", name, c)
		}
	}
	if c := container(g, "stays"); c.Status != driver.StatusRunning {
		t.Errorf("a container exiting must not stop the others: stays = %+v", c)
	}
}

func (s suite) failureToStart(t *testing.T) {
	d := s.h.New(t)
	id := groupID(t, "g")
	bad, reason := s.h.FailsToStart("bad")
	s.start(t, d, driver.GroupSpec{ID: id, Containers: []driver.ContainerSpec{bad}})
	g := s.waitFor(t, d, id, "gave up starting", func(g driver.GroupState) bool {
		return container(g, "bad").Status == driver.StatusExited
	})
	c := container(g, "bad")
	if !c.FailedToStart() || c.ExitCode != nil || !strings.HasPrefix(c.Reason, reason) {
		t.Errorf("container = %+v: want failed to start with reason %q..., no exit code", c, reason)
	}
}

func (s suite) stop(t *testing.T) {
	d := s.h.New(t)
	id := groupID(t, "g")
	s.start(t, d, driver.GroupSpec{ID: id, Containers: []driver.ContainerSpec{s.h.RunsForever("app")}})
	s.waitFor(t, d, id, "running", func(g driver.GroupState) bool {
		return container(g, "app").Status == driver.StatusRunning
	})
	if err := d.Stop(ctx, id, 30*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	g := s.waitFor(t, d, id, "exited after SIGTERM", func(g driver.GroupState) bool {
		return !g.Running()
	})
	c := container(g, "app")
	if c.ExitCode == nil || *c.ExitCode == 137 {
		t.Errorf("container exiting on SIGTERM = %+v: want an exit code other than 137 (killed)", c)
	}
	if g.StopRequestedAt.IsZero() {
		t.Errorf("StopRequestedAt is zero after Stop")
	}
}

func (s suite) stopKills(t *testing.T) {
	d := s.h.New(t)
	id := groupID(t, "g")
	spec := s.h.IgnoresSIGTERM("stubborn")
	spec.StopTimeout = 2 * time.Second
	s.start(t, d, driver.GroupSpec{ID: id, Containers: []driver.ContainerSpec{spec}})
	s.waitFor(t, d, id, "running", func(g driver.GroupState) bool {
		return container(g, "stubborn").Status == driver.StatusRunning
	})
	if err := d.Stop(ctx, id, time.Hour); err != nil { // the container's own timeout wins
		t.Fatalf("Stop: %v", err)
	}
	g := s.waitFor(t, d, id, "killed", func(g driver.GroupState) bool { return !g.Running() })
	c := container(g, "stubborn")
	if c.ExitCode == nil || *c.ExitCode != 137 {
		t.Errorf("killed container exit code = %v, want 137", c.ExitCode)
	}
	if took := c.FinishedAt.Sub(g.StopRequestedAt); took < 2*time.Second || took > 2*time.Second+s.h.Patience/10 {
		t.Errorf("killed %v after the stop request, want about the 2s stop timeout", took)
	}
}

func (s suite) stopIdempotent(t *testing.T) {
	d := s.h.New(t)
	id := groupID(t, "g")
	s.start(t, d, driver.GroupSpec{ID: id, Containers: []driver.ContainerSpec{s.h.RunsForever("app")}})
	s.waitFor(t, d, id, "running", func(g driver.GroupState) bool {
		return container(g, "app").Status == driver.StatusRunning
	})
	if err := d.Stop(ctx, id, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	first, _ := d.Inspect(ctx, id)
	s.h.Advance(s.h.Patience / 100)
	if err := d.Stop(ctx, id, 10*time.Second); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	s.waitFor(t, d, id, "stopped", func(g driver.GroupState) bool { return !g.Running() })
	if err := d.Stop(ctx, id, 10*time.Second); err != nil {
		t.Fatalf("Stop of a stopped group: %v", err)
	}
	g, _ := d.Inspect(ctx, id)
	if !g.StopRequestedAt.Equal(first.StopRequestedAt) {
		t.Errorf("StopRequestedAt moved from %v to %v: a repeated Stop must keep the first", first.StopRequestedAt, g.StopRequestedAt)
	}
}

func (s suite) list(t *testing.T) {
	d := s.h.New(t)
	run := groupID(t, "run")
	a, b, c := groupID(t, "a"), groupID(t, "b"), groupID(t, "c")
	s.start(t, d, driver.GroupSpec{ID: a, Labels: map[string]string{"run": run, "role": "web"}, Containers: []driver.ContainerSpec{s.h.RunsForever("x")}})
	s.start(t, d, driver.GroupSpec{ID: b, Labels: map[string]string{"run": run, "role": "worker"}, Containers: []driver.ContainerSpec{s.h.RunsForever("x")}})
	s.start(t, d, driver.GroupSpec{ID: c, Labels: map[string]string{"run": "other"}, Containers: []driver.ContainerSpec{s.h.RunsForever("x")}})
	ids := func(labels map[string]string) []string {
		gs, err := d.List(ctx, labels)
		if err != nil {
			t.Fatalf("List(%v): %v", labels, err)
		}
		var out []string
		for _, g := range gs {
			if g.ID == a || g.ID == b || g.ID == c {
				out = append(out, g.ID)
			}
		}
		sort.Strings(out)
		return out
	}
	want := []string{a, b}
	sort.Strings(want)
	if got := ids(map[string]string{"run": run}); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("List(run) = %v, want %v", got, want)
	}
	if got := ids(map[string]string{"run": run, "role": "worker"}); fmt.Sprint(got) != fmt.Sprint([]string{b}) {
		t.Errorf("List(run, role=worker) = %v, want [%s]", got, b)
	}
	if got := ids(map[string]string{"run": "nobody"}); len(got) != 0 {
		t.Errorf("List(run=nobody) = %v, want none", got)
	}
	if got := ids(nil); len(got) != 3 {
		t.Errorf("List(nil) = %v, want all three", got)
	}
}

func (s suite) remove(t *testing.T) {
	d := s.h.New(t)
	id := groupID(t, "g")
	if err := d.Start(ctx, driver.GroupSpec{ID: id, Labels: map[string]string{"rm": id}, Containers: []driver.ContainerSpec{s.h.RunsForever("app")}}); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, d, id, "running", func(g driver.GroupState) bool {
		return container(g, "app").Status == driver.StatusRunning
	})
	if err := d.Remove(ctx, id); err != nil {
		t.Fatalf("Remove of a running group: %v", err)
	}
	if _, err := d.Inspect(ctx, id); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("Inspect after Remove: %v, want ErrNotFound", err)
	}
	if gs, _ := d.List(ctx, map[string]string{"rm": id}); len(gs) != 0 {
		t.Errorf("List after Remove = %+v, want none", gs)
	}
	if err := d.Remove(ctx, id); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("second Remove: %v, want ErrNotFound", err)
	}
	// The ID is free again.
	s.start(t, d, driver.GroupSpec{ID: id, Containers: []driver.ContainerSpec{s.h.RunsForever("app")}})
}

func (s suite) notFound(t *testing.T) {
	d := s.h.New(t)
	id := groupID(t, "missing")
	if _, err := d.Inspect(ctx, id); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("Inspect: %v, want ErrNotFound", err)
	}
	if err := d.Stop(ctx, id, time.Second); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("Stop: %v, want ErrNotFound", err)
	}
	if err := d.Remove(ctx, id); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("Remove: %v, want ErrNotFound", err)
	}
}

func (s suite) dependsOn(t *testing.T) {
	d := s.h.New(t)
	id := groupID(t, "g")
	on := func(spec driver.ContainerSpec, dep, cond string) driver.ContainerSpec {
		spec.DependsOn = append(spec.DependsOn, driver.Dependency{Container: dep, Condition: cond})
		return spec
	}
	s.start(t, d, driver.GroupSpec{ID: id, Containers: []driver.ContainerSpec{
		on(s.h.RunsForever("after-start"), "after-success", driver.ConditionStart), // declared before what it waits for
		s.h.Exits("first", 0, time.Second),
		s.h.Exits("fails", 3, time.Second),
		on(s.h.RunsForever("after-success"), "first", driver.ConditionSuccess),
		on(s.h.RunsForever("after-complete"), "fails", driver.ConditionComplete),
		on(s.h.RunsForever("blocked"), "fails", driver.ConditionSuccess),
	}})
	g := s.waitFor(t, d, id, "dependents started or given up", func(g driver.GroupState) bool {
		return container(g, "after-start").Status == driver.StatusRunning &&
			container(g, "after-complete").Status == driver.StatusRunning &&
			container(g, "blocked").Status == driver.StatusExited
	})
	for _, o := range []struct{ name, dep string }{{"after-success", "first"}, {"after-complete", "fails"}} {
		c, dep := container(g, o.name), container(g, o.dep)
		if dep.Status != driver.StatusExited || c.StartedAt.Before(dep.FinishedAt) {
			t.Errorf("%s started at %v, before %s finished (%+v)", o.name, c.StartedAt, o.dep, dep)
		}
	}
	if a, b := container(g, "after-start"), container(g, "after-success"); b.StartedAt.IsZero() || a.StartedAt.Before(b.StartedAt) {
		t.Errorf("after-start started at %v, before after-success at %v", a.StartedAt, b.StartedAt)
	}
	if c := container(g, "blocked"); !c.FailedToStart() || c.ExitCode != nil {
		t.Errorf("blocked = %+v: a SUCCESS dependency that exited 3 is never met; want failed to start, with a reason", c)
	}
}

func (s suite) bridgePorts(t *testing.T) {
	d := s.h.New(t)
	id := groupID(t, "g")
	web := s.h.RunsForever("web")
	web.PortMappings = []driver.PortMapping{{ContainerPort: 8080}}
	s.start(t, d, driver.GroupSpec{ID: id, NetworkMode: driver.NetworkBridge, Containers: []driver.ContainerSpec{web}})
	g := s.waitFor(t, d, id, "running", func(g driver.GroupState) bool {
		return container(g, "web").Status == driver.StatusRunning
	})
	bs := container(g, "web").NetworkBindings
	if s.h.Capabilities.NoEphemeralHostPorts {
		if len(bs) != 1 || bs[0].ContainerPort != 8080 || bs[0].HostPort != 8080 || bs[0].Protocol != "tcp" || bs[0].BindIP == "" {
			t.Errorf("bindings = %+v: want container port 8080 on the group's address", bs)
		}
		return
	}
	if len(bs) != 1 || bs[0].ContainerPort != 8080 || bs[0].HostPort <= 0 || bs[0].Protocol != "tcp" || bs[0].BindIP == "" {
		t.Errorf("bindings = %+v: want one for container port 8080 on an ephemeral host port", bs)
	}
}

// hosts: a runtime with several hosts lists them, runs a group on the
// host its spec names, and cordons a host and lifts the cordon.
func (s suite) hosts(t *testing.T) {
	d := s.h.New(t)
	hl, ok := d.(driver.HostLister)
	if !s.h.Capabilities.Hosts {
		if ok && len(hl.Hosts()) > 0 {
			t.Fatalf("the runtime reports hosts %+v but its harness does not say Capabilities.Hosts", hl.Hosts())
		}
		t.Skip("a single-host runtime")
	}
	if !ok {
		t.Fatal("Capabilities.Hosts, but the driver is no driver.HostLister")
	}
	hosts := hl.Hosts()
	if len(hosts) == 0 {
		t.Fatal("no hosts")
	}
	for i, h := range hosts {
		if h.Name == "" || h.CPU <= 0 || h.MemoryMiB <= 0 || i > 0 && hosts[i-1].Name >= h.Name {
			t.Fatalf("hosts = %+v: want named, with resources, sorted by name", hosts)
		}
	}
	target := hosts[len(hosts)-1]
	id := groupID(t, "g")
	s.start(t, d, driver.GroupSpec{ID: id, Host: target.Name, Containers: []driver.ContainerSpec{s.h.RunsForever("app")}})
	g := s.waitFor(t, d, id, "running on "+target.Name, func(g driver.GroupState) bool {
		return container(g, "app").Status == driver.StatusRunning
	})
	if g.Host != target.Name {
		t.Errorf("group runs on %q, want %q", g.Host, target.Name)
	}
	if err := hl.SetDraining(ctx, "no-such-host", true); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("SetDraining of an unknown host = %v, want ErrNotFound", err)
	}
	if target.Unschedulable {
		return // someone else's cordon: not ours to lift
	}
	drained := func(want bool) {
		t.Helper()
		if err := hl.SetDraining(ctx, target.Name, want); err != nil {
			t.Fatal(err)
		}
		for i := 0; ; i++ {
			var h driver.Host
			for _, x := range hl.Hosts() {
				if x.Name == target.Name {
					h = x
				}
			}
			if h.Draining == want && h.Unschedulable == want {
				return
			}
			if i == 100 {
				t.Fatalf("host %s: draining %v unschedulable %v, want %v", target.Name, h.Draining, h.Unschedulable, want)
			}
			s.h.Advance(s.h.Patience / 100)
		}
	}
	t.Cleanup(func() { _ = hl.SetDraining(context.Background(), target.Name, false) })
	drained(true)
	drained(false)
}
