package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/ecsd/ecsd/internal/driver"
)

// Driver returns d counting its calls under the runtime's name. The
// runtime's optional abilities (driver.Execer, driver.LogReader,
// driver.StatsReader) stay visible to type assertions exactly as d has
// them, passed through uncounted: ECS Exec and the Logs API find them on
// the wrapper as on d.
func (m *Metrics) Driver(runtime string, d driver.Driver) driver.Driver {
	in := &instrumented{d: d, m: m, runtime: runtime}
	ex, isEx := d.(driver.Execer)
	lr, isLR := d.(driver.LogReader)
	sr, isSR := d.(driver.StatsReader)
	switch {
	case isEx && isLR && isSR:
		return struct {
			*instrumented
			driver.Execer
			driver.LogReader
			driver.StatsReader
		}{in, ex, lr, sr}
	case isEx && isLR:
		return struct {
			*instrumented
			driver.Execer
			driver.LogReader
		}{in, ex, lr}
	case isEx && isSR:
		return struct {
			*instrumented
			driver.Execer
			driver.StatsReader
		}{in, ex, sr}
	case isLR && isSR:
		return struct {
			*instrumented
			driver.LogReader
			driver.StatsReader
		}{in, lr, sr}
	case isEx:
		return struct {
			*instrumented
			driver.Execer
		}{in, ex}
	case isLR:
		return struct {
			*instrumented
			driver.LogReader
		}{in, lr}
	case isSR:
		return struct {
			*instrumented
			driver.StatsReader
		}{in, sr}
	}
	return in
}

// instrumented counts a driver's calls.
type instrumented struct {
	d       driver.Driver
	m       *Metrics
	runtime string
}

var _ driver.Driver = (*instrumented)(nil)

func (i *instrumented) observe(op string, began time.Time, err error) {
	i.m.runtimeOps.WithLabelValues(i.runtime, op).Inc()
	i.m.runtimeDuration.WithLabelValues(i.runtime, op).Observe(time.Since(began).Seconds())
	if err != nil && !errors.Is(err, driver.ErrNotFound) {
		i.m.runtimeFailures.WithLabelValues(i.runtime, op).Inc()
	}
}

func (i *instrumented) Start(ctx context.Context, spec driver.GroupSpec) error {
	began := time.Now()
	err := i.d.Start(ctx, spec)
	i.observe("start", began, err)
	return err
}

func (i *instrumented) Stop(ctx context.Context, id string, timeout time.Duration) error {
	began := time.Now()
	err := i.d.Stop(ctx, id, timeout)
	i.observe("stop", began, err)
	return err
}

func (i *instrumented) Inspect(ctx context.Context, id string) (driver.GroupState, error) {
	began := time.Now()
	st, err := i.d.Inspect(ctx, id)
	i.observe("inspect", began, err)
	return st, err
}

func (i *instrumented) List(ctx context.Context, labels map[string]string) ([]driver.GroupState, error) {
	began := time.Now()
	gs, err := i.d.List(ctx, labels)
	i.observe("list", began, err)
	return gs, err
}

func (i *instrumented) Remove(ctx context.Context, id string) error {
	began := time.Now()
	err := i.d.Remove(ctx, id)
	i.observe("remove", began, err)
	return err
}
