package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/ecsd/ecsd/internal/driver/dockerdriver"
	"github.com/ecsd/ecsd/internal/driver/dockerdriver/dockertest"
	"github.com/ecsd/ecsd/internal/server"
)

// ECS tasks as real Docker containers, end to end: the official client
// against a server on the Docker runtime, and the Engine checked behind
// it. There is no registry here, so the tests compile the tiny program of
// the Docker driver's tests and import it as a FROM-scratch image. They
// skip when no Engine answers, and leave no container behind: each server
// has its own data directory, hence its own scope label, and everything
// carrying it is removed when the test ends.

var dockerEnv struct {
	once sync.Once
	cli  *client.Client
	tiny string
	skip string
	err  error
}

// docker returns an Engine client and the tiny image, or skips.
func docker(t *testing.T) (*client.Client, string) {
	t.Helper()
	dockerEnv.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err == nil {
			_, err = cli.Ping(ctx)
		}
		if err != nil {
			dockerEnv.skip = fmt.Sprintf("no Docker Engine answers (%v); the Docker runtime is not tested end to end", err)
			return
		}
		dockerEnv.cli = cli
		dockerEnv.tiny, dockerEnv.err = dockertest.TinyImage(ctx, cli, "../driver/dockerdriver/testdata/tiny", dockerdriver.ImportImage)
	})
	if dockerEnv.skip != "" {
		t.Skip(dockerEnv.skip)
	}
	if dockerEnv.err != nil {
		t.Fatalf("building the test image: %v", dockerEnv.err)
	}
	return dockerEnv.cli, dockerEnv.tiny
}

// withRuntime picks the runtime tasks run on.
func withRuntime(name string) option {
	return func(c *server.Config) { c.Runtime = name }
}

// dockerServer starts ecsd on the Docker runtime in dir ("" for a fresh
// one). Everything carrying the data directory's scope label is removed
// when the test ends, after the server has stopped.
func dockerServer(t *testing.T, dir string, opts ...option) (*ecsd, string) {
	t.Helper()
	cli, _ := docker(t)
	if dir == "" {
		dir = t.TempDir()
		scope, err := server.DockerScope(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { removeScoped(t, cli, scope) })
	}
	e := startServer(t, append([]option{withDataDir(dir), withRuntime(server.RuntimeDocker)}, opts...)...)
	if e.Runtime() != server.RuntimeDocker {
		t.Fatalf("runtime = %s, want docker", e.Runtime())
	}
	return e, dir
}

func scopeArgs(scope map[string]string) filters.Args {
	args := filters.NewArgs()
	for k, v := range scope {
		args.Add("label", k+"="+v)
	}
	return args
}

