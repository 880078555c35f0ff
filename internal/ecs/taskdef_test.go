package ecs_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/ecs"
)

func ptr[T any](v T) *T { return &v }

// ec2Def is the smallest registration ECS accepts: bridge mode (the
// default), one container with a hard memory limit.
func ec2Def() types.TaskDefinition {
	return types.TaskDefinition{
		Family: ptr("web"),
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: ptr("app"), Image: ptr("nginx"), Memory: ptr(int32(128))},
		},
	}
}

// fargateDef is the smallest Fargate registration ECS accepts.
func fargateDef() types.TaskDefinition {
	return types.TaskDefinition{
		Family:                  ptr("web"),
		NetworkMode:             types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     ptr("256"),
		Memory:                  ptr("512"),
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: ptr("app"), Image: ptr("nginx")},
		},
	}
}

// wantError checks that err is the ECS error code with exactly msg.
func wantError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var e *ecs.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *ecs.Error %s %q", err, err, code, msg)
	}
	if e.Code != code || e.Message != msg {
		t.Errorf("err = %s %q\n          want %s %q", e.Code, e.Message, code, msg)
	}
	if e.Fault {
		t.Errorf("err %s is a server fault, want a client error", e.Code)
	}
}

func containers(n int) []types.ContainerDefinition {
	out := make([]types.ContainerDefinition, n)
	for i := range out {
		out[i] = types.ContainerDefinition{Name: ptr(fmt.Sprintf("c%d", i)), Image: ptr("nginx"), Memory: ptr(int32(64))}
	}
	return out
}

