package server

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/ecsd/ecsd/internal/control"
	"github.com/ecsd/ecsd/internal/driver"
)

// nodeResync is how often the node loop runs without a kick: container
// instances set DRAINING by managed draining (the scaling loop writes the
// store directly) are cordoned at the latest this late.
const nodeResync = 15 * time.Second

// nodeLoop keeps the kubernetes runtime's nodes and their container
// instances in step, both ways: a node that appears, goes, changes its
// resources or labels or its Ready condition is (re)registered in every
// cluster (control.SyncNodeInstances), and a node whose instance is
// DRAINING in any cluster is cordoned, uncordoned once none is (its own
// cordons only). It is kicked by the node informer and by
// UpdateContainerInstancesState; a failed pass (the API server away) is
// retried on the next kick or resync.
type nodeLoop struct {
	ctl    *control.Control
	hosts  driver.HostLister
	logger *slog.Logger

	kick   chan struct{}
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

func newNodeLoop(ctl *control.Control, hosts driver.HostLister, logger *slog.Logger) *nodeLoop {
	return &nodeLoop{ctl: ctl, hosts: hosts, logger: logger, kick: make(chan struct{}, 1)}
}

// Kick asks for a pass soon; it never blocks.
func (l *nodeLoop) Kick() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

func (l *nodeLoop) Start(ctx context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cancel != nil {
		return
	}
	ctx, l.cancel = context.WithCancel(ctx)
	l.done = make(chan struct{})
	go func() {
		defer close(l.done)
		t := time.NewTicker(nodeResync)
		defer t.Stop()
		for {
			if err := l.runOnce(ctx); err != nil && ctx.Err() == nil {
				l.logger.Warn("kubernetes: syncing nodes with container instances failed; retrying", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-l.kick:
			case <-t.C:
			}
		}
	}()
}

func (l *nodeLoop) Stop() {
	l.mu.Lock()
	cancel, done := l.cancel, l.done
	l.cancel = nil
	l.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// runOnce registers the nodes, then cordons and uncordons them.
func (l *nodeLoop) runOnce(ctx context.Context) error {
	err := l.ctl.SyncNodeInstances(ctx)
	draining, derr := l.ctl.NodeDraining(ctx)
	if derr != nil {
		return errors.Join(err, derr)
	}
	for _, h := range l.hosts.Hosts() {
		want, ok := draining[h.Name]
		if !ok || want == h.Draining || want && h.Unschedulable {
			continue
		}
		if e := l.hosts.SetDraining(ctx, h.Name, want); e != nil && !errors.Is(e, driver.ErrNotFound) {
			err = errors.Join(err, e)
		}
	}
	return err
}

// nodeInstances is what the kubernetes runtime's hosts are as container
// instances.
func nodeInstances(hosts driver.HostLister) func() []control.NodeInstance {
	return func() []control.NodeInstance {
		hs := hosts.Hosts()
		out := make([]control.NodeInstance, 0, len(hs))
		for _, h := range hs {
			out = append(out, control.NodeInstance{
				Name: h.Name, Ready: h.Ready, CPU: h.CPU, Memory: h.MemoryMiB,
				Architecture: h.Architecture, OSType: h.OS, Zone: h.Zone, InstanceType: h.InstanceType,
				PrivateIP: h.Address, KubeletVersion: h.Version, Labels: h.Labels,
			})
		}
		return out
	}
}
