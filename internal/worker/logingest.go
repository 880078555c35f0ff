package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/cwlogs"
	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

// LogIngestConfig configures the awslogs ingester.
type LogIngestConfig struct {
	// BatchLines and FlushEvery bound how long a line waits before it is
	// stored: a batch is written when it is this long or this old
	// (defaults 1000 lines, 200ms), so a chatty container costs one
	// transaction per thousand lines and a quiet one shows its line within
	// a fifth of a second.
	BatchLines int
	FlushEvery time.Duration
	// SweepEvery is how often the followers that could not start (a
	// container still pulling, a log group not created yet) are tried
	// again; default 5s.
	SweepEvery time.Duration
	// ResyncEvery is how often every live task is looked at although no
	// notice named it (default 10 minutes); the ingester also looks at
	// every live task when it starts. Notices (Kick) name every task
	// whose state changes, so this is a safety net, and an idle ecsd
	// with many tasks does not read them all every few seconds.
	ResyncEvery time.Duration
	Logger      *slog.Logger
}

// LogIngest copies the output of containers whose task definition names
// the awslogs log driver into the Logs store, as the awslogs driver ships
// it to CloudWatch Logs: group awslogs-group (created when
// awslogs-create-group is "true"; otherwise it must exist), stream
// awslogs-stream-prefix/container-name/task-id in the region
// awslogs-region of the task's account, each line an event with the time
// the runtime received it.
//
// It follows each container through driver.LogReader from the last event
// stored, so a restart of ecsd neither loses nor repeats lines (lines in
// the same millisecond as the last one stored are matched by text).
type LogIngest struct {
	cfg    LogIngestConfig
	store  store.Store
	logs   store.LogStore
	reader driver.LogReader

	mu     sync.Mutex
	active map[string]bool // task ID + "/" + container: being followed
	done   map[string]bool // followed to the container's exit
	// again holds the latest record of a task kicked while one of its
	// containers was being followed: if that follower ends unfinished
	// (the container was not created yet), the task is looked at again
	// at once rather than at the next sweep, which a task that stopped
	// meanwhile never gets.
	again map[string]store.Task
	// retry holds, by container key, the tasks whose follower ended
	// unfinished. The sweep reads only tasks that are not STOPPED; it
	// looks at these again too, so the lines of a task that stopped
	// before they were stored (its container followed too early, a
	// store error, a group created after the task stopped) still land,
	// as the runtime still has them. An entry goes when its container is
	// followed to the end or its task is deleted.
	retry  map[string]store.Task
	kicked map[string]store.Task
	// kickedARNs are the tasks named by notices (Kick), read when the
	// loop wakes.
	kickedARNs map[string]bool
	wake       chan struct{}
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	// warned remembers the missing groups already logged, so a task
	// writing to one is reported once, not every sweep.
	warned map[string]bool
}

