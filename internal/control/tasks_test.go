package control_test

import (
	"context"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/control"
	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/notify"
)

// notes records what use-cases tell the loops.
type notes struct {
	mu   sync.Mutex
	keys []string
}

func (n *notes) Notify(topic notify.Topic, key string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.keys = append(n.keys, string(topic)+" "+key)
}

func (n *notes) take() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.keys
	n.keys = nil
	return out
}

func tagsOf(tags []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[*t.Key] = *t.Value
	}
	return m
}

func TestRunTaskStoresAndNotifies(t *testing.T) {
	c, _ := newControl(t)
	n := &notes{}
	c.Notifier = n
	ctx := context.Background()
	if _, err := c.RegisterTaskDefinition(ctx, alice, def("web"), []types.Tag{{Key: ptr("owner"), Value: ptr("td")}, {Key: ptr("env"), Value: ptr("td")}}); err != nil {
		t.Fatal(err)
	}
	tasks, failures, err := c.RunTask(ctx, alice, control.RunTaskRequest{
		TaskDefinition: "web", Count: ptr(int32(3)), StartedBy: "me",
		Tags:          []types.Tag{{Key: ptr("env"), Value: ptr("mine")}},
		PropagateTags: types.PropagateTagsTaskDefinition, EnableECSManagedTags: true,
	})
	if err != nil || len(failures) != 0 || len(tasks) != 3 {
		t.Fatalf("RunTask: %v, failures %v, %d tasks", err, failures, len(tasks))
	}
	var want []string
	for _, task := range tasks {
		want = append(want, "task "+*task.TaskArn)
		if got := tagsOf(task.Tags); len(got) != 3 || got["env"] != "mine" || got["owner"] != "td" || got[control.TagClusterName] != "default" {
			t.Errorf("tags = %v", got)
		}
	}
	if got := n.take(); !slices.Equal(got, want) {
		t.Errorf("notified %v, want each new task %v", got, want)
	}
	// The default cluster was created on first use.
	if _, _, err := c.DescribeClusters(ctx, alice, []string{"default"}, nil); err != nil {
		t.Fatal(err)
	}
	arns, _, err := c.ListTasks(ctx, alice, control.ListTasksRequest{StartedBy: "me"})
	if err != nil || len(arns) != 3 {
		t.Fatalf("ListTasks: %v %v", arns, err)
	}
	// Stored tags: DescribeTasks shows them with TAGS, and [] without.
	with, _, err := c.DescribeTasks(ctx, alice, "", arns[:1], true)
	if err != nil || len(tagsOf(with[0].Tags)) != 3 {
		t.Errorf("DescribeTasks with TAGS: %v %v", with, err)
	}
	without, _, err := c.DescribeTasks(ctx, alice, "", arns[:1], false)
	if err != nil || without[0].Tags == nil || len(without[0].Tags) != 0 {
		t.Errorf("DescribeTasks without TAGS: tags %v, %v; want []", without[0].Tags, err)
	}
	// Other regions see nothing.
	if _, _, err := c.ListTasks(ctx, bob, control.ListTasksRequest{}); err == nil {
		t.Errorf("bob lists tasks in a region where no cluster exists")
	}
}

// TestRunTaskIsAtomic: a request that fails leaves nothing behind.
func TestRunTaskIsAtomic(t *testing.T) {
	c, _ := newControl(t)
	ctx := context.Background()
	register(t, c, alice, "web", 1)
	bad := control.RunTaskRequest{TaskDefinition: "web", Count: ptr(int32(5)),
		Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: ptr("ghost")}}}}
	_, _, err := c.RunTask(ctx, alice, bad)
	wantError(t, err, "InvalidParameterException", "Override for container named ghost is not a container in the TaskDefinition.")
	// Even the default cluster it would have created on first use is gone.
	_, _, err = c.ListTasks(ctx, alice, control.ListTasksRequest{})
	wantError(t, err, "ClusterNotFoundException", "Cluster not found.")
	if _, err := c.CreateCluster(ctx, alice, control.CreateClusterRequest{}); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.RunTask(ctx, alice, bad)
	wantError(t, err, "InvalidParameterException", "Override for container named ghost is not a container in the TaskDefinition.")
	arns, _, err := c.ListTasks(ctx, alice, control.ListTasksRequest{})
	if err != nil || len(arns) != 0 {
		t.Errorf("after a failed RunTask: %v %v, want no tasks", arns, err)
	}
}

