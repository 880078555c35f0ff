// Command idle measures what live tasks cost an ecsd that has nothing to
// do: N tasks are started on the simulated runtime through the public ECS
// API (RunTask, ten at a time, FARGATE so that no container instance
// bounds them), and once they all run and ecsd has settled, the bench
// reads ecsd's CPU time from /proc over a window in which nobody calls it,
// and its Go heap after a forced garbage collection, against the same
// figures taken before the first task.
//
//	go run ./bench/idle -endpoint http://127.0.0.1:8080 -pprof http://127.0.0.1:6060 -pid PID -tasks 100000
//
// The heap is read from /metrics (go_memstats_heap_alloc_bytes) right after
// GET /debug/pprof/heap?gc=1 has collected garbage, so it is the live heap.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ecsd/ecsd/internal/sdkhttp"
)

func main() {
	endpoint := flag.String("endpoint", "http://127.0.0.1:8080", "ecsd endpoint")
	pprof := flag.String("pprof", "http://127.0.0.1:6060", "ecsd's --pprof address, to force a garbage collection")
	pid := flag.Int("pid", 0, "ecsd's process id, to read its CPU time")
	tasks := flag.Int("tasks", 100000, "tasks to run")
	workers := flag.Int("c", 8, "concurrent RunTask callers")
	settle := flag.Duration("settle", 20*time.Second, "wait this long after the last task runs before measuring")
	window := flag.Duration("window", 60*time.Second, "measure idle CPU over this long")
	timeout := flag.Duration("timeout", 2*time.Hour, "give up after this long")
	flag.Parse()
	if *pid == 0 {
		fmt.Fprintln(os.Stderr, "idle bench: -pid is required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, *endpoint, *pprof, *pid, *tasks, *workers, *settle, *window); err != nil {
		fmt.Fprintln(os.Stderr, "idle bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, endpoint, pprof string, pid, nTasks, workers int, settle, window time.Duration) error {
	idle := func(label string, window time.Duration) (cpu float64, heap float64, err error) {
		if cpu, err = idleCPU(ctx, pid, window); err != nil {
			return 0, 0, err
		}
		if heap, err = liveHeap(ctx, endpoint, pprof); err != nil {
			return 0, 0, err
		}
		fmt.Printf("%s: idle CPU %.2f%% of one CPU over %s, live heap %.1f MB\n", label, cpu*100, window, heap/1e6)
		return cpu, heap, nil
	}
	// Empty, nothing is scheduled: a short window says as much.
	_, heap0, err := idle("empty", min(window, 30*time.Second))
	if err != nil {
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
		Family:                  aws.String("bench-idle"),
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
					Cluster: aws.String("bench"), TaskDefinition: aws.String("bench-idle"), Count: aws.Int32(int32(n)),
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
	fmt.Printf("%d RunTask calls answered after %.1fs\n", (nTasks+9)/10, time.Since(began).Seconds())
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
		case <-time.After(time.Second):
		}
	}
	fmt.Printf("%d tasks RUNNING after %.1fs\n", nTasks, time.Since(began).Seconds())
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(settle):
	}
	cpu, heap, err := idle(fmt.Sprintf("%d tasks", nTasks), window)
	if err != nil {
		return err
	}
	fmt.Printf("result: %d tasks: idle CPU %.2f%% of one CPU, heap %.0f bytes per task\n", nTasks, cpu*100, (heap-heap0)/float64(nTasks))
	return nil
}

// idleCPU is the share of one CPU the process used over window (user and
// system time from /proc/PID/stat).
func idleCPU(ctx context.Context, pid int, window time.Duration) (float64, error) {
	t0, err := cpuTime(pid)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(window):
	}
	t1, err := cpuTime(pid)
	if err != nil {
		return 0, err
	}
	return (t1 - t0).Seconds() / time.Since(start).Seconds(), nil
}

// clockTicks is USER_HZ, which is 100 on every Linux ABI Go runs on.
const clockTicks = 100

func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after its
	// closing parenthesis start with the state (field 3).
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cannot parse /proc/%d/stat", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// liveHeap forces a garbage collection, then reads the heap in use.
func liveHeap(ctx context.Context, endpoint, pprof string) (float64, error) {
	if _, err := get(ctx, pprof+"/debug/pprof/heap?gc=1"); err != nil {
		return 0, err
	}
	families, err := metrics(ctx, endpoint)
	if err != nil {
		return 0, err
	}
	f := families["go_memstats_heap_alloc_bytes"]
	if f == nil || len(f.GetMetric()) == 0 {
		return 0, fmt.Errorf("no go_memstats_heap_alloc_bytes in /metrics")
	}
	return f.GetMetric()[0].GetGauge().GetValue(), nil
}

// runningTasks reads ecsd_tasks{last_status="RUNNING"} from a scrape.
func runningTasks(ctx context.Context, endpoint string) (float64, error) {
	families, err := metrics(ctx, endpoint)
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

func metrics(ctx context.Context, endpoint string) (map[string]*dto.MetricFamily, error) {
	body, err := get(ctx, endpoint+"/metrics")
	if err != nil {
		return nil, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(bytes.NewReader(body))
}

func get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return b, nil
}
