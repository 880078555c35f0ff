// Command metrics measures what a Prometheus scrape of ecsd's GET /metrics
// costs (latency, bytes) on an empty store and again with N tasks running
// on the simulated runtime, so the two figures show whether the cost grows
// with the store.
//
//	go run ./bench/metrics -endpoint http://127.0.0.1:8080 -tasks 10000 -scrapes 200
//
// Tasks are started through the public ECS API (RunTask, ten at a time,
// FARGATE so that no container instance bounds them), and the scrape
// itself says when they all run (ecsd_tasks).
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ecsd/ecsd/internal/sdkhttp"
)

func main() {
	endpoint := flag.String("endpoint", "http://127.0.0.1:8080", "ecsd endpoint")
	tasks := flag.Int("tasks", 10000, "tasks to run before the second round of scrapes")
	scrapes := flag.Int("scrapes", 200, "scrapes in each round")
	workers := flag.Int("c", 8, "concurrent RunTask callers")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after this long")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, *endpoint, *tasks, *scrapes, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "metrics bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, endpoint string, nTasks, nScrapes, workers int) error {
	if err := round(ctx, endpoint, "empty store", nScrapes); err != nil {
		return err
	}
	c := ecs.New(ecs.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDBENCH", "secret", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       sdkhttp.Client(),
	})
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("bench")}); err != nil {
		return fmt.Errorf("CreateCluster: %w", err)
	}
	if _, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String("bench-metrics"),
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		NetworkMode:             types.NetworkModeAwsvpc,
		Cpu:                     aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("public.ecr.aws/docker/library/busybox:latest"), Essential: aws.Bool(true),
		}},
	}); err != nil {
		return fmt.Errorf("RegisterTaskDefinition: %w", err)
	}
	began := time.Now()
	calls := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range calls {
				_, err := c.RunTask(ctx, &ecs.RunTaskInput{
					Cluster: aws.String("bench"), TaskDefinition: aws.String("bench-metrics"), Count: aws.Int32(int32(n)),
					LaunchType: types.LaunchTypeFargate,
					NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
						Subnets: []string{"subnet-0123456789abcdef0"},
					}},
				})
				if err != nil {
					errs <- fmt.Errorf("RunTask: %w", err)
					return
				}
			}
		}()
	}
feed:
	for left := nTasks; left > 0; left -= 10 {
		select {
		case calls <- min(left, 10):
		case err := <-errs:
			close(calls)
			wg.Wait()
			return err
		case <-ctx.Done():
			break feed
		}
	}
	close(calls)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	for {
		running, err := runningTasks(ctx, endpoint)
		if err != nil {
			return err
		}
		if running >= float64(nTasks) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%v RUNNING after %s: %w", running, time.Since(began), ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
	fmt.Printf("%d tasks RUNNING after %.1fs\n", nTasks, time.Since(began).Seconds())
	return round(ctx, endpoint, fmt.Sprintf("%d tasks", nTasks), nScrapes)
}

// runningTasks reads ecsd_tasks{last_status="RUNNING"} from a scrape.
func runningTasks(ctx context.Context, endpoint string) (float64, error) {
	body, _, err := scrape(ctx, endpoint, false)
	if err != nil {
		return 0, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	var n float64
	for _, m := range families["ecsd_tasks"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "last_status" && l.GetValue() == "RUNNING" {
				n += m.GetGauge().GetValue()
			}
		}
	}
	return n, nil
}

// scrape GETs /metrics as Prometheus does and returns the decoded body
// and the bytes that crossed the wire.
func scrape(ctx context.Context, endpoint string, gzipped bool) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/metrics", nil)
	if err != nil {
		return nil, 0, err
	}
	// Prometheus's own Accept header; an explicit Accept-Encoding turns off
	// the transport's transparent gzip so the wire size can be read.
	req.Header.Set("Accept", "text/plain;version=0.0.4;q=0.9,*/*;q=0.1")
	if gzipped {
		req.Header.Set("Accept-Encoding", "gzip")
	} else {
		req.Header.Set("Accept-Encoding", "identity")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("GET /metrics: %d %s", resp.StatusCode, raw)
	}
	body := raw
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, 0, err
		}
		if body, err = io.ReadAll(zr); err != nil {
			return nil, 0, err
		}
	}
	return body, len(raw), nil
}

// round scrapes n times, one after another (as one Prometheus does), and
// prints the latency distribution and the sizes.
func round(ctx context.Context, endpoint, label string, n int) error {
	var took []time.Duration
	var plain, wire int
	for i := range n {
		gz := i%2 == 1 // half as Prometheus asks (gzip), half plain
		began := time.Now()
		body, size, err := scrape(ctx, endpoint, gz)
		if err != nil {
			return err
		}
		took = append(took, time.Since(began))
		if gz {
			wire = size
		} else {
			plain = len(body)
		}
	}
	slices.Sort(took)
	q := func(p float64) string {
		return fmt.Sprintf("%.2fms", float64(took[min(len(took)-1, int(p*float64(len(took))))].Microseconds())/1000)
	}
	fmt.Printf("%s: %d scrapes: median %s, p90 %s, p99 %s, max %s; body %d bytes, %d gzipped\n",
		label, n, q(0.5), q(0.9), q(0.99), q(1), plain, wire)
	return nil
}
