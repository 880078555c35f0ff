package ecs_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/ecs"
)

func sp(s string) *string { return &s }
func ip32(n int32) *int32 { return &n }
func bp(b bool) *bool     { return &b }

var t0 = time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC)

func fargateTD() types.TaskDefinition {
	return types.TaskDefinition{
		TaskDefinitionArn: sp("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3"),
		Family:            sp("web"),
		Revision:          3,
		NetworkMode:       types.NetworkModeAwsvpc,
		Cpu:               sp("256"),
		Memory:            sp("512"),
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: sp("app"), Image: sp("nginx"), Essential: bp(true), Memory: ip32(256), Cpu: 128},
			{Name: sp("log"), Image: sp("fluent"), Essential: bp(false), MemoryReservation: ip32(64)},
		},
	}
}

func bridgeTD() types.TaskDefinition {
	return types.TaskDefinition{
		TaskDefinitionArn: sp("arn:aws:ecs:us-east-1:123456789012:task-definition/sleep:1"),
		Family:            sp("sleep"),
		NetworkMode:       types.NetworkModeBridge,
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: sp("sleep"), Image: sp("busybox"), Essential: bp(true), Memory: ip32(64), Cpu: 10},
		},
	}
}

func fargateParams() ecs.TaskParams {
	return ecs.TaskParams{
		Region: "eu-west-1", Account: "123456789012", Cluster: "prod",
		TaskDefinition: fargateTD(),
		LaunchType:     types.LaunchTypeFargate,
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
			Subnets: []string{"subnet-aaa"}, SecurityGroups: []string{"sg-1"}}},
		StartedBy: "me",
		Now:       t0,
	}
}

func TestNewTaskFargate(t *testing.T) {
	task, err := ecs.NewTask(fargateParams())
	if err != nil {
		t.Fatal(err)
	}
	id := ecs.TaskID(*task.TaskArn)
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Errorf("task id %q is not 32 lowercase hex digits", id)
	}
	if want := "arn:aws:ecs:eu-west-1:123456789012:task/prod/" + id; *task.TaskArn != want {
		t.Errorf("TaskArn = %s, want %s", *task.TaskArn, want)
	}
	got := task
	got.TaskArn, got.Attachments, got.Containers = nil, nil, nil
	want := types.Task{
		ClusterArn:        sp("arn:aws:ecs:eu-west-1:123456789012:cluster/prod"),
		TaskDefinitionArn: sp("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3"),
		Overrides: &types.TaskOverride{
			ContainerOverrides:            []types.ContainerOverride{{Name: sp("app")}, {Name: sp("log")}},
			InferenceAcceleratorOverrides: []types.InferenceAcceleratorOverride{},
		},
		LastStatus:              sp("PROVISIONING"),
		DesiredStatus:           sp("RUNNING"),
		Cpu:                     sp("256"),
		Memory:                  sp("512"),
		Version:                 1,
		CreatedAt:               &t0,
		Group:                   sp("family:web"),
		StartedBy:               sp("me"),
		LaunchType:              types.LaunchTypeFargate,
		PlatformVersion:         sp("1.4.0"),
		PlatformFamily:          sp("Linux"),
		EphemeralStorage:        &types.EphemeralStorage{SizeInGiB: 20},
		FargateEphemeralStorage: &types.TaskEphemeralStorage{SizeInGiB: 20},
		AvailabilityZone:        sp("eu-west-1a"),
		Tags:                    []types.Tag{},
	}
	if diff := cmp.Diff(want, got, ignoreUnexported); diff != "" {
		t.Errorf("task (-want +got):\n%s", diff)
	}
	if len(task.Attachments) != 1 {
		t.Fatalf("attachments = %+v, want one ENI", task.Attachments)
	}
	a := task.Attachments[0]
	if *a.Type != "ElasticNetworkInterface" || *a.Status != "PRECREATED" ||
		cmp.Diff([]types.KeyValuePair{{Name: sp("subnetId"), Value: sp("subnet-aaa")}}, a.Details, ignoreUnexported) != "" {
		t.Errorf("attachment = %+v, want a PRECREATED ENI with only subnetId, as RunTask answers", a)
	}
	wantContainers := []types.Container{
		{Name: sp("app"), Image: sp("nginx"), LastStatus: sp("PENDING"), Cpu: sp("128"), Memory: sp("256"), NetworkInterfaces: []types.NetworkInterface{}, TaskArn: task.TaskArn},
		{Name: sp("log"), Image: sp("fluent"), LastStatus: sp("PENDING"), Cpu: sp("0"), MemoryReservation: sp("64"), NetworkInterfaces: []types.NetworkInterface{}, TaskArn: task.TaskArn},
	}
	for i, c := range task.Containers {
		if !strings.HasPrefix(*c.ContainerArn, "arn:aws:ecs:eu-west-1:123456789012:container/prod/"+id+"/") {
			t.Errorf("container ARN %s is not under the task", *c.ContainerArn)
		}
		c.ContainerArn = nil
		if diff := cmp.Diff(wantContainers[i], c, ignoreUnexported); diff != "" {
			t.Errorf("container %d (-want +got):\n%s", i, diff)
		}
	}
}

