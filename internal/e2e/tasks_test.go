package e2e

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	domain "github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/server"
)

// withTaskRetention sets how long STOPPED tasks stay describable.
func withTaskRetention(d time.Duration) option {
	return func(c *server.Config) { c.TaskRetention = d }
}

// simContainer is a container scripted through the simulated runtime's
// environment knobs.
func simContainer(name string, essential bool, env ...string) types.ContainerDefinition {
	c := container(name)
	c.Essential = aws.Bool(essential)
	for i := 0; i+1 < len(env); i += 2 {
		c.Environment = append(c.Environment, types.KeyValuePair{Name: aws.String(env[i]), Value: aws.String(env[i+1])})
	}
	return c
}

func registerFargate(t *testing.T, c *ecs.Client, family string, cds ...types.ContainerDefinition) types.TaskDefinition {
	t.Helper()
	if len(cds) == 0 {
		cds = []types.ContainerDefinition{container("app")}
	}
	out, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: cds,
		Tags:                 []types.Tag{tag("from", "td"), tag("team", "td-team")},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition(%s): %v", family, err)
	}
	return *out.TaskDefinition
}

func registerBridge(t *testing.T, c *ecs.Client, family string, cds ...types.ContainerDefinition) types.TaskDefinition {
	t.Helper()
	out, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), ContainerDefinitions: cds,
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition(%s): %v", family, err)
	}
	return *out.TaskDefinition
}

var awsvpc = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
	Subnets: []string{"subnet-0abc"}, SecurityGroups: []string{"sg-0abc"}}}

func runTask(t *testing.T, c *ecs.Client, in *ecs.RunTaskInput) []types.Task {
	t.Helper()
	out, err := c.RunTask(t.Context(), in)
	if err != nil {
		t.Fatalf("RunTask(%s): %v", aws.ToString(in.TaskDefinition), err)
	}
	if len(out.Failures) != 0 {
		t.Fatalf("RunTask failures: %+v", out.Failures)
	}
	return out.Tasks
}

func taskARNs(tasks []types.Task) []string {
	var out []string
	for _, t := range tasks {
		out = append(out, aws.ToString(t.TaskArn))
	}
	return out
}

func waitRunning(t *testing.T, c *ecs.Client, cluster string, arns ...string) {
	t.Helper()
	w := ecs.NewTasksRunningWaiter(c, func(o *ecs.TasksRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns}, 30*time.Second); err != nil {
		t.Fatalf("tasks-running waiter: %v", err)
	}
}

func waitStopped(t *testing.T, c *ecs.Client, cluster string, arns ...string) {
	t.Helper()
	w := ecs.NewTasksStoppedWaiter(c, func(o *ecs.TasksStoppedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns}, 30*time.Second); err != nil {
		t.Fatalf("tasks-stopped waiter: %v", err)
	}
}

func describeTasks(t *testing.T, c *ecs.Client, cluster string, arns ...string) []types.Task {
	t.Helper()
	out, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns, Include: []types.TaskField{types.TaskFieldTags}})
	if err != nil {
		t.Fatalf("DescribeTasks: %v", err)
	}
	if len(out.Failures) != 0 {
		t.Fatalf("DescribeTasks failures: %+v", out.Failures)
	}
	return out.Tasks
}

