package dockerdriver

import (
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/strslice"
	"github.com/docker/go-connections/nat"

	"github.com/ecsd/ecsd/internal/driver"
)

// validateSpec refuses what Docker could not run at all or what would
// break the driver's naming; what ECS validates at registration is the
// supervisor's business, and what only Docker knows (a memory limit too
// small, a user that does not exist) shows up as a container's failure to
// start, as in ECS.
func validateSpec(s driver.GroupSpec) error {
	if err := validID(s.ID); err != nil {
		return err
	}
	switch s.NetworkMode {
	case "", driver.NetworkAwsvpc, driver.NetworkBridge, driver.NetworkHost, driver.NetworkNone:
	default:
		return fmt.Errorf("group %s: unknown network mode %q", s.ID, s.NetworkMode)
	}
	if len(s.Containers) == 0 {
		return fmt.Errorf("group %s: no containers", s.ID)
	}
	for k := range s.Labels {
		if err := checkLabelKey(k); err != nil {
			return fmt.Errorf("group %s: %w", s.ID, err)
		}
	}
	vols := map[string]bool{}
	for _, v := range s.Volumes {
		switch v.Kind {
		case driver.VolumeBind, driver.VolumeTask, driver.VolumeShared:
		default:
			return fmt.Errorf("group %s: volume %q: unknown kind %q", s.ID, v.Name, v.Kind)
		}
		if v.Name == "" || vols[v.Name] {
			return fmt.Errorf("group %s: volume name %q empty or used twice", s.ID, v.Name)
		}
		vols[v.Name] = true
	}
	seen := map[string]bool{}
	for _, c := range s.Containers {
		if !validName(c.Name) {
			return fmt.Errorf("group %s: invalid container name %q: up to 255 letters, digits, hyphens and underscores", s.ID, c.Name)
		}
		if seen[c.Name] {
			return fmt.Errorf("group %s: container name %q used twice", s.ID, c.Name)
		}
		seen[c.Name] = true
		if strings.TrimSpace(c.Image) == "" {
			return fmt.Errorf("group %s: container %s has no image", s.ID, c.Name)
		}
		// A container's own labels (a task definition's dockerLabels) may
		// use the reserved prefix: the driver's labels win over them, as
		// the ECS agent's com.amazonaws.ecs.* labels do.
		for _, dep := range c.DependsOn {
			switch dep.Condition {
			case driver.ConditionStart, driver.ConditionComplete, driver.ConditionSuccess, driver.ConditionHealthy:
			default:
				return fmt.Errorf("group %s: container %s: unknown dependency condition %q", s.ID, c.Name, dep.Condition)
			}
		}
		for _, pm := range c.PortMappings {
			if pm.ContainerPort < 1 || pm.ContainerPort > 65535 || pm.HostPort < 0 || pm.HostPort > 65535 {
				return fmt.Errorf("group %s: container %s: invalid port mapping %d:%d", s.ID, c.Name, pm.HostPort, pm.ContainerPort)
			}
			if p := protocol(pm); p != "tcp" && p != "udp" {
				return fmt.Errorf("group %s: container %s: unknown protocol %q", s.ID, c.Name, pm.Protocol)
			}
		}
	}
	return nil
}

// validID: the group ID names Docker containers, so it takes what a
// Docker name takes.
func validID(id string) error {
	if id == "" || len(id) > 200 || id[0] == '.' {
		return fmt.Errorf("invalid group id %q", id)
	}
	for i := range len(id) {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("invalid group id %q", id)
		}
	}
	return nil
}

