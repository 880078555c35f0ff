package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
	"github.com/ecsd/ecsd/internal/worker"
)

// TestScalingWarmupAndScaleIn drives the managed scaling loop with an
// injected clock: an empty group scales out to two instances for a
// waiting task and places it; a second waiting task needs no instance
// (room on the first); a third scale-out waits for instanceWarmupPeriod;
// once idle, scale-in waits ECS's 15 minutes below target, then empties
// the group a half at a time.
func TestScalingWarmupAndScaleIn(t *testing.T) {
	yes := true
	st := openStore(t)
	ctx := context.Background()
	scope := store.Scope{Account: "000000000000", Region: "us-east-1"}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }

	warmup := int32(300)
	cp := ecs.NewCapacityProvider(scope.Region, scope.Account, "cp", types.AutoScalingGroupProvider{
		AutoScalingGroupArn:          sptr("asg"),
		ManagedScaling:               &types.ManagedScaling{Status: types.ManagedScalingStatusEnabled, InstanceWarmupPeriod: &warmup},
		ManagedTerminationProtection: types.ManagedTerminationProtectionEnabled,
	})
	cl := ecs.NewCluster(scope.Region, scope.Account, "c")
	cl.CapacityProviders = []string{"cp"}
	td := types.TaskDefinition{
		TaskDefinitionArn: sptr(ecs.TaskDefinitionARN(scope.Region, scope.Account, "web", 1)), Family: sptr("web"), Revision: 1,
		Cpu: sptr("1024"), Memory: sptr("512"), Status: types.TaskDefinitionStatusActive,
		ContainerDefinitions: []types.ContainerDefinition{{Name: sptr("app"), Image: sptr("busybox"), Essential: &yes}},
	}
	body, err := records.TaskDefinitionBody(td)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.RegisterTaskDefinition(ctx, store.TaskDefinition{Scope: scope, Family: "web", Status: store.StatusActive, RegisteredAt: now, Body: body}, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, func(tx store.Tx) error {
		rec, err := records.FromCapacityProvider(scope, cp, records.Group{Name: "asg", MaxSize: 10}, time.Time{})
		if err != nil {
			return err
		}
		if err := tx.PutCapacityProvider(rec); err != nil {
			return err
		}
		crec, err := records.FromCluster(scope, cl)
		if err != nil {
			return err
		}
		return tx.PutCluster(crec)
	}); err != nil {
		t.Fatal(err)
	}
	wait := func() string { // a task waiting for the provider's capacity
		t.Helper()
		task, err := ecs.NewTask(ecs.TaskParams{Region: scope.Region, Account: scope.Account, Cluster: "c",
			TaskDefinition: td, LaunchType: types.LaunchTypeEc2, CapacityProviderName: "cp", Now: now})
		if err != nil {
			t.Fatal(err)
		}
		task.LastStatus = sptr(ecs.TaskProvisioning)
		rec, err := records.FromTask(scope, task)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Update(ctx, func(tx store.Tx) error { return tx.PutTask(rec) }); err != nil {
			t.Fatal(err)
		}
		return rec.ID
	}
	group := func() records.Group {
		t.Helper()
		var g records.Group
		if err := st.View(ctx, func(tx store.ReadTx) error {
			rec, err := tx.CapacityProvider(scope, "cp")
			if err != nil {
				return err
			}
			g, err = records.CapacityProviderGroup(rec)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return g
	}
	w := worker.NewScaling(worker.ScalingConfig{Interval: time.Minute, NowFunc: clock}, st)
	pass := func(step time.Duration) worker.ScalingResult {
		t.Helper()
		now = now.Add(step)
		res, err := w.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	first := wait()
	if res := pass(0); res.Launched != 2 || res.Placed != 1 {
		t.Fatalf("first pass: %+v, want 2 launched (ECS scales an empty group to two) and the task placed", res)
	}
	if g := group(); g.DesiredCapacity != 2 || g.Reservation != 200 || len(g.Instances) != 2 || g.Instances[0].AvailabilityZone == g.Instances[1].AvailabilityZone {
		t.Fatalf("group after scale-out: %+v", g)
	}
	var placedOn string
	if err := st.View(ctx, func(tx store.ReadTx) error {
		rec, err := tx.Task(scope, "c", first)
		placedOn = rec.ContainerInstance
		return err
	}); err != nil || placedOn == "" {
		t.Fatalf("the waiting task was not placed: %q, %v", placedOn, err)
	}

	// Four more tasks need one more instance (two a 2048-unit instance):
	// the instances are within their 300s warm-up, so the scale-out
	// waits; three of the tasks fit on the instances there are.
	wait()
	wait()
	wait()
	wait()
	res := pass(time.Minute)
	if res.Launched != 0 || res.Placed != 3 {
		t.Fatalf("within warm-up: %+v, want nothing launched and three placed", res)
	}
	if res := pass(5 * time.Minute); res.Launched != 1 || res.Placed != 1 {
		t.Fatalf("after warm-up: %+v, want one launched and the last task placed", res)
	}

	// Stop every task: the group is idle. Scale-in waits 15 minutes below
	// target and 15 minutes after the last scale-out.
	if err := st.Update(ctx, func(tx store.Tx) error {
		tasks, err := tx.Tasks(scope, store.TasksQuery{Cluster: "c"})
		if err != nil {
			return err
		}
		for _, rec := range tasks {
			task, err := records.Task(rec)
			if err != nil {
				return err
			}
			next, err := records.FromTask(scope, ecs.MarkStopped(ecs.RequestStop(task, types.TaskStopCodeUserInitiated, "test", now), now))
			if err != nil {
				return err
			}
			if err := tx.PutTask(next); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if res := pass(time.Minute); res.Terminated != 0 {
		t.Fatalf("scale-in at once: %+v", res)
	}
	if g := group(); g.BelowTargetSince.IsZero() || g.Reservation != 0 {
		t.Fatalf("idle group: %+v", g)
	}
	if res := pass(14 * time.Minute); res.Terminated != 0 {
		t.Fatalf("scale-in before 15 minutes: %+v", res)
	}
	// Managed draining (the default): the chosen instances are DRAINING,
	// then go.
	terminated := 0
	for i := 0; i < 10 && len(group().Instances) > 0; i++ {
		terminated += pass(time.Minute).Terminated
	}
	if g := group(); len(g.Instances) != 0 || g.DesiredCapacity != 0 || terminated != 3 {
		t.Fatalf("after scale-in: %d terminated, group %+v; want all 3 gone", terminated, g)
	}
}

func sptr(s string) *string { return &s }