// removeScoped removes the containers and task volumes of a scope: what
// a server leaves behind when it shuts down (its containers outlive it,
// as they would outlive an ECS agent).
func removeScoped(t *testing.T, cli *client.Client, scope map[string]string) {
	ctx := context.Background()
	cs, err := cli.ContainerList(ctx, dcontainer.ListOptions{All: true, Filters: scopeArgs(scope)})
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	for _, c := range cs {
		if err := cli.ContainerRemove(ctx, c.ID, dcontainer.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
	vols, err := cli.VolumeList(ctx, volume.ListOptions{Filters: scopeArgs(scope)})
	if err == nil {
		for _, v := range vols.Volumes {
			_ = cli.VolumeRemove(ctx, v.Name, true)
		}
	}
}

func scopedContainers(t *testing.T, cli *client.Client, dir string, extra ...string) []dcontainer.Summary {
	t.Helper()
	scope, _ := server.DockerScope(dir)
	args := scopeArgs(scope)
	for _, e := range extra {
		args.Add("label", e)
	}
	cs, err := cli.ContainerList(context.Background(), dcontainer.ListOptions{All: true, Filters: args})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// tinyContainer is a container definition of the tiny image.
func tinyContainer(name string, essential bool, command ...string) types.ContainerDefinition {
	return types.ContainerDefinition{Name: aws.String(name), Image: aws.String(dockerEnv.tiny), Essential: aws.Bool(essential),
		Memory: aws.Int32(64), Command: command}
}

func registerTD(t *testing.T, c *ecs.Client, in *ecs.RegisterTaskDefinitionInput) types.TaskDefinition {
	t.Helper()
	out, err := c.RegisterTaskDefinition(t.Context(), in)
	if err != nil {
		t.Fatalf("RegisterTaskDefinition(%s): %v", aws.ToString(in.Family), err)
	}
	return *out.TaskDefinition
}

func runOne(t *testing.T, c *ecs.Client, in *ecs.RunTaskInput) types.Task {
	t.Helper()
	return runTask(t, c, in)[0]
}

// waitTask polls DescribeTasks until cond holds.
func waitTask(t *testing.T, c *ecs.Client, arn, what string, cond func(types.Task) bool) types.Task {
	t.Helper()
	var last types.Task
	waitFor(t, 60*time.Second, what, func() error {
		last = describeTasks(t, c, "default", arn)[0]
		if cond(last) {
			return nil
		}
		return fmt.Errorf("task is %s (%s), containers %s", aws.ToString(last.LastStatus), aws.ToString(last.StoppedReason), containerSummary(last))
	})
	return last
}

func containerSummary(t types.Task) string {
	var parts []string
	for _, c := range t.Containers {
		code := "-"
		if c.ExitCode != nil {
			code = strconv.Itoa(int(*c.ExitCode))
		}
		parts = append(parts, fmt.Sprintf("%s:%s/%s/%s/%q", aws.ToString(c.Name), aws.ToString(c.LastStatus), c.HealthStatus, code, aws.ToString(c.Reason)))
	}
	return strings.Join(parts, " ")
}

func containerNamed(t types.Task, name string) types.Container {
	for _, c := range t.Containers {
		if aws.ToString(c.Name) == name {
			return c
		}
	}
	return types.Container{}
}

func stopped(t types.Task) bool   { return aws.ToString(t.LastStatus) == "STOPPED" }
func isRunning(t types.Task) bool { return aws.ToString(t.LastStatus) == "RUNNING" }

// The lifecycle on real containers: exit codes, stop timeouts, health,
// dependsOn and image pull failures, as DescribeTasks reports them.
func TestDockerTaskLifecycle(t *testing.T) {
	t.Parallel()
	e, _ := dockerServer(t, "")
	c := e.defaultClient()

	t.Run("essential container exit", func(t *testing.T) {
		t.Parallel()
		registerTD(t, c, &ecs.RegisterTaskDefinitionInput{Family: aws.String("exits"), ContainerDefinitions: []types.ContainerDefinition{
			tinyContainer("main", true, "exit", "3", "300"),
			tinyContainer("side", false, "run"),
		}})
		task := runOne(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("exits")})
		got := waitTask(t, c, aws.ToString(task.TaskArn), "stopped", stopped)
		main, side := containerNamed(got, "main"), containerNamed(got, "side")
		if got.StopCode != types.TaskStopCodeEssentialContainerExited || aws.ToString(got.StoppedReason) != "Essential container in task exited" {
			t.Errorf("stop code %s, reason %q", got.StopCode, aws.ToString(got.StoppedReason))
		}
		if aws.ToInt32(main.ExitCode) != 3 || aws.ToInt32(side.ExitCode) != 0 || side.ExitCode == nil {
			t.Errorf("exit codes: %s", containerSummary(got))
		}
		if aws.ToString(main.RuntimeId) == "" || !strings.HasPrefix(aws.ToString(main.ImageDigest), "sha256:") {
			t.Errorf("main = runtimeId %q digest %q", aws.ToString(main.RuntimeId), aws.ToString(main.ImageDigest))
		}
	})

	t.Run("StopTask sends SIGTERM, then SIGKILL after stopTimeout", func(t *testing.T) {
		t.Parallel()
		stubborn := tinyContainer("stubborn", true, "ignore-term")
		stubborn.StopTimeout = aws.Int32(2)
		registerTD(t, c, &ecs.RegisterTaskDefinitionInput{Family: aws.String("stops"), ContainerDefinitions: []types.ContainerDefinition{
			stubborn, tinyContainer("polite", true, "run"),
		}})
		task := runOne(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("stops")})
		arn := aws.ToString(task.TaskArn)
		waitTask(t, c, arn, "running", isRunning)
		if _, err := c.StopTask(t.Context(), &ecs.StopTaskInput{Task: aws.String(arn), Reason: aws.String("done")}); err != nil {
			t.Fatal(err)
		}
		got := waitTask(t, c, arn, "stopped", stopped)
		s, p := containerNamed(got, "stubborn"), containerNamed(got, "polite")
		if aws.ToInt32(s.ExitCode) != 137 || p.ExitCode == nil || *p.ExitCode != 0 {
			t.Errorf("exit codes: %s; want 137 for the one that ignores SIGTERM, 0 for the other", containerSummary(got))
		}
		if took := got.ExecutionStoppedAt.Sub(*got.StoppingAt); took < 2*time.Second || took > 6*time.Second {
			t.Errorf("containers stopped %v after the stop request, want about the 2s stopTimeout", took)
		}
		if got.StopCode != types.TaskStopCodeUserInitiated || aws.ToString(got.StoppedReason) != "done" {
			t.Errorf("stop code %s, reason %q", got.StopCode, aws.ToString(got.StoppedReason))
		}
	})

	t.Run("health checks", func(t *testing.T) {
		t.Parallel()
		check := func(file string) *types.HealthCheck {
			return &types.HealthCheck{Command: []string{"CMD", "/tiny", "health", file}, Interval: aws.Int32(5), Retries: aws.Int32(1), Timeout: aws.Int32(2)}
		}
		good, bad := tinyContainer("good", true, "touch", "/ok", "0"), tinyContainer("bad", false, "run")
		good.HealthCheck, bad.HealthCheck = check("/ok"), check("/never")
		registerTD(t, c, &ecs.RegisterTaskDefinitionInput{Family: aws.String("health"), ContainerDefinitions: []types.ContainerDefinition{good, bad}})
		task := runOne(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("health")})
		got := waitTask(t, c, aws.ToString(task.TaskArn), "health decided", func(t types.Task) bool {
			return containerNamed(t, "good").HealthStatus == types.HealthStatusHealthy && containerNamed(t, "bad").HealthStatus == types.HealthStatusUnhealthy
		})
		// Only essential containers count for the task.
		if got.HealthStatus != types.HealthStatusHealthy {
			t.Errorf("task health %s, want HEALTHY (the unhealthy container is not essential)", got.HealthStatus)
		}
		stopTask(t, c, aws.ToString(task.TaskArn))
	})

	t.Run("dependsOn orders the start", func(t *testing.T) {
		t.Parallel()
		first := tinyContainer("first", false, "exit", "0", "700")
		second := tinyContainer("second", true, "run")
		second.DependsOn = []types.ContainerDependency{{ContainerName: aws.String("first"), Condition: types.ContainerConditionSuccess}}
		registerTD(t, c, &ecs.RegisterTaskDefinitionInput{Family: aws.String("deps"), ContainerDefinitions: []types.ContainerDefinition{second, first}})
		task := runOne(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("deps")})
		got := waitTask(t, c, aws.ToString(task.TaskArn), "running", isRunning)
		f, s := e.inspect(t, containerNamed(got, "first")), e.inspect(t, containerNamed(got, "second"))
		if !s.startedAt.After(f.finishedAt) {
			t.Errorf("second started at %v, before first finished at %v", s.startedAt, f.finishedAt)
		}
		stopTask(t, c, aws.ToString(task.TaskArn))
	})

	t.Run("image pull failure", func(t *testing.T) {
		t.Parallel()
		registerTD(t, c, &ecs.RegisterTaskDefinitionInput{Family: aws.String("nopull"), ContainerDefinitions: []types.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String("ecsd-test/does-not-exist:1"), Memory: aws.Int32(64)},
		}})
		task := runOne(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("nopull")})
		got := waitTask(t, c, aws.ToString(task.TaskArn), "stopped", stopped)
		app := containerNamed(got, "app")
		if got.StopCode != types.TaskStopCodeTaskFailedToStart || !strings.HasPrefix(aws.ToString(got.StoppedReason), "CannotPullContainerError: ") ||
			aws.ToString(app.Reason) != aws.ToString(got.StoppedReason) || app.ExitCode != nil {
			t.Errorf("stop code %s, reason %q; container %s", got.StopCode, aws.ToString(got.StoppedReason), containerSummary(got))
		}
	})
}

