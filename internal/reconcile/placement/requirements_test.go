package placement

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

func i32(v int32) *int32   { return &v }
func str(s string) *string { return &s }

func TestRequirementsFor(t *testing.T) {
	web := func(pms ...types.PortMapping) types.ContainerDefinition {
		return types.ContainerDefinition{Name: str("web"), Cpu: 256, Memory: i32(512), PortMappings: pms}
	}
	tests := []struct {
		name string
		td   types.TaskDefinition
		ov   *types.TaskOverride
		want Requirements
	}{
		{
			name: "task-level cpu and memory win over the containers'",
			td: types.TaskDefinition{Cpu: str("1024"), Memory: str("2048"), ContainerDefinitions: []types.ContainerDefinition{
				{Name: str("a"), Cpu: 128, Memory: i32(256)},
			}},
			want: Requirements{CPU: 1024, Memory: 2048},
		},
		{
			// "If you specify memoryReservation, then that value is subtracted
			// from the available memory resources ... Otherwise, the value of
			// memory is used."
			name: "without task-level values: sums, memoryReservation before memory",
			td: types.TaskDefinition{ContainerDefinitions: []types.ContainerDefinition{
				{Name: str("a"), Cpu: 128, Memory: i32(512), MemoryReservation: i32(128)},
				{Name: str("b"), Cpu: 256, Memory: i32(300)},
				{Name: str("c"), MemoryReservation: i32(64)},
			}},
			want: Requirements{CPU: 384, Memory: 128 + 300 + 64},
		},
		{
			name: "overrides: task level in units, container level",
			td: types.TaskDefinition{Cpu: str("256"), ContainerDefinitions: []types.ContainerDefinition{
				{Name: str("a"), Cpu: 128, Memory: i32(512)},
			}},
			ov: &types.TaskOverride{Cpu: str("1 vCPU"), ContainerOverrides: []types.ContainerOverride{
				{Name: str("a"), MemoryReservation: i32(100)},
			}},
			want: Requirements{CPU: 1024, Memory: 100},
		},
		{
			name: "task memory override in GB",
			td:   types.TaskDefinition{ContainerDefinitions: []types.ContainerDefinition{{Name: str("a"), Memory: i32(512)}}},
			ov:   &types.TaskOverride{Memory: str("2 GB")},
			want: Requirements{Memory: 2048},
		},
		{
			name: "GPUs from resourceRequirements, overridden per container",
			td: types.TaskDefinition{ContainerDefinitions: []types.ContainerDefinition{
				{Name: str("a"), Memory: i32(1), ResourceRequirements: []types.ResourceRequirement{{Type: types.ResourceTypeGpu, Value: str("2")}}},
				{Name: str("b"), Memory: i32(1), ResourceRequirements: []types.ResourceRequirement{{Type: types.ResourceTypeGpu, Value: str("1")}}},
			}},
			ov: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{
				{Name: str("b"), ResourceRequirements: []types.ResourceRequirement{{Type: types.ResourceTypeGpu, Value: str("3")}}},
			}},
			want: Requirements{Memory: 2, GPUs: 5},
		},
		{
			name: "bridge: static, dynamic (0 and none), udp, range",
			td: types.TaskDefinition{NetworkMode: types.NetworkModeBridge, ContainerDefinitions: []types.ContainerDefinition{web(
				types.PortMapping{ContainerPort: i32(80), HostPort: i32(8080)},
				types.PortMapping{ContainerPort: i32(81), HostPort: i32(0)},
				types.PortMapping{ContainerPort: i32(82)},
				types.PortMapping{ContainerPort: i32(53), HostPort: i32(53), Protocol: types.TransportProtocolUdp},
				types.PortMapping{ContainerPortRange: str("9000-9002")},
			)}},
			want: Requirements{CPU: 256, Memory: 512, Ports: []PortMapping{
				{Container: "web", ContainerPort: 80, HostPort: 8080, Count: 1, Protocol: TCP},
				{Container: "web", ContainerPort: 81, Count: 1, Protocol: TCP},
				{Container: "web", ContainerPort: 82, Count: 1, Protocol: TCP},
				{Container: "web", ContainerPort: 53, HostPort: 53, Count: 1, Protocol: UDP},
				{Container: "web", ContainerPortRange: "9000-9002", Count: 3, Protocol: TCP},
			}},
		},
		{
			name: "default network mode is bridge",
			td:   types.TaskDefinition{ContainerDefinitions: []types.ContainerDefinition{web(types.PortMapping{ContainerPort: i32(80)})}},
			want: Requirements{CPU: 256, Memory: 512, Ports: []PortMapping{{Container: "web", ContainerPort: 80, Count: 1, Protocol: TCP}}},
		},
		{
			name: "host: the container port is the host port",
			td: types.TaskDefinition{NetworkMode: types.NetworkModeHost, ContainerDefinitions: []types.ContainerDefinition{web(
				types.PortMapping{ContainerPort: i32(80), HostPort: i32(80)},
				types.PortMapping{ContainerPortRange: str("7000-7001")},
			)}},
			want: Requirements{CPU: 256, Memory: 512, Ports: []PortMapping{
				{Container: "web", ContainerPort: 80, HostPort: 80, Count: 1, Protocol: TCP},
				{Container: "web", ContainerPortRange: "7000-7001", HostPort: 7000, Count: 2, Protocol: TCP},
			}},
		},
		{
			name: "awsvpc takes no host ports",
			td: types.TaskDefinition{NetworkMode: types.NetworkModeAwsvpc, ContainerDefinitions: []types.ContainerDefinition{web(
				types.PortMapping{ContainerPort: i32(80), HostPort: i32(80)},
			)}},
			want: Requirements{CPU: 256, Memory: 512},
		},
		{
			name: "requiresAttributes",
			td: types.TaskDefinition{
				ContainerDefinitions: []types.ContainerDefinition{{Name: str("a"), Memory: i32(1)}},
				RequiresAttributes: []types.Attribute{
					{Name: str("com.amazonaws.ecs.capability.docker-remote-api.1.18")},
					{Name: str("ecs.cpu-architecture"), Value: str("arm64")},
				},
			},
			want: Requirements{Memory: 1, Attributes: []Attribute{
				{Name: "com.amazonaws.ecs.capability.docker-remote-api.1.18"},
				{Name: "ecs.cpu-architecture", Value: str("arm64")},
			}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RequirementsFor(tc.td, tc.ov)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("requirements (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRequirementsForRejects(t *testing.T) {
	for name, td := range map[string]types.TaskDefinition{
		"bad cpu":   {Cpu: str("lots"), ContainerDefinitions: []types.ContainerDefinition{{Name: str("a")}}},
		"bad gpu":   {ContainerDefinitions: []types.ContainerDefinition{{Name: str("a"), ResourceRequirements: []types.ResourceRequirement{{Type: types.ResourceTypeGpu, Value: str("x")}}}}},
		"bad range": {ContainerDefinitions: []types.ContainerDefinition{{Name: str("a"), PortMappings: []types.PortMapping{{ContainerPortRange: str("9-3")}}}}},
	} {
		if _, err := RequirementsFor(td, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestStaticPorts(t *testing.T) {
	r := Requirements{Ports: []PortMapping{
		{HostPort: 80, Count: 1, Protocol: TCP},
		{HostPort: 0, Count: 1, Protocol: TCP},
		{HostPort: 7000, Count: 3, Protocol: TCP},
		{HostPort: 53, Count: 1, Protocol: UDP},
	}}
	if diff := cmp.Diff([]int{80, 7000, 7001, 7002}, r.StaticPorts(TCP)); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff([]int{53}, r.StaticPorts(UDP)); diff != "" {
		t.Error(diff)
	}
}