func TestNewTaskBridgeAndOverrides(t *testing.T) {
	p := ecs.TaskParams{
		Region: "us-east-1", Account: "123456789012", Cluster: "default",
		TaskDefinition: bridgeTD(), LaunchType: types.LaunchTypeEc2, Group: "batch", Now: t0,
		Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{
			{Name: sp("sleep"), Command: []string{"sleep", "5"}, Memory: ip32(128)}}},
		Tags: []types.Tag{{Key: sp("team"), Value: sp("a")}},
	}
	task, err := ecs.NewTask(p)
	if err != nil {
		t.Fatal(err)
	}
	if *task.LastStatus != "PENDING" || len(task.Attachments) != 0 || task.PlatformVersion != nil {
		t.Errorf("bridge task: lastStatus %s, attachments %v, platformVersion %v; want PENDING, none, none",
			*task.LastStatus, task.Attachments, task.PlatformVersion)
	}
	if *task.Group != "batch" || *task.Cpu != "10" || *task.Memory != "128" || *task.Containers[0].Memory != "128" {
		t.Errorf("group %s cpu %s memory %s container memory %s; want batch, the containers' sums with the override",
			*task.Group, *task.Cpu, *task.Memory, *task.Containers[0].Memory)
	}
	if diff := cmp.Diff([]string{"sleep", "5"}, task.Overrides.ContainerOverrides[0].Command); diff != "" {
		t.Errorf("override command: %s", diff)
	}
	if len(task.Tags) != 1 {
		t.Errorf("tags = %v", task.Tags)
	}

	p.Overrides = &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: sp("nope")}}}
	_, err = ecs.NewTask(p)
	checkError(t, err, "InvalidParameterException", "Override for container named nope is not a container in the TaskDefinition.")
}

func checkError(t *testing.T, err error, code, msg string) {
	t.Helper()
	e, ok := err.(*ecs.Error)
	if !ok || e.Code != code || e.Message != msg {
		t.Errorf("error = %v, want %s: %s", err, code, msg)
	}
}

func TestRequestStop(t *testing.T) {
	task, _ := ecs.NewTask(fargateParams())
	stopped := ecs.RequestStop(task, types.TaskStopCodeUserInitiated, "Task stopped by user", t0.Add(time.Minute))
	if *stopped.DesiredStatus != "STOPPED" || stopped.StopCode != types.TaskStopCodeUserInitiated ||
		*stopped.StoppedReason != "Task stopped by user" || !stopped.StoppingAt.Equal(t0.Add(time.Minute)) || stopped.Version != 2 {
		t.Errorf("stopped = desired %s code %s reason %v stoppingAt %v version %d", *stopped.DesiredStatus, stopped.StopCode,
			stopped.StoppedReason, stopped.StoppingAt, stopped.Version)
	}
	if *task.DesiredStatus != "RUNNING" {
		t.Errorf("RequestStop modified its input")
	}
	again := ecs.RequestStop(stopped, types.TaskStopCodeServiceSchedulerInitiated, "other", t0.Add(time.Hour))
	if diff := cmp.Diff(stopped, again, ignoreUnexported); diff != "" {
		t.Errorf("second RequestStop changed the task:\n%s", diff)
	}
}

