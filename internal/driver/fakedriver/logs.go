package fakedriver

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ecsd/ecsd/internal/driver"
)

var _ driver.LogReader = (*Driver)(nil)

// followPoll is how often a follower looks again while a container
// writes nothing (its next line, exit or stop is not scheduled yet).
const followPoll = 100 * time.Millisecond

// Logs implements driver.LogReader for the lines containers are scripted
// to write (KnobLog, KnobLogEvery). Like everything in the simulated
// engine, which lines exist and when they were written is a function of
// the spec, the start time and now; a line's Time is when it was written.
func (d *Driver) Logs(ctx context.Context, id, container string, opts driver.LogOptions, fn func(driver.LogLine) error) error {
	g, ok, err := d.lookup(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s", driver.ErrNotFound, id)
	}
	idx := -1
	for i, c := range g.Spec.Containers {
		if c.Name == container {
			idx = i
		}
	}
	if idx < 0 {
		return fmt.Errorf("%w: group %s has no container %q", driver.ErrNotFound, id, container)
	}
	sc, err := scriptOf(g.Spec.Containers[idx])
	if err != nil || len(sc.logLines) == 0 {
		// A container that fails its script never starts, and one without
		// lines writes nothing: there is nothing to follow.
		return nil
	}
	next := -1 // the first line not yet handed to fn
	for {
		g, ok, err = d.lookup(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return nil // the follower went away, as documented
			}
			return err
		}
		if !ok {
			return nil // removed while followed
		}
		now := d.now().UTC()
		cs := g.state(now).Containers[idx]
		if cs.StartedAt.IsZero() {
			if cs.Status == driver.StatusExited || !opts.Follow {
				return nil
			}
		} else {
			end := now
			exited := cs.Status == driver.StatusExited
			if exited {
				end = cs.FinishedAt
			}
			written := linesBy(sc, cs.StartedAt, end)
			if next < 0 {
				next = firstLine(sc, cs.StartedAt, written, opts)
			}
			for ; next < written; next++ {
				line := driver.LogLine{Time: lineTime(sc, cs.StartedAt, next), Stream: "stdout", Text: lineText(sc, next)}
				if err := fn(line); err != nil {
					return err
				}
				if next%1024 == 1023 && ctx.Err() != nil {
					return nil
				}
			}
			if exited || !opts.Follow {
				return nil
			}
		}
		wait := followPoll
		if !cs.StartedAt.IsZero() && sc.logEvery > 0 {
			if until := lineTime(sc, cs.StartedAt, next).Sub(now); until > 0 && until < wait {
				wait = until
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// linesBy counts the lines a container started at start has written by
// end.
func linesBy(sc script, start, end time.Time) int {
	if end.Before(start) {
		return 0
	}
	if sc.logEvery == 0 {
		return len(sc.logLines)
	}
	return int(end.Sub(start)/sc.logEvery) + 1
}

func lineTime(sc script, start time.Time, n int) time.Time {
	return start.Add(time.Duration(n) * sc.logEvery)
}

func lineText(sc script, n int) string {
	return strings.ReplaceAll(sc.logLines[n%len(sc.logLines)], "{n}", strconv.Itoa(n))
}

// firstLine applies Since and Tail to where a read starts.
func firstLine(sc script, start time.Time, written int, opts driver.LogOptions) int {
	first := 0
	if !opts.Since.IsZero() && opts.Since.After(start) {
		if sc.logEvery == 0 {
			first = written // every line was written at start, before Since
		} else {
			first = int((opts.Since.Sub(start) + sc.logEvery - 1) / sc.logEvery)
		}
	}
	if opts.Tail > 0 && written-opts.Tail > first {
		first = written - opts.Tail
	}
	return min(first, written)
}
