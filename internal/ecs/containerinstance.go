package ecs

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Container instance statuses as ECS reports them. ListContainerInstances
// filters by the first five (the model's ContainerInstanceStatus); a
// deregistered instance is INACTIVE.
const (
	InstanceActive             = "ACTIVE"
	InstanceDraining           = "DRAINING"
	InstanceRegistering        = "REGISTERING"
	InstanceDeregistering      = "DEREGISTERING"
	InstanceRegistrationFailed = "REGISTRATION_FAILED"
	InstanceInactive           = "INACTIVE"
)

// Resource names of registeredResources and remainingResources, and their
// types: CPU and MEMORY are INTEGER, the others STRINGSET (ports and GPU
// IDs), as the ECS agent registers them.
const (
	ResourceCPU      = "CPU"
	ResourceMemory   = "MEMORY"
	ResourcePorts    = "PORTS"
	ResourcePortsUDP = "PORTS_UDP"
	ResourceGPU      = "GPU"

	ResourceTypeInteger   = "INTEGER"
	ResourceTypeStringSet = "STRINGSET"
)

// Failure reasons of RunTask and StartTask (developer guide, "API failure
// reasons").
const (
	FailureMissing  = "MISSING"
	FailureInactive = "INACTIVE"
	FailureAgent    = "AGENT"
	// FailureAttribute: the instance lacks an attribute the task
	// definition requires.
	FailureAttribute = "ATTRIBUTE"
	// FailureResourcePrefix precedes the resource the instance lacks:
	// RESOURCE:CPU, RESOURCE:MEMORY, RESOURCE:PORTS, RESOURCE:PORTS_UDP,
	// RESOURCE:GPU.
	FailureResourcePrefix = "RESOURCE:"
)

// Messages of container-instance errors; docs/compat.md gives their
// sources.
const (
	// MsgNoContainerInstances is RunTask's InvalidParameterException for
	// an EC2 task on a cluster without an ACTIVE container instance, and
	// the reason in a service's "unable to place a task" event.
	MsgNoContainerInstances   = "No Container Instances were found in your cluster."
	MsgRunningTasksOnInstance = "Found running tasks on the instance."
	// MsgInstanceStatusValues refuses an UpdateContainerInstancesState
	// status other than ACTIVE and DRAINING.
	MsgInstanceStatusValues = "Container instance status should be one of [ACTIVE, DRAINING]"
)

// ContainerInstanceARN returns a container instance ARN in the long
// format (cluster in the ARN), which every account has used since 2021.
func ContainerInstanceARN(region, account, cluster, id string) string {
	return arnPrefix(region, account) + "container-instance/" + cluster + "/" + id
}

// NewContainerInstanceID returns a container instance ID as ECS makes
// them: 32 lowercase hex digits (the long ARN format's IDs).
func NewContainerInstanceID() string { return NewTaskID() }

// ClusterContainsContainerInstancesException refuses DeleteCluster while
// container instances are registered (ACTIVE or DRAINING).
func ClusterContainsContainerInstancesException() *Error {
	return newError("ClusterContainsContainerInstancesException", "The Cluster cannot be deleted while Container Instances are active or draining.")
}

// NoUpdateAvailableException: the agent already runs the latest version.
func NoUpdateAvailableException(format string, args ...any) *Error {
	return newError("NoUpdateAvailableException", format, args...)
}

// MissingVersionException: the agent's version is unknown.
func MissingVersionException(format string, args ...any) *Error {
	return newError("MissingVersionException", format, args...)
}

// UpdateInProgressException: an agent update is already under way.
func UpdateInProgressException(format string, args ...any) *Error {
	return newError("UpdateInProgressException", format, args...)
}

// InstanceIdentity is what ECS reads from an instance identity document
// (the EC2 metadata service's dynamic/instance-identity/document).
type InstanceIdentity struct {
	AccountID        string `json:"accountId"`
	Architecture     string `json:"architecture"`
	AvailabilityZone string `json:"availabilityZone"`
	ImageID          string `json:"imageId"`
	InstanceID       string `json:"instanceId"`
	InstanceType     string `json:"instanceType"`
	PrivateIP        string `json:"privateIp"`
	Region           string `json:"region"`
}

