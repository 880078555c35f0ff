// Package kube benchmarks ecsd's kubernetes runtime against the test
// clusters of internal/driver/kubedriver/kubetest: RunTask until RUNNING
// and StopTask until STOPPED on kwok's fake nodes (tier 1) and on a real
// kubelet (tier 2, root only), side by side in the same run with ecsd's
// Docker runtime and with a bare pod created through client-go; then 1,000
// tasks on kwok nodes (throughput, Kubernetes API calls per task, ecsd's
// memory). ecsd runs as its own process (go build ./cmd/ecsd) and talks to
// the API server through a counting proxy.
//
//	ECSD_KUBE_BENCH=1 go test -count=1 -v -timeout 60m -run . ./bench/kube/
//	ECSD_KUBE_BENCH=1 ECSD_KUBE_BENCH_RUNS=20 ECSD_KUBE_BENCH_TASKS=1000 go test ...
//
// Without ECSD_KUBE_BENCH=1 (go test ./...) every test skips.
package kube

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ecsd/ecsd/internal/driver/kubedriver/kubetest"
	"github.com/ecsd/ecsd/internal/sdkhttp"
)

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m)) }

func gate(t *testing.T) {
	if os.Getenv("ECSD_KUBE_BENCH") != "1" {
		t.Skip("a benchmark: set ECSD_KUBE_BENCH=1 to run it")
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

var (
	buildOnce sync.Once
	ecsdBin   string
	buildErr  error
)

func ecsdBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ecsd-kube-bench-")
		if err != nil {
			buildErr = err
			return
		}
		ecsdBin = filepath.Join(dir, "ecsd")
		cmd := exec.Command("go", "build", "-o", ecsdBin, "./cmd/ecsd")
		cmd.Dir = filepath.Join("..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return ecsdBin
}

// proc is an ecsd process.
type proc struct {
	cmd      *exec.Cmd
	endpoint string
	dataDir  string
}

var listening = regexp.MustCompile(`msg="ecsd listening" addr=([0-9.:]+)`)

// startEcsd starts ecsd with args, waits until it listens, and stops it
// when t ends.
func startEcsd(t *testing.T, args ...string) *proc {
	t.Helper()
	dir := t.TempDir()
	logf, err := os.Create(filepath.Join(dir, "ecsd.log"))
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(ecsdBinary(t), append([]string{"--listen", "127.0.0.1:0", "--data-dir", data, "--log-level", "info",
		"--create-default-cluster"}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, dataDir: data}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(logf.Name())
		if m := listening.FindSubmatch(b); m != nil {
			p.endpoint = "http://" + string(m[1])
			return p
		}
		if cmd.ProcessState != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	b, _ := os.ReadFile(logf.Name())
	t.Fatalf("ecsd did not start:\n%s", b)
	return nil
}

// memory is the process's resident set now and at its peak, in MiB.
func (p *proc) memory() (rss, hwm float64) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	s := bufio.NewScanner(bytes.NewReader(b))
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) >= 2 {
			kb, _ := strconv.ParseFloat(f[1], 64)
			switch f[0] {
			case "VmRSS:":
				rss = kb / 1024
			case "VmHWM:":
				hwm = kb / 1024
			}
		}
	}
	return rss, hwm
}

func (p *proc) client() *ecs.Client {
	return ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String(p.endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""), RetryMaxAttempts: 3,
		HTTPClient: sdkhttp.Client()})
}

// counter is a reverse proxy in front of the API server that counts
// ecsd's requests by verb and resource.
type counter struct {
	mu     sync.Mutex
	counts map[string]int
	total  atomic.Int64
	srv    *httptest.Server
}

func newCounter(t *testing.T, c *kubetest.Cluster) *counter {
	t.Helper()
	target, err := url.Parse(c.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, MaxIdleConnsPerHost: 100, ForceAttemptHTTP2: true}
	rp.FlushInterval = -1 // watches stream
	k := &counter{counts: map[string]int{}}
	k.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.count(r)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(k.srv.Close)
	return k
}

