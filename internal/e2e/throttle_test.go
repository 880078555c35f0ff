package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	dimage "github.com/docker/docker/api/types/image"

	ecsdom "github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/reconcile"
	"github.com/ecsd/ecsd/internal/server"
)

// fastBackoff scales ECS's throttle down for tests: 300ms after the second
// failure, doubling, at most 1.2s.
var fastBackoff = reconcile.Backoff{Base: 300 * time.Millisecond, Max: 1200 * time.Millisecond}

func withLaunchBackoff(b reconcile.Backoff) option {
	return func(c *server.Config) { c.LaunchBackoff = b }
}

func withKeepStopped(n int) option {
	return func(c *server.Config) { c.KeepStoppedContainers = n }
}

// allServiceTasks lists the ARNs of every task of a service, stopped or not, once each.
func allServiceTasks(t *testing.T, c *ecs.Client, service string) []string {
	t.Helper()
	var all []string
	for _, st := range []types.DesiredStatus{types.DesiredStatusRunning, types.DesiredStatusStopped} {
		out, err := c.ListTasks(t.Context(), &ecs.ListTasksInput{ServiceName: aws.String(service), DesiredStatus: st})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, out.TaskArns...)
	}
	// A task that stops between the two calls is listed by both.
	slices.Sort(all)
	return slices.Compact(all)
}

// checkThrottled waits until a service whose tasks cannot start has
// posted ECS's throttle event and made five launches, then checks from
// the tasks' createdAt that, from the third launch on, each came at least
// the back-off's base after the one before (unthrottled, the scheduler
// relaunches within its pass interval).
func checkThrottled(t *testing.T, c *ecs.Client, service string) {
	t.Helper()
	event := ecsdom.EventUnableToStart(service)
	var created []time.Time
	waitFor(t, 60*time.Second, "the throttle event and five launches", func() error {
		out, err := c.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Services: []string{service}})
		if err != nil || len(out.Services) != 1 {
			return fmt.Errorf("DescribeServices: %v", err)
		}
		if !slices.ContainsFunc(out.Services[0].Events, func(e types.ServiceEvent) bool { return aws.ToString(e.Message) == event }) {
			return fmt.Errorf("no %q yet", event)
		}
		arns := allServiceTasks(t, c, service)
		if len(arns) < 5 {
			return fmt.Errorf("%d launches", len(arns))
		}
		dt, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: arns})
		if err != nil {
			return err
		}
		created = created[:0]
		for _, task := range dt.Tasks {
			created = append(created, *task.CreatedAt)
		}
		return nil
	})
	slices.SortFunc(created, func(a, b time.Time) int { return a.Compare(b) })
	for i := 2; i < len(created); i++ {
		// 50ms of slack: createdAt is in milliseconds and the wait counts
		// from the previous task's stop, which follows its creation.
		if gap := created[i].Sub(created[i-1]); gap < fastBackoff.Base-50*time.Millisecond {
			t.Fatalf("launch %d came %s after the one before, under the back-off's %s: %v", i+1, gap, fastBackoff.Base, created)
		}
	}
}

// TestThrottleSimulated: on the simulated runtime a service whose tasks
// fail to start is throttled with ECS's event; a new revision launches at
// once and runs.
func TestThrottleSimulated(t *testing.T) {
	t.Parallel()
	e := startServer(t, withLaunchBackoff(fastBackoff), withServiceHealthyAfter(0))
	c := e.defaultClient()
	ctx := t.Context()
	register(t, c, "thr") // thr:1 runs; thr:2 cannot start
	td, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("thr"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nope"), Memory: aws.Int32(64),
			Environment: []types.KeyValuePair{{Name: aws.String("ECSD_SIM_START_FAILURE"), Value: aws.String("CannotPullContainerError: pull access denied for nope")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("thr"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
		DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	checkThrottled(t, c, "thr")
	// A new task definition ends the throttle.
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("thr"), TaskDefinition: aws.String("thr:1")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the good revision to run", func() error {
		out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{"thr"}})
		if err != nil || out.Services[0].RunningCount != 1 {
			return fmt.Errorf("runningCount %d (%v)", out.Services[0].RunningCount, err)
		}
		return nil
	})
}

// TestThrottleDocker: on the Docker runtime a service whose image is
// missing (no registry can be reached) is throttled, leaves the
// containers of at most --keep-stopped-containers stopped tasks, and runs
// as soon as the image appears.
func TestThrottleDocker(t *testing.T) {
	t.Parallel()
	cli, tiny := docker(t)
	const keep = 2
	e, dir := dockerServer(t, "", withLaunchBackoff(fastBackoff), withServiceHealthyAfter(0), withKeepStopped(keep))
	c := e.defaultClient()
	ctx := t.Context()
	image := fmt.Sprintf("ecsd-e2e/appears:%d", rand.Uint64())
	t.Cleanup(func() { _, _ = cli.ImageRemove(context.Background(), image, dimage.RemoveOptions{Force: true}) })
	def := tinyContainer("app", true, "run")
	def.Image = aws.String(image)
	td := registerTD(t, c, &ecs.RegisterTaskDefinitionInput{Family: aws.String("appears"), ContainerDefinitions: []types.ContainerDefinition{def}})
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("appears"), TaskDefinition: td.TaskDefinitionArn,
		DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	checkThrottled(t, c, "appears")
	// Stopped tasks beyond the bound lose their containers.
	waitFor(t, 20*time.Second, fmt.Sprintf("at most %d stopped tasks to keep containers", keep), func() error {
		tasks := map[string]bool{}
		for _, s := range scopedContainers(t, cli, dir) {
			if arn := s.Labels["com.amazonaws.ecs.task-arn"]; arn != "" {
				tasks[arn] = true
			}
		}
		if len(tasks) > keep+1 { // the bound, plus the task being launched
			return fmt.Errorf("containers of %d tasks", len(tasks))
		}
		return nil
	})
	// The image appears: the next launch runs it.
	if err := cli.ImageTag(ctx, tiny, image); err != nil {
		t.Fatal(err)
	}
	appeared := time.Now()
	waitFor(t, 20*time.Second, "the service to run once the image exists", func() error {
		out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{"appears"}})
		if err != nil || out.Services[0].RunningCount != 1 {
			return fmt.Errorf("runningCount %d (%v)", out.Services[0].RunningCount, err)
		}
		return nil
	})
	t.Logf("running %s after the image appeared", time.Since(appeared).Round(time.Millisecond))
}