func tagMap(tags []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func details(a types.Attachment) map[string]string {
	m := map[string]string{}
	for _, d := range a.Details {
		m[aws.ToString(d.Name)] = aws.ToString(d.Value)
	}
	return m
}

// TestRunTaskLifecycle runs Fargate tasks to RUNNING and stops them, with
// the SDK's own waiters, and checks what each step reports.
func TestRunTaskLifecycle(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	td := registerFargate(t, c, "web")

	tasks := runTask(t, c, &ecs.RunTaskInput{
		TaskDefinition: td.TaskDefinitionArn, Count: aws.Int32(2), LaunchType: types.LaunchTypeFargate,
		NetworkConfiguration: awsvpc, StartedBy: aws.String("ci"), Tags: []types.Tag{tag("team", "mine")},
		PropagateTags: types.PropagateTagsTaskDefinition, EnableECSManagedTags: true,
	})
	if len(tasks) != 2 {
		t.Fatalf("RunTask started %d tasks, want 2", len(tasks))
	}
	for _, task := range tasks {
		id := domain.TaskID(aws.ToString(task.TaskArn))
		if want := domain.TaskARN(defaultRegion, defaultAccount, "default", id); aws.ToString(task.TaskArn) != want || len(id) != 32 {
			t.Errorf("task ARN %s, want %s with a 32-digit id", aws.ToString(task.TaskArn), want)
		}
		if aws.ToString(task.LastStatus) != "PROVISIONING" || aws.ToString(task.DesiredStatus) != "RUNNING" || task.Version != 1 ||
			aws.ToString(task.Group) != "family:web" || aws.ToString(task.StartedBy) != "ci" || task.LaunchType != types.LaunchTypeFargate ||
			aws.ToString(task.PlatformVersion) != "1.4.0" || aws.ToString(task.Cpu) != "256" || aws.ToString(task.Memory) != "512" {
			t.Errorf("new task = last %s desired %s v%d group %s startedBy %s launch %s platform %s cpu %s memory %s",
				aws.ToString(task.LastStatus), aws.ToString(task.DesiredStatus), task.Version, aws.ToString(task.Group),
				aws.ToString(task.StartedBy), task.LaunchType, aws.ToString(task.PlatformVersion), aws.ToString(task.Cpu), aws.ToString(task.Memory))
		}
		if len(task.Attachments) != 1 || aws.ToString(task.Attachments[0].Status) != "PRECREATED" || details(task.Attachments[0])["subnetId"] != "subnet-0abc" {
			t.Errorf("new task attachments = %+v, want one PRECREATED ENI in subnet-0abc", task.Attachments)
		}
		want := map[string]string{"team": "mine", "from": "td", "aws:ecs:clusterName": "default"}
		if got := tagMap(task.Tags); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("RunTask tags = %v, want %v (the caller's win over the revision's)", got, want)
		}
	}
	arns := taskARNs(tasks)
	waitRunning(t, c, "default", arns...)

	for _, task := range describeTasks(t, c, "default", arns...) {
		if task.StartedAt == nil || task.PullStartedAt == nil || task.PullStoppedAt == nil || task.ConnectivityAt == nil ||
			task.Connectivity != types.ConnectivityConnected || task.HealthStatus != types.HealthStatusUnknown {
			t.Errorf("running task times/connectivity/health: %+v", task)
		}
		a := task.Attachments[0]
		d := details(a)
		if aws.ToString(a.Status) != "ATTACHED" || !strings.HasPrefix(d["networkInterfaceId"], "eni-") || d["macAddress"] == "" ||
			!strings.HasPrefix(d["privateIPv4Address"], "10.0.") || !strings.HasSuffix(d["privateDnsName"], ".ec2.internal") {
			t.Errorf("running task ENI = %s %v", aws.ToString(a.Status), d)
		}
		ctr := task.Containers[0]
		if aws.ToString(ctr.LastStatus) != "RUNNING" || aws.ToString(ctr.RuntimeId) == "" || len(ctr.NetworkInterfaces) != 1 ||
			aws.ToString(ctr.NetworkInterfaces[0].PrivateIpv4Address) != d["privateIPv4Address"] {
			t.Errorf("running container = %+v", ctr)
		}
		if got := tagMap(task.Tags); got["team"] != "mine" {
			t.Errorf("DescribeTasks include TAGS = %v", got)
		}
	}

	out, err := c.StopTask(t.Context(), &ecs.StopTaskInput{Task: tasks[0].TaskArn})
	if err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	if st := out.Task; aws.ToString(st.DesiredStatus) != "STOPPED" || st.StopCode != types.TaskStopCodeUserInitiated ||
		aws.ToString(st.StoppedReason) != "Task stopped by user" || st.StoppingAt == nil {
		t.Errorf("StopTask answered desired %s code %s reason %q", aws.ToString(st.DesiredStatus), st.StopCode, aws.ToString(st.StoppedReason))
	}
	waitStopped(t, c, "default", arns[0])
	stopped := describeTasks(t, c, "default", arns[0])[0]
	if stopped.StoppedAt == nil || stopped.ExecutionStoppedAt == nil || aws.ToString(stopped.Containers[0].LastStatus) != "STOPPED" ||
		aws.ToInt32(stopped.Containers[0].ExitCode) != 0 || aws.ToString(stopped.Attachments[0].Status) != "DELETED" {
		t.Errorf("stopped task = %+v", stopped)
	}
	// A second StopTask changes nothing, and the other task still runs.
	again, err := c.StopTask(t.Context(), &ecs.StopTaskInput{Task: tasks[0].TaskArn, Reason: aws.String("other")})
	if err != nil || aws.ToString(again.Task.StoppedReason) != "Task stopped by user" || again.Task.Version != stopped.Version {
		t.Errorf("StopTask of a stopped task: %v, reason %q v%d", err, aws.ToString(again.Task.StoppedReason), again.Task.Version)
	}
	if other := describeTasks(t, c, "default", arns[1])[0]; aws.ToString(other.LastStatus) != "RUNNING" {
		t.Errorf("the other task is %s, want RUNNING", aws.ToString(other.LastStatus))
	}
}

