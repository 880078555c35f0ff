//go:build unix

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// terraformPluginDir is where this machine keeps the AWS provider: there is
// no registry access, so `terraform init` installs from this directory.
// ECSD_TF_PLUGIN_DIR overrides it.
const terraformPluginDir = "/opt/tf-plugins"

// TestTerraform deploys e2e/terraform/main.tf (cluster, Fargate task
// definition, service with wait_for_steady_state) with Terraform's AWS
// provider, proves that reading everything back shows no drift, rolls a
// new revision and scales, then destroys it all.
func TestTerraform(t *testing.T) {
	t.Parallel()
	tf, plugins := terraformPlugins(t)
	srv := startServer(t)
	run := terraformRunner(t, tf, srv, filepath.Join("..", "..", "e2e", "terraform", "main.tf"))

	run(0, "init", "-no-color", "-plugin-dir="+plugins)
	run(0, "apply", "-no-color", "-auto-approve")
	// Exit code 0 from plan -detailed-exitcode means no changes: every
	// attribute Terraform wrote reads back the same from ecsd.
	run(0, "plan", "-no-color", "-detailed-exitcode")

	c := srv.defaultClient()
	svc := describeOneService(t, c, "tf-cluster", "tf-web")
	if svc.RunningCount != 2 || len(svc.Deployments) != 1 {
		t.Fatalf("after apply: runningCount %d, %d deployments; want 2 running and one deployment", svc.RunningCount, len(svc.Deployments))
	}

	// A new image is a new revision: Terraform registers it, updates the
	// service, waits for the rollout, and deregisters the old revision.
	run(0, "apply", "-no-color", "-auto-approve", "-var", "image=public.ecr.aws/nginx/nginx:1.28", "-var", "desired_count=3")
	run(0, "plan", "-no-color", "-detailed-exitcode", "-var", "image=public.ecr.aws/nginx/nginx:1.28", "-var", "desired_count=3")
	svc = describeOneService(t, c, "tf-cluster", "tf-web")
	if svc.RunningCount != 3 || len(svc.Deployments) != 1 || !strings.HasSuffix(aws.ToString(svc.TaskDefinition), ":2") {
		t.Fatalf("after the update: runningCount %d, %d deployments, task definition %s; want 3, 1, revision 2",
			svc.RunningCount, len(svc.Deployments), aws.ToString(svc.TaskDefinition))
	}

	run(0, "destroy", "-no-color", "-auto-approve", "-var", "image=public.ecr.aws/nginx/nginx:1.28", "-var", "desired_count=3")
	out, err := c.DescribeClusters(t.Context(), &ecs.DescribeClustersInput{Clusters: []string{"tf-cluster"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Clusters) == 1 && aws.ToString(out.Clusters[0].Status) != "INACTIVE" {
		t.Fatalf("after destroy the cluster is %s, want INACTIVE or missing", aws.ToString(out.Clusters[0].Status))
	}
}

// terraformRunner copies one Terraform configuration into a fresh
// directory and returns a function that runs terraform there against srv,
// checking its exit code.
func terraformRunner(t *testing.T, tf string, srv *ecsd, mainTF string) func(wantCode int, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile(mainTF)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(wantCode int, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, tf, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(),
			"TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1",
			"TF_DATA_DIR="+filepath.Join(dir, ".terraform"),
			"TF_VAR_endpoint="+srv.URL(),
			// The provider must reach nothing but ecsd.
			"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out.Bytes())
		}
		t.Logf("terraform %s: %v", args[0], time.Since(start).Round(time.Millisecond))
		if code != wantCode {
			t.Fatalf("terraform %s exited %d, want %d:\n%s", strings.Join(args, " "), code, wantCode, out.Bytes())
		}
		return out.String()
	}

	return run
}

// terraformPlugins finds terraform and the AWS provider, or skips.
func terraformPlugins(t *testing.T) (tf, plugins string) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping Terraform in -short mode: it takes about 30s")
	}
	tf, err := exec.LookPath("terraform")
	if err != nil {
		t.Skipf("skipping: terraform is not installed: %v", err)
	}
	plugins = terraformPluginDir
	if d := os.Getenv("ECSD_TF_PLUGIN_DIR"); d != "" {
		plugins = d
	}
	if _, err := os.Stat(filepath.Join(plugins, "registry.terraform.io", "hashicorp", "aws")); err != nil {
		t.Skipf("skipping: no hashicorp/aws provider under %s (set ECSD_TF_PLUGIN_DIR): %v", plugins, err)
	}
	return tf, plugins
}

