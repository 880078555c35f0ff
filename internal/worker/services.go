package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/notify"
	"github.com/ecsd/ecsd/internal/reconcile"
	"github.com/ecsd/ecsd/internal/reconcile/capacity"
	daemonplan "github.com/ecsd/ecsd/internal/reconcile/daemon"
	"github.com/ecsd/ecsd/internal/reconcile/placement"
	"github.com/ecsd/ecsd/internal/reconcile/servicedeployment"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

// ServicesConfig tunes the service scheduler.
type ServicesConfig struct {
	// Interval is the pause between resyncs, which queue every service
	// that is not INACTIVE; kicks queue one service at once.
	Interval time.Duration
	// Workers is how many services are scheduled at the same time; their
	// writes share the store's group commits.
	Workers int
	// HealthyAfter is how long a RUNNING task without container health
	// checks runs before it counts as healthy (ECS: 40 seconds).
	HealthyAfter time.Duration
	// Throttle is the back-off between launches of a service whose tasks
	// keep failing to start (zero: reconcile.DefaultBackoff).
	Throttle reconcile.Backoff
	// Batch is the page size of the resync's walk over services.
	Batch   int
	NowFunc func() time.Time
	Logger  *slog.Logger
	// Notifier, when set, is told of every task the scheduler starts or
	// asks to stop (notify.Task), once the write has committed, so the
	// task supervisor acts on it at once.
	Notifier Notifier
	// RandFunc, when set, drives the random placement strategy and breaks
	// the ties other strategies leave (see records.Placer); nil places on
	// the first instance in ARN order.
	RandFunc func(n int) int
	// SharedStore says other processes write the store too (several ecsd
	// replicas on PostgreSQL). What the scheduler remembers about a
	// revision then lives for one read of a service only: a Reset on
	// another replica restarts revision numbers, and nothing tells this
	// one, so family:revision no longer names one document for good.
	SharedStore bool
	// PassFunc, when set, is told how long each of the running loop's
	// passes over a service took and whether it failed (the metrics).
	PassFunc func(took time.Duration, err error)
}

// Services is the service scheduler: a level-triggered loop over a
// de-duplicating queue of service ARNs. Each pass over a service re-reads
// it and its tasks, plans with reconcile.Compute, and applies the plan in
// one transaction that first checks the service is unchanged since it was
// read (a concurrent UpdateService wins; the service is queued again).
type Services struct {
	cfg   ServicesConfig
	store store.Store
	queue *keyQueue

	mu     sync.Mutex // guards cancel and done
	cancel context.CancelFunc
	done   chan struct{}

	defsMu sync.Mutex
	defs   map[defKey]bool // revision -> an essential container has a health check
}

// NewServices returns a scheduler over st.
func NewServices(cfg ServicesConfig, st store.Store) *Services {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Services{cfg: cfg, store: st, queue: newKeyQueue(), defs: map[defKey]bool{}}
}

// QueueDepth is how many services wait for a worker: queued, not yet
// handed out (those waiting on a recheck timer are not counted).
func (w *Services) QueueDepth() int { return w.queue.Len() }

// Kick queues a service (by ARN) for a pass.
func (w *Services) Kick(serviceARN string) {
	if serviceARN != "" {
		w.queue.Add(serviceARN)
	}
}

// Start runs the workers and the resync until Stop or ctx ends.
func (w *Services) Start(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil {
		return
	}
	ctx, w.cancel = context.WithCancel(ctx)
	w.done = make(chan struct{})
	w.queue.Open()
	var wg sync.WaitGroup
	for range w.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				key, ok := w.queue.Get()
				if !ok {
					return
				}
				began := time.Now()
				res, err := w.Reconcile(ctx, key)
				if f := w.cfg.PassFunc; f != nil && ctx.Err() == nil {
					f(time.Since(began), err)
				}
				w.queue.Done(key)
				switch {
				case err != nil && ctx.Err() == nil:
					w.cfg.Logger.Error("service scheduler pass failed", "service", key, "err", err)
					w.queue.AddAfter(key, w.cfg.Interval)
				case res.Raced:
					w.queue.Add(key)
				case res.RecheckAfter > 0:
					w.queue.AddAfter(key, res.RecheckAfter)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(w.cfg.Interval)
		defer t.Stop()
		for {
			if err := w.resync(ctx); err != nil && ctx.Err() == nil {
				w.cfg.Logger.Error("service scheduler resync failed", "err", err)
			}
			select {
			case <-ctx.Done():
				w.queue.Close()
				return
			case <-t.C:
			}
		}
	}()
	go func() {
		wg.Wait()
		close(w.done)
	}()
}

