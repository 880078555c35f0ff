package dockerdriver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/ecsd/ecsd/internal/driver"
)

// The runner of a group is the part of the driver that acts over time:
// it pulls images, creates and starts containers as their dependencies
// allow, and once a stop is recorded makes sure every container gets its
// SIGTERM and, after its stop timeout, its SIGKILL. It is level-triggered:
// each step reads the group from Docker and does what is missing, so a
// runner of a new process (New adopts every group) carries on where a
// dead one left off. It returns when nothing is left to do; Stop and
// Start wake or restart it.

// ensureRunner starts the group's runner, or wakes the active one.
func (d *Driver) ensureRunner(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx.Err() != nil {
		return
	}
	g := d.groupLocked(id)
	if g.running {
		select {
		case g.kick <- struct{}{}:
		default:
		}
		return
	}
	ctx, cancel := context.WithCancel(d.ctx)
	g.running, g.cancel, g.done = true, cancel, make(chan struct{})
	d.wg.Add(1)
	go d.run(ctx, cancel, id, g, g.done)
}

// run is the runner's loop. Its context ends with it, and with it the
// pulls and stops it started: a finished runner has none that matter.
func (d *Driver) run(ctx context.Context, cancel context.CancelFunc, id string, g *group, done chan struct{}) {
	defer d.wg.Done()
	defer close(done)
	defer cancel()
	for {
		finished, progress, err := d.step(ctx, id, g)
		if ctx.Err() != nil {
			d.finish(g, true)
			return
		}
		if err != nil {
			d.log.Warn("docker runtime: group runner", "group", id, "err", err)
		}
		if finished && d.finish(g, false) {
			return
		}
		if progress {
			continue
		}
		select {
		case <-ctx.Done():
			d.finish(g, true)
			return
		case <-g.kick:
		case <-time.After(d.poll):
		}
	}
}

// finish marks the runner gone, unless it was woken meanwhile (then the
// waker relied on it and it must look again).
func (d *Driver) finish(g *group, force bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !force {
		select {
		case <-g.kick:
			return false
		default:
		}
	}
	g.running = false
	return true
}

// step does what the group needs now. finished: nothing left to do;
// progress: something changed, look again at once.
func (d *Driver) step(ctx context.Context, id string, g *group) (finished, progress bool, err error) {
	// Read and act under the lock, so a Stop recorded meanwhile is seen
	// before anything more starts.
	g.mu.Lock()
	locked := true
	defer func() {
		if locked {
			g.mu.Unlock()
		}
	}()
	v, err := d.load(ctx, id, true)
	if errors.Is(err, driver.ErrNotFound) {
		return true, false, nil
	}
	if err != nil {
		return false, false, err
	}
	gone := rememberLocked(g, v)
	for name, sm := range gone {
		c, _ := v.spec.container(name)
		if err := d.gonePlaceholder(ctx, v, c, sm); err != nil {
			return false, false, err
		}
		progress = true
	}
	if progress {
		return false, true, nil
	}
	if !v.stopRequestedAt.IsZero() {
		g.mu.Unlock()
		locked = false
		return d.stopStep(ctx, g, v)
	}

	// Pull in the background, each image on its own: a container starts
	// once its own image is there (and its dependencies allow), and a
	// pull that takes minutes holds up neither the others nor a Stop.
	for _, c := range v.spec.Containers {
		if v.members[c.Name] != nil || v.failed[c.Name] != nil {
			continue
		}
		_, pulled := g.pulledAt[c.Name]
		_, failed := g.pullErr[c.Name]
		if pulled || failed || g.pulling[c.Name] {
			continue
		}
		if g.pulling == nil {
			g.pulling, g.pulledAt, g.pullErr = map[string]bool{}, map[string]time.Time{}, map[string]string{}
		}
		g.pulling[c.Name] = true
		d.wg.Add(1)
		go d.pull(ctx, g, c)
	}

	if v.spec.NetworkMode == driver.NetworkAwsvpc && v.anchor.State == container.StateCreated {
		// A failure here shows up as each container's failure to start
		// in a namespace that is not running.
		if err := d.cli.ContainerStart(ctx, v.anchor.ID, container.StartOptions{}); err != nil {
			d.log.Warn("docker runtime: starting the network namespace", "group", id, "err", err)
		}
		return false, true, nil
	}
	pending := false
	for _, c := range v.spec.Containers {
		if m := v.members[c.Name]; m != nil {
			// Created by a process that died before starting it: the
			// dependencies were met then.
			if m.State != nil && m.State.Status == container.StateCreated && m.State.Error == "" && parseTime(m.State.StartedAt).IsZero() {
				if err := d.startContainer(ctx, v, c, m.ID, parseTime(m.Config.Labels[labelPulledAt])); err != nil {
					return false, false, err
				}
				progress = true
			}
			continue
		}
		if v.failed[c.Name] != nil {
			continue
		}
		if reason := g.pullErr[c.Name]; reason != "" {
			if err := d.placeholder(ctx, v, c, reason, time.Time{}); err != nil {
				return false, false, err
			}
			progress = true
			continue
		}
		pulledAt, ok := g.pulledAt[c.Name]
		if !ok { // being pulled
			pending = true
			continue
		}
		met, reason := dependencies(v, c)
		switch {
		case reason == "" && !met && c.StartTimeout > 0 && time.Since(pulledAt) > c.StartTimeout:
			reason = "CannotStartContainerError: timed out waiting for dependencies"
			fallthrough
		case reason != "":
			if err := d.placeholder(ctx, v, c, reason, pulledAt); err != nil {
				return false, false, err
			}
			progress = true
		case !met:
			pending = true
		default:
			if err := d.createAndStart(ctx, g, v, c, pulledAt); err != nil {
				return false, false, err
			}
			progress = true
		}
	}
	if !pending && !progress && v.started == nil {
		if err := d.startedMarker(ctx, v); err != nil {
			return false, false, err
		}
	}
	return !pending && !progress, progress, nil
}