func stopTask(t *testing.T, c *ecs.Client, arn string) {
	t.Helper()
	if _, err := c.StopTask(t.Context(), &ecs.StopTaskInput{Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	waitTask(t, c, arn, "stopped", stopped)
}

type dockerTimes struct{ startedAt, finishedAt time.Time }

// inspect reads a task container's times from the Engine.
func (e *ecsd) inspect(t *testing.T, c types.Container) dockerTimes {
	t.Helper()
	cli, _ := docker(t)
	in, err := cli.ContainerInspect(t.Context(), aws.ToString(c.RuntimeId))
	if err != nil {
		t.Fatalf("inspect %s: %v", aws.ToString(c.Name), err)
	}
	parse := func(s string) time.Time { tm, _ := time.Parse(time.RFC3339Nano, s); return tm }
	return dockerTimes{parse(in.State.StartedAt), parse(in.State.FinishedAt)}
}

// A restarted ecsd adopts the running containers of its tasks: the same
// task stays RUNNING on the same container, which is not recreated; and
// a container removed behind its back stops its task, with a reason.
func TestDockerRestartAndVanishedContainers(t *testing.T) {
	t.Parallel()
	cli, _ := docker(t)
	e, dir := dockerServer(t, "")
	c := e.defaultClient()
	registerTD(t, c, &ecs.RegisterTaskDefinitionInput{Family: aws.String("long"), ContainerDefinitions: []types.ContainerDefinition{
		tinyContainer("app", true, "run"),
	}})
	kept := runOne(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("long")})
	doomed := runOne(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("long")})
	before := waitTask(t, c, aws.ToString(kept.TaskArn), "running", isRunning)
	waitTask(t, c, aws.ToString(doomed.TaskArn), "running", isRunning)
	id := aws.ToString(containerNamed(before, "app").RuntimeId)
	startedBefore := e.inspect(t, containerNamed(before, "app")).startedAt
	metadataURI := containerEnv(t, id)["ECS_CONTAINER_METADATA_URI_V4"]

	e.stop(t)
	if cs := scopedContainers(t, cli, dir, "com.amazonaws.ecs.container-name=app", "ecsd.driver.role=container"); len(cs) != 2 || cs[0].State != "running" || cs[1].State != "running" {
		t.Fatalf("after shutdown: %d app containers, want both still running: %+v", len(cs), cs)
	}
	e2, _ := dockerServer(t, dir)
	c = e2.defaultClient()
	after := describeTasks(t, c, "default", aws.ToString(kept.TaskArn))[0]
	if !isRunning(after) || aws.ToString(containerNamed(after, "app").RuntimeId) != id {
		t.Fatalf("after restart: %s %s, want RUNNING on container %s", aws.ToString(after.LastStatus), containerSummary(after), id)
	}
	if got := e2.inspect(t, containerNamed(after, "app")).startedAt; !got.Equal(startedBefore) {
		t.Errorf("the container started again at %v (first start %v)", got, startedBefore)
	}
	// The adopted container's metadata URI, baked in when it was made,
	// still answers: same port, same key.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, metadataURI, nil)
	if resp, body := do(t, req); resp.StatusCode != 200 || !strings.Contains(string(body), `"DockerId":"`+id+`"`) {
		t.Errorf("GET %s after the restart: %d %s", metadataURI, resp.StatusCode, body)
	}

	// Behind ecsd's back.
	dc := containerNamed(describeTasks(t, c, "default", aws.ToString(doomed.TaskArn))[0], "app")
	if err := cli.ContainerRemove(t.Context(), aws.ToString(dc.RuntimeId), dcontainer.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	gone := waitTask(t, c, aws.ToString(doomed.TaskArn), "stopped", stopped)
	app := containerNamed(gone, "app")
	// `docker rm -f` kills before it removes: ecsd hears of the kill
	// (exit code 137) or, if the removal wins, reports the container gone.
	killed := aws.ToInt32(app.ExitCode) == 137
	vanished := app.ExitCode == nil && strings.Contains(aws.ToString(app.Reason), "No such container: "+aws.ToString(dc.RuntimeId))
	if gone.StopCode != types.TaskStopCodeEssentialContainerExited || !killed && !vanished {
		t.Errorf("removed: stop code %s, reason %q; %s", gone.StopCode, aws.ToString(gone.StoppedReason), containerSummary(gone))
	}
	if _, err := cli.ContainerInspect(t.Context(), aws.ToString(dc.RuntimeId)); err == nil {
		t.Errorf("the removed container %s is back", aws.ToString(dc.RuntimeId))
	}
	stopTask(t, c, aws.ToString(kept.TaskArn))
}

// POST /moto-api/reset removes the runtime's containers with the state.
func TestDockerReset(t *testing.T) {
	t.Parallel()
	cli, _ := docker(t)
	e, dir := dockerServer(t, "", withReset())
	c := e.defaultClient()
	registerTD(t, c, &ecs.RegisterTaskDefinitionInput{Family: aws.String("r"), ContainerDefinitions: []types.ContainerDefinition{
		tinyContainer("app", true, "run"),
	}})
	task := runOne(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("r")})
	waitTask(t, c, aws.ToString(task.TaskArn), "running", isRunning)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.URL()+"/moto-api/reset", nil)
	if resp, body := do(t, req); resp.StatusCode != 200 {
		t.Fatalf("reset: %d %s", resp.StatusCode, body)
	}
	// The reply comes once the state is gone; the containers go in the
	// background.
	waitFor(t, 30*time.Second, "the containers to be removed after the reset", func() error {
		if cs := scopedContainers(t, cli, dir); len(cs) != 0 {
			return fmt.Errorf("%d containers of this ecsd remain", len(cs))
		}
		return nil
	})
}