// Stop ends the scheduler and waits for the passes under way.
func (w *Services) Stop() {
	w.mu.Lock()
	cancel, done := w.cancel, w.done
	w.cancel = nil
	w.mu.Unlock()
	if cancel != nil {
		cancel()
		w.queue.Close()
		<-done
	}
}

// Reset forgets what the scheduler cached about task definitions, after
// the store was cleared (revision numbers start again).
func (w *Services) Reset(context.Context) error {
	w.defsMu.Lock()
	clear(w.defs)
	w.defsMu.Unlock()
	return nil
}

// resync queues every service that is not INACTIVE.
func (w *Services) resync(ctx context.Context) error {
	return w.eachService(ctx, w.queue.Add)
}

// eachService calls fn with the ARN of every service that is not
// INACTIVE, reading them a page at a time.
func (w *Services) eachService(ctx context.Context, fn func(arn string)) error {
	var after *store.Service
	for {
		var page []store.Service
		err := w.store.View(ctx, func(tx store.ReadTx) error {
			var err error
			page, err = tx.ServicesToSchedule(after, w.cfg.Batch)
			return err
		})
		if err != nil {
			return err
		}
		for _, s := range page {
			fn(ecs.ServiceARN(s.Region, s.Account, s.Cluster, s.Name))
		}
		if len(page) < w.cfg.Batch {
			return nil
		}
		after = &page[len(page)-1]
	}
}

// RunOnce makes one pass over every service that is not INACTIVE, in the
// caller's goroutine (tests call it; the running loop does the same work
// through its queue). It reports how many services it changed.
func (w *Services) RunOnce(ctx context.Context) (int, error) {
	var arns []string
	if err := w.eachService(ctx, func(arn string) { arns = append(arns, arn) }); err != nil {
		return 0, err
	}
	changed := 0
	for _, arn := range arns {
		res, err := w.Reconcile(ctx, arn)
		if err != nil {
			return changed, err
		}
		if res.Changed {
			changed++
		}
	}
	return changed, nil
}

// ServicePass says what one pass over a service did.
type ServicePass struct {
	Changed bool
	// Raced is set when the service changed between read and write; the
	// pass wrote nothing and should run again.
	Raced        bool
	Started      []string // ARNs of the tasks started
	Stopped      []string // ARNs of the tasks asked to stop
	Plan         reconcile.Plan
	RecheckAfter time.Duration
}

// snapshot is what a pass reads about one service.
type snapshot struct {
	rec       store.Service
	svc       types.Service
	tasks     []reconcile.Task
	providers map[string]int // capacity provider -> tasks kept on it
	rollback  *types.Deployment
	// daemonInstances is a DAEMON service's desired count; daemonStops
	// the tasks its instances no longer want.
	daemonInstances int
	daemonStops     []reconcile.Stop
	// placer places this pass's EC2 tasks on container instances;
	// unplaced is the event for tasks it could not place.
	placer   *records.Placer
	unplaced string
}

// Reconcile makes one pass over the service an ARN names.
func (w *Services) Reconcile(ctx context.Context, arn string) (ServicePass, error) {
	ref, ok := ecs.ParseResourceRef("service", arn)
	if !ok || ref.Cluster == "" {
		return ServicePass{}, fmt.Errorf("service scheduler: bad service ARN %q", arn)
	}
	scope := store.Scope{Account: ref.Account, Region: ref.Region}
	now := w.cfg.NowFunc().UTC().Truncate(time.Millisecond)
	snap, err := w.read(ctx, scope, ref.Cluster, ref.Name)
	if err != nil || snap == nil {
		return ServicePass{}, err
	}
	plan := reconcile.Compute(reconcile.Input{
		Service: snap.svc, Tasks: snap.tasks, Rollback: snap.rollback, Now: now, HealthyAfter: w.cfg.HealthyAfter,
		DaemonInstances: snap.daemonInstances,
		DaemonStops:     snap.daemonStops,
		Throttle:        w.cfg.Throttle,
	})
	pass := ServicePass{Plan: plan, RecheckAfter: plan.RecheckAfter}
	if plan.Empty() {
		rec, err := records.FromService(scope, plan.Service)
		if err != nil {
			return pass, err
		}
		if bytes.Equal(rec.Body, snap.rec.Body) && rec.Status == snap.rec.Status {
			return pass, nil // nothing to do, nothing changed
		}
	}
	err = w.store.Update(ctx, func(tx store.Tx) error {
		pass.Started, pass.Stopped = nil, nil
		cur, err := tx.Service(scope, ref.Cluster, ref.Name)
		if errors.Is(err, store.ErrNotFound) || err == nil && !bytes.Equal(cur.Body, snap.rec.Body) {
			pass.Raced = err == nil
			return errRaced
		}
		if err != nil {
			return err
		}
		return w.apply(tx, scope, ref.Cluster, snap, plan, now, &pass)
	})
	if errors.Is(err, errRaced) {
		return pass, nil
	}
	if err != nil {
		return pass, err
	}
	pass.Changed = true
	w.logPass(snap, plan)
	if n := w.cfg.Notifier; n != nil {
		for _, a := range pass.Started {
			n.Notify(notify.Task, a)
		}
		for _, a := range pass.Stopped {
			n.Notify(notify.Task, a)
		}
	}
	return pass, nil
}

