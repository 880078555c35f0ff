//go:build unix

package e2e

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"regexp"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/sdkhttp"
)

// child is an ecsd process.
type child struct {
	cmd *exec.Cmd
	url string
}

var listenLine = regexp.MustCompile(`msg="ecsd listening" addr=(\S+)`)

// startChild runs ecsd on a random port over dataDir, with any further
// flags, and waits until it logs its address.
func startChild(t *testing.T, dataDir string, flags ...string) *child {
	t.Helper()
	// Tasks count healthy at once, so services-stable needs no 40s wait.
	cmd := exec.Command(ecsdBinary(t), append([]string{"--listen", "127.0.0.1:0", "--data-dir", dataDir, "--service-healthy-after", "0s"}, flags...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	select {
	case a := <-addr:
		return &child{cmd: cmd, url: "http://" + a}
	case <-time.After(30 * time.Second):
		t.Fatal("ecsd did not log its listen address within 30s")
		return nil
	}
}

func (c *child) client() *ecs.Client {
	return ecs.New(ecs.Options{
		Region:           defaultRegion,
		BaseEndpoint:     aws.String(c.url),
		Credentials:      credentials.NewStaticCredentialsProvider(defaultKey, "secret", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       sdkhttp.Client(), // the SDK's own connection race; see sdkhttp
	})
}

// TestKill9KeepsTasksAndServices kills ecsd with SIGKILL while a service
// and a standalone task run on the simulated runtime, restarts it on the
// same data directory, and checks that the same tasks are still RUNNING,
// nothing was started twice, and the scheduler carries on (a scale-up
// after the restart converges).
func TestKill9KeepsTasksAndServices(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipping the kill -9 test in -short mode: it builds and runs ecsd twice")
	}
	dir := t.TempDir()
	ctx := t.Context()
	first := startChild(t, dir)
	c := first.client()

	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{}); err != nil { // "default"
		t.Fatal(err)
	}
	td, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String("crash"),
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		NetworkMode:             types.NetworkModeAwsvpc,
		Cpu:                     aws.String("256"),
		Memory:                  aws.String("512"),
		ContainerDefinitions:    []types.ContainerDefinition{container("app")},
	})
	if err != nil {
		t.Fatal(err)
	}
	netConf := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{
		ServiceName: aws.String("svc"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
		DesiredCount: aws.Int32(3), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: netConf,
	}); err != nil {
		t.Fatal(err)
	}
	run, err := c.RunTask(ctx, &ecs.RunTaskInput{
		TaskDefinition: td.TaskDefinition.TaskDefinitionArn, LaunchType: types.LaunchTypeFargate, NetworkConfiguration: netConf,
	})
	if err != nil {
		t.Fatal(err)
	}
	standalone := aws.ToString(run.Tasks[0].TaskArn)
	waitStable(t, c, "svc")
	if err := ecs.NewTasksRunningWaiter(c).Wait(ctx, &ecs.DescribeTasksInput{Tasks: []string{standalone}}, time.Minute); err != nil {
		t.Fatal(err)
	}
	before := runningTasks(t, c)
	if len(before) != 4 {
		t.Fatalf("before the crash: %d running tasks, want 4", len(before))
	}

	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()

	second := startChild(t, dir)
	c = second.client()
	// Give the restarted loops several passes to do anything wrong.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		after := runningTasks(t, c)
		if !slices.Equal(after, before) {
			t.Fatalf("after the restart the running tasks changed:\nbefore %v\nafter  %v", before, after)
		}
		time.Sleep(100 * time.Millisecond)
	}
	stopped, err := c.ListTasks(ctx, &ecs.ListTasksInput{DesiredStatus: types.DesiredStatusStopped})
	if err != nil {
		t.Fatal(err)
	}
	if len(stopped.TaskArns) != 0 {
		t.Fatalf("tasks stopped across the restart: %v", stopped.TaskArns)
	}
	svc := describeOneService(t, c, "default", "svc")
	if svc.RunningCount != 3 || len(svc.Deployments) != 1 {
		t.Fatalf("after the restart: runningCount %d, %d deployments", svc.RunningCount, len(svc.Deployments))
	}

	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("svc"), DesiredCount: aws.Int32(5)}); err != nil {
		t.Fatal(err)
	}
	waitStable(t, c, "svc")
	if n := len(runningTasks(t, c)); n != 6 {
		t.Fatalf("after scaling to 5: %d running tasks, want 6 (5 + the standalone one)", n)
	}
}

func waitStable(t *testing.T, c *ecs.Client, services ...string) {
	t.Helper()
	err := ecs.NewServicesStableWaiter(c, func(o *ecs.ServicesStableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 500*time.Millisecond
	}).Wait(t.Context(), &ecs.DescribeServicesInput{Services: services}, time.Minute)
	if err != nil {
		t.Fatalf("services-stable %v: %v", services, err)
	}
}

// runningTasks lists the default cluster's tasks whose desired status is
// RUNNING and whose last status is RUNNING, sorted.
func runningTasks(t *testing.T, c *ecs.Client) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	list, err := c.ListTasks(ctx, &ecs.ListTasksInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.TaskArns) == 0 {
		return nil
	}
	out, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: list.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	var arns []string
	for _, task := range out.Tasks {
		if aws.ToString(task.LastStatus) == "RUNNING" {
			arns = append(arns, aws.ToString(task.TaskArn))
		}
	}
	slices.Sort(arns)
	return arns
}