// observed builds an observation of every container in one state.
func observed(state string, names ...string) ecs.Observation {
	o := ecs.Observation{Present: true}
	for _, n := range names {
		c := ecs.ObservedContainer{Name: n, State: state, RuntimeID: "rt-" + n, ImageDigest: "sha256:x", PulledAt: t0}
		if state != ecs.ObservedCreated {
			c.StartedAt = t0.Add(time.Second)
			c.Health = types.HealthStatusUnknown
		}
		if state == ecs.ObservedExited {
			c.ExitCode, c.FinishedAt = ip32(0), t0.Add(time.Minute)
		}
		o.Containers = append(o.Containers, c)
	}
	return o
}

// TestLifecycle walks tasks through their lifecycle, one due step per
// row, checking lastStatus, desiredStatus and stop code after each.
func TestLifecycle(t *testing.T) {
	running := observed(ecs.ObservedRunning, "app", "log")
	essentialExit := observed(ecs.ObservedRunning, "app", "log")
	essentialExit.Containers[0].State, essentialExit.Containers[0].ExitCode, essentialExit.Containers[0].FinishedAt = ecs.ObservedExited, ip32(3), t0.Add(2*time.Minute)
	sidecarExit := observed(ecs.ObservedRunning, "app", "log")
	sidecarExit.Containers[1].State, sidecarExit.Containers[1].ExitCode = ecs.ObservedExited, ip32(1)
	pullFail := observed(ecs.ObservedCreated, "app", "log")
	pullFail.Containers[0] = ecs.ObservedContainer{Name: "app", State: ecs.ObservedExited, Reason: "CannotPullContainerError: denied"}
	exited := observed(ecs.ObservedExited, "app", "log")
	none := ecs.Observation{}

	type step struct {
		obs     ecs.Observation
		stop    bool // StopTask before this step
		last    string
		desired string
		code    types.TaskStopCode
	}
	tests := []struct {
		name  string
		td    types.TaskDefinition
		steps []step
	}{
		{"awsvpc full life", fargateTD(), []step{
			{none, false, "PENDING", "RUNNING", ""},
			{none, false, "ACTIVATING", "RUNNING", ""},
			{observed(ecs.ObservedCreated, "app", "log"), false, "ACTIVATING", "RUNNING", ""},
			{running, false, "RUNNING", "RUNNING", ""},
			{running, false, "RUNNING", "RUNNING", ""},
			{running, true, "DEACTIVATING", "STOPPED", types.TaskStopCodeUserInitiated},
			{running, false, "STOPPING", "STOPPED", types.TaskStopCodeUserInitiated},
			{running, false, "STOPPING", "STOPPED", types.TaskStopCodeUserInitiated},
			{exited, false, "DEPROVISIONING", "STOPPED", types.TaskStopCodeUserInitiated},
			{exited, false, "STOPPED", "STOPPED", types.TaskStopCodeUserInitiated},
		}},
		{"bridge skips PROVISIONING and DEPROVISIONING", bridgeTDNamed("app", "log"), []step{
			{none, false, "ACTIVATING", "RUNNING", ""},
			{running, false, "RUNNING", "RUNNING", ""},
			{running, true, "DEACTIVATING", "STOPPED", types.TaskStopCodeUserInitiated},
			{running, false, "STOPPING", "STOPPED", types.TaskStopCodeUserInitiated},
			{exited, false, "STOPPED", "STOPPED", types.TaskStopCodeUserInitiated},
		}},
		{"essential container exits", fargateTD(), []step{
			{none, false, "PENDING", "RUNNING", ""},
			{none, false, "ACTIVATING", "RUNNING", ""},
			{running, false, "RUNNING", "RUNNING", ""},
			{essentialExit, false, "DEACTIVATING", "STOPPED", types.TaskStopCodeEssentialContainerExited},
		}},
		{"non-essential container exits: keeps running", fargateTD(), []step{
			{none, false, "PENDING", "RUNNING", ""},
			{none, false, "ACTIVATING", "RUNNING", ""},
			{running, false, "RUNNING", "RUNNING", ""},
			{sidecarExit, false, "RUNNING", "RUNNING", ""},
			{sidecarExit, false, "RUNNING", "RUNNING", ""},
		}},
		{"failure to start", fargateTD(), []step{
			{none, false, "PENDING", "RUNNING", ""},
			{none, false, "ACTIVATING", "RUNNING", ""},
			{pullFail, false, "DEACTIVATING", "STOPPED", types.TaskStopCodeTaskFailedToStart},
		}},
		{"stopped while provisioning", fargateTD(), []step{
			{none, true, "STOPPED", "STOPPED", types.TaskStopCodeUserInitiated},
		}},
		{"stopped while pending (awsvpc)", fargateTD(), []step{
			{none, false, "PENDING", "RUNNING", ""},
			{none, true, "DEPROVISIONING", "STOPPED", types.TaskStopCodeUserInitiated},
			{none, false, "STOPPED", "STOPPED", types.TaskStopCodeUserInitiated},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fargateParams()
			p.TaskDefinition = tt.td
			task, err := ecs.NewTask(p)
			if err != nil {
				t.Fatal(err)
			}
			now := t0
			for i, s := range tt.steps {
				now = now.Add(time.Second)
				if s.stop {
					task = ecs.RequestStop(task, types.TaskStopCodeUserInitiated, ecs.ReasonUserStopped, now)
				}
				before := task.Version
				next, changed := ecs.AdvanceTask(task, ecs.StepInput{Definition: tt.td, Observed: s.obs, Now: now, Due: true})
				if changed != (next.Version == before+1) || !changed && next.Version != before {
					t.Errorf("step %d: changed %v but version %d -> %d", i, changed, before, next.Version)
				}
				task = next
				if *task.LastStatus != s.last || *task.DesiredStatus != s.desired || task.StopCode != s.code {
					t.Fatalf("step %d: last %s desired %s code %q; want %s %s %q", i, *task.LastStatus, *task.DesiredStatus, task.StopCode, s.last, s.desired, s.code)
				}
			}
		})
	}
}

