// Command dockerrun measures how long a task takes on ecsd's Docker
// runtime from RunTask until DescribeTasks says RUNNING, and from StopTask
// until it says STOPPED, against the same image run bare on the same
// Engine in the same run: the Engine API calls `docker run -d` and
// `docker stop` make, and the docker CLI itself. Runs are sequential, so
// each figure is one task's latency, not throughput.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
)

func main() {
	endpoint := flag.String("endpoint", "", "ecsd's URL")
	image := flag.String("image", "", "the image to run")
	n := flag.Int("n", 20, "runs of each")
	poll := flag.Duration("poll", 5*time.Millisecond, "DescribeTasks polling interval")
	flag.Parse()
	if *endpoint == "" || *image == "" {
		log.Fatal("-endpoint and -image are required")
	}
	ctx := context.Background()
	c := ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String(*endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("default")}); err != nil {
		log.Fatal(err)
	}
	if _, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("bench-docker"), NetworkMode: types.NetworkModeBridge,
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: image, Memory: aws.Int32(32), Essential: aws.Bool(true)}},
	}); err != nil {
		log.Fatal(err)
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		log.Fatal(err)
	}

	var ecsdRun, ecsdStop, apiRun, apiStop, cliRun, cliStop []time.Duration
	for i := 0; i < *n; i++ {
		start := time.Now()
		out, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("bench-docker")})
		if err != nil || len(out.Tasks) != 1 {
			log.Fatalf("RunTask: %v %+v", err, out)
		}
		arn := aws.ToString(out.Tasks[0].TaskArn)
		waitStatus(ctx, c, arn, "RUNNING", *poll)
		ecsdRun = append(ecsdRun, time.Since(start))
		start = time.Now()
		if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Task: aws.String(arn)}); err != nil {
			log.Fatal(err)
		}
		waitStatus(ctx, c, arn, "STOPPED", *poll)
		ecsdStop = append(ecsdStop, time.Since(start))

		// What `docker run -d IMAGE` asks of the Engine: create, start.
		start = time.Now()
		created, err := cli.ContainerCreate(ctx, &container.Config{Image: *image, Labels: map[string]string{"ecsd-bench": "1"}},
			&container.HostConfig{Resources: container.Resources{Memory: 32 << 20}}, nil, nil, "")
		if err != nil {
			log.Fatal(err)
		}
		if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
			log.Fatal(err)
		}
		apiRun = append(apiRun, time.Since(start))
		start = time.Now()
		if err := cli.ContainerStop(ctx, created.ID, container.StopOptions{}); err != nil {
			log.Fatal(err)
		}
		apiStop = append(apiStop, time.Since(start))
		_ = cli.ContainerRemove(ctx, created.ID, container.RemoveOptions{Force: true})

		// The docker CLI, process start-up included.
		start = time.Now()
		id, err := exec.CommandContext(ctx, "docker", "run", "-d", "--label", "ecsd-bench=1", "--memory", "32m", *image).Output()
		if err != nil {
			log.Fatalf("docker run: %v", err)
		}
		cliRun = append(cliRun, time.Since(start))
		start = time.Now()
		if err := exec.CommandContext(ctx, "docker", "stop", strings.TrimSpace(string(id))).Run(); err != nil {
			log.Fatalf("docker stop: %v", err)
		}
		cliStop = append(cliStop, time.Since(start))
		_ = exec.CommandContext(ctx, "docker", "rm", "-f", strings.TrimSpace(string(id))).Run()
	}

	fmt.Printf("\n%d sequential runs of each; times in milliseconds\n\n", *n)
	fmt.Println("| what | median | p90 | max |")
	fmt.Println("|---|---|---|---|")
	row := func(name string, ds []time.Duration) {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		ms := func(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond)) }
		fmt.Printf("| %s | %s | %s | %s |\n", name, ms(ds[len(ds)/2]), ms(ds[len(ds)*9/10]), ms(ds[len(ds)-1]))
	}
	row("ecsd: RunTask until DescribeTasks says RUNNING", ecsdRun)
	row("Engine API: create + start (what `docker run -d` does)", apiRun)
	row("docker CLI: `docker run -d`", cliRun)
	row("ecsd: StopTask until DescribeTasks says STOPPED", ecsdStop)
	row("Engine API: stop", apiStop)
	row("docker CLI: `docker stop`", cliStop)
	os.Exit(0)
}

func waitStatus(ctx context.Context, c *ecs.Client, arn, want string, poll time.Duration) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{arn}})
		if err != nil {
			log.Fatal(err)
		}
		if len(out.Tasks) == 1 {
			if s := aws.ToString(out.Tasks[0].LastStatus); s == want {
				return
			} else if s == "STOPPED" {
				log.Fatalf("task %s stopped: %s", arn, aws.ToString(out.Tasks[0].StoppedReason))
			}
		}
		if time.Now().After(deadline) {
			log.Fatalf("task %s never reached %s", arn, want)
		}
		time.Sleep(poll)
	}
}
