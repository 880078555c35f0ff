package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/client"

	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/driver/dockerdriver"
)

// consoleLogs is where the web console reads containers' output: the
// runtime's LogReader when it has one, on Docker falling back to the
// output kept under the data directory once a stopped task's containers
// are removed (--keep-stopped-containers), as `ecsd logs` does; nil on a
// runtime without output.
func consoleLogs(rt *runtime, cfg Config) driver.LogReader {
	lr, ok := rt.driver.(driver.LogReader)
	if rt.docker == nil {
		if ok {
			return lr
		}
		return nil
	}
	if !ok {
		scope, err := DockerScope(cfg.DataDir)
		if err != nil {
			return nil
		}
		lr = engineLogs{scope: scope, dataDir: cfg.DataDir}
	}
	return keptLogs{LogReader: lr, dataDir: cfg.DataDir}
}

// keptLogs reads through the runtime and, for a container the runtime no
// longer has, from the output ecsd kept when it removed it.
type keptLogs struct {
	driver.LogReader
	dataDir string
}

func (k keptLogs) Logs(ctx context.Context, id, container string, opts driver.LogOptions, fn func(driver.LogLine) error) error {
	err := k.LogReader.Logs(ctx, id, container, opts, fn)
	if !errors.Is(err, driver.ErrNotFound) {
		return err
	}
	var stdout, stderr bytes.Buffer
	if err := StoppedLogs(k.dataDir, id, container, &stdout, &stderr); err != nil {
		return err
	}
	return emitLines(&stdout, &stderr, opts, fn)
}

// engineLogs reads a task's container output with dockerdriver.Logs, as
// `ecsd logs` does: it needs no Driver, only the Engine and the scope; and,
// as `ecsd logs` does, the output kept under the data directory once a
// stopped task's containers are removed (--keep-stopped-containers).
type engineLogs struct {
	scope   map[string]string
	dataDir string
}

var _ driver.LogReader = engineLogs{}

func (e engineLogs) Logs(ctx context.Context, id, container string, opts driver.LogOptions, fn func(driver.LogLine) error) error {
	if opts.Follow {
		return fmt.Errorf("following output is not supported here")
	}
	// A client per read: the console reads rarely, and a client costs no
	// connection until it is used, so the server keeps nothing to close.
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer cli.Close()
	lo := dockerdriver.LogOptions{Timestamps: true, Tail: "all"}
	if opts.Tail > 0 {
		lo.Tail = strconv.Itoa(opts.Tail)
	}
	if !opts.Since.IsZero() {
		lo.Since = opts.Since.UTC().Format(time.RFC3339Nano)
	}
	var stdout, stderr bytes.Buffer
	err = dockerdriver.Logs(ctx, cli, e.scope, id, container, lo, &stdout, &stderr)
	if errors.Is(err, driver.ErrNotFound) {
		// Kept output has no timestamps: its lines come with none.
		stdout.Reset()
		stderr.Reset()
		err = StoppedLogs(e.dataDir, id, container, &stdout, &stderr)
	}
	if err != nil {
		return err
	}
	return emitLines(&stdout, &stderr, opts, fn)
}

// emitLines hands fn the lines of both streams in time order, the last
// opts.Tail of them when set.
func emitLines(stdout, stderr *bytes.Buffer, opts driver.LogOptions, fn func(driver.LogLine) error) error {
	lines := append(splitLogLines(stdout, "stdout"), splitLogLines(stderr, "stderr")...)
	// The Engine keeps the two streams apart; the console shows them as
	// written, in time order.
	slices.SortStableFunc(lines, func(a, b driver.LogLine) int { return a.Time.Compare(b.Time) })
	if opts.Tail > 0 && len(lines) > opts.Tail {
		lines = lines[len(lines)-opts.Tail:]
	}
	for _, l := range lines {
		if err := fn(l); err != nil {
			return err
		}
	}
	return nil
}

// splitLogLines parses Docker's timestamped output ("RFC3339Nano text").
func splitLogLines(b *bytes.Buffer, stream string) []driver.LogLine {
	var out []driver.LogLine
	sc := bufio.NewScanner(b)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		text := sc.Text()
		l := driver.LogLine{Stream: stream, Text: text}
		if ts, rest, ok := strings.Cut(text, " "); ok {
			if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
				l.Time, l.Text = t, rest
			}
		}
		out = append(out, l)
	}
	return out
}