func bridgeTDNamed(names ...string) types.TaskDefinition {
	td := bridgeTD()
	td.ContainerDefinitions = nil
	for i, n := range names {
		td.ContainerDefinitions = append(td.ContainerDefinitions, types.ContainerDefinition{Name: sp(n), Image: sp("busybox"), Essential: bp(i == 0), Memory: ip32(64)})
	}
	return td
}

// TestLifecycleDetails checks what each transition records: timestamps,
// the attached interface, container states, exit codes and reasons.
func TestLifecycleDetails(t *testing.T) {
	td := fargateTD()
	td.ContainerDefinitions[0].HealthCheck = &types.HealthCheck{Command: []string{"CMD", "true"}}
	task, _ := ecs.NewTask(fargateParams())
	step := func(obs ecs.Observation, at time.Duration, due bool) {
		t.Helper()
		task, _ = ecs.AdvanceTask(task, ecs.StepInput{Definition: td, Observed: obs, Now: t0.Add(at), Due: due})
	}
	step(ecs.Observation{}, time.Second, false)
	if *task.LastStatus != "PROVISIONING" || task.Version != 1 {
		t.Fatalf("a step that is not due moved the task: %s v%d", *task.LastStatus, task.Version)
	}
	step(ecs.Observation{}, 2*time.Second, true) // PENDING
	a := task.Attachments[0]
	details := map[string]string{}
	for _, d := range a.Details {
		details[*d.Name] = *d.Value
	}
	if *a.Status != "ATTACHED" || details["subnetId"] != "subnet-aaa" || !regexp.MustCompile(`^eni-[0-9a-f]{17}$`).MatchString(details["networkInterfaceId"]) ||
		!regexp.MustCompile(`^0a(:[0-9a-f]{2}){5}$`).MatchString(details["macAddress"]) ||
		details["privateDnsName"] != "ip-"+strings.ReplaceAll(details["privateIPv4Address"], ".", "-")+".eu-west-1.compute.internal" {
		t.Errorf("attached ENI = %v %v", *a.Status, details)
	}
	if ni := task.Containers[0].NetworkInterfaces; len(ni) != 1 || *ni[0].PrivateIpv4Address != details["privateIPv4Address"] || *ni[0].AttachmentId != *a.Id {
		t.Errorf("container network interfaces = %+v", ni)
	}
	if task.Connectivity != types.ConnectivityConnected || !task.ConnectivityAt.Equal(t0.Add(2*time.Second)) {
		t.Errorf("connectivity = %s at %v", task.Connectivity, task.ConnectivityAt)
	}
	step(ecs.Observation{}, 3*time.Second, true) // ACTIVATING
	if !task.PullStartedAt.Equal(t0.Add(3 * time.Second)) {
		t.Errorf("pullStartedAt = %v", task.PullStartedAt)
	}
	obs := observed(ecs.ObservedRunning, "app", "log")
	obs.Containers[0].Health = types.HealthStatusHealthy
	step(obs, 4*time.Second, true) // RUNNING
	if !task.StartedAt.Equal(t0.Add(4*time.Second)) || task.PullStoppedAt == nil {
		t.Errorf("startedAt %v pullStoppedAt %v", task.StartedAt, task.PullStoppedAt)
	}
	app := task.Containers[0]
	if *app.LastStatus != "RUNNING" || *app.RuntimeId != "rt-app" || app.HealthStatus != types.HealthStatusHealthy || app.NetworkBindings == nil {
		t.Errorf("app container = %+v", app)
	}
	if task.HealthStatus != types.HealthStatusHealthy {
		t.Errorf("task health = %s, want HEALTHY (its only essential container is)", task.HealthStatus)
	}
	obs.Containers[0].Health = types.HealthStatusUnhealthy
	v := task.Version
	step(obs, 5*time.Second, false)
	if task.HealthStatus != types.HealthStatusUnhealthy || task.Version != v+1 {
		t.Errorf("health change: task %s v%d, want UNHEALTHY v%d", task.HealthStatus, task.Version, v+1)
	}

	// The essential container exits with code 3.
	obs.Containers[0].State, obs.Containers[0].ExitCode, obs.Containers[0].FinishedAt = ecs.ObservedExited, ip32(3), t0.Add(6*time.Second)
	step(obs, 7*time.Second, false)
	if *task.DesiredStatus != "STOPPED" || task.StopCode != types.TaskStopCodeEssentialContainerExited ||
		*task.StoppedReason != "Essential container in task exited" || !task.StoppingAt.Equal(t0.Add(7*time.Second)) || *task.LastStatus != "RUNNING" {
		t.Errorf("after essential exit (not due): desired %s code %s reason %v stoppingAt %v last %s", *task.DesiredStatus, task.StopCode, task.StoppedReason, task.StoppingAt, *task.LastStatus)
	}
	if c := task.Containers[0]; *c.LastStatus != "STOPPED" || *c.ExitCode != 3 {
		t.Errorf("exited container = %+v", c)
	}
	step(obs, 8*time.Second, true) // DEACTIVATING
	step(obs, 9*time.Second, true) // STOPPING
	obs.Containers[1].State, obs.Containers[1].ExitCode, obs.Containers[1].FinishedAt = ecs.ObservedExited, ip32(0), t0.Add(10*time.Second)
	step(obs, 11*time.Second, true) // DEPROVISIONING
	if *task.LastStatus != "DEPROVISIONING" || !task.ExecutionStoppedAt.Equal(t0.Add(10*time.Second)) {
		t.Errorf("last %s executionStoppedAt %v, want DEPROVISIONING at the last container's exit", *task.LastStatus, task.ExecutionStoppedAt)
	}
	step(obs, 12*time.Second, true) // STOPPED
	if *task.LastStatus != "STOPPED" || !task.StoppedAt.Equal(t0.Add(12*time.Second)) || *task.Attachments[0].Status != "DELETED" {
		t.Errorf("last %s stoppedAt %v attachment %s", *task.LastStatus, task.StoppedAt, *task.Attachments[0].Status)
	}
	final := task
	step(obs, time.Hour, true)
	if diff := cmp.Diff(final, task, ignoreUnexported); diff != "" {
		t.Errorf("a STOPPED task changed:\n%s", diff)
	}
}