// TestTerraformCapacityProvider deploys e2e/terraform/capacity/main.tf: a
// capacity provider with managed scaling, the cluster's capacity
// providers and an EC2 service on them, with ordered placement strategies
// and placement constraints, that waits for a steady state while the
// simulated group scales out from 0; the service reads back its placement
// as AWS stores it and its tasks obey it; a second plan shows no drift;
// scaled to 0 the group empties; destroy removes everything.
func TestTerraformCapacityProvider(t *testing.T) {
	t.Parallel()
	tf, plugins := terraformPlugins(t)
	srv := startServer(t, withScaling(50*time.Millisecond, 50*time.Millisecond))
	run := terraformRunner(t, tf, srv, filepath.Join("..", "..", "e2e", "terraform", "capacity", "main.tf"))
	run(0, "init", "-no-color", "-plugin-dir="+plugins)
	run(0, "apply", "-no-color", "-auto-approve")
	run(0, "plan", "-no-color", "-detailed-exitcode")

	c := srv.defaultClient()
	svc := describeOneService(t, c, "tf-ec2", "tf-ec2-web")
	if svc.RunningCount != 3 {
		t.Fatalf("after apply: runningCount %d, want 3", svc.RunningCount)
	}
	if n := len(providerInstances(t, c, "tf-ec2")["tf-asg"]); n < 3 {
		t.Fatalf("after apply: %d instances of the group, want at least 3 (distinctInstance: one task an instance)", n)
	}
	assertTerraformPlacement(t, c, svc)

	run(0, "apply", "-no-color", "-auto-approve", "-var", "desired_count=0")
	run(0, "plan", "-no-color", "-detailed-exitcode", "-var", "desired_count=0")
	waitFor(t, 20*time.Second, "the group back to 0 instances", func() error {
		if n := len(providerInstances(t, c, "tf-ec2")["tf-asg"]); n != 0 {
			return fmt.Errorf("%d instances left", n)
		}
		return nil
	})

	run(0, "destroy", "-no-color", "-auto-approve", "-var", "desired_count=0")
	d, err := c.DescribeCapacityProviders(t.Context(), &ecs.DescribeCapacityProvidersInput{CapacityProviders: []string{"tf-asg"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.CapacityProviders) != 1 || d.CapacityProviders[0].Status != types.CapacityProviderStatusInactive {
		t.Fatalf("after destroy: %+v", d)
	}
}

// assertTerraformPlacement checks the placement of the capacity example's
// service: its strategies and constraints as DescribeServices returns them
// (binpack's memory reads back as MEMORY, as on AWS), and its running
// tasks each on its own c5 instance.
func assertTerraformPlacement(t *testing.T, c *ecs.Client, svc types.Service) {
	t.Helper()
	var strategies []string
	for _, s := range svc.PlacementStrategy {
		strategies = append(strategies, string(s.Type)+" "+aws.ToString(s.Field))
	}
	if got, want := strings.Join(strategies, ", "), "spread attribute:ecs.availability-zone, binpack MEMORY"; got != want {
		t.Errorf("placementStrategy %q, want %q", got, want)
	}
	constraints := map[string]bool{}
	for _, pc := range svc.PlacementConstraints {
		constraints[string(pc.Type)+" "+aws.ToString(pc.Expression)] = true
	}
	if len(constraints) != 2 || !constraints["memberOf attribute:ecs.instance-type =~ c5.*"] || !constraints["distinctInstance "] {
		t.Errorf("placementConstraints %+v, want memberOf attribute:ecs.instance-type =~ c5.* and distinctInstance", svc.PlacementConstraints)
	}

	cluster := aws.ToString(svc.ClusterArn)
	list, err := c.ListTasks(t.Context(), &ecs.ListTasksInput{Cluster: &cluster, ServiceName: svc.ServiceName, DesiredStatus: types.DesiredStatusRunning})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.TaskArns) != 3 {
		t.Fatalf("service has %d running tasks, want 3", len(list.TaskArns))
	}
	tasks, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: &cluster, Tasks: list.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	instanceType := map[string]string{}
	for _, ci := range providerInstances(t, c, cluster)["tf-asg"] {
		for _, a := range ci.Attributes {
			if aws.ToString(a.Name) == "ecs.instance-type" {
				instanceType[aws.ToString(ci.ContainerInstanceArn)] = aws.ToString(a.Value)
			}
		}
	}
	seen := map[string]bool{}
	for _, task := range tasks.Tasks {
		ci := aws.ToString(task.ContainerInstanceArn)
		if seen[ci] {
			t.Errorf("two tasks on %s despite distinctInstance", ci)
		}
		seen[ci] = true
		if it := instanceType[ci]; !strings.HasPrefix(it, "c5.") {
			t.Errorf("task %s on %s of instance type %q, want c5.*", aws.ToString(task.TaskArn), ci, it)
		}
	}
}

func describeOneService(t *testing.T, c *ecs.Client, cluster, name string) types.Service {
	t.Helper()
	out, err := c.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: &cluster, Services: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Services) != 1 {
		t.Fatalf("DescribeServices %s/%s: %d services, failures %+v", cluster, name, len(out.Services), out.Failures)
	}
	return out.Services[0]
}

