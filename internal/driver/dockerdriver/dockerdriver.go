// Package dockerdriver runs container groups as real containers on a
// Docker Engine, through the official Engine API client (API 1.41 and
// later, negotiated).
//
// Docker is the source of truth: every container the driver creates
// carries labels naming its group and role, and a group's spec, creation
// time and stop request live in labels of containers too, so a restarted
// ecsd (or a second driver on the same Engine) sees exactly what the first
// one did. Per group there is
//
//   - an anchor container "ecsd-<group>" from the tiny pause image: it
//     holds the spec, and in awsvpc mode it runs and owns the group's
//     network namespace, which the other containers join;
//   - one container per ContainerSpec, created and started in dependsOn
//     order by a background runner of this process;
//   - for a container that could not be created (image pull failed,
//     dependency not met, invalid config), a never-started placeholder
//     of the same name whose labels say why;
//   - once every container has started (or given up), a never-started
//     started marker recording which started, so that a container
//     removed behind the driver's back, even while no ecsd ran, is
//     reported gone rather than made again;
//   - once Stop was called, a never-started stop marker recording when
//     and with which timeout.
//
// Container names are unique in an Engine, so creating these by name is
// what makes Start and Stop idempotent across processes.
//
// It must never import ecs, the store or anything above the driver.
package dockerdriver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/ecsd/ecsd/internal/driver"
)

// ErrEngineUnavailable is returned (wrapped) by New when no Docker Engine
// answers, so a caller can fall back to another runtime.
var ErrEngineUnavailable = errors.New("docker engine not reachable")

// Labels the driver puts on its containers. The prefix is reserved:
// specs whose labels use it are refused.
const (
	labelPrefix = "ecsd.driver."
	// labelGroup is the group ID, on every container of the group.
	labelGroup = labelPrefix + "group"
	// labelRole is roleAnchor, roleContainer, roleFailed or roleStop.
	labelRole = labelPrefix + "role"
	// labelSpec (anchor) is the GroupSpec as JSON.
	labelSpec = labelPrefix + "spec"
	// labelCreatedAt (anchor) is when Start accepted the group.
	labelCreatedAt = labelPrefix + "created-at"
	// labelContainer (container, placeholder) is the ContainerSpec name.
	labelContainer = labelPrefix + "container"
	// labelEssential (container, placeholder) is "true" or "false": the
	// supervisor's business, kept for people reading `docker ps`.
	labelEssential = labelPrefix + "essential"
	// labelPulledAt (container, placeholder) is when the image was there.
	labelPulledAt = labelPrefix + "pulled-at"
	// labelReason and labelFailedAt (placeholder) say why and when a
	// container gave up starting.
	labelReason   = labelPrefix + "reason"
	labelFailedAt = labelPrefix + "failed-at"
	// labelStopRequestedAt and labelStopTimeout (stop marker) record the
	// first Stop.
	labelStopRequestedAt = labelPrefix + "stop-requested-at"
	labelStopTimeout     = labelPrefix + "stop-timeout"
	// labelStartedAt and labelRuntimeID (placeholder) keep when a
	// container that was removed behind the driver's back had started,
	// and its Docker ID.
	labelStartedAt = labelPrefix + "started-at"
	labelRuntimeID = labelPrefix + "runtime-id"
	// labelMembers (started marker) records, once every container of the
	// group has started or given up, which started with which Docker ID:
	// one missing later was removed, whether or not this process saw it.
	labelMembers = labelPrefix + "members"
)

const (
	roleAnchor    = "anchor"
	roleContainer = "container"
	roleFailed    = "failed"
	roleStop      = "stop"
	roleStarted   = "started"
)

// Reasons, in ECS's words.
const (
	reasonOOM = "OutOfMemoryError: Container killed due to memory usage"
)

// Config configures the driver.
type Config struct {
	// Client talks to the Engine; nil makes one from the environment
	// (DOCKER_HOST, DOCKER_CERT_PATH, ...) with API-version negotiation.
	// The driver closes only a client it made.
	Client *client.Client
	// BindIP is the host address bridge-mode ports are published on;
	// "" is 127.0.0.1, because an API that starts containers must not
	// expose them to the network unless asked.
	BindIP string
	// Labels are put on every container the driver creates and scope it:
	// List, Inspect, Stop and Remove see only groups carrying them, so
	// several ecsd instances (or test runs) can share one Engine.
	Labels map[string]string
	// PollInterval is how often a group waiting on a dependency looks
	// again; 0 is 200ms.
	PollInterval time.Duration
	// Logger gets runner errors; nil discards them.
	Logger *slog.Logger
	// NotifyFunc, if set, is called with a group's ID whenever the
	// Engine reports a change to one of its containers (from a goroutine
	// of the driver; it must not block).
	NotifyFunc func(group string)
}

