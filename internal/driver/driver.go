// Package driver is the interface between ecsd and a container runtime:
// the simulated runtime (fakedriver), Docker, later Kubernetes. Drivers
// know groups of containers started together, not ECS: no task ARNs, no
// lifecycle states, no stop codes. The task supervisor (internal/worker)
// turns an ECS task into a GroupSpec and the runtime's GroupState back
// into ECS statuses.
//
// It must never import ecs, the store, the protocol or the use-cases.
package driver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"
)

// StatsReader is implemented by runtimes that measure their containers.
type StatsReader interface {
	// Stats returns the runtime's resource-usage document for a running
	// container of a group (Docker: the Engine's stats JSON, with the
	// previous CPU sample filled in). A container that is not running is
	// ErrNotFound.
	Stats(ctx context.Context, id, container string) (json.RawMessage, error)
}

// LogReader is implemented by runtimes whose containers write output
// (Docker, Kubernetes; the simulated runtime for scripted lines). It is the
// one seam through which ecsd reads container output: `ecsd logs`, the
// CloudWatch Logs API for awslogs containers and the metadata gateway
// never talk to a runtime's own API for it.
type LogReader interface {
	// Logs calls fn with each line a container of a group wrote, oldest
	// first, from opts.Since on. With opts.Follow it goes on until the
	// container has exited and its output is drained, or ctx ends (then
	// it returns nil). A group or container the runtime does not know is
	// ErrNotFound; fn's error stops the read and is returned.
	Logs(ctx context.Context, id, container string, opts LogOptions, fn func(LogLine) error) error
}

// LogOptions selects the output Logs returns.
type LogOptions struct {
	Follow bool
	// Since, when set, skips lines written before it.
	Since time.Time
	// Tail, when positive, starts at the last Tail lines.
	Tail int
}

// LogLine is one line of a container's output, without its newline.
type LogLine struct {
	// Time is when the runtime received the line.
	Time time.Time
	// Stream is "stdout" or "stderr".
	Stream string
	Text   string
}

// ErrNotFound is returned (possibly wrapped) for a group the runtime does
// not know.
var ErrNotFound = errors.New("container group not found")

// ErrRefused is returned (wrapped, with the runtime's words after it) by
// Start when the runtime refuses the group for good as it stands: a quota
// it would exceed, a permission ecsd lacks, a spec it rejects. The task
// supervisor then stops the task as failed to start with those words as
// the reason, where an unreachable runtime is retried.
var ErrRefused = errors.New("the runtime refused the group")

// ErrNotRunning is returned (possibly wrapped) by Exec for a container the
// runtime knows but that is not running: not started yet, or exited.
var ErrNotRunning = errors.New("container not running")

// Execer is implemented by runtimes that can start a process inside a
// running container (Docker; Kubernetes). It is the one seam through which
// ECS Exec (ExecuteCommand) reaches containers: the session protocol lives
// above it and never talks to a runtime's own API. The simulated runtime
// has no processes and does not implement it.
type Execer interface {
	// Exec starts opts.Command in the running container named container
	// of group id and returns once the process runs. A group or container
	// the runtime does not know is ErrNotFound; one that is not running is
	// ErrNotRunning. ctx bounds the start only, not the process.
	Exec(ctx context.Context, id, container string, opts ExecOptions) (ExecProcess, error)
}

// ExecOptions says what Exec runs and how.
type ExecOptions struct {
	// Command is the program and its arguments; never run through a
	// shell.
	Command []string
	// User runs the process ("" is the container's user).
	User string
	// Env is added to the container's environment, replacing what it
	// sets; DefaultEnv is added only where the container sets nothing.
	Env        []EnvVar
	DefaultEnv []EnvVar
	// TTY gives the process a terminal of Size: its output is the
	// terminal's, and input goes through the terminal's line discipline.
	TTY  bool
	Size TerminalSize
}

// TerminalSize is a terminal's size in character cells.
type TerminalSize struct{ Cols, Rows uint }

// ExecProcess is a process Exec started.
type ExecProcess interface {
	// Read returns the process's output (with TTY the terminal's, without
	// it stdout and stderr interleaved) and io.EOF once the process has
	// exited and its output is drained.
	io.Reader
	// Write sends the process input.
	io.Writer
	// CloseWrite ends the input: the process reads end of file (without
	// TTY; a terminal has no end of input, a process reading one exits on
	// ^D or a hang-up).
	CloseWrite() error
	// Resize changes the terminal's size (TTY only; otherwise a no-op).
	Resize(ctx context.Context, size TerminalSize) error
	// Wait waits for the process to exit and returns its exit code.
	Wait(ctx context.Context) (int, error)
	// Close hangs up: a process still running is ended (as a terminal
	// hang-up would, then killed), and the streams are released. It is
	// safe to call more than once and after the process exited.
	Close() error
}

