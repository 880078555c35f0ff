package kubetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Tier 2: a real kubelet running real containers. It needs root (the
// kubelet and runc create cgroups, mounts and network namespaces), the
// kubelet binary (e2e/kube-env.sh build-kubelet), Debian's containerd,
// runc and containernetworking-plugins. Everything it creates on the host
// lives under fixed names, so a run that crashed is cleaned up by the next
// one, and a host-wide lock lets one tier-2 cluster at a time exist (test
// binaries of several packages run in parallel).
const (
	// KubeletNode is the real node's name (the kubelet's
	// --hostname-override: the API server reaches it for logs and exec
	// as localhost, see --kubelet-preferred-address-types).
	KubeletNode = "localhost"
	// BridgeGateway is the host's address on the pods' bridge: a pod
	// reaches a server on the host (ecsd's metadata endpoint) there.
	BridgeGateway = "10.217.0.1"
	// PodSubnet is where the bridge's pods get their addresses.
	PodSubnet = "10.217.0.0/24"
	// PauseImage is the pod sandbox image (the tiny program's "run").
	PauseImage = "ecsd-test/pause:1"

	bridgeName = "ecsdk0"
	tier2Base  = "/var/lib/ecsd-kubetest"
	tier2Lock  = "/run/ecsd-kubetest.lock"
	cniBinDir  = "/usr/lib/cni"
)

var tier2 struct {
	once sync.Once
	c    *Cluster
	err  error
	p    plane
}

// hostDirs are folders outside tier2Base the kubelet and containerd write
// (fixed paths in their code): removed at teardown if they were not there
// before.
var hostDirs = []string{"/var/lib/kubelet", "/var/log/containers", "/var/log/pods", "/run/netns", "/run/containerd/runc/k8s.io"}

// StartKubelet starts a tier-2 cluster for the test binary's tests, once
// per process: a control plane of its own (etcd, kube-apiserver,
// kube-scheduler; no kwok), and one real node, KubeletNode, run by a
// kubelet on a second containerd (CRI) with a CNI bridge. Images cannot
// be pulled: the tests import theirs (ImportImage, TinyImage). Main tears
// it all down and fails the run if anything is left on the host. Without
// root or the binaries the test skips (fails under CI=true).
func StartKubelet(t testing.TB) *Cluster {
	t.Helper()
	for _, v := range []string{"ECSD_KUBE_TESTS", "ECSD_KUBELET_TESTS"} {
		if os.Getenv(v) == "later" {
			t.Skipf("%s=later: the tier-2 tests run after the kubelet's build (.ci/run)", v)
		}
	}
	tier2.once.Do(func() {
		started := time.Now()
		tier2.c, tier2.err = startTier2()
		if tier2.err == nil {
			fmt.Fprintf(os.Stderr, "kubetest: tier 2 (kubelet) ready in %v\n", time.Since(started).Round(100*time.Millisecond))
		}
	})
	if tier2.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kubernetes tier-2 cluster: %v", tier2.err)
		}
		t.Skipf("kubernetes tier-2 cluster: %v", tier2.err)
	}
	return tier2.c
}

func startTier2() (*Cluster, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("a real kubelet needs root")
	}
	bin := BinDir()
	need := []string{filepath.Join(bin, "kubelet"), filepath.Join(cniBinDir, "bridge"), filepath.Join(cniBinDir, "host-local"), filepath.Join(cniBinDir, "loopback")}
	for _, p := range need {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%v: run e2e/kube-env.sh build-kubelet and apt-get install containernetworking-plugins", err)
		}
	}
	for _, p := range []string{"containerd", "ctr", "runc", "ip"} {
		if _, err := exec.LookPath(p); err != nil {
			return nil, fmt.Errorf("%s: %v (Debian's containerd, runc and iproute2)", p, err)
		}
	}
	c, err := tier2.p.startControlPlane()
	if err != nil {
		tier2.p.stop()
		return nil, err
	}
	n := &kubeletNode{logDir: tier2.p.dir, imported: map[string]bool{}}
	c.node = n
	if err := n.start(c); err != nil {
		err = errors.Join(err, n.teardown(c))
		tier2.p.stop()
		return nil, err
	}
	c.Nodes = []string{KubeletNode}
	return c, nil
}

// stopKubelet tears the tier-2 cluster down, if one was started, and
// reports what it could not remove.
func stopKubelet() error {
	if tier2.c == nil || tier2.c.node == nil {
		return nil
	}
	err := tier2.c.node.teardown(tier2.c)
	tier2.p.stop()
	tier2.c = nil
	return err
}

// kubeletNode is the host side of tier 2.
type kubeletNode struct {
	logDir     string
	lock       *os.File
	containerd *exec.Cmd
	kubelet    *exec.Cmd
	state      hostState

	imagesMu sync.Mutex
	imported map[string]bool
}