// Driver runs groups on a Docker Engine.
type Driver struct {
	cli       *client.Client
	ownClient bool
	bindIP    string
	scope     map[string]string
	poll      time.Duration
	log       *slog.Logger
	arch      string // the Engine's, for the pause image
	pause     string // the pause image's tag

	ctx    context.Context // cancelled by Close: ends the runners
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	groups  map[string]*group
	digests map[string]string // image ID -> digest, immutable facts
}

var _ driver.Driver = (*Driver)(nil)

// group is what this process keeps of a group: locks and the runner's
// memory. Everything that must survive a restart is in Docker.
type group struct {
	// mu serialises what creates, starts or removes containers, so a Stop
	// recorded while the runner decides what to start is seen before
	// anything more starts, and Remove leaves nothing behind.
	mu sync.Mutex

	// Guarded by Driver.mu.
	running bool          // a runner goroutine is active
	kick    chan struct{} // wakes the runner (Stop, a stop finishing)
	cancel  context.CancelFunc
	done    chan struct{} // closed when the active runner has returned

	// Guarded by mu.
	pulling  map[string]bool      // container name -> a pull is in flight
	pulledAt map[string]time.Time // container name -> image available
	pullErr  map[string]string    // container name -> reason
	stopping map[string]bool      // Docker IDs with a ContainerStop in flight
	// seen are the containers this process saw started, so one removed
	// behind the driver's back is reported gone rather than made again.
	seen map[string]seenMember
}

type seenMember struct {
	id        string
	startedAt time.Time
	seenAt    time.Time // when this process first saw it started
	goneAt    time.Time // when first found missing
}

// New connects to the Engine, makes sure the pause image is there and
// resumes the groups a previous process left half-started or stopping.
func New(ctx context.Context, cfg Config) (*Driver, error) {
	d := &Driver{
		cli:     cfg.Client,
		bindIP:  cfg.BindIP,
		scope:   cfg.Labels,
		poll:    cfg.PollInterval,
		log:     cfg.Logger,
		groups:  map[string]*group{},
		digests: map[string]string{},
	}
	if d.bindIP == "" {
		d.bindIP = "127.0.0.1"
	}
	if d.poll <= 0 {
		d.poll = 200 * time.Millisecond
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	for k := range d.scope {
		if err := checkLabelKey(k); err != nil {
			return nil, fmt.Errorf("docker runtime: scope label: %w", err)
		}
	}
	if d.cli == nil {
		cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			return nil, fmt.Errorf("docker runtime: %w", err)
		}
		d.cli, d.ownClient = cli, true
	}
	fail := func(err error) (*Driver, error) {
		if d.ownClient {
			_ = d.cli.Close()
		}
		return nil, err
	}
	if _, err := d.cli.Ping(ctx); err != nil {
		return fail(fmt.Errorf("docker runtime: %w: %v", ErrEngineUnavailable, err))
	}
	v, err := d.cli.ServerVersion(ctx)
	if err != nil {
		return fail(fmt.Errorf("docker runtime: %w: %v", ErrEngineUnavailable, err))
	}
	d.arch = v.Arch
	if d.pause, err = ensurePauseImage(ctx, d.cli, d.arch); err != nil {
		return fail(fmt.Errorf("docker runtime: pause image: %w", err))
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	if cfg.NotifyFunc != nil {
		d.wg.Add(1)
		go d.watchEvents(d.ctx, cfg.NotifyFunc)
	}

	anchors, err := d.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: d.filters(map[string]string{labelRole: roleAnchor})})
	if err != nil {
		d.cancel()
		return fail(fmt.Errorf("docker runtime: %w", err))
	}
	for _, a := range anchors {
		d.ensureRunner(a.Labels[labelGroup])
	}
	return d, nil
}

// Close ends the runners (the containers go on, as they would if ecsd
// died) and closes the client if the driver made it. The methods still
// answer afterwards, but nothing more happens in the background until a
// new driver adopts the groups.
func (d *Driver) Close() error {
	d.cancel()
	d.wg.Wait()
	if d.ownClient {
		return d.cli.Close()
	}
	return nil
}

