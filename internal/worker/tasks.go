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
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/notify"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

// Labels the supervisor puts on every container group, named as the ECS
// agent names its Docker labels, so groups can be matched to tasks after a
// restart and orphans found.
const (
	LabelManaged       = "ecsd.managed"
	LabelTaskARN       = "com.amazonaws.ecs.task-arn"
	LabelCluster       = "com.amazonaws.ecs.cluster"
	LabelFamily        = "com.amazonaws.ecs.task-definition-family"
	LabelRevision      = "com.amazonaws.ecs.task-definition-version"
	LabelContainerName = "com.amazonaws.ecs.container-name"
)

// Notifier carries a loop's change notice to the loops that act on it, in
// this replica and the others (notify.Hub in ecsd). Loops call it once
// their write has committed.
type Notifier interface {
	Notify(topic notify.Topic, key string)
}

// TasksConfig tunes the task supervisor.
type TasksConfig struct {
	// TransitionDelay is how long a task stays in each lifecycle state
	// before the next; 0 moves as fast as the runtime allows.
	TransitionDelay time.Duration
	// StoppedRetention is how long a STOPPED task stays describable. ECS
	// documents "at least one hour".
	StoppedRetention time.Duration
	// Interval is the pause between housekeeping passes: purging STOPPED
	// tasks past their retention (default 1s). Tasks themselves are
	// looked at when a notice names them or their next change is due, not
	// on an interval.
	Interval time.Duration
	// ResyncInterval is how often every task that is not STOPPED is
	// looked at although nothing named it: the safety net for a notice
	// lost (a replica's LISTEN connection dropped) and a runtime that
	// does not report every change (default 10 minutes: a resync reads
	// and inspects every live task, about 100 µs each, so with 100,000
	// tasks it averages under 2% of a CPU). The loop also resyncs once
	// when it starts, to adopt what it finds.
	ResyncInterval time.Duration
	// Notifier, when set, is told of every task the supervisor writes
	// (notify.TaskStatus, and notify.Service for a service's task), once
	// the write has committed.
	Notifier Notifier
	// NextChangeFunc, when set, says when the runtime's report of a group
	// will next change by itself (the simulated runtime knows: a container
	// scripted to exit after 30 seconds); zero if it will not. The
	// supervisor looks at the task again then. Runtimes without it report
	// changes as they happen (notify.Group) and are resynced.
	NextChangeFunc func(ctx context.Context, id string) (time.Time, error)
	// KeepStopped bounds how many STOPPED tasks keep their container
	// groups: past it, the groups of the tasks that stopped longest ago
	// are removed (their output handed to ArchiveFunc first), though the
	// tasks stay describable. 0 keeps every group until its task is
	// purged; negative keeps none.
	KeepStopped int
	// ArchiveFunc, if set, keeps a stopped group's output before the
	// group is removed for KeepStopped.
	ArchiveFunc func(ctx context.Context, g driver.GroupState) error
	// TrimInterval is how often KeepStopped is enforced (default 5s).
	TrimInterval time.Duration
	// ReapInterval is how often container groups without a task are
	// removed.
	ReapInterval time.Duration
	// StopTimeout is the stop timeout of containers that set none (ECS:
	// 30 seconds).
	StopTimeout time.Duration
	// Batch is the page size of each read and the most tasks written in
	// one transaction.
	Batch int
	// SpecFunc, if set, completes the group of a task before it starts
	// (the server adds the metadata endpoint's variables).
	SpecFunc func(spec *driver.GroupSpec, task types.Task, td types.TaskDefinition)
	NowFunc  func() time.Time
	Logger   *slog.Logger
	// SharedStore says other processes write the store too (several ecsd
	// replicas on PostgreSQL). The decoded revisions the supervisor keeps
	// then live for one batch only: a Reset on another replica restarts
	// revision numbers, and nothing tells this one.
	SharedStore bool
	// PassFunc, when set, is told how long each of the running loop's
	// passes took and whether it failed (the metrics).
	PassFunc func(took time.Duration, err error)
}

