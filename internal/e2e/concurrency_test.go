package e2e

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// fargateTD registers a Fargate revision of family whose container carries
// marker in its environment.
func fargateTD(t *testing.T, c *ecs.Client, family, marker string) types.TaskDefinition {
	t.Helper()
	out, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"),
			Environment: []types.KeyValuePair{{Name: aws.String("MARKER"), Value: aws.String(marker)}}}},
	})
	if err != nil {
		t.Errorf("RegisterTaskDefinition %s: %v", family, err)
		return types.TaskDefinition{}
	}
	return *out.TaskDefinition
}

// TestConcurrentRegisterDescribeOneFamily: 16 clients register and read one
// family at once. Each client reads its own writes and never sees the
// family's latest revision go backwards; at the end the revisions are
// exactly 1..N and each holds the body its registration sent.
func TestConcurrentRegisterDescribeOneFamily(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	const clients, each = 16, 15
	var mu sync.Mutex
	markers := map[int32]string{}
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := e.defaultClient()
			latest := int32(0)
			for i := range each {
				m := fmt.Sprintf("w%d-%d", w, i)
				td := fargateTD(t, c, "conc", m)
				if td.Revision == 0 {
					return
				}
				mu.Lock()
				if prev, dup := markers[td.Revision]; dup {
					t.Errorf("revision %d acknowledged twice (%s and %s)", td.Revision, prev, m)
				}
				markers[td.Revision] = m
				mu.Unlock()
				out, err := describe(t.Context(), c, "conc")
				if err != nil {
					t.Error(err)
					return
				}
				got := out.TaskDefinition.Revision
				if got < td.Revision {
					t.Errorf("client %d registered conc:%d, then read the latest as conc:%d", w, td.Revision, got)
				}
				if got < latest {
					t.Errorf("client %d read the latest as conc:%d after conc:%d: out of order", w, got, latest)
				}
				latest = got
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	c := e.defaultClient()
	for rev := int32(1); rev <= clients*each; rev++ {
		out, err := describe(t.Context(), c, fmt.Sprintf("conc:%d", rev))
		if err != nil {
			t.Fatalf("conc:%d: %v", rev, err)
		}
		if got := aws.ToString(out.TaskDefinition.ContainerDefinitions[0].Environment[0].Value); got != markers[rev] {
			t.Errorf("conc:%d holds %s, its registration sent %s", rev, got, markers[rev])
		}
	}
	if _, err := describe(t.Context(), c, fmt.Sprintf("conc:%d", clients*each+1)); err == nil {
		t.Errorf("conc:%d exists: more revisions than registrations", clients*each+1)
	}
}

// write is one acknowledged UpdateService: when it was sent and answered.
type write struct {
	value      int32
	start, end time.Time
}

// TestConcurrentUpdateServiceDesiredCount: 8 clients move one service's
// desiredCount at once while 4 more read it. No read is torn (shows half
// of one UpdateService) or shows a value nobody wrote; a writer
// never reads a value older than its own write; and the final value is
// one a write could leave last in real time (no write started after it
// was acknowledged).
func TestConcurrentUpdateServiceDesiredCount(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	c := e.defaultClient()
	svcCluster(t, c, "conc")
	td := fargateTD(t, c, "conc-svc", "svc")
	createService(t, c, &ecs.CreateServiceInput{Cluster: aws.String("conc"), ServiceName: aws.String("svc"),
		TaskDefinition: td.TaskDefinitionArn, DesiredCount: aws.Int32(0), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc})

	const writers, each = 8, 8
	var mu sync.Mutex
	var writes []write
	written := map[int32]bool{0: true}
	for w := range writers {
		for i := range each {
			written[int32(w*each+i)] = true // every value is written by exactly one call
		}
	}
	check := func(who string, s types.Service, notBefore time.Time) {
		// Torn: half of one UpdateService. Each write sets desiredCount v
		// and maximumPercent 200+v together.
		if mp := aws.ToInt32(s.DeploymentConfiguration.MaximumPercent); mp != 200+s.DesiredCount {
			t.Errorf("%s read a torn service: desiredCount %d with maximumPercent %d", who, s.DesiredCount, mp)
		}
		if !written[s.DesiredCount] {
			t.Errorf("%s read desiredCount %d, which nobody wrote", who, s.DesiredCount)
		}
		if notBefore.IsZero() {
			return
		}
		// A writer's read after its own write: the value must come from
		// a write that had not finished before that write began.
		mu.Lock()
		defer mu.Unlock()
		for _, w := range writes {
			if w.value == s.DesiredCount && w.end.Before(notBefore) {
				t.Errorf("%s read desiredCount %d after its own write, but that value's write was acknowledged before its own was sent", who, s.DesiredCount)
			}
		}
	}
	var wg, readers sync.WaitGroup
	done := make(chan struct{})
	for r := range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			rc := e.defaultClient()
			for {
				select {
				case <-done:
					return
				default:
				}
				out, err := rc.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("conc"), Services: []string{"svc"}})
				if err != nil || len(out.Services) != 1 {
					t.Errorf("reader %d: %v", r, err)
					return
				}
				check("reader "+strconv.Itoa(r), out.Services[0], time.Time{})
			}
		}()
	}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wc := e.defaultClient()
			for i := range each {
				v := int32(w*each + i)
				start := time.Now()
				out, err := wc.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("conc"), Service: aws.String("svc"), DesiredCount: aws.Int32(v),
					DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: aws.Int32(200 + v)}})
				end := time.Now()
				if err != nil {
					t.Errorf("UpdateService %d: %v", v, err)
					return
				}
				if out.Service.DesiredCount != v {
					t.Errorf("UpdateService to %d answered desiredCount %d", v, out.Service.DesiredCount)
				}
				mu.Lock()
				writes = append(writes, write{v, start, end})
				mu.Unlock()
				check(fmt.Sprintf("writer %d", w), describeService(t, wc, "conc", "svc"), start)
			}
		}()
	}
	wg.Wait()
	close(done)
	readers.Wait()
	if t.Failed() {
		return
	}
	final := describeService(t, c, "conc", "svc").DesiredCount
	var last []int32 // writes no other write started after
	for _, w := range writes {
		if !slices.ContainsFunc(writes, func(o write) bool { return o.start.After(w.end) }) {
			last = append(last, w.value)
		}
	}
	if !slices.Contains(last, final) {
		t.Errorf("final desiredCount %d; the writes that could be last in real time set %v", final, last)
	}
	out := waitServicesStable(t, c, "conc", "svc")
	if got := out.Services[0].RunningCount; got != final {
		t.Errorf("converged with runningCount %d, desiredCount %d", got, final)
	}
}

