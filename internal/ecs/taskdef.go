package ecs

import (
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// MaxTaskDefinitionBytes is the largest task definition ECS registers.
const MaxTaskDefinitionBytes = 65536

// MaxContainers is the most container definitions one task definition holds.
const MaxContainers = 10

// Messages ECS writes for task-definition lookups; see docs/compat.md for
// their sources.
const (
	MsgUnableToDescribe     = "Unable to describe task definition."
	MsgTaskDefDoesNotExist  = "The specified task definition does not exist."
	MsgRevisionMissing      = "Revision is missing."
	MsgTaskDefBeingDeleted  = "The task definition could not be deregistered because it is in the process of being deleted."
	MsgDeleteStillActive    = "The specified task definition is still in ACTIVE status. Please deregister the target and try again."
	MsgDeleteDoesNotExist   = "The specified task definition does not exist. Specify a valid account, family, revision and try again."
	MsgDeleteInvalidIdent   = "The specified task definition identifier is invalid. Specify a valid name or ARN and try again."
	MsgDeleteListEmpty      = "size of TaskDefinition references list must be greater than 0"
	MsgDeleteListTooLong    = "Size of TaskDefinition references list cannot exceed 10"
	fargateCPUMessage       = "Fargate requires that 'cpu' be defined at the task level."
	fargateMemoryMessage    = "Fargate requires that 'memory' be defined at the task level."
	fargateNetworkMessage   = "Fargate only supports network mode \u2018awsvpc\u2019."
	fargateAwslogsMessage   = "Fargate requires task definition to have execution role ARN to support log driver awslogs."
	fargateIpcModeMessage   = "Tasks using the Fargate launch type do not support ipcMode."
	fargatePidModeMessage   = "Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for pidMode is 'task'."
	invalidTaskCPUMessage   = "Invalid 'cpu' setting for task. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
	invalidTaskMemMessage   = "Invalid 'memory' setting for task. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
	awsvpcPortsMessage      = "When networkMode=awsvpc, the host ports and container ports in port mappings must match."
	awslogsOptionsMessage   = "Log driver awslogs requires options: awslogs-region, awslogs-group"
	dependsOnEssentialMsg   = "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container"
	containerNamesUniqueMsg = "Container names must be unique within a Task Definition."
)

var containerNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)