// validName is ECS's rule for container names.
func validName(name string) bool {
	if name == "" || len(name) > 255 {
		return false
	}
	for i := range len(name) {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func checkLabelKey(k string) error {
	if k == "" {
		return errors.New("empty label key")
	}
	if strings.HasPrefix(k, labelPrefix) {
		return fmt.Errorf("label %q: the prefix %s is reserved for the driver", k, labelPrefix)
	}
	return nil
}

// containerConfig is c as Docker runs it, the way the ECS agent maps a
// container definition. A reason says why c cannot be created (an env
// file that cannot be read, a volume that is not there), in ECS's words.
func (d *Driver) containerConfig(v *view, c driver.ContainerSpec, pulledAt time.Time) (*container.Config, *container.HostConfig, string) {
	fromFiles, err := driver.ReadEnvFiles(c.EnvFiles)
	if err != nil {
		return nil, nil, "ResourceInitializationError: failed to read env files: " + err.Error()
	}
	env := make([]string, 0, len(fromFiles)+len(c.Env))
	// Docker keeps the last of repeated names, so the files go first and
	// c.Env wins over them.
	for _, e := range append(fromFiles, c.Env...) {
		env = append(env, e.Name+"="+e.Value)
	}
	cfg := &container.Config{
		Image:           c.Image,
		Env:             env,
		WorkingDir:      c.WorkingDirectory,
		User:            c.User,
		OpenStdin:       c.Interactive,
		Tty:             c.PseudoTerminal,
		Hostname:        c.Hostname,
		NetworkDisabled: c.DisableNetworking,
		Labels: d.labels(c.Labels, v.spec.Labels, map[string]string{
			labelGroup:     v.spec.ID,
			labelRole:      roleContainer,
			labelContainer: c.Name,
			labelEssential: strconv.FormatBool(c.Essential),
			labelPulledAt:  formatTime(pulledAt),
		}),
	}
	if c.Command != nil {
		cfg.Cmd = strslice.StrSlice(c.Command)
	}
	if c.EntryPoint != nil {
		cfg.Entrypoint = strslice.StrSlice(c.EntryPoint)
	}
	if c.StopTimeout > 0 {
		// For a `docker stop` by hand; the driver passes it explicitly.
		secs := int(math.Ceil(c.StopTimeout.Seconds()))
		cfg.StopTimeout = &secs
	}
	if hc := c.HealthCheck; hc != nil {
		test := hc.Command
		if len(test) == 0 || (test[0] != "CMD" && test[0] != "CMD-SHELL" && test[0] != "NONE") {
			test = append([]string{"CMD"}, test...)
		}
		cfg.Healthcheck = &container.HealthConfig{
			Test:        test,
			Interval:    hc.Interval,
			Timeout:     hc.Timeout,
			StartPeriod: hc.StartPeriod,
			Retries:     hc.Retries,
		}
	}
	host := &container.HostConfig{
		Privileged:     c.Privileged,
		ReadonlyRootfs: c.ReadonlyRootFS,
		Resources: container.Resources{
			Memory:            int64(c.MemoryMiB) << 20,
			MemoryReservation: int64(c.MemoryReservationMiB) << 20,
		},
		CapAdd:      strslice.StrSlice(c.CapAdd),
		CapDrop:     strslice.StrSlice(c.CapDrop),
		DNS:         c.DNSServers,
		DNSSearch:   c.DNSSearch,
		Sysctls:     c.Sysctls,
		SecurityOpt: c.SecurityOptions,
		ShmSize:     int64(c.SharedMemoryMiB) << 20,
		// Output stays readable through the Engine (`ecsd logs`) whatever
		// the daemon's default log driver is.
		LogConfig: container.LogConfig{Type: "json-file"},
	}
	if c.Log != nil {
		host.LogConfig = container.LogConfig{Type: c.Log.Driver, Config: c.Log.Options}
	}
	if c.InitProcess {
		init := true
		host.Init = &init
	}
	for _, u := range c.Ulimits {
		host.Ulimits = append(host.Ulimits, &container.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	for _, t := range c.Tmpfs {
		if host.Tmpfs == nil {
			host.Tmpfs = map[string]string{}
		}
		opts := append([]string{fmt.Sprintf("size=%dm", t.SizeMiB)}, t.MountOptions...)
		host.Tmpfs[t.ContainerPath] = strings.Join(opts, ",")
	}
	for _, dev := range c.Devices {
		host.Devices = append(host.Devices, deviceMapping(dev))
	}
	if c.MaxSwapMiB != nil {
		// Docker's limit is memory plus swap; -1 is unlimited swap.
		switch {
		case *c.MaxSwapMiB < 0:
			host.MemorySwap = -1
		case c.MemoryMiB > 0:
			host.MemorySwap = int64(c.MemoryMiB+*c.MaxSwapMiB) << 20
		}
	}
	if c.Swappiness != nil {
		sw := int64(*c.Swappiness)
		host.MemorySwappiness = &sw
	}
	for _, h := range c.ExtraHosts {
		host.ExtraHosts = append(host.ExtraHosts, h.Hostname+":"+h.IP)
	}
	binds, reason := d.binds(v, c)
	if reason != "" {
		return nil, nil, reason
	}
	host.Binds = binds
	for _, vf := range c.VolumesFrom {
		src := v.members[vf.Container]
		if src == nil {
			return nil, nil, fmt.Sprintf("CannotCreateContainerError: volumesFrom: container %s of the task was not created", vf.Container)
		}
		mode := src.ID
		if vf.ReadOnly {
			mode += ":ro"
		}
		host.VolumesFrom = append(host.VolumesFrom, mode)
	}
	if c.CPU > 0 {
		// CPU units are CPU shares; the kernel's minimum is 2.
		host.Resources.CPUShares = int64(max(c.CPU, 2))
	}
	switch v.spec.NetworkMode {
	case driver.NetworkAwsvpc:
		host.NetworkMode = container.NetworkMode("container:" + v.anchor.ID)
	case driver.NetworkHost, driver.NetworkNone:
		host.NetworkMode = container.NetworkMode(v.spec.NetworkMode)
	default:
		host.NetworkMode = "bridge"
		if len(c.PortMappings) > 0 {
			cfg.ExposedPorts = nat.PortSet{}
			host.PortBindings = nat.PortMap{}
		}
		for _, pm := range c.PortMappings {
			key := portKey(pm)
			cfg.ExposedPorts[key] = struct{}{}
			hostPort := ""
			if pm.HostPort > 0 {
				hostPort = strconv.Itoa(pm.HostPort)
			}
			host.PortBindings[key] = append(host.PortBindings[key], nat.PortBinding{HostIP: d.bindIP, HostPort: hostPort})
		}
	}
	return cfg, host, ""
}

// deviceMapping maps ECS device permissions (read, write, mknod) to a
// cgroup permission string; none means all.
func deviceMapping(dev driver.Device) container.DeviceMapping {
	perms := ""
	for _, p := range dev.Permissions {
		switch p {
		case "read":
			perms += "r"
		case "write":
			perms += "w"
		case "mknod":
			perms += "m"
		}
	}
	if perms == "" {
		perms = "rwm"
	}
	in := dev.ContainerPath
	if in == "" {
		in = dev.HostPath
	}
	return container.DeviceMapping{PathOnHost: dev.HostPath, PathInContainer: in, CgroupPermissions: perms}
}

// freeDynamicPorts returns spec with each dynamic host port (one ecsd
// chose from the ephemeral range) that something on this host already
// holds set back to 0, so Docker picks a free one and networkBindings
// report it: another ecsd, or any other program, may hold a port this
// ecsd's placement knows nothing of. The ECS agent does the same check
// (binding the port) before handing its choice to Docker. spec is not
// modified.
func (d *Driver) freeDynamicPorts(spec driver.GroupSpec) driver.GroupSpec {
	if spec.NetworkMode != driver.NetworkBridge && spec.NetworkMode != "" {
		return spec
	}
	cs := slices.Clone(spec.Containers)
	for i := range cs {
		pms := slices.Clone(cs[i].PortMappings)
		for j, pm := range pms {
			if pm.Dynamic && pm.HostPort > 0 && !portFree(d.bindIP, pm) {
				pms[j].HostPort, pms[j].Dynamic = 0, false
			}
		}
		cs[i].PortMappings = pms
	}
	spec.Containers = cs
	return spec
}

// portFree reports whether the mapping's host port can be bound on ip and
// on every address (a listener on 0.0.0.0 holds it for 127.0.0.1 too).
func portFree(ip string, pm driver.PortMapping) bool {
	for _, host := range []string{ip, ""} {
		addr := net.JoinHostPort(host, strconv.Itoa(pm.HostPort))
		if pm.Protocol == "udp" {
			c, err := net.ListenPacket("udp", addr)
			if err != nil {
				return false
			}
			c.Close()
			continue
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}
