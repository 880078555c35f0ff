// Package kubetest starts a real Kubernetes control plane for tests: etcd,
// kube-apiserver and kube-scheduler built from the Go module proxy, and
// kwok playing the kubelet on fake nodes (tier 1: no root, ~3 s to
// start). The binaries come from e2e/kube-env.sh's cache folder
// (ECSD_KUBE_BIN, else ~/.cache/ecsd-test/k8s-v1.37.2). Without them a
// test skips with the command that builds them; under CI=true it fails.
//
// No controller-manager runs: the harness creates each namespace's
// default ServiceAccount itself, and the API server leaves out the
// admission plugin that taints new nodes not-ready until the node
// lifecycle controller clears it.
package kubetest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

//go:embed node-stages.yaml
var nodeStages string

//go:embed pod-stages.yaml
var podStages string

// Version is the Kubernetes release the binaries are built from.
const Version = "v1.37.2"

// Images and env of containers that kwok's stages script (pod-stages.yaml).
const (
	UnpullableImage   = "kwok.ecsd.test/unpullable:1"
	EnvExit           = "ECSD_KWOK_EXIT"
	EnvIgnoreTerm     = "ECSD_KWOK_IGNORE_TERM"
	LabelExitAfter    = "kwok.ecsd.test/exit-after"
	NodeCPU           = "8"
	NodeMemory        = "16Gi"
	defaultTokenValue = "ecsd-test-token"
)

// BinDir is the folder the binaries are cached in.
func BinDir() string {
	if d := os.Getenv("ECSD_KUBE_BIN"); d != "" {
		return d
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "ecsd-test", "k8s-"+Version)
}

var binaries = []string{"etcd", "kube-apiserver", "kube-scheduler", "kwok"}

// Cluster is a running control plane with kwok nodes.
type Cluster struct {
	Config *rest.Config
	Client kubernetes.Interface
	// Kubeconfig is a kubeconfig file for the cluster.
	Kubeconfig string
	// Nodes are the nodes' names: kwok's fake ones (Start) or the real
	// kubelet's (StartKubelet).
	Nodes []string

	dir  string
	node *kubeletNode
}

// Start starts a cluster for the test binary's tests, once per process
// (Kubernetes tests share it; each uses its own namespace), and stops it
// when m's tests end: call it from TestMain through Main.
func Start(t testing.TB) *Cluster {
	t.Helper()
	if os.Getenv("ECSD_KUBE_TESTS") == "later" {
		// .ci/run: the binaries are still building; it runs these tests
		// on their own once they are there.
		t.Skip("ECSD_KUBE_TESTS=later: the Kubernetes tests run after the binaries' build (.ci/run)")
	}
	shared.once.Do(func() { shared.c, shared.err = start() })
	if shared.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kubernetes test cluster: %v", shared.err)
		}
		t.Skipf("kubernetes test cluster: %v", shared.err)
	}
	return shared.c
}

// plane is one running control plane's processes and folder.
type plane struct {
	procs []*exec.Cmd
	dir   string
}

var shared struct {
	once sync.Once
	c    *Cluster
	err  error
	p    plane
}