// TestExecuteCommandAgent: a task with enableExecuteCommand reports an
// ExecuteCommandAgent per container, PENDING until the container runs,
// RUNNING (since the container started) while it does, STOPPED after; a
// task without it reports none.
func TestExecuteCommandAgent(t *testing.T) {
	agents := func(task types.Task) []string {
		var out []string
		for _, c := range task.Containers {
			for _, a := range c.ManagedAgents {
				s := *c.Name + ":" + string(a.Name) + ":" + *a.LastStatus
				if a.LastStartedAt != nil {
					s += "@" + a.LastStartedAt.Sub(t0).String()
				}
				out = append(out, s)
			}
		}
		return out
	}
	td := bridgeTDNamed("app", "log")
	p := fargateParams()
	p.TaskDefinition = td
	plain, err := ecs.NewTask(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := agents(plain); got != nil {
		t.Errorf("task without enableExecuteCommand has agents %v", got)
	}
	p.EnableExecuteCommand = true
	task, err := ecs.NewTask(p)
	if err != nil {
		t.Fatal(err)
	}
	sidecarExit := observed(ecs.ObservedRunning, "app", "log")
	sidecarExit.Containers[1].State, sidecarExit.Containers[1].ExitCode = ecs.ObservedExited, ip32(1)
	steps := []struct {
		obs  ecs.Observation
		stop bool
		want []string
	}{
		{ecs.Observation{}, false, []string{"app:ExecuteCommandAgent:PENDING", "log:ExecuteCommandAgent:PENDING"}},
		{observed(ecs.ObservedCreated, "app", "log"), false, []string{"app:ExecuteCommandAgent:PENDING", "log:ExecuteCommandAgent:PENDING"}},
		{observed(ecs.ObservedRunning, "app", "log"), false, []string{"app:ExecuteCommandAgent:RUNNING@1s", "log:ExecuteCommandAgent:RUNNING@1s"}},
		{sidecarExit, false, []string{"app:ExecuteCommandAgent:RUNNING@1s", "log:ExecuteCommandAgent:STOPPED@1s"}},
		{sidecarExit, true, []string{"app:ExecuteCommandAgent:RUNNING@1s", "log:ExecuteCommandAgent:STOPPED@1s"}},
		{sidecarExit, false, []string{"app:ExecuteCommandAgent:RUNNING@1s", "log:ExecuteCommandAgent:STOPPED@1s"}},
		{observed(ecs.ObservedExited, "app", "log"), false, []string{"app:ExecuteCommandAgent:STOPPED@1s", "log:ExecuteCommandAgent:STOPPED@1s"}},
	}
	now := t0
	for i, s := range steps {
		now = now.Add(time.Second)
		if s.stop {
			task = ecs.RequestStop(task, types.TaskStopCodeUserInitiated, ecs.ReasonUserStopped, now)
		}
		prev := agents(task)
		next, _ := ecs.AdvanceTask(task, ecs.StepInput{Definition: td, Observed: s.obs, Now: now, Due: true})
		if diff := cmp.Diff(prev, agents(task)); diff != "" {
			t.Fatalf("step %d modified its input task:\n%s", i, diff)
		}
		task = next
		if diff := cmp.Diff(s.want, agents(task)); diff != "" {
			t.Fatalf("step %d (task %s) agents (-want +got):\n%s", i, *task.LastStatus, diff)
		}
	}
	if *task.LastStatus != ecs.TaskStopped {
		t.Fatalf("task ended %s", *task.LastStatus)
	}
}
