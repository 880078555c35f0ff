// Package fakedriver is ecsd's simulated container runtime. It runs
// nothing: the state of every container is a pure function of its spec,
// the time its group started, the time a stop was asked for and now, so
// what a task does is reproducible and tests need no sleeps.
//
// Users script containers without code, through container-definition
// environment variables and docker labels (environment wins); the knobs
// are the Knob* constants, documented in docs/simulated-runtime.md.
//
// Like a Docker daemon, the simulated engine outlives ecsd: with a
// directory it keeps each group in a small JSON file, written on Start and
// Stop and removed on Remove, so after a restart (even kill -9) a running
// container is still running, with its original start time.
//
// It must never import ecs, the store or anything above the driver.
package fakedriver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ecsd/ecsd/internal/driver"
)

// Knobs read from a container's environment, then its docker labels.
const (
	// KnobRunSeconds: the container exits on its own after this many
	// seconds (decimals allowed). Absent: it runs until stopped.
	KnobRunSeconds = "ECSD_SIM_RUN_SECONDS"
	// KnobExitCode: its exit code when it exits on its own (default 0).
	KnobExitCode = "ECSD_SIM_EXIT_CODE"
	// KnobStartFailure: the container never starts; the value is the
	// reason reported, e.g. "CannotPullContainerError: ...".
	KnobStartFailure = "ECSD_SIM_START_FAILURE"
	// KnobPullSeconds: how long pulling the image and creating the
	// container take before it starts (default 0).
	KnobPullSeconds = "ECSD_SIM_PULL_SECONDS"
	// KnobHealth: HEALTHY (default) or UNHEALTHY, what the container's
	// health check reports. Only containers with a health check have one.
	KnobHealth = "ECSD_SIM_HEALTH"
	// KnobHealthSeconds: seconds after start at which the health status
	// is first reported (default: the health check's startPeriod, or 0).
	// Before that it is UNKNOWN.
	KnobHealthSeconds = "ECSD_SIM_HEALTH_SECONDS"
	// KnobStopSeconds: how long the container takes to exit after
	// SIGTERM (default 0). Longer than its stop timeout: it is killed
	// (exit code 137).
	KnobStopSeconds = "ECSD_SIM_STOP_SECONDS"
	// KnobStopExitCode: its exit code when it exits on SIGTERM (default 0).
	KnobStopExitCode = "ECSD_SIM_STOP_EXIT_CODE"
	// KnobLog: what the container writes to stdout once it starts: lines
	// separated by newlines (or the two characters \n, as an environment
	// value written on one line has them); "{n}" in a line becomes the
	// line's number, counting from 0. Read through driver.LogReader, so
	// `ecsd logs` and the awslogs driver's CloudWatch Logs show it.
	KnobLog = "ECSD_SIM_LOG"
	// KnobLogEvery: seconds between lines (decimals allowed). Set, the
	// lines repeat in turn for as long as the container runs; absent, each
	// line is written once, at start.
	KnobLogEvery = "ECSD_SIM_LOG_EVERY"
)

// ExitCodeKilled is the exit code of a container killed with SIGKILL.
const ExitCodeKilled = 137

// Config configures the simulated engine.
type Config struct {
	// Dir keeps the groups across restarts; "" keeps them in memory only.
	Dir string
	// NowFunc is the clock; nil is time.Now.
	NowFunc func() time.Time
}

// Driver is the simulated runtime.
type Driver struct {
	dir string
	now func() time.Time

	mu     sync.Mutex
	groups map[string]*group
	// shared holds each distinct set of containers once, however many
	// groups run it (every task of a revision does): the runtime keeps
	// per group only what differs, so 100,000 simulated tasks cost little
	// memory.
	shared map[string]*sharedContainers
}

type sharedContainers struct {
	key        string // the one copy every group sharing it refers to
	containers []driver.ContainerSpec
	refs       int
}

var _ driver.Driver = (*Driver)(nil)

