package worker

import (
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/store"
)

// GroupSpec is the container group that runs a task: the revision's
// containers with the task's overrides applied, labelled with the task.
// It maps a container definition the way the ECS agent maps one onto
// Docker; what the simulated runtime cannot simulate it ignores.
func GroupSpec(id string, task types.Task, td types.TaskDefinition) driver.GroupSpec {
	mode := string(td.NetworkMode)
	if mode == "" {
		mode = driver.NetworkBridge
	}
	labels := map[string]string{
		LabelManaged:  "true",
		LabelTaskARN:  deref(task.TaskArn),
		LabelCluster:  deref(task.ClusterArn),
		LabelFamily:   deref(td.Family),
		LabelRevision: strconv.Itoa(int(td.Revision)),
	}
	overrides := map[string]types.ContainerOverride{}
	if task.Overrides != nil {
		for _, o := range task.Overrides.ContainerOverrides {
			overrides[deref(o.Name)] = o
		}
	}
	spec := driver.GroupSpec{ID: id, Labels: labels, NetworkMode: mode, Volumes: volumes(td.Volumes)}
	// The task's own cpu and memory, overridden or from the revision; not
	// task.Cpu/Memory, which fall back to the containers' sums.
	cpu, mem := td.Cpu, td.Memory
	if task.Overrides != nil && task.Overrides.Cpu != nil {
		cpu = task.Overrides.Cpu
	}
	if task.Overrides != nil && task.Overrides.Memory != nil {
		mem = task.Overrides.Memory
	}
	if cpu != nil {
		spec.TaskCPU, _ = ecs.TaskCPUUnits(*cpu)
	}
	if mem != nil {
		spec.TaskMemoryMiB, _ = ecs.TaskMemoryMiB(*mem)
	}
	for _, cd := range td.ContainerDefinitions {
		o := overrides[deref(cd.Name)]
		c := driver.ContainerSpec{
			Name:              deref(cd.Name),
			Image:             deref(cd.Image),
			Essential:         cd.Essential == nil || *cd.Essential,
			Command:           cd.Command,
			EntryPoint:        cd.EntryPoint,
			WorkingDirectory:  deref(cd.WorkingDirectory),
			User:              deref(cd.User),
			CPU:               int(cd.Cpu),
			Labels:            map[string]string{LabelContainerName: deref(cd.Name)},
			Privileged:        cd.Privileged != nil && *cd.Privileged,
			ReadonlyRootFS:    cd.ReadonlyRootFilesystem != nil && *cd.ReadonlyRootFilesystem,
			Interactive:       cd.Interactive != nil && *cd.Interactive,
			PseudoTerminal:    cd.PseudoTerminal != nil && *cd.PseudoTerminal,
			DNSServers:        cd.DnsServers,
			DNSSearch:         cd.DnsSearchDomains,
			Hostname:          deref(cd.Hostname),
			SecurityOptions:   cd.DockerSecurityOptions,
			DisableNetworking: cd.DisableNetworking != nil && *cd.DisableNetworking,
		}
		for k, v := range labels {
			c.Labels[k] = v
		}
		for k, v := range cd.DockerLabels {
			c.Labels[k] = v
		}
		if len(o.Command) > 0 {
			c.Command = o.Command
		}
		if cd.Memory != nil {
			c.MemoryMiB = int(*cd.Memory)
		}
		if cd.MemoryReservation != nil {
			c.MemoryReservationMiB = int(*cd.MemoryReservation)
		}
		if o.Cpu != nil {
			c.CPU = int(*o.Cpu)
		}
		if o.Memory != nil {
			c.MemoryMiB = int(*o.Memory)
		}
		if o.MemoryReservation != nil {
			c.MemoryReservationMiB = int(*o.MemoryReservation)
		}
		// Overrides come last, so they win (later entries win).
		for _, e := range cd.Environment {
			c.Env = append(c.Env, driver.EnvVar{Name: deref(e.Name), Value: deref(e.Value)})
		}
		for _, e := range o.Environment {
			c.Env = append(c.Env, driver.EnvVar{Name: deref(e.Name), Value: deref(e.Value)})
		}
		// An override's files replace the definition's (ECS: "instead of
		// the value from the container definition").
		files := cd.EnvironmentFiles
		if o.EnvironmentFiles != nil {
			files = o.EnvironmentFiles
		}
		for _, f := range files {
			c.EnvFiles = append(c.EnvFiles, deref(f.Value))
		}
		for _, pm := range cd.PortMappings {
			if pm.ContainerPort == nil {
				continue // port ranges are not published by the supervisor
			}
			p := driver.PortMapping{ContainerPort: int(*pm.ContainerPort), Protocol: string(pm.Protocol)}
			if pm.HostPort != nil {
				p.HostPort = int(*pm.HostPort)
			}
			c.PortMappings = append(c.PortMappings, p)
		}
		if hc := cd.HealthCheck; hc != nil {
			c.HealthCheck = &driver.HealthCheck{
				Command:     hc.Command,
				Interval:    seconds(hc.Interval, 30),
				Timeout:     seconds(hc.Timeout, 5),
				StartPeriod: seconds(hc.StartPeriod, 0),
				Retries:     int(derefInt32(hc.Retries, 3)),
			}
		}
		for _, d := range cd.DependsOn {
			c.DependsOn = append(c.DependsOn, driver.Dependency{Container: deref(d.ContainerName), Condition: string(d.Condition)})
		}
		if cd.StopTimeout != nil {
			c.StopTimeout = time.Duration(*cd.StopTimeout) * time.Second
		}
		if cd.StartTimeout != nil {
			c.StartTimeout = time.Duration(*cd.StartTimeout) * time.Second
		}
		for _, m := range cd.MountPoints {
			c.MountPoints = append(c.MountPoints, driver.MountPoint{
				Volume: deref(m.SourceVolume), ContainerPath: deref(m.ContainerPath), ReadOnly: m.ReadOnly != nil && *m.ReadOnly,
			})
		}
		for _, v := range cd.VolumesFrom {
			c.VolumesFrom = append(c.VolumesFrom, driver.VolumeFrom{
				Container: deref(v.SourceContainer), ReadOnly: v.ReadOnly != nil && *v.ReadOnly,
			})
		}
		for _, u := range cd.Ulimits {
			c.Ulimits = append(c.Ulimits, driver.Ulimit{Name: string(u.Name), Soft: int64(u.SoftLimit), Hard: int64(u.HardLimit)})
		}
		if lp := cd.LinuxParameters; lp != nil {
			linuxParameters(&c, lp)
		}
		for _, h := range cd.ExtraHosts {
			c.ExtraHosts = append(c.ExtraHosts, driver.HostEntry{Hostname: deref(h.Hostname), IP: deref(h.IpAddress)})
		}
		for _, sc := range cd.SystemControls {
			if c.Sysctls == nil {
				c.Sysctls = map[string]string{}
			}
			c.Sysctls[deref(sc.Namespace)] = deref(sc.Value)
		}
		if lc := cd.LogConfiguration; lc != nil {
			c.Log = logConfig(lc)
		}
		spec.Containers = append(spec.Containers, c)
	}
	return spec
}

