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

	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/ecs"
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

// TasksConfig tunes the task supervisor.
type TasksConfig struct {
	// TransitionDelay is how long a task stays in each lifecycle state
	// before the next; 0 moves as fast as the runtime allows.
	TransitionDelay time.Duration
	// StoppedRetention is how long a STOPPED task stays describable. ECS
	// documents "at least one hour".
	StoppedRetention time.Duration
	// Interval is the pause between passes when nothing kicks the loop;
	// it bounds how late a container's own exit is noticed.
	Interval time.Duration
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
	// then live for one pass only: a Reset on another replica restarts
	// revision numbers, and nothing tells this one.
	SharedStore bool
	// PassFunc, when set, is told how long each of the running loop's
	// passes took and whether it failed (the metrics).
	PassFunc func(took time.Duration, err error)
}

// Tasks is the task supervisor: a level-triggered loop that walks every
// task that is not STOPPED through its lifecycle. Each pass re-reads the
// tasks, makes the runtime match each task's state (start its containers,
// stop them), observes the containers and records the next state with
// ecs.AdvanceTask. Driver calls happen outside store transactions; a write
// applies only if the task is unchanged since it was read, so a StopTask
// that raced a pass is never lost (the next pass sees it).
type Tasks struct {
	cfg    TasksConfig
	store  store.Store
	driver driver.Driver

	mu     sync.Mutex // guards cancel and done
	cancel context.CancelFunc
	done   chan struct{}
	kick   chan struct{}

	passMu   sync.Mutex         // one pass at a time; guards what follows
	entered  map[string]entered // task ID -> when it entered its lastStatus
	decoded  map[string]decodedTask
	defs     map[defKey]types.TaskDefinition
	lastReap time.Time
	lastTrim time.Time
	removals sync.WaitGroup // Reset's background removals
}

type entered struct {
	status  string
	version int64
	at      time.Time
}

// decodedTask caches a task's decoded document by its stored bytes, so an
// idle pass over thousands of tasks does not decode them all again.
type decodedTask struct {
	body []byte
	task types.Task
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
	if cfg.ReapInterval <= 0 {
		cfg.ReapInterval = time.Minute
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
		kick:    make(chan struct{}, 1),
		entered: map[string]entered{},
		decoded: map[string]decodedTask{},
		defs:    map[defKey]types.TaskDefinition{},
	}
}