// group is what the engine remembers of a group: everything its state is
// computed from. It is also the file format.
type group struct {
	Spec            driver.GroupSpec `json:"spec"`
	CreatedAt       time.Time        `json:"createdAt"`
	StopRequestedAt time.Time        `json:"stopRequestedAt,omitzero"`
	StopTimeout     time.Duration    `json:"stopTimeout,omitempty"`
	// shareKey names the entry of Driver.shared its containers are.
	shareKey string
}

// New opens the engine, loading the groups kept in cfg.Dir.
func New(cfg Config) (*Driver, error) {
	d := &Driver{dir: cfg.Dir, now: cfg.NowFunc, groups: map[string]*group{}, shared: map[string]*sharedContainers{}}
	if d.now == nil {
		d.now = time.Now
	}
	if d.dir == "" {
		return d, nil
	}
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return nil, fmt.Errorf("simulated runtime: %w", err)
	}
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, fmt.Errorf("simulated runtime: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".json") {
			continue // including temp files a crash left behind
		}
		b, err := os.ReadFile(filepath.Join(d.dir, name))
		if err != nil {
			return nil, fmt.Errorf("simulated runtime: %w", err)
		}
		var g group
		if err := json.Unmarshal(b, &g); err != nil {
			return nil, fmt.Errorf("simulated runtime: group file %s: %w", name, err)
		}
		g.Spec, g.shareKey = d.compactLocked(g.Spec)
		d.groups[g.Spec.ID] = &g
	}
	return d, nil
}

// Start records a new group started now; a known ID is left alone.
func (d *Driver) Start(ctx context.Context, spec driver.GroupSpec) error {
	if err := validID(spec.ID); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.groups[spec.ID]; ok {
		return nil
	}
	g := &group{CreatedAt: d.now().UTC()}
	g.Spec, g.shareKey = d.compactLocked(spec)
	if err := d.saveLocked(g); err != nil {
		d.releaseLocked(g.shareKey)
		return err
	}
	d.groups[spec.ID] = g
	return nil
}

// Stop records the first stop request of a group.
func (d *Driver) Stop(ctx context.Context, id string, timeout time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	g, ok := d.groups[id]
	if !ok {
		return fmt.Errorf("%w: %s", driver.ErrNotFound, id)
	}
	if !g.StopRequestedAt.IsZero() {
		return nil
	}
	next := *g
	next.StopRequestedAt, next.StopTimeout = d.now().UTC(), timeout
	if err := d.saveLocked(&next); err != nil {
		return err
	}
	d.groups[id] = &next
	return nil
}

// Inspect computes the group's state now.
func (d *Driver) Inspect(ctx context.Context, id string) (driver.GroupState, error) {
	d.mu.Lock()
	g, ok := d.groups[id]
	d.mu.Unlock()
	if !ok {
		return driver.GroupState{}, fmt.Errorf("%w: %s", driver.ErrNotFound, id)
	}
	return g.state(d.now().UTC()), nil
}

// NextChange says when the group's state, as Inspect reports it, next
// changes by itself (an image pulled, a container started, healthy or
// exited); zero if it never will without a Stop. A supervisor can sleep
// until then instead of inspecting the group again and again.
func (d *Driver) NextChange(ctx context.Context, id string) (time.Time, error) {
	d.mu.Lock()
	g, ok := d.groups[id]
	d.mu.Unlock()
	if !ok {
		return time.Time{}, fmt.Errorf("%w: %s", driver.ErrNotFound, id)
	}
	now := d.now().UTC()
	var next time.Time
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, tl := range g.timelines() {
		consider(tl.pulledAt)
		consider(tl.failAt)
		consider(tl.startAt)
		consider(tl.exitAt)
		if tl.hasHealth {
			consider(tl.healthAt)
		}
	}
	return next, nil
}

