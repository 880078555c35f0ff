package e2e

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ecsd/ecsd/internal/sdkhttp"
	"github.com/ecsd/ecsd/internal/store/sqlitestore"
)

// sent counts the requests a client sent, as the client saw them: the
// operation its X-Amz-Target named and the error type the answer carried
// ("" for success).
type sent struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    map[[2]string]int
}

func (s *sent) RoundTrip(r *http.Request) (*http.Response, error) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	resp, err := s.next.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	s.mu.Lock()
	s.n[[2]string{op, resp.Header.Get("x-amzn-ErrorType")}]++
	s.mu.Unlock()
	return resp, nil
}

func (s *sent) counts() map[[2]string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.n)
}

// countingClient is the official ECS client whose requests s counts.
func (e *ecsd) countingClient(s *sent) *ecs.Client {
	hc := sdkhttp.Client()
	s.next = hc.Transport
	if s.next == nil {
		s.next = http.DefaultTransport
	}
	hc.Transport = s
	return ecs.New(ecs.Options{
		Region:           defaultRegion,
		BaseEndpoint:     aws.String(e.URL()),
		Credentials:      credentials.NewStaticCredentialsProvider(defaultKey, "secret", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       hc,
	})
}

// scrape reads GET /metrics with the Prometheus text parser.
func (e *ecsd) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(e.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("GET /metrics: Content-Type %q", ct)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET /metrics does not parse: %v", err)
	}
	return families
}

// series returns a family's series as label values (in the order names
// gives) -> value: a counter's or gauge's value, a histogram's count.
func series(mf *dto.MetricFamily, names ...string) map[string]float64 {
	out := map[string]float64{}
	if mf == nil {
		return out
	}
	for _, m := range mf.GetMetric() {
		byName := map[string]string{}
		for _, lp := range m.GetLabel() {
			byName[lp.GetName()] = lp.GetValue()
		}
		var key []string
		for _, n := range names {
			key = append(key, byName[n])
		}
		var v float64
		switch {
		case m.Counter != nil:
			v = m.GetCounter().GetValue()
		case m.Gauge != nil:
			v = m.GetGauge().GetValue()
		case m.Histogram != nil:
			v = float64(m.GetHistogram().GetSampleCount())
		case m.Untyped != nil:
			v = m.GetUntyped().GetValue()
		}
		out[strings.Join(key, " ")] += v
	}
	return out
}

