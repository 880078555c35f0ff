package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ecsd/ecsd/internal/store"
	"github.com/ecsd/ecsd/internal/store/sqlitestore"
)

type storedLogOptions struct {
	follow, timestamps bool
	tail, since        string
}

// storedPoll is how often `ecsd logs --follow` looks for new stored events.
const storedPoll = 500 * time.Millisecond

// storedLogs prints a task's awslogs output from the Logs store in dir. It
// reports false when the store has no stream of the task (or of the named
// container), so the caller reads the Docker Engine instead.
func storedLogs(ctx context.Context, dir, task, container string, opts storedLogOptions, w io.Writer) (bool, error) {
	l, err := sqlitestore.OpenLogsReadOnly(ctx, dir)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer l.Close()
	streams, err := l.TaskStreams(ctx, task)
	if err != nil {
		return false, err
	}
	var chosen []sqlitestore.TaskStream
	for _, s := range streams {
		// prefix/container/task-id (or container/task-id).
		parts := strings.Split(s.Stream, "/")
		if container == "" || (len(parts) >= 2 && parts[len(parts)-2] == container) {
			chosen = append(chosen, s)
		}
	}
	if len(chosen) == 0 {
		return false, nil
	}
	if opts.follow && len(chosen) > 1 {
		return true, errors.New("following the output of several containers at once is not supported: name one")
	}
	q := store.LogEventsQuery{Limit: 10000}
	if opts.since != "" {
		t, err := parseSince(opts.since)
		if err != nil {
			return true, err
		}
		ms := t.UnixMilli()
		q.Start = &ms
	}
	for _, s := range chosen {
		if len(chosen) > 1 {
			fmt.Fprintf(w, "==> %s <==\n", s.Stream)
		}
		var after *store.LogPosition
		if opts.tail != "" && opts.tail != "all" {
			n, err := strconv.Atoi(opts.tail)
			if err != nil || n < 0 {
				return true, fmt.Errorf("--tail %q: want a number of lines or all", opts.tail)
			}
			tq := q
			tq.Backward, tq.Limit = true, max(n, 1)
			last, err := l.GetLogEvents(ctx, s.Scope, s.Group, s.Stream, tq)
			if err != nil {
				return true, err
			}
			if len(last) > 0 {
				if n == 0 {
					e := last[len(last)-1]
					after = &store.LogPosition{Timestamp: e.Timestamp, ID: e.ID}
				} else {
					// Resume just before the first of the last n.
					after = &store.LogPosition{Timestamp: last[0].Timestamp, ID: last[0].ID - 1}
				}
			}
		}
		for {
			fq := q
			fq.After = after
			events, err := l.GetLogEvents(ctx, s.Scope, s.Group, s.Stream, fq)
			if err != nil {
				return true, err
			}
			for _, e := range events {
				if opts.timestamps {
					fmt.Fprintf(w, "%s %s\n", time.UnixMilli(e.Timestamp).UTC().Format(time.RFC3339Nano), e.Message)
				} else {
					fmt.Fprintln(w, e.Message)
				}
			}
			if len(events) > 0 {
				last := events[len(events)-1]
				after = &store.LogPosition{Timestamp: last.Timestamp, ID: last.ID}
				continue
			}
			if !opts.follow {
				break
			}
			select {
			case <-ctx.Done():
				return true, nil
			case <-time.After(storedPoll):
			}
		}
	}
	return true, nil
}

// parseSince reads --since: an RFC 3339 time or a duration ago.
func parseSince(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--since %q: want an RFC 3339 time or a duration such as 10m", s)
	}
	return time.Now().Add(-d), nil
}