// List computes the state of every group carrying all of labels, in ID
// order.
func (d *Driver) List(ctx context.Context, labels map[string]string) ([]driver.GroupState, error) {
	d.mu.Lock()
	var gs []*group
	for _, g := range d.groups {
		if hasLabels(g.Spec.Labels, labels) {
			gs = append(gs, g)
		}
	}
	d.mu.Unlock()
	sort.Slice(gs, func(i, j int) bool { return gs[i].Spec.ID < gs[j].Spec.ID })
	now := d.now().UTC()
	out := make([]driver.GroupState, 0, len(gs))
	for _, g := range gs {
		out = append(out, g.state(now))
	}
	return out, nil
}

// Remove forgets a group and deletes its file.
func (d *Driver) Remove(ctx context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.groups[id]; !ok {
		return fmt.Errorf("%w: %s", driver.ErrNotFound, id)
	}
	if d.dir != "" {
		if err := os.Remove(d.path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("simulated runtime: %w", err)
		}
	}
	d.releaseLocked(d.groups[id].shareKey)
	delete(d.groups, id)
	return nil
}

func (d *Driver) path(id string) string { return filepath.Join(d.dir, id+".json") }

// saveLocked writes a group's file atomically (temp file and rename), so
// a crash leaves the old file or the new one, never half of either.
func (d *Driver) saveLocked(g *group) error {
	if d.dir == "" {
		return nil
	}
	b, err := json.Marshal(g)
	if err != nil {
		return fmt.Errorf("simulated runtime: %w", err)
	}
	tmp := d.path(g.Spec.ID) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("simulated runtime: %w", err)
	}
	if err := os.Rename(tmp, d.path(g.Spec.ID)); err != nil {
		return fmt.Errorf("simulated runtime: %w", err)
	}
	return nil
}

func validID(id string) error {
	if id == "" || len(id) > 200 {
		return fmt.Errorf("simulated runtime: invalid group id %q", id)
	}
	for i := range len(id) {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("simulated runtime: invalid group id %q", id)
		}
	}
	if id[0] == '.' {
		return fmt.Errorf("simulated runtime: invalid group id %q", id)
	}
	return nil
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// compactLocked keeps of a spec what the simulation reads (the group's
// ID, labels and network mode; each container's name, image, knobs,
// ports, health check, dependencies and timeouts), copied so the caller
// may reuse its slices and maps, with the containers shared with every
// other group that has the same. Nothing may modify what it returns.
func (d *Driver) compactLocked(s driver.GroupSpec) (driver.GroupSpec, string) {
	out := driver.GroupSpec{ID: s.ID, NetworkMode: s.NetworkMode, Labels: make(map[string]string, len(s.Labels))}
	for k, v := range s.Labels {
		out.Labels[k] = v
	}
	cs := make([]driver.ContainerSpec, len(s.Containers))
	for i, c := range s.Containers {
		cs[i] = driver.ContainerSpec{
			Name: c.Name, Image: c.Image, Essential: c.Essential,
			PortMappings: c.PortMappings, HealthCheck: c.HealthCheck, DependsOn: c.DependsOn,
			StopTimeout: c.StopTimeout, StartTimeout: c.StartTimeout,
		}
		for _, e := range c.Env {
			if strings.HasPrefix(e.Name, "ECSD_SIM_") {
				cs[i].Env = append(cs[i].Env, e)
			}
		}
		for k, v := range c.Labels {
			if strings.HasPrefix(k, "ECSD_SIM_") {
				if cs[i].Labels == nil {
					cs[i].Labels = map[string]string{}
				}
				cs[i].Labels[k] = v
			}
		}
	}
	b, err := json.Marshal(cs)
	if err != nil { // cannot happen for these types; keep the copy unshared
		out.Containers = cs
		return out, ""
	}
	sc, ok := d.shared[string(b)] // no copy of b for the lookup
	if !ok {
		key := string(b)
		// A deep copy through JSON, so nothing the caller holds is shared.
		var own []driver.ContainerSpec
		_ = json.Unmarshal(b, &own)
		sc = &sharedContainers{key: key, containers: own}
		d.shared[key] = sc
	}
	sc.refs++
	out.Containers = sc.containers
	return out, sc.key
}