func TestRunTaskRequestChecks(t *testing.T) {
	c, _ := newControl(t)
	ctx := context.Background()
	register(t, c, alice, "web", 1)
	many := make([]types.Tag, 50)
	for i := range many {
		many[i] = types.Tag{Key: ptr(string(rune('a'+i%26)) + string(rune('a'+i/26))), Value: ptr("v")}
	}
	tests := []struct {
		name string
		r    control.RunTaskRequest
		code string
		msg  string
	}{
		{"count 0", control.RunTaskRequest{TaskDefinition: "web", Count: ptr(int32(0))}, "InvalidParameterException", "Task count must be greater than 0"},
		{"count 11", control.RunTaskRequest{TaskDefinition: "web", Count: ptr(int32(11))}, "InvalidParameterException", "Task count can not be greater than 10"},
		{"propagate SERVICE", control.RunTaskRequest{TaskDefinition: "web", PropagateTags: types.PropagateTagsService}, "InvalidParameterException", "propagateTags SERVICE is only valid for tasks started by a service."},
		{"reserved tag key", control.RunTaskRequest{TaskDefinition: "web", Tags: []types.Tag{{Key: ptr("aws:x"), Value: ptr("y")}}}, "InvalidParameterException", "Tag keys with the aws: prefix are reserved for AWS use."},
		{"managed tag over the limit", control.RunTaskRequest{TaskDefinition: "web", Tags: many, EnableECSManagedTags: true}, "InvalidParameterException", "Tags can have at most 50 items."},
		{"startedBy too long", control.RunTaskRequest{TaskDefinition: "web", StartedBy: string(make([]byte, 129))}, "InvalidParameterException", "startedBy can have at most 128 characters."},
		{"bad revision", control.RunTaskRequest{TaskDefinition: "web:x"}, "ClientException", "Invalid revision number. Number: x"},
		{"platformVersion on EC2", control.RunTaskRequest{TaskDefinition: "web", LaunchType: types.LaunchTypeEc2, PlatformVersion: "LATEST"}, "InvalidParameterException", "The platform version must be null when specifying an EC2 launch type."},
		{"EXTERNAL needs compatibility", control.RunTaskRequest{TaskDefinition: "web", LaunchType: types.LaunchTypeManagedInstances}, "InvalidParameterException", "Task definition does not support launch_type MANAGED_INSTANCES."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := c.RunTask(ctx, alice, tt.r)
			wantError(t, err, tt.code, tt.msg)
		})
	}
}

// TestRunTaskInactiveGrace: a deregistered revision may start tasks for
// InactiveGrace after its deregistration, and not a millisecond longer.
func TestRunTaskInactiveGrace(t *testing.T) {
	c, clk := newControl(t)
	ctx := context.Background()
	register(t, c, alice, "web", 1)
	if _, err := c.DeregisterTaskDefinition(ctx, alice, "web:1"); err != nil {
		t.Fatal(err)
	}
	run := func() error {
		_, _, err := c.RunTask(ctx, alice, control.RunTaskRequest{TaskDefinition: "web:1"})
		return err
	}
	wantError(t, run(), "InvalidParameterException", "TaskDefinition is inactive")
	c.InactiveGrace = 10 * time.Minute
	clk.Advance(10*time.Minute - time.Millisecond)
	if err := run(); err != nil {
		t.Errorf("RunTask inside the grace window: %v", err)
	}
	clk.Advance(time.Millisecond)
	wantError(t, run(), "InvalidParameterException", "TaskDefinition is inactive")
}