// Host is a machine of a runtime with several (a Kubernetes node), as
// the placement engine sees it: a container instance.
type Host struct {
	// Name is the runtime's name for it (GroupSpec.Host).
	Name string
	// Ready says the host runs groups now (the node's Ready condition);
	// a host that is not is an instance whose agent disconnected.
	Ready bool
	// Unschedulable says the host takes no new groups (cordoned), and
	// Draining that this driver cordoned it through SetDraining.
	Unschedulable, Draining bool
	// CPU (units, 1024 a core) and MemoryMiB are what groups may use
	// (the node's allocatable resources).
	CPU, MemoryMiB int
	// Architecture and OS as the runtime names them ("amd64", "linux").
	Architecture, OS string
	// Zone and InstanceType, when the runtime knows them.
	Zone, InstanceType string
	// Address is the host's internal address, when it has one.
	Address string
	// Version is the host agent's version (the kubelet's).
	Version string
	// Labels are the host's labels as the runtime keeps them.
	Labels map[string]string
}

// HostLister is implemented by runtimes whose groups run on several hosts
// that come and go (Kubernetes nodes). ecsd registers each host as a
// container instance, places EC2 tasks on one (GroupSpec.Host), and
// drains an instance by cordoning its host.
type HostLister interface {
	// Hosts reports the hosts now, sorted by name, from a watch (never a
	// request per call).
	Hosts() []Host
	// SetDraining cordons a host (draining) so that no new groups land on
	// it, or lifts a cordon this driver set. A cordon set by someone else
	// is left alone. An unknown host is ErrNotFound.
	SetDraining(ctx context.Context, name string, draining bool) error
}

// Driver runs groups of containers. Every method is safe for concurrent
// use. Calls are idempotent where the name says so, because the
// supervisor is level-triggered and repeats itself after a crash.
type Driver interface {
	// Start creates and starts a group. It is idempotent by spec.ID: a
	// second Start of a known group changes nothing and returns nil. It
	// returns once the runtime has accepted the group; containers are
	// pulled, created and started in the background (dependsOn order), and
	// failures to start show up in Inspect as containers that exited
	// without starting (Reason set), not as an error here. An error means
	// the runtime itself could not be reached or refused the spec.
	Start(ctx context.Context, spec GroupSpec) error
	// Stop asks every container of the group to stop: SIGTERM (or the
	// image's stop signal), then SIGKILL once the container's stop timeout
	// has passed. timeout applies to containers whose spec has no
	// StopTimeout. Stop returns once the request is recorded; Inspect
	// shows when the containers have exited. Stopping a stopping or
	// stopped group is a no-op.
	Stop(ctx context.Context, id string, timeout time.Duration) error
	// Inspect reports the group's containers now.
	Inspect(ctx context.Context, id string) (GroupState, error)
	// List reports every group whose labels include all of labels.
	List(ctx context.Context, labels map[string]string) ([]GroupState, error)
	// Remove deletes a group and everything the runtime keeps for it,
	// killing containers still running. A missing group is ErrNotFound.
	Remove(ctx context.Context, id string) error
}

// Network modes, as ECS names them.
const (
	NetworkAwsvpc = "awsvpc"
	NetworkBridge = "bridge"
	NetworkHost   = "host"
	NetworkNone   = "none"
)

// GroupSpec is a group of containers that start, share a network and stop
// together.
type GroupSpec struct {
	// ID names the group; it is the idempotency key of Start. Letters,
	// digits, '-', '_' and '.' only.
	ID string
	// Labels are attached to the group (and, in Docker, to each
	// container) so List can find groups after a restart.
	Labels map[string]string
	// NetworkMode is one of the Network* constants; "" is bridge.
	NetworkMode string
	// Host is the runtime host the group must run on (a Kubernetes
	// node's name), as the placement engine chose it among the runtime's
	// Hosts; "" lets the runtime choose (Fargate tasks, single-host
	// runtimes).
	Host string `json:",omitempty"`
	// Volumes are what the containers' MountPoints name.
	Volumes    []Volume
	Containers []ContainerSpec
	// TaskCPU (CPU units, 1024 a vCPU) and TaskMemoryMiB are the task's
	// own cpu and memory (the revision's or an override's), hard limits
	// for the whole group; 0 is none set (not the containers' sum).
	TaskCPU       int `json:",omitempty"`
	TaskMemoryMiB int `json:",omitempty"`
}