func TestPrepareTaskDefinitionErrors(t *testing.T) {
	const (
		cpuMsg = "Invalid 'cpu' setting for task. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
		memMsg = "Invalid 'memory' setting for task. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
	)
	awslogs := func(opts map[string]string) *types.LogConfiguration {
		return &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: opts}
	}
	fullAwslogsOptions := map[string]string{"awslogs-group": "/ecs/web", "awslogs-region": "eu-west-1"}
	tests := []struct {
		name string
		base func() types.TaskDefinition
		edit func(td *types.TaskDefinition)
		msg  string // all are ClientException
	}{
		// Family.
		{"family absent", ec2Def, func(td *types.TaskDefinition) { td.Family = nil }, "Family can not be blank."},
		{"family empty", ec2Def, func(td *types.TaskDefinition) { td.Family = ptr("") }, "Family can not be blank."},
		{"family 256 chars", ec2Def, func(td *types.TaskDefinition) { td.Family = ptr(strings.Repeat("f", 256)) }, "Family should be 255 characters or less"},
		{"family with space", ec2Def, func(td *types.TaskDefinition) { td.Family = ptr("my web") }, "Family contains invalid characters."},
		{"family with dot", ec2Def, func(td *types.TaskDefinition) { td.Family = ptr("web.app") }, "Family contains invalid characters."},
		{"family with colon", ec2Def, func(td *types.TaskDefinition) { td.Family = ptr("web:1") }, "Family contains invalid characters."},

		// Container list.
		{"containers absent", ec2Def, func(td *types.TaskDefinition) { td.ContainerDefinitions = nil }, "Container list cannot be empty."},
		{"containers empty", ec2Def, func(td *types.TaskDefinition) { td.ContainerDefinitions = []types.ContainerDefinition{} }, "Container list cannot be empty."},
		{"11 containers", ec2Def, func(td *types.TaskDefinition) { td.ContainerDefinitions = containers(11) }, "Too many containers."},

		// Task cpu and memory values.
		{"task cpu not a number", ec2Def, func(td *types.TaskDefinition) { td.Cpu = ptr("lots") }, cpuMsg},
		{"task cpu below 128", ec2Def, func(td *types.TaskDefinition) { td.Cpu = ptr("127") }, cpuMsg},
		{"task cpu above 192 vCPU", ec2Def, func(td *types.TaskDefinition) { td.Cpu = ptr("196609") }, cpuMsg},
		{"task cpu fractional units", ec2Def, func(td *types.TaskDefinition) { td.Cpu = ptr("256.5") }, cpuMsg},
		{"task cpu fractional vCPU units", ec2Def, func(td *types.TaskDefinition) { td.Cpu = ptr("0.1 vCPU") }, cpuMsg},
		{"task cpu empty", ec2Def, func(td *types.TaskDefinition) { td.Cpu = ptr("") }, cpuMsg},
		{"task memory not a number", ec2Def, func(td *types.TaskDefinition) { td.Memory = ptr("lots") }, memMsg},
		{"task memory below 6 MiB", ec2Def, func(td *types.TaskDefinition) { td.Memory = ptr("5") }, memMsg},
		{"task memory fractional", ec2Def, func(td *types.TaskDefinition) { td.Memory = ptr("512.5") }, memMsg},
		{"task memory empty", ec2Def, func(td *types.TaskDefinition) { td.Memory = ptr("") }, memMsg},

		// Fargate rules.
		{"fargate bridge", fargateDef, func(td *types.TaskDefinition) { td.NetworkMode = types.NetworkModeBridge }, "Fargate only supports network mode \u2018awsvpc\u2019."},
		{"fargate default network mode", fargateDef, func(td *types.TaskDefinition) { td.NetworkMode = "" }, "Fargate only supports network mode \u2018awsvpc\u2019."},
		{"fargate host", fargateDef, func(td *types.TaskDefinition) { td.NetworkMode = types.NetworkModeHost }, "Fargate only supports network mode \u2018awsvpc\u2019."},
		{"fargate without cpu", fargateDef, func(td *types.TaskDefinition) { td.Cpu = nil }, "Fargate requires that 'cpu' be defined at the task level."},
		{"fargate without memory", fargateDef, func(td *types.TaskDefinition) { td.Memory = nil }, "Fargate requires that 'memory' be defined at the task level."},
		{"fargate size not offered", fargateDef, func(td *types.TaskDefinition) { td.Cpu, td.Memory = ptr("1024"), ptr("1024") },
			"No Fargate configuration exists for given values: 1024 CPU, 1024 memory. See the Amazon ECS documentation for the valid values."},
		{"fargate size in vCPU and GB", fargateDef, func(td *types.TaskDefinition) { td.Cpu, td.Memory = ptr("1 vCPU"), ptr("1 GB") },
			"No Fargate configuration exists for given values: 1024 CPU, 1024 memory. See the Amazon ECS documentation for the valid values."},
		{"fargate ipcMode", fargateDef, func(td *types.TaskDefinition) { td.IpcMode = types.IpcModeTask }, "Tasks using the Fargate launch type do not support ipcMode."},
		{"fargate pidMode host", fargateDef, func(td *types.TaskDefinition) { td.PidMode = types.PidModeHost },
			"Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for pidMode is 'task'."},
		{"fargate awslogs without execution role", fargateDef, func(td *types.TaskDefinition) {
			td.ContainerDefinitions[0].LogConfiguration = awslogs(fullAwslogsOptions)
		}, "Fargate requires task definition to have execution role ARN to support log driver awslogs."},

		// Container names and images.
		{"container name absent", ec2Def, func(td *types.TaskDefinition) { td.ContainerDefinitions[0].Name = nil }, "Container.name should not be null or empty."},
		{"container name empty", ec2Def, func(td *types.TaskDefinition) { td.ContainerDefinitions[0].Name = ptr("") }, "Container.name should not be null or empty."},
		{"container name 256 chars", ec2Def, func(td *types.TaskDefinition) { td.ContainerDefinitions[0].Name = ptr(strings.Repeat("n", 256)) }, "Container.name should be 255 characters or less"},
		{"container name with space", ec2Def, func(td *types.TaskDefinition) { td.ContainerDefinitions[0].Name = ptr("my app") }, "Container.name contains invalid characters."},
		{"container image absent", ec2Def, func(td *types.TaskDefinition) { td.ContainerDefinitions[0].Image = nil }, "Container.image should not be null or empty."},
		{"container image empty", ec2Def, func(td *types.TaskDefinition) { td.ContainerDefinitions[0].Image = ptr("") }, "Container.image should not be null or empty."},
		{"container image 256 chars", ec2Def, func(td *types.TaskDefinition) { td.ContainerDefinitions[0].Image = ptr(strings.Repeat("i", 256)) }, "Container.image should be 255 characters or less"},
		{"duplicate container names", ec2Def, func(td *types.TaskDefinition) {
			td.ContainerDefinitions = append(td.ContainerDefinitions, td.ContainerDefinitions[0])
		}, "Container names must be unique within a Task Definition."},

		// Container memory and cpu.
		{"no memory anywhere", ec2Def, func(td *types.TaskDefinition) { td.ContainerDefinitions[0].Memory = nil },
			"Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' must be specified."},
		{"reservation above limit", ec2Def, func(td *types.TaskDefinition) { td.ContainerDefinitions[0].MemoryReservation = ptr(int32(129)) },
			"The memory reservation for container 'app' must be less than or equal to the memory limit."},
		{"container memory above task memory", ec2Def, func(td *types.TaskDefinition) {
			td.Memory = ptr("512")
			td.ContainerDefinitions[0].Memory = ptr(int32(513))
		}, "The 'memory' setting for container 'app' is greater than for the task."},
		{"negative container cpu", ec2Def, func(td *types.TaskDefinition) { td.ContainerDefinitions[0].Cpu = -1 }, "Invalid 'cpu' setting for container 'app'."},
		{"container cpu sum above task cpu", ec2Def, func(td *types.TaskDefinition) {
			td.Cpu = ptr("256")
			td.ContainerDefinitions = containers(2)
			td.ContainerDefinitions[0].Cpu = 200
			td.ContainerDefinitions[1].Cpu = 57
		}, "The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'."},
		{"reservation sum above task memory", ec2Def, func(td *types.TaskDefinition) {
			td.Memory = ptr("512")
			td.ContainerDefinitions = containers(2)
			for i := range td.ContainerDefinitions {
				td.ContainerDefinitions[i].Memory = nil
				td.ContainerDefinitions[i].MemoryReservation = ptr(int32(257))
			}
		}, "The sum of all container 'memoryReservation' values cannot be greater than the value of the task 'memory'."},

		// Logging.
		{"awslogs without options", ec2Def, func(td *types.TaskDefinition) { td.ContainerDefinitions[0].LogConfiguration = awslogs(nil) },
			"Log driver awslogs requires options: awslogs-region, awslogs-group"},
		{"awslogs without region", ec2Def, func(td *types.TaskDefinition) {
			td.ContainerDefinitions[0].LogConfiguration = awslogs(map[string]string{"awslogs-group": "/ecs/web"})
		}, "Log driver awslogs requires options: awslogs-region, awslogs-group"},
		{"awslogs without group", ec2Def, func(td *types.TaskDefinition) {
			td.ContainerDefinitions[0].LogConfiguration = awslogs(map[string]string{"awslogs-region": "eu-west-1"})
		}, "Log driver awslogs requires options: awslogs-region, awslogs-group"},

		// Port mappings.
		{"awsvpc host port differs", fargateDef, func(td *types.TaskDefinition) {
			td.ContainerDefinitions[0].PortMappings = []types.PortMapping{{ContainerPort: ptr(int32(80)), HostPort: ptr(int32(8080))}}
		}, "When networkMode=awsvpc, the host ports and container ports in port mappings must match."},
		{"host mode host port differs", ec2Def, func(td *types.TaskDefinition) {
			td.NetworkMode = types.NetworkModeHost
			td.ContainerDefinitions[0].PortMappings = []types.PortMapping{{ContainerPort: ptr(int32(80)), HostPort: ptr(int32(8080))}}
		}, "When networkMode=host, the host ports and container ports in port mappings must match."},

		// Container dependencies.
		{"depends on unknown container", ec2Def, func(td *types.TaskDefinition) {
			td.ContainerDefinitions[0].DependsOn = []types.ContainerDependency{{ContainerName: ptr("db"), Condition: types.ContainerConditionStart}}
		}, "Container 'app' depends on a container that is not defined in the task definition."},
		{"SUCCESS dependency on essential container", ec2Def, func(td *types.TaskDefinition) {
			td.ContainerDefinitions = containers(2)
			td.ContainerDefinitions[1].DependsOn = []types.ContainerDependency{{ContainerName: ptr("c0"), Condition: types.ContainerConditionSuccess}}
		}, "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container"},
		{"COMPLETE dependency on explicitly essential container", ec2Def, func(td *types.TaskDefinition) {
			td.ContainerDefinitions = containers(2)
			td.ContainerDefinitions[0].Essential = ptr(true)
			td.ContainerDefinitions[1].DependsOn = []types.ContainerDependency{{ContainerName: ptr("c0"), Condition: types.ContainerConditionComplete}}
		}, "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td := tt.base()
			tt.edit(&td)
			_, err := ecs.PrepareTaskDefinition(td)
			wantError(t, err, "ClientException", tt.msg)
		})
	}
}

