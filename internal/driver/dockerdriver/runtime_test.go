package dockerdriver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/driver"
)

// Docker-specific behaviour the conformance suite does not cover:
// networking modes, container configuration, dependsOn, health checks,
// reasons, restarts, scoping and cleanup.

var bg = context.Background()

const patience = 20 * time.Second

func start(t *testing.T, d *Driver, spec driver.GroupSpec) {
	t.Helper()
	if err := d.Start(bg, spec); err != nil {
		t.Fatalf("Start(%s): %v", spec.ID, err)
	}
}

func running(names ...string) func(driver.GroupState) bool {
	return func(g driver.GroupState) bool {
		for _, n := range names {
			if containerOf(g, n).Status != driver.StatusRunning {
				return false
			}
		}
		return true
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// info asks a tiny server what its process sees.
type info struct {
	Env      []string `json:"env"`
	Cwd      string   `json:"cwd"`
	UID      int      `json:"uid"`
	GID      int      `json:"gid"`
	Args     []string `json:"args"`
	Hostname string   `json:"hostname"`
}

func getInfo(t *testing.T, addr string) info {
	t.Helper()
	var resp *http.Response
	var err error
	deadline := time.Now().Add(patience)
	for {
		resp, err = http.Get("http://" + addr + "/info")
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("GET %s/info: %v", addr, err)
	}
	defer resp.Body.Close()
	var in info
	if err := json.NewDecoder(resp.Body).Decode(&in); err != nil {
		t.Fatal(err)
	}
	return in
}

func TestBridgeContainerConfig(t *testing.T) {
	t.Parallel()
	cli, tiny := testEngine(t)
	d := newDriver(t, scope(t))
	id := groupID(t)
	fixed := freePort(t)
	start(t, d, driver.GroupSpec{ID: id, NetworkMode: driver.NetworkBridge, Labels: map[string]string{"task": "t1"},
		Containers: []driver.ContainerSpec{{
			Name: "web", Image: tiny, Essential: true,
			Command:          []string{"serve", ":8080"},
			Env:              []driver.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "two words"}},
			WorkingDirectory: "/srv",
			User:             "1234:5678",
			Labels:           map[string]string{"com.example.role": "web", "task": "overridden by the group", labelRole: "overridden by the driver"},
			PortMappings:     []driver.PortMapping{{ContainerPort: 8080}, {ContainerPort: 8080, HostPort: fixed}, {ContainerPort: 9000, Protocol: "udp"}},
			CPU:              256, MemoryMiB: 64, MemoryReservationMiB: 32,
			StopTimeout: 3 * time.Second,
		}}})
	g := waitFor(t, d, id, "web running", patience, running("web"))
	web := containerOf(g, "web")

	// Published on 127.0.0.1 only, ephemeral and fixed, in spec order.
	if len(web.NetworkBindings) != 3 {
		t.Fatalf("bindings = %+v, want three", web.NetworkBindings)
	}
	eph, fix, udp := web.NetworkBindings[0], web.NetworkBindings[1], web.NetworkBindings[2]
	if eph.BindIP != "127.0.0.1" || eph.ContainerPort != 8080 || eph.HostPort == 0 || eph.HostPort == fixed || eph.Protocol != "tcp" {
		t.Errorf("ephemeral binding = %+v", eph)
	}
	if want := (driver.NetworkBinding{BindIP: "127.0.0.1", ContainerPort: 8080, HostPort: fixed, Protocol: "tcp"}); fix != want {
		t.Errorf("fixed binding = %+v, want %+v", fix, want)
	}
	if udp.Protocol != "udp" || udp.ContainerPort != 9000 || udp.HostPort == 0 {
		t.Errorf("udp binding = %+v", udp)
	}
	if net.ParseIP(web.PrivateIP) == nil {
		t.Errorf("PrivateIP = %q, want the bridge address", web.PrivateIP)
	}
	if !strings.HasPrefix(web.ImageDigest, "sha256:") || web.PulledAt.IsZero() || web.PulledAt.After(web.StartedAt) {
		t.Errorf("web = %+v: want an image digest and a pull time before the start", web)
	}

	// What the process sees, through both published ports.
	in := getInfo(t, fmt.Sprintf("127.0.0.1:%d", eph.HostPort))
	if in2 := getInfo(t, fmt.Sprintf("127.0.0.1:%d", fixed)); in2.Hostname != in.Hostname {
		t.Errorf("the fixed port reaches %q, the ephemeral one %q", in2.Hostname, in.Hostname)
	}
	for _, want := range []string{"A=1", "B=two words"} {
		if !slices.Contains(in.Env, want) {
			t.Errorf("env %v lacks %q", in.Env, want)
		}
	}
	if in.Cwd != "/srv" || in.UID != 1234 || in.GID != 5678 {
		t.Errorf("cwd, uid, gid = %q, %d, %d; want /srv, 1234, 5678", in.Cwd, in.UID, in.GID)
	}
	if want := []string{"/tiny", "serve", ":8080"}; !slices.Equal(in.Args, want) {
		t.Errorf("args = %v, want %v (the image's entry point, our command)", in.Args, want)
	}

	// What Docker was told.
	c, err := cli.ContainerInspect(bg, web.RuntimeID)
	if err != nil {
		t.Fatal(err)
	}
	hc := c.HostConfig
	if hc.CPUShares != 256 || hc.Memory != 64<<20 || hc.MemoryReservation != 32<<20 {
		t.Errorf("cpu shares, memory, reservation = %d, %d, %d", hc.CPUShares, hc.Memory, hc.MemoryReservation)
	}
	if c.Config.StopTimeout == nil || *c.Config.StopTimeout != 3 {
		t.Errorf("StopTimeout = %v, want 3", c.Config.StopTimeout)
	}
	for k, want := range map[string]string{"com.example.role": "web", "task": "t1", labelGroup: id, labelRole: roleContainer, labelContainer: "web", labelEssential: "true"} {
		if got := c.Config.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	if !strings.HasPrefix(c.Name, "/ecsd-"+id+"-web-") {
		t.Errorf("container name = %q, want ecsd-<group>-web-<hash>", c.Name)
	}
}

func TestEntryPointOverride(t *testing.T) {
	t.Parallel()
	_, tiny := testEngine(t)
	d := newDriver(t, scope(t))
	id := groupID(t)
	start(t, d, driver.GroupSpec{ID: id, NetworkMode: driver.NetworkNone, Containers: []driver.ContainerSpec{
		{Name: "x", Image: tiny, EntryPoint: []string{"/tiny", "exit"}, Command: []string{"7", "0"}},
	}})
	g := waitFor(t, d, id, "exited", patience, func(g driver.GroupState) bool { return !g.Running() })
	if c := containerOf(g, "x"); c.ExitCode == nil || *c.ExitCode != 7 || c.Reason != "" {
		t.Errorf("x = %+v, want exit code 7 and no reason", c)
	}
}

func TestAwsvpcSharesLocalhost(t *testing.T) {
	t.Parallel()
	cli, tiny := testEngine(t)
	labels := scope(t)
	d := newDriver(t, labels)
	id := groupID(t)
	start(t, d, driver.GroupSpec{ID: id, NetworkMode: driver.NetworkAwsvpc, Containers: []driver.ContainerSpec{
		// Listening on loopback only: reachable from the group alone.
		{Name: "web", Image: tiny, Command: []string{"serve", "127.0.0.1:8080"}, PortMappings: []driver.PortMapping{{ContainerPort: 8080}}},
		{Name: "client", Image: tiny, Command: []string{"get-retry", "http://127.0.0.1:8080/health", "10000"}},
	}})
	g := waitFor(t, d, id, "client done", patience, func(g driver.GroupState) bool {
		return containerOf(g, "client").Status == driver.StatusExited
	})
	if c := containerOf(g, "client"); c.ExitCode == nil || *c.ExitCode != 0 {
		t.Fatalf("client = %+v: want exit 0 (it reached web on localhost)", c)
	}
	web := containerOf(g, "web")
	if web.Status != driver.StatusRunning || net.ParseIP(web.PrivateIP) == nil || len(web.NetworkBindings) != 0 {
		t.Errorf("web = %+v: want running with the group's address and no published ports", web)
	}
	a, err := cli.ContainerInspect(bg, anchorName(id))
	if err != nil {
		t.Fatal(err)
	}
	if !a.State.Running || a.NetworkSettings.Networks["bridge"].IPAddress != web.PrivateIP {
		t.Errorf("pause container running=%v ip=%q, want running with the group's address %q", a.State.Running, a.NetworkSettings.Networks["bridge"].IPAddress, web.PrivateIP)
	}
	w, err := cli.ContainerInspect(bg, web.RuntimeID)
	if err != nil {
		t.Fatal(err)
	}
	if want := "container:" + a.ID; string(w.HostConfig.NetworkMode) != want {
		t.Errorf("web network mode = %q, want %q", w.HostConfig.NetworkMode, want)
	}

	if err := d.Stop(bg, id, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, d, id, "stopped", patience, func(g driver.GroupState) bool { return !g.Running() })
	deadline := time.Now().Add(patience)
	for {
		a, err := cli.ContainerInspect(bg, anchorName(id))
		if err != nil {
			t.Fatal(err)
		}
		if !a.State.Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the pause container still runs after the group stopped")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := d.Remove(bg, id); err != nil {
		t.Fatal(err)
	}
	if cs := scopeContainers(t, cli, labels); len(cs) != 0 {
		t.Errorf("after Remove, containers left: %+v", cs)
	}
}

func TestHostAndNoneNetworks(t *testing.T) {
	t.Parallel()
	_, tiny := testEngine(t)
	d := newDriver(t, scope(t))
	port := freePort(t)
	host, none := groupID(t)+"h", groupID(t)+"n"
	start(t, d, driver.GroupSpec{ID: host, NetworkMode: driver.NetworkHost, Containers: []driver.ContainerSpec{
		{Name: "web", Image: tiny, Command: []string{"serve", fmt.Sprintf("127.0.0.1:%d", port)}, PortMappings: []driver.PortMapping{{ContainerPort: port}}},
	}})
	start(t, d, driver.GroupSpec{ID: none, NetworkMode: driver.NetworkNone, Containers: []driver.ContainerSpec{
		{Name: "web", Image: tiny, Command: []string{"serve", ":8080"}, PortMappings: []driver.PortMapping{{ContainerPort: 8080}}},
	}})
	g := waitFor(t, d, host, "host web running", patience, running("web"))
	want := []driver.NetworkBinding{{BindIP: "0.0.0.0", ContainerPort: port, HostPort: port, Protocol: "tcp"}}
	if diff := cmp.Diff(want, containerOf(g, "web").NetworkBindings); diff != "" {
		t.Errorf("host-mode bindings (-want +got):\n%s", diff)
	}
	getInfo(t, fmt.Sprintf("127.0.0.1:%d", port)) // the host's own loopback
	g = waitFor(t, d, none, "none web running", patience, running("web"))
	if c := containerOf(g, "web"); c.PrivateIP != "" || len(c.NetworkBindings) != 0 {
		t.Errorf("none-mode web = %+v: want no address and no bindings", c)
	}
}

func TestDependsOn(t *testing.T) {
	t.Parallel()
	_, tiny := testEngine(t)
	d := newDriver(t, scope(t))
	id := groupID(t)
	run := func(name string, deps ...driver.Dependency) driver.ContainerSpec {
		return driver.ContainerSpec{Name: name, Image: tiny, Command: []string{"run"}, DependsOn: deps}
	}
	on := func(c, cond string) driver.Dependency { return driver.Dependency{Container: c, Condition: cond} }
	healthy := driver.ContainerSpec{Name: "healthy", Image: tiny, Command: []string{"touch", "/ready", "700"},
		HealthCheck: &driver.HealthCheck{Command: []string{"CMD", "/tiny", "health", "/ready"}, Interval: 100 * time.Millisecond,
			Timeout: time.Second, StartPeriod: 10 * time.Second, Retries: 2}}
	impatient := run("impatient", on("forever", driver.ConditionComplete))
	impatient.StartTimeout = time.Second
	start(t, d, driver.GroupSpec{ID: id, NetworkMode: driver.NetworkNone, Containers: []driver.ContainerSpec{
		run("after-start", on("after-success", driver.ConditionStart)), // declared before what it waits for
		{Name: "first", Image: tiny, Command: []string{"exit", "0", "600"}},
		run("after-success", on("first", driver.ConditionSuccess)),
		run("after-complete", on("first", driver.ConditionComplete), on("fails", driver.ConditionComplete)),
		healthy,
		run("after-healthy", on("healthy", driver.ConditionHealthy)),
		{Name: "fails", Image: tiny, Command: []string{"exit", "1", "0"}},
		run("after-fail", on("fails", driver.ConditionSuccess)),
		run("no-healthcheck", on("first", driver.ConditionHealthy)),
		run("orphan", on("nobody", driver.ConditionStart)),
		run("forever"),
		impatient,
	}})
	g := waitFor(t, d, id, "every container started or given up", patience, func(g driver.GroupState) bool {
		for _, c := range g.Containers {
			if c.Status == driver.StatusCreated {
				return false
			}
		}
		return true
	})
	c := func(name string) driver.ContainerState { return containerOf(g, name) }
	notBefore := func(a, b string, at, after time.Time) {
		if at.IsZero() || at.Before(after) {
			t.Errorf("%s started at %v, before %s was ready at %v", a, at, b, after)
		}
	}
	notBefore("after-success", "first", c("after-success").StartedAt, c("first").FinishedAt)
	notBefore("after-complete", "first", c("after-complete").StartedAt, c("first").FinishedAt)
	notBefore("after-start", "after-success", c("after-start").StartedAt, c("after-success").StartedAt)
	notBefore("after-healthy", "healthy", c("after-healthy").StartedAt, c("healthy").StartedAt.Add(700*time.Millisecond))
	if h := c("healthy").Health; h != driver.HealthHealthy {
		t.Errorf("healthy health = %s", h)
	}
	for name, reason := range map[string]string{
		"after-fail":     "CannotStartContainerError: dependency SUCCESS of container fails was not met",
		"no-healthcheck": "CannotStartContainerError: dependency HEALTHY of container first was not met",
		"orphan":         "CannotStartContainerError: dependency START of container nobody was not met",
		"impatient":      "CannotStartContainerError: timed out waiting for dependencies",
	} {
		if got := c(name); !got.FailedToStart() || got.Reason != reason || got.ExitCode != nil {
			t.Errorf("%s = %+v: want failed to start with %q", name, got, reason)
		}
	}
}

func TestHealthCheck(t *testing.T) {
	t.Parallel()
	_, tiny := testEngine(t)
	d := newDriver(t, scope(t))
	id := groupID(t)
	check := func(file string) *driver.HealthCheck {
		return &driver.HealthCheck{Command: []string{"/tiny", "health", file}, Interval: 100 * time.Millisecond, Timeout: time.Second, Retries: 2}
	}
	start(t, d, driver.GroupSpec{ID: id, NetworkMode: driver.NetworkNone, Containers: []driver.ContainerSpec{
		{Name: "good", Image: tiny, Command: []string{"touch", "/ok", "0"}, HealthCheck: check("/ok")},
		{Name: "bad", Image: tiny, Command: []string{"run"}, HealthCheck: check("/never")},
		{Name: "none", Image: tiny, Command: []string{"run"}},
	}})
	g := waitFor(t, d, id, "health decided", patience, func(g driver.GroupState) bool {
		return containerOf(g, "good").Health == driver.HealthHealthy && containerOf(g, "bad").Health == driver.HealthUnhealthy
	})
	if h := containerOf(g, "none").Health; h != driver.HealthUnknown {
		t.Errorf("container without health check: health %s, want UNKNOWN", h)
	}
	if c := containerOf(g, "bad"); c.Status != driver.StatusRunning {
		t.Errorf("an unhealthy container keeps running (the supervisor decides): %+v", c)
	}
}

func TestReasons(t *testing.T) {
	t.Parallel()
	_, tiny := testEngine(t)
	d := newDriver(t, scope(t))
	id := groupID(t)
	start(t, d, driver.GroupSpec{ID: id, NetworkMode: driver.NetworkNone, Containers: []driver.ContainerSpec{
		{Name: "oom", Image: tiny, Command: []string{"alloc", "256", "500"}, MemoryMiB: 16},
		{Name: "noexec", Image: tiny, EntryPoint: []string{"/nope"}},
		{Name: "tiny-limit", Image: tiny, MemoryMiB: 1},
		{Name: "nopull", Image: "ecsd-test/does-not-exist:1"},
	}})
	g := waitFor(t, d, id, "all exited", patience, func(g driver.GroupState) bool { return !g.Running() })
	if c := containerOf(g, "oom"); c.ExitCode == nil || *c.ExitCode != 137 || c.Reason != "OutOfMemoryError: Container killed due to memory usage" {
		code := "none"
		if c.ExitCode != nil {
			code = strconv.Itoa(*c.ExitCode)
		}
		t.Errorf("oom = %+v (exit code %s): want exit 137 and ECS's OutOfMemoryError reason", c, code)
	}
	for name, prefix := range map[string]string{
		"noexec":     "CannotStartContainerError: Error response from daemon: ",
		"tiny-limit": "CannotCreateContainerError: Error response from daemon: ",
		"nopull":     "CannotPullContainerError: ",
	} {
		if c := containerOf(g, name); !c.FailedToStart() || c.ExitCode != nil || !strings.HasPrefix(c.Reason, prefix) || c.RuntimeID == "" {
			t.Errorf("%s = %+v: want failed to start, reason %q...", name, c, prefix)
		}
	}
	if c := containerOf(g, "noexec"); !strings.Contains(c.Reason, "/nope") {
		t.Errorf("noexec reason %q does not say what was missing", c.Reason)
	}
	if c := containerOf(g, "nopull"); !c.PulledAt.IsZero() {
		t.Errorf("nopull PulledAt = %v, want zero: the image never arrived", c.PulledAt)
	}
}

// A new process finds the groups in Docker: it finishes starting them,
// enforces a recorded stop, and a repeated Start changes nothing.
func TestRestart(t *testing.T) {
	t.Parallel()
	cli, tiny := testEngine(t)
	labels := scope(t)
	d1 := newDriver(t, labels)
	starting, stopping := groupID(t)+"a", groupID(t)+"b"
	startingSpec := driver.GroupSpec{ID: starting, NetworkMode: driver.NetworkAwsvpc, Containers: []driver.ContainerSpec{
		{Name: "first", Image: tiny, Command: []string{"exit", "0", "1500"}},
		{Name: "second", Image: tiny, Command: []string{"run"}, DependsOn: []driver.Dependency{{Container: "first", Condition: driver.ConditionComplete}}},
	}}
	start(t, d1, startingSpec)
	stubborn := driver.ContainerSpec{Name: "stubborn", Image: tiny, Command: []string{"ignore-term"}, StopTimeout: 2 * time.Second}
	start(t, d1, driver.GroupSpec{ID: stopping, NetworkMode: driver.NetworkBridge, Containers: []driver.ContainerSpec{stubborn}})
	waitFor(t, d1, starting, "first running", patience, running("first"))
	waitFor(t, d1, stopping, "stubborn running", patience, running("stubborn"))
	if err := d1.Close(); err != nil { // as if ecsd died: its runners are gone
		t.Fatal(err)
	}
	// Recorded in Docker, but nobody acts on it yet.
	if err := d1.Stop(bg, stopping, time.Hour); err != nil {
		t.Fatal(err)
	}
	before, err := d1.Inspect(bg, stopping)
	if err != nil {
		t.Fatal(err)
	}
	if c := containerOf(before, "stubborn"); before.StopRequestedAt.IsZero() || c.Status != driver.StatusRunning {
		t.Fatalf("after Stop without a runner: %+v", before)
	}
	// Started markers come when a group has nothing left to start; the
	// count is of the rest.
	countOf := func() int {
		n := 0
		for _, c := range scopeContainers(t, cli, labels) {
			if c.Labels[labelRole] != roleStarted {
				n++
			}
		}
		return n
	}
	countBefore := countOf()

	d2 := newDriver(t, labels)
	start(t, d2, startingSpec) // idempotent across processes
	g := waitFor(t, d2, starting, "second started by the new process", patience, running("second"))
	if c := containerOf(g, "first"); c.Status != driver.StatusExited || containerOf(g, "second").StartedAt.Before(c.FinishedAt) {
		t.Errorf("second started before first completed: %+v", g.Containers)
	}
	g = waitFor(t, d2, stopping, "stubborn killed", patience, func(g driver.GroupState) bool { return !g.Running() })
	c := containerOf(g, "stubborn")
	if c.ExitCode == nil || *c.ExitCode != 137 {
		t.Errorf("stubborn exit code = %v, want 137", c.ExitCode)
	}
	if !g.StopRequestedAt.Equal(before.StopRequestedAt) {
		t.Errorf("StopRequestedAt changed across processes: %v, then %v", before.StopRequestedAt, g.StopRequestedAt)
	}
	if took := c.FinishedAt.Sub(g.StopRequestedAt); took < 2*time.Second || took > 6*time.Second {
		t.Errorf("killed %v after the stop request, want about its 2s stop timeout", took)
	}
	// Only second is new: the repeated Start made nothing.
	if got := countOf(); got != countBefore+1 {
		t.Errorf("%d containers after the restart, want %d: the repeated Start made some", got, countBefore+1)
	}
}

// Remove during start-up leaves nothing, even what the runner was about
// to create.
func TestRemoveWhileStarting(t *testing.T) {
	t.Parallel()
	cli, tiny := testEngine(t)
	labels := scope(t)
	d := newDriver(t, labels)
	id := groupID(t)
	start(t, d, driver.GroupSpec{ID: id, NetworkMode: driver.NetworkAwsvpc, Containers: []driver.ContainerSpec{
		// Long enough to be seen running on a loaded machine.
		{Name: "first", Image: tiny, Command: []string{"exit", "0", "1500"}},
		{Name: "second", Image: tiny, DependsOn: []driver.Dependency{{Container: "first", Condition: driver.ConditionSuccess}}},
		{Name: "nopull", Image: "ecsd-test/does-not-exist:1"},
	}})
	waitFor(t, d, id, "first running", patience, running("first"))
	if err := d.Stop(bg, id, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(bg, id); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1700 * time.Millisecond) // past when second would have started
	if cs := scopeContainers(t, cli, labels); len(cs) != 0 {
		t.Errorf("after Remove, containers left: %+v", cs)
	}
	if _, err := d.Inspect(bg, id); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("Inspect after Remove: %v", err)
	}
	if n := groupsKept(d); n != 0 {
		t.Errorf("the driver still keeps %d group records after Remove", n)
	}
}