// PrepareTaskDefinition validates a registration the way ECS does and
// returns the revision document ECS would store: the caller's members plus
// the defaults and computed members ECS adds (compatibilities,
// requiresAttributes, empty lists, essential, port-mapping defaults,
// normalised cpu and memory). The lifecycle members (ARN, revision, status,
// timestamps) are left for the registry to set. td is not modified.
func PrepareTaskDefinition(in types.TaskDefinition) (types.TaskDefinition, error) {
	td := in
	switch {
	case td.Family == nil || *td.Family == "":
		return td, ClientException("Family can not be blank.")
	case len(*td.Family) > 255:
		return td, ClientException("Family should be 255 characters or less")
	case !ValidFamily(*td.Family):
		return td, ClientException("Family contains invalid characters.")
	}
	if len(td.ContainerDefinitions) == 0 {
		return td, ClientException("Container list cannot be empty.")
	}
	if len(td.ContainerDefinitions) > MaxContainers {
		return td, ClientException("Too many containers.")
	}

	var err error
	var taskCPU, taskMem int
	if td.Cpu != nil {
		if taskCPU, err = parseCPU(*td.Cpu); err != nil {
			return td, err
		}
		td.Cpu = ptr(strconv.Itoa(taskCPU))
	}
	if td.Memory != nil {
		if taskMem, err = parseMemory(*td.Memory); err != nil {
			return td, err
		}
		td.Memory = ptr(strconv.Itoa(taskMem))
	}

	awsvpc := td.NetworkMode == types.NetworkModeAwsvpc
	fargate := requires(td.RequiresCompatibilities, types.CompatibilityFargate)
	if fargate {
		switch {
		case td.NetworkMode != types.NetworkModeAwsvpc:
			return td, ClientException(fargateNetworkMessage)
		case td.Cpu == nil:
			return td, ClientException(fargateCPUMessage)
		case td.Memory == nil:
			return td, ClientException(fargateMemoryMessage)
		case !FargateSizeValid(taskCPU, taskMem):
			return td, ClientException("No Fargate configuration exists for given values: %d CPU, %d memory. See the Amazon ECS documentation for the valid values.", taskCPU, taskMem)
		case td.IpcMode != "":
			return td, ClientException(fargateIpcModeMessage)
		case td.PidMode == types.PidModeHost:
			return td, ClientException(fargatePidModeMessage)
		}
	}

	containers := make([]types.ContainerDefinition, len(td.ContainerDefinitions))
	names := map[string]bool{}
	essentials := map[string]bool{}
	var sumCPU, sumReservation int
	for i, c := range td.ContainerDefinitions {
		if c.Name == nil || *c.Name == "" {
			return td, ClientException("Container.name should not be null or empty.")
		}
		if !containerNameRE.MatchString(*c.Name) {
			if len(*c.Name) > 255 {
				return td, ClientException("Container.name should be 255 characters or less")
			}
			return td, ClientException("Container.name contains invalid characters.")
		}
		if c.Image == nil || *c.Image == "" {
			return td, ClientException("Container.image should not be null or empty.")
		}
		if len(*c.Image) > 255 {
			return td, ClientException("Container.image should be 255 characters or less")
		}
		if names[*c.Name] {
			return td, ClientException(containerNamesUniqueMsg)
		}
		names[*c.Name] = true
		if td.Memory == nil && c.Memory == nil && c.MemoryReservation == nil {
			return td, ClientException("Invalid setting for container '%s'. At least one of 'memory' or 'memoryReservation' must be specified.", *c.Name)
		}
		if c.Memory != nil && c.MemoryReservation != nil && *c.MemoryReservation > *c.Memory {
			return td, ClientException("The memory reservation for container '%s' must be less than or equal to the memory limit.", *c.Name)
		}
		if td.Memory != nil && c.Memory != nil && int(*c.Memory) > taskMem {
			return td, ClientException("The 'memory' setting for container '%s' is greater than for the task.", *c.Name)
		}
		if c.Cpu < 0 {
			return td, ClientException("Invalid 'cpu' setting for container '%s'.", *c.Name)
		}
		sumCPU += int(c.Cpu)
		if c.MemoryReservation != nil {
			sumReservation += int(*c.MemoryReservation)
		}
		if c.LogConfiguration != nil && c.LogConfiguration.LogDriver == types.LogDriverAwslogs {
			o := c.LogConfiguration.Options
			if o["awslogs-group"] == "" || o["awslogs-region"] == "" {
				return td, ClientException(awslogsOptionsMessage)
			}
			if fargate && td.ExecutionRoleArn == nil {
				return td, ClientException(fargateAwslogsMessage)
			}
		}
		c, err := containerDefaults(c, td.NetworkMode)
		if err != nil {
			return td, err
		}
		essentials[*c.Name] = *c.Essential
		containers[i] = c
	}
	if td.Cpu != nil && sumCPU > taskCPU {
		return td, ClientException("The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'.")
	}
	if td.Memory != nil && sumReservation > taskMem {
		return td, ClientException("The sum of all container 'memoryReservation' values cannot be greater than the value of the task 'memory'.")
	}
	for _, c := range containers {
		for _, d := range c.DependsOn {
			if d.ContainerName == nil || !names[*d.ContainerName] {
				return td, ClientException("Container '%s' depends on a container that is not defined in the task definition.", *c.Name)
			}
			if (d.Condition == types.ContainerConditionSuccess || d.Condition == types.ContainerConditionComplete) && essentials[*d.ContainerName] {
				return td, ClientException(dependsOnEssentialMsg)
			}
		}
	}
	td.ContainerDefinitions = containers

	// ECS always returns these lists, empty when the caller sent none.
	if td.Volumes == nil {
		td.Volumes = []types.Volume{}
	} else {
		td.Volumes = volumeDefaults(td.Volumes)
	}
	if td.PlacementConstraints == nil {
		td.PlacementConstraints = []types.TaskDefinitionPlacementConstraint{}
	}
	td.Compatibilities = compatibilities(td, taskCPU, taskMem)
	td.RequiresAttributes = requiresAttributes(td, awsvpc)
	return td, nil
}