// ParseInstanceIdentityDocument reads an instance identity document. An
// empty document (the agent's ECS_DISABLE_INSTANCE_IDENTITY, external
// instances) identifies nothing and is not an error.
func ParseInstanceIdentityDocument(doc string) (InstanceIdentity, error) {
	var id InstanceIdentity
	if strings.TrimSpace(doc) == "" {
		return id, nil
	}
	if err := json.Unmarshal([]byte(doc), &id); err != nil {
		return InstanceIdentity{}, InvalidParameterException("instanceIdentityDocument is not a valid instance identity document.")
	}
	return id, nil
}

// InstanceResources are a container instance's resources: what it
// registered, or what remains of it. Ports are the host ports that are
// taken (reserved by the host, or by tasks); GPUs the IDs of the GPUs
// that are free.
type InstanceResources struct {
	CPU, Memory     int
	Ports, PortsUDP []int
	GPUs            []string
	// HasPortsUDP and HasGPU say whether the instance registered those
	// resources at all (agents before 1.17 sent no PORTS_UDP).
	HasPortsUDP, HasGPU bool
}

// ParseTotalResources checks a RegisterContainerInstance's totalResources
// and returns them in domain terms.
func ParseTotalResources(rs []types.Resource) (InstanceResources, error) {
	var out InstanceResources
	seen := map[string]bool{}
	for _, r := range rs {
		name := deref(r.Name)
		if seen[name] {
			return InstanceResources{}, InvalidParameterException("Resource %s is specified more than once.", name)
		}
		seen[name] = true
		typ := deref(r.Type)
		want := ResourceTypeStringSet
		if name == ResourceCPU || name == ResourceMemory {
			want = ResourceTypeInteger
		}
		switch name {
		case ResourceCPU, ResourceMemory, ResourcePorts, ResourcePortsUDP, ResourceGPU:
		default:
			return InstanceResources{}, InvalidParameterException("Invalid resource name %q: valid names are CPU, MEMORY, PORTS, PORTS_UDP and GPU.", name)
		}
		if typ != "" && typ != want {
			return InstanceResources{}, InvalidParameterException("Resource %s must be of type %s.", name, want)
		}
		switch name {
		case ResourceCPU, ResourceMemory:
			v := int(r.IntegerValue)
			if v == 0 && r.LongValue != 0 {
				v = int(r.LongValue)
			}
			if v < 0 {
				return InstanceResources{}, InvalidParameterException("Resource %s can not be negative.", name)
			}
			if name == ResourceCPU {
				out.CPU = v
			} else {
				out.Memory = v
			}
		case ResourcePorts, ResourcePortsUDP:
			ports, err := parsePorts(name, r.StringSetValue)
			if err != nil {
				return InstanceResources{}, err
			}
			if name == ResourcePorts {
				out.Ports = ports
			} else {
				out.PortsUDP, out.HasPortsUDP = ports, true
			}
		case ResourceGPU:
			out.GPUs, out.HasGPU = slices.Clone(r.StringSetValue), true
		}
	}
	return out, nil
}

