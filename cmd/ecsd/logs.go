package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/client"

	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/driver/dockerdriver"
	"github.com/ecsd/ecsd/internal/server"
)

const logsUsage = `usage: ecsd logs [flags] TASK [CONTAINER]

Prints what the containers of a task wrote to stdout and stderr. TASK is a
task ID or ARN; CONTAINER a container name (by default, every container of
the task in turn). Containers that use the awslogs log driver are read
from the CloudWatch Logs events ecsd stored (logs.db in the data
directory, on every runtime, also after the containers are gone); the
others, on the kubernetes runtime, through the pod log API of the cluster
the data directory records; on Docker from the local Docker Engine, found
by the data directory of the ecsd that runs them, whether or not it is
running. On the simulated runtime only awslogs containers have output
(ECSD_SIM_LOG).

flags:
`

// runLogs is `ecsd logs`. Flags may come before or after the task.
func runLogs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ecsd logs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, logsUsage)
		fs.PrintDefaults()
	}
	dataDir := fs.String("data-dir", env("ECSD_DATA_DIR", "ecsd-data"), "data directory of the ecsd that runs the task (env ECSD_DATA_DIR)")
	follow := fs.Bool("follow", false, "keep printing new output until the container stops or ^C (one container)")
	fs.BoolVar(follow, "f", false, "shorthand for --follow")
	tail := fs.String("tail", "all", "print only this many of the last lines")
	timestamps := fs.Bool("timestamps", false, "prefix each line with the time it was written")
	since := fs.String("since", "", "only output since this time (RFC 3339) or this long ago (10m)")
	var pos []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos, rest = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	if len(pos) < 1 || len(pos) > 2 {
		fs.Usage()
		return errors.New("logs: name a task (and optionally a container)")
	}
	task := pos[0]
	if i := strings.LastIndex(task, "/"); i >= 0 {
		task = task[i+1:] // an ARN: the group of a task is its ID
	}
	name := ""
	if len(pos) == 2 {
		name = pos[1]
	}
	if found, err := storedLogs(ctx, *dataDir, task, name, storedLogOptions{
		follow: *follow, timestamps: *timestamps, tail: *tail, since: *since,
	}, stdout); found || err != nil {
		if err != nil {
			return fmt.Errorf("logs: %w", err)
		}
		return nil
	}
	rd, closeReader, isKube, err := server.OpenLogReader(ctx, *dataDir)
	if err != nil {
		return fmt.Errorf("logs: the kubernetes runtime of %s: %w", *dataDir, err)
	}
	if isKube {
		defer closeReader()
		return driverLogs(ctx, rd, task, name, *follow, *timestamps, *tail, *since, stdout)
	}
	scope, err := server.DockerScope(*dataDir)
	if err != nil {
		return err
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	defer cli.Close()
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, err = cli.Ping(pingCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("logs: no Docker Engine answers (%v); tasks on the simulated runtime have no output", err)
	}
	err = dockerdriver.Logs(ctx, cli, scope, task, name, dockerdriver.LogOptions{
		Follow: *follow, Timestamps: *timestamps, Tail: *tail, Since: *since,
	}, stdout, stderr)
	if errors.Is(err, driver.ErrNotFound) {
		// The containers of a stopped task may have been removed
		// (--keep-stopped-containers); their output was kept.
		if kept := server.StoppedLogs(*dataDir, task, name, stdout, stderr); !errors.Is(kept, driver.ErrNotFound) {
			return kept
		}
	}
	if errors.Is(err, driver.ErrNotFound) && name == "" {
		return fmt.Errorf("logs: the Docker runtime of %s has no task %s (tasks on the simulated runtime have no output)", scope[server.LabelDataDir], task)
	}
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	return nil
}

// logsMain runs `ecsd logs` until done or interrupted.
func logsMain(args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runLogs(ctx, args, stdout, stderr)
}

// driverLogs prints a task's output through the runtime's driver (the
// kubernetes runtime: the pod log API), every container in turn unless
// name picks one.
func driverLogs(ctx context.Context, d driver.Driver, task, name string, follow, timestamps bool, tail, since string, stdout io.Writer) error {
	lr, ok := d.(driver.LogReader)
	if !ok {
		return errors.New("logs: the runtime keeps no output")
	}
	g, err := d.Inspect(ctx, task)
	if errors.Is(err, driver.ErrNotFound) {
		return fmt.Errorf("logs: the kubernetes runtime has no task %s", task)
	}
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	opts := driver.LogOptions{Follow: follow}
	if tail != "" && tail != "all" {
		n, err := strconv.Atoi(tail)
		if err != nil || n < 0 {
			return fmt.Errorf("logs: --tail %q: want a number or all", tail)
		}
		opts.Tail = n
	}
	if since != "" {
		if t, err := time.Parse(time.RFC3339Nano, since); err == nil {
			opts.Since = t
		} else if d, err := time.ParseDuration(since); err == nil {
			opts.Since = time.Now().Add(-d)
		} else {
			return fmt.Errorf("logs: --since %q: want an RFC 3339 time or a duration", since)
		}
	}
	var names []string
	for _, c := range g.Containers {
		if name == "" || c.Name == name {
			names = append(names, c.Name)
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("logs: task %s has no container %s", task, name)
	}
	if follow && len(names) > 1 {
		return errors.New("logs: --follow reads one container: name it")
	}
	for _, n := range names {
		err := lr.Logs(ctx, task, n, opts, func(l driver.LogLine) error {
			if timestamps && !l.Time.IsZero() {
				_, err := fmt.Fprintf(stdout, "%s %s\n", l.Time.UTC().Format(time.RFC3339Nano), l.Text)
				return err
			}
			_, err := fmt.Fprintln(stdout, l.Text)
			return err
		})
		if err != nil {
			return fmt.Errorf("logs: %w", err)
		}
	}
	return nil
}