// TestEssentialContainers: an essential container's exit stops the task
// with its exit code; a non-essential one's does not.
func TestEssentialContainers(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()

	exits := registerBridge(t, c, "exits", simContainer("main", true, "ECSD_SIM_RUN_SECONDS", "0", "ECSD_SIM_EXIT_CODE", "3"))
	task := runTask(t, c, &ecs.RunTaskInput{TaskDefinition: exits.TaskDefinitionArn})[0]
	if aws.ToString(task.LastStatus) != "PENDING" || task.LaunchType != types.LaunchTypeEc2 || len(task.Attachments) != 0 {
		t.Errorf("bridge task = last %s launch %s attachments %v, want PENDING EC2 without an ENI", aws.ToString(task.LastStatus), task.LaunchType, task.Attachments)
	}
	waitStopped(t, c, "default", aws.ToString(task.TaskArn))
	got := describeTasks(t, c, "default", aws.ToString(task.TaskArn))[0]
	if got.StopCode != types.TaskStopCodeEssentialContainerExited || aws.ToString(got.StoppedReason) != "Essential container in task exited" ||
		aws.ToInt32(got.Containers[0].ExitCode) != 3 {
		t.Errorf("stopped task: code %s reason %q exit %v", got.StopCode, aws.ToString(got.StoppedReason), got.Containers[0].ExitCode)
	}

	sidecar := registerBridge(t, c, "sidecar",
		simContainer("main", true),
		simContainer("init", false, "ECSD_SIM_RUN_SECONDS", "0", "ECSD_SIM_EXIT_CODE", "1"))
	task = runTask(t, c, &ecs.RunTaskInput{TaskDefinition: sidecar.TaskDefinitionArn})[0]
	waitRunning(t, c, "default", aws.ToString(task.TaskArn))
	waitFor(t, 10*time.Second, "the non-essential container to stop", func() error {
		got = describeTasks(t, c, "default", aws.ToString(task.TaskArn))[0]
		if ctr := got.Containers[1]; aws.ToString(ctr.LastStatus) != "STOPPED" || aws.ToInt32(ctr.ExitCode) != 1 {
			return fmt.Errorf("init is %s", aws.ToString(ctr.LastStatus))
		}
		return nil
	})
	if aws.ToString(got.LastStatus) != "RUNNING" || aws.ToString(got.DesiredStatus) != "RUNNING" {
		t.Errorf("task after a non-essential exit: %s/%s, want RUNNING/RUNNING", aws.ToString(got.LastStatus), aws.ToString(got.DesiredStatus))
	}
}

func TestTaskFailedToStart(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	const reason = "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref docker.io/library/nope:latest: not found"
	td := registerFargate(t, c, "broken", simContainer("app", true, "ECSD_SIM_START_FAILURE", reason))
	task := runTask(t, c, &ecs.RunTaskInput{TaskDefinition: td.TaskDefinitionArn, LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc})[0]
	waitStopped(t, c, "default", aws.ToString(task.TaskArn))
	got := describeTasks(t, c, "default", aws.ToString(task.TaskArn))[0]
	if got.StopCode != types.TaskStopCodeTaskFailedToStart || aws.ToString(got.StoppedReason) != reason ||
		aws.ToString(got.Containers[0].Reason) != reason || got.Containers[0].ExitCode != nil || got.StartedAt != nil {
		t.Errorf("task = code %s reason %q container reason %q exit %v startedAt %v", got.StopCode, aws.ToString(got.StoppedReason),
			aws.ToString(got.Containers[0].Reason), got.Containers[0].ExitCode, got.StartedAt)
	}
}