// TestPrepareTaskDefinitionAccepts covers the near misses of the error
// cases above: each is one step inside a limit.
func TestPrepareTaskDefinitionAccepts(t *testing.T) {
	tests := []struct {
		name string
		base func() types.TaskDefinition
		edit func(td *types.TaskDefinition)
	}{
		{"family 255 chars", ec2Def, func(td *types.TaskDefinition) { td.Family = ptr(strings.Repeat("f", 255)) }},
		{"10 containers", ec2Def, func(td *types.TaskDefinition) { td.ContainerDefinitions = containers(10) }},
		{"container name 255 chars", ec2Def, func(td *types.TaskDefinition) { td.ContainerDefinitions[0].Name = ptr(strings.Repeat("n", 255)) }},
		{"container image 255 chars", ec2Def, func(td *types.TaskDefinition) { td.ContainerDefinitions[0].Image = ptr(strings.Repeat("i", 255)) }},
		{"task memory instead of container memory", ec2Def, func(td *types.TaskDefinition) {
			td.Memory = ptr("512")
			td.ContainerDefinitions[0].Memory = nil
		}},
		{"reservation only", ec2Def, func(td *types.TaskDefinition) {
			td.ContainerDefinitions[0].Memory = nil
			td.ContainerDefinitions[0].MemoryReservation = ptr(int32(64))
		}},
		{"reservation equal to limit", ec2Def, func(td *types.TaskDefinition) { td.ContainerDefinitions[0].MemoryReservation = ptr(int32(128)) }},
		{"container memory equal to task memory", ec2Def, func(td *types.TaskDefinition) {
			td.Memory = ptr("512")
			td.ContainerDefinitions[0].Memory = ptr(int32(512))
		}},
		{"container cpu sum equal to task cpu", ec2Def, func(td *types.TaskDefinition) {
			td.Cpu = ptr("256")
			td.ContainerDefinitions = containers(2)
			td.ContainerDefinitions[0].Cpu = 200
			td.ContainerDefinitions[1].Cpu = 56
		}},
		{"task cpu 128", ec2Def, func(td *types.TaskDefinition) { td.Cpu = ptr("128") }},
		{"task cpu 196608", ec2Def, func(td *types.TaskDefinition) { td.Cpu = ptr("196608") }},
		{"EC2 size that Fargate lacks", ec2Def, func(td *types.TaskDefinition) { td.Cpu, td.Memory = ptr("1024"), ptr("1024") }},
		{"fargate awslogs with execution role", fargateDef, func(td *types.TaskDefinition) {
			td.ExecutionRoleArn = ptr("arn:aws:iam::123456789012:role/exec")
			td.ContainerDefinitions[0].LogConfiguration = &types.LogConfiguration{LogDriver: types.LogDriverAwslogs,
				Options: map[string]string{"awslogs-group": "/ecs/web", "awslogs-region": "eu-west-1"}}
		}},
		{"non-awslogs driver without options", ec2Def, func(td *types.TaskDefinition) {
			td.ContainerDefinitions[0].LogConfiguration = &types.LogConfiguration{LogDriver: types.LogDriverJsonFile}
		}},
		{"awsvpc matching host port", fargateDef, func(td *types.TaskDefinition) {
			td.ContainerDefinitions[0].PortMappings = []types.PortMapping{{ContainerPort: ptr(int32(80)), HostPort: ptr(int32(80))}}
		}},
		{"bridge host port differs", ec2Def, func(td *types.TaskDefinition) {
			td.ContainerDefinitions[0].PortMappings = []types.PortMapping{{ContainerPort: ptr(int32(80)), HostPort: ptr(int32(8080))}}
		}},
		{"START dependency on essential container", ec2Def, func(td *types.TaskDefinition) {
			td.ContainerDefinitions = containers(2)
			td.ContainerDefinitions[1].DependsOn = []types.ContainerDependency{{ContainerName: ptr("c0"), Condition: types.ContainerConditionStart}}
		}},
		{"SUCCESS dependency on non-essential container", ec2Def, func(td *types.TaskDefinition) {
			td.ContainerDefinitions = containers(2)
			td.ContainerDefinitions[0].Essential = ptr(false)
			td.ContainerDefinitions[1].DependsOn = []types.ContainerDependency{{ContainerName: ptr("c0"), Condition: types.ContainerConditionSuccess}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td := tt.base()
			tt.edit(&td)
			if _, err := ecs.PrepareTaskDefinition(td); err != nil {
				t.Fatalf("PrepareTaskDefinition: %v", err)
			}
		})
	}
}

// fargateMemory lists, per task cpu, the memory sizes (MiB) Fargate offers,
// written out from the model's documentation of TaskDefinition.memory.
func fargateMemory() map[int][]int {
	steps := func(lo, hi, step int) []int {
		var out []int
		for m := lo; m <= hi; m += step {
			out = append(out, m)
		}
		return out
	}
	return map[int][]int{
		256:   {512, 1024, 2048},
		512:   steps(1024, 4096, 1024),       // 1 GB to 4 GB
		1024:  steps(2048, 8192, 1024),       // 2 GB to 8 GB
		2048:  steps(4096, 16384, 1024),      // 4 GB to 16 GB in 1 GB steps
		4096:  steps(8192, 30720, 1024),      // 8 GB to 30 GB in 1 GB steps
		8192:  steps(16*1024, 60*1024, 4096), // 16 GB to 60 GB in 4 GB steps
		16384: steps(32*1024, 120*1024, 8192),
	}
}

func TestFargateSizes(t *testing.T) {
	valid := fargateMemory()
	n := 0
	for cpu, mems := range valid {
		for _, mem := range mems {
			n++
			td := fargateDef()
			td.Cpu, td.Memory = ptr(fmt.Sprint(cpu)), ptr(fmt.Sprint(mem))
			got, err := ecs.PrepareTaskDefinition(td)
			if err != nil {
				t.Errorf("cpu %d memory %d: %v", cpu, mem, err)
				continue
			}
			if !slices.Contains(got.Compatibilities, types.CompatibilityFargate) {
				t.Errorf("cpu %d memory %d: compatibilities %v lack FARGATE", cpu, mem, got.Compatibilities)
			}
			if !ecs.FargateSizeValid(cpu, mem) {
				t.Errorf("FargateSizeValid(%d, %d) = false", cpu, mem)
			}
		}
	}
	if n != 74 {
		t.Errorf("table has %d valid pairs, want 74", n)
	}

	// Neighbours of the table: one step below, one step above, and off
	// the step grid, for each cpu; and cpu values Fargate lacks.
	type pair struct{ cpu, mem int }
	var invalid []pair
	for cpu, mems := range valid {
		lo, hi := mems[0], mems[len(mems)-1]
		step := mems[1] - mems[0]
		invalid = append(invalid, pair{cpu, lo - min(step, lo/2)}, pair{cpu, hi + step}, pair{cpu, lo + step/2})
		if cpu == 256 {
			invalid = append(invalid, pair{cpu, 1536}) // between 1 GB and 2 GB
		}
	}
	invalid = append(invalid, pair{128, 512}, pair{384, 1024}, pair{1023, 2048}, pair{1025, 2048}, pair{32768, 65536})
	for _, p := range invalid {
		if slices.Contains(valid[p.cpu], p.mem) {
			t.Fatalf("neighbour %v is in the valid table", p)
		}
		td := fargateDef()
		td.Cpu, td.Memory = ptr(fmt.Sprint(p.cpu)), ptr(fmt.Sprint(p.mem))
		_, err := ecs.PrepareTaskDefinition(td)
		wantError(t, err, "ClientException", fmt.Sprintf(
			"No Fargate configuration exists for given values: %d CPU, %d memory. See the Amazon ECS documentation for the valid values.", p.cpu, p.mem))
		if ecs.FargateSizeValid(p.cpu, p.mem) {
			t.Errorf("FargateSizeValid(%d, %d) = true", p.cpu, p.mem)
		}
		// Without requiring Fargate the same awsvpc definition registers,
		// but is not Fargate-compatible.
		td.RequiresCompatibilities = nil
		got, err := ecs.PrepareTaskDefinition(td)
		if err != nil {
			t.Errorf("cpu %d memory %d without FARGATE: %v", p.cpu, p.mem, err)
		} else if slices.Contains(got.Compatibilities, types.CompatibilityFargate) {
			t.Errorf("cpu %d memory %d: compatibilities %v include FARGATE", p.cpu, p.mem, got.Compatibilities)
		}
	}
}

func TestPrepareTaskDefinitionNormalisesSizes(t *testing.T) {
	tests := []struct {
		cpu, mem         string
		wantCPU, wantMem string
	}{
		{"1 vCPU", "2 GB", "1024", "2048"},
		{"1 vcpu", "2 gb", "1024", "2048"},
		{"1vCPU", "2GB", "1024", "2048"},
		{"0.25 vCPU", "0.5 GB", "256", "512"},
		{"0.5 vCPU", "1 GB", "512", "1024"},
		{"16 vCPU", "120 GB", "16384", "122880"},
		{"1024", "2048", "1024", "2048"},
		{" 1024 ", " 2048 ", "1024", "2048"},
	}
	for _, tt := range tests {
		t.Run(tt.cpu+"/"+tt.mem, func(t *testing.T) {
			td := fargateDef()
			td.Cpu, td.Memory = ptr(tt.cpu), ptr(tt.mem)
			got, err := ecs.PrepareTaskDefinition(td)
			if err != nil {
				t.Fatal(err)
			}
			if *got.Cpu != tt.wantCPU || *got.Memory != tt.wantMem {
				t.Errorf("cpu, memory = %q, %q; want %q, %q", *got.Cpu, *got.Memory, tt.wantCPU, tt.wantMem)
			}
			if *td.Cpu != tt.cpu || *td.Memory != tt.mem {
				t.Errorf("input changed to %q, %q", *td.Cpu, *td.Memory)
			}
		})
	}
}

func TestPrepareTaskDefinitionDefaults(t *testing.T) {
	t.Run("bridge", func(t *testing.T) {
		td := ec2Def()
		td.ContainerDefinitions = []types.ContainerDefinition{
			{
				Name: ptr("app"), Image: ptr("nginx"), Memory: ptr(int32(128)),
				PortMappings: []types.PortMapping{
					{ContainerPort: ptr(int32(80))},
					{ContainerPort: ptr(int32(53)), HostPort: ptr(int32(5353)), Protocol: types.TransportProtocolUdp},
					{ContainerPortRange: ptr("8000-8010")},
				},
				HealthCheck: &types.HealthCheck{Command: []string{"CMD", "true"}},
			},
			{
				Name: ptr("sidecar"), Image: ptr("busybox"), Memory: ptr(int32(16)), Essential: ptr(false),
				HealthCheck: &types.HealthCheck{Command: []string{"CMD", "true"}, Interval: ptr(int32(10)),
					Timeout: ptr(int32(2)), Retries: ptr(int32(1)), StartPeriod: ptr(int32(60))},
			},
		}
		got, err := ecs.PrepareTaskDefinition(td)
		if err != nil {
			t.Fatal(err)
		}
		want := []types.ContainerDefinition{
			{
				Name: ptr("app"), Image: ptr("nginx"), Memory: ptr(int32(128)), Essential: ptr(true),
				PortMappings: []types.PortMapping{
					{ContainerPort: ptr(int32(80)), HostPort: ptr(int32(0)), Protocol: types.TransportProtocolTcp},
					{ContainerPort: ptr(int32(53)), HostPort: ptr(int32(5353)), Protocol: types.TransportProtocolUdp},
					{ContainerPortRange: ptr("8000-8010"), Protocol: types.TransportProtocolTcp},
				},
				// startPeriod is not filled in.
				HealthCheck: &types.HealthCheck{Command: []string{"CMD", "true"}, Interval: ptr(int32(30)),
					Timeout: ptr(int32(5)), Retries: ptr(int32(3))},
				Environment:    []types.KeyValuePair{},
				MountPoints:    []types.MountPoint{},
				VolumesFrom:    []types.VolumeFrom{},
				SystemControls: []types.SystemControl{},
			},
			{
				Name: ptr("sidecar"), Image: ptr("busybox"), Memory: ptr(int32(16)), Essential: ptr(false),
				PortMappings: []types.PortMapping{},
				HealthCheck: &types.HealthCheck{Command: []string{"CMD", "true"}, Interval: ptr(int32(10)),
					Timeout: ptr(int32(2)), Retries: ptr(int32(1)), StartPeriod: ptr(int32(60))},
				Environment:    []types.KeyValuePair{},
				MountPoints:    []types.MountPoint{},
				VolumesFrom:    []types.VolumeFrom{},
				SystemControls: []types.SystemControl{},
			},
		}
		// cmp tells nil from empty slices: ECS returns the empty lists.
		if diff := cmp.Diff(want, got.ContainerDefinitions, ignoreUnexported); diff != "" {
			t.Errorf("containers (-want +got):\n%s", diff)
		}
		if got.Volumes == nil || len(got.Volumes) != 0 {
			t.Errorf("volumes = %#v, want empty, not nil", got.Volumes)
		}
		if got.PlacementConstraints == nil || len(got.PlacementConstraints) != 0 {
			t.Errorf("placementConstraints = %#v, want empty, not nil", got.PlacementConstraints)
		}
		// Members ECS does not invent stay absent.
		if got.NetworkMode != "" || got.RequiresCompatibilities != nil || got.Cpu != nil || got.Memory != nil {
			t.Errorf("networkMode %q, requiresCompatibilities %v, cpu %v, memory %v: want all absent",
				got.NetworkMode, got.RequiresCompatibilities, got.Cpu, got.Memory)
		}
		// Lifecycle members are the registry's.
		if got.TaskDefinitionArn != nil || got.Revision != 0 || got.Status != "" || got.RegisteredAt != nil {
			t.Errorf("lifecycle members set: arn %v revision %d status %q registeredAt %v",
				got.TaskDefinitionArn, got.Revision, got.Status, got.RegisteredAt)
		}
	})

	t.Run("awsvpc host port follows container port", func(t *testing.T) {
		td := fargateDef()
		td.ContainerDefinitions[0].PortMappings = []types.PortMapping{
			{ContainerPort: ptr(int32(80))},
			{ContainerPort: ptr(int32(443)), HostPort: ptr(int32(443)), Protocol: types.TransportProtocolTcp},
		}
		got, err := ecs.PrepareTaskDefinition(td)
		if err != nil {
			t.Fatal(err)
		}
		want := []types.PortMapping{
			{ContainerPort: ptr(int32(80)), HostPort: ptr(int32(80)), Protocol: types.TransportProtocolTcp},
			{ContainerPort: ptr(int32(443)), HostPort: ptr(int32(443)), Protocol: types.TransportProtocolTcp},
		}
		if diff := cmp.Diff(want, got.ContainerDefinitions[0].PortMappings, ignoreUnexported); diff != "" {
			t.Errorf("port mappings (-want +got):\n%s", diff)
		}
	})

	t.Run("host mode host port follows container port", func(t *testing.T) {
		td := ec2Def()
		td.NetworkMode = types.NetworkModeHost
		td.ContainerDefinitions[0].PortMappings = []types.PortMapping{{ContainerPort: ptr(int32(8080))}}
		got, err := ecs.PrepareTaskDefinition(td)
		if err != nil {
			t.Fatal(err)
		}
		if hp := got.ContainerDefinitions[0].PortMappings[0].HostPort; hp == nil || *hp != 8080 {
			t.Errorf("hostPort = %v, want 8080", hp)
		}
	})
}

func TestPrepareTaskDefinitionCompatibilities(t *testing.T) {
	tests := []struct {
		name string
		base func() types.TaskDefinition
		edit func(td *types.TaskDefinition)
		want []types.Compatibility
	}{
		{"bridge", ec2Def, func(*types.TaskDefinition) {}, []types.Compatibility{"EXTERNAL", "EC2"}},
		{"host", ec2Def, func(td *types.TaskDefinition) { td.NetworkMode = types.NetworkModeHost }, []types.Compatibility{"EXTERNAL", "EC2"}},
		{"bridge with Fargate sizes", ec2Def, func(td *types.TaskDefinition) { td.Cpu, td.Memory = ptr("256"), ptr("512") }, []types.Compatibility{"EXTERNAL", "EC2"}},
		{"awsvpc without sizes", ec2Def, func(td *types.TaskDefinition) { td.NetworkMode = types.NetworkModeAwsvpc }, []types.Compatibility{"EC2"}},
		{"awsvpc with Fargate sizes", ec2Def, func(td *types.TaskDefinition) {
			td.NetworkMode, td.Cpu, td.Memory = types.NetworkModeAwsvpc, ptr("256"), ptr("512")
		}, []types.Compatibility{"EC2", "FARGATE"}},
		{"awsvpc with Fargate sizes and ipcMode", ec2Def, func(td *types.TaskDefinition) {
			td.NetworkMode, td.Cpu, td.Memory, td.IpcMode = types.NetworkModeAwsvpc, ptr("256"), ptr("512"), types.IpcModeHost
		}, []types.Compatibility{"EC2"}},
		{"awsvpc with Fargate sizes and pidMode host", ec2Def, func(td *types.TaskDefinition) {
			td.NetworkMode, td.Cpu, td.Memory, td.PidMode = types.NetworkModeAwsvpc, ptr("256"), ptr("512"), types.PidModeHost
		}, []types.Compatibility{"EC2"}},
		{"fargate pidMode task", fargateDef, func(td *types.TaskDefinition) { td.PidMode = types.PidModeTask }, []types.Compatibility{"EC2", "FARGATE"}},
		{"requires FARGATE", fargateDef, func(*types.TaskDefinition) {}, []types.Compatibility{"EC2", "FARGATE"}},
		{"requires EC2 and FARGATE", fargateDef, func(td *types.TaskDefinition) {
			td.RequiresCompatibilities = []types.Compatibility{types.CompatibilityEc2, types.CompatibilityFargate}
		}, []types.Compatibility{"EC2", "FARGATE"}},
		{"requires MANAGED_INSTANCES", ec2Def, func(td *types.TaskDefinition) {
			td.RequiresCompatibilities = []types.Compatibility{types.CompatibilityManagedInstances}
		}, []types.Compatibility{"EXTERNAL", "EC2", "MANAGED_INSTANCES"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td := tt.base()
			tt.edit(&td)
			got, err := ecs.PrepareTaskDefinition(td)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Compatibilities); diff != "" {
				t.Errorf("compatibilities (-want +got):\n%s", diff)
			}
			// requiresCompatibilities is echoed, never computed.
			if diff := cmp.Diff(td.RequiresCompatibilities, got.RequiresCompatibilities); diff != "" {
				t.Errorf("requiresCompatibilities changed (-sent +got):\n%s", diff)
			}
		})
	}
}