// volumeDefaults returns the volumes as ECS stores them: an EFS volume
// registered without rootDirectory comes back with "/", the file system's
// root it mounts. The caller's slice and structs are left alone.
func volumeDefaults(in []types.Volume) []types.Volume {
	out := make([]types.Volume, len(in))
	for i, v := range in {
		if v.EfsVolumeConfiguration != nil && v.EfsVolumeConfiguration.RootDirectory == nil {
			efs := *v.EfsVolumeConfiguration
			efs.RootDirectory = ptr("/")
			v.EfsVolumeConfiguration = &efs
		}
		out[i] = v
	}
	return out
}

// containerDefaults fills the members ECS adds to every container
// definition it stores.
func containerDefaults(c types.ContainerDefinition, mode types.NetworkMode) (types.ContainerDefinition, error) {
	if c.Essential == nil {
		c.Essential = ptr(true)
	}
	if c.PortMappings == nil {
		c.PortMappings = []types.PortMapping{}
	} else {
		pms := make([]types.PortMapping, len(c.PortMappings))
		for i, pm := range c.PortMappings {
			if pm.Protocol == "" {
				pm.Protocol = types.TransportProtocolTcp
			}
			if pm.ContainerPort != nil {
				switch {
				case mode == types.NetworkModeAwsvpc || mode == types.NetworkModeHost:
					if pm.HostPort == nil {
						pm.HostPort = ptr(*pm.ContainerPort)
					} else if *pm.HostPort != *pm.ContainerPort {
						if mode == types.NetworkModeAwsvpc {
							return c, ClientException(awsvpcPortsMessage)
						}
						return c, ClientException("When networkMode=host, the host ports and container ports in port mappings must match.")
					}
				case pm.HostPort == nil && pm.ContainerPortRange == nil:
					pm.HostPort = ptr(int32(0))
				}
			}
			pms[i] = pm
		}
		c.PortMappings = pms
	}
	if c.Environment == nil {
		c.Environment = []types.KeyValuePair{}
	}
	if c.MountPoints == nil {
		c.MountPoints = []types.MountPoint{}
	}
	if c.VolumesFrom == nil {
		c.VolumesFrom = []types.VolumeFrom{}
	}
	if c.SystemControls == nil {
		c.SystemControls = []types.SystemControl{}
	}
	if hc := c.HealthCheck; hc != nil {
		h := *hc
		if h.Interval == nil {
			h.Interval = ptr(int32(30))
		}
		if h.Timeout == nil {
			h.Timeout = ptr(int32(5))
		}
		if h.Retries == nil {
			h.Retries = ptr(int32(3))
		}
		c.HealthCheck = &h
	}
	return c, nil
}

// compatibilities computes the launch types a revision can run on: EC2
// always; EXTERNAL for the network modes ECS Anywhere supports; FARGATE
// when the revision passes Fargate's rules; MANAGED_INSTANCES when asked.
func compatibilities(td types.TaskDefinition, cpu, mem int) []types.Compatibility {
	out := []types.Compatibility{}
	if td.NetworkMode != types.NetworkModeAwsvpc {
		out = append(out, types.CompatibilityExternal)
	}
	out = append(out, types.CompatibilityEc2)
	if td.NetworkMode == types.NetworkModeAwsvpc && td.Cpu != nil && td.Memory != nil &&
		FargateSizeValid(cpu, mem) && td.IpcMode == "" && td.PidMode != types.PidModeHost {
		out = append(out, types.CompatibilityFargate)
	}
	if requires(td.RequiresCompatibilities, types.CompatibilityManagedInstances) {
		out = append(out, types.CompatibilityManagedInstances)
	}
	return out
}

