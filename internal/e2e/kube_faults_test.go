package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	authv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ecsd/ecsd/internal/driver/kubedriver/kubetest"
	"github.com/ecsd/ecsd/internal/server"
)

// Faults of the cluster under the kubernetes runtime, on tier 1.

// TestKubeQuotaExceededFailsToStart: a pod over a namespace ResourceQuota
// stops its task as TaskFailedToStart with the API server's words, and
// ecsd goes on serving.
func TestKubeQuotaExceededFailsToStart(t *testing.T) {
	e, cluster, ns := kubeServer(t)
	c := e.defaultClient()
	ctx := context.Background()
	if _, err := cluster.Client.CoreV1().ResourceQuotas(ns).Create(ctx, &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "two-pods"},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1")}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The quota controller is not running here: the API server's quota
	// admission counts by itself once the quota has a status.
	waitFor(t, 30*time.Second, "the quota admits one pod", func() error {
		q, err := cluster.Client.CoreV1().ResourceQuotas(ns).Get(ctx, "two-pods", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(q.Status.Hard) == 0 {
			q.Status.Hard = q.Spec.Hard
			q.Status.Used = corev1.ResourceList{corev1.ResourcePods: resource.MustParse("0")}
			_, err = cluster.Client.CoreV1().ResourceQuotas(ns).UpdateStatus(ctx, q, metav1.UpdateOptions{})
			if err == nil {
				err = fmt.Errorf("status set")
			}
			return err
		}
		return nil
	})
	td := kubeTask(t, c, "kube-quota", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String("ecsd-test/app:1"), Memory: aws.Int32(64)})
	first := runKubeTask(t, c, td)
	waitKubeTask(t, c, aws.ToString(first.TaskArn), "RUNNING")
	second := waitKubeTask(t, c, aws.ToString(runKubeTask(t, c, td).TaskArn), "STOPPED")
	if second.StopCode != types.TaskStopCodeTaskFailedToStart || !strings.HasPrefix(aws.ToString(second.StoppedReason), "CannotCreateContainerError: ") ||
		!strings.Contains(aws.ToString(second.StoppedReason), "exceeded quota") {
		t.Errorf("task over quota: stop code %s reason %q; want TaskFailedToStart, CannotCreateContainerError: ... exceeded quota",
			second.StopCode, aws.ToString(second.StoppedReason))
	}

}

// TestKubeRBACForbidsCreate runs ecsd as a user whose Role may watch and
// delete pods but not create them, and may not list nodes: ecsd starts
// (no node is an instance; the scheduler places tasks), and a task fails
// to start with the API server's 403 as its reason.
func TestKubeRBACForbidsCreate(t *testing.T) {
	cluster := kubetest.Start(t)
	ns := cluster.Namespace(t)
	ctx := context.Background()
	const user = "ecsd-no-create"
	if _, err := cluster.Client.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch", "patch", "delete"}},
			{APIGroups: []string{""}, Resources: []string{"namespaces"}, ResourceNames: []string{ns}, Verbs: []string{"get"}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: user},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: user}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(cluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	// The harness writes its user inline: `user: {token: ...}`.
	impersonating := strings.Replace(string(raw), "user: {token: ", fmt.Sprintf("user: {as: %q, token: ", user), 1)
	if impersonating == string(raw) {
		t.Fatalf("cannot find the user in the harness's kubeconfig:\n%s", raw)
	}
	if err := os.WriteFile(kubeconfig, []byte(impersonating), 0o600); err != nil {
		t.Fatal(err)
	}
	// The role's binding is in effect once the API server says so.
	waitFor(t, 30*time.Second, "the role in effect", func() error {
		r, err := cluster.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authv1.SubjectAccessReview{Spec: authv1.SubjectAccessReviewSpec{
			User: user, ResourceAttributes: &authv1.ResourceAttributes{Namespace: ns, Verb: "watch", Resource: "pods"},
		}}, metav1.CreateOptions{})
		if err != nil || !r.Status.Allowed {
			return fmt.Errorf("not allowed yet: %v", err)
		}
		return nil
	})
	e := startServer(t, withRuntime(server.RuntimeKubernetes), func(cfg *server.Config) {
		cfg.Kubeconfig, cfg.KubeNamespace = kubeconfig, ns
	})
	c := e.defaultClient()
	td := kubeTask(t, c, "kube-rbac", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String("ecsd-test/app:1"), Memory: aws.Int32(64)})
	task := waitKubeTask(t, c, aws.ToString(runKubeTask(t, c, td).TaskArn), "STOPPED")
	if task.StopCode != types.TaskStopCodeTaskFailedToStart || !strings.HasPrefix(aws.ToString(task.StoppedReason), "CannotCreateContainerError: ") ||
		!strings.Contains(aws.ToString(task.StoppedReason), "forbidden") {
		t.Errorf("task ecsd may not create: stop code %s reason %q; want TaskFailedToStart, CannotCreateContainerError: ... forbidden",
			task.StopCode, aws.ToString(task.StoppedReason))
	}
	// The ECS API goes on: the cluster is there.
	if _, err := c.DescribeClusters(t.Context(), &ecs.DescribeClustersInput{}); err != nil {
		t.Fatal(err)
	}
}

