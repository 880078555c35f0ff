package worker_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/driver/fakedriver"
	"github.com/ecsd/ecsd/internal/notify"
	"github.com/ecsd/ecsd/internal/worker"
)

// noticeLog records the notices a loop gives.
type noticeLog struct {
	mu  sync.Mutex
	got []string
}

func (n *noticeLog) Notify(topic notify.Topic, key string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, string(topic)+" "+key)
}

func (n *noticeLog) take() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.got
	n.got = nil
	return out
}

func runQueued(t *testing.T, w *worker.Tasks) (worker.PassResult, bool) {
	t.Helper()
	res, ran, err := w.RunQueued(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res, ran
}

// TestTasksKeyedQueue: the supervisor looks at a task when a notice names
// it and when the runtime says its containers change next, never at an
// idle task, and tells the other loops what it wrote.
func TestTasksKeyedQueue(t *testing.T) {
	clk := &clock{t: t0}
	st := openStore(t)
	drv, err := fakedriver.New(fakedriver.Config{NowFunc: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	notes := &noticeLog{}
	w := worker.NewTasks(worker.TasksConfig{NowFunc: clk.Now, Notifier: notes, NextChangeFunc: drv.NextChange}, st, drv)
	td := register(t, st, types.NetworkModeBridge, container("web", true, kv(fakedriver.KnobRunSeconds, "30")))
	id := runTask(t, st, td, t0)
	arn := *mustTask(t, st, id).TaskArn

	if _, ran := runQueued(t, w); ran {
		t.Fatal("looked at a task nothing named")
	}
	w.Kick(arn)
	w.Kick(arn) // queued once
	if w.QueueDepth() != 1 {
		t.Fatalf("queue depth %d after two kicks of one task, want 1", w.QueueDepth())
	}
	res, ran := runQueued(t, w)
	if !ran || res.Changed != 1 || *mustTask(t, st, id).LastStatus != "RUNNING" {
		t.Fatalf("after the kick: ran %v changed %d status %s", ran, res.Changed, *mustTask(t, st, id).LastStatus)
	}
	if want := t0.Add(30 * time.Second); !res.NextDue.Equal(want) {
		t.Errorf("next due %v, want the scripted exit at %v", res.NextDue, want)
	}
	if got := notes.take(); !slices.Equal(got, []string{"task-status " + arn}) {
		t.Errorf("notices %q, want the task's new state", got)
	}

	// Idle: nothing to look at until the container exits.
	clk.Set(t0.Add(29 * time.Second))
	if _, ran := runQueued(t, w); ran {
		t.Error("looked at a running task before anything about it could change")
	}
	clk.Set(t0.Add(31 * time.Second))
	if _, ran := runQueued(t, w); !ran {
		t.Fatal("did not look at the task when its container exited")
	}
	task := mustTask(t, st, id)
	if *task.LastStatus != "STOPPED" || task.StopCode != types.TaskStopCodeEssentialContainerExited {
		t.Fatalf("after the exit: %s %s", *task.LastStatus, task.StopCode)
	}
	if w.QueueDepth() != 0 {
		t.Errorf("queue depth %d after the task stopped, want 0", w.QueueDepth())
	}
}

// TestTasksKickGroup: a runtime's notice names a group; the supervisor
// finds the task through the group's labels.
func TestTasksKickGroup(t *testing.T) {
	clk := &clock{t: t0}
	st := openStore(t)
	drv, err := fakedriver.New(fakedriver.Config{NowFunc: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	w := worker.NewTasks(worker.TasksConfig{NowFunc: clk.Now}, st, drv)
	td := register(t, st, types.NetworkModeBridge, container("web", true))
	id := runTask(t, st, td, t0)
	w.Kick(*mustTask(t, st, id).TaskArn)
	runQueued(t, w)
	clk.Set(t0.Add(time.Second))
	// The container is killed behind the supervisor's back, as docker kill
	// would; the runtime reports the group.
	if err := drv.Stop(context.Background(), id, 0); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(2 * time.Second))
	w.KickGroup(id)
	if _, ran := runQueued(t, w); !ran {
		t.Fatal("a group notice queued nothing")
	}
	if task := mustTask(t, st, id); *task.LastStatus != "STOPPED" {
		t.Fatalf("after the group's notice: %s", *task.LastStatus)
	}
}

// TestTasksQueueTransitionDelay: with a transition delay the task is
// looked at again when the delay ends, not before.
func TestTasksQueueTransitionDelay(t *testing.T) {
	clk := &clock{t: t0}
	st := openStore(t)
	drv, err := fakedriver.New(fakedriver.Config{NowFunc: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	const delay = 2 * time.Second
	w := worker.NewTasks(worker.TasksConfig{NowFunc: clk.Now, TransitionDelay: delay, NextChangeFunc: drv.NextChange}, st, drv)
	td := register(t, st, types.NetworkModeBridge, container("web", true))
	id := runTask(t, st, td, t0)
	w.Kick(*mustTask(t, st, id).TaskArn)
	var seen []string
	for i := 0; i < 20 && (len(seen) == 0 || seen[len(seen)-1] != "RUNNING"); i++ {
		runQueued(t, w)
		if s := *mustTask(t, st, id).LastStatus; len(seen) == 0 || seen[len(seen)-1] != s {
			seen = append(seen, s)
		}
		if _, ran := runQueued(t, w); ran {
			t.Fatalf("looked again at %v before the delay ended", clk.Now().Sub(t0))
		}
		clk.Set(clk.Now().Add(delay))
	}
	if want := []string{"PENDING", "ACTIVATING", "RUNNING"}; !slices.Equal(seen, want) {
		t.Errorf("states %v, want %v", seen, want)
	}
}
