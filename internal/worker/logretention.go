package worker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ecsd/ecsd/internal/store"
)

// LogRetentionConfig configures the log retention sweeper.
type LogRetentionConfig struct {
	// Interval is the pause between sweeps (default 1m).
	Interval time.Duration
	NowFunc  func() time.Time
	Logger   *slog.Logger
}

// LogRetention deletes log events older than their group's retention
// (PutRetentionPolicy), which is what bounds the Logs store: CloudWatch
// Logs expires events the same way, by their timestamp.
type LogRetention struct {
	cfg   LogRetentionConfig
	store store.LogStore

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// NewLogRetention returns a sweeper over st.
func NewLogRetention(cfg LogRetentionConfig, st store.LogStore) *LogRetention {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &LogRetention{cfg: cfg, store: st}
}

// runOnce expires what is due now.
func (w *LogRetention) runOnce(ctx context.Context) (int64, error) {
	return w.store.ExpireLogEvents(ctx, w.cfg.NowFunc())
}

// Start sweeps every Interval until Stop or ctx ends.
func (w *LogRetention) Start(ctx context.Context) {
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
			if n, err := w.runOnce(ctx); err != nil && ctx.Err() == nil {
				w.cfg.Logger.Error("log retention sweep failed", "err", err)
			} else if n > 0 {
				w.cfg.Logger.Debug("log events expired", "events", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Stop ends the sweeper and waits for it.
func (w *LogRetention) Stop() {
	w.mu.Lock()
	cancel, done := w.cancel, w.done
	w.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}