// TestInactiveTaskDefinitionAndTasks: a task keeps running when its
// revision is deregistered; new tasks of it are refused as ECS refuses
// them, unless the grace window is open.
func TestInactiveTaskDefinitionAndTasks(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	td := registerFargate(t, c, "old")
	running := runTask(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("old:1"), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc})[0]
	waitRunning(t, c, "default", aws.ToString(running.TaskArn))
	deregister(t, c, "old:1")

	_, err := c.RunTask(t.Context(), &ecs.RunTaskInput{TaskDefinition: td.TaskDefinitionArn, LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc})
	wantAPIError[*types.InvalidParameterException](t, err, "TaskDefinition is inactive")
	_, err = c.RunTask(t.Context(), &ecs.RunTaskInput{TaskDefinition: aws.String("old"), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc})
	wantAPIError[*types.ClientException](t, err, "TaskDefinition not found.")
	_, err = c.StartTask(t.Context(), &ecs.StartTaskInput{TaskDefinition: aws.String("old:1"), ContainerInstances: []string{"abc"}})
	wantAPIError[*types.InvalidParameterException](t, err, "TaskDefinition is inactive")

	// The supervisor keeps passing over the running task (a new task
	// reaching RUNNING proves passes happened); it stays RUNNING.
	other := registerFargate(t, c, "new")
	next := runTask(t, c, &ecs.RunTaskInput{TaskDefinition: other.TaskDefinitionArn, LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc})[0]
	waitRunning(t, c, "default", aws.ToString(next.TaskArn))
	if got := describeTasks(t, c, "default", aws.ToString(running.TaskArn))[0]; aws.ToString(got.LastStatus) != "RUNNING" || aws.ToString(got.DesiredStatus) != "RUNNING" {
		t.Errorf("task of the deregistered revision: %s/%s, want RUNNING/RUNNING", aws.ToString(got.LastStatus), aws.ToString(got.DesiredStatus))
	}

	// Inside the grace window the just-deregistered revision still runs.
	g := startServer(t, withInactiveGrace(10*time.Minute))
	gc := g.defaultClient()
	registerFargate(t, gc, "graced")
	deregister(t, gc, "graced:1")
	task := runTask(t, gc, &ecs.RunTaskInput{TaskDefinition: aws.String("graced:1"), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc})[0]
	waitRunning(t, gc, "default", aws.ToString(task.TaskArn))
}

// TestTasksSurviveRestart: after a restart on the same data directory the
// simulated tasks are still RUNNING, unchanged, and nothing is duplicated.
func TestTasksSurviveRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, withDataDir(dir))
	c := s.defaultClient()
	td := registerFargate(t, c, "durable")
	arns := taskARNs(runTask(t, c, &ecs.RunTaskInput{TaskDefinition: td.TaskDefinitionArn, Count: aws.Int32(3),
		LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc}))
	waitRunning(t, c, "default", arns...)
	before := describeTasks(t, c, "default", arns...)
	s.stop(t)

	s2 := startServer(t, withDataDir(dir))
	c2 := s2.defaultClient()
	after := describeTasks(t, c2, "default", arns...)
	for i := range before {
		b, a := before[i], after[i]
		if aws.ToString(a.LastStatus) != "RUNNING" || a.Version != b.Version || !a.StartedAt.Equal(*b.StartedAt) ||
			aws.ToString(a.Containers[0].RuntimeId) != aws.ToString(b.Containers[0].RuntimeId) {
			t.Errorf("task %d after restart: %s v%d startedAt %v, was v%d %v", i, aws.ToString(a.LastStatus), a.Version, a.StartedAt, b.Version, b.StartedAt)
		}
	}
	list, err := c2.ListTasks(t.Context(), &ecs.ListTasksInput{})
	if err != nil || len(list.TaskArns) != 3 {
		t.Fatalf("ListTasks after restart: %v, %d tasks, want 3", err, len(list.TaskArns))
	}
	if n := simGroups(t, s2); n != 3 {
		t.Errorf("simulated runtime holds %d groups, want 3 (one per task, none duplicated)", n)
	}
	// The restarted supervisor still acts on them.
	if _, err := c2.StopTask(t.Context(), &ecs.StopTaskInput{Task: aws.String(arns[0])}); err != nil {
		t.Fatal(err)
	}
	waitStopped(t, c2, "default", arns[0])
}