// TestMetrics sends known traffic through the official client (good
// calls, calls failing with known codes, tasks run on the simulated
// runtime, a service rolled out), scrapes GET /metrics and checks the
// counts exactly against what the client saw and what the test did.
func TestMetrics(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	var s sent
	s.n = map[[2]string]int{}
	c := e.countingClient(&s)
	ctx := t.Context()
	code := func(err error) string {
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) {
			t.Fatalf("want an API error, got %v", err)
		}
		return apiErr.ErrorCode()
	}

	if _, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("metrics-web"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"), Memory: aws.Int32(64)}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("default")}); err != nil {
		t.Fatal(err)
	}
	run, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("metrics-web"), Count: aws.Int32(3)})
	if err != nil || len(run.Tasks) != 3 {
		t.Fatalf("RunTask: %+v %v", run, err)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("web"),
		TaskDefinition: aws.String("metrics-web"), DesiredCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	// Failures with known codes.
	for range 2 {
		_, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("nope"), Services: []string{"web"}})
		if got := code(err); got != "ClusterNotFoundException" {
			t.Fatalf("DescribeServices in an unknown cluster: %s", got)
		}
	}
	_, err = c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("never-registered")})
	if got := code(err); got != "ClientException" {
		t.Fatalf("RunTask of an unknown revision: %s", got)
	}
	_, err = c.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("bad"), TaskDefinition: aws.String("metrics-web"), DesiredCount: aws.Int32(-1)})
	if got := code(err); got != "InvalidParameterException" {
		t.Fatalf("CreateService with a negative count: %s", got)
	}
	// A target that names no operation: operation "".
	if resp, _ := e.post(t, "NoSuchOperation", "{}"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown operation: status %d", resp.StatusCode)
	}

	// Every task runs and the rollout completes; then one standalone task
	// is stopped.
	all := []string{}
	for _, task := range run.Tasks {
		all = append(all, *task.TaskArn)
	}
	waitFor(t, time.Minute, "the service's rollout completes with its tasks running", func() error {
		d, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{"web"}})
		if err != nil {
			return err
		}
		svc := d.Services[0]
		if len(svc.Deployments) != 1 || svc.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted || svc.RunningCount != 2 {
			return fmt.Errorf("deployments %+v, running %d", svc.Deployments, svc.RunningCount)
		}
		return nil
	})
	l, err := c.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String("web")})
	if err != nil || len(l.TaskArns) != 2 {
		t.Fatalf("ListTasks: %v %v", l, err)
	}
	all = append(all, l.TaskArns...)
	allIn := func(status string, arns []string) error {
		d, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: arns})
		if err != nil {
			return err
		}
		for _, task := range d.Tasks {
			if aws.ToString(task.LastStatus) != status {
				return fmt.Errorf("task %s is %s", *task.TaskArn, aws.ToString(task.LastStatus))
			}
		}
		return nil
	}
	waitFor(t, time.Minute, "all five tasks run", func() error { return allIn("RUNNING", all) })
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Task: run.Tasks[0].TaskArn}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the stopped task is STOPPED", func() error { return allIn("STOPPED", all[:1]) })

	// The API counts are exactly what the client saw. The server counts a
	// request once its answer is written, which a client can read a moment
	// before, so the scrape is retried until they agree.
	want := s.counts()
	want[[2]string{"", "UnknownOperationException"}]++ // the raw request
	for _, k := range [][2]string{
		{"RegisterTaskDefinition", ""}, {"CreateCluster", ""}, {"CreateService", ""}, {"StopTask", ""},
		{"RunTask", "ClientException"}, {"CreateService", "InvalidParameterException"},
	} {
		if want[k] != 1 {
			t.Fatalf("the client saw %d of %v, want 1", want[k], k)
		}
	}
	if want[[2]string{"DescribeServices", "ClusterNotFoundException"}] != 2 || want[[2]string{"RunTask", ""}] != 1 {
		t.Fatalf("the client saw %v", want)
	}
	var m map[string]*dto.MetricFamily
	waitFor(t, 10*time.Second, "the request counts match the client's", func() error {
		m = e.scrape(t)
		got := series(m["ecsd_api_requests_total"], "api", "operation", "error_code")
		wantSeries := map[string]float64{}
		for k, n := range want {
			wantSeries["ecs "+k[0]+" "+k[1]] = float64(n)
		}
		if !maps.Equal(got, wantSeries) {
			return fmt.Errorf("ecsd_api_requests_total %v, want %v", got, wantSeries)
		}
		latency := series(m["ecsd_api_request_duration_seconds"], "operation")
		for op, n := range map[string]float64{"RunTask": 2, "DescribeServices": float64(want[[2]string{"DescribeServices", ""}] + 2)} {
			if latency[op] != n {
				return fmt.Errorf("ecsd_api_request_duration_seconds{operation=%q} has %v samples, want %v", op, latency[op], n)
			}
		}
		return nil
	})

	// State: four tasks running, one stopped, all EC2; one service, its
	// rollout completed.
	if got, want := series(m["ecsd_tasks"], "last_status", "launch_type"), map[string]float64{"RUNNING EC2": 4, "STOPPED EC2": 1}; !maps.Equal(got, want) {
		t.Errorf("ecsd_tasks %v, want %v", got, want)
	}
	if got, want := series(m["ecsd_services"], "status", "rollout_state"), map[string]float64{"ACTIVE COMPLETED": 1}; !maps.Equal(got, want) {
		t.Errorf("ecsd_services %v, want %v", got, want)
	}
	// The runtime started five groups and stopped one; nothing failed.
	ops := series(m["ecsd_runtime_operations_total"], "runtime", "operation")
	if ops["fake start"] != 5 || ops["fake stop"] != 1 || ops["fake inspect"] < 5 {
		t.Errorf("ecsd_runtime_operations_total %v, want 5 starts, 1 stop, inspects", ops)
	}
	if f := series(m["ecsd_runtime_operation_failures_total"], "operation"); len(f) != 0 {
		t.Errorf("ecsd_runtime_operation_failures_total %v, want none", f)
	}
	if n := series(m["ecsd_runtime_operation_duration_seconds"], "operation")["start"]; n != 5 {
		t.Errorf("ecsd_runtime_operation_duration_seconds{operation=start} has %v samples, want 5", n)
	}
	// Both loops ran passes and none failed.
	passes := series(m["ecsd_worker_pass_duration_seconds"], "loop")
	if passes["service_scheduler"] < 1 || passes["task_supervisor"] < 1 {
		t.Errorf("ecsd_worker_pass_duration_seconds %v, want passes of both loops", passes)
	}
	if got, want := series(m["ecsd_worker_pass_failures_total"], "loop"), map[string]float64{"service_scheduler": 0, "task_supervisor": 0}; !maps.Equal(got, want) {
		t.Errorf("ecsd_worker_pass_failures_total %v, want %v", got, want)
	}
	if q := series(m["ecsd_worker_queue_depth"], "loop"); !slices.Equal(slices.Sorted(maps.Keys(q)), []string{"service_scheduler", "task_supervisor"}) {
		t.Errorf("ecsd_worker_queue_depth %v, want the scheduler's and the supervisor's", q)
	}
	if v := series(m["ecsd_log_bytes_stored_total"])[""]; v != 0 {
		t.Errorf("ecsd_log_bytes_stored_total %v, want 0 without awslogs", v)
	}
	// The store: its histogram counts every commit the store counted, and
	// the writes they carried (failed writes too) at least those it counts
	// as durable. Loops may still be committing, so both are read after
	// the scrape and before it.
	before := e.StoreStats().(sqlitestore.Stats)
	m = e.scrape(t)
	after := e.StoreStats().(sqlitestore.Stats)
	commits := m["ecsd_store_commit_writes"].GetMetric()[0].GetHistogram()
	if n := commits.GetSampleCount(); n < before.Commits || n > after.Commits || n == 0 {
		t.Errorf("ecsd_store_commit_writes_count %d, want between the store's %d and %d", n, before.Commits, after.Commits)
	}
	if sum := uint64(commits.GetSampleSum()); sum < before.Writes {
		t.Errorf("ecsd_store_commit_writes_sum %d, want at least the store's %d durable writes", sum, before.Writes)
	}
	if n := m["ecsd_store_commit_duration_seconds"].GetMetric()[0].GetHistogram().GetSampleCount(); n != commits.GetSampleCount() {
		t.Errorf("ecsd_store_commit_duration_seconds has %d samples, ecsd_store_commit_writes %d", n, commits.GetSampleCount())
	}
	if v := m["ecsd_store_commit_failures_total"].GetMetric()[0].GetCounter().GetValue(); v != 0 {
		t.Errorf("ecsd_store_commit_failures_total %v", v)
	}
	// Go's and the process's standard metrics are there.
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if m[name] == nil {
			t.Errorf("%s missing", name)
		}
	}
}

