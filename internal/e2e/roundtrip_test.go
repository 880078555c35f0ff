package e2e

import (
	"reflect"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// richEC2 sets, on a bridge-mode EC2 definition, every member ECS accepts
// there, with every default spelled out so that what comes back must equal
// what went in.
func richEC2() *ecs.RegisterTaskDefinitionInput {
	kv := func(n, v string) types.KeyValuePair {
		return types.KeyValuePair{Name: aws.String(n), Value: aws.String(v)}
	}
	return &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String("rich-ec2"),
		TaskRoleArn:             aws.String("arn:aws:iam::000000000000:role/task"),
		ExecutionRoleArn:        aws.String("arn:aws:iam::000000000000:role/exec"),
		NetworkMode:             types.NetworkModeBridge,
		Cpu:                     aws.String("2048"),
		Memory:                  aws.String("4096"),
		IpcMode:                 types.IpcModeHost,
		PidMode:                 types.PidModeHost,
		EnableFaultInjection:    aws.Bool(true),
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityEc2},
		PlacementConstraints: []types.TaskDefinitionPlacementConstraint{{
			Type: types.TaskDefinitionPlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.instance-type =~ t3.*"),
		}},
		InferenceAccelerators: []types.InferenceAccelerator{{DeviceName: aws.String("dev1"), DeviceType: aws.String("eia2.medium")}},
		RuntimePlatform:       &types.RuntimePlatform{CpuArchitecture: types.CPUArchitectureArm64, OperatingSystemFamily: types.OSFamilyLinux},
		TrustedExecutionConfiguration: &types.TrustedExecutionConfiguration{
			IsolationMode: types.IsolationModeShared, AttestationPolicy: aws.String("policy-1"),
		},
		Volumes: []types.Volume{
			{Name: aws.String("host"), Host: &types.HostVolumeProperties{SourcePath: aws.String("/srv/data")}},
			{Name: aws.String("scratch"), Host: &types.HostVolumeProperties{}},
			{Name: aws.String("docker"), DockerVolumeConfiguration: &types.DockerVolumeConfiguration{
				Autoprovision: aws.Bool(true), Driver: aws.String("local"), Scope: types.ScopeShared,
				DriverOpts: map[string]string{"type": "tmpfs", "device": "tmpfs"},
				Labels:     map[string]string{"owner": "e2e"},
			}},
			{Name: aws.String("efs"), EfsVolumeConfiguration: &types.EFSVolumeConfiguration{
				FileSystemId: aws.String("fs-12345678"), RootDirectory: aws.String("/"),
				TransitEncryption: types.EFSTransitEncryptionEnabled, TransitEncryptionPort: aws.Int32(2049),
				AuthorizationConfig: &types.EFSAuthorizationConfig{AccessPointId: aws.String("fsap-1234"), Iam: types.EFSAuthorizationConfigIAMEnabled},
			}},
			{Name: aws.String("fsx"), FsxWindowsFileServerVolumeConfiguration: &types.FSxWindowsFileServerVolumeConfiguration{
				FileSystemId: aws.String("fs-0123456789abcdef0"), RootDirectory: aws.String(`\share`),
				AuthorizationConfig: &types.FSxWindowsFileServerAuthorizationConfig{
					CredentialsParameter: aws.String("arn:aws:secretsmanager:us-east-1:000000000000:secret:fsx"), Domain: aws.String("corp.example.com"),
				},
			}},
			{Name: aws.String("s3files"), S3filesVolumeConfiguration: &types.S3FilesVolumeConfiguration{
				FileSystemArn:  aws.String("arn:aws:s3files:us-east-1:000000000000:file-system/fs-1"),
				AccessPointArn: aws.String("arn:aws:s3files:us-east-1:000000000000:access-point/ap-1"),
				RootDirectory:  aws.String("/data"), TransitEncryptionPort: aws.Int32(2999),
			}},
			{Name: aws.String("later"), ConfiguredAtLaunch: aws.Bool(true)},
		},
		ContainerDefinitions: []types.ContainerDefinition{
			{
				Name:                   aws.String("app"),
				Image:                  aws.String("000000000000.dkr.ecr.us-east-1.amazonaws.com/app:1.2.3"),
				Cpu:                    512,
				Memory:                 aws.Int32(1024),
				MemoryReservation:      aws.Int32(512),
				Essential:              aws.Bool(true),
				Command:                []string{"serve", "--port", "8080"},
				EntryPoint:             []string{"/bin/app"},
				WorkingDirectory:       aws.String("/srv"),
				User:                   aws.String("1000:1000"),
				Hostname:               aws.String("app-host"),
				Links:                  []string{"sidecar:side"},
				DisableNetworking:      aws.Bool(false),
				Privileged:             aws.Bool(false),
				ReadonlyRootFilesystem: aws.Bool(true),
				Interactive:            aws.Bool(true),
				PseudoTerminal:         aws.Bool(true),
				StartTimeout:           aws.Int32(60),
				StopTimeout:            aws.Int32(30),
				DnsServers:             []string{"10.0.0.2"},
				DnsSearchDomains:       []string{"corp.example.com"},
				ExtraHosts:             []types.HostEntry{{Hostname: aws.String("db"), IpAddress: aws.String("10.0.0.5")}},
				DockerSecurityOptions:  []string{"no-new-privileges"},
				DockerLabels:           map[string]string{"com.example.team": "core"},
				CredentialSpecs:        []string{"credentialspecdomainless:arn:aws:s3:::bucket/spec.json"},
				VersionConsistency:     types.VersionConsistencyDisabled,
				Environment:            []types.KeyValuePair{kv("MODE", "prod"), kv("EMPTY", "")},
				EnvironmentFiles:       []types.EnvironmentFile{{Type: types.EnvironmentFileTypeS3, Value: aws.String("arn:aws:s3:::bucket/app.env")}},
				Secrets: []types.Secret{
					{Name: aws.String("DB_PASSWORD"), ValueFrom: aws.String("arn:aws:secretsmanager:us-east-1:000000000000:secret:db")},
					{Name: aws.String("API_KEY"), ValueFrom: aws.String("arn:aws:ssm:us-east-1:000000000000:parameter/api-key")},
				},
				RepositoryCredentials: &types.RepositoryCredentials{CredentialsParameter: aws.String("arn:aws:secretsmanager:us-east-1:000000000000:secret:registry")},
				PortMappings: []types.PortMapping{
					{ContainerPort: aws.Int32(8080), HostPort: aws.Int32(0), Protocol: types.TransportProtocolTcp, Name: aws.String("http"), AppProtocol: types.ApplicationProtocolHttp2},
					{ContainerPortRange: aws.String("9000-9010"), Protocol: types.TransportProtocolUdp},
				},
				MountPoints: []types.MountPoint{{SourceVolume: aws.String("host"), ContainerPath: aws.String("/data"), ReadOnly: aws.Bool(true)}},
				VolumesFrom: []types.VolumeFrom{{SourceContainer: aws.String("sidecar"), ReadOnly: aws.Bool(false)}},
				DependsOn:   []types.ContainerDependency{{ContainerName: aws.String("sidecar"), Condition: types.ContainerConditionSuccess}},
				HealthCheck: &types.HealthCheck{
					Command:  []string{"CMD-SHELL", "curl -f http://localhost:8080/ || exit 1"},
					Interval: aws.Int32(15), Timeout: aws.Int32(4), Retries: aws.Int32(2), StartPeriod: aws.Int32(10),
				},
				LinuxParameters: &types.LinuxParameters{
					Capabilities:       &types.KernelCapabilities{Add: []string{"NET_ADMIN"}, Drop: []string{"MKNOD"}},
					Devices:            []types.Device{{HostPath: aws.String("/dev/fuse"), ContainerPath: aws.String("/dev/fuse"), Permissions: []types.DeviceCgroupPermission{"read", "write"}}},
					InitProcessEnabled: aws.Bool(true),
					MaxSwap:            aws.Int32(1024),
					Swappiness:         aws.Int32(60),
					SharedMemorySize:   aws.Int32(64),
					Tmpfs:              []types.Tmpfs{{ContainerPath: aws.String("/tmp"), Size: 64, MountOptions: []string{"rw", "noexec"}}},
				},
				LogConfiguration: &types.LogConfiguration{
					LogDriver:     types.LogDriverAwslogs,
					Options:       map[string]string{"awslogs-group": "/ecs/app", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "app"},
					SecretOptions: []types.Secret{{Name: aws.String("token"), ValueFrom: aws.String("arn:aws:ssm:us-east-1:000000000000:parameter/log-token")}},
				},
				ResourceRequirements: []types.ResourceRequirement{
					{Type: types.ResourceTypeGpu, Value: aws.String("1"), SharingStrategy: &types.SharingStrategyMemberNvidiaMps{
						Value: types.NvidiaMpsAllocation{Memory: aws.Int32(4096), MaxComputePercent: aws.Int32(50)},
					}},
					{Type: types.ResourceTypeInferenceAccelerator, Value: aws.String("dev1")},
				},
				SystemControls: []types.SystemControl{{Namespace: aws.String("net.core.somaxconn"), Value: aws.String("1024")}},
				Ulimits:        []types.Ulimit{{Name: types.UlimitNameNofile, SoftLimit: 1024, HardLimit: 4096}},
				RestartPolicy:  &types.ContainerRestartPolicy{Enabled: aws.Bool(true), IgnoredExitCodes: []int32{0, 143}, RestartAttemptPeriod: aws.Int32(120)},
			},
			{
				Name:                  aws.String("sidecar"),
				Image:                 aws.String("public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"),
				Cpu:                   256,
				MemoryReservation:     aws.Int32(256),
				Essential:             aws.Bool(false),
				PortMappings:          []types.PortMapping{},
				Environment:           []types.KeyValuePair{},
				MountPoints:           []types.MountPoint{},
				VolumesFrom:           []types.VolumeFrom{},
				SystemControls:        []types.SystemControl{},
				FirelensConfiguration: &types.FirelensConfiguration{Type: types.FirelensConfigurationTypeFluentbit, Options: map[string]string{"enable-ecs-log-metadata": "true"}},
			},
		},
	}
}

