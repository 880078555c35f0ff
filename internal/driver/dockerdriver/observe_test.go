package dockerdriver

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/ecsd/ecsd/internal/driver"
)

// A started container removed behind the driver's back is reported
// exited with a reason, recorded durably, and never made again, not even
// by a new process.
func TestRemovedBehindTheDriversBack(t *testing.T) {
	t.Parallel()
	cli, tiny := testEngine(t)
	labels := scope(t)
	d := newDriver(t, labels)
	id := groupID(t)
	start(t, d, driver.GroupSpec{ID: id, NetworkMode: driver.NetworkNone, Containers: []driver.ContainerSpec{
		{Name: "app", Image: tiny, Essential: true, Command: []string{"run"}},
		{Name: "side", Image: tiny, Command: []string{"run"}},
	}})
	g := waitFor(t, d, id, "running", patience, running("app", "side"))
	app := containerOf(g, "app")
	if err := cli.ContainerRemove(bg, app.RuntimeID, container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	check := func(d *Driver, what string) {
		t.Helper()
		g := waitFor(t, d, id, what, patience, func(g driver.GroupState) bool {
			return containerOf(g, "app").Status == driver.StatusExited
		})
		c := containerOf(g, "app")
		want := "CannotInspectContainerError: Error response from daemon: No such container: " + app.RuntimeID
		if c.Reason != want || c.ExitCode != nil || !c.StartedAt.Equal(app.StartedAt) || c.FailedToStart() || c.RuntimeID != app.RuntimeID {
			t.Errorf("%s: app = %+v\nwant exited, started at %v, reason %q", what, c, app.StartedAt, want)
		}
		if s := containerOf(g, "side"); s.Status != driver.StatusRunning {
			t.Errorf("%s: side = %+v, want still running (the supervisor decides)", what, s)
		}
	}
	check(d, "the driver that saw it")
	// Recorded: a new process knows it too and makes nothing.
	waitFor(t, d, id, "recorded", patience, func(driver.GroupState) bool {
		for _, c := range scopeContainers(t, cli, labels) {
			if c.Labels[labelRole] == roleFailed && c.Labels[labelContainer] == "app" {
				return true
			}
		}
		return false
	})
	d2 := newDriver(t, labels)
	check(d2, "a new process")
	time.Sleep(300 * time.Millisecond) // past a few runner steps
	for _, c := range scopeContainers(t, cli, labels) {
		if c.Labels[labelRole] == roleContainer && c.Labels[labelContainer] == "app" {
			t.Errorf("app was made again: %s", c.Names)
		}
	}
}

func TestStatsAndLogs(t *testing.T) {
	t.Parallel()
	cli, tiny := testEngine(t)
	labels := scope(t)
	d := newDriver(t, labels)
	id := groupID(t)
	start(t, d, driver.GroupSpec{ID: id, NetworkMode: driver.NetworkNone, Containers: []driver.ContainerSpec{
		{Name: "app", Image: tiny, Command: []string{"run"}},
		{Name: "bad", Image: tiny, Command: []string{"nonsense"}},
		{Name: "never", Image: "ecsd-test/does-not-exist:1"},
	}})
	waitFor(t, d, id, "settled", patience, func(g driver.GroupState) bool {
		return containerOf(g, "app").Status == driver.StatusRunning && containerOf(g, "bad").Status == driver.StatusExited &&
			containerOf(g, "never").Status == driver.StatusExited
	})

	raw, err := d.Stats(bg, id, "app")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Read        time.Time `json:"read"`
		PreCPUStats struct {
			CPUUsage struct {
				TotalUsage uint64 `json:"total_usage"`
			} `json:"cpu_usage"`
		} `json:"precpu_stats"`
		MemoryStats struct {
			Usage uint64 `json:"usage"`
		} `json:"memory_stats"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	if st.Read.IsZero() || st.MemoryStats.Usage == 0 || st.PreCPUStats.CPUUsage.TotalUsage == 0 {
		t.Errorf("stats %s: want a read time, memory usage and a previous CPU sample", raw)
	}
	if _, err := d.Stats(bg, id, "bad"); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("stats of an exited container: %v, want ErrNotFound", err)
	}

	var out, errOut bytes.Buffer
	if err := Logs(bg, cli, labels, id, "bad", LogOptions{}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "usage: tiny") || out.Len() != 0 {
		t.Errorf("bad's output: stdout %q, stderr %q; want its usage message on stderr", out.String(), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if err := Logs(bg, cli, labels, id, "", LogOptions{}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "==> bad <==") || !strings.Contains(errOut.String(), "(container never never started: CannotPullContainerError: ") {
		t.Errorf("all containers: stdout %q, stderr %q", out.String(), errOut.String())
	}
	if err := Logs(bg, cli, labels, id, "nope", LogOptions{}, &out, &errOut); !errors.Is(err, driver.ErrNotFound) || !strings.Contains(err.Error(), "[app bad never]") {
		t.Errorf("unknown container: %v", err)
	}
	if err := Logs(bg, cli, map[string]string{scopeLabel: "someone-else"}, id, "", LogOptions{}, &out, &errOut); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("another scope: %v, want ErrNotFound", err)
	}
}

func TestBridgeGateway(t *testing.T) {
	t.Parallel()
	d := newDriver(t, scope(t))
	gw, err := d.BridgeGateway(bg)
	if err != nil {
		t.Fatal(err)
	}
	if !gw.Is4() || !gw.IsPrivate() {
		t.Errorf("gateway %v: want a private IPv4 address", gw)
	}
}

// NotifyFunc hears of a group's containers starting and exiting on their
// own, and never of another scope's.
func TestNotify(t *testing.T) {
	t.Parallel()
	cli, tiny := testEngine(t)
	labels := scope(t)
	type notice struct {
		group string
		at    time.Time
	}
	heard := make(chan notice, 100)
	d, err := New(bg, Config{Client: cli, Labels: labels, NotifyFunc: func(g string) { heard <- notice{g, time.Now()} }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(); removeScope(t, cli, labels) })
	other := newDriver(t, scope(t))
	id := groupID(t)
	start(t, other, driver.GroupSpec{ID: id + "x", NetworkMode: driver.NetworkNone, Containers: []driver.ContainerSpec{{Name: "x", Image: tiny, Command: []string{"exit", "0", "0"}}}})
	start(t, d, driver.GroupSpec{ID: id, NetworkMode: driver.NetworkNone, Containers: []driver.ContainerSpec{{Name: "x", Image: tiny, Command: []string{"exit", "0", "300"}}}})
	g := waitFor(t, d, id, "exited", patience, func(g driver.GroupState) bool { return !g.Running() })
	exitedAt := containerOf(g, "x").FinishedAt
	// The exit is told when it happens (the container exits on its own:
	// nothing else would look).
	deadline := time.After(patience)
	for {
		select {
		case n := <-heard:
			if n.group != id {
				t.Fatalf("heard of group %q, want only %q", n.group, id)
			}
			if !n.at.Before(exitedAt) {
				if late := n.at.Sub(exitedAt); late > time.Second {
					t.Errorf("the exit was told %v after it happened", late)
				}
				return
			}
		case <-deadline:
			t.Fatalf("no notice of the exit at %v", exitedAt)
		}
	}
}

// A started container removed while no driver ran is reported gone by
// the next process, which does not make it again: the started marker
// remembers it.
func TestRemovedWhileNoDriverRan(t *testing.T) {
	t.Parallel()
	cli, tiny := testEngine(t)
	labels := scope(t)
	d := newDriver(t, labels)
	id := groupID(t)
	start(t, d, driver.GroupSpec{ID: id, NetworkMode: driver.NetworkNone, Containers: []driver.ContainerSpec{
		{Name: "app", Image: tiny, Essential: true, Command: []string{"run"}},
	}})
	app := containerOf(waitFor(t, d, id, "running", patience, running("app")), "app")
	waitFor(t, d, id, "the started marker", patience, func(driver.GroupState) bool {
		_, err := cli.ContainerInspect(bg, startedName(id))
		return err == nil
	})
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cli.ContainerRemove(bg, app.RuntimeID, container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	d2 := newDriver(t, labels)
	g := waitFor(t, d2, id, "gone", patience, func(g driver.GroupState) bool { return !g.Running() })
	c := containerOf(g, "app")
	if c.Reason != goneReason(app.RuntimeID) || !c.StartedAt.Equal(app.StartedAt) || c.ExitCode != nil {
		t.Errorf("app = %+v, want gone since %v", c, app.StartedAt)
	}
	time.Sleep(300 * time.Millisecond) // past a few runner steps
	for _, s := range scopeContainers(t, cli, labels) {
		if s.Labels[labelRole] == roleContainer {
			t.Errorf("app was made again: %s", s.Names)
		}
	}
}