// Kick wakes the loop at once; key (a task ARN) is informational: every
// pass looks at every task.
func (w *Tasks) Kick(key string) {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

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

// RunOnce makes one pass over every task that is not STOPPED, then purges
// STOPPED tasks past their retention and, now and then, orphaned
// container groups.
func (w *Tasks) RunOnce(ctx context.Context) (PassResult, error) {
	w.passMu.Lock()
	defer w.passMu.Unlock()
	var res PassResult
	if w.cfg.SharedStore {
		clear(w.defs)
	}
	seen := map[string]bool{}
	after := ""
	for {
		page, defs, err := w.readPage(ctx, after)
		if err != nil {
			return res, err
		}
		if err := w.supervise(ctx, page, defs, seen, &res); err != nil {
			return res, err
		}
		if len(page) < w.cfg.Batch {
			break
		}
		after = page[len(page)-1].ID
	}
	for id := range w.entered {
		if !seen[id] {
			delete(w.entered, id)
		}
	}
	for id := range w.decoded {
		if !seen[id] {
			delete(w.decoded, id)
		}
	}
	n, err := w.purge(ctx)
	res.Purged = n
	if err != nil {
		return res, err
	}
	if now := w.cfg.NowFunc(); w.lastReap.IsZero() || now.Sub(w.lastReap) >= w.cfg.ReapInterval {
		n, err := w.reap(ctx)
		res.Reaped = n
		if err != nil {
			return res, err
		}
		w.lastReap = now
	}
	if now := w.cfg.NowFunc(); w.cfg.KeepStopped != 0 && (w.lastTrim.IsZero() || now.Sub(w.lastTrim) >= w.cfg.TrimInterval) {
		n, err := w.trimStopped(ctx)
		res.Trimmed = n
		if err != nil {
			return res, err
		}
		w.lastTrim = now
	}
	return res, nil
}

// readPage reads a page of tasks to supervise and the revisions they run
// that are not cached yet, in one snapshot.
func (w *Tasks) readPage(ctx context.Context, after string) ([]store.Task, map[defKey]types.TaskDefinition, error) {
	var page []store.Task
	err := w.store.View(ctx, func(tx store.ReadTx) error {
		var err error
		if page, err = tx.TasksToSupervise(after, w.cfg.Batch); err != nil {
			return err
		}
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
			// A revision's containers never change, so the cache never
			// goes stale; it only grows with the revisions in use.
			w.defs[k] = td
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("task supervisor: read tasks: %w", err)
	}
	return page, w.defs, nil
}

// pending is one task's outcome of a pass, waiting to be written.
type pending struct {
	read    store.Task // as read: the write applies only if still so
	rec     store.Task
	arn     string
	task    types.Task // what rec holds
	written bool
}

func (w *Tasks) supervise(ctx context.Context, page []store.Task, defs map[defKey]types.TaskDefinition, seen map[string]bool, res *PassResult) error {
	var writes []pending
	for _, rec := range page {
		seen[rec.ID] = true
		if rec.ExternalAgent {
			continue // its agent runs it and reports (control's agent API)
		}
		td, ok := defs[defKey{rec.Scope, rec.TaskDefinition.Family, rec.TaskDefinition.Revision}]
		if !ok {
			w.cfg.Logger.Error("task supervisor: task definition of task not found", "task", rec.ID,
				"family", rec.TaskDefinition.Family, "revision", rec.TaskDefinition.Revision)
			continue
		}
		task, err := w.decode(rec)
		if err != nil {
			w.cfg.Logger.Error("task supervisor: undecodable task", "task", rec.ID, "err", err)
			continue
		}
		next, changed, err := w.step(ctx, rec.ID, task, td, rec.Reservation.Dynamic, res)
		if err != nil {
			w.cfg.Logger.Error("task supervisor: runtime", "task", rec.ID, "err", err)
			continue
		}
		if !changed {
			continue
		}
		out, err := records.FromTask(rec.Scope, next)
		if err != nil {
			return fmt.Errorf("task supervisor: %w", err)
		}
		writes = append(writes, pending{read: rec, rec: out, arn: deref(next.TaskArn), task: next})
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
				raced++ // StopTask (or a reset) got there first; the next pass sees it
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
		return fmt.Errorf("task supervisor: write tasks: %w", err)
	}
	for _, p := range writes {
		if p.written && p.read.LastStatus != p.rec.LastStatus {
			w.logTransition(p.rec, p.task)
		}
	}
	res.Changed += len(writes) - raced
	res.Raced += raced
	if raced > 0 {
		w.Kick("") // look again soon rather than at the next resync
	}
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

// decode returns the task a record holds, from the cache when its bytes
// have not changed. Cached tasks are never modified: AdvanceTask copies.
func (w *Tasks) decode(rec store.Task) (types.Task, error) {
	if d, ok := w.decoded[rec.ID]; ok && bytes.Equal(d.body, rec.Body) {
		return d.task, nil
	}
	task, err := records.Task(rec)
	if err != nil {
		return types.Task{}, err
	}
	w.decoded[rec.ID] = decodedTask{body: rec.Body, task: task}
	return task, nil
}

// maxSteps bounds the transitions of one task in one pass; a full life
// takes eight.
const maxSteps = 12

// step makes the runtime match the task and advances it as far as it can
// go now.
func (w *Tasks) step(ctx context.Context, id string, task types.Task, td types.TaskDefinition, ports []store.DynamicPort, res *PassResult) (types.Task, bool, error) {
	now := w.cfg.NowFunc().UTC().Truncate(time.Millisecond)
	start := task
	for range maxSteps {
		obs, err := w.ensure(ctx, id, task, td, ports)
		if err != nil {
			return start, false, err
		}
		last := deref(task.LastStatus)
		e, ok := w.entered[id]
		if !ok || e.status != last {
			// First sight of this state (or a restart): the delay counts
			// from now.
			e = entered{status: last, version: task.Version, at: now}
			w.entered[id] = e
		}
		due := !now.Before(e.at.Add(w.cfg.TransitionDelay))
		next, changed := ecs.AdvanceTask(task, ecs.StepInput{Definition: td, Observed: obs, Now: now, Due: due})
		if !due && last != ecs.TaskStopped {
			if at := e.at.Add(w.cfg.TransitionDelay); res.NextDue.IsZero() || at.Before(res.NextDue) {
				res.NextDue = at
			}
		}
		if !changed {
			break
		}
		task = next
		if s := deref(task.LastStatus); s != last {
			w.entered[id] = entered{status: s, version: task.Version, at: now}
		}
	}
	return task, task.Version != start.Version, nil
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
	obs := ecs.Observation{Present: true}
	for _, c := range spec.Containers {
		obs.Containers = append(obs.Containers, ecs.ObservedContainer{
			Name: c.Name, State: ecs.ObservedExited, Health: types.HealthStatusUnknown,
			Reason: "CannotCreateContainerError: " + msg,
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

// Start runs the supervisor until Stop or ctx ends.
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
		for {
			began := time.Now()
			res, err := w.RunOnce(ctx)
			if f := w.cfg.PassFunc; f != nil && ctx.Err() == nil {
				f(time.Since(began), err)
			}
			if err != nil && ctx.Err() == nil {
				w.cfg.Logger.Error("task supervisor pass failed", "err", err)
			}
			wait := w.cfg.Interval
			if !res.NextDue.IsZero() {
				if d := time.Until(res.NextDue); d < wait {
					wait = max(d, time.Millisecond)
				}
			}
			if res.Changed > 0 && w.cfg.TransitionDelay == 0 {
				wait = 0 // keep going while tasks move
			}
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-w.kick:
			case <-timer.C:
			}
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
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
	clear(w.decoded)
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
