package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/notify"
	"github.com/ecsd/ecsd/internal/reconcile/capacity"
	"github.com/ecsd/ecsd/internal/reconcile/placement"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

// ScalingConfig configures the managed scaling loop.
type ScalingConfig struct {
	// Interval is how often each capacity provider is evaluated (ECS:
	// "Every minute"); kicks evaluate at once.
	Interval time.Duration
	// ScaleInWait, when positive, replaces ECS's 15-minute scale-in waits
	// (below target, and after a scale-out): ecsd's --scale-in-wait.
	ScaleInWait time.Duration
	NowFunc     func() time.Time
	Logger      *slog.Logger
	// Notifier is told, once committed, of every waiting task the loop
	// places (notify.Task), so the task supervisor starts it at once, and
	// of every service of a cluster whose instances the loop registered or
	// removed (notify.Service), so the scheduler looks again (tasks it
	// could not place may fit now).
	Notifier Notifier
	// RandFunc breaks the ties of placement (see records.Placer); nil
	// places on the first instance in ARN order.
	RandFunc func(n int) int
	// ProvisioningTimeout is how long a task may wait in PROVISIONING for
	// capacity before it is stopped (DefaultProvisioningTimeout when 0):
	// ecsd's --provisioning-timeout.
	ProvisioningTimeout time.Duration
}

// DefaultProvisioningTimeout is how long a task waits in PROVISIONING for
// its capacity provider's capacity before ECS stops it: "provisioning tasks
// will wait for capacity for between 10 and 30 minutes before transitioning
// to stopped" (AWS blog, "Deep Dive on Amazon ECS Cluster Auto Scaling";
// aws/containers-roadmap#2381 calls 30 minutes the maximum). ecsd takes the
// upper bound.
const DefaultProvisioningTimeout = 30 * time.Minute

// The stop code and reason of a task whose capacity never came [I: ECS
// documents neither for this case; the reason is the one ECS gives when it
// has no capacity for a task (RunTask, "Capacity is unavailable at this
// time"), the stop code the one of tasks that never started].
const (
	ProvisioningTimeoutStopCode = types.TaskStopCodeTaskFailedToStart
	ProvisioningTimeoutReason   = "Capacity is unavailable at this time. Please try again later or in a different availability zone"
)

// Scaling is the managed scaling loop of Auto Scaling group capacity
// providers. ecsd has no Auto Scaling API, so each provider's group is
// simulated (records.Group): every pass, for each ACTIVE provider, it
//
//   - evaluates managed scaling (capacity.Scale, a pure plan) when the
//     provider has it ENABLED and is associated with a cluster, and sets
//     the group's desired capacity;
//   - launches or terminates simulated EC2 instances to match, which
//     register with (or leave) the cluster as container instances of the
//     provider, in turn in distinct availability zones; with managed
//     draining an instance to terminate is set DRAINING first and goes
//     once its tasks have stopped;
//   - places the provider's tasks waiting in PROVISIONING on the group's
//     instances that can take them.
type Scaling struct {
	cfg   ScalingConfig
	store store.Store

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	kick   chan struct{}
}

// NewScaling returns the loop; Start runs it.
func NewScaling(cfg ScalingConfig, st store.Store) *Scaling {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ProvisioningTimeout <= 0 {
		cfg.ProvisioningTimeout = DefaultProvisioningTimeout
	}
	return &Scaling{cfg: cfg, store: st, kick: make(chan struct{}, 1)}
}