// richFargate covers what only an awsvpc/Fargate definition carries.
func richFargate() *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String("rich-fargate"),
		NetworkMode:             types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate, types.CompatibilityEc2},
		Cpu:                     aws.String("1024"),
		Memory:                  aws.String("3072"),
		PidMode:                 types.PidModeTask,
		ExecutionRoleArn:        aws.String("arn:aws:iam::000000000000:role/exec"),
		EphemeralStorage:        &types.EphemeralStorage{SizeInGiB: 50},
		RuntimePlatform:         &types.RuntimePlatform{CpuArchitecture: types.CPUArchitectureX8664, OperatingSystemFamily: types.OSFamilyLinux},
		ProxyConfiguration: &types.ProxyConfiguration{
			Type:          types.ProxyConfigurationTypeAppmesh,
			ContainerName: aws.String("envoy"),
			Properties: []types.KeyValuePair{
				{Name: aws.String("IgnoredUID"), Value: aws.String("1337")},
				{Name: aws.String("ProxyIngressPort"), Value: aws.String("15000")},
				{Name: aws.String("ProxyEgressPort"), Value: aws.String("15001")},
				{Name: aws.String("AppPorts"), Value: aws.String("8080")},
				{Name: aws.String("EgressIgnoredIPs"), Value: aws.String("169.254.170.2,169.254.169.254")},
			},
		},
		Volumes:              []types.Volume{},
		PlacementConstraints: []types.TaskDefinitionPlacementConstraint{},
		ContainerDefinitions: []types.ContainerDefinition{
			{
				Name: aws.String("app"), Image: aws.String("nginx:1.27"), Essential: aws.Bool(true),
				PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080), HostPort: aws.Int32(8080), Protocol: types.TransportProtocolTcp}},
				Environment:  []types.KeyValuePair{}, MountPoints: []types.MountPoint{}, VolumesFrom: []types.VolumeFrom{}, SystemControls: []types.SystemControl{},
				LogConfiguration: &types.LogConfiguration{
					LogDriver: types.LogDriverAwslogs,
					Options:   map[string]string{"awslogs-group": "/ecs/fargate", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "app"},
				},
			},
			{
				Name: aws.String("envoy"), Image: aws.String("public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29"), Essential: aws.Bool(true),
				User:         aws.String("1337"),
				PortMappings: []types.PortMapping{}, Environment: []types.KeyValuePair{}, MountPoints: []types.MountPoint{}, VolumesFrom: []types.VolumeFrom{}, SystemControls: []types.SystemControl{},
			},
		},
	}
}

