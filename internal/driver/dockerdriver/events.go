package dockerdriver

import (
	"context"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
)

// watchEvents tells NotifyFunc about every change the Engine reports on a
// container of the driver's scope (created, started, died, health
// changed, removed), so whoever supervises the groups looks again at once
// instead of at its next poll: a container's own exit is otherwise seen
// only then. The stream is opened again after an error; the notice is a
// hint, and a missed one costs only the poll interval.
func (d *Driver) watchEvents(ctx context.Context, notify func(group string)) {
	defer d.wg.Done()
	args := filters.NewArgs(filters.Arg("type", string(events.ContainerEventType)))
	for k, v := range d.scope {
		args.Add("label", k+"="+v)
	}
	for ctx.Err() == nil {
		msgs, errs := d.cli.Events(ctx, events.ListOptions{Filters: args})
	stream:
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-msgs:
				if g := m.Actor.Attributes[labelGroup]; g != "" {
					notify(g)
				}
			case err := <-errs:
				if ctx.Err() == nil {
					d.log.Warn("docker runtime: event stream", "err", err)
				}
				break stream
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