func TestPrepareTaskDefinitionRequiresAttributes(t *testing.T) {
	const (
		capP    = "com.amazonaws.ecs.capability."
		api118  = capP + "docker-remote-api.1.18"
		api119  = capP + "docker-remote-api.1.19"
		execRol = "arn:aws:iam::123456789012:role/exec"
		ecrImg  = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:latest"
	)
	c0 := func(td *types.TaskDefinition) *types.ContainerDefinition { return &td.ContainerDefinitions[0] }
	awslogs := &types.LogConfiguration{LogDriver: types.LogDriverAwslogs,
		Options: map[string]string{"awslogs-group": "/ecs/web", "awslogs-region": "eu-west-1"}}
	tests := []struct {
		name string
		base func() types.TaskDefinition
		edit func(td *types.TaskDefinition)
		want []string
	}{
		{"minimal", ec2Def, func(*types.TaskDefinition) {}, []string{api118}},
		{"minimal Fargate", fargateDef, func(*types.TaskDefinition) {}, []string{api118, "ecs.capability.task-eni"}},
		{"task role", ec2Def, func(td *types.TaskDefinition) { td.TaskRoleArn = ptr("arn:aws:iam::123456789012:role/task") },
			[]string{api118, capP + "task-iam-role"}},
		{"task role on host network", ec2Def, func(td *types.TaskDefinition) {
			td.TaskRoleArn = ptr("arn:aws:iam::123456789012:role/task")
			td.NetworkMode = types.NetworkModeHost
		}, []string{api118, capP + "task-iam-role", capP + "task-iam-role-network-host"}},
		{"awslogs", ec2Def, func(td *types.TaskDefinition) { c0(td).LogConfiguration = awslogs },
			[]string{api118, api119, capP + "logging-driver.awslogs"}},
		{"awslogs with execution role", ec2Def, func(td *types.TaskDefinition) {
			c0(td).LogConfiguration = awslogs
			td.ExecutionRoleArn = ptr(execRol)
		}, []string{api118, api119, capP + "logging-driver.awslogs", "ecs.capability.execution-role-awslogs"}},
		{"log driver without options", ec2Def, func(td *types.TaskDefinition) {
			c0(td).LogConfiguration = &types.LogConfiguration{LogDriver: types.LogDriverJsonFile}
		}, []string{api118, capP + "logging-driver.json-file"}},
		{"ECR image", ec2Def, func(td *types.TaskDefinition) { c0(td).Image = ptr(ecrImg) },
			[]string{api118, api119, capP + "ecr-auth"}},
		{"ECR image with execution role", ec2Def, func(td *types.TaskDefinition) {
			c0(td).Image = ptr(ecrImg)
			td.ExecutionRoleArn = ptr(execRol)
		}, []string{api118, api119, capP + "ecr-auth", "ecs.capability.execution-role-ecr-pull"}},
		{"Docker Hub image with execution role", ec2Def, func(td *types.TaskDefinition) { td.ExecutionRoleArn = ptr(execRol) },
			[]string{api118}},
		{"health check", ec2Def, func(td *types.TaskDefinition) {
			c0(td).HealthCheck = &types.HealthCheck{Command: []string{"CMD", "true"}}
		},
			[]string{api118, "ecs.capability.container-health-check"}},
		{"init process", ec2Def, func(td *types.TaskDefinition) {
			c0(td).LinuxParameters = &types.LinuxParameters{InitProcessEnabled: ptr(true)}
		}, []string{api118, capP + "docker-remote-api.1.25"}},
		{"linux parameters without init process", ec2Def, func(td *types.TaskDefinition) {
			c0(td).LinuxParameters = &types.LinuxParameters{SharedMemorySize: ptr(int32(64))}
		}, []string{api118}},
		{"dependsOn", ec2Def, func(td *types.TaskDefinition) {
			td.ContainerDefinitions = containers(2)
			td.ContainerDefinitions[1].DependsOn = []types.ContainerDependency{{ContainerName: ptr("c0"), Condition: types.ContainerConditionStart}}
		}, []string{api118, "ecs.capability.container-ordering"}},
		{"Secrets Manager secret", ec2Def, func(td *types.TaskDefinition) {
			c0(td).Secrets = []types.Secret{{Name: ptr("DB"), ValueFrom: ptr("arn:aws:secretsmanager:eu-west-1:123456789012:secret:db")}}
		}, []string{api118, "ecs.capability.secrets.asm.environment-variables"}},
		{"SSM secret", ec2Def, func(td *types.TaskDefinition) {
			c0(td).Secrets = []types.Secret{{Name: ptr("DB"), ValueFrom: ptr("arn:aws:ssm:eu-west-1:123456789012:parameter/db")}}
		}, []string{api118, "ecs.capability.secrets.ssm.environment-variables"}},
		{"repository credentials", ec2Def, func(td *types.TaskDefinition) {
			c0(td).RepositoryCredentials = &types.RepositoryCredentials{CredentialsParameter: ptr("arn:aws:secretsmanager:eu-west-1:123456789012:secret:hub")}
		}, []string{api118, "ecs.capability.private-registry-authentication.secretsmanager"}},
		{"environment files", ec2Def, func(td *types.TaskDefinition) {
			c0(td).EnvironmentFiles = []types.EnvironmentFile{{Type: types.EnvironmentFileTypeS3, Value: ptr("arn:aws:s3:::bucket/web.env")}}
		}, []string{api118, "ecs.capability.env-files.s3"}},
		{"firelens", ec2Def, func(td *types.TaskDefinition) {
			c0(td).FirelensConfiguration = &types.FirelensConfiguration{Type: types.FirelensConfigurationTypeFluentbit}
		}, []string{api118, "ecs.capability.firelens.fluentbit"}},
		{"runtime platform", fargateDef, func(td *types.TaskDefinition) {
			td.RuntimePlatform = &types.RuntimePlatform{CpuArchitecture: types.CPUArchitectureArm64, OperatingSystemFamily: types.OSFamilyLinux}
		}, []string{api118, "ecs.capability.task-eni", capP + "docker-remote-api.1.29"}},
		{"EFS volume", ec2Def, func(td *types.TaskDefinition) {
			td.Volumes = []types.Volume{{Name: ptr("data"), EfsVolumeConfiguration: &types.EFSVolumeConfiguration{FileSystemId: ptr("fs-1")}}}
		}, []string{api118, "ecs.capability.efs"}},
		{"EFS volume with access point", ec2Def, func(td *types.TaskDefinition) {
			td.Volumes = []types.Volume{{Name: ptr("data"), EfsVolumeConfiguration: &types.EFSVolumeConfiguration{FileSystemId: ptr("fs-1"),
				AuthorizationConfig: &types.EFSAuthorizationConfig{AccessPointId: ptr("fsap-1")}}}}
		}, []string{api118, "ecs.capability.efs", "ecs.capability.efsAuth"}},
		{"App Mesh proxy", fargateDef, func(td *types.TaskDefinition) {
			td.ProxyConfiguration = &types.ProxyConfiguration{ContainerName: ptr("app"), Type: types.ProxyConfigurationTypeAppmesh}
		}, []string{api118, "ecs.capability.task-eni", "ecs.capability.aws-appmesh"}},
		{"every container with awslogs lists each attribute once", ec2Def, func(td *types.TaskDefinition) {
			td.ContainerDefinitions = containers(3)
			for i := range td.ContainerDefinitions {
				td.ContainerDefinitions[i].LogConfiguration = awslogs
				td.ContainerDefinitions[i].HealthCheck = &types.HealthCheck{Command: []string{"CMD", "true"}}
			}
		}, []string{api118, api119, capP + "logging-driver.awslogs", "ecs.capability.container-health-check"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td := tt.base()
			tt.edit(&td)
			got, err := ecs.PrepareTaskDefinition(td)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, a := range got.RequiresAttributes {
				if a.Name == nil {
					t.Fatalf("attribute without a name: %#v", a)
				}
				if a.Value != nil || a.TargetId != nil || a.TargetType != "" {
					t.Errorf("attribute %s carries more than a name: %#v", *a.Name, a)
				}
				names = append(names, *a.Name)
			}
			// ECS lists them in no particular order, but never twice.
			if dups := len(names) - len(slices.Compact(slices.Sorted(slices.Values(names)))); dups != 0 {
				t.Errorf("requiresAttributes has %d duplicates: %v", dups, names)
			}
			slices.Sort(names)
			want := slices.Sorted(slices.Values(tt.want))
			if diff := cmp.Diff(want, names); diff != "" {
				t.Errorf("requiresAttributes (-want +got):\n%s", diff)
			}
		})
	}
}