var errRaced = errors.New("service changed since it was read")

// logPass is the info line a person follows for what a committed pass did
// to the service's deployments.
func (w *Services) logPass(snap *snapshot, plan reconcile.Plan) {
	log, name := w.cfg.Logger, deref(plan.Service.ServiceName)
	cluster := snap.rec.Cluster
	if plan.Completed != "" {
		log.Info("deployment completed", "service", name, "cluster", cluster, "deployment", plan.Completed)
	}
	if plan.Failed != "" {
		log.Warn("deployment failed: the circuit breaker tripped", "service", name, "cluster", cluster,
			"deployment", plan.Failed, "failedTasks", plan.FailureCount)
	}
	if plan.RolledBackTo != "" {
		log.Warn("deployment rolling back", "service", name, "cluster", cluster, "from", plan.Failed, "to", plan.RolledBackTo)
	}
	if plan.ThrottledFor > 0 && slices.Contains(plan.Events, ecs.EventUnableToStart(name)) {
		log.Warn("service tasks keep failing to start: launches throttled", "service", name, "cluster", cluster,
			"nextLaunchIn", plan.ThrottledFor.Round(time.Second))
	}
}

// read takes one snapshot of a service and its tasks; nil when there is
// nothing to schedule.
func (w *Services) read(ctx context.Context, scope store.Scope, cluster, name string) (*snapshot, error) {
	var snap *snapshot
	err := w.store.View(ctx, func(tx store.ReadTx) error {
		rec, err := tx.Service(scope, cluster, name)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if rec.Status == store.ServiceInactive {
			return nil
		}
		svc, err := records.Service(rec)
		if err != nil {
			return err
		}
		s := &snapshot{rec: rec, svc: svc, providers: map[string]int{}}
		var local map[defKey]bool // this read's revisions, when they may not be cached for longer
		if w.cfg.SharedStore {
			local = map[defKey]bool{}
		}
		deployments := map[string]bool{}
		for _, d := range svc.Deployments {
			deployments[deref(d.Id)] = true
		}
		for _, ts := range svc.TaskSets {
			deployments[deref(ts.Id)] = true
		}
		taskRecs, err := tx.Tasks(scope, store.TasksQuery{Cluster: cluster, Service: name})
		if err != nil {
			return err
		}
		onInstances, err := w.instanceFacts(tx, scope, cluster, svc, taskRecs)
		if err != nil {
			return err
		}
		for _, tr := range taskRecs {
			// A task of no current deployment matters only while it runs
			// (it is drained); stopped ones of old deployments are history.
			if !ecs.IsDeploymentID(tr.StartedBy) || tr.LastStatus == store.TaskStopped && !deployments[tr.StartedBy] {
				continue
			}
			// Stopped tasks from before the service was created belong to
			// an earlier service of the same name.
			if tr.CreatedAt.Before(rec.CreatedAt) {
				continue
			}
			t, err := records.Task(tr)
			if err != nil {
				return err
			}
			checked, err := w.healthChecked(tx, tr, local)
			if err != nil {
				return err
			}
			s.tasks = append(s.tasks, reconcile.Task{
				ID: tr.ID, DeploymentID: tr.StartedBy,
				DesiredStatus: tr.DesiredStatus, LastStatus: tr.LastStatus,
				HealthChecked: checked, HealthStatus: t.HealthStatus,
				CreatedAt: tr.CreatedAt, StartedAt: derefTime(t.StartedAt), StoppedAt: tr.StoppedAt,
				StopCode: t.StopCode, StoppedReason: deref(t.StoppedReason),
				Draining:       onInstances.draining[tr.ContainerInstance],
				ScaleInRank:    onInstances.rank[tr.ID],
				ProtectedUntil: tr.ProtectedUntil,
			})
			if p := deref(t.CapacityProviderName); p != "" && tr.LastStatus != store.TaskStopped && tr.DesiredStatus != store.TaskStopped {
				s.providers[p]++
			}
		}
		s.daemonInstances = onInstances.daemonInstances
		s.daemonStops = onInstances.daemonStops
		if s.rollback, err = w.rollbackTarget(tx, rec, svc); err != nil {
			return err
		}
		snap = s
		return nil
	})
	return snap, err
}