// NewLogIngest returns an ingester reading containers through reader.
func NewLogIngest(cfg LogIngestConfig, st store.Store, logs store.LogStore, reader driver.LogReader) *LogIngest {
	if cfg.BatchLines <= 0 {
		cfg.BatchLines = 1000
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = 200 * time.Millisecond
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = 5 * time.Second
	}
	if cfg.ResyncEvery <= 0 {
		cfg.ResyncEvery = 10 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &LogIngest{
		cfg: cfg, store: st, logs: logs, reader: reader,
		active: map[string]bool{}, done: map[string]bool{}, kicked: map[string]store.Task{},
		again: map[string]store.Task{}, retry: map[string]store.Task{}, kickedARNs: map[string]bool{},
		wake: make(chan struct{}, 1), warned: map[string]bool{},
	}
}

// Kick tells the ingester a task (by ARN) changed state (notify.TaskStatus);
// it never blocks.
func (w *LogIngest) Kick(taskARN string) {
	w.mu.Lock()
	w.kickedARNs[taskARN] = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// kickTask has the loop look at a task it holds the record of.
func (w *LogIngest) kickTask(t store.Task) {
	w.mu.Lock()
	w.kicked[t.ID] = t
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Start runs the ingester until Stop or ctx ends.
func (w *LogIngest) Start(ctx context.Context) {
	w.mu.Lock()
	if w.cancel != nil {
		w.mu.Unlock()
		return
	}
	ctx, w.cancel = context.WithCancel(ctx)
	w.mu.Unlock()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		t := time.NewTicker(w.cfg.SweepEvery)
		defer t.Stop()
		resync := time.NewTicker(w.cfg.ResyncEvery)
		defer resync.Stop()
		w.sweep(ctx)
		for {
			select {
			case <-ctx.Done():
				return
			case <-w.wake:
				w.mu.Lock()
				kicked, arns := w.kicked, w.kickedARNs
				w.kicked, w.kickedARNs = map[string]store.Task{}, map[string]bool{}
				w.mu.Unlock()
				defs := map[defKey]types.TaskDefinition{}
				for _, task := range kicked {
					w.consider(ctx, task, defs)
				}
				w.considerARNs(ctx, arns, defs)
			case <-t.C:
				w.sweepRetries(ctx, true)
			case <-resync.C:
				w.sweep(ctx)
			}
		}
	}()
}

// Stop ends every follower and waits for them; lines read are stored
// first.
func (w *LogIngest) Stop() {
	w.mu.Lock()
	cancel := w.cancel
	w.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	w.wg.Wait()
}

// considerARNs looks at the tasks named.
func (w *LogIngest) considerARNs(ctx context.Context, arns map[string]bool, defs map[defKey]types.TaskDefinition) {
	if len(arns) == 0 {
		return
	}
	var tasks []store.Task
	err := w.store.View(ctx, func(tx store.ReadTx) error {
		tasks = tasks[:0]
		for arn := range arns {
			ref, ok := ecs.ParseResourceRef("task", arn)
			if !ok || !ref.IsARN || ref.Cluster == "" {
				continue
			}
			t, err := tx.Task(store.Scope{Account: ref.Account, Region: ref.Region}, ref.Cluster, ref.Name)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			tasks = append(tasks, t)
		}
		return nil
	})
	if err != nil {
		if ctx.Err() == nil {
			w.cfg.Logger.Error("log ingester: read tasks", "err", err)
		}
		return
	}
	for _, t := range tasks {
		w.consider(ctx, t, defs)
	}
}

// sweep looks at every task that is not stopped.
func (w *LogIngest) sweep(ctx context.Context) {
	defs := map[defKey]types.TaskDefinition{} // one read of each revision per sweep
	after := ""
	for ctx.Err() == nil {
		var page []store.Task
		err := w.store.View(ctx, func(tx store.ReadTx) error {
			var err error
			page, err = tx.TasksToSupervise(after, 200)
			return err
		})
		if err != nil {
			if ctx.Err() == nil {
				w.cfg.Logger.Error("log ingester: read tasks", "err", err)
			}
			return
		}
		for _, t := range page {
			w.consider(ctx, t, defs)
		}
		if len(page) < 200 {
			break
		}
		after = page[len(page)-1].ID
	}
	w.sweepRetries(ctx, false)
}

// sweepRetries looks again at the tasks whose follower ended unfinished,
// as they are now: with all, every one of them (between sweeps); else
// only the STOPPED ones (a sweep's pages held the others).
func (w *LogIngest) sweepRetries(ctx context.Context, all bool) {
	defs := map[defKey]types.TaskDefinition{}
	w.mu.Lock()
	byTask := map[string]store.Task{}
	for _, t := range w.retry {
		byTask[t.ID] = t
	}
	w.mu.Unlock()
	for _, old := range byTask {
		if ctx.Err() != nil {
			return
		}
		var cur store.Task
		err := w.store.View(ctx, func(tx store.ReadTx) error {
			var err error
			cur, err = tx.Task(old.Scope, old.Cluster, old.ID)
			return err
		})
		switch {
		case errors.Is(err, store.ErrNotFound):
			// Deleted (retention, a reset): its containers are gone too.
			w.mu.Lock()
			for k, t := range w.retry {
				if t.ID == old.ID {
					delete(w.retry, k)
				}
			}
			w.mu.Unlock()
		case err != nil:
			if ctx.Err() == nil {
				w.cfg.Logger.Error("log ingester: read task", "task", old.ID, "err", err)
			}
			return
		case all || cur.LastStatus == store.TaskStopped:
			w.consider(ctx, cur, defs)
		}
	}
}

// awslogsTarget is where one container's output goes.
type awslogsTarget struct {
	scope       store.Scope
	group       string
	stream      string
	createGroup bool
}

// consider starts a follower for each awslogs container of t not yet
// followed. defs holds the revisions the caller's pass has read.
func (w *LogIngest) consider(ctx context.Context, rec store.Task, defs map[defKey]types.TaskDefinition) {
	if rec.ExternalAgent {
		return // an agent outside ecsd runs it; ecsd's runtime has no output
	}
	k := defKey{rec.Scope, rec.TaskDefinition.Family, rec.TaskDefinition.Revision}
	td, ok := defs[k]
	if !ok {
		err := w.store.View(ctx, func(tx store.ReadTx) error {
			tdRec, err := tx.TaskDefinition(rec.Scope, rec.TaskDefinition.Family, rec.TaskDefinition.Revision)
			if err != nil {
				return err
			}
			td, err = records.TaskDefinition(tdRec)
			return err
		})
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
				w.cfg.Logger.Error("log ingester: read task definition", "task", rec.ID, "err", err)
			}
			return
		}
		defs[k] = td
	}
	for _, cd := range td.ContainerDefinitions {
		lc := cd.LogConfiguration
		if lc == nil || lc.LogDriver != types.LogDriverAwslogs || cd.Name == nil {
			continue
		}
		o := lc.Options
		target := awslogsTarget{
			scope:       store.Scope{Account: rec.Account, Region: o["awslogs-region"]},
			group:       o["awslogs-group"],
			stream:      cwlogs.AwslogsStreamName(o["awslogs-stream-prefix"], *cd.Name, rec.ID),
			createGroup: strings.EqualFold(o["awslogs-create-group"], "true"),
		}
		if target.scope.Region == "" {
			target.scope.Region = rec.Region
		}
		if target.group == "" {
			continue
		}
		key := rec.ID + "/" + *cd.Name
		w.mu.Lock()
		skip := w.active[key] || w.done[key]
		if w.active[key] {
			w.again[key] = rec
		}
		if !skip {
			w.active[key] = true
		}
		w.mu.Unlock()
		if skip {
			continue
		}
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			finished := w.follow(ctx, rec, *cd.Name, target)
			w.mu.Lock()
			delete(w.active, key)
			again, kicked := w.again[key]
			delete(w.again, key)
			if finished {
				w.done[key] = true
				delete(w.retry, key)
			} else {
				if !kicked {
					again = rec
				}
				w.retry[key] = again
			}
			w.mu.Unlock()
			if !finished && kicked && ctx.Err() == nil {
				w.kickTask(again)
			}
		}()
	}
}