// requiresAttributes lists the container-instance capabilities the
// revision needs, from the features it uses.
func requiresAttributes(td types.TaskDefinition, awsvpc bool) []types.Attribute {
	var names []string
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	const capPrefix = "com.amazonaws.ecs.capability."
	add(capPrefix + "docker-remote-api.1.18")
	if td.TaskRoleArn != nil {
		add(capPrefix + "task-iam-role")
		if td.NetworkMode == types.NetworkModeHost {
			add(capPrefix + "task-iam-role-network-host")
		}
	}
	for _, c := range td.ContainerDefinitions {
		if lc := c.LogConfiguration; lc != nil {
			add(capPrefix + "logging-driver." + string(lc.LogDriver))
			if len(lc.Options) > 0 {
				add(capPrefix + "docker-remote-api.1.19")
			}
			if lc.LogDriver == types.LogDriverAwslogs && td.ExecutionRoleArn != nil {
				add("ecs.capability.execution-role-awslogs")
			}
		}
		if c.Image != nil && isECRImage(*c.Image) {
			add(capPrefix + "ecr-auth")
			add(capPrefix + "docker-remote-api.1.19")
			if td.ExecutionRoleArn != nil {
				add("ecs.capability.execution-role-ecr-pull")
			}
		}
		if c.HealthCheck != nil {
			add("ecs.capability.container-health-check")
		}
		if c.LinuxParameters != nil && c.LinuxParameters.InitProcessEnabled != nil {
			add(capPrefix + "docker-remote-api.1.25")
		}
		if len(c.DependsOn) > 0 {
			add("ecs.capability.container-ordering")
		}
		for _, s := range c.Secrets {
			if s.ValueFrom != nil && strings.Contains(*s.ValueFrom, ":secretsmanager:") {
				add("ecs.capability.secrets.asm.environment-variables")
			} else {
				add("ecs.capability.secrets.ssm.environment-variables")
			}
		}
		if c.RepositoryCredentials != nil {
			add("ecs.capability.private-registry-authentication.secretsmanager")
		}
		if len(c.EnvironmentFiles) > 0 {
			add("ecs.capability.env-files.s3")
		}
		if c.FirelensConfiguration != nil {
			add("ecs.capability.firelens." + string(c.FirelensConfiguration.Type))
		}
	}
	if awsvpc {
		add("ecs.capability.task-eni")
	}
	if td.RuntimePlatform != nil {
		add(capPrefix + "docker-remote-api.1.29")
	}
	for _, v := range td.Volumes {
		if v.EfsVolumeConfiguration != nil {
			add("ecs.capability.efs")
			if v.EfsVolumeConfiguration.AuthorizationConfig != nil {
				add("ecs.capability.efsAuth")
			}
		}
	}
	if td.ProxyConfiguration != nil {
		add("ecs.capability.aws-appmesh")
	}
	out := make([]types.Attribute, len(names))
	for i, n := range names {
		out[i] = types.Attribute{Name: ptr(n)}
	}
	return out
}

func isECRImage(image string) bool {
	host, _, ok := strings.Cut(image, "/")
	return ok && strings.Contains(host, ".dkr.ecr.") && strings.Contains(host, ".amazonaws.com")
}

// fargateSizes lists, per task cpu, the memory range (MiB) and step that
// Fargate accepts.
var fargateSizes = map[int][]int{
	256:   {512, 1024, 2048},
	512:   rangeMiB(1024, 4096, 1024),
	1024:  rangeMiB(2048, 8192, 1024),
	2048:  rangeMiB(4096, 16384, 1024),
	4096:  rangeMiB(8192, 30720, 1024),
	8192:  rangeMiB(16384, 61440, 4096),
	16384: rangeMiB(32768, 122880, 8192),
}

func rangeMiB(lo, hi, step int) []int {
	var out []int
	for m := lo; m <= hi; m += step {
		out = append(out, m)
	}
	return out
}