// instanceFacts is what a pass needs to know of the container instances
// under a service's tasks.
type instanceFacts struct {
	// draining holds the IDs of the cluster's DRAINING instances.
	draining map[string]bool
	// rank orders the service's tasks for scale-in (task ID -> 1, 2...).
	rank map[string]int
	// daemonInstances is, for a DAEMON service, how many ACTIVE instances
	// meet its placement constraints; daemonStops are the tasks the
	// daemon plan stops because of their instance.
	daemonInstances int
	daemonStops     []reconcile.Stop
}

// instanceFacts reads the DRAINING instances of the cluster when the
// service has tasks on instances, and, when it runs more tasks than it
// wants, ranks them for scale-in the way its placement strategy would
// (placement.SelectTasksToStop).
func (w *Services) instanceFacts(tx store.ReadTx, scope store.Scope, cluster string, svc types.Service, taskRecs []store.Task) (instanceFacts, error) {
	var f instanceFacts
	live := 0
	placed := false
	for _, tr := range taskRecs {
		if tr.LastStatus == store.TaskStopped || tr.DesiredStatus == store.TaskStopped {
			continue
		}
		live++
		placed = placed || tr.ContainerInstance != ""
	}
	daemon := svc.SchedulingStrategy == types.SchedulingStrategyDaemon
	if !placed && !daemon {
		return f, nil
	}
	recs, err := tx.ContainerInstances(scope, store.ContainerInstancesQuery{Cluster: cluster, Statuses: []string{store.InstanceDraining}})
	if err != nil {
		return f, err
	}
	group := ecs.ServiceGroup(deref(svc.ServiceName))
	for _, r := range recs {
		if daemon {
			// A daemon task is the last to leave a draining instance:
			// it stops once the other tasks there have.
			others, err := tx.PlacedTasks(scope, cluster, r.ID)
			if err != nil {
				return f, err
			}
			if slices.ContainsFunc(others, func(t store.PlacedTask) bool { return t.Group != group }) {
				continue
			}
		}
		if f.draining == nil {
			f.draining = map[string]bool{}
		}
		f.draining[r.ID] = true
	}
	if !daemon && live <= int(svc.DesiredCount) {
		return f, nil
	}
	p, err := records.NewPlacer(tx, scope, cluster, w.cfg.NowFunc())
	if err != nil {
		return f, err
	}
	if daemon {
		_, constraints, err := w.daemonRules(tx, scope, svc)
		if err != nil {
			return f, err
		}
		plan := daemonplan.Compute(daemonplan.Input{Group: group, Constraints: constraints, Instances: p.Instances(),
			Tasks: daemonTasks(scope, cluster, svc, taskRecs)})
		f.daemonInstances = plan.DesiredCount
		f.daemonStops = daemonStops(plan.Stops, svc)
		return f, nil
	}
	strategies, err := placement.Strategies(svc.PlacementStrategy)
	if err != nil || len(strategies) == 0 {
		strategies = placement.ServiceDefaultStrategies()
	}
	order := placement.SelectTasksToStop(placement.StopInput{
		Instances: p.Instances(), Group: ecs.ServiceGroup(deref(svc.ServiceName)), Count: live, Strategies: strategies,
	})
	f.rank = make(map[string]int, len(order))
	for i, arn := range order {
		f.rank[arn[strings.LastIndexByte(arn, '/')+1:]] = i + 1
	}
	return f, nil
}

// daemonTasks are a DAEMON service's placed tasks that are not stopping,
// as the daemon plan sees them. Its deployments and health are left to
// reconcile.Compute, which rolls deployments; the plan is asked only which
// instance no longer wants its task.
func daemonTasks(scope store.Scope, cluster string, svc types.Service, taskRecs []store.Task) []daemonplan.Task {
	var out []daemonplan.Task
	for _, tr := range taskRecs {
		if tr.ContainerInstance == "" || !ecs.IsDeploymentID(tr.StartedBy) ||
			tr.LastStatus == store.TaskStopped || tr.DesiredStatus == store.TaskStopped {
			continue
		}
		out = append(out, daemonplan.Task{
			ARN:          ecs.TaskARN(scope.Region, scope.Account, cluster, tr.ID),
			InstanceARN:  ecs.ContainerInstanceARN(scope.Region, scope.Account, cluster, tr.ContainerInstance),
			DeploymentID: tr.StartedBy,
		})
	}
	return out
}