// ensurePauseImage imports the pause image unless the Engine has it.
// Importing a root filesystem needs no builder: the classic one is
// deprecated, and BuildKit needs a session the API client cannot open
// on its own.
func ensurePauseImage(ctx context.Context, cli *client.Client, arch string) (string, error) {
	bin, err := pauseBinary(arch)
	if err != nil {
		return "", err
	}
	tag := pauseTag(bin)
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	} else if !cerrdefs.IsNotFound(err) {
		return "", err
	}
	rootfs, err := tarFiles(tarFile{Name: "pause", Mode: 0o755, Body: bin})
	if err != nil {
		return "", err
	}
	rc, err := cli.ImageImport(ctx, image.ImportSource{Source: bytes.NewReader(rootfs), SourceName: "-"}, tag,
		image.ImportOptions{Changes: []string{`ENTRYPOINT ["/pause"]`, `LABEL ` + labelPrefix + `pause=true`}})
	if err != nil {
		return "", err
	}
	defer rc.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, nil); err != nil {
		return "", err
	}
	return tag, nil
}

// Start creates the group's anchor, named after the group so a second
// Start (from this process or another) finds it, and hands the rest to
// the group's runner.
func (d *Driver) Start(ctx context.Context, spec driver.GroupSpec) error {
	if err := validateSpec(spec); err != nil {
		return fmt.Errorf("docker runtime: %w", err)
	}
	spec = d.freeDynamicPorts(spec)
	raw, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("docker runtime: %w", err)
	}
	labels := d.labels(spec.Labels, map[string]string{
		labelGroup:     spec.ID,
		labelRole:      roleAnchor,
		labelSpec:      string(raw),
		labelCreatedAt: formatTime(time.Now()),
	})
	network := "none"
	if spec.NetworkMode == driver.NetworkAwsvpc {
		// The namespace every container of the group joins; on the
		// default bridge it gets the group's address, as an ENI would.
		network = "bridge"
	}
	g := d.group(spec.ID)
	g.mu.Lock()
	err = d.createPauseContainer(ctx, labels, network, anchorName(spec.ID))
	g.mu.Unlock()
	if cerrdefs.IsConflict(err) {
		// Known already: the same group if it is in our scope.
		if _, err := d.load(ctx, spec.ID, false); err != nil {
			return fmt.Errorf("docker runtime: container %s exists but is not a group of this driver: %w", anchorName(spec.ID), err)
		}
	} else if err != nil {
		return fmt.Errorf("docker runtime: %w", err)
	}
	d.ensureRunner(spec.ID)
	return nil
}

// Stop records the first stop request in a stop marker and lets the
// runner stop the containers.
func (d *Driver) Stop(ctx context.Context, id string, timeout time.Duration) error {
	g := d.group(id)
	g.mu.Lock()
	recorded := false
	defer func() {
		g.mu.Unlock()
		if recorded {
			d.ensureRunner(id)
		}
	}()
	v, err := d.load(ctx, id, false)
	if errors.Is(err, driver.ErrNotFound) {
		d.forget(id, g)
	}
	if err != nil {
		return err
	}
	recorded = true // by us or before: either way the runner must act on it
	if !v.stopRequestedAt.IsZero() {
		return nil
	}
	labels := d.labels(v.spec.Labels, map[string]string{
		labelGroup:           id,
		labelRole:            roleStop,
		labelStopRequestedAt: formatTime(time.Now()),
		labelStopTimeout:     strconv.FormatInt(int64(timeout), 10),
	})
	err = d.createPauseContainer(ctx, labels, "none", stopName(id))
	if err != nil && !cerrdefs.IsConflict(err) {
		return fmt.Errorf("docker runtime: %w", err)
	}
	return nil
}

// Inspect reads the group's containers from the Engine.
func (d *Driver) Inspect(ctx context.Context, id string) (driver.GroupState, error) {
	v, err := d.load(ctx, id, true)
	if err != nil {
		return driver.GroupState{}, err
	}
	return d.state(ctx, v), nil
}