// follow copies one container's output until it exits (true) or the
// follower must try again later (false).
func (w *LogIngest) follow(ctx context.Context, rec store.Task, container string, t awslogsTarget) bool {
	taskID := rec.ID
	// Where to resume: the last event stored and the texts stored in its
	// millisecond.
	var since time.Time
	seenAtLast := map[string]int{}
	last, err := w.logs.GetLogEvents(ctx, t.scope, t.group, t.stream, store.LogEventsQuery{Backward: true, Limit: 1})
	switch {
	case err == nil && len(last) == 1:
		ms := last[0].Timestamp
		since = time.UnixMilli(ms)
		end := ms + 1
		same, err := w.logs.GetLogEvents(ctx, t.scope, t.group, t.stream, store.LogEventsQuery{Start: &ms, End: &end, Limit: 10000})
		if err != nil {
			return false
		}
		for _, e := range same {
			seenAtLast[e.Message]++
		}
	case err == nil, errors.Is(err, store.ErrNotFound):
		// Nothing stored yet: the stream (or group) is made with the
		// first batch.
		if !t.createGroup {
			if _, err := w.logs.LogGroup(ctx, t.scope, t.group); errors.Is(err, store.ErrNotFound) {
				w.mu.Lock()
				first := !w.warned[t.scope.Region+"/"+t.group]
				w.warned[t.scope.Region+"/"+t.group] = true
				w.mu.Unlock()
				if first {
					w.cfg.Logger.Warn("awslogs: the log group does not exist and awslogs-create-group is not true; the container's output is kept by the runtime until the group is created",
						"task", taskID, "container", container, "group", t.group, "region", t.scope.Region)
				}
				return false
			}
		}
	default:
		if ctx.Err() == nil {
			w.cfg.Logger.Error("log ingester: read stream", "group", t.group, "stream", t.stream, "err", err)
		}
		return false
	}

	lines := make(chan store.LogEvent, 4*w.cfg.BatchLines)
	writeErr := make(chan error, 1)
	go func() { writeErr <- w.write(t, lines) }()
	sinceMs := since.UnixMilli()
	emit := func(l driver.LogLine) error {
		if l.Text == "" {
			return nil // the awslogs driver skips empty lines; CloudWatch refuses them
		}
		ms := l.Time.UnixMilli()
		if !since.IsZero() {
			if ms < sinceMs {
				return nil
			}
			if ms == sinceMs && seenAtLast[l.Text] > 0 {
				seenAtLast[l.Text]--
				return nil
			}
		}
		select {
		case lines <- store.LogEvent{Timestamp: ms, Message: l.Text}:
			return nil
		case err := <-writeErr:
			writeErr <- err
			return fmt.Errorf("store: %w", err)
		}
	}
	// A runtime without the containers has either not started them yet
	// (a sweep or a kick can see a task between RunTask and the
	// supervisor starting it) or removed them after the task stopped.
	// The task's state tells which, but only when read after the
	// runtime answered, and then the runtime must be asked once more:
	// the task may have started, run and stopped in between. The
	// supervisor never starts the containers of a STOPPED task, so a
	// second answer after that state is seen is final.
	read := func() error {
		return w.reader.Logs(ctx, taskID, container, driver.LogOptions{Follow: true, Since: since}, emit)
	}
	final := false
	err = read()
	if errors.Is(err, driver.ErrNotFound) && w.gone(ctx, rec) {
		final = true
		err = read()
	}
	close(lines)
	werr := <-writeErr
	switch {
	case werr != nil:
		if ctx.Err() == nil {
			w.cfg.Logger.Error("log ingester: store events", "group", t.group, "stream", t.stream, "err", werr)
		}
		return false
	case err == nil:
		return ctx.Err() == nil
	case errors.Is(err, driver.ErrNotRunning):
		return false // not created yet: the next kick or sweep tries again
	case errors.Is(err, driver.ErrNotFound):
		return final // seen after STOPPED: removed or never started; before, not started yet
	default:
		if ctx.Err() == nil {
			w.cfg.Logger.Error("log ingester: read container output", "task", taskID, "container", container, "err", err)
		}
		return false
	}
}