// richDef uses every member PrepareTaskDefinition reads or fills. It is
// built afresh on each call, which makes a deep copy without reflection.
func richDef() types.TaskDefinition {
	return types.TaskDefinition{
		Family:                  ptr("web"),
		NetworkMode:             types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     ptr("1 vCPU"),
		Memory:                  ptr("2 GB"),
		ExecutionRoleArn:        ptr("arn:aws:iam::123456789012:role/exec"),
		TaskRoleArn:             ptr("arn:aws:iam::123456789012:role/task"),
		RuntimePlatform:         &types.RuntimePlatform{CpuArchitecture: types.CPUArchitectureX8664},
		Volumes:                 []types.Volume{{Name: ptr("data")}},
		ContainerDefinitions: []types.ContainerDefinition{
			{
				Name: ptr("app"), Image: ptr("123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1"), Cpu: 512,
				PortMappings: []types.PortMapping{{ContainerPort: ptr(int32(80))}, {ContainerPort: ptr(int32(443)), HostPort: ptr(int32(443))}},
				HealthCheck:  &types.HealthCheck{Command: []string{"CMD", "true"}},
				LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs,
					Options: map[string]string{"awslogs-group": "/ecs/web", "awslogs-region": "eu-west-1"}},
				Environment: []types.KeyValuePair{{Name: ptr("A"), Value: ptr("1")}},
				DependsOn:   []types.ContainerDependency{{ContainerName: ptr("init"), Condition: types.ContainerConditionSuccess}},
			},
			{Name: ptr("init"), Image: ptr("busybox"), Essential: ptr(false), HealthCheck: &types.HealthCheck{Command: []string{"CMD", "true"}, Interval: ptr(int32(5))}},
		},
	}
}