// List finds the anchors carrying labels and inspects their groups, in
// ID order.
func (d *Driver) List(ctx context.Context, labels map[string]string) ([]driver.GroupState, error) {
	want := map[string]string{labelRole: roleAnchor}
	for k, v := range labels {
		want[k] = v
	}
	anchors, err := d.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: d.filters(want)})
	if err != nil {
		return nil, fmt.Errorf("docker runtime: %w", err)
	}
	ids := make([]string, 0, len(anchors))
	for _, a := range anchors {
		ids = append(ids, a.Labels[labelGroup])
	}
	sort.Strings(ids)
	out := make([]driver.GroupState, 0, len(ids))
	for _, id := range ids {
		g, err := d.Inspect(ctx, id)
		if errors.Is(err, driver.ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// Remove stops the group's runner and force-removes its containers, the
// anchor last so that a Remove cut short is still a known group.
func (d *Driver) Remove(ctx context.Context, id string) error {
	// The runner must be gone before the containers are, or it could
	// create one after the listing below.
	d.mu.Lock()
	g := d.groupLocked(id)
	var done chan struct{}
	if g.running {
		g.cancel()
		done = g.done
	}
	d.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	all, err := d.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: d.filters(map[string]string{labelGroup: id})})
	if err != nil {
		return fmt.Errorf("docker runtime: %w", err)
	}
	var anchor *container.Summary
	for i := range all {
		c := &all[i]
		if c.Labels[labelRole] == roleAnchor {
			anchor = c
			continue
		}
		if err := d.removeContainer(ctx, c.ID); err != nil {
			return err
		}
	}
	if err := d.removeVolumes(ctx, id); err != nil {
		return err
	}
	if anchor != nil {
		if err := d.removeContainer(ctx, anchor.ID); err != nil {
			return err
		}
	}
	g.pulling, g.pulledAt, g.pullErr = nil, nil, nil
	d.forget(id, g)
	if anchor == nil {
		return fmt.Errorf("%w: %s", driver.ErrNotFound, id)
	}
	return nil
}

// createPauseContainer creates an anchor, placeholder or stop marker.
// The pause image is imported again if someone removed it (an image
// prune, say) since New.
func (d *Driver) createPauseContainer(ctx context.Context, labels map[string]string, network, name string) error {
	create := func() error {
		_, err := d.cli.ContainerCreate(ctx,
			&container.Config{Image: d.pause, Labels: labels},
			&container.HostConfig{NetworkMode: container.NetworkMode(network)},
			nil, nil, name)
		return err
	}
	err := create()
	if cerrdefs.IsNotFound(err) && isImageMissing(err) {
		if _, err := ensurePauseImage(ctx, d.cli, d.arch); err != nil {
			return fmt.Errorf("pause image: %w", err)
		}
		err = create()
	}
	return err
}

func (d *Driver) removeContainer(ctx context.Context, id string) error {
	err := d.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("docker runtime: %w", err)
	}
	return nil
}

// forget drops the record of a group Docker no longer has, so the map
// does not grow with every group ever seen.
func (d *Driver) forget(id string, g *group) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !g.running && d.groups[id] == g {
		delete(d.groups, id)
	}
}

// group returns this process's record of a group, making it if needed.
func (d *Driver) group(id string) *group {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.groupLocked(id)
}

func (d *Driver) groupLocked(id string) *group {
	g := d.groups[id]
	if g == nil {
		g = &group{kick: make(chan struct{}, 1)}
		d.groups[id] = g
	}
	return g
}

// labels merges label sets for a container: the group's (or a
// container's own) first, then the driver's scope, then the driver's own
// bookkeeping, later sets winning.
func (d *Driver) labels(sets ...map[string]string) map[string]string {
	out := map[string]string{}
	for i, set := range sets {
		if i == len(sets)-1 {
			for k, v := range d.scope {
				out[k] = v
			}
		}
		for k, v := range set {
			out[k] = v
		}
	}
	return out
}

// filters matches containers carrying labels and the driver's scope.
func (d *Driver) filters(labels map[string]string) filters.Args {
	args := filters.NewArgs()
	for k, v := range d.scope {
		args.Add("label", k+"="+v)
	}
	for k, v := range labels {
		args.Add("label", k+"="+v)
	}
	return args
}

// Names: the anchor is named after the group; the others add a hash of
// what they are, so no group ID and container name can produce another
// group's name.
func anchorName(id string) string { return "ecsd-" + id }

func containerName(id, name string) string {
	return "ecsd-" + id + "-" + name + "-" + shortHash(id+"\x00container\x00"+name)
}

func stopName(id string) string { return "ecsd-" + id + "-stop-" + shortHash(id+"\x00stop") }

func startedName(id string) string { return "ecsd-" + id + "-started-" + shortHash(id+"\x00started") }

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:4])
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// parseTime reads a Docker or label time; Docker's zero time and garbage
// are the zero time.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t.UTC()
}