// TestTerraformImport: `terraform import` of a cluster, a service and a
// task definition made outside Terraform, with the README's provider
// block. Its skip_requesting_account_id makes the provider ask for
// arn:aws:ecs:us-east-1::cluster/NAME, which must find the caller's
// cluster; afterwards a plan shows the imported state matches.
func TestTerraformImport(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipping Terraform in -short mode")
	}
	tf, err := exec.LookPath("terraform")
	if err != nil {
		t.Skipf("skipping: terraform is not installed: %v", err)
	}
	plugins := terraformPluginDir
	if d := os.Getenv("ECSD_TF_PLUGIN_DIR"); d != "" {
		plugins = d
	}
	if _, err := os.Stat(filepath.Join(plugins, "registry.terraform.io", "hashicorp", "aws")); err != nil {
		t.Skipf("skipping: no hashicorp/aws provider under %s (set ECSD_TF_PLUGIN_DIR): %v", plugins, err)
	}
	srv := startServer(t)
	c := srv.defaultClient()
	ctx := t.Context()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("tf-import")}); err != nil {
		t.Fatal(err)
	}
	td, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("tf-import"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx"),
			Memory: aws.Int32(128), Essential: aws.Bool(true)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("tf-import"), ServiceName: aws.String("tf-import"),
		TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join("..", "..", "e2e", "terraform-import", "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, tf, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(),
			"TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1",
			"TF_DATA_DIR="+filepath.Join(dir, ".terraform"),
			"TF_VAR_endpoint="+srv.URL(),
			"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("init", "-no-color", "-plugin-dir="+plugins)
	run("import", "-no-color", "aws_ecs_cluster.imported", "tf-import")
	run("import", "-no-color", "aws_ecs_service.imported", "tf-import/tf-import")
	run("import", "-no-color", "aws_ecs_task_definition.imported", *td.TaskDefinition.TaskDefinitionArn)
	state := run("state", "list")
	for _, want := range []string{"aws_ecs_cluster.imported", "aws_ecs_service.imported", "aws_ecs_task_definition.imported"} {
		if !strings.Contains(state, want) {
			t.Errorf("state lacks %s:\n%s", want, state)
		}
	}
	show := run("state", "show", "-no-color", "aws_ecs_cluster.imported")
	if !strings.Contains(show, "arn:aws:ecs:us-east-1:"+defaultAccount+":cluster/tf-import") {
		t.Errorf("imported cluster's state lacks its full ARN:\n%s", show)
	}
}