// releaseLocked lets go of a group's share of its containers.
func (d *Driver) releaseLocked(key string) {
	if sc, ok := d.shared[key]; ok {
		if sc.refs--; sc.refs <= 0 {
			delete(d.shared, key)
		}
	}
}

// script is what a container was told to do.
type script struct {
	run          time.Duration // < 0: forever
	exitCode     int
	startFailure string
	pull         time.Duration
	health       driver.Health
	healthAfter  time.Duration
	stopAfter    time.Duration
	stopExitCode int
	logLines     []string
	logEvery     time.Duration
}

// scriptOf reads a container's knobs. A knob that does not parse makes
// the container fail to start, saying which knob, so a typo is visible in
// DescribeTasks rather than silently ignored.
func scriptOf(c driver.ContainerSpec) (script, error) {
	vals := map[string]string{}
	for k, v := range c.Labels {
		if strings.HasPrefix(k, "ECSD_SIM_") {
			vals[k] = v
		}
	}
	for _, e := range c.Env {
		if strings.HasPrefix(e.Name, "ECSD_SIM_") {
			vals[e.Name] = e.Value
		}
	}
	s := script{run: -1, health: driver.HealthHealthy}
	if c.HealthCheck != nil {
		s.healthAfter = c.HealthCheck.StartPeriod
	}
	var err error
	seconds := func(k string, dst *time.Duration) {
		v, ok := vals[k]
		if !ok || err != nil {
			return
		}
		f, perr := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if perr != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f > 1e9 {
			err = fmt.Errorf("%s=%q is not a number of seconds", k, v)
			return
		}
		*dst = time.Duration(f * float64(time.Second))
	}
	integer := func(k string, dst *int) {
		v, ok := vals[k]
		if !ok || err != nil {
			return
		}
		n, perr := strconv.Atoi(strings.TrimSpace(v))
		if perr != nil || n < 0 || n > 255 {
			err = fmt.Errorf("%s=%q is not an exit code (0 to 255)", k, v)
			return
		}
		*dst = n
	}
	seconds(KnobRunSeconds, &s.run)
	integer(KnobExitCode, &s.exitCode)
	seconds(KnobPullSeconds, &s.pull)
	seconds(KnobHealthSeconds, &s.healthAfter)
	seconds(KnobStopSeconds, &s.stopAfter)
	integer(KnobStopExitCode, &s.stopExitCode)
	seconds(KnobLogEvery, &s.logEvery)
	if _, ok := vals[KnobLogEvery]; ok && err == nil && s.logEvery < time.Microsecond {
		err = fmt.Errorf("%s=%q is less than a microsecond", KnobLogEvery, vals[KnobLogEvery])
	}
	if v, ok := vals[KnobLog]; ok && v != "" {
		s.logLines = strings.Split(strings.ReplaceAll(v, `\n`, "\n"), "\n")
	}
	if v, ok := vals[KnobHealth]; ok && err == nil {
		switch h := driver.Health(strings.ToUpper(strings.TrimSpace(v))); h {
		case driver.HealthHealthy, driver.HealthUnhealthy:
			s.health = h
		default:
			err = fmt.Errorf("%s=%q is neither HEALTHY nor UNHEALTHY", KnobHealth, v)
		}
	}
	s.startFailure = vals[KnobStartFailure]
	return s, err
}

// timeline is when things happen to one container. Zero times never
// happen.
type timeline struct {
	pulledAt   time.Time
	failAt     time.Time // gives up starting
	failReason string
	startAt    time.Time
	exitAt     time.Time
	exitCode   int
	hasHealth  bool
	health     driver.Health
	healthAt   time.Time
}

