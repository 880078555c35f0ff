package dockerdriver

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/ecsd/ecsd/internal/driver"
)

// view is a group as Docker has it now.
type view struct {
	// at is when the reading began: a view older than what the driver
	// has seen since cannot tell that a container is gone.
	at              time.Time
	anchor          container.Summary
	spec            groupSpec
	createdAt       time.Time
	stopRequestedAt time.Time
	stopTimeout     time.Duration
	// members are the containers made from the spec, by spec name;
	// with deep loads only.
	members map[string]*container.InspectResponse
	// failed are the placeholders of containers that gave up starting.
	failed map[string]*container.Summary
	// started is the started marker's record (nil before it exists).
	started map[string]startedMember
}

// startedMember is a started container as the started marker keeps it.
type startedMember struct {
	ID        string    `json:"id"`
	StartedAt time.Time `json:"startedAt"`
}

type groupSpec struct{ driver.GroupSpec }

func (s groupSpec) container(name string) (driver.ContainerSpec, bool) {
	for _, c := range s.Containers {
		if c.Name == name {
			return c, true
		}
	}
	return driver.ContainerSpec{}, false
}

// load reads a group from Docker: one listing, plus one inspection per
// container when deep (exit codes, times and health are not listed).
func (d *Driver) load(ctx context.Context, id string, deep bool) (*view, error) {
	at := time.Now()
	all, err := d.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: d.filters(map[string]string{labelGroup: id})})
	if err != nil {
		return nil, fmt.Errorf("docker runtime: %w", err)
	}
	v := &view{at: at, members: map[string]*container.InspectResponse{}, failed: map[string]*container.Summary{}}
	found := false
	for i := range all {
		c := &all[i]
		switch c.Labels[labelRole] {
		case roleAnchor:
			if err := json.Unmarshal([]byte(c.Labels[labelSpec]), &v.spec.GroupSpec); err != nil {
				return nil, fmt.Errorf("docker runtime: group %s: unreadable spec label: %w", id, err)
			}
			v.anchor, v.createdAt, found = *c, parseTime(c.Labels[labelCreatedAt]), true
		case roleStop:
			v.stopRequestedAt = parseTime(c.Labels[labelStopRequestedAt])
			n, _ := strconv.ParseInt(c.Labels[labelStopTimeout], 10, 64)
			v.stopTimeout = time.Duration(n)
		case roleFailed:
			v.failed[c.Labels[labelContainer]] = c
		case roleStarted:
			if err := json.Unmarshal([]byte(c.Labels[labelMembers]), &v.started); err != nil {
				return nil, fmt.Errorf("docker runtime: group %s: unreadable started marker: %w", id, err)
			}
		case roleContainer:
			if !deep {
				continue
			}
			m, err := d.cli.ContainerInspect(ctx, c.ID)
			if cerrdefs.IsNotFound(err) {
				continue // removed meanwhile
			}
			if err != nil {
				return nil, fmt.Errorf("docker runtime: %w", err)
			}
			v.members[c.Labels[labelContainer]] = &m
		}
	}
	if !found {
		// A listing can miss a container the Engine is busy with (one
		// just started, say), so absence is confirmed by name.
		a, err := d.inspectOwn(ctx, anchorName(id), id)
		if err != nil || a == nil || a.Config.Labels[labelRole] != roleAnchor {
			if err == nil {
				err = fmt.Errorf("%w: %s", driver.ErrNotFound, id)
			}
			return nil, err
		}
		if err := json.Unmarshal([]byte(a.Config.Labels[labelSpec]), &v.spec.GroupSpec); err != nil {
			return nil, fmt.Errorf("docker runtime: group %s: unreadable spec label: %w", id, err)
		}
		v.anchor = summary(a)
		v.createdAt = parseTime(a.Config.Labels[labelCreatedAt])
	}
	if !deep {
		return v, nil
	}
	for _, c := range v.spec.Containers {
		if v.members[c.Name] != nil || v.failed[c.Name] != nil {
			continue
		}
		m, err := d.inspectOwn(ctx, containerName(id, c.Name), id)
		if err != nil {
			return nil, err
		}
		switch {
		case m == nil:
		case m.Config.Labels[labelRole] == roleContainer:
			v.members[c.Name] = m
		case m.Config.Labels[labelRole] == roleFailed:
			sum := summary(m)
			v.failed[c.Name] = &sum
		}
	}
	return v, nil
}

