package ecsdtest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/testcontainers/testcontainers-go"

	"github.com/ecsd/ecsd/ecsdtest"
)

func TestMain(m *testing.M) {
	// No registry here: the reaper image cannot be pulled. Tests
	// Terminate what they start instead.
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	// These machines have a /.dockerenv while their Engine is local (its
	// socket, its published ports on this network namespace), so
	// testcontainers would look for published ports at the default
	// gateway.
	if os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") == "" {
		os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
	}
	os.Exit(m.Run())
}

// image builds ecsd's image from this checkout, tagged for this run, and
// removes it when the test ends.
func image(t *testing.T) string {
	t.Helper()
	if err := exec.Command("docker", "info").Run(); err != nil {
		t.Skipf("skipping: no Docker Engine answers (docker info: %v)", err)
	}
	tag := "ecsd-e2e/ecsdtest:" + strconv.Itoa(os.Getpid())
	script, err := filepath.Abs(filepath.Join("..", "deploy", "docker", "build-image.sh"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), "bash", script, tag).CombinedOutput()
	if err != nil {
		t.Fatalf("build-image.sh: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
	return tag
}

func TestRun(t *testing.T) {
	ctx := t.Context()
	tag := image(t)
	label := "ecsdtest-" + strconv.Itoa(os.Getpid())
	c, err := ecsdtest.Run(ctx, ecsdtest.WithImage(tag), ecsdtest.WithEnv("ECSD_SIM_DELAY", "100ms"),
		ecsdtest.WithLabel("ecsd.test", label))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Also when the test fails: nothing it started stays behind.
		_ = testcontainers.TerminateContainer(c)
		out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=ecsd.test="+label).Output()
		for _, id := range strings.Fields(string(out)) {
			_ = exec.Command("docker", "rm", "-f", id).Run()
		}
	})
	if !strings.HasPrefix(c.URL(), "http://") {
		t.Fatalf("URL() = %q, want an http URL", c.URL())
	}

	client := ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String(c.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")})
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("ci")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("job"), RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"),
			Environment: []types.KeyValuePair{{Name: aws.String("ECSD_SIM_RUN_SECONDS"), Value: aws.String("0.2")},
				{Name: aws.String("ECSD_SIM_EXIT_CODE"), Value: aws.String("3")}}}},
	}); err != nil {
		t.Fatal(err)
	}
	run, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("ci"), TaskDefinition: aws.String("job"),
		LaunchType: types.LaunchTypeFargate, NetworkConfiguration: &types.NetworkConfiguration{
			AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-0123456789abcdef0"}}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(run.Tasks[0].TaskArn)
	w := ecs.NewTasksStoppedWaiter(client, func(o *ecs.TasksStoppedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 500*time.Millisecond
	})
	out, err := w.WaitForOutput(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("ci"), Tasks: []string{arn}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	task := out.Tasks[0]
	if task.StopCode != types.TaskStopCodeEssentialContainerExited || aws.ToInt32(task.Containers[0].ExitCode) != 3 {
		t.Errorf("task stopped with %s, exit code %v; want EssentialContainerExited, 3", task.StopCode, task.Containers[0].ExitCode)
	}

	// An error answered by the containerised ecsd is ECS's own.
	_, err = client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("nope:1")})
	var ce *types.ClientException
	if !errors.As(err, &ce) || ce.ErrorMessage() != "Unable to describe task definition." {
		t.Errorf("DescribeTaskDefinition(nope:1) = %v; want ClientException Unable to describe task definition.", err)
	}
	if err := c.Terminate(context.WithoutCancel(ctx)); err != nil {
		t.Fatal(err)
	}
}
