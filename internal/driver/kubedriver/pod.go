package kubedriver

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ecsd/ecsd/internal/driver"
)

// Labels and annotations the driver puts on its pods. The prefix is
// reserved: specs whose labels use it are refused.
const (
	prefix = "ecsd.dev/"
	// labelScope (pod label) scopes pods to one ecsd (Config.Scope): the
	// informer watches only those.
	labelScope = prefix + "scope"
	// annotationGroup is the group ID as given (pod names are a
	// lowercased, hashed form of it).
	annotationGroup = prefix + "group"
	// annotationSpec is the GroupSpec as JSON: the source of truth for
	// the group's labels and its containers' ECS names and order.
	annotationSpec = prefix + "spec"
	// annotationStopRequestedAt and annotationStopTimeout record the first
	// Stop.
	annotationStopRequestedAt = prefix + "stop-requested-at"
	// finalizer keeps a stopped pod, with its containers' exit codes,
	// until the driver's Remove: Kubernetes deletes a pod once its
	// containers have stopped, ECS describes a stopped task for an hour.
	finalizer = prefix + "keep-until-removed"
	// labelHashPrefix marks a label value that is not a valid Kubernetes
	// label value (an ARN): the pod label carries its hash, the spec
	// annotation the value.
	labelHashPrefix = "sha256-"
)

// podName is the pod's name for a group ID: a DNS subdomain. IDs that
// are not one as given (upper case, '_') get a hash suffix so two IDs
// never share a pod.
func podName(id string) string {
	name := strings.ToLower(strings.ReplaceAll(id, "_", "-"))
	name = strings.Trim(name, "-.")
	if name == id && len(name) <= 200 && len(validation.IsDNS1123Subdomain(name)) == 0 {
		return name
	}
	if len(name) > 180 {
		name = name[:180]
	}
	return strings.Trim(name, "-.") + "-" + shortHash(id)
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:10]
}

var nonDNSLabel = regexp.MustCompile(`[^a-z0-9-]+`)

// containerNames gives each ContainerSpec a Kubernetes container name (a
// DNS label, unique in the pod). ECS names allow upper case and '_';
// those become lower case and '-', with the index to keep them unique.
func containerNames(cs []driver.ContainerSpec) []string {
	out := make([]string, len(cs))
	seen := map[string]bool{}
	for i, c := range cs {
		n := c.Name
		if len(validation.IsDNS1123Label(n)) != 0 {
			n = strings.Trim(nonDNSLabel.ReplaceAllString(strings.ToLower(n), "-"), "-")
			if len(n) > 50 {
				n = strings.Trim(n[:50], "-")
			}
			n = fmt.Sprintf("c%d-%s", i, n)
			n = strings.TrimSuffix(n, "-")
		}
		if seen[n] {
			n = fmt.Sprintf("c%d-%s", i, shortHash(c.Name))
		}
		seen[n] = true
		out[i] = n
	}
	return out
}

// podLabels are the group's labels as Kubernetes labels: valid ones as
// they are, a value that is not a valid label value (a task ARN) as its
// hash, so `kubectl get pods -l` still selects by it. Keys that are not
// valid label keys stay only in the spec annotation.
func podLabels(labels map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range labels {
		if len(validation.IsQualifiedName(k)) != 0 {
			continue
		}
		out[k] = LabelValue(v)
	}
	return out
}