// inspectOwn inspects a container by name; nil if there is none, or if
// it is not of group id in the driver's scope.
func (d *Driver) inspectOwn(ctx context.Context, name, id string) (*container.InspectResponse, error) {
	m, err := d.cli.ContainerInspect(ctx, name)
	if cerrdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("docker runtime: %w", err)
	}
	if m.Config == nil || m.Config.Labels[labelGroup] != id {
		return nil, nil
	}
	for k, v := range d.scope {
		if m.Config.Labels[k] != v {
			return nil, nil
		}
	}
	return &m, nil
}

// summary is the listing entry of an inspected container.
func summary(m *container.InspectResponse) container.Summary {
	s := container.Summary{ID: m.ID, Names: []string{m.Name}, Image: m.Config.Image, Labels: m.Config.Labels}
	if m.State != nil {
		s.State = container.ContainerState(m.State.Status)
	}
	if m.NetworkSettings != nil {
		s.NetworkSettings = &container.NetworkSettingsSummary{Networks: m.NetworkSettings.Networks}
	}
	return s
}

// state is the group's state for Inspect and List.
func (d *Driver) state(ctx context.Context, v *view) driver.GroupState {
	out := driver.GroupState{
		ID:              v.spec.ID,
		Labels:          v.spec.Labels,
		CreatedAt:       v.createdAt,
		StopRequestedAt: v.stopRequestedAt,
		Containers:      make([]driver.ContainerState, 0, len(v.spec.Containers)),
	}
	g := d.group(v.spec.ID)
	g.mu.Lock()
	gone := rememberLocked(g, v)
	pulled := make(map[string]time.Time, len(g.pulledAt))
	for k, t := range g.pulledAt {
		pulled[k] = t
	}
	g.mu.Unlock()
	for _, c := range v.spec.Containers {
		cs := containerState(v, c, pulled[c.Name])
		if m := v.members[c.Name]; m != nil {
			cs.ImageDigest = d.digest(ctx, m.Image)
		}
		if sm, ok := gone[c.Name]; ok {
			cs = goneState(c.Name, sm)
		}
		out.Containers = append(out.Containers, cs)
	}
	if len(gone) > 0 {
		d.ensureRunner(v.spec.ID) // to record it durably
	}
	return out
}

// rememberLocked notes the started containers of v and returns those
// seen started before that Docker no longer has (and that no placeholder
// accounts for yet).
func rememberLocked(g *group, v *view) map[string]seenMember {
	var gone map[string]seenMember
	for _, c := range v.spec.Containers {
		if m := v.members[c.Name]; m != nil {
			if m.State != nil && !parseTime(m.State.StartedAt).IsZero() {
				if g.seen == nil {
					g.seen = map[string]seenMember{}
				}
				if _, ok := g.seen[c.Name]; !ok {
					g.seen[c.Name] = seenMember{id: m.ID, startedAt: parseTime(m.State.StartedAt), seenAt: time.Now()}
				}
			}
			continue
		}
		sm, ok := g.seen[c.Name]
		if r, marked := v.started[c.Name]; !ok && marked {
			// Started before the marker this view read, so before the view:
			// gone, whoever saw it start.
			sm, ok = seenMember{id: r.ID, startedAt: r.StartedAt}, true
			if g.seen == nil {
				g.seen = map[string]seenMember{}
			}
			g.seen[c.Name] = sm
		}
		if !ok || v.failed[c.Name] != nil || v.at.Before(sm.seenAt) {
			continue
		}
		if sm.goneAt.IsZero() {
			sm.goneAt = time.Now().UTC()
			g.seen[c.Name] = sm
		}
		if gone == nil {
			gone = map[string]seenMember{}
		}
		gone[c.Name] = sm
	}
	return gone
}