func TestPrepareTaskDefinitionDoesNotModifyInput(t *testing.T) {
	t.Run("success", func(t *testing.T) {
		in := richDef()
		got, err := ecs.PrepareTaskDefinition(in)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(richDef(), in, ignoreUnexported); diff != "" {
			t.Errorf("input modified (-before +after):\n%s", diff)
		}
		// The result owns the lists it filled in: changing them leaves the
		// caller's value alone.
		got.ContainerDefinitions[0].PortMappings[0].Protocol = types.TransportProtocolUdp
		got.ContainerDefinitions[0].HealthCheck.Interval = ptr(int32(99))
		got.ContainerDefinitions[1].Name = ptr("changed")
		if diff := cmp.Diff(richDef(), in, ignoreUnexported); diff != "" {
			t.Errorf("changing the result changed the input (-before +after):\n%s", diff)
		}
	})
	t.Run("error after defaults applied to an earlier container", func(t *testing.T) {
		mk := func() types.TaskDefinition {
			td := richDef()
			td.ContainerDefinitions[1].PortMappings = []types.PortMapping{{ContainerPort: ptr(int32(80)), HostPort: ptr(int32(81))}}
			return td
		}
		in := mk()
		_, err := ecs.PrepareTaskDefinition(in)
		wantError(t, err, "ClientException", "When networkMode=awsvpc, the host ports and container ports in port mappings must match.")
		if diff := cmp.Diff(mk(), in, ignoreUnexported); diff != "" {
			t.Errorf("input modified (-before +after):\n%s", diff)
		}
	})
}