// LabelValue is the pod label value the driver uses for a group label
// value: the value when Kubernetes accepts it, else "sha256-" and the
// first 40 hex digits of its SHA-256 (task ARNs contain ':' and '/').
func LabelValue(v string) string {
	if len(validation.IsValidLabelValue(v)) == 0 {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return labelHashPrefix + hex.EncodeToString(sum[:])[:40]
}

// buildPod is the pod that runs a group: one container per ContainerSpec,
// restart policy Never (ECS never restarts a container; the service
// scheduler replaces the task), the spec in an annotation.
func buildPod(spec driver.GroupSpec, scope string, now time.Time) (*corev1.Pod, error) {
	for k := range spec.Labels {
		if strings.HasPrefix(k, prefix) {
			return nil, fmt.Errorf("label %q: the prefix %q is reserved", k, prefix)
		}
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	labels := podLabels(spec.Labels)
	labels[labelScope] = scope
	annotations := map[string]string{
		annotationGroup:       spec.ID,
		annotationSpec:        string(raw),
		prefix + "created-at": now.UTC().Format(time.RFC3339Nano),
	}
	// dockerLabels become annotations (label values are too narrow) where
	// the containers that set a key agree on its value (a pod has one set
	// of annotations, each container had its own labels); the spec
	// annotation keeps which container had which.
	conflict := map[string]bool{}
	for _, c := range spec.Containers {
		for k, v := range c.Labels {
			if len(validation.IsQualifiedName(k)) != 0 || strings.HasPrefix(k, prefix) {
				continue
			}
			if old, ok := annotations[k]; ok && old != v {
				conflict[k] = true
			}
			annotations[k] = v
		}
	}
	for k := range conflict {
		delete(annotations, k)
	}
	no := false
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:        podName(spec.ID),
			Labels:      labels,
			Annotations: annotations,
			Finalizers:  []string{finalizer},
		},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			// Tasks do not talk to the Kubernetes API; ECS gives them the
			// task role through the credentials endpoint instead.
			AutomountServiceAccountToken: &no,
			EnableServiceLinks:           &no,
		},
	}
	ps := &pod.Spec
	if spec.Host != "" {
		// The node the placement engine chose, as a required node
		// affinity (a DaemonSet's way) rather than nodeName: the
		// scheduler still checks the node's resources, ports and taints,
		// so a pod it cannot fit stays Pending with the scheduler's
		// reason instead of being rejected by the kubelet.
		ps.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{spec.Host}}},
			}}},
		}}
	}
	switch spec.NetworkMode {
	case driver.NetworkHost:
		ps.HostNetwork = true
	}
	grace := int64(0)
	names := containerNames(spec.Containers)
	volumes := map[string]driver.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
		ps.Volumes = append(ps.Volumes, podVolume(v))
	}
	for i, c := range spec.Containers {
		// ecsd reads environment files itself, as the Docker runtime does
		// (the node never sees them): their variables go into the pod
		// spec before the container's environment, which wins over them.
		fromFiles, err := driver.ReadEnvFiles(c.EnvFiles)
		if err != nil {
			// Retrying reads the same files: the task fails to start,
			// with the Docker runtime's reason.
			return nil, fmt.Errorf("%w: ResourceInitializationError: failed to read env files: %s", driver.ErrRefused, err)
		}
		kc, extra, err := buildContainer(c, fromFiles, names[i], spec.NetworkMode, volumes, spec.Containers)
		if err != nil {
			return nil, fmt.Errorf("container %s: %w", c.Name, err)
		}
		ps.Volumes = append(ps.Volumes, extra...)
		ps.Containers = append(ps.Containers, kc)
		if s := int64(c.StopTimeout / time.Second); s > grace {
			grace = s
		}
		for k, v := range c.Sysctls {
			if ps.SecurityContext == nil {
				ps.SecurityContext = &corev1.PodSecurityContext{}
			}
			ps.SecurityContext.Sysctls = append(ps.SecurityContext.Sysctls, corev1.Sysctl{Name: k, Value: v})
		}
		for _, h := range c.ExtraHosts {
			ps.HostAliases = append(ps.HostAliases, corev1.HostAlias{IP: h.IP, Hostnames: []string{h.Hostname}})
		}
		if len(c.DNSServers) > 0 || len(c.DNSSearch) > 0 {
			if ps.DNSConfig == nil {
				ps.DNSConfig = &corev1.PodDNSConfig{}
			}
			ps.DNSConfig.Nameservers = append(ps.DNSConfig.Nameservers, c.DNSServers...)
			ps.DNSConfig.Searches = append(ps.DNSConfig.Searches, c.DNSSearch...)
			if len(c.DNSServers) > 0 {
				ps.DNSPolicy = corev1.DNSNone
			}
		}
		if c.Hostname != "" && len(validation.IsDNS1123Label(c.Hostname)) == 0 && ps.Hostname == "" {
			ps.Hostname = c.Hostname
		}
	}
	if ps.SecurityContext != nil {
		sort.Slice(ps.SecurityContext.Sysctls, func(i, j int) bool {
			return ps.SecurityContext.Sysctls[i].Name < ps.SecurityContext.Sysctls[j].Name
		})
	}
	if grace > 0 {
		ps.TerminationGracePeriodSeconds = &grace
	}
	ps.Resources = podResources(spec)
	return pod, nil
}

// podResources maps the task's own cpu and memory onto pod-level
// resources (Kubernetes' PodLevelResources, on by default since v1.34):
// on EC2 ECS makes them the task's cgroup limits, shared by its
// containers, and reserves them on the instance: a limit and an equal
// request. The containers' own values stay theirs inside it.
func podResources(spec driver.GroupSpec) *corev1.ResourceRequirements {
	if spec.TaskCPU <= 0 && spec.TaskMemoryMiB <= 0 {
		return nil
	}
	l := corev1.ResourceList{}
	if spec.TaskCPU > 0 {
		l[corev1.ResourceCPU] = *resource.NewMilliQuantity(int64(spec.TaskCPU)*1000/1024, resource.DecimalSI)
	}
	if spec.TaskMemoryMiB > 0 {
		l[corev1.ResourceMemory] = *resource.NewQuantity(int64(spec.TaskMemoryMiB)<<20, resource.BinarySI)
	}
	return &corev1.ResourceRequirements{Limits: l, Requests: l.DeepCopy()}
}