// TestConcurrentStopTask: 16 clients stop one task at once while 4 more
// watch it. One stop wins: every answer names the same reason, the task
// stops once, and no reader sees its version go backwards or two states
// under one version.
func TestConcurrentStopTask(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	c := e.defaultClient()
	td := fargateTD(t, c, "conc-stop", "stop")
	task := runTask(t, c, &ecs.RunTaskInput{TaskDefinition: td.TaskDefinitionArn, LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc})[0]
	arn := aws.ToString(task.TaskArn)
	waitRunning(t, c, "default", arn)

	type state struct{ last, desired, reason string }
	var mu sync.Mutex
	byVersion := map[int64]state{}
	observe := func(who string, tk types.Task, prev *int64) {
		s := state{aws.ToString(tk.LastStatus), aws.ToString(tk.DesiredStatus), aws.ToString(tk.StoppedReason)}
		mu.Lock()
		defer mu.Unlock()
		if old, seen := byVersion[tk.Version]; seen && old != s {
			t.Errorf("%s: version %d seen as %+v and as %+v", who, tk.Version, old, s)
		}
		byVersion[tk.Version] = s
		if prev != nil {
			if tk.Version < *prev {
				t.Errorf("%s: version %d after %d", who, tk.Version, *prev)
			}
			*prev = tk.Version
		}
	}
	done := make(chan struct{})
	var readers, stoppers sync.WaitGroup
	for r := range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			rc := e.defaultClient()
			var prev int64
			for {
				out, err := rc.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: []string{arn}})
				if err != nil || len(out.Tasks) != 1 {
					t.Errorf("reader %d: %v", r, err)
					return
				}
				observe(fmt.Sprintf("reader %d", r), out.Tasks[0], &prev)
				select {
				case <-done:
					if aws.ToString(out.Tasks[0].LastStatus) == "STOPPED" {
						return
					}
				default:
				}
			}
		}()
	}
	reasons := make([]string, 16)
	for i := range reasons {
		stoppers.Add(1)
		go func() {
			defer stoppers.Done()
			out, err := e.defaultClient().StopTask(t.Context(), &ecs.StopTaskInput{Task: aws.String(arn), Reason: aws.String(fmt.Sprintf("stopper %d", i))})
			if err != nil {
				t.Errorf("StopTask %d: %v", i, err)
				return
			}
			if aws.ToString(out.Task.DesiredStatus) != "STOPPED" {
				t.Errorf("StopTask %d answered desiredStatus %s", i, aws.ToString(out.Task.DesiredStatus))
			}
			reasons[i] = aws.ToString(out.Task.StoppedReason)
			observe(fmt.Sprintf("stopper %d", i), *out.Task, nil)
		}()
	}
	stoppers.Wait()
	close(done)
	readers.Wait()
	for i, r := range reasons {
		if r != reasons[0] {
			t.Errorf("StopTask %d answered reason %q, StopTask 0 %q: more than one stop won", i, r, reasons[0])
		}
	}
	out, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: []string{arn}})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Tasks[0].StoppedReason); got != reasons[0] {
		t.Errorf("the stopped task's reason is %q, every StopTask answered %q", got, reasons[0])
	}
}

// TestConcurrentRunTask: 8 clients each run 10 tasks at once with one
// startedBy; exactly 80 distinct tasks exist.
func TestConcurrentRunTask(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	c := e.defaultClient()
	td := fargateTD(t, c, "conc-run", "run")
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := e.defaultClient().RunTask(t.Context(), &ecs.RunTaskInput{TaskDefinition: td.TaskDefinitionArn, Count: aws.Int32(10),
				StartedBy: aws.String("conc"), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc})
			if err != nil || len(out.Tasks) != 10 {
				t.Errorf("RunTask: %v %+v", err, out)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, tk := range out.Tasks {
				if seen[aws.ToString(tk.TaskArn)] {
					t.Errorf("task %s answered twice", aws.ToString(tk.TaskArn))
				}
				seen[aws.ToString(tk.TaskArn)] = true
			}
		}()
	}
	wg.Wait()
	var listed []string
	p := ecs.NewListTasksPaginator(c, &ecs.ListTasksInput{StartedBy: aws.String("conc"), MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, page.TaskArns...)
	}
	slices.Sort(listed)
	if len(listed) != 80 || len(slices.Compact(slices.Clone(listed))) != 80 {
		t.Fatalf("ListTasks startedBy conc: %d tasks (%d distinct), want 80", len(listed), len(slices.Compact(slices.Clone(listed))))
	}
	for _, arn := range listed {
		if !seen[arn] {
			t.Errorf("listed task %s was not in any RunTask answer", arn)
		}
	}
}