// state computes the group's state at now.
func (g *group) state(now time.Time) driver.GroupState {
	tls := g.timelines()
	out := driver.GroupState{
		ID:              g.Spec.ID,
		Labels:          g.Spec.Labels,
		CreatedAt:       g.CreatedAt,
		StopRequestedAt: g.StopRequestedAt,
		Containers:      make([]driver.ContainerState, 0, len(g.Spec.Containers)),
	}
	for i, c := range g.Spec.Containers {
		tl := tls[i]
		cs := driver.ContainerState{
			Name:        c.Name,
			Status:      driver.StatusCreated,
			Health:      driver.HealthUnknown,
			RuntimeID:   digest("runtime/" + g.Spec.ID + "/" + c.Name),
			ImageDigest: "sha256:" + digest(c.Image),
		}
		if !tl.pulledAt.IsZero() && !now.Before(tl.pulledAt) {
			cs.PulledAt = tl.pulledAt
		}
		switch {
		case !tl.failAt.IsZero() && !now.Before(tl.failAt):
			cs.Status, cs.Reason, cs.FinishedAt = driver.StatusExited, tl.failReason, tl.failAt
		case tl.startAt.IsZero() || now.Before(tl.startAt):
			// Not started; a stop makes sure it never will.
			if !g.StopRequestedAt.IsZero() && !now.Before(g.StopRequestedAt) {
				cs.Status, cs.FinishedAt = driver.StatusExited, g.StopRequestedAt
			}
		default:
			cs.Status, cs.StartedAt = driver.StatusRunning, tl.startAt
			cs.NetworkBindings = g.bindings(c)
			cs.PrivateIP = g.privateIP()
			if tl.hasHealth && !now.Before(tl.healthAt) {
				cs.Health = tl.health
			}
			if !tl.exitAt.IsZero() && !now.Before(tl.exitAt) {
				code := tl.exitCode
				cs.Status, cs.ExitCode, cs.FinishedAt = driver.StatusExited, &code, tl.exitAt
				if tl.hasHealth && tl.exitAt.Before(tl.healthAt) {
					cs.Health = driver.HealthUnknown
				}
			}
		}
		out.Containers = append(out.Containers, cs)
	}
	return out
}

// timelines computes every container's timeline, resolving dependsOn.
func (g *group) timelines() []timeline {
	n := len(g.Spec.Containers)
	tls := make([]timeline, n)
	done := make([]bool, n)
	visiting := make([]bool, n)
	index := map[string]int{}
	for i, c := range g.Spec.Containers {
		index[c.Name] = i
	}
	var resolve func(i int) timeline
	resolve = func(i int) timeline {
		if done[i] {
			return tls[i]
		}
		if visiting[i] { // a dependency cycle: nobody in it can start
			return timeline{}
		}
		visiting[i] = true
		tls[i] = g.timeline(i, index, resolve)
		visiting[i], done[i] = false, true
		return tls[i]
	}
	for i := range n {
		resolve(i)
	}
	return tls
}

func (g *group) timeline(i int, index map[string]int, resolve func(int) timeline) timeline {
	c := g.Spec.Containers[i]
	created := g.CreatedAt
	stop := g.StopRequestedAt
	s, err := scriptOf(c)
	if err != nil {
		return timeline{failAt: created, failReason: "CannotStartContainerError: " + err.Error()}
	}
	var tl timeline
	ready := created.Add(s.pull)
	if !stop.IsZero() && stop.Before(ready) {
		return tl // stopped before the image was there
	}
	tl.pulledAt = ready
	if s.startFailure != "" {
		tl.failAt, tl.failReason = ready, s.startFailure
		return tl
	}

	// Wait for dependencies. An unmet condition is final once known.
	startAt := ready
	for _, dep := range c.DependsOn {
		j, ok := index[dep.Container]
		if !ok {
			return timeline{pulledAt: ready, failAt: ready, failReason: dependencyReason(dep)}
		}
		d := resolve(j)
		at, met := conditionTime(dep.Condition, d)
		switch {
		case at.IsZero() && !met: // never decided: waits for ever
			startAt = time.Time{}
		case !met:
			return timeline{pulledAt: ready, failAt: at, failReason: dependencyReason(dep)}
		case !startAt.IsZero() && at.After(startAt):
			startAt = at
		}
		if startAt.IsZero() {
			break
		}
	}
	if c.StartTimeout > 0 && (startAt.IsZero() || startAt.Sub(ready) > c.StartTimeout) {
		giveUp := ready.Add(c.StartTimeout)
		if stop.IsZero() || giveUp.Before(stop) {
			return timeline{pulledAt: ready, failAt: giveUp,
				failReason: "CannotStartContainerError: timed out waiting for dependencies"}
		}
	}
	if startAt.IsZero() || !stop.IsZero() && stop.Before(startAt) {
		return tl // never starts
	}
	tl.startAt = startAt

	if c.HealthCheck != nil {
		tl.hasHealth, tl.health, tl.healthAt = true, s.health, startAt.Add(s.healthAfter)
	}
	if s.run >= 0 {
		tl.exitAt, tl.exitCode = startAt.Add(s.run), s.exitCode
	}
	if !stop.IsZero() && (tl.exitAt.IsZero() || stop.Before(tl.exitAt)) {
		timeout := c.StopTimeout
		if timeout <= 0 {
			timeout = g.StopTimeout
		}
		exitAt, code := stop.Add(s.stopAfter), s.stopExitCode
		if s.stopAfter > timeout {
			exitAt, code = stop.Add(timeout), ExitCodeKilled
		}
		if tl.exitAt.IsZero() || exitAt.Before(tl.exitAt) {
			tl.exitAt, tl.exitCode = exitAt, code
		}
	}
	return tl
}

