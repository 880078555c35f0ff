package ecs

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Task lifecycle states (lastStatus), in the order a task passes through
// them. Tasks without an elastic network interface (bridge, host and none
// network modes) skip PROVISIONING and DEPROVISIONING, which exist to
// provision and release the interface.
const (
	TaskProvisioning   = "PROVISIONING"
	TaskPending        = "PENDING"
	TaskActivating     = "ACTIVATING"
	TaskRunning        = "RUNNING"
	TaskDeactivating   = "DEACTIVATING"
	TaskStopping       = "STOPPING"
	TaskDeprovisioning = "DEPROVISIONING"
	TaskStopped        = "STOPPED"
)

// Container lastStatus values.
const (
	ContainerPending = "PENDING"
	ContainerRunning = "RUNNING"
	ContainerStopped = "STOPPED"
)

// Managed agent statuses: the ExecuteCommandAgent of a task with
// enableExecuteCommand is PENDING until its container runs, RUNNING while
// it does (lastStartedAt is when it started) and STOPPED after.
const (
	ManagedAgentPending = "PENDING"
	ManagedAgentRunning = "RUNNING"
	ManagedAgentStopped = "STOPPED"
)

// Stopped reasons ECS writes; see docs/compat.md for sources.
const (
	ReasonEssentialContainerExited = "Essential container in task exited"
	ReasonUserStopped              = "Task stopped by user"
)

// Attachment values of the simulated elastic network interface.
const (
	AttachmentTypeENI        = "ElasticNetworkInterface"
	AttachmentPrecreated     = "PRECREATED"
	AttachmentAttached       = "ATTACHED"
	AttachmentDeleted        = "DELETED"
	DefaultFargatePlatform   = "1.4.0"
	defaultEphemeralStorage  = 20
	defaultFargatePlatformOS = "Linux"
)

// TaskParams is everything a new task is made of. RunTask, StartTask and
// the service scheduler fill it.
type TaskParams struct {
	Region, Account, Cluster string
	// TaskDefinition is the materialized revision, with its ARN.
	TaskDefinition       types.TaskDefinition
	Overrides            *types.TaskOverride
	StartedBy, Group     string
	LaunchType           types.LaunchType
	CapacityProviderName string
	NetworkConfiguration *types.NetworkConfiguration
	Tags                 []types.Tag
	EnableExecuteCommand bool
	PlatformVersion      string
	Now                  time.Time
}