func TestDescribeTasksFailures(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	td := registerBridge(t, c, "d", container("app"))
	task := runTask(t, c, &ecs.RunTaskInput{TaskDefinition: td.TaskDefinitionArn})[0]
	missingID := "0123456789abcdef0123456789abcdef"
	missingARN := domain.TaskARN(defaultRegion, defaultAccount, "default", "fedcba9876543210fedcba9876543210")
	out, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: []string{domain.TaskID(aws.ToString(task.TaskArn)), missingID, missingARN}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tasks) != 1 || aws.ToString(out.Tasks[0].TaskArn) != aws.ToString(task.TaskArn) || out.Tasks[0].Tags == nil {
		t.Errorf("tasks = %+v", out.Tasks)
	}
	wantFailures := []string{domain.TaskARN(defaultRegion, defaultAccount, "default", missingID) + " MISSING", missingARN + " MISSING"}
	var got []string
	for _, f := range out.Failures {
		got = append(got, aws.ToString(f.Arn)+" "+aws.ToString(f.Reason))
	}
	if !slices.Equal(got, wantFailures) {
		t.Errorf("failures = %v, want %v", got, wantFailures)
	}

	_, err = c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: []string{}})
	wantAPIError[*types.InvalidParameterException](t, err, "Tasks cannot be empty.")
	many := make([]string, 101)
	for i := range many {
		many[i] = missingID
	}
	_, err = c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: many})
	wantAPIError[*types.InvalidParameterException](t, err, "taskIds can have at most 100 items.")
	_, err = c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String("nope"), Tasks: []string{missingID}})
	wantAPIError[*types.ClusterNotFoundException](t, err, "Cluster not found.")

	_, err = c.StopTask(t.Context(), &ecs.StopTaskInput{Task: aws.String(missingID)})
	wantAPIError[*types.InvalidParameterException](t, err, "The referenced task was not found")
	_, err = c.StopTask(t.Context(), &ecs.StopTaskInput{Task: aws.String("arn:aws:ecs:us-east-1:000000000000:service/x")})
	wantAPIError[*types.InvalidParameterException](t, err, "Task Identifier is invalid")
}