// tcpProxy forwards a port to the API server, and can be cut off: the
// API server unreachable, as a network partition or a control-plane
// outage makes it, while the shared test cluster keeps running.
type tcpProxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{t: t, target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns[in], p.conns[out] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
}

// cut closes the listener and every connection: nothing answers.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// restore listens again on the same port.
func (p *tcpProxy) restore() {
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy: listening again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// TestKubeAPIServerUnreachable: with the API server cut off, ecsd keeps
// serving the ECS API (RunTask, DescribeTasks, StopTask), new tasks wait
// in their lifecycle rather than fail, and once the API server is back
// ecsd catches up by itself: the new task runs, the stopped one stops.
func TestKubeAPIServerUnreachable(t *testing.T) {
	cluster0 := kubetest.Start(t)
	u, err := url.Parse(cluster0.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, u.Host)
	raw, err := os.ReadFile(cluster0.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(strings.ReplaceAll(string(raw), u.Host, proxy.addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	e, _, _ := kubeServer(t, func(cfg *server.Config) { cfg.Kubeconfig = kubeconfig })
	c := e.defaultClient()
	td := kubeTask(t, c, "kube-outage", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String("ecsd-test/app:1"), Memory: aws.Int32(64)})
	before := runKubeTask(t, c, td)
	waitKubeTask(t, c, aws.ToString(before.TaskArn), "RUNNING")

	proxy.cut()
	during := runKubeTask(t, c, td)
	if _, err := c.StopTask(t.Context(), &ecs.StopTaskInput{Task: before.TaskArn, Reason: aws.String("during the outage")}); err != nil {
		t.Fatalf("StopTask during the outage: %v", err)
	}
	// A few seconds of outage: the API answers, the new task has not run.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		out, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: []string{aws.ToString(during.TaskArn)}})
		if err != nil {
			t.Fatalf("DescribeTasks during the outage: %v", err)
		}
		if s := aws.ToString(out.Tasks[0].LastStatus); s == "RUNNING" || s == "STOPPED" {
			t.Fatalf("task started during the outage went %s", s)
		}
		time.Sleep(200 * time.Millisecond)
	}
	proxy.restore()
	waitFor(t, 90*time.Second, "caught up after the outage", func() error {
		out, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: []string{aws.ToString(during.TaskArn), aws.ToString(before.TaskArn)}})
		if err != nil {
			return err
		}
		got := map[string]string{}
		for _, task := range out.Tasks {
			got[aws.ToString(task.TaskArn)] = aws.ToString(task.LastStatus)
		}
		if got[aws.ToString(during.TaskArn)] != "RUNNING" || got[aws.ToString(before.TaskArn)] != "STOPPED" {
			return fmt.Errorf("statuses %v", got)
		}
		return nil
	})
}