func TestValidateTags(t *testing.T) {
	tag := func(k, v string) types.Tag { return types.Tag{Key: ptr(k), Value: ptr(v)} }
	many := func(n int) []types.Tag {
		out := make([]types.Tag, n)
		for i := range out {
			out[i] = tag(fmt.Sprintf("k%d", i), "v")
		}
		return out
	}
	const (
		keyLen   = "Tag keys must be between 1 and 128 characters."
		valueLen = "Tag values must be at most 256 characters."
		chars    = "Tag keys and values may only contain Unicode letters, digits, white space, and the characters _ . : / = + - @."
		reserved = "Tag keys with the aws: prefix are reserved for AWS use."
	)
	tests := []struct {
		name     string
		tags     []types.Tag
		wantCode string // "" for success
		wantMsg  string
	}{
		{name: "absent", tags: nil},
		{name: "empty list", tags: []types.Tag{}, wantCode: "ClientException", wantMsg: "Tags can not be empty."},
		{name: "one", tags: []types.Tag{tag("team", "web")}},
		{name: "50", tags: many(50)},
		{name: "51", tags: many(51), wantCode: "InvalidParameterException", wantMsg: "Tags can have at most 50 items."},
		{name: "value absent", tags: []types.Tag{{Key: ptr("team")}}},
		{name: "value empty", tags: []types.Tag{tag("team", "")}},
		{name: "every allowed punctuation", tags: []types.Tag{tag("a b_.:/=+-@", "a b_.:/=+-@")}},
		{name: "unicode letters and digits", tags: []types.Tag{tag("\u043a\u043b\u044e\u0447\u0669", "\u00e9t\u00e9")}},
		{name: "key absent", tags: []types.Tag{{Value: ptr("v")}}, wantCode: "InvalidParameterException", wantMsg: keyLen},
		{name: "key empty", tags: []types.Tag{tag("", "v")}, wantCode: "InvalidParameterException", wantMsg: keyLen},
		{name: "key 128 characters", tags: []types.Tag{tag(strings.Repeat("k", 128), "v")}},
		// Lengths count characters, not bytes.
		{name: "key 128 two-byte characters", tags: []types.Tag{tag(strings.Repeat("\u00e9", 128), "v")}},
		{name: "key 129 characters", tags: []types.Tag{tag(strings.Repeat("k", 129), "v")}, wantCode: "InvalidParameterException", wantMsg: keyLen},
		{name: "value 256 characters", tags: []types.Tag{tag("k", strings.Repeat("\u00e9", 256))}},
		{name: "value 257 characters", tags: []types.Tag{tag("k", strings.Repeat("v", 257))}, wantCode: "InvalidParameterException", wantMsg: valueLen},
		{name: "key with asterisk", tags: []types.Tag{tag("a*b", "v")}, wantCode: "InvalidParameterException", wantMsg: chars},
		{name: "value with asterisk", tags: []types.Tag{tag("k", "a*b")}, wantCode: "InvalidParameterException", wantMsg: chars},
		{name: "value with newline", tags: []types.Tag{tag("k", "a\nb")}, wantCode: "InvalidParameterException", wantMsg: chars},
		{name: "aws: prefix", tags: []types.Tag{tag("aws:cloudformation:stack-name", "s")}, wantCode: "InvalidParameterException", wantMsg: reserved},
		{name: "AWS: prefix in capitals", tags: []types.Tag{tag("AWS:x", "s")}, wantCode: "InvalidParameterException", wantMsg: reserved},
		{name: "aws without colon", tags: []types.Tag{tag("awsome", "s")}},
		{name: "aws: in a value", tags: []types.Tag{tag("k", "aws:x")}},
		{name: "bad tag after good ones", tags: append(many(3), tag("", "v")), wantCode: "InvalidParameterException", wantMsg: keyLen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ecs.ValidateTags(tt.tags)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("ValidateTags: %v", err)
				}
				return
			}
			wantError(t, err, tt.wantCode, tt.wantMsg)
		})
	}
}