// metadataDump is what the tiny program prints from inside a task.
type metadataDump struct {
	Container, Task, Stats, TaskStats, Credentials, CredentialsWithoutToken struct {
		Status int             `json:"status"`
		Body   json.RawMessage `json:"body"`
		Error  string          `json:"error"`
	}
}

// readDump waits for a container's first output line and decodes it.
func readDump(t *testing.T, dir, taskID, container string) metadataDump {
	t.Helper()
	cli, _ := docker(t)
	scope, _ := server.DockerScope(dir)
	var dump metadataDump
	waitFor(t, 30*time.Second, "the container's metadata dump", func() error {
		var out, errOut bytes.Buffer
		if err := dockerdriver.Logs(t.Context(), cli, scope, taskID, container, dockerdriver.LogOptions{}, &out, &errOut); err != nil {
			return err
		}
		line, _, ok := strings.Cut(out.String(), "\n")
		if !ok {
			return fmt.Errorf("no output yet (stderr %q)", errOut.String())
		}
		return json.Unmarshal([]byte(line), &dump)
	})
	return dump
}

// The task metadata endpoint v4 and the credentials endpoint, read from
// inside containers of each network mode and checked against
// DescribeTasks.
func TestDockerMetadataEndpoint(t *testing.T) {
	t.Parallel()
	_, _ = docker(t)
	e, dir := dockerServer(t, "")
	c := e.defaultClient()
	for _, mode := range []types.NetworkMode{types.NetworkModeBridge, types.NetworkModeAwsvpc, types.NetworkModeHost} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			family := "md-" + string(mode)
			app := tinyContainer("app", true, "metadata")
			app.Cpu = 128
			app.DockerLabels = map[string]string{"team": "blue"}
			app.PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(8080)}}
			if mode == types.NetworkModeHost {
				app.PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(int32(freePort(t)))}}
			}
			app.HealthCheck = &types.HealthCheck{Command: []string{"CMD", "/tiny", "health", "/"}, Interval: aws.Int32(5)}
			app.LogConfiguration = &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{"awslogs-group": "/ecs/md", "awslogs-region": "us-east-1"}}
			in := &ecs.RegisterTaskDefinitionInput{Family: aws.String(family), NetworkMode: mode,
				TaskRoleArn:          aws.String("arn:aws:iam::000000000000:role/app-" + string(mode)),
				ContainerDefinitions: []types.ContainerDefinition{app, tinyContainer("side", false, "run")}}
			run := &ecs.RunTaskInput{TaskDefinition: aws.String(family)}
			if mode == types.NetworkModeAwsvpc {
				in.Cpu, in.Memory = aws.String("256"), aws.String("512")
				run.NetworkConfiguration = awsvpc
			}
			registerTD(t, c, in)
			task := runOne(t, c, run)
			arn := aws.ToString(task.TaskArn)
			got := waitTask(t, c, arn, "running", isRunning)
			taskID := arn[strings.LastIndex(arn, "/")+1:]
			dump := readDump(t, dir, taskID, "app")
			described := describeTasks(t, c, "default", arn)[0]
			checkMetadata(t, dump, described, got, mode)

			// Credentials, as an SDK reads them, for host-mode containers
			// (their endpoint is on loopback, which the SDKs accept).
			if mode == types.NetworkModeHost {
				env := containerEnv(t, aws.ToString(containerNamed(described, "app").RuntimeId))
				p := endpointcreds.New(env["AWS_CONTAINER_CREDENTIALS_FULL_URI"], func(o *endpointcreds.Options) {
					o.AuthorizationToken = env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
				})
				creds, err := p.Retrieve(t.Context())
				if err != nil {
					t.Fatalf("the SDK's endpoint credentials provider: %v", err)
				}
				var fromInside struct{ AccessKeyId string }
				json.Unmarshal(dump.Credentials.Body, &fromInside)
				if creds.AccessKeyID != fromInside.AccessKeyId || creds.SecretAccessKey == "" || creds.SessionToken == "" || !creds.CanExpire {
					t.Errorf("SDK credentials %+v, the container saw %s", creds, dump.Credentials.Body)
				}
			}
			stopTask(t, c, arn)
		})
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// containerEnv is a container's environment as Docker has it.
func containerEnv(t *testing.T, id string) map[string]string {
	t.Helper()
	cli, _ := docker(t)
	in, err := cli.ContainerInspect(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range in.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

func checkMetadata(t *testing.T, dump metadataDump, task, running types.Task, mode types.NetworkMode) {
	t.Helper()
	if dump.Container.Status != 200 || dump.Task.Status != 200 || dump.Stats.Status != 200 || dump.TaskStats.Status != 200 {
		t.Fatalf("statuses: container %d %s, task %d %s, stats %d %s, task stats %d %s", dump.Container.Status, dump.Container.Error,
			dump.Task.Status, dump.Task.Error, dump.Stats.Status, dump.Stats.Error, dump.TaskStats.Status, dump.TaskStats.Error)
	}
	type port struct {
		ContainerPort, HostPort int
		Protocol, HostIp        string
	}
	type network struct {
		NetworkMode     string
		IPv4Addresses   []string
		AttachmentIndex *int
		MACAddress      string
		PrivateDNSName  string
	}
	type containerMD struct {
		DockerId, Name, DockerName, Image, ImageID, DesiredStatus, KnownStatus, Type, ContainerARN, LogDriver string
		Labels                                                                                                map[string]string
		LogOptions                                                                                            map[string]string
		Limits                                                                                                struct {
			CPU    float64
			Memory int64
		}
		CreatedAt, StartedAt *time.Time
		Ports                []port
		Networks             []network
		Health               *struct{ Status string }
	}
	var cm containerMD
	if err := json.Unmarshal(dump.Container.Body, &cm); err != nil {
		t.Fatalf("container metadata: %v\n%s", err, dump.Container.Body)
	}
	app := containerNamed(task, "app")
	want := map[string][2]string{
		"DockerId":      {cm.DockerId, aws.ToString(app.RuntimeId)},
		"Name":          {cm.Name, "app"},
		"Image":         {cm.Image, aws.ToString(app.Image)},
		"ImageID":       {cm.ImageID, aws.ToString(app.ImageDigest)},
		"ContainerARN":  {cm.ContainerARN, aws.ToString(app.ContainerArn)},
		"DesiredStatus": {cm.DesiredStatus, "RUNNING"},
		"KnownStatus":   {cm.KnownStatus, "RUNNING"},
		"Type":          {cm.Type, "NORMAL"},
		"LogDriver":     {cm.LogDriver, "awslogs"},
		"task-arn":      {cm.Labels["com.amazonaws.ecs.task-arn"], aws.ToString(task.TaskArn)},
		"family":        {cm.Labels["com.amazonaws.ecs.task-definition-family"], "md-" + string(mode)},
		"docker label":  {cm.Labels["team"], "blue"},
		"log option":    {cm.LogOptions["awslogs-group"], "/ecs/md"},
	}
	for k, v := range want {
		if v[0] != v[1] {
			t.Errorf("container metadata %s = %q, want %q", k, v[0], v[1])
		}
	}
	if !strings.HasPrefix(cm.DockerName, "ecsd-") || cm.Limits.CPU != 128 || cm.Limits.Memory != 64 || cm.CreatedAt == nil || cm.StartedAt == nil {
		t.Errorf("container metadata: DockerName %q, limits %+v, created %v, started %v", cm.DockerName, cm.Limits, cm.CreatedAt, cm.StartedAt)
	}
	if cm.Health == nil {
		t.Errorf("container with a health check: no Health")
	}
	if len(cm.Networks) != 1 || cm.Networks[0].NetworkMode != string(mode) {
		t.Fatalf("Networks %+v, want one %s network", cm.Networks, mode)
	}
	switch mode {
	case types.NetworkModeAwsvpc:
		n := cm.Networks[0]
		ip := aws.ToString(app.NetworkInterfaces[0].PrivateIpv4Address)
		if len(n.IPv4Addresses) != 1 || n.IPv4Addresses[0] != ip || n.MACAddress == "" || n.PrivateDNSName == "" || n.AttachmentIndex == nil {
			t.Errorf("awsvpc network %+v, want the task's interface %s", n, ip)
		}
		if len(cm.Ports) != 1 || cm.Ports[0].ContainerPort != 8080 || cm.Ports[0].HostPort != 8080 {
			t.Errorf("awsvpc ports %+v", cm.Ports)
		}
	case types.NetworkModeBridge:
		b := app.NetworkBindings[0]
		if len(cm.Ports) != 1 || cm.Ports[0].HostPort != int(aws.ToInt32(b.HostPort)) || cm.Ports[0].HostIp != aws.ToString(b.BindIP) || cm.Ports[0].Protocol != "tcp" {
			t.Errorf("bridge ports %+v, DescribeTasks %+v", cm.Ports, b)
		}
		if len(cm.Networks[0].IPv4Addresses) != 1 || !strings.HasPrefix(cm.Networks[0].IPv4Addresses[0], "172.") {
			t.Errorf("bridge network %+v, want the container's bridge address", cm.Networks[0])
		}
	}

	var tm struct {
		Cluster, TaskARN, Family, Revision, DesiredStatus, KnownStatus, AvailabilityZone, LaunchType string
		PullStartedAt, PullStoppedAt                                                                 *time.Time
		Limits                                                                                       *struct {
			CPU    float64
			Memory int64
		}
		Containers []containerMD
	}
	if err := json.Unmarshal(dump.Task.Body, &tm); err != nil {
		t.Fatal(err)
	}
	if tm.TaskARN != aws.ToString(task.TaskArn) || tm.Cluster != aws.ToString(task.ClusterArn) || tm.Family != "md-"+string(mode) ||
		tm.Revision != "1" || tm.KnownStatus != "RUNNING" || tm.DesiredStatus != "RUNNING" || tm.LaunchType != string(task.LaunchType) ||
		tm.AvailabilityZone != aws.ToString(task.AvailabilityZone) || len(tm.Containers) != 2 {
		t.Errorf("task metadata %s\nDescribeTasks %+v", dump.Task.Body, task)
	}
	if tm.PullStartedAt == nil || !tm.PullStartedAt.Equal(*task.PullStartedAt) || tm.PullStoppedAt == nil || !tm.PullStoppedAt.Equal(*task.PullStoppedAt) {
		t.Errorf("pull times %v %v, DescribeTasks %v %v", tm.PullStartedAt, tm.PullStoppedAt, task.PullStartedAt, task.PullStoppedAt)
	}
	if mode == types.NetworkModeAwsvpc && (tm.Limits == nil || tm.Limits.CPU != 0.25 || tm.Limits.Memory != 512) {
		t.Errorf("task limits %+v, want 0.25 vCPU and 512 MiB", tm.Limits)
	}

	var stats struct {
		Read        time.Time `json:"read"`
		MemoryStats struct {
			Usage uint64 `json:"usage"`
		} `json:"memory_stats"`
	}
	if err := json.Unmarshal(dump.Stats.Body, &stats); err != nil || stats.Read.IsZero() || stats.MemoryStats.Usage == 0 {
		t.Errorf("stats %s: %v", dump.Stats.Body, err)
	}
	var taskStats map[string]json.RawMessage
	json.Unmarshal(dump.TaskStats.Body, &taskStats)
	if _, ok := taskStats[aws.ToString(app.RuntimeId)]; !ok || len(taskStats) != 2 {
		t.Errorf("task stats keys: %d, want both containers by Docker ID", len(taskStats))
	}

	var creds struct{ RoleArn, AccessKeyId, SecretAccessKey, Token, Expiration string }
	if err := json.Unmarshal(dump.Credentials.Body, &creds); err != nil || dump.Credentials.Status != 200 {
		t.Fatalf("credentials: %d %s %v", dump.Credentials.Status, dump.Credentials.Body, err)
	}
	exp, err := time.Parse(time.RFC3339, creds.Expiration)
	if creds.RoleArn != aws.ToString(running.Overrides.TaskRoleArn) && creds.RoleArn != "arn:aws:iam::000000000000:role/app-"+string(mode) ||
		!strings.HasPrefix(creds.AccessKeyId, "ASIA") || len(creds.AccessKeyId) != 20 || creds.SecretAccessKey == "" || creds.Token == "" ||
		err != nil || time.Until(exp) < 4*time.Hour {
		t.Errorf("credentials %+v", creds)
	}
	if dump.CredentialsWithoutToken.Status != http.StatusUnauthorized {
		t.Errorf("credentials without the authorization token: %d, want 401", dump.CredentialsWithoutToken.Status)
	}
}