// NewTask returns a new task as RunTask answers it: desiredStatus RUNNING,
// lastStatus PROVISIONING for awsvpc tasks (their network interface is
// still to be provisioned) and PENDING otherwise, version 1, every
// container PENDING. The caller has validated the request; NewTask checks
// only what it must to build the task (overrides name real containers).
func NewTask(p TaskParams) (types.Task, error) {
	td := p.TaskDefinition
	if td.TaskDefinitionArn == nil || td.Family == nil {
		return types.Task{}, errors.New("ecs.NewTask: task definition has no ARN or family")
	}
	overrides, err := taskOverrides(td, p.Overrides)
	if err != nil {
		return types.Task{}, err
	}
	id := NewTaskID()
	taskARN := TaskARN(p.Region, p.Account, p.Cluster, id)
	now := p.Now.UTC()

	byName := map[string]types.ContainerOverride{}
	for _, o := range overrides.ContainerOverrides {
		byName[*o.Name] = o
	}
	containers := make([]types.Container, 0, len(td.ContainerDefinitions))
	var sumCPU, sumMem int64
	for _, cd := range td.ContainerDefinitions {
		o := byName[*cd.Name]
		cpu := int64(cd.Cpu)
		if o.Cpu != nil {
			cpu = int64(*o.Cpu)
		}
		mem, res := cd.Memory, cd.MemoryReservation
		if o.Memory != nil {
			mem = o.Memory
		}
		if o.MemoryReservation != nil {
			res = o.MemoryReservation
		}
		c := types.Container{
			ContainerArn:      ptr(ContainerARN(p.Region, p.Account, p.Cluster, id, NewUUID())),
			TaskArn:           ptr(taskARN),
			Name:              cd.Name,
			Image:             cd.Image,
			LastStatus:        ptr(ContainerPending),
			NetworkInterfaces: []types.NetworkInterface{},
			Cpu:               ptr(strconv.FormatInt(cpu, 10)),
		}
		if p.EnableExecuteCommand {
			c.ManagedAgents = []types.ManagedAgent{{Name: types.ManagedAgentNameExecuteCommandAgent, LastStatus: ptr(ManagedAgentPending)}}
		}
		if mem != nil {
			c.Memory = ptr(strconv.Itoa(int(*mem)))
		}
		if res != nil {
			c.MemoryReservation = ptr(strconv.Itoa(int(*res)))
		}
		sumCPU += cpu
		switch {
		case mem != nil:
			sumMem += int64(*mem)
		case res != nil:
			sumMem += int64(*res)
		}
		containers = append(containers, c)
	}

	// A task's cpu and memory are the task-level values (overridden or
	// from the revision); without them, the sums of its containers'.
	cpu, mem := td.Cpu, td.Memory
	if overrides.Cpu != nil {
		cpu = overrides.Cpu
	}
	if overrides.Memory != nil {
		mem = overrides.Memory
	}
	if cpu == nil {
		cpu = ptr(strconv.FormatInt(sumCPU, 10))
	}
	if mem == nil {
		mem = ptr(strconv.FormatInt(sumMem, 10))
	}

	group := p.Group
	if group == "" {
		group = "family:" + *td.Family
	}
	tags := p.Tags
	if tags == nil {
		tags = []types.Tag{}
	}
	t := types.Task{
		TaskArn:              ptr(taskARN),
		ClusterArn:           ptr(ClusterARN(p.Region, p.Account, p.Cluster)),
		TaskDefinitionArn:    td.TaskDefinitionArn,
		Overrides:            overrides,
		LastStatus:           ptr(TaskPending),
		DesiredStatus:        ptr(TaskRunning),
		Cpu:                  cpu,
		Memory:               mem,
		Containers:           containers,
		Version:              1,
		CreatedAt:            &now,
		Group:                ptr(group),
		LaunchType:           p.LaunchType,
		EnableExecuteCommand: p.EnableExecuteCommand,
		Tags:                 tags,
		Attachments:          []types.Attachment{},
	}
	if p.StartedBy != "" {
		t.StartedBy = ptr(p.StartedBy)
	}
	if p.CapacityProviderName != "" {
		t.CapacityProviderName = ptr(p.CapacityProviderName)
	}
	if td.EphemeralStorage != nil {
		t.EphemeralStorage = td.EphemeralStorage
	}
	if p.LaunchType == types.LaunchTypeFargate {
		pv := p.PlatformVersion
		if pv == "" || pv == "LATEST" {
			pv = DefaultFargatePlatform
		}
		t.PlatformVersion = ptr(pv)
		t.PlatformFamily = ptr(platformFamily(td))
		size := int32(defaultEphemeralStorage)
		if td.EphemeralStorage != nil && td.EphemeralStorage.SizeInGiB > size {
			size = td.EphemeralStorage.SizeInGiB
		}
		if overrides.EphemeralStorage != nil && overrides.EphemeralStorage.SizeInGiB > size {
			size = overrides.EphemeralStorage.SizeInGiB
		}
		t.EphemeralStorage = &types.EphemeralStorage{SizeInGiB: size}
		t.FargateEphemeralStorage = &types.TaskEphemeralStorage{SizeInGiB: size}
	}

	// The availability zone follows the subnet the task is placed in.
	// ecsd knows no VPCs, so zone and subnet are chosen from the task ID.
	zone := 0
	if td.NetworkMode == types.NetworkModeAwsvpc {
		t.LastStatus = ptr(TaskProvisioning)
		var subnets []string
		if p.NetworkConfiguration != nil && p.NetworkConfiguration.AwsvpcConfiguration != nil {
			subnets = p.NetworkConfiguration.AwsvpcConfiguration.Subnets
		}
		details := []types.KeyValuePair{}
		if len(subnets) > 0 {
			i := int(idHash(id, "subnet")[0]) % len(subnets)
			zone = i
			details = append(details, types.KeyValuePair{Name: ptr("subnetId"), Value: ptr(subnets[i])})
		}
		t.Attachments = []types.Attachment{{
			Id:      ptr(NewUUID()),
			Type:    ptr(AttachmentTypeENI),
			Status:  ptr(AttachmentPrecreated),
			Details: details,
		}}
	}
	if p.Region != "" {
		t.AvailabilityZone = ptr(p.Region + string(rune('a'+zone%3)))
	}
	return t, nil
}