func podVolume(v driver.Volume) corev1.Volume {
	name := volumeName(v.Name)
	switch v.Kind {
	case driver.VolumeBind:
		t := corev1.HostPathDirectoryOrCreate
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: v.HostPath, Type: &t}}}
	default:
		// Task-scoped volumes live and die with the pod: an emptyDir.
		// Shared Docker volumes have no pod-level equivalent that outlives
		// the pod without a PersistentVolume; they are emptyDirs too.
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	}
}

// volumeName is a task volume's name as a pod volume name (a DNS label).
func volumeName(n string) string {
	if len(validation.IsDNS1123Label(n)) == 0 && !strings.HasPrefix(n, "ecsd-") {
		return n
	}
	s := strings.Trim(nonDNSLabel.ReplaceAllString(strings.ToLower(n), "-"), "-")
	if len(s) > 40 {
		s = strings.Trim(s[:40], "-")
	}
	return "v-" + s + "-" + shortHash(n)
}

func buildContainer(c driver.ContainerSpec, fromFiles []driver.EnvVar, name, mode string, volumes map[string]driver.Volume, all []driver.ContainerSpec) (corev1.Container, []corev1.Volume, error) {
	kc := corev1.Container{
		Name:       name,
		Image:      c.Image,
		Command:    c.EntryPoint, // Docker's ENTRYPOINT
		Args:       c.Command,    // Docker's CMD
		WorkingDir: c.WorkingDirectory,
		Stdin:      c.Interactive,
		TTY:        c.PseudoTerminal,
		// ECS uses what the node has before pulling only when asked;
		// IfNotPresent is the agent's "prefer-cached" behaviour and lets
		// images loaded into the node without a registry run.
		ImagePullPolicy:          corev1.PullIfNotPresent,
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	// Later entries win, as in Docker; the files' come first, so
	// environment overrides them (ECS's precedence).
	idx := map[string]int{}
	for _, e := range append(append([]driver.EnvVar(nil), fromFiles...), c.Env...) {
		if i, ok := idx[e.Name]; ok {
			kc.Env[i].Value = e.Value
			continue
		}
		idx[e.Name] = len(kc.Env)
		kc.Env = append(kc.Env, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	for _, p := range c.PortMappings {
		proto := corev1.ProtocolTCP
		if strings.EqualFold(p.Protocol, "udp") {
			proto = corev1.ProtocolUDP
		}
		cp := corev1.ContainerPort{ContainerPort: int32(p.ContainerPort), Protocol: proto}
		// A fixed host port is asked for in bridge mode; host mode has
		// the container's own port on the node. Kubernetes has no
		// ephemeral host ports: bridge's HostPort 0 publishes nothing on
		// the node, and the binding reports the pod IP.
		if (mode == driver.NetworkBridge || mode == "") && p.HostPort > 0 {
			cp.HostPort = int32(p.HostPort)
		}
		if mode == driver.NetworkHost {
			cp.HostPort = int32(p.ContainerPort)
		}
		kc.Ports = append(kc.Ports, cp)
	}
	res := corev1.ResourceRequirements{}
	// ECS's container cpu is a relative share (cpu-shares), never a cap:
	// a request. memory is the hard limit, memoryReservation the soft one:
	// limit and request; with only memory, the request is the limit.
	if c.CPU > 0 {
		res.Requests = corev1.ResourceList{corev1.ResourceCPU: *resource.NewMilliQuantity(int64(c.CPU)*1000/1024, resource.DecimalSI)}
	}
	if c.MemoryMiB > 0 || c.MemoryReservationMiB > 0 {
		if res.Requests == nil {
			res.Requests = corev1.ResourceList{}
		}
		req := c.MemoryReservationMiB
		if req == 0 {
			req = c.MemoryMiB
		}
		res.Requests[corev1.ResourceMemory] = *resource.NewQuantity(int64(req)<<20, resource.BinarySI)
		if c.MemoryMiB > 0 {
			res.Limits = corev1.ResourceList{corev1.ResourceMemory: *resource.NewQuantity(int64(c.MemoryMiB)<<20, resource.BinarySI)}
		}
	}
	kc.Resources = res
	if hc := c.HealthCheck; hc != nil && len(hc.Command) > 0 {
		probe, err := healthProbe(hc)
		if err != nil {
			return kc, nil, err
		}
		kc.ReadinessProbe = probe
	}
	sc := &corev1.SecurityContext{}
	set := false
	if c.Privileged {
		sc.Privileged = &c.Privileged
		set = true
	}
	if c.ReadonlyRootFS {
		sc.ReadOnlyRootFilesystem = &c.ReadonlyRootFS
		set = true
	}
	if uid, gid, ok := numericUser(c.User); ok {
		sc.RunAsUser = &uid
		if gid >= 0 {
			sc.RunAsGroup = &gid
		}
		set = true
	}
	if len(c.CapAdd) > 0 || len(c.CapDrop) > 0 {
		sc.Capabilities = &corev1.Capabilities{}
		for _, x := range c.CapAdd {
			sc.Capabilities.Add = append(sc.Capabilities.Add, corev1.Capability(strings.TrimPrefix(x, "CAP_")))
		}
		for _, x := range c.CapDrop {
			sc.Capabilities.Drop = append(sc.Capabilities.Drop, corev1.Capability(strings.TrimPrefix(x, "CAP_")))
		}
		set = true
	}
	if set {
		kc.SecurityContext = sc
	}
	var extra []corev1.Volume
	for _, m := range c.MountPoints {
		if _, ok := volumes[m.Volume]; !ok {
			return kc, nil, fmt.Errorf("mount point names volume %q, which the task does not define", m.Volume)
		}
		kc.VolumeMounts = append(kc.VolumeMounts, corev1.VolumeMount{Name: volumeName(m.Volume), MountPath: m.ContainerPath, ReadOnly: m.ReadOnly})
	}
	for _, vf := range c.VolumesFrom {
		for _, o := range all {
			if o.Name != vf.Container {
				continue
			}
			for _, m := range o.MountPoints {
				if _, ok := volumes[m.Volume]; ok {
					kc.VolumeMounts = append(kc.VolumeMounts, corev1.VolumeMount{Name: volumeName(m.Volume), MountPath: m.ContainerPath, ReadOnly: m.ReadOnly || vf.ReadOnly})
				}
			}
		}
	}
	for i, t := range c.Tmpfs {
		vn := fmt.Sprintf("%s-tmpfs-%d", name, i)
		ed := &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}
		if t.SizeMiB > 0 {
			q := resource.NewQuantity(int64(t.SizeMiB)<<20, resource.BinarySI)
			ed.SizeLimit = q
		}
		extra = append(extra, corev1.Volume{Name: vn, VolumeSource: corev1.VolumeSource{EmptyDir: ed}})
		kc.VolumeMounts = append(kc.VolumeMounts, corev1.VolumeMount{Name: vn, MountPath: t.ContainerPath})
	}
	if c.SharedMemoryMiB > 0 {
		vn := name + "-shm"
		q := resource.NewQuantity(int64(c.SharedMemoryMiB)<<20, resource.BinarySI)
		extra = append(extra, corev1.Volume{Name: vn, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: q}}})
		kc.VolumeMounts = append(kc.VolumeMounts, corev1.VolumeMount{Name: vn, MountPath: "/dev/shm"})
	}
	return kc, extra, nil
}