func TestStopTask(t *testing.T) {
	c, clk := newControl(t)
	n := &notes{}
	c.Notifier = n
	ctx := context.Background()
	register(t, c, alice, "web", 1)
	tasks, _, err := c.RunTask(ctx, alice, control.RunTaskRequest{TaskDefinition: "web", Tags: []types.Tag{{Key: ptr("k"), Value: ptr("v")}}})
	if err != nil {
		t.Fatal(err)
	}
	n.take()
	arn := *tasks[0].TaskArn
	at := clk.Advance(time.Minute).Truncate(time.Millisecond)
	stopped, err := c.StopTask(ctx, alice, "default", ecs.TaskID(arn), "deploy")
	if err != nil {
		t.Fatal(err)
	}
	if *stopped.DesiredStatus != "STOPPED" || *stopped.StoppedReason != "deploy" || stopped.StopCode != types.TaskStopCodeUserInitiated ||
		!stopped.StoppingAt.Equal(at) || stopped.Version != 2 || tagsOf(stopped.Tags)["k"] != "v" {
		t.Errorf("StopTask = desired %s reason %s code %s stoppingAt %v v%d tags %v", *stopped.DesiredStatus, *stopped.StoppedReason,
			stopped.StopCode, stopped.StoppingAt, stopped.Version, stopped.Tags)
	}
	if got := n.take(); !slices.Equal(got, []string{"task " + arn}) {
		t.Errorf("notified %v", got)
	}
	// Again: unchanged, nobody told.
	again, err := c.StopTask(ctx, alice, "", arn, "")
	if err != nil || again.Version != 2 || *again.StoppedReason != "deploy" {
		t.Errorf("second StopTask: %v v%d reason %s", err, again.Version, *again.StoppedReason)
	}
	if got := n.take(); len(got) != 0 {
		t.Errorf("a StopTask that changed nothing notified %v", got)
	}
	// A task ARN naming another cluster is a task ECS cannot find there.
	createCluster := func(name string) {
		if _, err := c.CreateCluster(ctx, alice, control.CreateClusterRequest{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	createCluster("other")
	_, err = c.StopTask(ctx, alice, "other", arn, "")
	wantError(t, err, "InvalidParameterException", "The referenced task was not found")
	_, err = c.StopTask(ctx, bob, "", arn, "")
	wantError(t, err, "ClusterNotFoundException", "Cluster not found.")
}

func TestStartTask(t *testing.T) {
	c, _ := newControl(t)
	ctx := context.Background()
	register(t, c, alice, "web", 1)
	if _, err := c.CreateCluster(ctx, alice, control.CreateClusterRequest{Name: "ec2"}); err != nil {
		t.Fatal(err)
	}
	ciARN := "arn:aws:ecs:eu-west-2:123456789012:container-instance/ec2/0f0e0d0c0b0a09080706050403020100"
	tasks, failures, err := c.StartTask(ctx, alice, control.StartTaskRequest{Cluster: "ec2", TaskDefinition: "web:1",
		ContainerInstances: []string{"abc", ciARN}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range failures {
		got = append(got, *f.Arn+" "+*f.Reason)
	}
	want := []string{"arn:aws:ecs:eu-west-2:123456789012:container-instance/ec2/abc MISSING", ciARN + " MISSING"}
	if len(tasks) != 0 || !slices.Equal(got, want) {
		t.Errorf("StartTask: %d tasks, failures %v; want none and %v", len(tasks), got, want)
	}
	_, _, err = c.StartTask(ctx, alice, control.StartTaskRequest{Cluster: "ec2", TaskDefinition: "web:1"})
	wantError(t, err, "InvalidParameterException", "containerInstances can not be empty.")
	_, _, err = c.StartTask(ctx, alice, control.StartTaskRequest{Cluster: "nope", TaskDefinition: "web:1", ContainerInstances: []string{"abc"}})
	wantError(t, err, "ClusterNotFoundException", "Cluster not found.")
	_, _, err = c.StartTask(ctx, alice, control.StartTaskRequest{Cluster: "ec2", TaskDefinition: "web:7", ContainerInstances: []string{"abc"}})
	wantError(t, err, "ClientException", "TaskDefinition not found.")
	if _, err := c.DeregisterTaskDefinition(ctx, alice, "web:1"); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.StartTask(ctx, alice, control.StartTaskRequest{Cluster: "ec2", TaskDefinition: "web:1", ContainerInstances: []string{"abc"}})
	wantError(t, err, "InvalidParameterException", "TaskDefinition is inactive")
}

func TestListTasksPagination(t *testing.T) {
	c, _ := newControl(t)
	ctx := context.Background()
	register(t, c, alice, "web", 1)
	register(t, c, alice, "api", 1)
	var all []string
	for range 2 {
		tasks, _, err := c.RunTask(ctx, alice, control.RunTaskRequest{TaskDefinition: "web", Count: ptr(int32(10))})
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			all = append(all, *task.TaskArn)
		}
	}
	if _, _, err := c.RunTask(ctx, alice, control.RunTaskRequest{TaskDefinition: "api"}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(all)
	var got []string
	token := ""
	pages := 0
	for {
		arns, next, err := c.ListTasks(ctx, alice, control.ListTasksRequest{Family: "web", MaxResults: ptr(int32(7)), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, arns...)
		if next == "" {
			break
		}
		token = next
	}
	if pages != 3 || !slices.Equal(got, all) {
		t.Errorf("%d pages listing %d ARNs; want 3 pages of the 20 web tasks in ID order", pages, len(got))
	}
	// A token is bound to its filters.
	_, next, _ := c.ListTasks(ctx, alice, control.ListTasksRequest{Family: "web", MaxResults: ptr(int32(1))})
	_, _, err := c.ListTasks(ctx, alice, control.ListTasksRequest{Family: "api", NextToken: next})
	wantError(t, err, "InvalidParameterException", "Invalid nextToken: the token is malformed or was issued for a different request.")
	_, _, err = c.ListTasks(ctx, alice, control.ListTasksRequest{MaxResults: ptr(int32(0))})
	wantError(t, err, "InvalidParameterException", "maxResults must be between 1 and 100.")
}
