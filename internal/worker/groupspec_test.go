package worker_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/worker"
)

// The container definition parameters a runtime that runs processes
// applies, mapped the way the ECS agent maps them onto Docker.
func TestGroupSpecParameters(t *testing.T) {
	td := types.TaskDefinition{
		Family: sp("app"), Revision: 1, NetworkMode: types.NetworkModeBridge,
		Volumes: []types.Volume{
			{Name: sp("host"), Host: &types.HostVolumeProperties{SourcePath: sp("/srv/data")}},
			{Name: sp("scratch")},
			{Name: sp("emptyhost"), Host: &types.HostVolumeProperties{}},
			{Name: sp("taskvol"), DockerVolumeConfiguration: &types.DockerVolumeConfiguration{Scope: types.ScopeTask, Driver: sp("local"),
				DriverOpts: map[string]string{"type": "tmpfs"}, Labels: map[string]string{"l": "v"}}},
			{Name: sp("shared"), DockerVolumeConfiguration: &types.DockerVolumeConfiguration{Scope: types.ScopeShared, Autoprovision: bptr(true)}},
			{Name: sp("efs"), EfsVolumeConfiguration: &types.EFSVolumeConfiguration{FileSystemId: sp("fs-1")}},
		},
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: sp("app"), Image: sp("img"), Memory: i32(256),
			EnvironmentFiles: []types.EnvironmentFile{{Type: types.EnvironmentFileTypeS3, Value: sp("/etc/app.env")}},
			MountPoints:      []types.MountPoint{{SourceVolume: sp("host"), ContainerPath: sp("/data"), ReadOnly: bptr(true)}, {SourceVolume: sp("scratch"), ContainerPath: sp("/tmp/s")}},
			VolumesFrom:      []types.VolumeFrom{{SourceContainer: sp("side"), ReadOnly: bptr(true)}},
			Ulimits:          []types.Ulimit{{Name: types.UlimitNameNofile, SoftLimit: 1024, HardLimit: 4096}},
			LinuxParameters: &types.LinuxParameters{
				InitProcessEnabled: bptr(true),
				Capabilities:       &types.KernelCapabilities{Add: []string{"NET_ADMIN"}, Drop: []string{"MKNOD"}},
				SharedMemorySize:   i32(64),
				Tmpfs:              []types.Tmpfs{{ContainerPath: sp("/run"), Size: 16, MountOptions: []string{"noexec"}}},
				Devices:            []types.Device{{HostPath: sp("/dev/fuse"), Permissions: []types.DeviceCgroupPermission{types.DeviceCgroupPermissionRead}}},
				MaxSwap:            i32(0),
				Swappiness:         i32(10),
			},
			ExtraHosts:             []types.HostEntry{{Hostname: sp("db"), IpAddress: sp("10.0.0.5")}},
			DnsServers:             []string{"10.0.0.2"},
			DnsSearchDomains:       []string{"corp"},
			Hostname:               sp("h"),
			SystemControls:         []types.SystemControl{{Namespace: sp("net.core.somaxconn"), Value: sp("1024")}},
			DockerSecurityOptions:  []string{"no-new-privileges"},
			ReadonlyRootFilesystem: bptr(true),
			LogConfiguration:       &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{"awslogs-group": "g"}},
		}, {
			Name: sp("side"), Image: sp("img"),
			EnvironmentFiles: []types.EnvironmentFile{{Type: types.EnvironmentFileTypeS3, Value: sp("/etc/def.env")}},
			LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverJsonFile, Options: map[string]string{"max-size": "1m"}},
		}},
	}
	task := types.Task{TaskArn: sp("arn:aws:ecs:us-east-1:123456789012:task/default/abc"),
		Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: sp("side"),
			EnvironmentFiles: []types.EnvironmentFile{{Type: types.EnvironmentFileTypeS3, Value: sp("file:///etc/override.env")}}}}}}
	spec := worker.GroupSpec("abc", task, td)

	wantVolumes := []driver.Volume{
		{Name: "host", Kind: driver.VolumeBind, HostPath: "/srv/data"},
		{Name: "scratch", Kind: driver.VolumeTask},
		{Name: "emptyhost", Kind: driver.VolumeTask},
		{Name: "taskvol", Kind: driver.VolumeTask, Driver: "local", DriverOpts: map[string]string{"type": "tmpfs"}, Labels: map[string]string{"l": "v"}},
		{Name: "shared", Kind: driver.VolumeShared, Autoprovision: true},
		{Name: "efs", Kind: driver.VolumeTask},
	}
	if diff := cmp.Diff(wantVolumes, spec.Volumes); diff != "" {
		t.Errorf("volumes (-want +got):\n%s", diff)
	}
	zero, ten := 0, 10
	app := spec.Containers[0]
	app.Labels, app.Env = nil, nil
	want := driver.ContainerSpec{
		Name: "app", Image: "img", Essential: true, MemoryMiB: 256, ReadonlyRootFS: true,
		EnvFiles:        []string{"/etc/app.env"},
		MountPoints:     []driver.MountPoint{{Volume: "host", ContainerPath: "/data", ReadOnly: true}, {Volume: "scratch", ContainerPath: "/tmp/s"}},
		VolumesFrom:     []driver.VolumeFrom{{Container: "side", ReadOnly: true}},
		Ulimits:         []driver.Ulimit{{Name: "nofile", Soft: 1024, Hard: 4096}},
		InitProcess:     true,
		CapAdd:          []string{"NET_ADMIN"},
		CapDrop:         []string{"MKNOD"},
		SharedMemoryMiB: 64,
		Tmpfs:           []driver.Tmpfs{{ContainerPath: "/run", SizeMiB: 16, MountOptions: []string{"noexec"}}},
		Devices:         []driver.Device{{HostPath: "/dev/fuse", Permissions: []string{"read"}}},
		MaxSwapMiB:      &zero,
		Swappiness:      &ten,
		ExtraHosts:      []driver.HostEntry{{Hostname: "db", IP: "10.0.0.5"}},
		DNSServers:      []string{"10.0.0.2"},
		DNSSearch:       []string{"corp"},
		Hostname:        "h",
		Sysctls:         map[string]string{"net.core.somaxconn": "1024"},
		SecurityOptions: []string{"no-new-privileges"},
		Log:             nil, // awslogs: the runtime's readable default
	}
	if diff := cmp.Diff(want, app); diff != "" {
		t.Errorf("app (-want +got):\n%s", diff)
	}
	side := spec.Containers[1]
	if diff := cmp.Diff([]string{"file:///etc/override.env"}, side.EnvFiles); diff != "" {
		t.Errorf("an override's env files replace the definition's (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&driver.LogConfig{Driver: "json-file", Options: map[string]string{"max-size": "1m"}}, side.Log); diff != "" {
		t.Errorf("side log (-want +got):\n%s", diff)
	}
}