func parsePorts(name string, ss []string) ([]int, error) {
	out := make([]int, 0, len(ss))
	for _, s := range ss {
		p, err := strconv.Atoi(s)
		if err != nil || p < 0 || p > 65535 {
			return nil, InvalidParameterException("Resource %s holds %q, which is not a port number.", name, s)
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// Wire returns the resources as DescribeContainerInstances lists them:
// CPU, MEMORY, PORTS, then PORTS_UDP and GPU when the instance has them.
func (r InstanceResources) Wire() []types.Resource {
	out := []types.Resource{
		{Name: ptr(ResourceCPU), Type: ptr(ResourceTypeInteger), IntegerValue: int32(r.CPU)},
		{Name: ptr(ResourceMemory), Type: ptr(ResourceTypeInteger), IntegerValue: int32(r.Memory)},
		{Name: ptr(ResourcePorts), Type: ptr(ResourceTypeStringSet), StringSetValue: portStrings(r.Ports)},
	}
	if r.HasPortsUDP {
		out = append(out, types.Resource{Name: ptr(ResourcePortsUDP), Type: ptr(ResourceTypeStringSet), StringSetValue: portStrings(r.PortsUDP)})
	}
	if r.HasGPU {
		gpus := slices.Clone(r.GPUs)
		if gpus == nil {
			gpus = []string{}
		}
		out = append(out, types.Resource{Name: ptr(ResourceGPU), Type: ptr(ResourceTypeStringSet), StringSetValue: gpus})
	}
	return out
}

func portStrings(ps []int) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = strconv.Itoa(p)
	}
	return out
}

// ResourcesFromWire reads back what Wire wrote (a stored instance's
// registeredResources).
func ResourcesFromWire(rs []types.Resource) InstanceResources {
	r, err := ParseTotalResources(rs)
	if err != nil {
		return InstanceResources{}
	}
	return r
}

// Reservation is what a task takes from the instance it is placed on:
// CPU units, MiB of memory, static host ports, and GPUs (GPUIDs are the
// ones it was given).
type Reservation struct {
	CPU, Memory     int
	Ports, PortsUDP []int
	GPUs            int
	GPUIDs          []string
}

// TaskReservation computes what a task of td, with overrides, reserves on
// an EC2 instance: the task-level cpu and memory when set, else the sum of
// its containers' (a container reserves its memoryReservation when set,
// else its memory); the host ports its port mappings fix (bridge and host
// modes; hostPort 0 is dynamic and reserves nothing; awsvpc tasks have
// their own network interface); and the GPUs its containers' resource
// requirements ask for.
func TaskReservation(td types.TaskDefinition, ov *types.TaskOverride) Reservation {
	byName := map[string]types.ContainerOverride{}
	var taskCPU, taskMem *string = td.Cpu, td.Memory
	if ov != nil {
		for _, o := range ov.ContainerOverrides {
			byName[deref(o.Name)] = o
		}
		if ov.Cpu != nil {
			taskCPU = ov.Cpu
		}
		if ov.Memory != nil {
			taskMem = ov.Memory
		}
	}
	var r Reservation
	var sumCPU, sumMem int
	for _, cd := range td.ContainerDefinitions {
		o := byName[deref(cd.Name)]
		cpu := int(cd.Cpu)
		if o.Cpu != nil {
			cpu = int(*o.Cpu)
		}
		sumCPU += cpu
		mem, res := cd.Memory, cd.MemoryReservation
		if o.Memory != nil {
			mem = o.Memory
		}
		if o.MemoryReservation != nil {
			res = o.MemoryReservation
		}
		switch {
		case res != nil:
			sumMem += int(*res)
		case mem != nil:
			sumMem += int(*mem)
		}
		reqs := cd.ResourceRequirements
		if o.ResourceRequirements != nil {
			reqs = o.ResourceRequirements
		}
		for _, rr := range reqs {
			if rr.Type == types.ResourceTypeGpu {
				n, _ := strconv.Atoi(deref(rr.Value))
				r.GPUs += n
			}
		}
		if td.NetworkMode == types.NetworkModeAwsvpc {
			continue
		}
		for _, pm := range cd.PortMappings {
			host := pm.HostPort
			if td.NetworkMode == types.NetworkModeHost && host == nil {
				host = pm.ContainerPort
			}
			if host == nil || *host <= 0 {
				continue
			}
			if pm.Protocol == types.TransportProtocolUdp {
				r.PortsUDP = appendUnique(r.PortsUDP, int(*host))
			} else {
				r.Ports = appendUnique(r.Ports, int(*host))
			}
		}
	}
	r.CPU, r.Memory = sumCPU, sumMem
	if n, ok := taskUnits(taskCPU); ok {
		r.CPU = n
	}
	if n, ok := taskUnits(taskMem); ok {
		r.Memory = n
	}
	return r
}

func taskUnits(s *string) (int, bool) {
	if s == nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(*s))
	return n, err == nil
}