// startedMarker records, once nothing is left to start, which containers
// started with which Docker ID.
func (d *Driver) startedMarker(ctx context.Context, v *view) error {
	members := map[string]startedMember{}
	for name, m := range v.members {
		if m.State == nil {
			continue
		}
		if at := parseTime(m.State.StartedAt); !at.IsZero() {
			members[name] = startedMember{ID: m.ID, StartedAt: at}
		}
	}
	raw, err := json.Marshal(members)
	if err != nil {
		return err
	}
	labels := d.labels(v.spec.Labels, map[string]string{labelGroup: v.spec.ID, labelRole: roleStarted, labelMembers: string(raw)})
	if err := d.createPauseContainer(ctx, labels, "none", startedName(v.spec.ID)); err != nil && !cerrdefs.IsConflict(err) {
		return fmt.Errorf("docker runtime: recording the started containers: %w", err)
	}
	return nil
}

// pull makes c's image available and records when, or why not.
func (d *Driver) pull(ctx context.Context, g *group, c driver.ContainerSpec) {
	defer d.wg.Done()
	err := d.ensureImage(ctx, c.Image)
	g.mu.Lock()
	delete(g.pulling, c.Name)
	switch {
	case ctx.Err() != nil:
	case err != nil && client.IsErrConnectionFailed(err):
		// The Engine is away, not the image: try again on the next step.
		d.log.Warn("docker runtime: pulling", "image", c.Image, "err", err)
	case err != nil:
		g.pullErr[c.Name] = "CannotPullContainerError: " + err.Error()
	default:
		g.pulledAt[c.Name] = time.Now().UTC()
	}
	g.mu.Unlock()
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// dependencies reports whether c's dependsOn conditions are all met now,
// or why one never will be.
func dependencies(v *view, c driver.ContainerSpec) (met bool, reason string) {
	met = true
	// volumesFrom needs its source created (not started): an implicit
	// dependency, as in the ECS agent.
	for _, vf := range c.VolumesFrom {
		if _, ok := v.spec.container(vf.Container); !ok || v.failed[vf.Container] != nil {
			return false, fmt.Sprintf("CannotCreateContainerError: volumesFrom: container %s of the task was not created", vf.Container)
		}
		if v.members[vf.Container] == nil {
			met = false
		}
	}
	for _, dep := range c.DependsOn {
		spec, ok := v.spec.container(dep.Container)
		if !ok {
			return false, dependencyReason(dep)
		}
		ds := containerState(v, spec, time.Time{})
		if ds.FailedToStart() || ds.Status == driver.StatusExited && ds.StartedAt.IsZero() {
			return false, dependencyReason(dep)
		}
		if ds.StartedAt.IsZero() {
			met = false
			continue
		}
		exited := ds.Status == driver.StatusExited
		switch dep.Condition {
		case driver.ConditionComplete:
			met = met && exited
		case driver.ConditionSuccess:
			if exited && (ds.ExitCode == nil || *ds.ExitCode != 0) {
				return false, dependencyReason(dep)
			}
			met = met && exited
		case driver.ConditionHealthy:
			switch {
			case spec.HealthCheck == nil || ds.Health == driver.HealthUnhealthy:
				return false, dependencyReason(dep)
			case ds.Health == driver.HealthHealthy:
			case exited:
				return false, dependencyReason(dep)
			default:
				met = false
			}
		}
	}
	return met, ""
}

func dependencyReason(dep driver.Dependency) string {
	return fmt.Sprintf("CannotStartContainerError: dependency %s of container %s was not met", dep.Condition, dep.Container)
}

// createAndStart creates c's container and starts it.
func (d *Driver) createAndStart(ctx context.Context, g *group, v *view, c driver.ContainerSpec, pulledAt time.Time) error {
	cfg, host, reason := d.containerConfig(v, c, pulledAt)
	if reason == "" {
		var err error
		if reason, err = d.ensureVolumes(ctx, v, c); err != nil {
			return err
		}
	}
	if reason != "" {
		return d.placeholder(ctx, v, c, reason, pulledAt)
	}
	resp, err := d.cli.ContainerCreate(ctx, cfg, host, nil, nil, containerName(v.spec.ID, c.Name))
	switch {
	case cerrdefs.IsConflict(err):
		return nil // made meanwhile; the next step sees it
	case cerrdefs.IsNotFound(err) && isImageMissing(err):
		delete(g.pulledAt, c.Name) // removed since the pull: pull again
		return nil
	case err != nil && (ctx.Err() != nil || client.IsErrConnectionFailed(err)):
		return err
	case err != nil:
		return d.placeholder(ctx, v, c, "CannotCreateContainerError: "+err.Error(), pulledAt)
	}
	return d.startContainer(ctx, v, c, resp.ID, pulledAt)
}

// startContainer starts a created container. One that will not start is
// replaced by a placeholder saying why, in ECS's words: Docker does not
// always record the error on the container.
func (d *Driver) startContainer(ctx context.Context, v *view, c driver.ContainerSpec, id string, pulledAt time.Time) error {
	err := d.cli.ContainerStart(ctx, id, container.StartOptions{})
	if err == nil || ctx.Err() != nil || client.IsErrConnectionFailed(err) {
		return err
	}
	if err := d.removeContainer(ctx, id); err != nil {
		return err
	}
	if retry, ok := withoutDynamicPorts(c); ok && strings.Contains(err.Error(), "port is already allocated") {
		// Something outside this ecsd (another ecsd, another program)
		// took a host port ecsd chose: Docker picks one instead, as the
		// agent picks another port when the one it chose is in use.
		cfg, host, _ := d.containerConfig(v, retry, pulledAt)
		resp, cerr := d.cli.ContainerCreate(ctx, cfg, host, nil, nil, containerName(v.spec.ID, c.Name))
		if cerr == nil {
			serr := d.cli.ContainerStart(ctx, resp.ID, container.StartOptions{})
			if serr == nil || ctx.Err() != nil || client.IsErrConnectionFailed(serr) {
				return serr
			}
			if err := d.removeContainer(ctx, resp.ID); err != nil {
				return err
			}
			err = serr
		} else if cerrdefs.IsConflict(cerr) {
			return nil
		}
	}
	return d.placeholder(ctx, v, c, "CannotStartContainerError: "+err.Error(), pulledAt)
}

// withoutDynamicPorts returns c with its dynamic host ports set back to 0
// (Docker's choice), and whether it had any.
func withoutDynamicPorts(c driver.ContainerSpec) (driver.ContainerSpec, bool) {
	found := false
	pms := slices.Clone(c.PortMappings)
	for i, pm := range pms {
		if pm.Dynamic && pm.HostPort > 0 {
			pms[i].HostPort, found = 0, true
		}
	}
	c.PortMappings = pms
	return c, found
}

// placeholder records that c gave up starting: a never-started container
// of c's name whose labels carry the reason.
func (d *Driver) placeholder(ctx context.Context, v *view, c driver.ContainerSpec, reason string, pulledAt time.Time) error {
	own := map[string]string{
		labelGroup:     v.spec.ID,
		labelRole:      roleFailed,
		labelContainer: c.Name,
		labelEssential: fmt.Sprint(c.Essential),
		labelReason:    reason,
		labelFailedAt:  formatTime(time.Now()),
	}
	if !pulledAt.IsZero() {
		own[labelPulledAt] = formatTime(pulledAt)
	}
	err := d.createPauseContainer(ctx, d.labels(c.Labels, v.spec.Labels, own), "none", containerName(v.spec.ID, c.Name))
	if err != nil && !cerrdefs.IsConflict(err) {
		return fmt.Errorf("docker runtime: recording the failure of %s: %w", c.Name, err)
	}
	return nil
}

// gonePlaceholder records durably that a started container was removed
// behind the driver's back, so a new process neither makes it again nor
// forgets it ran.
func (d *Driver) gonePlaceholder(ctx context.Context, v *view, c driver.ContainerSpec, sm seenMember) error {
	own := map[string]string{
		labelGroup:     v.spec.ID,
		labelRole:      roleFailed,
		labelContainer: c.Name,
		labelEssential: fmt.Sprint(c.Essential),
		labelReason:    goneReason(sm.id),
		labelFailedAt:  formatTime(sm.goneAt),
		labelStartedAt: formatTime(sm.startedAt),
		labelRuntimeID: sm.id,
	}
	err := d.createPauseContainer(ctx, d.labels(c.Labels, v.spec.Labels, own), "none", containerName(v.spec.ID, c.Name))
	if err != nil && !cerrdefs.IsConflict(err) {
		return fmt.Errorf("docker runtime: recording the removal of %s: %w", c.Name, err)
	}
	return nil
}

// stopStep makes every running container of a stopping group stop by
// its deadline (the stop request plus its stop timeout), and once none
// runs, kills the pause process.
func (d *Driver) stopStep(ctx context.Context, g *group, v *view) (finished, progress bool, err error) {
	running := false
	for _, c := range v.spec.Containers {
		m := v.members[c.Name]
		if m == nil || m.State == nil || !(m.State.Running || m.State.Paused || m.State.Restarting) {
			continue
		}
		running = true
		timeout := c.StopTimeout
		if timeout <= 0 {
			timeout = v.stopTimeout
		}
		g.mu.Lock()
		inFlight := g.stopping[m.ID]
		if !inFlight {
			if g.stopping == nil {
				g.stopping = map[string]bool{}
			}
			g.stopping[m.ID] = true
		}
		g.mu.Unlock()
		if inFlight {
			continue
		}
		// Docker sends the image's stop signal, waits, then kills; its
		// timeout is in whole seconds, so round the remaining time up.
		secs := max(0, int(math.Ceil(time.Until(v.stopRequestedAt.Add(timeout)).Seconds())))
		d.wg.Add(1)
		go func(id string) {
			defer d.wg.Done()
			if err := d.cli.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs}); err != nil && ctx.Err() == nil && !cerrdefs.IsNotFound(err) {
				d.log.Warn("docker runtime: stopping a container", "group", v.spec.ID, "container", id, "err", err)
			}
			g.mu.Lock()
			delete(g.stopping, id)
			g.mu.Unlock()
			select {
			case g.kick <- struct{}{}:
			default:
			}
		}(m.ID)
	}
	if running {
		return false, false, nil
	}
	if v.anchor.State == container.StateRunning {
		if err := d.cli.ContainerKill(ctx, v.anchor.ID, "KILL"); err != nil && !cerrdefs.IsNotFound(err) && !cerrdefs.IsConflict(err) {
			return false, false, fmt.Errorf("docker runtime: stopping the network namespace: %w", err)
		}
	}
	return true, false, nil
}

// ensureImage pulls ref unless the Engine has it. ECS agents pull
// always by default; with no registry at hand, and images built locally,
// pulling only what is missing is what makes local images usable.
func (d *Driver) ensureImage(ctx context.Context, ref string) error {
	if _, err := d.cli.ImageInspect(ctx, ref); err == nil {
		return nil
	} else if !cerrdefs.IsNotFound(err) {
		return err
	}
	rc, err := d.cli.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	// Errors after the pull started come in the progress stream.
	return jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, nil)
}

func isImageMissing(err error) bool {
	return strings.Contains(strings.ToLower(err.Error()), "no such image")
}