// ApplyDynamicPorts gives the port mappings without a host port the host
// ports placement chose for them from the container instance's ephemeral
// range, as the ECS agent (1.70.0 and later) picks a host port itself and
// passes it to Docker rather than leaving the choice to Docker. A mapping
// placement did not choose for (a task without an instance) keeps host port
// 0 and the runtime picks.
func ApplyDynamicPorts(spec *driver.GroupSpec, ports []store.DynamicPort) {
	for _, d := range ports {
		proto := "tcp"
		if d.UDP {
			proto = "udp"
		}
		for ci := range spec.Containers {
			c := &spec.Containers[ci]
			if c.Name != d.Container {
				continue
			}
			for pi := range c.PortMappings {
				pm := &c.PortMappings[pi]
				p := pm.Protocol
				if p == "" {
					p = "tcp"
				}
				if pm.HostPort == 0 && pm.ContainerPort == d.ContainerPort && p == proto {
					pm.HostPort, pm.Dynamic = d.HostPort, true
				}
			}
		}
	}
}

// volumes maps a revision's volumes. A volume with neither a host path
// nor a Docker volume configuration is scratch space for the task, as on
// ECS; EFS and FSx volumes have no local equivalent and become task
// volumes too, so the containers that mount them still start.
func volumes(vs []types.Volume) []driver.Volume {
	var out []driver.Volume
	for _, v := range vs {
		dv := driver.Volume{Name: deref(v.Name), Kind: driver.VolumeTask}
		switch {
		case v.Host != nil && deref(v.Host.SourcePath) != "":
			dv.Kind, dv.HostPath = driver.VolumeBind, deref(v.Host.SourcePath)
		case v.DockerVolumeConfiguration != nil:
			dc := v.DockerVolumeConfiguration
			dv.Driver, dv.DriverOpts, dv.Labels = deref(dc.Driver), dc.DriverOpts, dc.Labels
			if dc.Scope == types.ScopeShared {
				dv.Kind = driver.VolumeShared
				dv.Autoprovision = dc.Autoprovision != nil && *dc.Autoprovision
			}
		}
		out = append(out, dv)
	}
	return out
}

func linuxParameters(c *driver.ContainerSpec, lp *types.LinuxParameters) {
	c.InitProcess = lp.InitProcessEnabled != nil && *lp.InitProcessEnabled
	if caps := lp.Capabilities; caps != nil {
		c.CapAdd, c.CapDrop = caps.Add, caps.Drop
	}
	if lp.SharedMemorySize != nil {
		c.SharedMemoryMiB = int(*lp.SharedMemorySize)
	}
	for _, t := range lp.Tmpfs {
		c.Tmpfs = append(c.Tmpfs, driver.Tmpfs{ContainerPath: deref(t.ContainerPath), SizeMiB: int(t.Size), MountOptions: t.MountOptions})
	}
	for _, d := range lp.Devices {
		dev := driver.Device{HostPath: deref(d.HostPath), ContainerPath: deref(d.ContainerPath)}
		for _, p := range d.Permissions {
			dev.Permissions = append(dev.Permissions, string(p))
		}
		c.Devices = append(c.Devices, dev)
	}
	if lp.MaxSwap != nil {
		n := int(*lp.MaxSwap)
		c.MaxSwapMiB = &n
	}
	if lp.Swappiness != nil {
		n := int(*lp.Swappiness)
		c.Swappiness = &n
	}
}

// logConfig maps a container's logConfiguration. awslogs and
// awsfirelens would ship the output to AWS, which ecsd does not reach:
// they become the runtime's default, which keeps the output readable with
// `ecsd logs` (their options are ignored). Other Docker log drivers are
// passed on as ECS passes them.
func logConfig(lc *types.LogConfiguration) *driver.LogConfig {
	switch name := string(lc.LogDriver); {
	case name == "", strings.HasPrefix(name, "aws"):
		return nil
	default:
		return &driver.LogConfig{Driver: name, Options: lc.Options}
	}
}
