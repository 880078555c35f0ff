package worker_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/driver/fakedriver"
	"github.com/ecsd/ecsd/internal/worker"
)

// TestTasksKeepStoppedBound: of the tasks that failed to start, only the
// KeepStopped most recently stopped keep their container groups; the
// others' output is handed to ArchiveFunc before their groups go, and the
// tasks stay describable.
func TestTasksKeepStoppedBound(t *testing.T) {
	clk := &clock{t: t0}
	st := openStore(t)
	drv, err := fakedriver.New(fakedriver.Config{Dir: filepath.Join(t.TempDir(), "simulated"), NowFunc: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	var archived []string
	w := worker.NewTasks(worker.TasksConfig{NowFunc: clk.Now, KeepStopped: 2, TrimInterval: time.Second,
		ArchiveFunc: func(_ context.Context, g driver.GroupState) error {
			archived = append(archived, g.ID)
			return nil
		}}, st, drv)
	td := register(t, st, types.NetworkModeAwsvpc, container("web", true, kv(fakedriver.KnobStartFailure, "CannotPullContainerError: not found")))
	var ids []string
	for i := range 5 {
		ids = append(ids, runTask(t, st, td, clk.Now()))
		if _, err := w.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		clk.Set(clk.Now().Add(2 * time.Second))
		if task := mustTask(t, st, ids[i]); *task.LastStatus != "STOPPED" {
			t.Fatalf("task %d: %s, want STOPPED", i, *task.LastStatus)
		}
	}
	if _, err := w.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	groups, err := drv.List(context.Background(), map[string]string{worker.LabelManaged: "true"})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, g := range groups {
		left = append(left, g.ID)
	}
	slices.Sort(left)
	want := slices.Sorted(slices.Values(ids[3:]))
	if !slices.Equal(left, want) {
		t.Fatalf("groups left %v, want the 2 most recently stopped %v", left, want)
	}
	slices.Sort(archived)
	if wantArch := slices.Sorted(slices.Values(ids[:3])); !slices.Equal(archived, wantArch) {
		t.Fatalf("archived %v, want %v", archived, wantArch)
	}
	for _, id := range ids {
		mustTask(t, st, id) // still describable
	}
}

// TestTasksLogTransitions: the supervisor logs, at info level, each task
// that starts and stops (stop code and reason) and a pull failure.
func TestTasksLogTransitions(t *testing.T) {
	clk := &clock{t: t0}
	st := openStore(t)
	drv, err := fakedriver.New(fakedriver.Config{NowFunc: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	w := worker.NewTasks(worker.TasksConfig{NowFunc: clk.Now, Logger: logger}, st, drv)
	bad := register(t, st, types.NetworkModeAwsvpc, container("web", true, kv(fakedriver.KnobStartFailure, "CannotPullContainerError: not found")))
	badID := runTask(t, st, bad, clk.Now())
	good := register(t, st, types.NetworkModeAwsvpc, container("app", true))
	goodID := runTask(t, st, good, clk.Now())
	for range 3 {
		if _, err := w.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	out := buf.String()
	for _, want := range []string{
		`msg="image pull failed" task=` + badID + ` container=web image=busybox reason="CannotPullContainerError: not found"`,
		`msg="task stopped" task=` + badID,
		`stopCode=TaskFailedToStart stoppedReason="CannotPullContainerError: not found"`,
		`msg="task started" task=` + goodID,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