// Kick asks for a pass now (a provider, a cluster's providers or a task
// waiting for capacity changed).
func (w *Scaling) Kick(string) {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Start runs passes every Interval, and on kicks, until Stop or ctx ends.
func (w *Scaling) Start(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil {
		return
	}
	ctx, w.cancel = context.WithCancel(ctx)
	w.done = make(chan struct{})
	go func() {
		defer close(w.done)
		t := time.NewTicker(w.cfg.Interval)
		defer t.Stop()
		for {
			if _, err := w.RunOnce(ctx); err != nil && ctx.Err() == nil {
				w.cfg.Logger.Error("managed scaling pass failed", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-w.kick:
			}
		}
	}()
}

// Stop ends the loop and waits for it.
func (w *Scaling) Stop() {
	w.mu.Lock()
	cancel, done := w.cancel, w.done
	w.cancel = nil
	w.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// ScalingResult sums up one pass.
type ScalingResult struct {
	Launched, Terminated, Placed int
}

// RunOnce evaluates every ACTIVE capacity provider once.
func (w *Scaling) RunOnce(ctx context.Context) (ScalingResult, error) {
	var res ScalingResult
	var recs []store.CapacityProvider
	if err := w.store.View(ctx, func(tx store.ReadTx) error {
		var err error
		recs, err = tx.AllCapacityProviders()
		return err
	}); err != nil {
		return res, err
	}
	for _, rec := range recs {
		r, err := w.provider(ctx, rec.Scope, rec.Name)
		if err != nil {
			return res, fmt.Errorf("capacity provider %s: %w", rec.Name, err)
		}
		res.Launched += r.Launched
		res.Terminated += r.Terminated
		res.Placed += r.Placed
	}
	return res, nil
}

// providerPass is what one provider's pass did, for the notifications
// sent after it commits.
type providerPass struct {
	ScalingResult
	placed   []string // tasks placed or stopped: the supervisor acts on them
	services []string
}

func (w *Scaling) provider(ctx context.Context, scope store.Scope, name string) (ScalingResult, error) {
	var pass providerPass
	err := w.store.Update(ctx, func(tx store.Tx) error {
		pass = providerPass{}
		return w.providerLocked(tx, scope, name, &pass)
	})
	if err != nil {
		return ScalingResult{}, err
	}
	if n := w.cfg.Notifier; n != nil {
		for _, arn := range pass.placed {
			n.Notify(notify.Task, arn)
		}
		for _, arn := range pass.services {
			n.Notify(notify.Service, arn)
		}
	}
	return pass.ScalingResult, nil
}

// providerLocked is one provider's pass inside the transaction.
func (w *Scaling) providerLocked(tx store.Tx, scope store.Scope, name string, pass *providerPass) error {
	rec, err := tx.CapacityProvider(scope, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if rec.Status != store.CapacityProviderActive {
		return nil
	}
	cp, err := records.CapacityProvider(rec)
	if err != nil {
		return err
	}
	g, err := records.CapacityProviderGroup(rec)
	if err != nil {
		return err
	}
	before := string(rec.Group)
	now := w.cfg.NowFunc().UTC().Truncate(time.Millisecond)
	cluster, err := associatedCluster(tx, scope, name)
	if err != nil {
		return err
	}
	touched := map[string]bool{}

	// Forget instances that left their cluster (deregistered by hand), and
	// take the group's instances out of a cluster the provider left.
	kept := g.Instances[:0:0]
	for _, gi := range g.Instances {
		if gi.ContainerInstanceID == "" {
			kept = append(kept, gi)
			continue
		}
		ci, err := tx.ContainerInstance(scope, gi.Cluster, gi.ContainerInstanceID)
		if errors.Is(err, store.ErrNotFound) || err == nil && ci.Status == store.InstanceInactive {
			continue
		}
		if err != nil {
			return err
		}
		if gi.Cluster != cluster {
			done, err := terminateInstance(tx, scope, gi, true, now, &pass.placed)
			if err != nil {
				return err
			}
			if done {
				touched[gi.Cluster] = true
				pass.Terminated++
				continue
			}
		}
		kept = append(kept, gi)
	}
	g.Instances = kept

	asg := cp.AutoScalingGroupProvider
	ms := asg.ManagedScaling
	if cluster != "" && ms != nil && ms.Status == types.ManagedScalingStatusEnabled &&
		(g.LastEvaluatedAt.IsZero() || now.Sub(g.LastEvaluatedAt) >= w.cfg.Interval || w.cfg.Interval <= 0) {
		if err := w.evaluate(tx, scope, cluster, cp, &g, now); err != nil {
			return err
		}
	}

	// Terminate instances managed draining emptied.
	kept = g.Instances[:0:0]
	for _, gi := range g.Instances {
		if gi.Terminating {
			done, err := terminateInstance(tx, scope, gi, gi.Force, now, &pass.placed)
			if err != nil {
				return err
			}
			if done {
				touched[gi.Cluster] = true
				pass.Terminated++
				continue
			}
		}
		kept = append(kept, gi)
	}
	g.Instances = kept

	// Launch up to the desired capacity; instances register with the
	// cluster the provider is associated with.
	live := 0
	for _, gi := range g.Instances {
		if !gi.Terminating {
			live++
		}
	}
	for ; live < g.DesiredCapacity && cluster != ""; live++ {
		gi, err := launchInstance(tx, scope, cluster, name, nextZone(g.Instances, scope.Region), now)
		if err != nil {
			return err
		}
		g.Instances = append(g.Instances, gi)
		touched[cluster] = true
		pass.Launched++
	}
	// Without managed scaling a smaller desired capacity (the tags) takes
	// the newest instances first that have no tasks.
	for i := len(g.Instances) - 1; i >= 0 && live > g.DesiredCapacity; i-- {
		gi := g.Instances[i]
		if gi.Terminating {
			continue
		}
		done, err := terminateInstance(tx, scope, gi, false, now, &pass.placed)
		if err != nil {
			return err
		}
		if done {
			g.Instances = slices.Delete(g.Instances, i, i+1)
			touched[gi.Cluster] = true
			pass.Terminated++
			live--
		}
	}

	if cluster != "" {
		placed, err := w.placeWaiting(tx, scope, cluster, name, now)
		if err != nil {
			return err
		}
		pass.placed = append(pass.placed, placed...)
		pass.Placed = len(placed)
	}
	for cl := range touched {
		svcs, err := tx.Services(scope, store.ServicesQuery{Cluster: cl, Statuses: []string{store.ServiceActive, store.ServiceDraining}})
		if err != nil {
			return err
		}
		for _, svc := range svcs {
			pass.services = append(pass.services, store.ServiceARN(scope, cl, svc.Name))
		}
	}
	next, err := records.FromCapacityProvider(scope, cp, g, rec.DeleteRequestedAt)
	if err != nil {
		return err
	}
	if string(next.Group) == before {
		return nil
	}
	return tx.PutCapacityProvider(next)
}

// evaluate runs managed scaling once and applies its plan to the group's
// desired capacity and instances.
func (w *Scaling) evaluate(tx store.Tx, scope store.Scope, cluster string, cp types.CapacityProvider, g *records.Group, now time.Time) error {
	asg := cp.AutoScalingGroupProvider
	placedTasks, err := tx.PlacedTasks(scope, cluster, "")
	if err != nil {
		return err
	}
	busy := map[string]int{}
	for _, p := range placedTasks {
		if p.LastStatus != store.TaskStopped {
			busy[p.ContainerInstance]++
		}
	}
	in := capacity.Input{
		Now:                          now,
		Settings:                     capacity.ManagedScalingFrom(asg.ManagedScaling),
		MinSize:                      g.MinSize,
		MaxSize:                      g.MaxSize,
		DesiredCapacity:              g.DesiredCapacity,
		InstanceTypes:                []capacity.InstanceType{{CPU: records.SimInstanceCPU, Memory: records.SimInstanceMemory, ReservedPorts: records.AgentReservedPorts}},
		LastScaleOutAt:               g.LastScaleOutAt,
		BelowTargetSince:             g.BelowTargetSince,
		ManagedTerminationProtection: asg.ManagedTerminationProtection == types.ManagedTerminationProtectionEnabled,
		ManagedDraining:              asg.ManagedDraining == types.ManagedDrainingEnabled,
		ScaleInAlarmPeriod:           w.cfg.ScaleInWait,
		ScaleInAfterScaleOut:         w.cfg.ScaleInWait,
	}
	for _, gi := range g.Instances {
		if gi.Terminating {
			continue
		}
		in.Instances = append(in.Instances, capacity.GroupInstance{
			ID: gi.EC2InstanceID, ContainerInstanceARN: store.ContainerInstanceARN(scope, gi.Cluster, gi.ContainerInstanceID),
			AvailabilityZone: gi.AvailabilityZone, LaunchedAt: gi.LaunchedAt, NonDaemonTasks: busy[gi.ContainerInstanceID],
		})
	}
	waiting, err := waitingTasks(tx, scope, cluster, deref(cp.Name))
	if err != nil {
		return err
	}
	for _, wt := range waiting {
		in.Provisioning = append(in.Provisioning, requirementsOf(wt.need))
	}
	plan := capacity.Scale(in)
	g.LastEvaluatedAt = now
	g.Reservation = plan.Reservation
	switch {
	case !plan.BelowTarget:
		g.BelowTargetSince = time.Time{}
	case g.BelowTargetSince.IsZero():
		g.BelowTargetSince = now
	}
	if plan.Launch > 0 {
		g.DesiredCapacity = plan.DesiredCapacity
		g.LastScaleOutAt = now
	}
	if len(plan.Terminate) > 0 {
		g.DesiredCapacity = plan.DesiredCapacity
		for i, gi := range g.Instances {
			if !slices.Contains(plan.Terminate, gi.EC2InstanceID) {
				continue
			}
			g.Instances[i].Terminating = true
			if !slices.Contains(plan.Drain, gi.EC2InstanceID) {
				// Without managed draining the group terminates it
				// whatever runs there.
				g.Instances[i].Force = true
				continue
			}
			if err := drainInstance(tx, scope, gi); err != nil {
				return err
			}
		}
	}
	return nil
}

// waitingTask is a task waiting in PROVISIONING for the provider.
type waitingTask struct {
	rec  store.Task
	task types.Task
	td   types.TaskDefinition
	need ecs.TaskRequirements
}

// waitingTasks returns the cluster's tasks that wait for an instance of
// the provider, oldest first.
func waitingTasks(tx store.ReadTx, scope store.Scope, cluster, provider string) ([]waitingTask, error) {
	recs, err := tx.Tasks(scope, store.TasksQuery{Cluster: cluster, DesiredStatus: store.TaskRunning, NotLastStatus: store.TaskStopped})
	if err != nil {
		return nil, err
	}
	var out []waitingTask
	for _, rec := range recs {
		if rec.LastStatus != ecs.TaskProvisioning || rec.ContainerInstance != "" {
			continue
		}
		t, err := records.Task(rec)
		if err != nil {
			return nil, err
		}
		if !ecs.AwaitingCapacity(t) || deref(t.CapacityProviderName) != provider {
			continue
		}
		tdRec, err := tx.TaskDefinition(scope, rec.TaskDefinition.Family, rec.TaskDefinition.Revision)
		if err != nil {
			return nil, err
		}
		td, err := records.TaskDefinition(tdRec)
		if err != nil {
			return nil, err
		}
		out = append(out, waitingTask{rec: rec, task: t, td: td, need: records.TaskRequirements(td, t.Overrides)})
	}
	slices.SortStableFunc(out, func(a, b waitingTask) int { return a.rec.CreatedAt.Compare(b.rec.CreatedAt) })
	return out, nil
}

// placeWaiting places the provider's waiting tasks on its instances, and
// stops those that waited ProvisioningTimeout in vain. It returns the ARNs
// of the tasks it placed or stopped.
func (w *Scaling) placeWaiting(tx store.Tx, scope store.Scope, cluster, provider string, now time.Time) ([]string, error) {
	waiting, err := waitingTasks(tx, scope, cluster, provider)
	if err != nil || len(waiting) == 0 {
		return nil, err
	}
	placer, err := records.NewPlacer(tx, scope, cluster, now)
	if err != nil {
		return nil, err
	}
	placer.RandFunc = w.cfg.RandFunc
	var placed []string
	for _, wt := range waiting {
		strategies, constraints, err := waitingRules(tx, scope, cluster, wt)
		if err != nil {
			return nil, err
		}
		got, _, err := placer.Place(records.PlaceRequest{
			Requirements: records.TaskPlacementRequirements(wt.td, wt.task.Overrides),
			Count:        1, Group: deref(wt.task.Group),
			Strategies: strategies, Constraints: constraints,
			CandidateFunc: records.OfCapacityProvider(provider),
		})
		if err != nil || len(got) == 0 {
			if now.Sub(wt.rec.CreatedAt) < w.cfg.ProvisioningTimeout {
				continue // still waiting; scaling brings more
			}
			// Its capacity never came: stopped, as ECS stops it. The
			// supervisor takes it from PROVISIONING to STOPPED.
			t := ecs.RequestStop(wt.task, ProvisioningTimeoutStopCode, ProvisioningTimeoutReason, now)
			rec, err := records.FromTask(scope, t)
			if err != nil {
				return nil, err
			}
			if err := tx.PutTask(rec); err != nil {
				return nil, err
			}
			w.cfg.Logger.Info("task stopped: no capacity in time", "task", wt.rec.ID, "cluster", cluster,
				"capacityProvider", provider, "waited", now.Sub(wt.rec.CreatedAt).String())
			placed = append(placed, deref(t.TaskArn))
			continue
		}
		pl := got[0]
		t := wt.task
		records.ApplyPlacement(&t, wt.td, pl)
		t.Version++
		rec, err := records.FromTask(scope, t)
		if err != nil {
			return nil, err
		}
		records.PlacementRecord(&rec, pl)
		if err := tx.PutTask(rec); err != nil {
			return nil, err
		}
		placed = append(placed, deref(t.TaskArn))
	}
	return placed, nil
}

// waitingRules are the placement strategy and constraints a waiting task
// is placed with once its instance is there: a service's task has its
// service's (serviceRules, as when it was started), so a distinctInstance
// or memberOf constraint holds for the tasks managed scaling brings
// capacity for too; a standalone task has its RunTask request's strategy
// and constraints (kept with the task) and its revision's constraints.
func waitingRules(tx store.ReadTx, scope store.Scope, cluster string, wt waitingTask) ([]placement.Strategy, []placement.Constraint, error) {
	if name, ok := strings.CutPrefix(deref(wt.task.Group), ecs.ServiceGroup("")); ok {
		rec, err := tx.Service(scope, cluster, name)
		if err == nil {
			svc, err := records.Service(rec)
			if err != nil {
				return nil, nil, err
			}
			return serviceRules(svc, wt.td)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, nil, err
		}
	}
	return records.RequestedPlacementRules(wt.rec.RequestedPlacement, wt.td)
}

func requirementsOf(need ecs.TaskRequirements) placement.Requirements {
	r := placement.Requirements{CPU: need.CPU, Memory: need.Memory, GPUs: need.GPUs}
	for _, p := range need.Ports {
		r.Ports = append(r.Ports, placement.PortMapping{HostPort: p, Count: 1, Protocol: placement.TCP})
	}
	for _, p := range need.PortsUDP {
		r.Ports = append(r.Ports, placement.PortMapping{HostPort: p, Count: 1, Protocol: placement.UDP})
	}
	return r
}

// associatedCluster is the ACTIVE cluster (first by name) that has the
// provider: where the simulated group's instances register.
func associatedCluster(tx store.ReadTx, scope store.Scope, provider string) (string, error) {
	cls, err := tx.Clusters(scope, store.ClustersQuery{Status: store.ClusterActive})
	if err != nil {
		return "", err
	}
	for _, rec := range cls {
		cl, err := records.Cluster(rec)
		if err != nil {
			return "", err
		}
		if slices.Contains(cl.CapacityProviders, provider) {
			return rec.Name, nil
		}
	}
	return "", nil
}

// nextZone is the zone of the next instance: the region's zone with the
// fewest of the group's instances, as an Auto Scaling group balances them.
func nextZone(instances []records.GroupInstance, region string) string {
	best, bestN := "", -1
	for _, z := range records.SimZones {
		zone := region + string(z)
		n := 0
		for _, gi := range instances {
			if gi.AvailabilityZone == zone && !gi.Terminating {
				n++
			}
		}
		if bestN < 0 || n < bestN {
			best, bestN = zone, n
		}
	}
	return best
}

// launchInstance starts a simulated EC2 instance of the group, which
// registers with the cluster at once as a container instance of the
// provider.
func launchInstance(tx store.Tx, scope store.Scope, cluster, provider, zone string, now time.Time) (records.GroupInstance, error) {
	id := ecs.InstanceIdentity{
		InstanceID: "i-" + randomHex(17), ImageID: "ami-" + randomHex(17), InstanceType: records.SimInstanceType,
		AvailabilityZone: zone, Architecture: "x86_64", Region: scope.Region,
		PrivateIP: "10.1." + strconv.Itoa(int(randomByte())) + "." + strconv.Itoa(10+int(randomByte())%240),
	}
	ci := ecs.NewContainerInstance(ecs.ContainerInstanceParams{
		Region: scope.Region, Account: scope.Account, Cluster: cluster, ID: ecs.NewContainerInstanceID(),
		Identity: id, Resources: records.SimInstanceResources(), CapacityProviderName: provider,
		VersionInfo: &types.VersionInfo{AgentVersion: ptr(ecs.LatestAgentVersion), AgentHash: ptr(ecs.LatestAgentHash), DockerVersion: ptr(records.SimDockerVersion)},
		Now:         now,
	})
	rec, err := records.FromContainerInstance(scope, ci, store.InstanceSourceSimulated, time.Time{})
	if err != nil {
		return records.GroupInstance{}, err
	}
	if err := tx.PutContainerInstance(rec); err != nil {
		return records.GroupInstance{}, err
	}
	for _, a := range append(ecs.IdentityAttributes(id), ecs.AgentAttributes("linux", "LINUX")...) {
		if err := tx.PutAttribute(store.Attribute{Scope: scope, Cluster: cluster, TargetType: string(types.TargetTypeContainerInstance),
			TargetID: rec.ID, Name: deref(a.Name), Value: deref(a.Value)}); err != nil {
			return records.GroupInstance{}, err
		}
	}
	return records.GroupInstance{EC2InstanceID: id.InstanceID, AvailabilityZone: zone, LaunchedAt: now, Cluster: cluster, ContainerInstanceID: rec.ID}, nil
}

// terminateInstance deregisters an instance of the group when no task
// holds it (or, with force, whatever it holds: its tasks stop as on a
// forced deregistration). It reports whether the instance is gone.
func terminateInstance(tx store.Tx, scope store.Scope, gi records.GroupInstance, force bool, now time.Time, stopped *[]string) (bool, error) {
	if gi.ContainerInstanceID == "" {
		return true, nil
	}
	rec, err := tx.ContainerInstance(scope, gi.Cluster, gi.ContainerInstanceID)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	placed, err := tx.PlacedTasks(scope, gi.Cluster, gi.ContainerInstanceID)
	if err != nil {
		return false, err
	}
	if len(placed) > 0 && !force {
		return false, nil
	}
	for _, p := range placed {
		trec, err := tx.Task(scope, gi.Cluster, p.ID)
		if err != nil {
			return false, err
		}
		t, err := records.Task(trec)
		if err != nil {
			return false, err
		}
		// ECS's reason for the tasks of a terminated instance.
		next := ecs.RequestStop(t, types.TaskStopCodeTerminationNotice, "Host EC2 (instance "+gi.EC2InstanceID+") terminated.", now)
		nrec, err := records.FromTask(scope, next)
		if err != nil {
			return false, err
		}
		if err := tx.PutTask(nrec); err != nil {
			return false, err
		}
		*stopped = append(*stopped, deref(next.TaskArn))
	}
	return true, setInstanceStatus(tx, rec, store.InstanceInactive)
}

// drainInstance sets an instance DRAINING (managed draining): the service
// scheduler moves its service tasks and places nothing new on it.
func drainInstance(tx store.Tx, scope store.Scope, gi records.GroupInstance) error {
	rec, err := tx.ContainerInstance(scope, gi.Cluster, gi.ContainerInstanceID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil || rec.Status != store.InstanceActive {
		return err
	}
	return setInstanceStatus(tx, rec, store.InstanceDraining)
}

func setInstanceStatus(tx store.Tx, rec store.ContainerInstance, status string) error {
	ci, err := records.ContainerInstance(rec)
	if err != nil {
		return err
	}
	ci.Status = ptr(status)
	ci.Version++
	next, err := records.FromContainerInstance(rec.Scope, ci, rec.Source, rec.AgentUpdateRequestedAt)
	if err != nil {
		return err
	}
	return tx.PutContainerInstance(next)
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

func randomByte() byte {
	var b [1]byte
	rand.Read(b[:])
	return b[0]
}