// gone says whether a task whose containers the runtime does not have
// will never have them: it is STOPPED or deleted.
func (w *LogIngest) gone(ctx context.Context, rec store.Task) bool {
	var cur store.Task
	err := w.store.View(ctx, func(tx store.ReadTx) error {
		var err error
		cur, err = tx.Task(rec.Scope, rec.Cluster, rec.ID)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return true
	case err != nil:
		return false // try again later
	}
	return cur.LastStatus == store.TaskStopped
}

// write stores lines in batches until lines is closed.
func (w *LogIngest) write(t awslogsTarget, lines <-chan store.LogEvent) error {
	batch := make([]store.LogEvent, 0, w.cfg.BatchLines)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		// Not the follower's context: lines read before a shutdown are
		// stored before it completes.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := w.logs.PutLogEvents(ctx, t.scope, t.group, t.stream, batch, true)
		batch = batch[:0]
		return err
	}
	for {
		select {
		case e, ok := <-lines:
			if !ok {
				return flush()
			}
			if len(batch) == 0 {
				timer.Reset(w.cfg.FlushEvery)
			}
			batch = append(batch, e)
			if len(batch) >= w.cfg.BatchLines {
				timer.Stop()
				if err := flush(); err != nil {
					return err
				}
			}
		case <-timer.C:
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// Reset forgets which containers were followed to the end (after POST
// /moto-api/reset the store has none of their lines).
func (w *LogIngest) Reset(ctx context.Context) error {
	w.mu.Lock()
	w.done = map[string]bool{}
	w.warned = map[string]bool{}
	w.retry = map[string]store.Task{}
	w.mu.Unlock()
	return nil
}