// conditionTime reports when a dependency condition is decided and
// whether it is met. A zero time and false: not decided, ever.
func conditionTime(cond string, d timeline) (time.Time, bool) {
	switch {
	case !d.failAt.IsZero():
		return d.failAt, false
	case d.startAt.IsZero():
		return time.Time{}, false
	}
	switch cond {
	case driver.ConditionComplete:
		return d.exitAt, !d.exitAt.IsZero()
	case driver.ConditionSuccess:
		return d.exitAt, !d.exitAt.IsZero() && d.exitCode == 0
	case driver.ConditionHealthy:
		if !d.hasHealth {
			return d.startAt, false
		}
		if !d.exitAt.IsZero() && d.exitAt.Before(d.healthAt) {
			return d.exitAt, false
		}
		return d.healthAt, d.health == driver.HealthHealthy
	default: // START
		return d.startAt, true
	}
}

func dependencyReason(dep driver.Dependency) string {
	return fmt.Sprintf("CannotStartContainerError: dependency %s of container %s was not met", dep.Condition, dep.Container)
}

// bindings are the ports a running container publishes: host mode uses
// the container ports; bridge mode the given host port or an ephemeral
// one chosen from the group and port, so it is stable across reads.
func (g *group) bindings(c driver.ContainerSpec) []driver.NetworkBinding {
	mode := g.Spec.NetworkMode
	if mode != "" && mode != driver.NetworkBridge && mode != driver.NetworkHost {
		return nil
	}
	out := []driver.NetworkBinding{}
	for _, pm := range c.PortMappings {
		host := pm.HostPort
		switch {
		case mode == driver.NetworkHost:
			host = pm.ContainerPort
		case host == 0:
			h := sha256.Sum256([]byte(g.Spec.ID + "/" + c.Name + "/" + strconv.Itoa(pm.ContainerPort)))
			host = 32768 + int(h[0])<<8%28000 + int(h[1])
		}
		proto := pm.Protocol
		if proto == "" {
			proto = "tcp"
		}
		out = append(out, driver.NetworkBinding{BindIP: "0.0.0.0", ContainerPort: pm.ContainerPort, HostPort: host, Protocol: proto})
	}
	return out
}

// privateIP is a bridge-network address for the group; other modes have
// none of their own (awsvpc tasks get the address of their interface).
func (g *group) privateIP() string {
	if m := g.Spec.NetworkMode; m != "" && m != driver.NetworkBridge {
		return ""
	}
	h := sha256.Sum256([]byte("ip/" + g.Spec.ID))
	return fmt.Sprintf("172.17.%d.%d", h[0], 2+int(h[1])%252)
}

func digest(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
