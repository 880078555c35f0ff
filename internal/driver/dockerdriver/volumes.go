package dockerdriver

import (
	"context"
	"fmt"
	"path/filepath"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/ecsd/ecsd/internal/driver"
)

// Volumes, the way the ECS agent provisions them: a host path is bound
// (Docker creates a missing directory); a task volume is a Docker volume
// made for the group, labelled with it and removed with it; a shared
// volume is the Docker volume of that name, made only when autoprovision
// says so, and never removed by the driver.

// roleVolume labels the Docker volumes the driver made for a group.
const roleVolume = "volume"

// taskVolumeName is the Docker name of a group's task volume.
func taskVolumeName(id, name string) string {
	return "ecsd-" + id + "-" + name + "-" + shortHash(id+"\x00volume\x00"+name)
}

func (s groupSpec) volume(name string) (driver.Volume, bool) {
	for _, v := range s.Volumes {
		if v.Name == name {
			return v, true
		}
	}
	return driver.Volume{}, false
}

// binds are c's mount points as Docker binds ("source:target[:ro]").
func (d *Driver) binds(v *view, c driver.ContainerSpec) ([]string, string) {
	var out []string
	for _, m := range c.MountPoints {
		vol, ok := v.spec.volume(m.Volume)
		if !ok {
			return nil, fmt.Sprintf("CannotCreateContainerError: mount point %s: the task has no volume named %q", m.ContainerPath, m.Volume)
		}
		if !filepath.IsAbs(m.ContainerPath) {
			return nil, fmt.Sprintf("CannotCreateContainerError: mount point %q: the container path must be absolute", m.ContainerPath)
		}
		var src string
		switch vol.Kind {
		case driver.VolumeBind:
			if !filepath.IsAbs(vol.HostPath) {
				return nil, fmt.Sprintf("CannotCreateContainerError: volume %s: host source path %q is not absolute", vol.Name, vol.HostPath)
			}
			src = vol.HostPath
		case driver.VolumeTask:
			src = taskVolumeName(v.spec.ID, vol.Name)
		default:
			src = vol.Name
		}
		b := src + ":" + m.ContainerPath
		if m.ReadOnly {
			b += ":ro"
		}
		out = append(out, b)
	}
	return out, ""
}

// ensureVolumes makes the Docker volumes c mounts exist. A reason says
// why c cannot have them.
func (d *Driver) ensureVolumes(ctx context.Context, v *view, c driver.ContainerSpec) (string, error) {
	for _, m := range c.MountPoints {
		vol, ok := v.spec.volume(m.Volume)
		if !ok {
			continue // binds says why
		}
		switch vol.Kind {
		case driver.VolumeTask:
			// Creating an existing volume of the same name and driver
			// returns it, so this is idempotent across steps and processes.
			_, err := d.cli.VolumeCreate(ctx, volume.CreateOptions{
				Name:       taskVolumeName(v.spec.ID, vol.Name),
				Driver:     vol.Driver,
				DriverOpts: vol.DriverOpts,
				Labels:     d.labels(vol.Labels, v.spec.Labels, map[string]string{labelGroup: v.spec.ID, labelRole: roleVolume}),
			})
			if err != nil {
				return d.volumeFailure(ctx, vol, err)
			}
		case driver.VolumeShared:
			_, err := d.cli.VolumeInspect(ctx, vol.Name)
			switch {
			case err == nil:
				continue
			case !cerrdefs.IsNotFound(err):
				return d.volumeFailure(ctx, vol, err)
			case !vol.Autoprovision:
				return fmt.Sprintf("CannotCreateContainerError: volume %s does not exist and autoprovision is not set", vol.Name), nil
			}
			_, err = d.cli.VolumeCreate(ctx, volume.CreateOptions{Name: vol.Name, Driver: vol.Driver, DriverOpts: vol.DriverOpts, Labels: vol.Labels})
			if err != nil {
				return d.volumeFailure(ctx, vol, err)
			}
		}
	}
	return "", nil
}

// volumeFailure tells an Engine that is away (try again) from one that
// refused the volume (the container fails).
func (d *Driver) volumeFailure(ctx context.Context, vol driver.Volume, err error) (string, error) {
	if ctx.Err() != nil || client.IsErrConnectionFailed(err) {
		return "", err
	}
	return fmt.Sprintf("CannotCreateContainerError: volume %s: %v", vol.Name, err), nil
}

// removeVolumes removes the group's task volumes; its containers are gone.
func (d *Driver) removeVolumes(ctx context.Context, id string) error {
	vols, err := d.cli.VolumeList(ctx, volume.ListOptions{Filters: d.filters(map[string]string{labelGroup: id, labelRole: roleVolume})})
	if err != nil {
		return fmt.Errorf("docker runtime: %w", err)
	}
	for _, vol := range vols.Volumes {
		if err := d.cli.VolumeRemove(ctx, vol.Name, true); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("docker runtime: removing volume %s: %w", vol.Name, err)
		}
	}
	return nil
}