// hostState is what existed before the node started, saved in tier2Base
// so that the next run cleans up after one that crashed.
type hostState struct {
	NetNS    []string `json:"netns"`
	HostDirs []string `json:"hostDirs"`
	Cgroups  []string `json:"cgroups"`
}

func (n *kubeletNode) sock() string { return filepath.Join(tier2Base, "containerd.sock") }

func (n *kubeletNode) start(c *Cluster) error {
	if err := n.acquire(10 * time.Minute); err != nil {
		return err
	}
	if _, err := os.Stat(tier2Base); err == nil {
		// A run that crashed left its host state: clean it up first.
		if err := n.cleanStale(); err != nil {
			return fmt.Errorf("cleaning up a previous tier-2 run: %w", err)
		}
	}
	n.state = hostState{NetNS: netnsNames(), Cgroups: kubepodsCgroups()}
	for _, d := range hostDirs {
		if _, err := os.Stat(d); err == nil {
			n.state.HostDirs = append(n.state.HostDirs, d)
		}
	}
	for _, d := range []string{"cni", "ipam", "pod-logs", "kubelet", "certs.d/docker.io"} {
		if err := os.MkdirAll(filepath.Join(tier2Base, d), 0o700); err != nil {
			return err
		}
	}
	b, _ := json.Marshal(n.state)
	if err := os.WriteFile(filepath.Join(tier2Base, "state.json"), b, 0o600); err != nil {
		return err
	}
	if err := n.writeConfigs(); err != nil {
		return err
	}
	// The bridge plugin would create the bridge with the first pod; made
	// now, a server on the host can listen on BridgeGateway before any pod
	// exists (ecsd's metadata endpoint).
	for _, args := range [][]string{
		{"link", "add", bridgeName, "type", "bridge"},
		{"addr", "add", BridgeGateway + "/24", "dev", bridgeName},
		{"link", "set", bridgeName, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
	}
	if err := n.startContainerd(); err != nil {
		return err
	}
	if err := n.importPause(); err != nil {
		return err
	}
	kubelet := exec.Command(filepath.Join(BinDir(), "kubelet"),
		"--config", filepath.Join(tier2Base, "kubelet.yaml"), "--kubeconfig", c.Kubeconfig,
		"--root-dir", filepath.Join(tier2Base, "kubelet"), "--hostname-override", KubeletNode, "--v=1")
	if err := n.startProc(kubelet, "kubelet"); err != nil {
		return err
	}
	n.kubelet = kubelet
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		node, err := c.Client.CoreV1().Nodes().Get(ctx, KubeletNode, metav1.GetOptions{})
		if err == nil {
			for _, cond := range node.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s not Ready after 2m (kubelet log: %s)", KubeletNode, filepath.Join(n.logDir, "kubelet.log"))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// acquire takes the host-wide tier-2 lock, waiting up to patience.
func (n *kubeletNode) acquire(patience time.Duration) error {
	f, err := os.OpenFile(tier2Lock, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(patience)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			n.lock = f
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return fmt.Errorf("tier-2 lock %s (another test binary runs a kubelet): %w", tier2Lock, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (n *kubeletNode) writeConfigs() error {
	files := map[string]string{
		"containerd.toml": fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
[grpc]
  address = %[3]q
[ttrpc]
  address = %[4]q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[5]q
  # Without CAP_SYS_RESOURCE (this sandbox) runc fails with "can't get
  # final child's PID from pipe: EOF" unless the OOM score is kept.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %[6]q
    conf_dir = %[7]q
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = %[8]q
`, filepath.Join(tier2Base, "containerd-root"), filepath.Join(tier2Base, "containerd-state"), n.sock(), n.sock()+".ttrpc",
			PauseImage, cniBinDir, filepath.Join(tier2Base, "cni"), filepath.Join(tier2Base, "certs.d")),
		// Nothing is pulled: a missing image fails at once (connection
		// refused) instead of going to the internet.
		"certs.d/docker.io/hosts.toml": `server = "http://127.0.0.1:1"
[host."http://127.0.0.1:1"]
  capabilities = ["pull", "resolve"]
`,
		// No masquerade and no port mapping: nothing in iptables; only
		// the host reaches the pods, on their own addresses.
		"cni/10-ecsd.conflist": fmt.Sprintf(`{"cniVersion": "0.4.0", "name": "ecsd-kubetest", "plugins": [
  {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": %q, "gateway": %q}]], "dataDir": %q}}
]}
`, bridgeName, PodSubnet, BridgeGateway, filepath.Join(tier2Base, "ipam")),
		"kubelet.yaml": fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# These machines run cgroup v1, which the kubelet refuses by default.
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://%[1]s
address: 127.0.0.1
port: %[2]d
readOnlyPort: 0
healthzPort: 0
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
resolvConf: ""
podLogsDir: %[3]q
# A shared test machine's disk and memory are not the node's to guard, and
# the imported images cannot be pulled again.
evictionHard: {memory.available: "0%%", nodefs.available: "0%%", imagefs.available: "0%%", nodefs.inodesFree: "0%%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
syncFrequency: 10s
nodeStatusUpdateFrequency: 2s
`, n.sock(), mustFreePort(), filepath.Join(tier2Base, "pod-logs")),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(tier2Base, name), []byte(body), 0o600); err != nil {
			return err
		}
	}
	return nil
}

func mustFreePort() int {
	p, err := freePorts(1)
	if err != nil {
		panic(err)
	}
	return p[0]
}

func (n *kubeletNode) startProc(cmd *exec.Cmd, name string) error {
	log, err := os.OpenFile(filepath.Join(n.logDir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = dieWithParent()
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("starting %s: %w", name, err)
	}
	return nil
}

func (n *kubeletNode) startContainerd() error {
	cmd := exec.Command("containerd", "--config", filepath.Join(tier2Base, "containerd.toml"), "--log-level", "warn")
	if err := n.startProc(cmd, "containerd"); err != nil {
		return err
	}
	n.containerd = cmd
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := n.ctr("version"); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("containerd not answering after 30s: %v (log: %s)", err, filepath.Join(n.logDir, "containerd.log"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ctr runs ctr against the node's containerd, in the CRI's namespace.
func (n *kubeletNode) ctr(args ...string) ([]byte, error) {
	return n.ctrIn(nil, args...)
}

func (n *kubeletNode) ctrIn(stdin []byte, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ctr", append([]string{"--address", n.sock(), "-n", "k8s.io"}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("ctr %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}

func stopProc(cmd *exec.Cmd, patience time.Duration) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(patience):
		_ = cmd.Process.Kill()
		<-done
	}
}

// teardown removes everything the node created: its pods (through the
// kubelet, so sandboxes and their networks are released), then the
// kubelet, every container left in containerd, containerd, mounts,
// network namespaces, the bridge, the kubepods cgroups, the kubelet's
// folders outside tier2Base and tier2Base itself. It reports what is left.
func (n *kubeletNode) teardown(c *Cluster) error {
	var errs []error
	if n.kubelet != nil && c != nil {
		errs = append(errs, deleteAllPods(c))
	}
	stopProc(n.kubelet, 10*time.Second)
	n.kubelet = nil
	if n.containerd != nil {
		errs = append(errs, n.removeContainers())
	}
	stopProc(n.containerd, 10*time.Second)
	n.containerd = nil
	errs = append(errs, n.cleanHost())
	if left := n.leftovers(); len(left) > 0 {
		errs = append(errs, fmt.Errorf("left behind on the host: %s", strings.Join(left, "; ")))
	}
	if n.lock != nil {
		n.lock.Close()
		n.lock = nil
	}
	return errors.Join(errs...)
}

// cleanStale cleans up after a run that crashed: its containerd's
// containers (through a containerd started on the same folders), then the
// host state as teardown does.
func (n *kubeletNode) cleanStale() error {
	if b, err := os.ReadFile(filepath.Join(tier2Base, "state.json")); err == nil {
		_ = json.Unmarshal(b, &n.state)
	}
	var errs []error
	if _, err := os.Stat(filepath.Join(tier2Base, "containerd.toml")); err == nil {
		if err := n.startContainerd(); err == nil {
			errs = append(errs, n.removeContainers())
		}
		stopProc(n.containerd, 10*time.Second)
		n.containerd = nil
	}
	errs = append(errs, n.cleanHost())
	return errors.Join(errs...)
}

// deleteAllPods deletes every pod on the cluster, lifting finalizers
// (the driver's), and waits until the kubelet has confirmed each one gone.
func deleteAllPods(c *Cluster) error {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	pods := c.Client.CoreV1().Pods("")
	grace := int64(1)
	for {
		list, err := pods.List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing pods at teardown: %w", err)
		}
		if len(list.Items) == 0 {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%d pods not gone 90s into teardown", len(list.Items))
		}
		for _, p := range list.Items {
			api := c.Client.CoreV1().Pods(p.Namespace)
			if len(p.Finalizers) > 0 {
				_, _ = api.Patch(ctx, p.Name, types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
			}
			if p.DeletionTimestamp == nil {
				if err := api.Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil && !apierrors.IsNotFound(err) {
					return err
				}
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// removeContainers kills and removes every container and task in the
// node's containerd.
func (n *kubeletNode) removeContainers() error {
	var errs []error
	out, err := n.ctr("tasks", "ls", "-q")
	if err != nil {
		return err
	}
	for _, id := range strings.Fields(string(out)) {
		if _, err := n.ctr("tasks", "rm", "-f", id); err != nil {
			errs = append(errs, err)
		}
	}
	out, err = n.ctr("containers", "ls", "-q")
	if err != nil {
		return err
	}
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		if _, err := n.ctr(append([]string{"containers", "rm"}, ids...)...); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// cleanHost removes the node's host state once its processes are gone.
func (n *kubeletNode) cleanHost() error {
	var errs []error
	// Shims outlive a containerd that was killed.
	for _, pid := range procsMentioning(tier2Base) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	time.Sleep(200 * time.Millisecond)
	for _, m := range n.ownMounts() {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("umount %s: %w", m, err))
		}
	}
	for _, ns := range n.newNetNS() {
		if err := os.Remove(filepath.Join("/run/netns", ns)); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	if out, err := exec.Command("ip", "link", "del", bridgeName).CombinedOutput(); err != nil && !bytes.Contains(out, []byte("Cannot find device")) {
		errs = append(errs, fmt.Errorf("ip link del %s: %v: %s", bridgeName, err, bytes.TrimSpace(out)))
	}
	for _, cg := range n.newCgroups() {
		errs = append(errs, removeCgroup(cg))
	}
	// The kubelet's links to its pods' logs.
	if links, err := os.ReadDir("/var/log/containers"); err == nil {
		for _, l := range links {
			p := filepath.Join("/var/log/containers", l.Name())
			if dst, err := os.Readlink(p); err == nil && strings.HasPrefix(dst, tier2Base) {
				_ = os.Remove(p)
			}
		}
	}
	for _, d := range hostDirs {
		if !contains(n.state.HostDirs, d) {
			if err := os.RemoveAll(d); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := os.RemoveAll(tier2Base); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// leftovers lists what teardown should have removed but is still there.
func (n *kubeletNode) leftovers() []string {
	var left []string
	if _, err := os.Stat(tier2Base); err == nil {
		left = append(left, tier2Base)
	}
	for _, m := range n.ownMounts() {
		left = append(left, "mount "+m)
	}
	for _, ns := range n.newNetNS() {
		left = append(left, "netns "+ns)
	}
	if err := exec.Command("ip", "link", "show", bridgeName).Run(); err == nil {
		left = append(left, "link "+bridgeName)
	}
	for _, cg := range n.newCgroups() {
		left = append(left, "cgroup "+cg)
	}
	for _, d := range hostDirs {
		if _, err := os.Stat(d); err == nil && !contains(n.state.HostDirs, d) {
			left = append(left, d)
		}
	}
	for _, pid := range procsMentioning(tier2Base) {
		left = append(left, "process "+strconv.Itoa(pid))
	}
	return left
}

// ownMounts lists the mount points under tier2Base or of network
// namespaces created since the node started, deepest first.
func (n *kubeletNode) ownMounts() []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	fresh := map[string]bool{}
	for _, ns := range n.newNetNS() {
		fresh[filepath.Join("/run/netns", ns)] = true
	}
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if strings.HasPrefix(mp, tier2Base+"/") || mp == tier2Base || fresh[mp] {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	r, err := strconv.Unquote(`"` + strings.ReplaceAll(s, `"`, `\"`) + `"`)
	if err != nil {
		return s
	}
	return r
}

func netnsNames() []string {
	var out []string
	es, _ := os.ReadDir("/run/netns")
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func (n *kubeletNode) newNetNS() []string {
	var out []string
	for _, ns := range netnsNames() {
		if strings.HasPrefix(ns, "cni-") && !contains(n.state.NetNS, ns) {
			out = append(out, ns)
		}
	}
	return out
}

// kubepodsCgroups lists the kubelet's top cgroup in every hierarchy where
// it exists.
func kubepodsCgroups() []string {
	ms, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods")
	if _, err := os.Stat("/sys/fs/cgroup/kubepods"); err == nil {
		ms = append(ms, "/sys/fs/cgroup/kubepods")
	}
	return ms
}

func (n *kubeletNode) newCgroups() []string {
	var out []string
	for _, cg := range kubepodsCgroups() {
		if !contains(n.state.Cgroups, cg) {
			out = append(out, cg)
		}
	}
	return out
}

// removeCgroup removes a cgroup and its children, deepest first (a
// cgroup folder goes with rmdir only).
func removeCgroup(root string) error {
	var dirs []string
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	var last error
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := syscall.Rmdir(dirs[i]); err != nil && !errors.Is(err, syscall.ENOENT) {
			last = fmt.Errorf("rmdir %s: %w", dirs[i], err)
		}
	}
	return last
}

// procsMentioning lists the processes whose command line mentions s
// (containerd's shims name their containerd's socket).
func procsMentioning(s string) []int {
	var out []int
	es, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, e := range es {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(s)) {
			out = append(out, pid)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