func (k *counter) count(r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	// /api/v1/namespaces/NS/pods[/NAME[/SUB]] or /api/v1/nodes[/NAME]...
	resource, named := "", false
	for i := 0; i < len(parts); i++ {
		if parts[i] == "namespaces" && i+2 < len(parts) {
			i++
			continue
		}
		if i >= 2 {
			resource = parts[i]
			named = i+1 < len(parts)
			if i+2 < len(parts) {
				resource += "/" + parts[i+2]
			}
			break
		}
	}
	verb := r.Method
	switch {
	case r.Method == http.MethodGet && r.URL.Query().Get("watch") == "true":
		verb = "WATCH"
	case r.Method == http.MethodGet && !named:
		verb = "LIST"
	}
	k.mu.Lock()
	k.counts[verb+" "+resource]++
	k.mu.Unlock()
	k.total.Add(1)
}

func (k *counter) snapshot() map[string]int {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := map[string]int{}
	for key, v := range k.counts {
		out[key] = v
	}
	return out
}

// kubeconfig is a kubeconfig for ecsd through the counter.
func (k *counter) kubeconfig(t *testing.T, c *kubetest.Cluster) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "kubeconfig")
	body := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: bench
  cluster: {server: %q, insecure-skip-tls-verify: true}
users:
- name: bench
  user: {token: %q}
contexts:
- name: bench
  context: {cluster: bench, user: bench}