func appendUnique(s []int, v int) []int {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// Remaining is what is left of registered resources once the tasks
// holding used have taken theirs. Ports taken by tasks join the ports the
// host reserved, as ECS lists them.
func (r InstanceResources) Remaining(used []Reservation) InstanceResources {
	out := r
	out.Ports = slices.Clone(r.Ports)
	out.PortsUDP = slices.Clone(r.PortsUDP)
	out.GPUs = slices.Clone(r.GPUs)
	for _, u := range used {
		out.CPU -= u.CPU
		out.Memory -= u.Memory
		for _, p := range u.Ports {
			out.Ports = appendUnique(out.Ports, p)
		}
		for _, p := range u.PortsUDP {
			out.PortsUDP = appendUnique(out.PortsUDP, p)
		}
		out.GPUs = slices.DeleteFunc(out.GPUs, func(id string) bool { return slices.Contains(u.GPUIDs, id) })
	}
	return out
}

// Lacks names the first resource need does not fit in (CPU, MEMORY,
// PORTS, PORTS_UDP, GPU), or "" when it fits.
func (r InstanceResources) Lacks(need Reservation) string {
	switch {
	case need.CPU > r.CPU:
		return ResourceCPU
	case need.Memory > r.Memory:
		return ResourceMemory
	}
	for _, p := range need.Ports {
		if slices.Contains(r.Ports, p) {
			return ResourcePorts
		}
	}
	for _, p := range need.PortsUDP {
		if slices.Contains(r.PortsUDP, p) {
			return ResourcePortsUDP
		}
	}
	if need.GPUs > len(r.GPUs) {
		return ResourceGPU
	}
	return ""
}

// Take reserves need on r and returns the reservation with the GPUs it
// was given (the lowest free IDs, in order).
func (r *InstanceResources) Take(need Reservation) Reservation {
	need.GPUIDs = nil
	if need.GPUs > 0 {
		free := slices.Clone(r.GPUs)
		sort.Strings(free)
		need.GPUIDs = free[:need.GPUs]
	}
	*r = r.Remaining([]Reservation{need})
	return need
}

// TaskRequirements is what a container instance must offer a task.
type TaskRequirements struct {
	Reservation
	// RequiresAttributes are the task definition's requiresAttributes:
	// each name must be on the instance, with the value when one is given.
	RequiresAttributes []types.Attribute
}

// InstanceCandidate is a container instance a task may be placed on, with
// what remains of its resources after the tasks already on it (and the
// tasks placed earlier in the same request).
type InstanceCandidate struct {
	Instance  types.ContainerInstance // attributes included
	Remaining InstanceResources
}

// InstanceRefusal is why an instance cannot take a task, as a failure
// reason, or "" when it can.
func InstanceRefusal(c InstanceCandidate, need TaskRequirements) string {
	switch {
	case deref(c.Instance.Status) == InstanceInactive:
		return FailureInactive
	case !c.Instance.AgentConnected:
		return FailureAgent
	}
	for _, req := range need.RequiresAttributes {
		if !hasAttribute(c.Instance.Attributes, req) {
			return FailureAttribute
		}
	}
	if lack := c.Remaining.Lacks(need.Reservation); lack != "" {
		return FailureResourcePrefix + lack
	}
	return ""
}

func hasAttribute(attrs []types.Attribute, want types.Attribute) bool {
	for _, a := range attrs {
		if deref(a.Name) == deref(want.Name) && (want.Value == nil || deref(a.Value) == deref(want.Value)) {
			return true
		}
	}
	return false
}

// Built-in attributes ECS derives from the instance identity document
// (developer guide, "Amazon ECS container instance attributes").
const (
	AttrAMIID            = "ecs.ami-id"
	AttrAvailabilityZone = "ecs.availability-zone"
	AttrInstanceType     = "ecs.instance-type"
	AttrOSType           = "ecs.os-type"
	AttrOSFamily         = "ecs.os-family"
	AttrCPUArchitecture  = "ecs.cpu-architecture"
)

// IsBuiltinAttribute reports an attribute ECS or its agent sets (ecs.*
// and com.amazonaws.ecs.*), as opposed to a custom one: only custom
// attributes count against the limit of 10.
func IsBuiltinAttribute(name string) bool {
	return strings.HasPrefix(name, "ecs.") || strings.HasPrefix(name, "com.amazonaws.ecs.")
}

// MaxCustomAttributes is how many custom attributes one container
// instance holds.
const MaxCustomAttributes = 10

// ValidateAttribute applies the developer guide's rules for an attribute
// (custom attributes): a name of 1 to 128 letters, numbers, hyphens,
// underscores, slashes, back slashes or periods; a value, when given, of
// 1 to 128 of those or at signs, colons and spaces, without leading or
// trailing whitespace.
func ValidateAttribute(a types.Attribute) error {
	name := deref(a.Name)
	if name == "" {
		return InvalidParameterException("Attribute name can not be blank.")
	}
	if len(name) > 128 || strings.IndexFunc(name, func(r rune) bool { return !attrNameRune(r) }) >= 0 {
		return InvalidParameterException("Attribute name %q is invalid: up to 128 letters, numbers, hyphens, underscores, slashes, back slashes and periods are allowed.", name)
	}
	if a.Value == nil {
		return nil
	}
	v := *a.Value
	if v == "" || len(v) > 128 || strings.TrimSpace(v) != v ||
		strings.IndexFunc(v, func(r rune) bool { return !attrNameRune(r) && r != '@' && r != ':' && r != ' ' }) >= 0 {
		return InvalidParameterException("Attribute value %q is invalid: 1 to 128 letters, numbers, hyphens, underscores, periods, at signs, slashes, back slashes, colons and spaces are allowed, without leading or trailing whitespace.", v)
	}
	return nil
}

func attrNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_/\\.", r)
}

