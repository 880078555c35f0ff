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
	// Delay is how long a revision stays DELETE_IN_PROGRESS after nothing
	// uses it. ECS documents "up to 1 hour" after the last task stops.
	Delay time.Duration
	// Interval is the pause between passes.
	Interval time.Duration
	// Batch is the most revisions purged in one pass.
	Batch   int
	NowFunc func() time.Time
	Logger  *slog.Logger
}

// Deletion purges DELETE_IN_PROGRESS task definitions once their delay has
// passed. Until ecsd runs tasks and services nothing can use a revision, so
// the delay alone decides; the in-use check arrives with the scheduler.
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
		cfg.Batch = 100
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Deletion{cfg: cfg, store: st}
}

// RunOnce purges every revision that is due and reports how many it purged.
func (d *Deletion) RunOnce(ctx context.Context) (int, error) {
	purged := 0
	for {
		due, err := d.store.TaskDefinitionsToPurge(ctx, d.cfg.NowFunc().Add(-d.cfg.Delay), d.cfg.Batch)
		if err != nil {
			return purged, err
		}
		for _, td := range due {
			err := d.store.PurgeTaskDefinition(ctx, td.Scope, td.Family, td.Revision)
			switch {
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
		if len(due) < d.cfg.Batch {
			return purged, nil
		}
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
