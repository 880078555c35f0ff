package fakedriver_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/driver/drivertest"
	"github.com/ecsd/ecsd/internal/driver/fakedriver"
)

// clock is a virtual clock shared by a test and its driver.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func env(kv ...string) []driver.EnvVar {
	var out []driver.EnvVar
	for i := 0; i < len(kv); i += 2 {
		out = append(out, driver.EnvVar{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

func TestConformance(t *testing.T) {
	for _, dir := range []string{"memory", "disk"} {
		t.Run(dir, func(t *testing.T) {
			clk := newClock()
			drivertest.Run(t, drivertest.Harness{
				New: func(t *testing.T) driver.Driver {
					cfg := fakedriver.Config{NowFunc: clk.Now}
					if dir == "disk" {
						cfg.Dir = t.TempDir()
					}
					d, err := fakedriver.New(cfg)
					if err != nil {
						t.Fatal(err)
					}
					return d
				},
				Advance: clk.Advance,
				RunsForever: func(name string) driver.ContainerSpec {
					return driver.ContainerSpec{Name: name, Image: "busybox", Essential: true}
				},
				Exits: func(name string, code int, after time.Duration) driver.ContainerSpec {
					return driver.ContainerSpec{Name: name, Image: "busybox", Env: env(
						fakedriver.KnobRunSeconds, strconv.FormatFloat(after.Seconds(), 'f', -1, 64),
						fakedriver.KnobExitCode, strconv.Itoa(code))}
				},
				FailsToStart: func(name string) (driver.ContainerSpec, string) {
					return driver.ContainerSpec{Name: name, Image: "nope", Env: env(
						fakedriver.KnobStartFailure, "CannotPullContainerError: pull image manifest has been retried 5 time(s)")}, "CannotPullContainerError"
				},
				IgnoresSIGTERM: func(name string) driver.ContainerSpec {
					return driver.ContainerSpec{Name: name, Image: "busybox", Env: env(fakedriver.KnobStopSeconds, "3600")}
				},
				Patience: time.Minute,
			})
		})
	}
}

func newDriver(t *testing.T, clk *clock, dir string) *fakedriver.Driver {
	t.Helper()
	d, err := fakedriver.New(fakedriver.Config{Dir: dir, NowFunc: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func inspect(t *testing.T, d *fakedriver.Driver, id string) driver.GroupState {
	t.Helper()
	g, err := d.Inspect(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func intp(n int) *int { return &n }

// TestTimeline walks containers through scripted lives with a virtual
// clock: each row is the state at a moment after the group started.
func TestTimeline(t *testing.T) {
	hc := &driver.HealthCheck{Command: []string{"CMD", "true"}, Interval: 30 * time.Second, StartPeriod: 10 * time.Second}
	type at struct {
		after  time.Duration
		status driver.Status
		exit   *int
		health driver.Health
		reason string
	}
	tests := []struct {
		name   string
		spec   driver.ContainerSpec
		stopAt time.Duration // 0: never stopped
		stopTO time.Duration
		want   []at
	}{
		{
			name: "runs for ever",
			spec: driver.ContainerSpec{Name: "c", Image: "i"},
			want: []at{{0, driver.StatusRunning, nil, driver.HealthUnknown, ""}, {1000 * time.Hour, driver.StatusRunning, nil, driver.HealthUnknown, ""}},
		},
		{
			name: "exits with code after run seconds (env)",
			spec: driver.ContainerSpec{Name: "c", Image: "i", Env: env(fakedriver.KnobRunSeconds, "5", fakedriver.KnobExitCode, "2")},
			want: []at{{4 * time.Second, driver.StatusRunning, nil, driver.HealthUnknown, ""}, {5 * time.Second, driver.StatusExited, intp(2), driver.HealthUnknown, ""}},
		},
		{
			name: "knobs from docker labels; environment wins",
			spec: driver.ContainerSpec{Name: "c", Image: "i",
				Labels: map[string]string{fakedriver.KnobRunSeconds: "1", fakedriver.KnobExitCode: "9"},
				Env:    env(fakedriver.KnobExitCode, "4")},
			want: []at{{time.Second, driver.StatusExited, intp(4), driver.HealthUnknown, ""}},
		},
		{
			name: "later environment entries win",
			spec: driver.ContainerSpec{Name: "c", Image: "i", Env: env(fakedriver.KnobRunSeconds, "1", fakedriver.KnobRunSeconds, "3")},
			want: []at{{2 * time.Second, driver.StatusRunning, nil, driver.HealthUnknown, ""}, {3 * time.Second, driver.StatusExited, intp(0), driver.HealthUnknown, ""}},
		},
		{
			name: "pull time delays the start",
			spec: driver.ContainerSpec{Name: "c", Image: "i", Env: env(fakedriver.KnobPullSeconds, "2.5")},
			want: []at{{2 * time.Second, driver.StatusCreated, nil, driver.HealthUnknown, ""}, {2500 * time.Millisecond, driver.StatusRunning, nil, driver.HealthUnknown, ""}},
		},
		{
			name: "start failure",
			spec: driver.ContainerSpec{Name: "c", Image: "i", Env: env(fakedriver.KnobStartFailure, "CannotPullContainerError: denied")},
			want: []at{{0, driver.StatusExited, nil, driver.HealthUnknown, "CannotPullContainerError: denied"}},
		},
		{
			name: "a bad knob fails the start, naming the knob",
			spec: driver.ContainerSpec{Name: "c", Image: "i", Env: env(fakedriver.KnobRunSeconds, "soon")},
			want: []at{{0, driver.StatusExited, nil, driver.HealthUnknown, `CannotStartContainerError: ECSD_SIM_RUN_SECONDS="soon" is not a number of seconds`}},
		},
		{
			name: "healthy after the start period",
			spec: driver.ContainerSpec{Name: "c", Image: "i", HealthCheck: hc},
			want: []at{{9 * time.Second, driver.StatusRunning, nil, driver.HealthUnknown, ""}, {10 * time.Second, driver.StatusRunning, nil, driver.HealthHealthy, ""}},
		},
		{
			name: "scripted unhealthy after health seconds",
			spec: driver.ContainerSpec{Name: "c", Image: "i", HealthCheck: hc, Env: env(fakedriver.KnobHealth, "unhealthy", fakedriver.KnobHealthSeconds, "1")},
			want: []at{{0, driver.StatusRunning, nil, driver.HealthUnknown, ""}, {time.Second, driver.StatusRunning, nil, driver.HealthUnhealthy, ""}},
		},
		{
			name: "health knob without a health check stays UNKNOWN",
			spec: driver.ContainerSpec{Name: "c", Image: "i", Env: env(fakedriver.KnobHealth, "UNHEALTHY")},
			want: []at{{time.Hour, driver.StatusRunning, nil, driver.HealthUnknown, ""}},
		},
		{
			name:   "stop: exits on SIGTERM after stop seconds",
			spec:   driver.ContainerSpec{Name: "c", Image: "i", Env: env(fakedriver.KnobStopSeconds, "3", fakedriver.KnobStopExitCode, "143")},
			stopAt: 10 * time.Second, stopTO: 30 * time.Second,
			want: []at{{12 * time.Second, driver.StatusRunning, nil, driver.HealthUnknown, ""}, {13 * time.Second, driver.StatusExited, intp(143), driver.HealthUnknown, ""}},
		},
		{
			name:   "stop: killed when SIGTERM is ignored past the timeout",
			spec:   driver.ContainerSpec{Name: "c", Image: "i", Env: env(fakedriver.KnobStopSeconds, "60")},
			stopAt: 10 * time.Second, stopTO: 30 * time.Second,
			want: []at{{39 * time.Second, driver.StatusRunning, nil, driver.HealthUnknown, ""}, {40 * time.Second, driver.StatusExited, intp(137), driver.HealthUnknown, ""}},
		},
		{
			name:   "stop: natural exit before SIGTERM wins",
			spec:   driver.ContainerSpec{Name: "c", Image: "i", Env: env(fakedriver.KnobRunSeconds, "11", fakedriver.KnobExitCode, "1", fakedriver.KnobStopSeconds, "5")},
			stopAt: 10 * time.Second, stopTO: 30 * time.Second,
			want: []at{{11 * time.Second, driver.StatusExited, intp(1), driver.HealthUnknown, ""}},
		},
		{
			name:   "stop before the pull finishes: never starts",
			spec:   driver.ContainerSpec{Name: "c", Image: "i", Env: env(fakedriver.KnobPullSeconds, "20")},
			stopAt: 10 * time.Second, stopTO: 30 * time.Second,
			want: []at{{9 * time.Second, driver.StatusCreated, nil, driver.HealthUnknown, ""}, {10 * time.Second, driver.StatusExited, nil, driver.HealthUnknown, ""}, {time.Hour, driver.StatusExited, nil, driver.HealthUnknown, ""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			d := newDriver(t, clk, "")
			start := clk.Now()
			if err := d.Start(context.Background(), driver.GroupSpec{ID: "g", Containers: []driver.ContainerSpec{tt.spec}}); err != nil {
				t.Fatal(err)
			}
			stopped := false
			for _, w := range tt.want {
				if tt.stopAt > 0 && !stopped && w.after >= tt.stopAt {
					clk.Advance(start.Add(tt.stopAt).Sub(clk.Now()))
					if err := d.Stop(context.Background(), "g", tt.stopTO); err != nil {
						t.Fatal(err)
					}
					stopped = true
				}
				clk.Advance(start.Add(w.after).Sub(clk.Now()))
				c := inspect(t, d, "g").Containers[0]
				got := at{w.after, c.Status, c.ExitCode, c.Health, c.Reason}
				if diff := cmp.Diff(w, got, cmp.AllowUnexported(at{})); diff != "" {
					t.Errorf("at +%v (-want +got):\n%s", w.after, diff)
				}
			}
		})
	}
}

func TestDependsOn(t *testing.T) {
	clk := newClock()
	d := newDriver(t, clk, "")
	hc := &driver.HealthCheck{Command: []string{"CMD", "true"}}
	err := d.Start(context.Background(), driver.GroupSpec{ID: "g", Containers: []driver.ContainerSpec{
		{Name: "init", Image: "i", Env: env(fakedriver.KnobRunSeconds, "5")},
		{Name: "db", Image: "i", HealthCheck: hc, Env: env(fakedriver.KnobHealthSeconds, "8")},
		{Name: "app", Image: "i", DependsOn: []driver.Dependency{{Container: "init", Condition: driver.ConditionSuccess}, {Container: "db", Condition: driver.ConditionHealthy}}},
		{Name: "broken-init", Image: "i", Env: env(fakedriver.KnobRunSeconds, "1", fakedriver.KnobExitCode, "1")},
		{Name: "after-broken", Image: "i", DependsOn: []driver.Dependency{{Container: "broken-init", Condition: driver.ConditionSuccess}}},
		{Name: "after-complete", Image: "i", DependsOn: []driver.Dependency{{Container: "broken-init", Condition: driver.ConditionComplete}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	status := func() map[string]driver.Status {
		out := map[string]driver.Status{}
		for _, c := range inspect(t, d, "g").Containers {
			out[c.Name] = c.Status
		}
		return out
	}
	clk.Advance(7 * time.Second)
	got := status()
	if got["app"] != driver.StatusCreated || got["init"] != driver.StatusExited || got["after-complete"] != driver.StatusRunning {
		t.Errorf("at +7s: %v; want app waiting for db health, init exited, after-complete running", got)
	}
	if c := inspect(t, d, "g").Containers[4]; !c.FailedToStart() || !strings.Contains(c.Reason, "SUCCESS") {
		t.Errorf("after-broken = %+v: want failed to start, its SUCCESS dependency unmet", c)
	}
	clk.Advance(time.Second)
	if c := inspect(t, d, "g").Containers[2]; c.Status != driver.StatusRunning || !c.StartedAt.Equal(clk.Now()) {
		t.Errorf("at +8s app = %+v: want running since db became healthy", c)
	}
}

// TestRestart shows the engine outliving its process: a new driver over
// the same directory reports the same containers with the same times, and
// a stop recorded before the restart still applies.
func TestRestart(t *testing.T) {
	clk := newClock()
	dir := filepath.Join(t.TempDir(), "simulated")
	d := newDriver(t, clk, dir)
	ctx := context.Background()
	for _, id := range []string{"a", "b"} {
		if err := d.Start(ctx, driver.GroupSpec{ID: id, Labels: map[string]string{"k": id}, NetworkMode: driver.NetworkBridge,
			Containers: []driver.ContainerSpec{{Name: "c", Image: "i", PortMappings: []driver.PortMapping{{ContainerPort: 80}}}}}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(time.Minute)
	if err := d.Stop(ctx, "b", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx, driver.GroupSpec{ID: "gone", Containers: []driver.ContainerSpec{{Name: "c", Image: "i"}}}); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	before, _ := d.List(ctx, nil)

	clk.Advance(time.Hour)
	d2 := newDriver(t, clk, dir) // the old one is simply abandoned, as after kill -9
	after, _ := d2.List(ctx, nil)
	if len(after) != 2 {
		t.Fatalf("after restart: %d groups, want 2 (a and b)", len(after))
	}
	a := after[0].Containers[0]
	if a.Status != driver.StatusRunning || !a.StartedAt.Equal(before[0].Containers[0].StartedAt) || a.RuntimeID != before[0].Containers[0].RuntimeID {
		t.Errorf("a after restart = %+v, want still running since %v", a, before[0].Containers[0].StartedAt)
	}
	if diff := cmp.Diff(before[0].Containers[0].NetworkBindings, a.NetworkBindings); diff != "" {
		t.Errorf("bindings changed across restart:\n%s", diff)
	}
	if b := after[1].Containers[0]; b.Status != driver.StatusExited || b.ExitCode == nil || *b.ExitCode != 0 {
		t.Errorf("b after restart = %+v, want exited 0 from the stop before the restart", b)
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 2 {
		t.Errorf("files in %s: %d, want one per group (2)", dir, len(files))
	}
}

func TestNetworkModes(t *testing.T) {
	clk := newClock()
	d := newDriver(t, clk, "")
	ctx := context.Background()
	pm := []driver.PortMapping{{ContainerPort: 8080}, {ContainerPort: 53, HostPort: 5353, Protocol: "udp"}}
	for _, mode := range []string{driver.NetworkBridge, driver.NetworkHost, driver.NetworkAwsvpc} {
		if err := d.Start(ctx, driver.GroupSpec{ID: mode, NetworkMode: mode, Containers: []driver.ContainerSpec{{Name: "c", Image: "i", PortMappings: pm}}}); err != nil {
			t.Fatal(err)
		}
	}
	bridge := inspect(t, d, driver.NetworkBridge).Containers[0]
	if len(bridge.NetworkBindings) != 2 || bridge.NetworkBindings[0].HostPort < 32768 || bridge.NetworkBindings[1].HostPort != 5353 ||
		bridge.NetworkBindings[1].Protocol != "udp" || bridge.PrivateIP == "" {
		t.Errorf("bridge = %+v: want an ephemeral host port for 8080, 5353/udp as given, a private IP", bridge)
	}
	host := inspect(t, d, driver.NetworkHost).Containers[0]
	if len(host.NetworkBindings) != 2 || host.NetworkBindings[0].HostPort != 8080 || host.NetworkBindings[1].HostPort != 53 {
		t.Errorf("host bindings = %+v: want host ports equal to container ports", host.NetworkBindings)
	}
	if vpc := inspect(t, d, driver.NetworkAwsvpc).Containers[0]; vpc.NetworkBindings != nil || vpc.PrivateIP != "" {
		t.Errorf("awsvpc = %+v: want no bindings and no address of its own", vpc)
	}
}

func TestInvalidID(t *testing.T) {
	d := newDriver(t, newClock(), t.TempDir())
	for _, id := range []string{"", "../x", "a/b", ".hidden"} {
		if err := d.Start(context.Background(), driver.GroupSpec{ID: id}); err == nil {
			t.Errorf("Start(%q) succeeded, want an error", id)
		}
	}
}