// ECS answers an EFS volume registered without rootDirectory with "/"
// (terraform-provider-aws#26793 shows it read back); one given keeps it.
func TestPrepareTaskDefinitionEFSRootDirectory(t *testing.T) {
	mk := func() types.TaskDefinition {
		td := ec2Def()
		td.Volumes = []types.Volume{
			{Name: ptr("bare"), EfsVolumeConfiguration: &types.EFSVolumeConfiguration{FileSystemId: ptr("fs-1")}},
			{Name: ptr("sub"), EfsVolumeConfiguration: &types.EFSVolumeConfiguration{FileSystemId: ptr("fs-1"), RootDirectory: ptr("/data")}},
			{Name: ptr("scratch")},
		}
		return td
	}
	in := mk()
	got, err := ecs.PrepareTaskDefinition(in)
	if err != nil {
		t.Fatal(err)
	}
	if r := got.Volumes[0].EfsVolumeConfiguration.RootDirectory; r == nil || *r != "/" {
		t.Errorf("bare volume rootDirectory = %v, want \"/\"", r)
	}
	if r := got.Volumes[1].EfsVolumeConfiguration.RootDirectory; r == nil || *r != "/data" {
		t.Errorf("explicit rootDirectory = %v, want \"/data\"", r)
	}
	if got.Volumes[2].EfsVolumeConfiguration != nil {
		t.Errorf("non-EFS volume gained an EFS configuration")
	}
	if diff := cmp.Diff(mk(), in, ignoreUnexported); diff != "" {
		t.Errorf("input modified (-before +after):\n%s", diff)
	}
}