// Volume kinds.
const (
	// VolumeBind is a host directory (ECS: host.sourcePath), created if
	// missing.
	VolumeBind = "bind"
	// VolumeTask is a volume that lives and dies with the group (ECS: a
	// volume without a host path, or a Docker volume of scope "task").
	VolumeTask = "task"
	// VolumeShared is a named runtime volume that outlives the group (ECS:
	// a Docker volume of scope "shared").
	VolumeShared = "shared"
)

// Volume is storage the containers of a group can mount.
type Volume struct {
	Name string
	Kind string // one of the Volume* constants
	// HostPath is the host directory of a VolumeBind.
	HostPath string `json:",omitempty"`
	// Autoprovision creates a missing VolumeShared; otherwise a missing
	// one fails the containers that mount it.
	Autoprovision bool `json:",omitempty"`
	// Driver, DriverOpts and Labels configure a volume the runtime
	// creates; "" is the runtime's local driver.
	Driver     string            `json:",omitempty"`
	DriverOpts map[string]string `json:",omitempty"`
	Labels     map[string]string `json:",omitempty"`
}

// MountPoint mounts a volume of the group into a container.
type MountPoint struct {
	Volume        string
	ContainerPath string
	ReadOnly      bool `json:",omitempty"`
}

// VolumeFrom mounts every volume of another container of the group; that
// container must have been created first.
type VolumeFrom struct {
	Container string
	ReadOnly  bool `json:",omitempty"`
}

// Ulimit is a resource limit (RLIMIT_*) named as Docker names it
// ("nofile", "nproc", ...).
type Ulimit struct {
	Name       string
	Soft, Hard int64
}

// Tmpfs is a tmpfs mount.
type Tmpfs struct {
	ContainerPath string
	SizeMiB       int
	MountOptions  []string `json:",omitempty"`
}

// Device exposes a host device.
type Device struct {
	HostPath      string
	ContainerPath string `json:",omitempty"`
	// Permissions are "read", "write" and "mknod"; none is all three.
	Permissions []string `json:",omitempty"`
}

// HostEntry is a line added to the container's /etc/hosts.
type HostEntry struct{ Hostname, IP string }

// LogConfig is the runtime's log driver for a container.
type LogConfig struct {
	Driver  string
	Options map[string]string `json:",omitempty"`
}

// ContainerSpec is one container of a group.
type ContainerSpec struct {
	Name      string
	Image     string
	Essential bool
	// Command and EntryPoint override the image's; nil keeps them.
	Command    []string
	EntryPoint []string
	// Env is the container's environment, in order (later entries win).
	Env              []EnvVar
	Labels           map[string]string
	WorkingDirectory string
	User             string
	PortMappings     []PortMapping
	HealthCheck      *HealthCheck
	DependsOn        []Dependency
	// StopTimeout is how long the container has to exit after SIGTERM
	// before it is killed; 0 uses Stop's timeout.
	StopTimeout time.Duration
	// StartTimeout is how long to wait for dependencies before giving up;
	// 0 waits for ever.
	StartTimeout time.Duration
	// CPU is in CPU units (1024 = one vCPU); 0 is unlimited.
	CPU int
	// MemoryMiB is the hard limit and MemoryReservationMiB the soft
	// limit; 0 is none.
	MemoryMiB            int
	MemoryReservationMiB int
	Privileged           bool
	ReadonlyRootFS       bool
	Interactive          bool
	PseudoTerminal       bool

	// What follows is applied by runtimes that run processes (Docker); the
	// simulated runtime keeps it and ignores it.

	// EnvFiles are absolute paths (or file:// URLs) of env files read when
	// the container is created: VARIABLE=VALUE lines, '#' comments. Env
	// wins over them; among them the first file that sets a variable wins.
	EnvFiles    []string     `json:",omitempty"`
	MountPoints []MountPoint `json:",omitempty"`
	VolumesFrom []VolumeFrom `json:",omitempty"`
	Ulimits     []Ulimit     `json:",omitempty"`
	// InitProcess runs an init process as PID 1 that reaps zombies and
	// forwards signals.
	InitProcess     bool        `json:",omitempty"`
	CapAdd          []string    `json:",omitempty"`
	CapDrop         []string    `json:",omitempty"`
	SharedMemoryMiB int         `json:",omitempty"`
	Tmpfs           []Tmpfs     `json:",omitempty"`
	Devices         []Device    `json:",omitempty"`
	MaxSwapMiB      *int        `json:",omitempty"` // nil: the runtime's default; 0: no swap
	Swappiness      *int        `json:",omitempty"`
	ExtraHosts      []HostEntry `json:",omitempty"`
	DNSServers      []string    `json:",omitempty"`
	DNSSearch       []string    `json:",omitempty"`
	Hostname        string      `json:",omitempty"`
	// Sysctls are namespaced kernel parameters (ECS: systemControls).
	Sysctls           map[string]string `json:",omitempty"`
	SecurityOptions   []string          `json:",omitempty"`
	DisableNetworking bool              `json:",omitempty"`
	// Log is the container's log driver; nil is the runtime's default
	// that keeps output readable (Docker: json-file).
	Log *LogConfig `json:",omitempty"`
}