// TestRichTaskDefinitionRoundTrip registers definitions that between them
// set every member of RegisterTaskDefinitionInput and ContainerDefinition,
// and checks that each member comes back from DescribeTaskDefinition
// exactly as sent. A member the model gains later that neither definition
// sets fails the coverage check, so this test keeps up with the SDK.
func TestRichTaskDefinitionRoundTrip(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()

	inputs := []*ecs.RegisterTaskDefinitionInput{richEC2(), richFargate()}
	// Members nobody can send: they have no value in the model or are
	// written to other places (Tags travel beside the definition).
	checkCoverage(t, inputs, map[string]bool{"Tags": true})

	for _, in := range inputs {
		t.Run(aws.ToString(in.Family), func(t *testing.T) {
			reg, err := c.RegisterTaskDefinition(t.Context(), in)
			if err != nil {
				t.Fatalf("RegisterTaskDefinition: %v", err)
			}
			out, err := describe(t.Context(), c, aws.ToString(reg.TaskDefinition.TaskDefinitionArn))
			if err != nil {
				t.Fatalf("DescribeTaskDefinition: %v", err)
			}
			for _, td := range []*types.TaskDefinition{reg.TaskDefinition, out.TaskDefinition} {
				compareMembers(t, in, td)
			}
		})
	}
}

