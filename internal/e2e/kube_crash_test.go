//go:build unix

package e2e

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/driver/kubedriver"
	"github.com/ecsd/ecsd/internal/driver/kubedriver/kubetest"
	"github.com/ecsd/ecsd/internal/server"
	"github.com/ecsd/ecsd/internal/worker"
)

// livePods are the UIDs of a namespace's pods that are not being
// deleted, sorted.
func livePods(t *testing.T, c *kubetest.Cluster, ns string) []string {
	t.Helper()
	list, err := c.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, string(p.UID))
		}
	}
	sort.Strings(out)
	return out
}

// TestKubeKill9AdoptsPods kills a real ecsd process with SIGKILL while a
// service's and a standalone task's pods run on kwok nodes, plants a
// labelled pod of a task that does not exist, and restarts ecsd on the
// same data directory: the same tasks run on the same pods (none
// duplicated), the planted pod is reaped, and a pod deleted behind
// ecsd's back stops its task with a reason and the service replaces it.
func TestKubeKill9AdoptsPods(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the kill -9 test in -short mode: it builds and runs ecsd twice")
	}
	cluster := kubetest.Start(t)
	ns := cluster.Namespace(t)
	dir := t.TempDir()
	ctx := t.Context()
	flags := []string{"--runtime", "kubernetes", "--kubeconfig", cluster.Kubeconfig, "--kube-namespace", ns}
	first := startChild(t, dir, flags...)
	c := first.client()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{}); err != nil {
		t.Fatal(err)
	}
	td := kubeTask(t, c, "kube-crash", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String("ecsd-test/app:1"), Memory: aws.Int32(64)})
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{
		ServiceName: aws.String("svc"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(3),
	}); err != nil {
		t.Fatal(err)
	}
	standalone := aws.ToString(runKubeTask(t, c, td).TaskArn)
	waitStable(t, c, "svc")
	waitKubeTask(t, c, standalone, "RUNNING")
	before := runningTasks(t, c)
	pods := livePods(t, cluster, ns)
	if len(before) != 4 || len(pods) != 4 {
		t.Fatalf("before the crash: %d running tasks, %d pods; want 4 and 4", len(before), len(pods))
	}

	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()

	// While ecsd is down: a pod labelled as ecsd labels them, for a task
	// the store has never had (a crash between creating a pod and
	// recording its task leaves one).
	scope, err := server.KubeScope(dir)
	if err != nil {
		t.Fatal(err)
	}
	planter, err := kubedriver.New(ctx, kubedriver.Config{Client: cluster.Client, Namespace: ns, Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	orphanARN := "arn:aws:ecs:" + defaultRegion + ":" + defaultAccount + ":task/default/0123456789abcdef0123456789abcdef"
	if err := planter.Start(ctx, driver.GroupSpec{ID: "0123456789abcdef0123456789abcdef",
		Labels:     map[string]string{worker.LabelManaged: "true", worker.LabelTaskARN: orphanARN, worker.LabelCluster: "default"},
		Containers: []driver.ContainerSpec{{Name: "app", Image: "ecsd-test/app:1", Essential: true}},
	}); err != nil {
		t.Fatal(err)
	}
	planter.Close()
	orphan, err := podOf(t, cluster, ns, orphanARN)
	if err != nil {
		t.Fatal(err)
	}

	second := startChild(t, dir, flags...)
	c = second.client()
	waitFor(t, 60*time.Second, "the planted pod reaped", func() error {
		p, err := cluster.Client.CoreV1().Pods(ns).Get(context.Background(), orphan.Name, metav1.GetOptions{})
		if err == nil && p.UID == orphan.UID {
			return fmt.Errorf("still there (deleting: %v)", p.DeletionTimestamp != nil)
		}
		return nil
	})
	// Several passes of the restarted loops: nothing started twice,
	// nothing stopped.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if after := runningTasks(t, c); !slices.Equal(after, before) {
			t.Fatalf("after the restart the running tasks changed:\nbefore %v\nafter  %v", before, after)
		}
		if after := livePods(t, cluster, ns); !slices.Equal(after, pods) {
			t.Fatalf("after the restart the pods changed:\nbefore %v\nafter  %v", pods, after)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// A service task's pod deleted behind ecsd's back.
	list, err := c.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String("svc")})
	if err != nil || len(list.TaskArns) != 3 {
		t.Fatalf("ListTasks svc: %v %v", list, err)
	}
	victim := list.TaskArns[0]
	pod, err := podOf(t, cluster, ns, victim)
	if err != nil {
		t.Fatal(err)
	}
	if err := cluster.Client.CoreV1().Pods(ns).Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	stopped := waitKubeTask(t, c, victim, "STOPPED")
	if stopped.StopCode != types.TaskStopCodeEssentialContainerExited || aws.ToString(stopped.StoppedReason) == "" {
		t.Errorf("task whose pod was deleted: stop code %s reason %q", stopped.StopCode, aws.ToString(stopped.StoppedReason))
	}
	waitFor(t, 60*time.Second, "the service replaces the task", func() error {
		svc := describeOneService(t, c, "default", "svc")
		if svc.RunningCount != 3 {
			return fmt.Errorf("runningCount %d", svc.RunningCount)
		}
		list, err := c.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String("svc")})
		if err != nil {
			return err
		}
		if slices.Contains(list.TaskArns, victim) || len(list.TaskArns) != 3 {
			return fmt.Errorf("service tasks %v", list.TaskArns)
		}
		return nil
	})
	waitFor(t, 30*time.Second, "4 live pods (3 service tasks, the standalone one)", func() error {
		if n := len(livePods(t, cluster, ns)); n != 4 {
			return fmt.Errorf("%d live pods", n)
		}
		return nil
	})
}