// taskOverrides returns the overrides a task reports: one container
// override for every container of the revision, in its order (the
// caller's override where one was given, else just the name), and an
// empty inferenceAcceleratorOverrides, as ECS echoes them.
func taskOverrides(td types.TaskDefinition, in *types.TaskOverride) (*types.TaskOverride, error) {
	out := &types.TaskOverride{InferenceAcceleratorOverrides: []types.InferenceAcceleratorOverride{}}
	given := map[string]types.ContainerOverride{}
	if in != nil {
		out.Cpu, out.Memory = in.Cpu, in.Memory
		out.ExecutionRoleArn, out.TaskRoleArn = in.ExecutionRoleArn, in.TaskRoleArn
		out.EphemeralStorage = in.EphemeralStorage
		if in.InferenceAcceleratorOverrides != nil {
			out.InferenceAcceleratorOverrides = in.InferenceAcceleratorOverrides
		}
		known := map[string]bool{}
		for _, cd := range td.ContainerDefinitions {
			known[deref(cd.Name)] = true
		}
		for _, o := range in.ContainerOverrides {
			name := deref(o.Name)
			if !known[name] {
				return nil, InvalidParameterException("Override for container named %s is not a container in the TaskDefinition.", name)
			}
			given[name] = o
		}
	}
	for _, cd := range td.ContainerDefinitions {
		o, ok := given[*cd.Name]
		if !ok {
			o = types.ContainerOverride{Name: cd.Name}
		}
		out.ContainerOverrides = append(out.ContainerOverrides, o)
	}
	return out, nil
}

func platformFamily(td types.TaskDefinition) string {
	if td.RuntimePlatform == nil || td.RuntimePlatform.OperatingSystemFamily == "" ||
		td.RuntimePlatform.OperatingSystemFamily == types.OSFamilyLinux {
		return defaultFargatePlatformOS
	}
	return string(td.RuntimePlatform.OperatingSystemFamily)
}

// RequestStop asks a task to stop: desiredStatus STOPPED with the stop
// code and reason, stoppingAt now. A task already asked to stop keeps its
// first code and reason, as in ECS.
func RequestStop(t types.Task, code types.TaskStopCode, reason string, now time.Time) types.Task {
	if requestStop(&t, code, reason, now) {
		t.Version++
	}
	return t
}

func requestStop(t *types.Task, code types.TaskStopCode, reason string, now time.Time) bool {
	if deref(t.DesiredStatus) == TaskStopped || deref(t.LastStatus) == TaskStopped {
		return false
	}
	t.DesiredStatus = ptr(TaskStopped)
	t.StopCode = code
	if reason != "" {
		t.StoppedReason = ptr(reason)
	}
	at := now.UTC()
	t.StoppingAt = &at
	return true
}

// TaskID returns the ID part of a task ARN (or the input when it is not
// an ARN).
func TaskID(taskARN string) string {
	return taskARN[strings.LastIndexByte(taskARN, '/')+1:]
}

// UsesENI reports whether tasks of a revision get an elastic network
// interface (awsvpc network mode).
func UsesENI(td types.TaskDefinition) bool { return td.NetworkMode == types.NetworkModeAwsvpc }

// idHash derives stable pseudo-random bytes from a task ID, so simulated
// network details are the same on every read and after a restart.
func idHash(id, what string) [32]byte { return sha256.Sum256([]byte(what + "/" + id)) }

// simulatedENI returns the simulated network interface of a task: its
// ID, MAC address and private IPv4 address in 10.0.0.0/16.
func simulatedENI(id string) (eni, mac, ip string) {
	h := idHash(id, "eni")
	eni = fmt.Sprintf("eni-%x", h[:9])[:21]
	mac = fmt.Sprintf("0a:%02x:%02x:%02x:%02x:%02x", h[9], h[10], h[11], h[12], h[13])
	ip = fmt.Sprintf("10.0.%d.%d", h[14], 1+int(h[15])%254)
	return eni, mac, ip
}