func TestRunTaskValidation(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	fargate := registerFargate(t, c, "fg")
	bridge := registerBridge(t, c, "br", container("app"))
	awsvpcEC2, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("vpc"), NetworkMode: types.NetworkModeAwsvpc, ContainerDefinitions: []types.ContainerDefinition{container("app")}})
	if err != nil {
		t.Fatal(err)
	}
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("plain")})
	bridgeNet := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}

	tests := []struct {
		name string
		in   ecs.RunTaskInput
		code string
		msg  string
	}{
		{"count too high", ecs.RunTaskInput{TaskDefinition: bridge.TaskDefinitionArn, Count: aws.Int32(11)}, "InvalidParameterException", "Task count can not be greater than 10"},
		{"launch type and strategy", ecs.RunTaskInput{TaskDefinition: bridge.TaskDefinitionArn, LaunchType: types.LaunchTypeEc2,
			CapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE")}}},
			"InvalidParameterException", "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again."},
		{"platformVersion with launch type EC2", ecs.RunTaskInput{TaskDefinition: bridge.TaskDefinitionArn, LaunchType: types.LaunchTypeEc2, PlatformVersion: aws.String("LATEST")},
			"InvalidParameterException", "The platform version must be null when specifying an EC2 launch type."},
		{"awsvpc without network configuration", ecs.RunTaskInput{TaskDefinition: fargate.TaskDefinitionArn, LaunchType: types.LaunchTypeFargate},
			"InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified."},
		{"network configuration on bridge", ecs.RunTaskInput{TaskDefinition: bridge.TaskDefinitionArn, NetworkConfiguration: bridgeNet},
			"InvalidParameterException", "Network Configuration is not valid for the given networkMode of this task definition."},
		{"Fargate on an EC2-only revision", ecs.RunTaskInput{TaskDefinition: awsvpcEC2.TaskDefinition.TaskDefinitionArn, LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc},
			"InvalidParameterException", "Task definition does not support launch_type FARGATE."},
		{"unknown revision", ecs.RunTaskInput{TaskDefinition: aws.String("fg:9")}, "ClientException", "TaskDefinition not found."},
		{"unknown cluster", ecs.RunTaskInput{Cluster: aws.String("nope"), TaskDefinition: bridge.TaskDefinitionArn}, "ClusterNotFoundException", "Cluster not found."},
		{"override of an unknown container", ecs.RunTaskInput{TaskDefinition: bridge.TaskDefinitionArn,
			Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("ghost")}}}},
			"InvalidParameterException", "Override for container named ghost is not a container in the TaskDefinition."},
		{"provider not associated with the cluster", ecs.RunTaskInput{Cluster: aws.String("plain"), TaskDefinition: fargate.TaskDefinitionArn, NetworkConfiguration: awsvpc,
			CapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Weight: 1}}},
			"InvalidParameterException", domain.MsgStrategyNotAssociated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			_, err := c.RunTask(t.Context(), &in)
			var apiErr interface {
				ErrorCode() string
				ErrorMessage() string
			}
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.code || apiErr.ErrorMessage() != tt.msg {
				t.Errorf("RunTask: %v, want %s: %s", err, tt.code, tt.msg)
			}
		})
	}

	// FARGATE through the cluster's default strategy: launch type FARGATE,
	// capacityProviderName set.
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("fg"), CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 1}}})
	task := runTask(t, c, &ecs.RunTaskInput{Cluster: aws.String("fg"), TaskDefinition: fargate.TaskDefinitionArn, NetworkConfiguration: awsvpc})[0]
	if task.LaunchType != types.LaunchTypeFargate || aws.ToString(task.CapacityProviderName) != "FARGATE_SPOT" {
		t.Errorf("default strategy task: launch %s provider %s", task.LaunchType, aws.ToString(task.CapacityProviderName))
	}
	tasks := runTask(t, c, &ecs.RunTaskInput{Cluster: aws.String("fg"), TaskDefinition: fargate.TaskDefinitionArn, NetworkConfiguration: awsvpc, Count: aws.Int32(6),
		CapacityProviderStrategy: []types.CapacityProviderStrategyItem{
			{CapacityProvider: aws.String("FARGATE"), Base: 1, Weight: 1}, {CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 4}}})
	placed := map[string]int{}
	for _, task := range tasks {
		placed[aws.ToString(task.CapacityProviderName)]++
	}
	// The base first, then "for every one task that's run using
	// capacityProviderA, four tasks would use capacityProviderB".
	if placed["FARGATE"] != 2 || placed["FARGATE_SPOT"] != 4 || aws.ToString(tasks[0].CapacityProviderName) != "FARGATE" {
		t.Errorf("strategy base 1, weights 1:4 over 6 tasks placed %v (first on %s), want the base on FARGATE, then 1:4",
			placed, aws.ToString(tasks[0].CapacityProviderName))
	}
}

