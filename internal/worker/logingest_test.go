package worker_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/cwlogs"
	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/driver/fakedriver"
	"github.com/ecsd/ecsd/internal/notify"
	"github.com/ecsd/ecsd/internal/store"
	"github.com/ecsd/ecsd/internal/store/sqlitestore"
	"github.com/ecsd/ecsd/internal/worker"
)

// gatedReader holds the first read of a container's output once the
// runtime answered it, until release is closed: the ingester's follower
// then acts on an answer that is no longer true, as one does when the
// machine is loaded.
type gatedReader struct {
	driver.LogReader
	once     sync.Once
	answered chan error // the first read's answer
	release  chan struct{}
}

func (g *gatedReader) Logs(ctx context.Context, id, container string, opts driver.LogOptions, fn func(driver.LogLine) error) error {
	err := g.LogReader.Logs(ctx, id, container, opts, fn)
	first := false
	g.once.Do(func() { first = true })
	if first {
		g.answered <- err
		select {
		case <-g.release:
		case <-ctx.Done():
		}
	}
	return err
}

// TestLogIngestFollowsTaskSeenBeforeItsContainers: the ingester can look
// at a task before the supervisor has started its containers (a sweep
// between RunTask and the supervisor's pass). The runtime does not know
// them yet, which must not count as "followed to the end": the lines
// land once the containers run, also when the task has run and stopped
// before the follower acts on that first answer (the CI failure of
// TestAwslogsSimulated: the group was never created).
func TestLogIngestFollowsTaskSeenBeforeItsContainers(t *testing.T) {
	for _, tt := range []struct {
		name string
		// releaseAt is the task's state when the follower that found no
		// containers goes on: the kicks of the states before it came
		// while that follower was still busy.
		releaseAt string
	}{
		{"released before it starts", ""}, // still as RunTask made it
		{"released while RUNNING", "RUNNING"},
		{"released after STOPPED", "STOPPED"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			clk := &clock{t: time.Now().UTC().Truncate(time.Millisecond)}
			st := openStore(t)
			logs, err := sqlitestore.OpenLogs(ctx, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { logs.Close() })
			drv, err := fakedriver.New(fakedriver.Config{Dir: filepath.Join(t.TempDir(), "simulated"), NowFunc: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			gate := &gatedReader{LogReader: drv, answered: make(chan error, 1), release: make(chan struct{})}
			// A sweep only at Start: what follows must come from kicks
			// and the follower's own retry, not from a later sweep that
			// happens to look again.
			ing := worker.NewLogIngest(worker.LogIngestConfig{SweepEvery: time.Hour, ResyncEvery: time.Hour, FlushEvery: 10 * time.Millisecond}, st, logs, gate)
			sup := worker.NewTasks(worker.TasksConfig{NowFunc: clk.Now, Notifier: ingestHub(ing)}, st, drv)

			c := container("app", true, kv(fakedriver.KnobLog, `starting\nserving request {n}\ndone`), kv(fakedriver.KnobRunSeconds, "1"))
			c.LogConfiguration = &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": "/ecs/app", "awslogs-region": scope.Region, "awslogs-stream-prefix": "web", "awslogs-create-group": "true"}}
			td := register(t, st, types.NetworkModeBridge, c)
			id := runTask(t, st, td, clk.Now())

			ing.Start(ctx) // its first sweep sees the PROVISIONING task
			t.Cleanup(ing.Stop)
			select {
			case err := <-gate.answered:
				if !errors.Is(err, driver.ErrNotFound) {
					t.Fatalf("first read of a task not started: %v, want driver.ErrNotFound", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the ingester never read the task's output")
			}
			released := false
			for i := 0; ; i++ {
				last := *mustTask(t, st, id).LastStatus
				if (last == tt.releaseAt || tt.releaseAt == "") && !released {
					close(gate.release)
					released = true
				}
				if last == "STOPPED" {
					break
				}
				if i == 10 {
					t.Fatalf("task %s after 10 passes, want STOPPED", last)
				}
				if _, err := sup.RunOnce(ctx); err != nil {
					t.Fatal(err)
				}
				clk.Set(clk.Now().Add(time.Second))
			}
			if !released {
				t.Fatalf("the task never was %s", tt.releaseAt)
			}
			if started := mustTask(t, st, id).StartedAt; started == nil || started.IsZero() {
				t.Fatal("the task stopped without running")
			}

			stream := cwlogs.AwslogsStreamName("web", "app", id)
			want := []string{"starting", "serving request 1", "done"}
			var got []string
			deadline := time.Now().Add(30 * time.Second)
			for {
				evs, err := logs.GetLogEvents(ctx, scope, "/ecs/app", stream,
					store.LogEventsQuery{Limit: 100})
				got = got[:0]
				for _, e := range evs {
					got = append(got, e.Message)
				}
				if err == nil && slices.Equal(got, want) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("stream %s: %q, %v; want %q", stream, got, err, want)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// TestLogIngestStoppedTaskWaitsForGroup: without awslogs-create-group the
// lines wait in the runtime until the group exists, also when the task
// stopped meanwhile (the sweep reads only tasks that are not STOPPED).
func TestLogIngestStoppedTaskWaitsForGroup(t *testing.T) {
	ctx := t.Context()
	clk := &clock{t: time.Now().UTC().Truncate(time.Millisecond)}
	st := openStore(t)
	logs, err := sqlitestore.OpenLogs(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logs.Close() })
	drv, err := fakedriver.New(fakedriver.Config{Dir: filepath.Join(t.TempDir(), "simulated"), NowFunc: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ing := worker.NewLogIngest(worker.LogIngestConfig{SweepEvery: 20 * time.Millisecond, FlushEvery: 10 * time.Millisecond}, st, logs, drv)
	sup := worker.NewTasks(worker.TasksConfig{NowFunc: clk.Now, Notifier: ingestHub(ing)}, st, drv)
	c := container("app", true, kv(fakedriver.KnobLog, `one\ntwo`), kv(fakedriver.KnobRunSeconds, "1"))
	c.LogConfiguration = &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
		"awslogs-group": "/ecs/later", "awslogs-region": scope.Region, "awslogs-stream-prefix": "p"}}
	td := register(t, st, types.NetworkModeBridge, c)
	id := runTask(t, st, td, clk.Now())
	ing.Start(ctx)
	t.Cleanup(ing.Stop)
	for i := 0; *mustTask(t, st, id).LastStatus != "STOPPED"; i++ {
		if i == 10 {
			t.Fatal("task not STOPPED after 10 passes")
		}
		if _, err := sup.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		clk.Set(clk.Now().Add(time.Second))
	}
	time.Sleep(100 * time.Millisecond) // a few sweeps find no group
	if err := logs.CreateLogGroup(ctx, store.LogGroup{Scope: scope, Name: "/ecs/later", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	stream := cwlogs.AwslogsStreamName("p", "app", id)
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs, err := logs.GetLogEvents(ctx, scope, "/ecs/later", stream, store.LogEventsQuery{Limit: 100})
		if err == nil && len(evs) == 2 && evs[0].Message == "one" && evs[1].Message == "two" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s: %v, %v; want one, two", stream, evs, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ingestHub tells ing of every task the supervisor writes, as the server
// wires them.
func ingestHub(ing *worker.LogIngest) *notify.Hub {
	h := notify.New(nil)
	h.Subscribe(notify.TaskStatus, ing.Kick)
	return h
}