// daemonStops are the daemon plan's stops the service scheduler makes
// because of the task's instance: it no longer meets the placement
// constraints, it is gone, or it runs a second task. Draining instances
// and older deployments are reconcile.Compute's (Task.Draining, the
// rolling update), which keep minimumHealthyPercent. The stoppedReason is
// the service scheduler's, naming the PRIMARY deployment.
func daemonStops(stops []daemonplan.Stop, svc types.Service) []reconcile.Stop {
	primary := ""
	for _, d := range svc.Deployments {
		if deref(d.Status) == ecs.DeploymentPrimary {
			primary = deref(d.Id)
		}
	}
	var out []reconcile.Stop
	for _, s := range stops {
		switch s.Cause {
		case daemonplan.CauseConstraintViolated, daemonplan.CauseInstanceGone, daemonplan.CauseDuplicate:
			out = append(out, reconcile.Stop{TaskID: s.TaskARN[strings.LastIndexByte(s.TaskARN, '/')+1:], Reason: ecs.StopReasonScaling(primary)})
		}
	}
	return out
}

// daemonRules are the placement rules of a DAEMON service's PRIMARY
// deployment: its constraints merged with its revision's.
func (w *Services) daemonRules(tx store.ReadTx, scope store.Scope, svc types.Service) ([]placement.Strategy, []placement.Constraint, error) {
	var td types.TaskDefinition
	for _, d := range svc.Deployments {
		if deref(d.Status) != ecs.DeploymentPrimary {
			continue
		}
		ref, err := ecs.ParseTaskDefinitionRef(deref(d.TaskDefinition))
		if err != nil {
			return nil, nil, err
		}
		rec, err := tx.TaskDefinition(scope, ref.Family, ref.Revision)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, nil, err
		}
		if err == nil {
			if td, err = records.TaskDefinition(rec); err != nil {
				return nil, nil, err
			}
		}
	}
	return serviceRules(svc, td)
}

// healthChecked reports whether an essential container of the task's
// revision defines a health check. Revisions never change, so the answer
// is cached: in local when it is not nil (SharedStore), else for the
// scheduler's life.
func (w *Services) healthChecked(tx store.ReadTx, tr store.Task, local map[defKey]bool) (bool, error) {
	k := defKey{tr.Scope, tr.TaskDefinition.Family, tr.TaskDefinition.Revision}
	if local != nil {
		if checked, ok := local[k]; ok {
			return checked, nil
		}
	} else {
		w.defsMu.Lock()
		checked, ok := w.defs[k]
		w.defsMu.Unlock()
		if ok {
			return checked, nil
		}
	}
	checked := false
	rec, err := tx.TaskDefinition(tr.Scope, k.family, k.revision)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	td, err := records.TaskDefinition(rec)
	if err != nil {
		return false, err
	}
	for _, cd := range td.ContainerDefinitions {
		if cd.HealthCheck != nil && (cd.Essential == nil || *cd.Essential) {
			checked = true
		}
	}
	if local != nil {
		local[k] = checked
		return checked, nil
	}
	w.defsMu.Lock()
	w.defs[k] = checked
	w.defsMu.Unlock()
	return checked, nil
}

// rollbackTarget finds the deployment a circuit breaker would roll back
// to (records.LastCompletedDeployment), when it might: the PRIMARY
// deployment is under way and rollback is on.
func (w *Services) rollbackTarget(tx store.ReadTx, rec store.Service, svc types.Service) (*types.Deployment, error) {
	dc := svc.DeploymentConfiguration
	if dc == nil || dc.DeploymentCircuitBreaker == nil || !dc.DeploymentCircuitBreaker.Enable || !dc.DeploymentCircuitBreaker.Rollback {
		return nil, nil
	}
	if len(svc.Deployments) == 0 || svc.Deployments[0].RolloutState != types.DeploymentRolloutStateInProgress {
		return nil, nil
	}
	return records.LastCompletedDeployment(tx, rec)
}

