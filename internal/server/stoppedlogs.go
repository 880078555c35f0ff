package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/driver/dockerdriver"
)

// StoppedLogsDir is where, under the data directory, the output of a
// stopped task whose containers were removed (--keep-stopped-containers)
// is kept: <task ID>/<container>.stdout and .stderr. `ecsd logs` reads it
// when the containers are gone; it goes with the data directory.
const StoppedLogsDir = "stopped-logs"

// archiveFunc keeps the output of a stopped group's containers before the
// task supervisor removes them.
func archiveFunc(dataDir string, d *dockerdriver.Driver) func(ctx context.Context, g driver.GroupState) error {
	return func(ctx context.Context, g driver.GroupState) error {
		dir := filepath.Join(dataDir, StoppedLogsDir, g.ID)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		var errs []error
		for _, c := range g.Containers {
			if !validName(c.Name) {
				continue
			}
			errs = append(errs, archiveContainer(ctx, d, g.ID, c.Name, dir))
		}
		return errors.Join(errs...)
	}
}

func archiveContainer(ctx context.Context, d *dockerdriver.Driver, id, name, dir string) error {
	out, err := os.Create(filepath.Join(dir, name+".stdout"))
	if err != nil {
		return err
	}
	defer out.Close()
	errOut, err := os.Create(filepath.Join(dir, name+".stderr"))
	if err != nil {
		return err
	}
	defer errOut.Close()
	if err := d.CopyLogs(ctx, id, name, out, errOut); err != nil && !errors.Is(err, driver.ErrNotFound) {
		return err
	}
	return errors.Join(out.Close(), errOut.Close())
}

// validName keeps a container name from leaving the task's directory.
func validName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, `/\`)
}

// StoppedLogs writes the kept output of a stopped task (task ID; one
// container when name is set, else each) to stdout and stderr. A task
// with nothing kept is driver.ErrNotFound.
func StoppedLogs(dataDir, task, name string, stdout, stderr io.Writer) error {
	dir := filepath.Join(dataDir, StoppedLogsDir, task)
	if !validName(task) || name != "" && !validName(name) {
		return driver.ErrNotFound
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return driver.ErrNotFound
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".stdout"); ok && (name == "" || n == name) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("%w: no output kept for container %q of task %s", driver.ErrNotFound, name, task)
	}
	for _, n := range names {
		if len(names) > 1 {
			fmt.Fprintf(stdout, "==> %s <==\n", n)
		}
		for _, f := range []struct {
			ext string
			w   io.Writer
		}{{".stdout", stdout}, {".stderr", stderr}} {
			b, err := os.ReadFile(filepath.Join(dir, n+f.ext))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			if _, err := f.w.Write(b); err != nil {
				return err
			}
		}
	}
	return nil
}