current-context: bench
`, k.srv.URL, c.Config.BearerToken)
	if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

var fargateNet = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
	Subnets: []string{"subnet-0123456789abcdef0"}, SecurityGroups: []string{"sg-0123456789abcdef0"},
}}

// register registers the benchmark's task definition: one container of
// image running until SIGTERM.
func register(t *testing.T, c *ecs.Client, image string, command []string) string {
	t.Helper()
	out, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("bench"), RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(image), Command: command}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

const poll = 5 * time.Millisecond

func waitStatus(t *testing.T, c *ecs.Client, arn, want string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		out, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: []string{arn}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Tasks) == 1 {
			s := aws.ToString(out.Tasks[0].LastStatus)
			if s == want {
				return
			}
			if s == "STOPPED" {
				t.Fatalf("task %s stopped: %s", arn, aws.ToString(out.Tasks[0].StoppedReason))
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s never reached %s", arn, want)
		}
		time.Sleep(poll)
	}
}

// ecsdRuns times n sequential RunTask→RUNNING and StopTask→STOPPED.
func ecsdRuns(t *testing.T, p *proc, td string, n int) (run, stop []time.Duration) {
	t.Helper()
	c := p.client()
	for range n {
		start := time.Now()
		out, err := c.RunTask(t.Context(), &ecs.RunTaskInput{TaskDefinition: aws.String(td), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: fargateNet})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("RunTask: %v %+v", err, out)
		}
		arn := aws.ToString(out.Tasks[0].TaskArn)
		waitStatus(t, c, arn, "RUNNING")
		run = append(run, time.Since(start))
		start = time.Now()
		if _, err := c.StopTask(t.Context(), &ecs.StopTaskInput{Task: aws.String(arn)}); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, c, arn, "STOPPED")
		stop = append(stop, time.Since(start))
	}
	return run, stop
}

// bareRuns times n sequential bare pods through client-go: create until
// the pod is Running, delete (30 s grace, as ECS's default stop timeout)
// until its container has terminated.
func bareRuns(t *testing.T, c *kubetest.Cluster, ns, image string, args []string, n int) (run, stop []time.Duration) {
	t.Helper()
	pods := c.Client.CoreV1().Pods(ns)
	ctx := t.Context()
	no := false
	for i := range n {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bare-%d-%d", time.Now().UnixNano()%1e6, i)},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, AutomountServiceAccountToken: &no,
				Containers: []corev1.Container{{Name: "app", Image: image, Args: args, ImagePullPolicy: corev1.PullIfNotPresent}}},
		}
		start := time.Now()
		if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for {
			p, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if p.Status.Phase == corev1.PodRunning {
				break
			}
			if time.Since(start) > 3*time.Minute {
				t.Fatalf("pod %s not Running: %+v", pod.Name, p.Status)
			}
			time.Sleep(poll)
		}
		run = append(run, time.Since(start))
		start = time.Now()
		grace := int64(30)
		if err := pods.Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
			t.Fatal(err)
		}
		// Until its container has terminated, as ecsd's STOPPED means (the
		// kubelet then removes the pod; kwok's stages leave that to the
		// driver's finalizer, so the pod is force-deleted afterwards).
		for {
			p, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				break
			}
			if err == nil && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Terminated != nil {
				break
			}
			if time.Since(start) > 3*time.Minute {
				t.Fatalf("pod %s not terminated: %v", pod.Name, err)
			}
			time.Sleep(poll)
		}
		stop = append(stop, time.Since(start))
		zero := int64(0)
		_ = pods.Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	}
	return run, stop
}

type row struct {
	name string
	ds   []time.Duration
}

func printTable(title string, rows []row) {
	fmt.Printf("\n%s; milliseconds\n\n| what | median | p90 | max |\n|---|---|---|---|\n", title)
	for _, r := range rows {
		if len(r.ds) == 0 {
			continue
		}
		ds := append([]time.Duration(nil), r.ds...)
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		ms := func(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond)) }
		fmt.Printf("| %s | %s | %s | %s |\n", r.name, ms(ds[len(ds)/2]), ms(ds[len(ds)*9/10]), ms(ds[len(ds)-1]))
	}
}

func machine() string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				model = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	out, _ := exec.Command("go", "version").Output()
	return fmt.Sprintf("%s; Kubernetes %s; %s; load average %s", model, kubetest.Version, strings.TrimSpace(string(out)), strings.Join(strings.Fields(string(load))[:3], " "))
}

// dockerImage imports the tiny test program into the local Docker Engine
// as a FROM-scratch image, or returns "" without an Engine.
func dockerImage(t *testing.T) string {
	t.Helper()
	if err := exec.Command("docker", "version").Run(); err != nil {
		return ""
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "tiny")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./internal/driver/dockerdriver/testdata/tiny")
	build.Dir = filepath.Join("..", "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build tiny: %v\n%s", err, out)
	}
	body, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	_ = w.WriteHeader(&tar.Header{Name: "tiny", Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg})
	_, _ = w.Write(body)
	_ = w.Close()
	tag := fmt.Sprintf("ecsd-bench/tiny:%d", os.Getpid())
	imp := exec.Command("docker", "import", "--change", `ENTRYPOINT ["/tiny"]`, "--change", `CMD ["run"]`, "-", tag)
	imp.Stdin = &buf
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
	return tag
}

// TestLatency: one task at a time, RunTask until RUNNING and StopTask
// until STOPPED, on every runtime this machine has, and bare pods on the
// same clusters in the same run.
func TestLatency(t *testing.T) {
	gate(t)
	n := envInt("ECSD_KUBE_BENCH_RUNS", 20)
	fmt.Printf("machine: %s\ncommand: ECSD_KUBE_BENCH=1 ECSD_KUBE_BENCH_RUNS=%d go test -count=1 -v -timeout 60m -run TestLatency ./bench/kube/\n", machine(), n)
	var rows []row

	kwok := kubetest.Start(t)
	ns := kwok.Namespace(t)
	p := startEcsd(t, "--runtime", "kubernetes", "--kubeconfig", kwok.Kubeconfig, "--kube-namespace", ns)
	run, stop := ecsdRuns(t, p, register(t, p.client(), "ecsd-test/app:1", nil), n)
	bRun, bStop := bareRuns(t, kwok, ns, "ecsd-test/app:1", nil, n)
	rows = append(rows, row{"kwok: ecsd RunTask until RUNNING", run}, row{"kwok: bare pod create until Running", bRun},
		row{"kwok: ecsd StopTask until STOPPED", stop}, row{"kwok: bare pod delete until its container terminated", bStop})

	if img := dockerImage(t); img != "" {
		d := startEcsd(t, "--runtime", "docker")
		t.Cleanup(func() {
			out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=ecsd.data-dir="+d.dataDir).Output()
			if ids := strings.Fields(string(out)); len(ids) > 0 {
				_ = exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
			}
		})
		run, stop := ecsdRuns(t, d, register(t, d.client(), img, []string{"run"}), n)
		rows = append(rows, row{"Docker: ecsd RunTask until RUNNING", run}, row{"Docker: ecsd StopTask until STOPPED", stop})
	} else {
		fmt.Println("(no Docker Engine: no Docker runtime rows)")
	}

	printTable(fmt.Sprintf("%d sequential runs of each, DescribeTasks and pod GETs polled every %v", n, poll), rows)
	if os.Geteuid() == 0 {
		// Another test binary may hold the host's one tier-2 cluster:
		// StartKubelet then skips this subtest, not the figures above.
		t.Run("kubelet", func(t *testing.T) { kubeletLatency(t, n) })
	} else {
		fmt.Println("(not root: no real-kubelet rows)")
	}
}

func kubeletLatency(t *testing.T, n int) {
	var rows []row
	{
		kl := kubetest.StartKubelet(t)
		img := kl.TinyImage(t)
		ns := kl.Namespace(t)
		p := startEcsd(t, "--runtime", "kubernetes", "--kubeconfig", kl.Kubeconfig, "--kube-namespace", ns)
		run, stop := ecsdRuns(t, p, register(t, p.client(), img, []string{"run"}), n)
		bRun, bStop := bareRuns(t, kl, ns, img, []string{"run"}, n)
		rows = append(rows, row{"kubelet: ecsd RunTask until RUNNING", run}, row{"kubelet: bare pod create until Running", bRun},
			row{"kubelet: ecsd StopTask until STOPPED", stop}, row{"kubelet: bare pod delete until its container terminated", bStop})
	}
	printTable(fmt.Sprintf("%d sequential runs of each, DescribeTasks and pod GETs polled every %v", n, poll), rows)
}

// TestThousand: ECSD_KUBE_BENCH_TASKS (1,000) Fargate tasks on kwok nodes,
// started with RunTask (count 10) from 4 clients at once, then stopped
// from 8: time until all are RUNNING and all STOPPED, the Kubernetes API
// calls ecsd made per task, and ecsd's memory.
func TestThousand(t *testing.T) {
	gate(t)
	total := envInt("ECSD_KUBE_BENCH_TASKS", 1000)
	fmt.Printf("machine: %s\ncommand: ECSD_KUBE_BENCH=1 ECSD_KUBE_BENCH_TASKS=%d go test -count=1 -v -timeout 60m -run TestThousand ./bench/kube/\n", machine(), total)
	kwok := kubetest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	// 110 pods a node: room for all of them.
	if err := kwok.AddKwokNodes(ctx, "kwok-bench", total/100+1); err != nil {
		t.Fatal(err)
	}
	ns := kwok.Namespace(t)
	k := newCounter(t, kwok)
	p := startEcsd(t, "--runtime", "kubernetes", "--kubeconfig", k.kubeconfig(t, kwok), "--kube-namespace", ns)
	c := p.client()
	td := register(t, c, "ecsd-test/app:1", nil)
	idle := k.snapshot()
	rssIdle, _ := p.memory()

	var arns []string
	var mu sync.Mutex
	start := time.Now()
	work := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for count := range work {
				out, err := c.RunTask(t.Context(), &ecs.RunTaskInput{TaskDefinition: aws.String(td), Count: aws.Int32(int32(count)),
					LaunchType: types.LaunchTypeFargate, NetworkConfiguration: fargateNet})
				if err != nil || len(out.Failures) > 0 {
					t.Errorf("RunTask: %v %+v", err, out.Failures)
					continue
				}
				mu.Lock()
				for _, task := range out.Tasks {
					arns = append(arns, aws.ToString(task.TaskArn))
				}
				mu.Unlock()
			}
		}()
	}
	for left := total; left > 0; left -= 10 {
		work <- min(10, left)
	}
	close(work)
	wg.Wait()
	accepted := time.Since(start)
	if len(arns) != total {
		t.Fatalf("%d tasks started, want %d", len(arns), total)
	}
	waitAll(t, c, arns, "RUNNING")
	running := time.Since(start)
	atRunning := k.snapshot()
	rssRunning, _ := p.memory()
	// The start figures now, in case the stop phase does not finish.
	fmt.Printf("\n%d tasks on %d kwok nodes: RunTask calls answered in %.1f s (%.0f tasks/s); all RUNNING %.1f s after the first RunTask (%.0f tasks/s)\n",
		total, len(kwok.Nodes), accepted.Seconds(), float64(total)/accepted.Seconds(), running.Seconds(), float64(total)/running.Seconds())
	fmt.Printf("ecsd resident memory: %.0f MiB idle, %.0f MiB with %d tasks running\n", rssIdle, rssRunning, total)
	fmt.Printf("Kubernetes API requests ecsd made per task until all RUNNING:")
	for key, v := range atRunning {
		if d := v - idle[key]; d > 0 {
			fmt.Printf(" %s %.2f;", key, float64(d)/float64(total))
		}
	}
	fmt.Println()

	start = time.Now()
	stops := make(chan string)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for arn := range stops {
				if _, err := c.StopTask(t.Context(), &ecs.StopTaskInput{Task: aws.String(arn)}); err != nil {
					t.Errorf("StopTask: %v", err)
				}
			}
		}()
	}
	for _, arn := range arns {
		stops <- arn
	}
	close(stops)
	wg.Wait()
	waitAll(t, c, arns, "STOPPED")
	stopped := time.Since(start)
	atStopped := k.snapshot()
	_, hwm := p.memory()

	fmt.Printf("\n%d tasks on %d kwok nodes\n\n| phase | time | tasks/s |\n|---|---|---|\n", total, len(kwok.Nodes))
	fmt.Printf("| RunTask calls answered (count 10, 4 clients) | %.1f s | %.0f |\n", accepted.Seconds(), float64(total)/accepted.Seconds())
	fmt.Printf("| all RUNNING (from the first RunTask) | %.1f s | %.0f |\n", running.Seconds(), float64(total)/running.Seconds())
	fmt.Printf("| StopTask until all STOPPED (8 clients) | %.1f s | %.0f |\n", stopped.Seconds(), float64(total)/stopped.Seconds())
	fmt.Printf("\nKubernetes API requests ecsd made, per task\n\n| request | start until RUNNING | stop until STOPPED |\n|---|---|---|\n")
	keys := map[string]bool{}
	for key := range atStopped {
		keys[key] = true
	}
	var sorted []string
	for key := range keys {
		sorted = append(sorted, key)
	}
	sort.Strings(sorted)
	sumRun, sumStop := 0, 0
	for _, key := range sorted {
		r, s := atRunning[key]-idle[key], atStopped[key]-atRunning[key]
		sumRun += r
		sumStop += s
		if r == 0 && s == 0 {
			continue
		}
		fmt.Printf("| %s | %.2f | %.2f |\n", key, float64(r)/float64(total), float64(s)/float64(total))
	}
	fmt.Printf("| all | %.2f | %.2f |\n", float64(sumRun)/float64(total), float64(sumStop)/float64(total))
	fmt.Printf("\necsd resident memory: %.0f MiB idle, %.0f MiB with %d tasks running, peak %.0f MiB\n", rssIdle, rssRunning, total, hwm)
}

// waitAll waits until every task has the status, describing 100 at a time.
func waitAll(t *testing.T, c *ecs.Client, arns []string, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Minute)
	pending := append([]string(nil), arns...)
	for len(pending) > 0 {
		var still []string
		for i := 0; i < len(pending); i += 100 {
			batch := pending[i:min(i+100, len(pending))]
			out, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: batch})
			if err != nil {
				t.Fatal(err)
			}
			for _, task := range out.Tasks {
				s := aws.ToString(task.LastStatus)
				if s == "STOPPED" && want != "STOPPED" {
					t.Fatalf("task %s stopped: %s", aws.ToString(task.TaskArn), aws.ToString(task.StoppedReason))
				}
				if s != want {
					still = append(still, aws.ToString(task.TaskArn))
				}
			}
		}
		pending = still
		if len(pending) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d tasks not %s after 20 minutes", len(pending), want)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}
