package worker_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/driver/fakedriver"
	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
	"github.com/ecsd/ecsd/internal/store/sqlitestore"
	"github.com/ecsd/ecsd/internal/worker"
)

// BenchmarkSuperviseToRunning measures how long the supervisor takes to
// bring b.N awsvpc tasks, inserted as RunTask inserts them (10 per
// transaction), to RUNNING with no transition delay, on the simulated
// runtime with its files on disk.
func BenchmarkSuperviseToRunning(b *testing.B) {
	ctx := context.Background()
	st := openStoreB(b)
	drv, err := fakedriver.New(fakedriver.Config{Dir: filepath.Join(b.TempDir(), "simulated")})
	if err != nil {
		b.Fatal(err)
	}
	w := worker.NewTasks(worker.TasksConfig{}, st, drv)
	td, err := ecs.PrepareTaskDefinition(types.TaskDefinition{Family: sp("app"), NetworkMode: types.NetworkModeAwsvpc,
		ContainerDefinitions: []types.ContainerDefinition{container("web", true)}})
	if err != nil {
		b.Fatal(err)
	}
	body, _ := records.TaskDefinitionBody(td)
	rec, err := st.RegisterTaskDefinition(ctx, store.TaskDefinition{Scope: scope, Family: "app", Status: store.StatusActive, RegisteredAt: t0, Body: body}, nil)
	if err != nil {
		b.Fatal(err)
	}
	mat, _ := records.TaskDefinition(rec)
	for i := 0; i < b.N; i += 10 {
		err := st.Update(ctx, func(tx store.Tx) error {
			for j := i; j < i+10 && j < b.N; j++ {
				task, err := ecs.NewTask(ecs.TaskParams{Region: scope.Region, Account: scope.Account, Cluster: "default", TaskDefinition: mat,
					LaunchType: types.LaunchTypeFargate, Now: time.Now(),
					NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}})
				if err != nil {
					return err
				}
				r, err := records.FromTask(scope, task)
				if err != nil {
					return err
				}
				if err := tx.PutTask(r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	passes := 0
	for {
		res, err := w.RunOnce(ctx)
		if err != nil {
			b.Fatal(err)
		}
		passes++
		if res.Changed == 0 {
			break
		}
	}
	b.StopTimer()
	var running int
	st.View(ctx, func(tx store.ReadTx) error {
		ts, err := tx.Tasks(scope, store.TasksQuery{Cluster: "default"})
		for _, t := range ts {
			if t.LastStatus == "RUNNING" {
				running++
			}
		}
		return err
	})
	if running != b.N {
		b.Fatalf("%d of %d tasks RUNNING", running, b.N)
	}
	idle := time.Now()
	if _, err := w.RunOnce(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("idle pass over %d RUNNING tasks: %v", b.N, time.Since(idle))
	b.ReportMetric(float64(passes), "passes")
	b.Logf("%d tasks to RUNNING in %v (%d passes)", b.N, time.Since(start), passes)
}

// BenchmarkIdleResync measures the supervisor's resync over 2,000 RUNNING
// tasks with nothing to do: what an idle ecsd pays per live task every
// ResyncInterval.
func BenchmarkIdleResync(b *testing.B) {
	ctx := context.Background()
	st := openStoreB(b)
	drv, err := fakedriver.New(fakedriver.Config{})
	if err != nil {
		b.Fatal(err)
	}
	w := worker.NewTasks(worker.TasksConfig{NextChangeFunc: drv.NextChange}, st, drv)
	td, err := ecs.PrepareTaskDefinition(types.TaskDefinition{Family: sp("app"), NetworkMode: types.NetworkModeAwsvpc,
		ContainerDefinitions: []types.ContainerDefinition{container("web", true)}})
	if err != nil {
		b.Fatal(err)
	}
	body, _ := records.TaskDefinitionBody(td)
	rec, err := st.RegisterTaskDefinition(ctx, store.TaskDefinition{Scope: scope, Family: "app", Status: store.StatusActive, RegisteredAt: t0, Body: body}, nil)
	if err != nil {
		b.Fatal(err)
	}
	mat, _ := records.TaskDefinition(rec)
	const n = 2000
	err = st.Update(ctx, func(tx store.Tx) error {
		for range n {
			task, err := ecs.NewTask(ecs.TaskParams{Region: scope.Region, Account: scope.Account, Cluster: "default", TaskDefinition: mat,
				LaunchType: types.LaunchTypeFargate, Now: time.Now(),
				NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}})
			if err != nil {
				return err
			}
			r, err := records.FromTask(scope, task)
			if err != nil {
				return err
			}
			if err := tx.PutTask(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for {
		res, err := w.RunOnce(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if res.Changed == 0 {
			break
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if res, err := w.RunOnce(ctx); err != nil || res.Changed != 0 {
			b.Fatalf("idle resync changed %d tasks: %v", res.Changed, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/n, "µs/task")
}

func openStoreB(b *testing.B) store.Store {
	st, err := sqlitestore.Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}