// Tasks is the task supervisor: a level-triggered loop over a keyed work
// queue of task ARNs that walks each task through its lifecycle. A task is
// looked at when a notice names it (RunTask, StopTask, the scheduler, the
// runtime saw its containers change), when its next change is due (the
// transition delay, a simulated container's scripted exit), and at the
// slow resync; an idle task costs nothing between. Each look re-reads the
// task, makes the runtime match its state (start its containers, stop
// them), observes the containers and records the next state with
// ecs.AdvanceTask. Driver calls happen outside store transactions; a write
// applies only if the task is unchanged since it was read, so a StopTask
// that raced a look is never lost (the task is queued again).
type Tasks struct {
	cfg    TasksConfig
	store  store.Store
	driver driver.Driver
	queue  *dueQueue

	mu     sync.Mutex // guards cancel and done
	cancel context.CancelFunc
	done   chan struct{}

	passMu sync.Mutex // one pass at a time; guards what follows
	// entered says when a task entered its lastStatus, for the
	// transition delay; empty when there is none (the default), so an
	// idle task is remembered nowhere.
	entered   map[string]entered
	defs      map[defKey]types.TaskDefinition
	lastReap  time.Time
	lastTrim  time.Time
	lastPurge time.Time
	removals  sync.WaitGroup // Reset's background removals
	// resync asks the running loop for a resync at once (Resync).
	resync atomic.Bool
}

// groupKey marks a queue key that is a runtime group's ID (notify.Group)
// rather than a task ARN; the group's labels name its task.
const groupKey = "group:"

type entered struct {
	status  string
	version int64
	at      time.Time
}

type defKey struct {
	scope    store.Scope
	family   string
	revision int
}

