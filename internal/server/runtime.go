package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/control"
	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/driver/dockerdriver"
	"github.com/ecsd/ecsd/internal/driver/fakedriver"
	"github.com/ecsd/ecsd/internal/metadata"
	"github.com/ecsd/ecsd/internal/notify"
	"github.com/ecsd/ecsd/internal/store"
)

// Runtimes Config.Runtime names.
const (
	RuntimeFake   = "fake"
	RuntimeDocker = "docker"
	RuntimeAuto   = "auto"
	// RuntimeKubernetes runs tasks as pods on an existing cluster
	// (Config.Kubeconfig, Config.KubeNamespace).
	RuntimeKubernetes = "kubernetes"
)

// LabelDataDir scopes the Docker runtime's containers to one data
// directory: two ecsd instances on one Engine (or two test servers) never
// adopt, reap or reset each other's containers, and `docker ps --filter
// label=ecsd.data-dir=$PWD/ecsd-data` shows one instance's.
const LabelDataDir = "ecsd.data-dir"

// engineTimeout bounds how long start-up waits for a Docker Engine to
// answer before auto falls back (a DOCKER_HOST that drops packets would
// otherwise hang start-up).
const engineTimeout = 5 * time.Second

// runtime is the container runtime a server runs tasks on.
type runtime struct {
	name   string // RuntimeFake or RuntimeDocker
	driver driver.Driver
	docker *dockerdriver.Driver // nil on the simulated runtime
	// metadata serves the task metadata and credentials endpoints to
	// Docker containers; nil on the simulated runtime, which runs none.
	metadata *metadata.Server
	close    func() error
	// host is the Docker host as a container instance; nil on the
	// simulated runtime.
	host *control.HostInstance
	// archive keeps a stopped group's output before its containers are
	// removed; nil on the simulated runtime, which has none.
	archive func(ctx context.Context, g driver.GroupState) error
	// hub hears of every group whose containers changed, as the runtime
	// reports it (notify.Group), and of changes to its hosts
	// (notify.Hosts).
	hub *notify.Hub
	// nextChange says when a group's state next changes by itself, on
	// the simulated runtime (nil elsewhere: the runtime reports changes).
	nextChange func(ctx context.Context, id string) (time.Time, error)
	// hosts are the kubernetes runtime's nodes; nil on other runtimes
	// (and when ecsd may not list nodes).
	hosts driver.HostLister
}

func (rt *runtime) notify(group string) { rt.hub.Notify(notify.Group, group) }

func (rt *runtime) notifyHosts() { rt.hub.Notify(notify.Hosts, "") }

// specFunc completes a task's group before it starts: on Docker, the
// endpoints' environment variables.
func (rt *runtime) specFunc(ctl *control.Control, logger *slog.Logger) func(*driver.GroupSpec, types.Task, types.TaskDefinition) {
	var fs []func(*driver.GroupSpec, types.Task, types.TaskDefinition)
	if rt.metadata != nil {
		fs = append(fs, rt.metadata.Decorate)
	}
	if rt.hosts != nil {
		// An EC2 task runs on the node the placement engine chose.
		fs = append(fs, func(spec *driver.GroupSpec, task types.Task, _ types.TaskDefinition) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			node, err := ctl.NodeOfInstance(ctx, strPtr(task.ContainerInstanceArn))
			if err != nil {
				logger.Warn("kubernetes: finding the node of a task's container instance failed; the scheduler places it", "task", strPtr(task.TaskArn), "err", err)
			}
			spec.Host = node
		})
	}
	if len(fs) == 0 {
		return nil
	}
	return func(spec *driver.GroupSpec, task types.Task, td types.TaskDefinition) {
		for _, f := range fs {
			f(spec, task, td)
		}
	}
}

// DockerScope is the label set that scopes the Docker runtime's
// containers to the data directory dir, as ecsd puts it on them; `ecsd
// logs` uses it to find a task's containers.
func DockerScope(dir string) (map[string]string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return map[string]string{LabelDataDir: abs}, nil
}