// TestMetricsWithSigV4: with --verify-sigv4 the API refuses an unsigned
// request, and counts it; /metrics answers without a signature, as
// Prometheus scrapes (docs/metrics.md).
func TestMetricsWithSigV4(t *testing.T) {
	t.Parallel()
	e := startServer(t, withSigV4(writeCredentials(t, sigv4Credentials)))
	resp, body := e.post(t, "ListClusters", "{}")
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("x-amzn-ErrorType") != "MissingAuthenticationTokenException" {
		t.Fatalf("unsigned ListClusters: %d %s", resp.StatusCode, body)
	}
	waitFor(t, 10*time.Second, "the refused request is counted", func() error {
		got := series(e.scrape(t)["ecsd_api_requests_total"], "operation", "error_code")
		if want := map[string]float64{"ListClusters MissingAuthenticationTokenException": 1}; !maps.Equal(got, want) {
			return fmt.Errorf("ecsd_api_requests_total %v, want %v", got, want)
		}
		return nil
	})
}

// TestMetricsLogs: CloudWatch Logs requests count under api="logs" (its
// TagResource is not ECS's), and the bytes PutLogEvents stored add up.
func TestMetricsLogs(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	c := e.logsClient()
	ctx := t.Context()
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("/ecs/metrics")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("/ecs/metrics"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	msgs := []string{"hello", "metrics world"}
	var events []cwltypes.InputLogEvent
	for _, m := range msgs {
		events = append(events, cwltypes.InputLogEvent{Message: aws.String(m), Timestamp: aws.Int64(now)})
	}
	if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("/ecs/metrics"), LogStreamName: aws.String("s"), LogEvents: events}); err != nil {
		t.Fatal(err)
	}
	_, err := c.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("/nope")})
	if err == nil {
		t.Fatal("DescribeLogStreams of a missing group succeeded")
	}
	m := e.scrape(t)
	if got, want := series(m["ecsd_log_bytes_stored_total"])[""], float64(len(msgs[0])+len(msgs[1])); got != want {
		t.Errorf("ecsd_log_bytes_stored_total %v, want %v", got, want)
	}
	got := series(m["ecsd_api_requests_total"], "api", "operation", "error_code")
	want := map[string]float64{
		"logs CreateLogGroup ":                              1,
		"logs CreateLogStream ":                             1,
		"logs PutLogEvents ":                                1,
		"logs DescribeLogStreams ResourceNotFoundException": 1,
	}
	if !maps.Equal(got, want) {
		t.Errorf("ecsd_api_requests_total %v, want %v", got, want)
	}
}