// healthProbe maps an ECS health check onto a readiness probe: like
// ECS's, a failing readiness probe marks the container but never
// restarts it (a liveness probe would).
func healthProbe(hc *driver.HealthCheck) (*corev1.Probe, error) {
	var cmd []string
	switch hc.Command[0] {
	case "CMD":
		cmd = hc.Command[1:]
	case "CMD-SHELL":
		cmd = []string{"/bin/sh", "-c", strings.Join(hc.Command[1:], " ")}
	default:
		cmd = hc.Command
	}
	if len(cmd) == 0 {
		return nil, fmt.Errorf("healthCheck command %q runs nothing", hc.Command)
	}
	secs := func(d, def time.Duration) int32 {
		if d <= 0 {
			d = def
		}
		return int32((d + time.Second - 1) / time.Second)
	}
	retries := hc.Retries
	if retries <= 0 {
		retries = 3
	}
	return &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: cmd}},
		PeriodSeconds:    secs(hc.Interval, 30*time.Second),
		TimeoutSeconds:   secs(hc.Timeout, 5*time.Second),
		FailureThreshold: int32(retries),
		SuccessThreshold: 1,
		// Failures in ECS's start period do not count; the closest
		// Kubernetes has is not probing before it.
		InitialDelaySeconds: int32(hc.StartPeriod / time.Second),
	}, nil
}

// numericUser parses ECS's user forms that Kubernetes can express: "uid"
// and "uid:gid". Names need the image's /etc/passwd, which only the
// container runtime reads: they are left to the image (documented).
func numericUser(u string) (uid, gid int64, ok bool) {
	if u == "" {
		return 0, -1, false
	}
	user, group, hasGroup := strings.Cut(u, ":")
	uid, err := strconv.ParseInt(user, 10, 64)
	if err != nil {
		return 0, -1, false
	}
	gid = -1
	if hasGroup {
		if gid, err = strconv.ParseInt(group, 10, 64); err != nil {
			return uid, -1, true
		}
	}
	return uid, gid, true
}