// FargateSizeValid reports whether Fargate offers the task cpu/memory pair.
func FargateSizeValid(cpu, mem int) bool {
	for _, m := range fargateSizes[cpu] {
		if m == mem {
			return true
		}
	}
	return false
}

// TaskCPUUnits and TaskMemoryMiB read a task-level cpu or memory value
// (a revision's or an override's) as RegisterTaskDefinition does.
func TaskCPUUnits(s string) (int, error)  { return parseCPU(s) }
func TaskMemoryMiB(s string) (int, error) { return parseMemory(s) }

// parseCPU reads a task cpu value: CPU units ("1024") or vCPUs ("1 vCPU",
// "0.25 vcpu"), as ECS accepts, returning CPU units.
func parseCPU(s string) (int, error) {
	v := strings.TrimSpace(strings.ToLower(s))
	mult := 1.0
	if n, ok := strings.CutSuffix(v, "vcpu"); ok {
		v, mult = strings.TrimSpace(n), 1024
	}
	f, err := parseDecimal(v)
	units := f * mult
	if err != nil || units < 128 || units > 196608 || units != math.Trunc(units) {
		return 0, ClientException(invalidTaskCPUMessage)
	}
	return int(units), nil
}

// parseMemory reads a task memory value: MiB ("2048") or GB ("2 GB"), as
// ECS accepts, returning MiB.
func parseMemory(s string) (int, error) {
	v := strings.TrimSpace(strings.ToLower(s))
	mult := 1.0
	if n, ok := strings.CutSuffix(v, "gb"); ok {
		v, mult = strings.TrimSpace(n), 1024
	}
	f, err := parseDecimal(v)
	mib := f * mult
	if err != nil || mib < 6 || mib > 1<<24 || mib != math.Trunc(mib) {
		return 0, ClientException(invalidTaskMemMessage)
	}
	return int(mib), nil
}

// parseDecimal accepts plain decimals ("1024", "0.5") only, not the
// exponents and hex floats strconv.ParseFloat would also take.
func parseDecimal(s string) (float64, error) {
	dots := 0
	for i := range len(s) {
		switch c := s[i]; {
		case c == '.':
			dots++
		case c < '0' || c > '9':
			return 0, strconv.ErrSyntax
		}
	}
	if dots > 1 || s == "" || s == "." {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseFloat(s, 64)
}

func requires(list []types.Compatibility, c types.Compatibility) bool {
	for _, x := range list {
		if x == c {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }

// MaxTags is the most tags one ECS resource holds.
const MaxTags = 50

var tagCharsRE = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

// ValidateTags applies ECS's tag rules: at most 50, keys of 1 to 128
// characters and values of at most 256 from the allowed set, and no key in
// the reserved aws: namespace. An explicitly empty list is refused as ECS
// refuses it on RegisterTaskDefinition.
func ValidateTags(tags []types.Tag) error {
	if tags != nil && len(tags) == 0 {
		return ClientException("Tags can not be empty.")
	}
	if len(tags) > MaxTags {
		return InvalidParameterException("Tags can have at most %d items.", MaxTags)
	}
	for _, t := range tags {
		if t.Key == nil || len([]rune(*t.Key)) < 1 || len([]rune(*t.Key)) > 128 {
			return InvalidParameterException("Tag keys must be between 1 and 128 characters.")
		}
		if t.Value != nil && len([]rune(*t.Value)) > 256 {
			return InvalidParameterException("Tag values must be at most 256 characters.")
		}
		if !tagCharsRE.MatchString(*t.Key) || (t.Value != nil && !tagCharsRE.MatchString(*t.Value)) {
			return InvalidParameterException("Tag keys and values may only contain Unicode letters, digits, white space, and the characters _ . : / = + - @.")
		}
		if strings.HasPrefix(strings.ToLower(*t.Key), "aws:") {
			return InvalidParameterException("Tag keys with the aws: prefix are reserved for AWS use.")
		}
	}
	return nil
}