// goneReason is what is reported of a container removed behind the
// driver's back: what the ECS agent would hear inspecting it.
func goneReason(id string) string {
	return "CannotInspectContainerError: Error response from daemon: No such container: " + id
}

// goneState reports a started container that Docker no longer has: it
// exited, without an exit code, for a reason.
func goneState(name string, sm seenMember) driver.ContainerState {
	return driver.ContainerState{
		Name: name, Status: driver.StatusExited, Health: driver.HealthUnknown, RuntimeID: sm.id,
		Reason: goneReason(sm.id), StartedAt: sm.startedAt, FinishedAt: sm.goneAt,
	}
}

// containerState maps what Docker has of c to the driver's terms.
// pulledAt is the runner's memory, for a container not created yet.
func containerState(v *view, c driver.ContainerSpec, pulledAt time.Time) driver.ContainerState {
	cs := driver.ContainerState{Name: c.Name, Status: driver.StatusCreated, Health: driver.HealthUnknown}
	if f := v.failed[c.Name]; f != nil {
		cs.Status, cs.RuntimeID = driver.StatusExited, f.ID
		cs.Reason = f.Labels[labelReason]
		cs.FinishedAt = parseTime(f.Labels[labelFailedAt])
		cs.PulledAt = parseTime(f.Labels[labelPulledAt])
		// A container removed behind the driver's back had started.
		cs.StartedAt = parseTime(f.Labels[labelStartedAt])
		if id := f.Labels[labelRuntimeID]; id != "" {
			cs.RuntimeID = id
		}
		return cs
	}
	m := v.members[c.Name]
	if m == nil || m.State == nil {
		cs.PulledAt = pulledAt
		if !v.stopRequestedAt.IsZero() { // and now it never will be
			cs.Status, cs.FinishedAt = driver.StatusExited, v.stopRequestedAt
		}
		return cs
	}
	cs.RuntimeID, cs.RuntimeName, cs.CreatedAt = m.ID, strings.TrimPrefix(m.Name, "/"), parseTime(m.Created)
	if m.Config != nil {
		cs.PulledAt = parseTime(m.Config.Labels[labelPulledAt])
	}
	st := m.State
	cs.StartedAt = parseTime(st.StartedAt)
	switch {
	case st.Running || st.Paused || st.Restarting:
		cs.Status = driver.StatusRunning
	case cs.StartedAt.IsZero() && st.Error != "":
		// A start that failed and was not replaced by a placeholder yet.
		cs.Status, cs.Reason = driver.StatusExited, "CannotStartContainerError: "+st.Error
		cs.FinishedAt = parseTime(m.Created)
	case cs.StartedAt.IsZero():
		if !v.stopRequestedAt.IsZero() {
			cs.Status, cs.FinishedAt = driver.StatusExited, v.stopRequestedAt
		}
	default:
		code := st.ExitCode
		cs.Status, cs.ExitCode, cs.FinishedAt = driver.StatusExited, &code, parseTime(st.FinishedAt)
		if st.OOMKilled {
			cs.Reason = reasonOOM
		}
	}
	if c.HealthCheck != nil && st.Health != nil && !cs.StartedAt.IsZero() {
		switch st.Health.Status {
		case container.Healthy:
			cs.Health = driver.HealthHealthy
		case container.Unhealthy:
			cs.Health = driver.HealthUnhealthy
		}
	}
	if cs.Status == driver.StatusRunning {
		cs.PrivateIP, cs.NetworkBindings = addresses(v, c, m)
	}
	return cs
}