// openRuntime opens the runtime cfg.Runtime names. With "auto" it is
// Docker when an Engine answers, else the simulated runtime; either way
// the log says which and why.
func openRuntime(ctx context.Context, cfg Config, st store.Store, hub *notify.Hub) (*runtime, error) {
	want := cfg.Runtime
	if want == "" {
		want = RuntimeFake
	}
	switch want {
	case RuntimeFake:
		return openFake(cfg, "", hub)
	case RuntimeKubernetes:
		return openKube(ctx, cfg, st, hub)
	case RuntimeDocker, RuntimeAuto:
	default:
		return nil, fmt.Errorf("runtime %q: want fake, docker, kubernetes or auto", cfg.Runtime)
	}
	scope, err := DockerScope(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("docker runtime: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, engineTimeout)
	defer cancel()
	rt := &runtime{name: RuntimeDocker, hub: hub}
	d, err := dockerdriver.New(pingCtx, dockerdriver.Config{
		Labels: scope,
		Logger: cfg.Logger,
		// A container's exit reaches the supervisor at once, not at its
		// next pass.
		NotifyFunc: rt.notify,
	})
	if want == RuntimeAuto && errors.Is(err, dockerdriver.ErrEngineUnavailable) {
		return openFake(cfg, err.Error(), hub)
	}
	if err != nil {
		return nil, err
	}
	cfg.Logger.Info("runtime: tasks run as Docker containers", "runtime", RuntimeDocker, "scopeLabel", LabelDataDir+"="+scope[LabelDataDir])
	gw, err := d.BridgeGateway(ctx)
	if err != nil {
		cfg.Logger.Warn("metadata endpoint: no Docker bridge gateway; bridge and awsvpc containers cannot reach it", "err", err)
	}
	md, err := metadata.Start(ctx, metadata.Config{
		Store: st, Driver: d, Dir: cfg.DataDir, Gateway: gw, Logger: cfg.Logger,
	})
	if err != nil {
		d.Close()
		return nil, err
	}
	rt.driver, rt.docker, rt.metadata = d, d, md
	rt.archive = archiveFunc(cfg.DataDir, d)
	if rt.host, err = dockerHost(ctx, d); err != nil {
		md.Close()
		d.Close()
		return nil, err
	}
	rt.close = func() error { return errors.Join(md.Close(), d.Close()) }
	// `ecsd logs` reads this data directory's containers from the Engine.
	if err := writeRuntimeRecord(cfg.DataDir, runtimeRecord{Runtime: RuntimeDocker}); err != nil {
		cfg.Logger.Warn("runtime: cannot record the runtime for `ecsd logs`", "err", err)
	}
	return rt, nil
}

// openFake opens the simulated runtime. It keeps its containers beside
// the store, so they outlive ecsd as a Docker daemon's would. fallback is
// why auto chose it ("" when asked for).
func openFake(cfg Config, fallback string, hub *notify.Hub) (*runtime, error) {
	dir := ""
	if cfg.DataDir != "" {
		dir = filepath.Join(cfg.DataDir, "simulated")
	}
	sim, err := fakedriver.New(fakedriver.Config{Dir: dir})
	if err != nil {
		return nil, err
	}
	if fallback != "" {
		cfg.Logger.Info("runtime: no Docker Engine answers; tasks run on the simulated runtime", "runtime", RuntimeFake, "reason", fallback)
	} else {
		cfg.Logger.Info("runtime: tasks run on the simulated runtime", "runtime", RuntimeFake)
	}
	return &runtime{name: RuntimeFake, driver: sim, hub: hub, nextChange: sim.NextChange, close: func() error { return nil }}, nil
}

// dockerHost describes the Docker host as the container instance EC2
// tasks run on: the Engine's CPUs (1024 units each) and memory, and the
// ports taken on this machine besides those the ECS agent reserves.
func dockerHost(ctx context.Context, d *dockerdriver.Driver) (*control.HostInstance, error) {
	h, err := d.Host(ctx)
	if err != nil {
		return nil, err
	}
	arch := h.Architecture
	switch arch {
	case "aarch64", "arm64":
		arch = "arm64"
	case "amd64":
		arch = "x86_64"
	}
	ports := slices.Clone(control.AgentReservedPorts)
	var udp []int
	if h.Local {
		tcp, u := hostPorts()
		for _, p := range tcp {
			if !slices.Contains(ports, p) {
				ports = append(ports, p)
			}
		}
		udp = u
	}
	return &control.HostInstance{
		EngineID: h.ID, Architecture: arch, OSType: h.OSType,
		CPU: h.NCPU * 1024, Memory: int(h.MemTotal >> 20),
		Ports: ports, PortsUDP: udp, DockerVersion: h.ServerVersion,
	}, nil
}

// keepStopped is the task supervisor's KeepStopped for a config: the
// bound applies to the Docker runtime (the simulated one keeps no
// containers); 0 takes the default, negative keeps none.
func (rt *runtime) keepStopped(cfg Config) int {
	switch {
	case rt.docker == nil:
		return 0
	case cfg.KeepStoppedContainers == 0:
		return DefaultKeepStoppedContainers
	case cfg.KeepStoppedContainers < 0:
		return -1
	}
	return cfg.KeepStoppedContainers
}

// DefaultKeepStoppedContainers is how many stopped tasks keep their
// containers on the Docker runtime by default. The ECS agent removes a
// stopped task's containers after ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION
// (3 hours); ecsd removes them sooner, once more than this many stopped
// tasks have containers, keeping their output for `ecsd logs`.
const DefaultKeepStoppedContainers = 50

func strPtr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