// EnvVar is one environment variable.
type EnvVar struct{ Name, Value string }

// PortMapping publishes a container port. HostPort 0 in bridge mode asks
// for an ephemeral host port.
type PortMapping struct {
	ContainerPort int
	HostPort      int
	Protocol      string // "tcp" or "udp"
	// Dynamic says HostPort was chosen by ecsd from the instance's
	// ephemeral range rather than asked for by the task: a runtime that
	// finds it taken on its host (by something outside ecsd) may publish
	// the container port elsewhere, as the ECS agent checks a port it
	// picked before passing it to Docker and picks another when it is in
	// use.
	Dynamic bool
}

// HealthCheck is a container health check, as Docker runs it.
type HealthCheck struct {
	Command     []string
	Interval    time.Duration
	Timeout     time.Duration
	StartPeriod time.Duration
	Retries     int
}

// Dependency conditions, as ECS names them.
const (
	ConditionStart    = "START"
	ConditionComplete = "COMPLETE"
	ConditionSuccess  = "SUCCESS"
	ConditionHealthy  = "HEALTHY"
)

// Dependency makes a container wait for another of its group.
type Dependency struct {
	Container string
	Condition string // one of the Condition* constants
}

// Status is a container's runtime status.
type Status string

const (
	// StatusCreated: created (or being pulled and created), not started.
	StatusCreated Status = "created"
	// StatusRunning: started and not exited.
	StatusRunning Status = "running"
	// StatusExited: exited, or gave up starting (StartedAt zero).
	StatusExited Status = "exited"
)

// Health is a container's health-check status.
type Health string

const (
	HealthUnknown   Health = "UNKNOWN"
	HealthHealthy   Health = "HEALTHY"
	HealthUnhealthy Health = "UNHEALTHY"
)

// GroupState is what the runtime reports about a group.
type GroupState struct {
	ID     string
	Labels map[string]string
	// CreatedAt is when the runtime accepted the group.
	CreatedAt time.Time
	// StopRequestedAt is when Stop was first called; zero if never.
	StopRequestedAt time.Time
	// Host is the runtime host the group runs on, on runtimes with
	// several (HostLister); "" before it is placed.
	Host       string
	Containers []ContainerState
}

// ContainerState is one container's state.
type ContainerState struct {
	Name   string
	Status Status
	// ExitCode is set once a container that started has exited.
	ExitCode *int
	// Reason says why a container exited or could not start, in ECS's
	// words where ECS has them ("CannotPullContainerError: ...",
	// "OutOfMemoryError: Container killed due to memory usage").
	Reason string
	// Health is UNKNOWN for containers without a health check.
	Health    Health
	RuntimeID string
	// RuntimeName is the runtime's name for the container (Docker's
	// container name), if it has one.
	RuntimeName string
	ImageDigest string
	// CreatedAt is when the runtime created the container; zero before.
	CreatedAt time.Time
	// PulledAt is when the image was available (pull finished).
	PulledAt   time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	// PrivateIP is the container's address on its network, if any.
	PrivateIP       string
	NetworkBindings []NetworkBinding
}

// NetworkBinding is a published port.
type NetworkBinding struct {
	BindIP        string
	ContainerPort int
	HostPort      int
	Protocol      string
}

// FailedToStart reports whether a container gave up starting: it exited
// without ever running and says why.
func (c ContainerState) FailedToStart() bool {
	return c.Status == StatusExited && c.StartedAt.IsZero() && c.Reason != ""
}

// Running reports whether any container of the group is created or
// running.
func (g GroupState) Running() bool {
	for _, c := range g.Containers {
		if c.Status != StatusExited {
			return true
		}
	}
	return false
}