// Main runs m's tests and stops the shared clusters afterwards. A tier-2
// cluster (StartKubelet) is torn down first; anything it leaves behind on
// the host fails the run.
func Main(m *testing.M) int {
	code := m.Run()
	if err := stopKubelet(); err != nil {
		fmt.Fprintf(os.Stderr, "kubetest: tier 2 teardown: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	shared.p.stop()
	return code
}

// stop kills the plane's processes, newest first, and removes its folder.
func (p *plane) stop() {
	for i := len(p.procs) - 1; i >= 0; i-- {
		c := p.procs[i]
		// SIGTERM makes the API server drain for ~20 s: kill at once.
		_ = c.Process.Kill()
		_ = c.Wait()
	}
	p.procs = nil
	if p.dir != "" {
		os.RemoveAll(p.dir)
	}
}

func start() (*Cluster, error) {
	c, err := shared.p.startControlPlane()
	if err != nil {
		return nil, err
	}
	if err := shared.p.run("kwok", filepath.Join(BinDir(), "kwok"), c.kwokArgs()...); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range 2 {
		name := fmt.Sprintf("kwok-node-%d", i)
		if err := c.addNode(ctx, name); err != nil {
			return nil, err
		}
		c.Nodes = append(c.Nodes, name)
	}
	return c, nil
}

// startControlPlane starts etcd, kube-apiserver and kube-scheduler.
func (p *plane) startControlPlane() (*Cluster, error) {
	bin := BinDir()
	for _, b := range binaries {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return nil, fmt.Errorf("%s is not built (%v): run e2e/kube-env.sh build (about 10 minutes on a fresh machine)", b, err)
		}
	}
	dir, err := os.MkdirTemp("", "ecsd-kube-")
	if err != nil {
		return nil, err
	}
	p.dir = dir
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	if err := p.run("etcd", filepath.Join(bin, "etcd"),
		"--data-dir", filepath.Join(dir, "etcd"), "--unsafe-no-fsync",
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default="+peerURL, "--log-level", "warn"); err != nil {
		return nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	keyFile := filepath.Join(dir, "sa.key")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return nil, err
	}
	tokenFile := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte(defaultTokenValue+",admin,admin,system:masters\n"), 0o600); err != nil {
		return nil, err
	}
	apiPort := ports[2]
	if err := p.run("kube-apiserver", filepath.Join(bin, "kube-apiserver"),
		"--etcd-servers", etcdURL, "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(apiPort), "--cert-dir", filepath.Join(dir, "certs"),
		"--service-account-key-file", keyFile, "--service-account-signing-key-file", keyFile,
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--token-auth-file", tokenFile,
		// RBAC, so deploy/kubernetes's roles can be tested; the tests' own
		// token is in system:masters.
		"--authorization-mode", "RBAC",
		"--service-cluster-ip-range", "10.96.0.0/16", "--endpoint-reconciler-type", "none",
		"--disable-admission-plugins", "TaintNodesByCondition",
		"--kubelet-preferred-address-types", "Hostname"); err != nil {
		return nil, err
	}
	host := fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	if err := waitReady(host, dir); err != nil {
		return nil, err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: %q, insecure-skip-tls-verify: true}
users:
- name: admin
  user: {token: %q}
contexts:
- name: test
  context: {cluster: test, user: admin}
current-context: test
`, host, defaultTokenValue)), 0o600); err != nil {
		return nil, err
	}
	if err := p.run("kube-scheduler", filepath.Join(bin, "kube-scheduler"),
		"--kubeconfig", kubeconfig, "--leader-elect=false", "--secure-port=0", "-v=1"); err != nil {
		return nil, err
	}
	cfg := &rest.Config{Host: host, BearerToken: defaultTokenValue, TLSClientConfig: rest.TLSClientConfig{Insecure: true}, QPS: 200, Burst: 400}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Cluster{Config: cfg, Client: client, Kubeconfig: kubeconfig, dir: dir}, nil
}

// kwokArgs are kwok's flags: it plays the kubelet of the nodes annotated
// kwok.x-k8s.io/node=fake only.
func (c *Cluster) kwokArgs() []string {
	config := filepath.Join(c.dir, "kwok.yaml")
	if err := os.WriteFile(config, []byte(nodeStages+"\n---\n"+podStages), 0o600); err != nil {
		panic(err)
	}
	return []string{"--kubeconfig", c.Kubeconfig, "--config", config,
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector", "kwok.x-k8s.io/node=fake",
		"--node-lease-duration-seconds=40", "--server-address="}
}

// addNode creates a fake node kwok manages and waits for it to be Ready.
func (c *Cluster) addNode(ctx context.Context, name string) error {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
				"kubernetes.io/arch": "amd64", "type": "kwok", "topology.kubernetes.io/zone": "zone-" + name[len(name)-1:]},
		},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: mustQuantity(NodeCPU), corev1.ResourceMemory: mustQuantity(NodeMemory), corev1.ResourcePods: mustQuantity("110")},
			Capacity:    corev1.ResourceList{corev1.ResourceCPU: mustQuantity(NodeCPU), corev1.ResourceMemory: mustQuantity(NodeMemory), corev1.ResourcePods: mustQuantity("110")},
		},
	}
	if _, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating node %s: %w", name, err)
	}
	for ctx.Err() == nil {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			for _, cond := range n.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					return nil
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("node %s: not Ready: %w", name, ctx.Err())
}

// Namespace creates a namespace of its own for t, with the default
// ServiceAccount the controller-manager would create, and deletes it
// when t ends.
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	name := strings.ToLower(fmt.Sprintf("t-%d", time.Now().UnixNano()%1e12))
	ctx := context.Background()
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	no := false
	if _, err := c.Client.CoreV1().ServiceAccounts(name).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: "default"}, AutomountServiceAccountToken: &no,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the default service account of %s: %v", name, err)
	}
	return name
}

func (p *plane) run(name, path string, args ...string) error {
	log, err := os.Create(filepath.Join(p.dir, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = log, log
	// A test binary that dies (a panic, a timeout) takes its cluster
	// with it.
	cmd.SysProcAttr = dieWithParent()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	p.procs = append(p.procs, cmd)
	return nil
}

func waitReady(host, dir string) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("GET", host+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+defaultTokenValue)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			err = fmt.Errorf("/readyz: %s", resp.Status)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("kube-apiserver not ready after 60s: %v (logs in %s)", last, dir)
}

func freePorts(n int) ([]int, error) {
	var out []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }

// AddKwokNodes adds n more fake nodes kwok manages (named prefix-0...),
// each Ready before it returns, for tests that need room for more than
// the two default nodes' 220 pods.
func (c *Cluster) AddKwokNodes(ctx context.Context, prefix string, n int) error {
	for i := range n {
		name := fmt.Sprintf("%s-%d", prefix, i)
		if err := c.addNode(ctx, name); err != nil {
			return err
		}
		c.Nodes = append(c.Nodes, name)
	}
	return nil
}