func TestListTasksFilters(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	a := registerBridge(t, c, "alpha", container("app"))
	b := registerFargate(t, c, "beta")
	alpha := taskARNs(runTask(t, c, &ecs.RunTaskInput{TaskDefinition: a.TaskDefinitionArn, Count: aws.Int32(3), StartedBy: aws.String("cron")}))
	beta := taskARNs(runTask(t, c, &ecs.RunTaskInput{TaskDefinition: b.TaskDefinitionArn, Count: aws.Int32(2), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc}))
	if _, err := c.StopTask(t.Context(), &ecs.StopTaskInput{Task: aws.String(alpha[0])}); err != nil {
		t.Fatal(err)
	}
	list := func(in ecs.ListTasksInput) []string {
		t.Helper()
		var out []string
		p := ecs.NewListTasksPaginator(c, &in)
		for p.HasMorePages() {
			page, err := p.NextPage(t.Context())
			if err != nil {
				t.Fatalf("ListTasks(%+v): %v", in, err)
			}
			if in.MaxResults != nil && len(page.TaskArns) > int(*in.MaxResults) {
				t.Fatalf("page of %d, more than maxResults %d", len(page.TaskArns), *in.MaxResults)
			}
			out = append(out, page.TaskArns...)
		}
		sort.Strings(out)
		return out
	}
	sorted := func(s ...string) []string { s = slices.Clone(s); sort.Strings(s); return s }
	tests := []struct {
		name string
		in   ecs.ListTasksInput
		want []string
	}{
		{"default: desired RUNNING", ecs.ListTasksInput{}, sorted(append(slices.Clone(alpha[1:]), beta...)...)},
		{"family", ecs.ListTasksInput{Family: aws.String("beta")}, sorted(beta...)},
		{"startedBy", ecs.ListTasksInput{StartedBy: aws.String("cron")}, sorted(alpha[1:]...)},
		{"desired STOPPED", ecs.ListTasksInput{DesiredStatus: types.DesiredStatusStopped}, sorted(alpha[0])},
		{"desired PENDING: never set by ECS", ecs.ListTasksInput{DesiredStatus: types.DesiredStatusPending}, nil},
		{"launchType", ecs.ListTasksInput{LaunchType: types.LaunchTypeFargate}, sorted(beta...)},
		{"serviceName", ecs.ListTasksInput{ServiceName: aws.String("svc")}, nil},
		{"containerInstance", ecs.ListTasksInput{ContainerInstance: aws.String("abc")}, nil},
		{"pages of 2", ecs.ListTasksInput{MaxResults: aws.Int32(2)}, sorted(append(slices.Clone(alpha[1:]), beta...)...)},
		{"pages of 1, filtered", ecs.ListTasksInput{MaxResults: aws.Int32(1), Family: aws.String("alpha")}, sorted(alpha[1:]...)},
	}
	for _, tt := range tests {
		if got := list(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	_, err := c.ListTasks(t.Context(), &ecs.ListTasksInput{MaxResults: aws.Int32(101)})
	wantAPIError[*types.InvalidParameterException](t, err, "maxResults must be between 1 and 100.")
	_, err = c.ListTasks(t.Context(), &ecs.ListTasksInput{NextToken: aws.String("garbage")})
	if err == nil {
		t.Error("ListTasks with a bad nextToken succeeded")
	}
	_, err = c.ListTasks(t.Context(), &ecs.ListTasksInput{Family: aws.String("bad family")})
	wantAPIError[*types.InvalidParameterException](t, err, `family must match ^[a-zA-Z0-9\-_]+$`)
	_, err = c.ListTasks(t.Context(), &ecs.ListTasksInput{Cluster: aws.String("nope")})
	wantAPIError[*types.ClusterNotFoundException](t, err, "Cluster not found.")
}

// TestStoppedTaskRetention: a STOPPED task is describable until the
// retention passes, then DescribeTasks reports it MISSING.
func TestStoppedTaskRetention(t *testing.T) {
	t.Parallel()
	s := startServer(t, withTaskRetention(time.Second))
	c := s.defaultClient()
	td := registerBridge(t, c, "brief", simContainer("app", true, "ECSD_SIM_RUN_SECONDS", "0"))
	arn := aws.ToString(runTask(t, c, &ecs.RunTaskInput{TaskDefinition: td.TaskDefinitionArn})[0].TaskArn)
	waitStopped(t, c, "default", arn)
	waitFor(t, 20*time.Second, "the stopped task to be deleted", func() error {
		out, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: []string{arn}})
		if err != nil {
			return err
		}
		if len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" {
			return fmt.Errorf("still described: %d tasks", len(out.Tasks))
		}
		return nil
	})
	if n := simGroups(t, s); n != 0 {
		t.Errorf("the simulated runtime still holds %d groups", n)
	}
	if s.cfg.Database == "" {
		if _, err := os.Stat(filepath.Join(s.cfg.DataDir, "simulated")); err != nil {
			t.Errorf("simulated runtime directory: %v", err)
		}
	}
}

// simGroups counts the container groups the simulated runtime of e's
// server keeps: files in its data directory on SQLite, rows in the
// database on PostgreSQL (where every replica sees them).
func simGroups(t *testing.T, e *ecsd) int {
	t.Helper()
	if e.cfg.Database == "" {
		files, _ := filepath.Glob(filepath.Join(e.cfg.DataDir, "simulated", "*.json"))
		return len(files)
	}
	db, err := sql.Open("pgx", e.cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM ecsd_sim_groups").Scan(&n); err != nil {
		t.Fatalf("counting simulated groups: %v", err)
	}
	return n
}