// ContainerInstanceParams is everything a new container instance is made
// of.
type ContainerInstanceParams struct {
	Region, Account, Cluster string
	ID                       string
	Identity                 InstanceIdentity
	Resources                InstanceResources
	VersionInfo              *types.VersionInfo
	CapacityProviderName     string
	Now                      time.Time
}

// NewContainerInstance returns a newly registered, ACTIVE container
// instance with a connected agent, as RegisterContainerInstance answers it
// (without attributes and tags: they are stored apart).
func NewContainerInstance(p ContainerInstanceParams) types.ContainerInstance {
	now := p.Now.UTC()
	ci := types.ContainerInstance{
		ContainerInstanceArn: ptr(ContainerInstanceARN(p.Region, p.Account, p.Cluster, p.ID)),
		Status:               ptr(InstanceActive),
		AgentConnected:       true,
		RegisteredResources:  p.Resources.Wire(),
		RemainingResources:   p.Resources.Wire(),
		RegisteredAt:         &now,
		Version:              1,
		VersionInfo:          p.VersionInfo,
		Attachments:          []types.Attachment{},
	}
	if ci.VersionInfo == nil {
		ci.VersionInfo = &types.VersionInfo{}
	}
	if p.Identity.InstanceID != "" {
		ci.Ec2InstanceId = ptr(p.Identity.InstanceID)
	}
	if p.CapacityProviderName != "" {
		ci.CapacityProviderName = ptr(p.CapacityProviderName)
	}
	return ci
}

// IdentityAttributes are the built-in attributes ECS derives from an
// instance identity document: ecs.ami-id, ecs.availability-zone,
// ecs.instance-type and ecs.cpu-architecture (the agent sends the last one
// itself only on external instances).
func IdentityAttributes(id InstanceIdentity) []types.Attribute {
	var out []types.Attribute
	for _, kv := range [][2]string{
		{AttrAMIID, id.ImageID},
		{AttrAvailabilityZone, id.AvailabilityZone},
		{AttrInstanceType, id.InstanceType},
		{AttrCPUArchitecture, id.Architecture},
	} {
		if kv[1] != "" {
			out = append(out, types.Attribute{Name: ptr(kv[0]), Value: ptr(kv[1])})
		}
	}
	return out
}

// AgentAttributes are the attributes the ECS container agent (1.9x, on the
// ECS-optimized Amazon Linux 2023 AMI) registers: the OS, and the
// capabilities task definitions' requiresAttributes name. ecsd's own
// instances (simulated ones, the Docker host) register these, so every
// task definition ecsd accepts can be placed on them.
func AgentAttributes(osType, osFamily string) []types.Attribute {
	const capability = "com.amazonaws.ecs.capability."
	names := []string{
		capability + "privileged-container", capability + "ecr-auth", capability + "task-iam-role", capability + "task-iam-role-network-host",
		capability + "logging-driver.json-file", capability + "logging-driver.syslog", capability + "logging-driver.awslogs",
		capability + "logging-driver.none", capability + "logging-driver.journald", capability + "logging-driver.gelf",
		capability + "logging-driver.fluentd", capability + "logging-driver.splunk", capability + "logging-driver.awsfirelens",
		"ecs.capability.execution-role-ecr-pull", "ecs.capability.execution-role-awslogs",
		"ecs.capability.container-health-check", "ecs.capability.container-ordering", "ecs.capability.task-eni",
		"ecs.capability.secrets.asm.environment-variables", "ecs.capability.secrets.ssm.environment-variables",
		"ecs.capability.secrets.asm.bootstrap.log-driver", "ecs.capability.secrets.ssm.bootstrap.log-driver",
		"ecs.capability.private-registry-authentication.secretsmanager", "ecs.capability.env-files.s3",
		"ecs.capability.firelens.fluentd", "ecs.capability.firelens.fluentbit", "ecs.capability.efs",
		"ecs.capability.efsAuth", "ecs.capability.aws-appmesh", "ecs.capability.pid-ipc-namespace-sharing",
		"ecs.capability.ecr-endpoint", "ecs.capability.task-cpu-mem-limit", "ecs.capability.docker-plugin.local",
		"ecs.capability.full-sync", "ecs.capability.execute-command", "ecs.capability.service-connect-v1",
		"ecs.capability.network.container-port-range", "ecs.capability.container-restart-policy",
	}
	for v := 17; v <= 44; v++ {
		names = append(names, fmt.Sprintf("%sdocker-remote-api.1.%d", capability, v))
	}
	out := make([]types.Attribute, 0, len(names)+2)
	out = append(out,
		types.Attribute{Name: ptr(AttrOSType), Value: ptr(osType)},
		types.Attribute{Name: ptr(AttrOSFamily), Value: ptr(osFamily)})
	for _, n := range names {
		out = append(out, types.Attribute{Name: ptr(n)})
	}
	return out
}

