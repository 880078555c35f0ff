package ecs

import (
	"crypto/sha256"
	"errors"
	"fmt"
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
	if deref(t.DesiredStatus) == TaskStopped || deref(t.LastStatus) == TaskStopped {
		return t
	}
	t.DesiredStatus = ptr(TaskStopped)
	t.StopCode = code
	if reason != "" {
		t.StoppedReason = ptr(reason)
	}
	at := now.UTC()
	t.StoppingAt = &at
	t.Version++
	return t
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