// apply writes a plan: the stops, the new tasks, the service with its
// events and counts, and the state of its service deployment.
func (w *Services) apply(tx store.Tx, scope store.Scope, cluster string, snap *snapshot, plan reconcile.Plan, now time.Time, pass *ServicePass) error {
	svc := plan.Service
	name := deref(svc.ServiceName)
	for _, stop := range plan.Stops {
		rec, err := tx.Task(scope, cluster, stop.TaskID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if rec.LastStatus == store.TaskStopped || rec.DesiredStatus == store.TaskStopped {
			continue
		}
		t, err := records.Task(rec)
		if err != nil {
			return err
		}
		t = ecs.RequestStop(t, types.TaskStopCodeServiceSchedulerInitiated, stop.Reason, now)
		if rec, err = records.FromTask(scope, t); err != nil {
			return err
		}
		if err := tx.PutTask(rec); err != nil {
			return err
		}
		pass.Stopped = append(pass.Stopped, deref(t.TaskArn))
	}

	var startedIDs []string
	for _, start := range plan.Starts {
		ids, arns, err := w.startTasks(tx, scope, cluster, snap, svc, start, now)
		if err != nil {
			return err
		}
		startedIDs = append(startedIDs, ids...)
		pass.Started = append(pass.Started, arns...)
	}
	messages := plan.Events
	if len(startedIDs) > 0 {
		messages = append(slices.Clip(messages), ecs.EventTasksStarted(name, startedIDs))
	}
	if snap.unplaced != "" && (len(svc.Events) == 0 || deref(svc.Events[0].Message) != snap.unplaced) {
		messages = append(slices.Clip(messages), snap.unplaced)
	}
	svc.Events = ecs.PrependServiceEvents(svc.Events, now, messages...)

	if err := w.recordDeployment(tx, scope, snap, svc, plan, now); err != nil {
		return err
	}
	rec, err := records.FromService(scope, svc)
	if err != nil {
		return err
	}
	return tx.PutService(rec)
}

// startTasks creates a deployment's new tasks from its revision, which
// may have been deregistered since: a service keeps running its revision.
func (w *Services) startTasks(tx store.Tx, scope store.Scope, cluster string, snap *snapshot, svc types.Service, start reconcile.Start, now time.Time) (ids, arns []string, err error) {
	d := start.Deployment
	ref, err := ecs.ParseTaskDefinitionRef(deref(d.TaskDefinition))
	if err != nil {
		return nil, nil, err
	}
	tdRec, err := tx.TaskDefinition(scope, ref.Family, ref.Revision)
	if err != nil {
		return nil, nil, fmt.Errorf("revision %s of deployment %s: %w", deref(d.TaskDefinition), deref(d.Id), err)
	}
	td, err := records.TaskDefinition(tdRec)
	if err != nil {
		return nil, nil, err
	}
	tags, err := w.taskTags(tx, scope, cluster, svc, deref(td.TaskDefinitionArn))
	if err != nil {
		return nil, nil, err
	}
	type slot struct {
		launch       types.LaunchType
		provider     string
		pl           *records.Placement
		provisioning bool
	}
	slots := make([]slot, start.Count)
	for i := range slots {
		launch, provider := d.LaunchType, ""
		if len(d.CapacityProviderStrategy) > 0 {
			provider = pickProvider(d.CapacityProviderStrategy, snap.providers)
			snap.providers[provider]++
			launch = types.LaunchTypeEc2
			if ecs.IsBuiltinCapacityProvider(provider) {
				launch = types.LaunchTypeFargate
			}
		}
		slots[i] = slot{launch: launch, provider: provider}
	}
	// EC2 tasks are placed in one batch per capacity provider: each
	// reserves what it takes before the next is placed.
	batches := map[string][]int{}
	var order []string
	for i, sl := range slots {
		if !onInstance(sl.launch, sl.provider) {
			continue
		}
		if _, ok := batches[sl.provider]; !ok {
			order = append(order, sl.provider)
		}
		batches[sl.provider] = append(batches[sl.provider], i)
	}
	unplaced := map[int]bool{}
	for _, provider := range order {
		idx := batches[provider]
		placed, waits, err := w.place(tx, scope, cluster, snap, svc, td, provider, len(idx), now)
		if err != nil {
			return nil, nil, err
		}
		for k, i := range idx {
			switch {
			case k < len(placed):
				slots[i].pl = &placed[k]
			case waits:
				slots[i].provisioning = true
			default:
				unplaced[i] = true // the event says why; the next pass retries
			}
		}
	}
	for i, sl := range slots {
		if unplaced[i] {
			continue
		}
		t, err := ecs.NewTask(ecs.TaskParams{
			Region: scope.Region, Account: scope.Account, Cluster: cluster,
			TaskDefinition:       td,
			StartedBy:            deref(d.Id),
			Group:                ecs.ServiceGroup(deref(svc.ServiceName)),
			LaunchType:           sl.launch,
			CapacityProviderName: sl.provider,
			NetworkConfiguration: d.NetworkConfiguration,
			Tags:                 tags,
			EnableExecuteCommand: svc.EnableExecuteCommand,
			PlatformVersion:      deref(d.PlatformVersion),
			Now:                  now,
		})
		if err != nil {
			return nil, nil, err
		}
		if sl.pl != nil {
			records.ApplyPlacement(&t, td, *sl.pl)
		}
		if sl.provisioning {
			t.LastStatus = ptr(ecs.TaskProvisioning)
		}
		rec, err := records.FromTask(scope, t)
		if err != nil {
			return nil, nil, err
		}
		if sl.pl != nil {
			records.PlacementRecord(&rec, *sl.pl)
		}
		if err := tx.PutTask(rec); err != nil {
			return nil, nil, err
		}
		if len(tags) > 0 {
			if err := tx.PutTags(scope, deref(t.TaskArn), records.FromTags(tags)); err != nil {
				return nil, nil, err
			}
		}
		ids = append(ids, rec.ID)
		arns = append(arns, deref(t.TaskArn))
	}
	return ids, arns, nil
}

// onInstance reports whether a task of this launch type or capacity
// provider runs on a container instance (EC2, or a custom provider).
func onInstance(launch types.LaunchType, provider string) bool {
	return launch == types.LaunchTypeEc2 || launch == "" && provider != "" && !ecs.IsBuiltinCapacityProvider(provider)
}

// place puts count new EC2 tasks of the service on container instances
// with the service's placement strategy (ECS's default for services when it
// has none) and constraints (the revision's merged with the service's). It
// returns the placements made; when it places fewer than count, either
// the provider's managed scaling brings capacity (waits: the tasks left
// are started in PROVISIONING) or the service event says why.
func (w *Services) place(tx store.Tx, scope store.Scope, cluster string, snap *snapshot, svc types.Service, td types.TaskDefinition, provider string, count int, now time.Time) (placed []records.Placement, waits bool, err error) {
	if snap.placer == nil {
		p, err := records.NewPlacer(tx, scope, cluster, now)
		if err != nil {
			return nil, false, err
		}
		p.RandFunc = w.cfg.RandFunc
		snap.placer = p
	}
	strategies, constraints, err := serviceRules(svc, td)
	if err != nil {
		return nil, false, err
	}
	req := records.PlaceRequest{
		Requirements: records.TaskPlacementRequirements(td, nil),
		Count:        count, Group: ecs.ServiceGroup(deref(svc.ServiceName)),
		Strategies: strategies, Constraints: constraints,
	}
	if provider != "" {
		// A provider's tasks land only on its instances.
		req.CandidateFunc = records.OfCapacityProvider(provider)
	}
	placed, failure, err := snap.placer.Place(req)
	if err != nil && !errors.Is(err, records.ErrNoContainerInstances) {
		return nil, false, err
	}
	if len(placed) < count {
		waits, werr := records.ProviderWaits(tx, scope, provider)
		if werr != nil {
			return nil, false, werr
		}
		if waits {
			// Managed scaling brings the capacity; the tasks left wait
			// in PROVISIONING.
			return placed, true, nil
		}
		snap.unplaced = records.PlacementFailureEvent(deref(svc.ServiceName), failure, err)
	}
	return placed, false, nil
}

// serviceRules are the placement strategy and constraints a service's
// tasks are placed with. A service that names no strategy spreads over
// availability zones, then instances, as ECS does.
func serviceRules(svc types.Service, td types.TaskDefinition) ([]placement.Strategy, []placement.Constraint, error) {
	strategies, constraints, err := records.PlacementRules(svc.PlacementStrategy, td.PlacementConstraints, svc.PlacementConstraints)
	if err != nil {
		return nil, nil, err
	}
	if svc.SchedulingStrategy == types.SchedulingStrategyDaemon {
		// One task per instance: no strategy, and never two on one.
		return nil, append(constraints, placement.DistinctInstance()), nil
	}
	if len(strategies) == 0 {
		strategies = placement.ServiceDefaultStrategies()
	}
	return strategies, constraints, nil
}

// taskTags are the tags a service gives its tasks: the service's or the
// revision's (propagateTags), and with enableECSManagedTags the cluster
// and service names.
func (w *Services) taskTags(tx store.ReadTx, scope store.Scope, cluster string, svc types.Service, tdARN string) ([]types.Tag, error) {
	var tags []types.Tag
	from := ""
	switch svc.PropagateTags {
	case types.PropagateTagsService:
		from = store.ServiceARN(scope, cluster, deref(svc.ServiceName))
	case types.PropagateTagsTaskDefinition:
		from = tdARN
	}
	if from != "" {
		st, err := tx.Tags(from)
		if err != nil {
			return nil, err
		}
		tags = records.Tags(st)
	}
	if svc.EnableECSManagedTags {
		tags = append(tags,
			types.Tag{Key: ptr("aws:ecs:clusterName"), Value: ptr(cluster)},
			types.Tag{Key: ptr("aws:ecs:serviceName"), Value: svc.ServiceName})
	}
	return tags, nil
}

// pickProvider chooses the capacity provider of the next task by the
// strategy's base and weight, counting the service's tasks on each
// provider (capacity.Distribute).
func pickProvider(strategy []types.CapacityProviderStrategyItem, running map[string]int) string {
	counts, err := capacity.Distribute(capacity.StrategyFrom(strategy), 1, running)
	if err != nil {
		return deref(strategy[0].CapacityProvider) // validated at CreateService; never all zero
	}
	for i, n := range counts {
		if n > 0 {
			return deref(strategy[i].CapacityProvider)
		}
	}
	return deref(strategy[0].CapacityProvider)
}

// recordDeployment writes what the plan did to the service's current
// service deployment (servicedeployment.Advance decides).
func (w *Services) recordDeployment(tx store.Tx, scope store.Scope, snap *snapshot, svc types.Service, plan reconcile.Plan, now time.Time) error {
	arn := deref(svc.CurrentServiceDeployment)
	if arn == "" || plan.Completed == "" && plan.Failed == "" && !failedTasksChanged(snap, svc) {
		return nil
	}
	rec, err := tx.ServiceDeployment(scope, arn)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	sd, err := records.ServiceDeployment(rec)
	if err != nil {
		return err
	}
	sd, changed := servicedeployment.Advance(sd, svc, servicedeployment.Outcome{
		Completed: plan.Completed, Failed: plan.Failed, FailureCount: plan.FailureCount, RolledBackTo: plan.RolledBackTo,
	}, now)
	if !changed {
		return nil
	}
	if rec, err = records.FromServiceDeployment(scope, sd); err != nil {
		return err
	}
	return tx.PutServiceDeployment(rec)
}

// failedTasksChanged reports whether the plan changed the failedTasks of
// a deployment, which the service deployment's circuit breaker reports.
func failedTasksChanged(snap *snapshot, svc types.Service) bool {
	before := map[string]int32{}
	for _, d := range snap.svc.Deployments {
		before[deref(d.Id)] = d.FailedTasks
	}
	for _, d := range svc.Deployments {
		if before[deref(d.Id)] != d.FailedTasks {
			return true
		}
	}
	return false
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func timePtr(t time.Time) *time.Time { return &t }

// keyQueue is a de-duplicating work queue of keys: a key queued while it
// waits is queued once; a key queued while a worker holds it is handed
// out again once that worker is done, never to two workers at once.
type keyQueue struct {
	mu         sync.Mutex
	cond       *sync.Cond
	items      []string
	queued     map[string]bool
	processing map[string]bool
	closed     bool
}

func newKeyQueue() *keyQueue {
	q := &keyQueue{queued: map[string]bool{}, processing: map[string]bool{}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Add queues key unless it is queued already.
func (q *keyQueue) Add(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.queued[key] {
		return
	}
	q.queued[key] = true
	if q.processing[key] {
		return // Done queues it again
	}
	q.items = append(q.items, key)
	q.cond.Signal()
}

// Len is how many keys wait to be handed out.
func (q *keyQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// AddAfter queues key after d.
func (q *keyQueue) AddAfter(key string, d time.Duration) {
	time.AfterFunc(d, func() { q.Add(key) })
}

// Get waits for a key; ok is false once the queue is closed.
func (q *keyQueue) Get() (key string, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return "", false
	}
	key, q.items = q.items[0], q.items[1:]
	delete(q.queued, key)
	q.processing[key] = true
	return key, true
}

// Done releases a key a worker got; if it was queued meanwhile, it is
// handed out again.
func (q *keyQueue) Done(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.processing, key)
	if q.queued[key] {
		q.items = append(q.items, key)
		q.cond.Signal()
	}
}

// Open makes a closed queue usable again (Start after Stop).
func (q *keyQueue) Open() {
	q.mu.Lock()
	q.closed = false
	q.mu.Unlock()
}

// Close wakes every waiting Get with ok false.
func (q *keyQueue) Close() {
	q.mu.Lock()
	q.closed = true
	q.cond.Broadcast()
	q.mu.Unlock()
}
