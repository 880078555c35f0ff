package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/ecsd/ecsd/internal/driver/dockerdriver"
	"github.com/ecsd/ecsd/internal/server"
)

// `ecsd logs` prints a task's container output from the Engine, by the
// data directory of the ecsd that ran it, while it runs or after.
func TestLogsCommand(t *testing.T) {
	ctx := t.Context()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err == nil {
		_, err = cli.Ping(ctx)
	}
	if err != nil {
		t.Skipf("no Docker Engine answers (%v)", err)
	}
	tiny := buildTiny(t, cli)
	dir := t.TempDir()
	scope, _ := server.DockerScope(dir)
	t.Cleanup(func() {
		args := filters.NewArgs(filters.Arg("label", server.LabelDataDir+"="+scope[server.LabelDataDir]))
		cs, _ := cli.ContainerList(context.Background(), container.ListOptions{All: true, Filters: args})
		for _, c := range cs {
			cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
		}
	})
	srv, err := server.Start(ctx, server.Config{Listen: "127.0.0.1:0", DataDir: dir, AccountID: "000000000000", Region: "us-east-1",
		Runtime: server.RuntimeDocker, CreateDefaultCluster: true})
	if err != nil {
		t.Fatal(err)
	}
	// Stopped before the cleanups above (containers, then the data
	// directory) run, also when the test fails before it stops the
	// server itself: its loops would go on writing under the directory.
	var stopOnce sync.Once
	var stopErr error
	stop := func() error {
		stopOnce.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			stopErr = srv.Shutdown(ctx)
		})
		return stopErr
	}
	t.Cleanup(func() { _ = stop() })
	c := ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")})
	_, err = c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("talk"), ContainerDefinitions: []types.ContainerDefinition{
		{Name: aws.String("bad"), Image: aws.String(tiny), Memory: aws.Int32(32), Command: []string{"no-such-mode"},
			LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{"awslogs-group": "g", "awslogs-region": "us-east-1"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("talk")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	w := ecs.NewTasksStoppedWaiter(c, func(o *ecs.TasksStoppedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx, &ecs.DescribeTasksInput{Tasks: []string{arn}}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// By ARN, after ecsd stopped; the flags after the task.
	var stdout, stderr bytes.Buffer
	if err := runLogs(ctx, []string{arn, "--data-dir", dir, "bad"}, &stdout, &stderr); err != nil {
		t.Fatalf("ecsd logs: %v (stderr %q)", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "usage: tiny") || stdout.Len() != 0 {
		t.Errorf("stdout %q, stderr %q; want the container's usage message on stderr", stdout.String(), stderr.String())
	}
	id := arn[strings.LastIndex(arn, "/")+1:]
	for args, want := range map[string]string{
		"--data-dir " + dir + " " + id + " nope":                  "the task has no container \"nope\"",
		"--data-dir " + dir + " 00000000000000000000000000000000": "has no task 00000000000000000000000000000000 (tasks on the simulated runtime have no output)",
		"--data-dir " + t.TempDir() + " " + id:                    "has no task " + id,
		"":                                                        "name a task",
	} {
		err := runLogs(ctx, strings.Fields(args), &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ecsd logs %s: %v, want an error saying %q", args, err, want)
		}
	}
}

func buildTiny(t *testing.T, cli *client.Client) string {
	t.Helper()
	v, err := cli.ServerVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "tiny")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "../../internal/driver/dockerdriver/testdata/tiny")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+v.Arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build tiny: %v\n%s", err, out)
	}
	body, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(body)
	tag := "ecsd-test/tiny:" + hex.EncodeToString(h[:6])
	if _, err := cli.ImageInspect(t.Context(), tag); err != nil {
		if err := dockerdriver.ImportImage(t.Context(), cli, tag, map[string][]byte{"tiny": body}, `ENTRYPOINT ["/tiny"]`); err != nil {
			t.Fatal(err)
		}
	}
	return tag
}

// `ecsd logs` prints an awslogs container's output from the stored
// CloudWatch Logs events, on the simulated runtime, while ecsd runs.
func TestLogsCommandStored(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	srv, err := server.Start(ctx, server.Config{Listen: "127.0.0.1:0", DataDir: dir, AccountID: "000000000000", Region: "us-east-1",
		CreateDefaultCluster: true, SimInstances: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	c := ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")})
	_, err = c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("sim"), ContainerDefinitions: []types.ContainerDefinition{{
		Name: aws.String("app"), Image: aws.String("busybox"), Memory: aws.Int32(32),
		Environment: []types.KeyValuePair{{Name: aws.String("ECSD_SIM_LOG"), Value: aws.String(`one\ntwo\nthree`)}},
		LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
			"awslogs-group": "/ecs/sim", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "p", "awslogs-create-group": "true"}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("sim")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var stdout, stderr bytes.Buffer
		if err := runLogs(ctx, []string{"--data-dir", dir, arn}, &stdout, &stderr); err == nil && stdout.String() == "one\ntwo\nthree\n" {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("ecsd logs: %v, stdout %q stderr %q", err, stdout.String(), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var stdout, stderr bytes.Buffer
	if err := runLogs(ctx, []string{"--data-dir", dir, "--tail", "1", arn, "app"}, &stdout, &stderr); err != nil || stdout.String() != "three\n" {
		t.Fatalf("--tail 1: %v %q", err, stdout.String())
	}
}