func groupsKept(d *Driver) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.groups)
}

// Drivers with different scopes share an Engine without seeing each
// other's groups.
func TestScope(t *testing.T) {
	t.Parallel()
	_, tiny := testEngine(t)
	a, b := newDriver(t, scope(t)), newDriver(t, map[string]string{scopeLabel: "other-" + strconv.FormatInt(time.Now().UnixNano(), 10)})
	id := groupID(t)
	start(t, a, driver.GroupSpec{ID: id, Containers: []driver.ContainerSpec{{Name: "x", Image: tiny}}})
	if _, err := b.Inspect(bg, id); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("other scope Inspect: %v, want ErrNotFound", err)
	}
	if err := b.Stop(bg, id, time.Second); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("other scope Stop: %v, want ErrNotFound", err)
	}
	if err := b.Remove(bg, id); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("other scope Remove: %v, want ErrNotFound", err)
	}
	gs, err := b.List(bg, nil)
	if err != nil || len(gs) != 0 {
		t.Errorf("other scope List = %+v, %v; want none", gs, err)
	}
	if n := groupsKept(b); n != 0 {
		t.Errorf("other scope keeps %d group records after calls for an unknown group", n)
	}
	if err := b.Start(bg, driver.GroupSpec{ID: id, Containers: []driver.ContainerSpec{{Name: "x", Image: tiny}}}); err == nil {
		t.Errorf("other scope Start of a taken ID succeeded; want an error")
	}
	if g, err := a.Inspect(bg, id); err != nil || len(g.Containers) != 1 {
		t.Errorf("own scope Inspect = %+v, %v", g, err)
	}
}