// Agent updates. ecsd has no agent to update, so UpdateContainerAgent is
// simulated: the update walks PENDING, STAGING, STAGED, UPDATING and
// UPDATED, one step every AgentUpdateStep, and the instance then reports
// LatestAgentVersion.
const (
	LatestAgentVersion = "1.95.0"
	LatestAgentHash    = "b1e2c3d4"
	AgentUpdateStep    = time.Second
)

// AgentUpdateView returns the instance as it stands at now, given when
// its agent update was requested (zero: none): the update's status, and
// the new version once it is UPDATED.
func AgentUpdateView(ci types.ContainerInstance, requestedAt, now time.Time) types.ContainerInstance {
	if requestedAt.IsZero() {
		return ci
	}
	steps := []types.AgentUpdateStatus{
		types.AgentUpdateStatusPending, types.AgentUpdateStatusStaging, types.AgentUpdateStatusStaged,
		types.AgentUpdateStatusUpdating, types.AgentUpdateStatusUpdated,
	}
	i := int(now.Sub(requestedAt) / AgentUpdateStep)
	i = min(max(i, 0), len(steps)-1)
	ci.AgentUpdateStatus = steps[i]
	if ci.AgentUpdateStatus == types.AgentUpdateStatusUpdated {
		vi := types.VersionInfo{}
		if ci.VersionInfo != nil {
			vi = *ci.VersionInfo
		}
		vi.AgentVersion, vi.AgentHash = ptr(LatestAgentVersion), ptr(LatestAgentHash)
		ci.VersionInfo = &vi
	}
	return ci
}

// CheckAgentUpdate is UpdateContainerAgent's precondition on an instance
// viewed at now.
func CheckAgentUpdate(ci types.ContainerInstance) error {
	switch ci.AgentUpdateStatus {
	case types.AgentUpdateStatusPending, types.AgentUpdateStatusStaging, types.AgentUpdateStatusStaged, types.AgentUpdateStatusUpdating:
		return UpdateInProgressException("There's already a current Amazon ECS container agent update in progress on the container instance that's specified.")
	}
	v := ""
	if ci.VersionInfo != nil {
		v = deref(ci.VersionInfo.AgentVersion)
	}
	if v == "" {
		return MissingVersionException("Amazon ECS can't determine the current version of the Amazon ECS container agent on the container instance and doesn't have enough information to proceed with an update.")
	}
	if !versionBefore(v, LatestAgentVersion) {
		return NoUpdateAvailableException("There's no update available for this Amazon ECS container agent.")
	}
	return nil
}

// versionBefore compares dotted versions ("1.14.5" < "1.95.0"); a version
// that is not numeric is never before.
func versionBefore(a, b string) bool {
	pa, pb := strings.Split(strings.TrimPrefix(a, "v"), "."), strings.Split(b, ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		var err error
		if i < len(pa) {
			if x, err = strconv.Atoi(pa[i]); err != nil {
				return false
			}
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// ContainerInstanceHealth is the CONTAINER_INSTANCE_HEALTH view: ecsd's
// container runtime answers, so the one check (CONTAINER_RUNTIME) is OK
// since registration.
func ContainerInstanceHealth(ci types.ContainerInstance, now time.Time) *types.ContainerInstanceHealthStatus {
	since := now.UTC()
	if ci.RegisteredAt != nil {
		since = *ci.RegisteredAt
	}
	at := now.UTC()
	return &types.ContainerInstanceHealthStatus{
		OverallStatus: types.InstanceHealthCheckStateOk,
		Details: []types.InstanceHealthCheckResult{{
			Type: types.InstanceHealthCheckTypeContainerRuntime, Status: types.InstanceHealthCheckStateOk,
			LastStatusChange: &since, LastUpdated: &at,
		}},
	}
}
