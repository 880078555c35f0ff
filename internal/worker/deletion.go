// Package worker holds ecsd's background loops. Each has the same shape:
// New(cfg, deps), Start(ctx), Stop(), and RunOnce(ctx) that tests call
// directly; time is injected. Loops re-read state on every pass, so a missed
// wake-up only delays work.
package worker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/ecsd/ecsd/internal/store"
)

// DeletionConfig tunes the task-definition deletion sweeper.
type DeletionConfig struct {
	// Delay is how long a revision stays DELETE_IN_PROGRESS after the
	// delete request and after its last task stopped. ECS documents "up to
	// 1 hour" after the last task stops.
	Delay time.Duration
	// Interval is the pause between passes.
	Interval time.Duration
	// Batch is how many due revisions one pass considers, oldest request
	// first. Revisions still in use are skipped and looked at again on the
	// next pass.
	Batch   int
	NowFunc func() time.Time
	Logger  *slog.Logger
}

// Deletion purges DELETE_IN_PROGRESS task definitions as ECS does: it
// "periodically verifies that the target task definition is not being
// referenced by any active tasks or deployments, and then deletes the task
// definition permanently". A revision is purged once its delete request is
// Delay old, no task that is not STOPPED and no service that is not
// INACTIVE uses it, and no task of it stopped less than Delay ago.
type Deletion struct {
	cfg   DeletionConfig
	store store.Store

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// NewDeletion returns a sweeper over st.
func NewDeletion(cfg DeletionConfig, st store.Store) *Deletion {
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Deletion{cfg: cfg, store: st}
}

// RunOnce purges every due revision that nothing uses and reports how many
// it purged.
func (d *Deletion) RunOnce(ctx context.Context) (int, error) {
	cutoff := d.cfg.NowFunc().Add(-d.cfg.Delay)
	purged := 0
	for {
		due, err := d.store.TaskDefinitionsToPurge(ctx, cutoff, d.cfg.Batch)
		if err != nil {
			return purged, err
		}
		n, err := d.purge(ctx, due, cutoff)
		purged += n
		// A short page is the end; a full page with nothing purgeable
		// would come back identical.
		if err != nil || len(due) < d.cfg.Batch || n == 0 {
			return purged, err
		}
	}
}

func (d *Deletion) purge(ctx context.Context, due []store.TaskDefinition, cutoff time.Time) (int, error) {
	purged := 0
	for _, td := range due {
		var used bool
		// The check and the purge share one transaction: a task cannot
		// start on the revision in between.
		err := d.store.Update(ctx, func(tx store.Tx) error {
			var err error
			if used, err = inUse(tx, td, cutoff); err != nil || used {
				return err
			}
			return tx.PurgeTaskDefinition(td.Scope, td.Family, td.Revision)
		})
		switch {
		case err == nil && used:
		case err == nil:
			purged++
			d.cfg.Logger.Info("task definition deleted", "account", td.Account, "region", td.Region,
				"family", td.Family, "revision", td.Revision)
		case errors.Is(err, store.ErrNotFound): // stores wrap it
			// Purged by another replica, or no longer DELETE_IN_PROGRESS.
		default:
			return purged, err
		}
	}
	return purged, nil
}

// inUse reports whether a revision is still referenced, or was until less
// than the delay ago.
func inUse(tx store.ReadTx, td store.TaskDefinition, cutoff time.Time) (bool, error) {
	if used, err := tx.TaskDefinitionInUse(td.Scope, td.Family, td.Revision); err != nil || used {
		return used, err
	}
	key := store.TaskDefinitionKey{Family: td.Family, Revision: td.Revision}
	for after := ""; ; {
		tasks, err := tx.Tasks(td.Scope, store.TasksQuery{TaskDefinition: &key, After: after, Limit: 500})
		if err != nil {
			return false, err
		}
		for _, t := range tasks {
			if t.StoppedAt.After(cutoff) {
				return true, nil
			}
		}
		if len(tasks) < 500 {
			return false, nil
		}
		after = tasks[len(tasks)-1].ID
	}
}

// Start runs the sweeper until Stop or ctx ends.
func (d *Deletion) Start(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cancel != nil {
		return
	}
	ctx, d.cancel = context.WithCancel(ctx)
	d.done = make(chan struct{})
	go func() {
		defer close(d.done)
		t := time.NewTicker(d.cfg.Interval)
		defer t.Stop()
		for {
			if _, err := d.RunOnce(ctx); err != nil && ctx.Err() == nil {
				d.cfg.Logger.Error("task definition deletion sweep failed", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Stop ends the sweeper and waits for its pass to finish.
func (d *Deletion) Stop() {
	d.mu.Lock()
	cancel, done := d.cancel, d.done
	d.cancel = nil
	d.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}