// NewTasks returns a supervisor over st running containers on drv.
func NewTasks(cfg TasksConfig, st store.Store, drv driver.Driver) *Tasks {
	if cfg.StoppedRetention <= 0 {
		cfg.StoppedRetention = time.Hour
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.ResyncInterval <= 0 {
		cfg.ResyncInterval = 10 * time.Minute
	}
	if cfg.ReapInterval <= 0 {
		// Listing every group and reading its task costs as much as a
		// resync; orphans (a reset's missed removals) can wait as long.
		cfg.ReapInterval = 10 * time.Minute
	}
	if cfg.TrimInterval <= 0 {
		cfg.TrimInterval = 5 * time.Second
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 30 * time.Second
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
	return &Tasks{
		cfg: cfg, store: st, driver: drv,
		queue:   newDueQueue(),
		entered: map[string]entered{},
		defs:    map[defKey]types.TaskDefinition{},
	}
}

// Kick queues a task (by ARN) for a look; "" looks at nothing.
func (w *Tasks) Kick(taskARN string) {
	if taskARN != "" {
		w.queue.Add(taskARN)
	}
}

// KickGroup queues the task whose runtime group (by ID) changed.
func (w *Tasks) KickGroup(id string) {
	if id != "" {
		w.queue.Add(groupKey + id)
	}
}

// Resync has the running loop look at every live task at once, as at its
// periodic resync: for when notices may have been missed (a replica's
// LISTEN connection was re-established).
func (w *Tasks) Resync() {
	w.resync.Store(true)
	w.queue.signal()
}

// QueueDepth is how many tasks wait for a look, now or at a later time.
func (w *Tasks) QueueDepth() int { return w.queue.Len() }

// PassResult says what one pass did.
type PassResult struct {
	Changed int // tasks written
	Raced   int // writes skipped because the task changed meanwhile
	Purged  int // STOPPED tasks deleted after their retention
	Trimmed int // groups of STOPPED tasks removed for KeepStopped
	Reaped  int // container groups removed because their task is gone
	// NextDue is the earliest time a task becomes due for its next
	// transition (zero: none waits on the delay).
	NextDue time.Time
}

// RunOnce makes one pass over every task that is not STOPPED (the
// resync), then does the housekeeping: purges STOPPED tasks past their
// retention and, now and then, orphaned container groups. Tests call it
// directly; the running loop calls it at start and every ResyncInterval,
// and looks at single tasks with RunQueued in between.
func (w *Tasks) RunOnce(ctx context.Context) (PassResult, error) {
	w.passMu.Lock()
	defer w.passMu.Unlock()
	var res PassResult
	if w.cfg.SharedStore {
		clear(w.defs)
	}
	var seen map[string]bool
	if w.cfg.TransitionDelay > 0 {
		seen = map[string]bool{}
	}
	after := ""
	for {
		var page []store.Task
		err := w.store.View(ctx, func(tx store.ReadTx) error {
			var err error
			if page, err = tx.TasksToSupervise(after, w.cfg.Batch); err != nil {
				return err
			}
			return w.readDefs(tx, page)
		})
		if err != nil {
			return res, fmt.Errorf("task supervisor: read tasks: %w", err)
		}
		if err := w.supervise(ctx, page, seen, &res); err != nil {
			return res, err
		}
		if len(page) < w.cfg.Batch {
			break
		}
		after = page[len(page)-1].ID
	}
	if seen != nil {
		for id := range w.entered {
			if !seen[id] {
				delete(w.entered, id)
			}
		}
	}
	return res, w.housekeepLocked(ctx, &res)
}

// RunQueued looks at the tasks queued now or due by now, at most Batch
// of them, and reports whether there were any.
func (w *Tasks) RunQueued(ctx context.Context) (PassResult, bool, error) {
	w.passMu.Lock()
	defer w.passMu.Unlock()
	var res PassResult
	keys := w.queue.Take(w.cfg.NowFunc(), w.cfg.Batch)
	if len(keys) == 0 {
		return res, false, nil
	}
	if w.cfg.SharedStore {
		clear(w.defs)
	}
	refs := make([]ecs.ResourceRef, 0, len(keys))
	for _, k := range keys {
		if id, ok := strings.CutPrefix(k, groupKey); ok {
			// The runtime names the group; its label names the task.
			g, err := w.driver.Inspect(ctx, id)
			if err != nil {
				continue // gone: reap's, if anyone's
			}
			k = g.Labels[LabelTaskARN]
		}
		if ref, ok := ecs.ParseResourceRef("task", k); ok && ref.IsARN && ref.Cluster != "" {
			refs = append(refs, ref)
		}
	}
	var page []store.Task
	err := w.store.View(ctx, func(tx store.ReadTx) error {
		page = page[:0]
		for _, ref := range refs {
			rec, err := tx.Task(store.Scope{Account: ref.Account, Region: ref.Region}, ref.Cluster, ref.Name)
			if errors.Is(err, store.ErrNotFound) {
				delete(w.entered, ref.Name)
				continue
			}
			if err != nil {
				return err
			}
			if rec.LastStatus == store.TaskStopped {
				delete(w.entered, ref.Name)
				continue
			}
			page = append(page, rec)
		}
		return w.readDefs(tx, page)
	})
	if err != nil {
		for _, k := range keys {
			w.queue.AddAt(k, w.cfg.NowFunc().Add(w.cfg.Interval)) // try again
		}
		return res, true, fmt.Errorf("task supervisor: read tasks: %w", err)
	}
	return res, true, w.supervise(ctx, page, nil, &res)
}

// housekeepLocked purges STOPPED tasks past their retention and, when
// due, removes orphaned and surplus container groups.
func (w *Tasks) housekeepLocked(ctx context.Context, res *PassResult) error {
	w.lastPurge = w.cfg.NowFunc()
	n, err := w.purge(ctx)
	res.Purged = n
	if err != nil {
		return err
	}
	if now := w.cfg.NowFunc(); w.lastReap.IsZero() || now.Sub(w.lastReap) >= w.cfg.ReapInterval {
		n, err := w.reap(ctx)
		res.Reaped = n
		if err != nil {
			return err
		}
		w.lastReap = now
	}
	if now := w.cfg.NowFunc(); w.cfg.KeepStopped != 0 && (w.lastTrim.IsZero() || now.Sub(w.lastTrim) >= w.cfg.TrimInterval) {
		n, err := w.trimStopped(ctx)
		res.Trimmed = n
		if err != nil {
			return err
		}
		w.lastTrim = now
	}
	return nil
}

// Housekeep is the housekeeping of RunOnce without the resync.
func (w *Tasks) Housekeep(ctx context.Context) (PassResult, error) {
	w.passMu.Lock()
	defer w.passMu.Unlock()
	var res PassResult
	return res, w.housekeepLocked(ctx, &res)
}

// readDefs reads the revisions the tasks run that are not cached yet.
func (w *Tasks) readDefs(tx store.ReadTx, page []store.Task) error {
	for _, rec := range page {
		k := defKey{rec.Scope, rec.TaskDefinition.Family, rec.TaskDefinition.Revision}
		if _, ok := w.defs[k]; ok {
			continue
		}
		tdRec, err := tx.TaskDefinition(rec.Scope, k.family, k.revision)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		td, err := records.TaskDefinition(tdRec)
		if err != nil {
			return err
		}
		// A revision's containers never change, so the cache never goes
		// stale; it only grows with the revisions in use.
		w.defs[k] = td
	}
	return nil
}

// pending is one task's outcome of a pass, waiting to be written.
type pending struct {
	read    store.Task // as read: the write applies only if still so
	rec     store.Task
	arn     string
	task    types.Task // what rec holds
	written bool
}

// supervise steps every task of page, writes those that changed and
// schedules the next look at each that waits for a time.
func (w *Tasks) supervise(ctx context.Context, page []store.Task, seen map[string]bool, res *PassResult) error {
	var writes []pending
	for _, rec := range page {
		if seen != nil {
			seen[rec.ID] = true
		}
		if rec.ExternalAgent {
			continue // its agent runs it and reports (control's agent API)
		}
		td, ok := w.defs[defKey{rec.Scope, rec.TaskDefinition.Family, rec.TaskDefinition.Revision}]
		if !ok {
			w.cfg.Logger.Error("task supervisor: task definition of task not found", "task", rec.ID,
				"family", rec.TaskDefinition.Family, "revision", rec.TaskDefinition.Revision)
			continue
		}
		task, err := records.Task(rec)
		if err != nil {
			w.cfg.Logger.Error("task supervisor: undecodable task", "task", rec.ID, "err", err)
			continue
		}
		arn := deref(task.TaskArn)
		next, changed, due, err := w.step(ctx, rec.ID, task, td, rec.Reservation.Dynamic)
		if err != nil {
			w.cfg.Logger.Error("task supervisor: runtime", "task", rec.ID, "err", err)
			// Look again soon rather than at the resync.
			w.queue.AddAt(arn, w.cfg.NowFunc().Add(w.cfg.Interval))
			continue
		}
		if !due.IsZero() {
			w.queue.AddAt(arn, due)
			if res.NextDue.IsZero() || due.Before(res.NextDue) {
				res.NextDue = due
			}
		}
		if !changed {
			continue
		}
		out, err := records.FromTask(rec.Scope, next)
		if err != nil {
			return fmt.Errorf("task supervisor: %w", err)
		}
		writes = append(writes, pending{read: rec, rec: out, arn: arn, task: next})
	}
	if len(writes) == 0 {
		return nil
	}
	raced := 0
	err := w.store.Update(ctx, func(tx store.Tx) error {
		raced = 0
		for i := range writes {
			p := &writes[i]
			p.written = false
			cur, err := tx.Task(p.read.Scope, p.read.Cluster, p.read.ID)
			if errors.Is(err, store.ErrNotFound) || err == nil && !bytes.Equal(cur.Body, p.read.Body) {
				raced++ // StopTask (or a reset) got there first
				continue
			}
			if err != nil {
				return err
			}
			if err := tx.PutTask(p.rec); err != nil {
				return err
			}
			p.written = true
		}
		return nil
	})
	if err != nil {
		for _, p := range writes {
			w.queue.AddAt(p.arn, w.cfg.NowFunc().Add(w.cfg.Interval))
		}
		return fmt.Errorf("task supervisor: write tasks: %w", err)
	}
	for _, p := range writes {
		if !p.written {
			w.queue.Add(p.arn) // look again at what the racing write left
			continue
		}
		if p.read.LastStatus != p.rec.LastStatus {
			w.logTransition(p.rec, p.task)
		}
		if n := w.cfg.Notifier; n != nil {
			n.Notify(notify.TaskStatus, p.arn)
			if p.rec.Service != "" {
				n.Notify(notify.Service, ecs.ServiceARN(p.rec.Region, p.rec.Account, p.rec.Cluster, p.rec.Service))
			}
		}
	}
	res.Changed += len(writes) - raced
	res.Raced += raced
	return nil
}

// logTransition is the info line a person follows: a task that started,
// or stopped (with its stop code and reason; a pull failure says so).
func (w *Tasks) logTransition(rec store.Task, t types.Task) {
	log := w.cfg.Logger
	attrs := []any{"task", rec.ID, "cluster", rec.Cluster, "taskDefinition", fmt.Sprintf("%s:%d", rec.TaskDefinition.Family, rec.TaskDefinition.Revision)}
	if rec.Service != "" {
		attrs = append(attrs, "service", rec.Service)
	}
	switch rec.LastStatus {
	case store.TaskRunning:
		log.Info("task started", attrs...)
	case store.TaskStopped:
		reason := deref(t.StoppedReason)
		attrs = append(attrs, "stopCode", string(t.StopCode), "stoppedReason", reason)
		for _, c := range t.Containers {
			if r := deref(c.Reason); strings.HasPrefix(r, "CannotPullContainerError") {
				log.Warn("image pull failed", "task", rec.ID, "container", deref(c.Name), "image", deref(c.Image), "reason", r)
			}
			if c.ExitCode != nil {
				attrs = append(attrs, "exitCode."+deref(c.Name), *c.ExitCode)
			}
		}
		log.Info("task stopped", attrs...)
	}
}

// maxSteps bounds the transitions of one task in one pass; a full life
// takes eight.
const maxSteps = 12

// step makes the runtime match the task and advances it as far as it can
// go now. due is when the task should be looked at again although nothing
// names it (zero: only then): its transition delay ends, or the runtime
// expects its containers to change.
func (w *Tasks) step(ctx context.Context, id string, task types.Task, td types.TaskDefinition, ports []store.DynamicPort) (next types.Task, changed bool, due time.Time, err error) {
	now := w.cfg.NowFunc().UTC().Truncate(time.Millisecond)
	start := task
	delay := w.cfg.TransitionDelay
	for range maxSteps {
		obs, err := w.ensure(ctx, id, task, td, ports)
		if err != nil {
			return start, false, time.Time{}, err
		}
		last := deref(task.LastStatus)
		isDue := true
		due = time.Time{}
		if delay > 0 {
			e, ok := w.entered[id]
			if !ok || e.status != last {
				// First sight of this state (or a restart): the delay
				// counts from now.
				e = entered{status: last, version: task.Version, at: now}
				w.entered[id] = e
			}
			isDue = !now.Before(e.at.Add(delay))
			if !isDue && last != ecs.TaskStopped {
				due = e.at.Add(delay)
			}
		}
		next, changed := ecs.AdvanceTask(task, ecs.StepInput{Definition: td, Observed: obs, Now: now, Due: isDue})
		if !changed {
			break
		}
		task = next
		if s := deref(task.LastStatus); s != last && delay > 0 {
			w.entered[id] = entered{status: s, version: task.Version, at: now}
		}
	}
	if deref(task.LastStatus) == ecs.TaskStopped {
		delete(w.entered, id)
		return task, task.Version != start.Version, time.Time{}, nil
	}
	if f := w.cfg.NextChangeFunc; f != nil {
		at, err := f(ctx, id)
		if err != nil && !errors.Is(err, driver.ErrNotFound) {
			return start, false, time.Time{}, err
		}
		if !at.IsZero() && (due.IsZero() || at.Before(due)) {
			due = at
		}
	}
	return task, task.Version != start.Version, due, nil
}

// ensure makes the runtime do what the task's state wants (start its
// containers, or ask them to stop) and reports what the runtime has. ports
// are the dynamic host ports placement chose for the task, which the
// runtime publishes as the ECS agent has Docker publish them.
func (w *Tasks) ensure(ctx context.Context, id string, task types.Task, td types.TaskDefinition, ports []store.DynamicPort) (ecs.Observation, error) {
	g, err := w.driver.Inspect(ctx, id)
	present := err == nil
	if err != nil && !errors.Is(err, driver.ErrNotFound) {
		return ecs.Observation{}, err
	}
	switch ecs.WantFor(task) {
	case ecs.WantRunning:
		if !present && deref(task.DesiredStatus) == ecs.TaskRunning && deref(task.LastStatus) == ecs.TaskActivating {
			spec := GroupSpec(id, task, td)
			ApplyDynamicPorts(&spec, ports)
			if w.cfg.SpecFunc != nil {
				w.cfg.SpecFunc(&spec, task, td)
			}
			if err := w.driver.Start(ctx, spec); errors.Is(err, driver.ErrRefused) {
				// The runtime will never run this group: the task fails to
				// start, in ECS's words, with the runtime's reason.
				return refused(spec, err), nil
			} else if err != nil {
				return ecs.Observation{}, err
			}
			if g, err = w.driver.Inspect(ctx, id); err != nil {
				return ecs.Observation{}, err
			}
			present = true
		}
	case ecs.WantStopped:
		if present && g.StopRequestedAt.IsZero() && g.Running() {
			if err := w.driver.Stop(ctx, id, w.cfg.StopTimeout); err != nil && !errors.Is(err, driver.ErrNotFound) {
				return ecs.Observation{}, err
			}
			g, err = w.driver.Inspect(ctx, id)
			present = err == nil
			if err != nil && !errors.Is(err, driver.ErrNotFound) {
				return ecs.Observation{}, err
			}
		}
	}
	if !present {
		return ecs.Observation{}, nil
	}
	return observation(g), nil
}

// refused is what a group the runtime refused looks like: every container
// gave up starting, with the runtime's words as the reason.
func refused(spec driver.GroupSpec, err error) ecs.Observation {
	msg := strings.TrimPrefix(err.Error(), driver.ErrRefused.Error()+": ")
	reason := "CannotCreateContainerError: " + msg
	if strings.HasPrefix(msg, "ResourceInitializationError: ") {
		// The runtime already named ECS's error (an env file ecsd
		// could not read): no container was ever created.
		reason = msg
	}
	obs := ecs.Observation{Present: true}
	for _, c := range spec.Containers {
		obs.Containers = append(obs.Containers, ecs.ObservedContainer{
			Name: c.Name, State: ecs.ObservedExited, Health: types.HealthStatusUnknown,
			Reason: reason,
		})
	}
	return obs
}

// observation translates the runtime's report into the domain's terms.
func observation(g driver.GroupState) ecs.Observation {
	obs := ecs.Observation{Present: true, Containers: make([]ecs.ObservedContainer, 0, len(g.Containers))}
	for _, c := range g.Containers {
		oc := ecs.ObservedContainer{
			Name: c.Name, Reason: c.Reason, Health: types.HealthStatus(c.Health),
			RuntimeID: c.RuntimeID, ImageDigest: c.ImageDigest,
			PulledAt: c.PulledAt, StartedAt: c.StartedAt, FinishedAt: c.FinishedAt,
		}
		switch c.Status {
		case driver.StatusRunning:
			oc.State = ecs.ObservedRunning
		case driver.StatusExited:
			oc.State = ecs.ObservedExited
		default:
			oc.State = ecs.ObservedCreated
		}
		if c.ExitCode != nil {
			code := int32(*c.ExitCode)
			oc.ExitCode = &code
		}
		for _, b := range c.NetworkBindings {
			oc.NetworkBindings = append(oc.NetworkBindings, types.NetworkBinding{
				BindIP: ptr(b.BindIP), ContainerPort: ptr(int32(b.ContainerPort)), HostPort: ptr(int32(b.HostPort)),
				Protocol: types.TransportProtocol(b.Protocol),
			})
		}
		obs.Containers = append(obs.Containers, oc)
	}
	return obs
}

// purge deletes STOPPED tasks past their retention, after removing their
// containers from the runtime.
func (w *Tasks) purge(ctx context.Context) (int, error) {
	cutoff := w.cfg.NowFunc().Add(-w.cfg.StoppedRetention)
	purged := 0
	for {
		var due []store.Task
		if err := w.store.View(ctx, func(tx store.ReadTx) error {
			var err error
			due, err = tx.StoppedTasksBefore(cutoff, w.cfg.Batch)
			return err
		}); err != nil {
			return purged, fmt.Errorf("task supervisor: read stopped tasks: %w", err)
		}
		if len(due) == 0 {
			return purged, nil
		}
		for _, t := range due {
			if err := w.driver.Remove(ctx, t.ID); err != nil && !errors.Is(err, driver.ErrNotFound) {
				return purged, fmt.Errorf("task supervisor: remove containers of %s: %w", t.ID, err)
			}
		}
		n := 0
		err := w.store.Update(ctx, func(tx store.Tx) error {
			n = 0
			for _, t := range due {
				cur, err := tx.Task(t.Scope, t.Cluster, t.ID)
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				if err != nil {
					return err
				}
				if cur.LastStatus != store.TaskStopped || cur.StoppedAt.After(cutoff) {
					continue
				}
				if err := tx.DeleteTask(t.Scope, t.Cluster, t.ID); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return purged, fmt.Errorf("task supervisor: delete stopped tasks: %w", err)
		}
		purged += n
		for _, t := range due {
			w.cfg.Logger.Debug("stopped task deleted after retention", "task", t.ID, "cluster", t.Cluster)
		}
		if len(due) < w.cfg.Batch || n == 0 {
			return purged, nil
		}
	}
}

// trimStopped removes the container groups of the STOPPED tasks that
// stopped longest ago, beyond the newest KeepStopped, archiving their
// output first. The ECS agent removes a stopped task's containers after
// ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION (3 hours); a service whose tasks
// keep failing would otherwise leave a pile of them until then.
func (w *Tasks) trimStopped(ctx context.Context) (int, error) {
	groups, err := w.driver.List(ctx, map[string]string{LabelManaged: "true"})
	if err != nil {
		return 0, fmt.Errorf("task supervisor: list container groups: %w", err)
	}
	type stoppedGroup struct {
		g  driver.GroupState
		at time.Time
	}
	var stopped []stoppedGroup
	err = w.store.View(ctx, func(tx store.ReadTx) error {
		for _, g := range groups {
			ref, ok := ecs.ParseResourceRef("task", g.Labels[LabelTaskARN])
			if !ok || ref.Cluster == "" {
				continue
			}
			t, err := tx.Task(store.Scope{Account: ref.Account, Region: ref.Region}, ref.Cluster, ref.Name)
			if errors.Is(err, store.ErrNotFound) {
				continue // reap's
			}
			if err != nil {
				return err
			}
			if t.LastStatus == store.TaskStopped {
				stopped = append(stopped, stoppedGroup{g, t.StoppedAt})
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("task supervisor: find stopped tasks' containers: %w", err)
	}
	keep := max(w.cfg.KeepStopped, 0)
	if len(stopped) <= keep {
		return 0, nil
	}
	slices.SortFunc(stopped, func(a, b stoppedGroup) int { return b.at.Compare(a.at) }) // newest first
	n := 0
	for _, s := range stopped[keep:] {
		if f := w.cfg.ArchiveFunc; f != nil {
			if err := f(ctx, s.g); err != nil {
				w.cfg.Logger.Warn("could not keep a stopped task's output before removing its containers", "group", s.g.ID, "err", err)
			}
		}
		if err := w.driver.Remove(ctx, s.g.ID); err != nil && !errors.Is(err, driver.ErrNotFound) {
			return n, fmt.Errorf("task supervisor: remove containers of stopped %s: %w", s.g.ID, err)
		}
		n++
	}
	w.cfg.Logger.Debug("removed the containers of stopped tasks beyond --keep-stopped-containers", "removed", n, "kept", keep)
	return n, nil
}

// reap removes container groups whose task no longer exists (deleted by a
// reset, or purged while the removal failed).
func (w *Tasks) reap(ctx context.Context) (int, error) {
	groups, err := w.driver.List(ctx, map[string]string{LabelManaged: "true"})
	if err != nil {
		return 0, fmt.Errorf("task supervisor: list container groups: %w", err)
	}
	if len(groups) == 0 {
		return 0, nil
	}
	var orphans []string
	err = w.store.View(ctx, func(tx store.ReadTx) error {
		for _, g := range groups {
			arn := g.Labels[LabelTaskARN]
			ref, ok := ecs.ParseResourceRef("task", arn)
			if !ok || ref.Cluster == "" {
				continue // not ours to judge
			}
			_, err := tx.Task(store.Scope{Account: ref.Account, Region: ref.Region}, ref.Cluster, ref.Name)
			if errors.Is(err, store.ErrNotFound) {
				orphans = append(orphans, g.ID)
				continue
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("task supervisor: find orphans: %w", err)
	}
	n := 0
	for _, id := range orphans {
		if err := w.driver.Remove(ctx, id); err != nil && !errors.Is(err, driver.ErrNotFound) {
			return n, fmt.Errorf("task supervisor: remove orphan %s: %w", id, err)
		}
		n++
		w.cfg.Logger.Info("removed containers of a task that no longer exists", "group", id)
	}
	return n, nil
}

// Start runs the supervisor until Stop or ctx ends: a resync at once and
// every ResyncInterval, housekeeping every Interval, and in between a look
// at each task as it is queued or falls due.
func (w *Tasks) Start(ctx context.Context) {
	w.mu.Lock()
	if w.cancel != nil {
		w.mu.Unlock()
		return
	}
	ctx, w.cancel = context.WithCancel(ctx)
	w.done = make(chan struct{})
	w.mu.Unlock()
	go func() {
		defer close(w.done)
		timer := time.NewTimer(0)
		defer timer.Stop()
		var resyncAt, housekeepAt time.Time // zero: now
		for ctx.Err() == nil {
			now := w.cfg.NowFunc()
			began := time.Now()
			var err error
			ran := true
			switch {
			case w.resync.Swap(false) || !now.Before(resyncAt):
				_, err = w.RunOnce(ctx)
				resyncAt = now.Add(w.cfg.ResyncInterval)
				housekeepAt = now.Add(w.cfg.Interval)
			case !now.Before(housekeepAt):
				_, err = w.Housekeep(ctx)
				housekeepAt = now.Add(w.cfg.Interval)
			default:
				_, ran, err = w.RunQueued(ctx)
			}
			if ran {
				if f := w.cfg.PassFunc; f != nil && ctx.Err() == nil {
					f(time.Since(began), err)
				}
				if err != nil && ctx.Err() == nil {
					w.cfg.Logger.Error("task supervisor pass failed", "err", err)
				}
				continue // more may be queued or due
			}
			// Nothing ready: sleep until a key is queued, the earliest
			// due time, the housekeeping or the resync.
			wake := min(housekeepAt.Sub(now), resyncAt.Sub(now))
			if at, ready := w.queue.Next(); ready {
				continue
			} else if !at.IsZero() {
				wake = min(wake, at.Sub(now))
			}
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			timer.Reset(max(wake, time.Millisecond))
			select {
			case <-ctx.Done():
			case <-w.queue.wake:
			case <-timer.C:
			}
		}
	}()
}

// Stop ends the supervisor and waits for its pass to finish.
func (w *Tasks) Stop() {
	w.mu.Lock()
	cancel, done := w.cancel, w.done
	w.cancel = nil
	w.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func seconds(p *int32, def int32) time.Duration {
	return time.Duration(derefInt32(p, def)) * time.Second
}

func derefInt32(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func ptr[T any](v T) *T { return &v }

// Reset forgets everything the supervisor learned and removes every
// container group it manages, for the reset endpoint: after the store is
// cleared, no task may keep running, and revision numbers start again, so
// cached revisions would be wrong. It returns once the groups are listed;
// they are removed in the background (thousands of Docker containers take
// minutes, and the reset answers as soon as the state is gone). Groups a
// removal misses are orphans the next reap removes.
func (w *Tasks) Reset(ctx context.Context) error {
	w.passMu.Lock()
	defer w.passMu.Unlock()
	clear(w.defs)
	clear(w.entered)
	w.queue.Clear()
	groups, err := w.driver.List(ctx, map[string]string{LabelManaged: "true"})
	if err != nil {
		return fmt.Errorf("task supervisor: list container groups: %w", err)
	}
	if len(groups) == 0 {
		return nil
	}
	w.removals.Add(1)
	go func() {
		defer w.removals.Done()
		// Not the request's context: the removal outlives the reply.
		rctx := context.WithoutCancel(ctx)
		for _, g := range groups {
			if err := w.driver.Remove(rctx, g.ID); err != nil && !errors.Is(err, driver.ErrNotFound) {
				w.cfg.Logger.Warn("reset: could not remove a task's containers; the reaper retries", "group", g.ID, "err", err)
			}
		}
		w.cfg.Logger.Info("reset: removed the containers of every task", "groups", len(groups))
	}()
	return nil
}

// WaitResetRemovals waits for the background removals Reset started.
func (w *Tasks) WaitResetRemovals() { w.removals.Wait() }