// addresses are a running container's address and published ports.
func addresses(v *view, c driver.ContainerSpec, m *container.InspectResponse) (string, []driver.NetworkBinding) {
	switch v.spec.NetworkMode {
	case driver.NetworkAwsvpc:
		// The namespace's, as a task's ENI address.
		if ns := v.anchor.NetworkSettings; ns != nil {
			if n := ns.Networks["bridge"]; n != nil {
				return n.IPAddress, nil
			}
		}
		return "", nil
	case driver.NetworkHost:
		out := []driver.NetworkBinding{}
		for _, pm := range c.PortMappings {
			out = append(out, driver.NetworkBinding{BindIP: "0.0.0.0", ContainerPort: pm.ContainerPort, HostPort: pm.ContainerPort, Protocol: protocol(pm)})
		}
		return "", out
	case driver.NetworkNone:
		return "", nil
	}
	ip := ""
	out := []driver.NetworkBinding{}
	if ns := m.NetworkSettings; ns != nil {
		if n := ns.Networks["bridge"]; n != nil {
			ip = n.IPAddress
		}
		out = bindings(c.PortMappings, ns.Ports)
	}
	return ip, out
}

// bindings pairs each port mapping with what Docker published for it.
// Several mappings of one container port share a key and Docker does not
// keep their order, so mappings with a fixed host port take theirs first
// and the ephemeral ones take the rest in order.
func bindings(pms []driver.PortMapping, ports nat.PortMap) []driver.NetworkBinding {
	used := map[nat.Port][]bool{}
	pick := func(pm driver.PortMapping, fixed bool) (nat.PortBinding, bool) {
		key := portKey(pm)
		bs := ports[key]
		if used[key] == nil {
			used[key] = make([]bool, len(bs))
		}
		for i, b := range bs {
			if used[key][i] {
				continue
			}
			if fixed && b.HostPort != strconv.Itoa(pm.HostPort) {
				continue
			}
			used[key][i] = true
			return b, true
		}
		return nat.PortBinding{}, false
	}
	got := make([]*nat.PortBinding, len(pms))
	for _, fixed := range []bool{true, false} {
		for i, pm := range pms {
			// A dynamic host port ecsd chose may have been given up for
			// Docker's choice (startContainer): it takes what is left.
			if (pm.HostPort > 0 && !pm.Dynamic) != fixed {
				continue
			}
			if b, ok := pick(pm, fixed); ok {
				got[i] = &b
			}
		}
	}
	out := []driver.NetworkBinding{}
	for i, pm := range pms {
		if b := got[i]; b != nil {
			host, _ := strconv.Atoi(b.HostPort)
			out = append(out, driver.NetworkBinding{BindIP: b.HostIP, ContainerPort: pm.ContainerPort, HostPort: host, Protocol: protocol(pm)})
		}
	}
	return out
}

func protocol(pm driver.PortMapping) string {
	if pm.Protocol == "" {
		return "tcp"
	}
	return pm.Protocol
}

func portKey(pm driver.PortMapping) nat.Port {
	return nat.Port(strconv.Itoa(pm.ContainerPort) + "/" + protocol(pm))
}

// digest is an image's registry digest, or its ID for an image built
// locally (which has none).
func (d *Driver) digest(ctx context.Context, imageID string) string {
	d.mu.Lock()
	dg, ok := d.digests[imageID]
	d.mu.Unlock()
	if ok {
		return dg
	}
	img, err := d.cli.ImageInspect(ctx, imageID)
	if err != nil {
		return ""
	}
	dg = img.ID
	if len(img.RepoDigests) > 0 {
		if _, after, ok := strings.Cut(img.RepoDigests[0], "@"); ok {
			dg = after
		}
	}
	d.mu.Lock()
	d.digests[imageID] = dg
	d.mu.Unlock()
	return dg
}
