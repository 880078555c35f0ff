// Command scheduler measures how fast an ECS endpoint takes a burst of
// services to a steady state, and how DescribeServices latency holds up
// while it does. It speaks only the public ECS API (aws-sdk-go-v2), so the
// same run measures ecsd and a peer such as moto_server.
//
//	go run ./bench/scheduler -endpoint http://127.0.0.1:8080 -services 1000 -tasks 5
//
// "Steady" is the services-stable waiter's rule: every service has exactly
// one deployment and runningCount == desiredCount.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/sdkhttp"
)

func main() {
	endpoint := flag.String("endpoint", "http://127.0.0.1:8080", "ECS endpoint")
	label := flag.String("label", "", "name printed in the result line (default: the endpoint)")
	services := flag.Int("services", 100, "services to create")
	tasks := flag.Int("tasks", 5, "desired count of each service")
	workers := flag.Int("c", 16, "concurrent CreateService callers")
	timeout := flag.Duration("timeout", 5*time.Minute, "give up after this long")
	cluster := flag.String("cluster", "bench", "cluster to create the services in")
	flag.Parse()
	if *label == "" {
		*label = *endpoint
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, *label, *endpoint, *cluster, *services, *tasks, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "scheduler bench:", err)
		os.Exit(1)
	}
}

func client(endpoint string) *ecs.Client {
	return ecs.New(ecs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDBENCH", "secret", ""),
		// Count every failure: a retry would hide an overloaded server.
		RetryMaxAttempts: 1,
		// Without it the SDK now and then closes its own connection when
		// a fast server answers ("use of closed network connection" on a
		// 200), a failure of the client, not the endpoint: see sdkhttp.
		HTTPClient: sdkhttp.Client(),
	})
}

func run(ctx context.Context, label, endpoint, cluster string, nServices, nTasks, workers int) error {
	c := client(endpoint)
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: &cluster}); err != nil {
		return fmt.Errorf("CreateCluster: %w", err)
	}
	td, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("bench"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("public.ecr.aws/docker/library/busybox:latest"),
			Memory: aws.Int32(64), Essential: aws.Bool(true),
		}},
	})
	if err != nil {
		return fmt.Errorf("RegisterTaskDefinition: %w", err)
	}
	names := make([]string, nServices)
	for i := range names {
		names[i] = fmt.Sprintf("svc-%05d", i)
	}

	// Latency probe: one caller describing 10 services at a time, for as
	// long as the burst takes to settle.
	probeCtx, stopProbe := context.WithCancel(ctx)
	var lat []time.Duration
	var probeErrs atomic.Int64
	var firstProbeErr atomic.Value
	var probeWG sync.WaitGroup
	probeWG.Add(1)
	go func() {
		defer probeWG.Done()
		for i := 0; probeCtx.Err() == nil; i++ {
			start := time.Now()
			batch := names[(i*10)%nServices : min((i*10)%nServices+10, nServices)]
			_, err := c.DescribeServices(probeCtx, &ecs.DescribeServicesInput{Cluster: &cluster, Services: batch})
			if err != nil {
				if probeCtx.Err() == nil {
					probeErrs.Add(1)
					firstProbeErr.CompareAndSwap(nil, err.Error())
				}
				continue
			}
			lat = append(lat, time.Since(start))
		}
	}()

	start := time.Now()
	var createErrs atomic.Int64
	var firstErr atomic.Value
	next := make(chan string)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range next {
				_, err := c.CreateService(ctx, &ecs.CreateServiceInput{
					Cluster: &cluster, ServiceName: aws.String(name),
					TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(int32(nTasks)),
				})
				if err != nil {
					createErrs.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	for _, n := range names {
		next <- n
	}
	close(next)
	wg.Wait()
	created := time.Since(start)
	if n := createErrs.Load(); n > 0 {
		stopProbe()
		probeWG.Wait()
		return fmt.Errorf("%d CreateService calls failed, first: %v", n, firstErr.Load())
	}

	_, err = waitSteady(ctx, c, cluster, names)
	steady := time.Since(start) // from the first CreateService
	stopProbe()
	probeWG.Wait()
	if err != nil {
		return err
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	fmt.Printf("%-10s services=%d tasks/service=%d  create burst %7.2fs  steady after %7.2fs  DescribeServices(10) n=%d p50=%.1fms p99=%.1fms max=%.1fms errors=%d\n",
		label, nServices, nTasks, created.Seconds(), steady.Seconds(), len(lat),
		ms(pct(0.50)), ms(pct(0.99)), ms(pct(1)), probeErrs.Load())
	if e := firstProbeErr.Load(); e != nil {
		fmt.Printf("%-10s first DescribeServices error: %s\n", label, e)
	}
	return nil
}

// waitSteady polls until every service is steady and returns the time since
// the burst started.
func waitSteady(ctx context.Context, c *ecs.Client, cluster string, names []string) (time.Duration, error) {
	start := time.Now()
	pending := slices.Clone(names)
	for len(pending) > 0 {
		var still []string
		for i := 0; i < len(pending); i += 10 {
			batch := pending[i:min(i+10, len(pending))]
			out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: &cluster, Services: batch})
			if err != nil {
				if errors.Is(err, context.DeadlineExceeded) {
					return 0, fmt.Errorf("%d services still not steady", len(pending))
				}
				return 0, err
			}
			for _, s := range out.Services {
				if len(s.Deployments) != 1 || s.RunningCount != s.DesiredCount {
					still = append(still, aws.ToString(s.ServiceName))
				}
			}
			for _, f := range out.Failures {
				return 0, fmt.Errorf("service %s: %s", aws.ToString(f.Arn), aws.ToString(f.Reason))
			}
		}
		pending = still
		if len(pending) > 0 {
			select {
			case <-ctx.Done():
				return 0, fmt.Errorf("%d services still not steady: %w", len(pending), ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return time.Since(start), nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