var sdkOpts = []cmp.Option{
	cmpopts.IgnoreUnexported(
		types.ContainerDefinition{}, types.PortMapping{}, types.KeyValuePair{}, types.MountPoint{}, types.VolumeFrom{},
		types.HostEntry{}, types.EnvironmentFile{}, types.Secret{}, types.RepositoryCredentials{}, types.ContainerDependency{},
		types.HealthCheck{}, types.LinuxParameters{}, types.KernelCapabilities{}, types.Device{}, types.Tmpfs{},
		types.LogConfiguration{}, types.ResourceRequirement{}, types.SharingStrategyMemberNvidiaMps{}, types.NvidiaMpsAllocation{},
		types.SystemControl{}, types.Ulimit{}, types.ContainerRestartPolicy{}, types.FirelensConfiguration{},
		types.Volume{}, types.HostVolumeProperties{}, types.DockerVolumeConfiguration{}, types.EFSVolumeConfiguration{},
		types.EFSAuthorizationConfig{}, types.FSxWindowsFileServerVolumeConfiguration{}, types.FSxWindowsFileServerAuthorizationConfig{},
		types.S3FilesVolumeConfiguration{}, types.TaskDefinitionPlacementConstraint{}, types.InferenceAccelerator{},
		types.RuntimePlatform{}, types.TrustedExecutionConfiguration{}, types.EphemeralStorage{}, types.ProxyConfiguration{},
		types.Tag{}, types.Attribute{}, types.TaskDefinition{}, types.Failure{},
	),
}

// compareMembers compares every member of the registration with the
// same-named member of the described revision.
func compareMembers(t *testing.T, in *ecs.RegisterTaskDefinitionInput, td *types.TaskDefinition) {
	t.Helper()
	iv, ov := reflect.ValueOf(in).Elem(), reflect.ValueOf(td).Elem()
	for i := range iv.NumField() {
		f := iv.Type().Field(i)
		if !f.IsExported() || f.Name == "Tags" {
			continue
		}
		got := ov.FieldByName(f.Name)
		if !got.IsValid() {
			t.Errorf("TaskDefinition has no member %s", f.Name)
			continue
		}
		// No EquateEmpty: the rich inputs spell out ECS's empty-list
		// defaults, so an empty list must come back as an empty list.
		if diff := cmp.Diff(iv.Field(i).Interface(), got.Interface(), sdkOpts...); diff != "" {
			t.Errorf("%s (-sent +described):\n%s", f.Name, diff)
		}
	}
}

// checkCoverage fails when some exported member of the input or of a
// container definition is left at its zero value by every input.
func checkCoverage(t *testing.T, inputs []*ecs.RegisterTaskDefinitionInput, exempt map[string]bool) {
	t.Helper()
	set := map[string]bool{}
	mark := func(prefix string, v reflect.Value) {
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() && !v.Field(i).IsZero() {
				set[prefix+f.Name] = true
			}
		}
	}
	for _, in := range inputs {
		mark("", reflect.ValueOf(in).Elem())
		for _, cd := range in.ContainerDefinitions {
			mark("ContainerDefinition.", reflect.ValueOf(cd))
		}
	}
	var missing []string
	check := func(prefix string, typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			if f.IsExported() && !set[prefix+f.Name] && !exempt[prefix+f.Name] {
				missing = append(missing, prefix+f.Name)
			}
		}
	}
	check("", reflect.TypeFor[ecs.RegisterTaskDefinitionInput]())
	check("ContainerDefinition.", reflect.TypeFor[types.ContainerDefinition]())
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("the rich definitions leave these members unset; add them so the round trip covers them: %v", missing)
	}
}