// privateDNSName is the EC2 private DNS name of an address: us-east-1
// uses ec2.internal, every other region REGION.compute.internal.
func privateDNSName(region, ip string) string {
	host := "ip-" + strings.ReplaceAll(ip, ".", "-")
	if region == "us-east-1" {
		return host + ".ec2.internal"
	}
	return host + "." + region + ".compute.internal"
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Observed container states, as the supervisor maps a runtime's report.
const (
	ObservedCreated = "CREATED" // pulled or pulling, not started
	ObservedRunning = "RUNNING"
	ObservedExited  = "EXITED" // exited, or gave up starting (StartedAt zero, Reason set)
)

// ObservedContainer is what the runtime reports about one container.
type ObservedContainer struct {
	Name            string
	State           string // one of the Observed* constants
	ExitCode        *int32
	Reason          string
	Health          types.HealthStatus
	RuntimeID       string
	ImageDigest     string
	PulledAt        time.Time
	StartedAt       time.Time
	FinishedAt      time.Time
	NetworkBindings []types.NetworkBinding
}

// failedToStart reports whether the container gave up starting.
func (c ObservedContainer) failedToStart() bool {
	return c.State == ObservedExited && c.StartedAt.IsZero() && c.Reason != ""
}

// Observation is what the runtime reports about a task's containers.
type Observation struct {
	// Present is false when the runtime has no containers for the task
	// (not started yet, or lost).
	Present    bool
	Containers []ObservedContainer
}

// StepInput is everything one lifecycle step depends on besides the task.
type StepInput struct {
	// Definition is the task's revision: which containers are essential
	// and which have health checks.
	Definition types.TaskDefinition
	Observed   Observation
	Now        time.Time
	// Due says the transition delay since the task's last change has
	// passed; lastStatus moves only when it has. Container states and
	// stop triggers are recorded at once.
	Due bool
}

// RuntimeWant is what the runtime should be doing for a task in its
// current state; the supervisor makes it so before the next step.
type RuntimeWant int

const (
	// WantNothing: no containers yet (PROVISIONING, PENDING), or done.
	WantNothing RuntimeWant = iota
	// WantRunning: the containers must have been started.
	WantRunning
	// WantStopped: the containers must have been asked to stop.
	WantStopped
)

// WantFor says what the runtime should be doing for a task.
func WantFor(t types.Task) RuntimeWant {
	switch deref(t.LastStatus) {
	case TaskActivating, TaskRunning, TaskDeactivating:
		return WantRunning
	case TaskStopping, TaskDeprovisioning, TaskStopped:
		return WantStopped
	}
	return WantNothing
}

// AdvanceTask is one step of a task's lifecycle: it records what the
// runtime reports about the containers, asks the task to stop when an
// essential container exited or a container failed to start, and, when
// the step is due, moves lastStatus one state on. It reports whether
// anything changed; every change increments the task's version. t is
// not modified.
//
// awsvpc tasks: PROVISIONING -> PENDING (interface attached) ->
// ACTIVATING (images pulled, containers started) -> RUNNING ->
// DEACTIVATING -> STOPPING (containers stopped) -> DEPROVISIONING
// (interface released) -> STOPPED. Other tasks skip PROVISIONING and
// DEPROVISIONING.
func AdvanceTask(t types.Task, in StepInput) (types.Task, bool) {
	last := deref(t.LastStatus)
	if last == TaskStopped {
		return t, false
	}
	now := in.Now.UTC()
	next := cloneTask(t)
	changed := false
	if in.Observed.Present {
		changed = syncContainers(&next, in.Observed, UsesENI(in.Definition)) || changed
		if h := taskHealth(next, in.Definition); h != next.HealthStatus {
			next.HealthStatus, changed = h, true
		}
	}

	// Stop triggers, recorded as soon as they are seen.
	if deref(next.DesiredStatus) == TaskRunning && (last == TaskActivating || last == TaskRunning) {
		if code, reason, ok := stopTrigger(next, in); ok {
			requestStop(&next, code, reason, now)
			changed = true
		}
	}

	if in.Due {
		if moved := transition(&next, in, now); moved {
			changed = true
		}
	}
	if !changed {
		return t, false
	}
	next.Version = t.Version + 1
	return next, true
}

// stopTrigger finds why a starting or running task must stop on its own.
func stopTrigger(t types.Task, in StepInput) (types.TaskStopCode, string, bool) {
	obs := in.Observed
	if !obs.Present {
		if deref(t.LastStatus) == TaskRunning {
			// The runtime lost the containers (removed behind ecsd's back).
			return types.TaskStopCodeEssentialContainerExited, ReasonEssentialContainerExited, true
		}
		return "", "", false
	}
	essential := essentials(in.Definition)
	for _, c := range obs.Containers {
		if c.failedToStart() {
			return types.TaskStopCodeTaskFailedToStart, c.Reason, true
		}
	}
	for _, c := range obs.Containers {
		if c.State == ObservedExited && essential[c.Name] {
			return types.TaskStopCodeEssentialContainerExited, ReasonEssentialContainerExited, true
		}
	}
	return "", "", false
}

// transition moves lastStatus one state on, if the task may move.
func transition(t *types.Task, in StepInput, now time.Time) bool {
	eni := UsesENI(in.Definition)
	stopping := deref(t.DesiredStatus) == TaskStopped
	switch deref(t.LastStatus) {
	case TaskProvisioning:
		if stopping {
			finish(t, now)
			return true
		}
		if AwaitingCapacity(*t) {
			return false // managed scaling places it once an instance can take it
		}
		if !eni {
			t.LastStatus = ptr(TaskPending)
			return true
		}
		attachENI(t, now)
		t.LastStatus = ptr(TaskPending)
	case TaskPending:
		if stopping {
			if eni {
				t.LastStatus = ptr(TaskDeprovisioning)
			} else {
				finish(t, now)
			}
			return true
		}
		if t.Connectivity == "" {
			t.Connectivity, t.ConnectivityAt = types.ConnectivityConnected, &now
		}
		t.PullStartedAt = &now
		t.LastStatus = ptr(TaskActivating)
	case TaskActivating:
		if stopping {
			t.LastStatus = ptr(TaskDeactivating)
			return true
		}
		if !in.Observed.Present || !allStarted(in.Observed) {
			return false
		}
		if t.PullStoppedAt == nil {
			t.PullStoppedAt = &now
		}
		t.StartedAt = &now
		t.LastStatus = ptr(TaskRunning)
	case TaskRunning:
		if !stopping {
			return false
		}
		t.LastStatus = ptr(TaskDeactivating)
	case TaskDeactivating:
		t.LastStatus = ptr(TaskStopping)
	case TaskStopping:
		if in.Observed.Present && anyAlive(in.Observed) {
			return false
		}
		at := latestFinish(in.Observed)
		if at.IsZero() {
			at = now
		}
		t.ExecutionStoppedAt = &at
		stopContainers(t)
		if eni {
			t.LastStatus = ptr(TaskDeprovisioning)
		} else {
			finish(t, now)
		}
	case TaskDeprovisioning:
		finish(t, now)
	default:
		return false
	}
	return true
}

// finish makes a task STOPPED: its interface released, every container
// STOPPED.
func finish(t *types.Task, now time.Time) {
	stopContainers(t)
	if t.ExecutionStoppedAt == nil {
		t.ExecutionStoppedAt = &now
	}
	if t.StoppingAt == nil {
		t.StoppingAt = &now
	}
	t.StoppedAt = &now
	for i, a := range t.Attachments {
		if deref(a.Type) == AttachmentTypeENI {
			a.Status = ptr(AttachmentDeleted)
			t.Attachments[i] = a
		}
	}
	t.LastStatus = ptr(TaskStopped)
}

func stopContainers(t *types.Task) {
	for i, c := range t.Containers {
		if deref(c.LastStatus) != ContainerStopped || agentsLag(c) {
			c.LastStatus = ptr(ContainerStopped)
			c.ManagedAgents = syncAgents(c.ManagedAgents, ContainerStopped, time.Time{})
			t.Containers[i] = c
		}
	}
}

// agentsLag reports whether a container's managed agents do not yet say
// what its status implies.
func agentsLag(c types.Container) bool {
	for _, a := range c.ManagedAgents {
		if deref(a.LastStatus) != agentStatus(deref(c.LastStatus), deref(a.LastStatus)) {
			return true
		}
	}
	return false
}

// agentStatus is a managed agent's status given its container's: the
// agent starts with the container and stops with it.
func agentStatus(container, agent string) string {
	switch container {
	case ContainerRunning:
		return ManagedAgentRunning
	case ContainerStopped:
		return ManagedAgentStopped
	}
	return agent
}

// syncAgents returns a container's managed agents updated for its status
// (a new slice when anything changes: the input may be shared with a
// task read from the store). startedAt is when a RUNNING container
// started.
func syncAgents(agents []types.ManagedAgent, container string, startedAt time.Time) []types.ManagedAgent {
	var out []types.ManagedAgent
	for i, a := range agents {
		want := agentStatus(container, deref(a.LastStatus))
		if want == deref(a.LastStatus) {
			continue
		}
		if out == nil {
			out = slices.Clone(agents)
		}
		a.LastStatus = ptr(want)
		if want == ManagedAgentRunning && !startedAt.IsZero() {
			at := startedAt.UTC()
			a.LastStartedAt = &at
		}
		out[i] = a
	}
	if out == nil {
		return agents
	}
	return out
}

// attachENI attaches the simulated network interface: the attachment
// gains the details ECS reports and every container its address.
func attachENI(t *types.Task, now time.Time) {
	if t.Connectivity == "" {
		t.Connectivity, t.ConnectivityAt = types.ConnectivityConnected, &now
	}
	id := TaskID(deref(t.TaskArn))
	eni, mac, ip := simulatedENI(id)
	region := arnRegion(deref(t.TaskArn))
	for i, a := range t.Attachments {
		if deref(a.Type) != AttachmentTypeENI {
			continue
		}
		details := []types.KeyValuePair{}
		for _, d := range a.Details {
			if deref(d.Name) == "subnetId" {
				details = append(details, d)
			}
		}
		details = append(details,
			types.KeyValuePair{Name: ptr("networkInterfaceId"), Value: ptr(eni)},
			types.KeyValuePair{Name: ptr("macAddress"), Value: ptr(mac)},
			types.KeyValuePair{Name: ptr("privateDnsName"), Value: ptr(privateDNSName(region, ip))},
			types.KeyValuePair{Name: ptr("privateIPv4Address"), Value: ptr(ip)},
		)
		a.Details, a.Status = details, ptr(AttachmentAttached)
		t.Attachments[i] = a
		for j, c := range t.Containers {
			c.NetworkInterfaces = []types.NetworkInterface{{AttachmentId: a.Id, PrivateIpv4Address: ptr(ip)}}
			t.Containers[j] = c
		}
	}
}

// syncContainers copies the runtime's report into the task's containers
// and reports whether anything changed.
func syncContainers(t *types.Task, obs Observation, eni bool) bool {
	byName := map[string]ObservedContainer{}
	for _, c := range obs.Containers {
		byName[c.Name] = c
	}
	changed := false
	for i, c := range t.Containers {
		o, ok := byName[deref(c.Name)]
		if !ok {
			continue
		}
		before := fmt.Sprintf("%v|%v|%v|%v|%v|%v|%v|%v", deref(c.LastStatus), derefInt(c.ExitCode), deref(c.Reason),
			c.HealthStatus, deref(c.RuntimeId), deref(c.ImageDigest), bindingsKey(c.NetworkBindings), agentsKey(c.ManagedAgents))
		switch o.State {
		case ObservedCreated:
			c.LastStatus = ptr(ContainerPending)
		case ObservedRunning:
			c.LastStatus = ptr(ContainerRunning)
		case ObservedExited:
			c.LastStatus = ptr(ContainerStopped)
		}
		if !o.StartedAt.IsZero() {
			c.RuntimeId = ptr(o.RuntimeID)
			c.HealthStatus = o.Health
			if o.Health == "" {
				c.HealthStatus = types.HealthStatusUnknown
			}
			if eni {
				c.NetworkBindings = []types.NetworkBinding{}
			} else if o.NetworkBindings != nil {
				c.NetworkBindings = o.NetworkBindings
			} else {
				c.NetworkBindings = []types.NetworkBinding{}
			}
		}
		if o.ImageDigest != "" && !o.PulledAt.IsZero() {
			c.ImageDigest = ptr(o.ImageDigest)
		}
		if o.ExitCode != nil {
			c.ExitCode = ptr(*o.ExitCode)
		}
		if o.Reason != "" {
			c.Reason = ptr(o.Reason)
		}
		c.ManagedAgents = syncAgents(c.ManagedAgents, deref(c.LastStatus), o.StartedAt)
		after := fmt.Sprintf("%v|%v|%v|%v|%v|%v|%v|%v", deref(c.LastStatus), derefInt(c.ExitCode), deref(c.Reason),
			c.HealthStatus, deref(c.RuntimeId), deref(c.ImageDigest), bindingsKey(c.NetworkBindings), agentsKey(c.ManagedAgents))
		if before != after {
			t.Containers[i] = c
			changed = true
		}
	}
	return changed
}

func agentsKey(as []types.ManagedAgent) string {
	var b strings.Builder
	for _, a := range as {
		fmt.Fprintf(&b, "%s:%s;", a.Name, deref(a.LastStatus))
	}
	return b.String()
}

func bindingsKey(bs []types.NetworkBinding) string {
	var b strings.Builder
	if bs == nil {
		return "nil"
	}
	for _, x := range bs {
		fmt.Fprintf(&b, "%s:%s:%s:%s;", deref(x.BindIP), derefInt(x.ContainerPort), derefInt(x.HostPort), x.Protocol)
	}
	return b.String()
}

// taskHealth is ECS's rule: HEALTHY when every essential container is
// HEALTHY, UNHEALTHY when any is UNHEALTHY, else UNKNOWN. Containers
// without a health check are UNKNOWN.
func taskHealth(t types.Task, td types.TaskDefinition) types.HealthStatus {
	essential := essentials(td)
	out := types.HealthStatusHealthy
	seen := false
	for _, c := range t.Containers {
		if !essential[deref(c.Name)] {
			continue
		}
		seen = true
		switch c.HealthStatus {
		case types.HealthStatusUnhealthy:
			return types.HealthStatusUnhealthy
		case types.HealthStatusHealthy:
		default:
			out = types.HealthStatusUnknown
		}
	}
	if !seen {
		return types.HealthStatusUnknown
	}
	return out
}

func essentials(td types.TaskDefinition) map[string]bool {
	out := map[string]bool{}
	for _, cd := range td.ContainerDefinitions {
		out[deref(cd.Name)] = cd.Essential == nil || *cd.Essential
	}
	return out
}

// allStarted: every container is running or has run (a container still
// waiting for its dependencies keeps the task ACTIVATING).
func allStarted(obs Observation) bool {
	for _, c := range obs.Containers {
		if c.State == ObservedCreated || c.StartedAt.IsZero() {
			return false
		}
	}
	return true
}

func anyAlive(obs Observation) bool {
	for _, c := range obs.Containers {
		if c.State != ObservedExited {
			return true
		}
	}
	return false
}

func latestFinish(obs Observation) time.Time {
	var at time.Time
	for _, c := range obs.Containers {
		if c.FinishedAt.After(at) {
			at = c.FinishedAt.UTC()
		}
	}
	return at
}

// cloneTask copies the parts of a task a step changes, so the input is
// never modified.
func cloneTask(t types.Task) types.Task {
	t.Containers = slices.Clone(t.Containers)
	t.Attachments = slices.Clone(t.Attachments)
	return t
}

func arnRegion(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 4 {
		return ""
	}
	return parts[3]
}

func derefInt[T int32 | int64 | int](p *T) string {
	if p == nil {
		return "nil"
	}
	return strconv.FormatInt(int64(*p), 10)
}

// AwaitingCapacity reports a task a capacity provider launched that waits
// in PROVISIONING for an instance of the provider's Auto Scaling group:
// "tasks that cannot be placed ... wait in the PROVISIONING state until
// capacity is available" (developer guide, managed scaling). It has no
// container instance yet.
func AwaitingCapacity(t types.Task) bool {
	return deref(t.LastStatus) == TaskProvisioning && t.LaunchType == types.LaunchTypeEc2 &&
		deref(t.CapacityProviderName) != "" && t.ContainerInstanceArn == nil
}