// An image prune after New must not break the driver: the pause image is
// imported again when needed. Not parallel: it removes a shared image.
func TestPauseImageRemoved(t *testing.T) {
	cli, tiny := testEngine(t)
	d := newDriver(t, scope(t))
	if _, err := cli.ImageRemove(bg, d.pause, image.RemoveOptions{Force: true}); err != nil {
		t.Fatalf("removing the pause image: %v", err)
	}
	id := groupID(t)
	start(t, d, driver.GroupSpec{ID: id, NetworkMode: driver.NetworkAwsvpc, Containers: []driver.ContainerSpec{{Name: "x", Image: tiny}}})
	waitFor(t, d, id, "running", patience, running("x"))
	if _, err := cli.ImageInspect(bg, d.pause); err != nil {
		t.Errorf("pause image not there again: %v", err)
	}
}

// A container whose dependency is met only by the stop itself (its
// dependency exits on SIGTERM) never starts.
func TestStopBeforeStart(t *testing.T) {
	t.Parallel()
	_, tiny := testEngine(t)
	d := newDriver(t, scope(t))
	id := groupID(t)
	start(t, d, driver.GroupSpec{ID: id, NetworkMode: driver.NetworkNone, Containers: []driver.ContainerSpec{
		{Name: "first", Image: tiny, Command: []string{"run"}},
		{Name: "waiting", Image: tiny, Command: []string{"run"}, DependsOn: []driver.Dependency{{Container: "first", Condition: driver.ConditionComplete}}},
	}})
	waitFor(t, d, id, "first running", patience, running("first"))
	if err := d.Stop(bg, id, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	g := waitFor(t, d, id, "stopped", patience, func(g driver.GroupState) bool { return !g.Running() })
	if c := containerOf(g, "waiting"); !c.StartedAt.IsZero() || c.ExitCode != nil || c.FailedToStart() || c.RuntimeID != "" || !c.FinishedAt.Equal(g.StopRequestedAt) {
		t.Errorf("waiting = %+v: want never created nor started, finished at the stop request", c)
	}
}
