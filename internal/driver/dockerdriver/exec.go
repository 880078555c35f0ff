package dockerdriver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/ecsd/ecsd/internal/driver"
)

// ECS Exec on Docker: `docker exec` of the command in the task's
// container, attached through the Engine API.

var _ driver.Execer = (*Driver)(nil)

// hangUpGrace is how long a process hung up on by Close has to exit
// before it is killed.
const hangUpGrace = 2 * time.Second

// Exec starts opts.Command in the running container name of group id.
func (d *Driver) Exec(ctx context.Context, id, name string, opts driver.ExecOptions) (driver.ExecProcess, error) {
	if len(opts.Command) == 0 {
		return nil, errors.New("docker runtime: exec: no command")
	}
	cs, err := d.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: d.filters(map[string]string{
		labelGroup: id, labelRole: roleContainer, labelContainer: name,
	})})
	if err != nil {
		return nil, fmt.Errorf("docker runtime: %w", err)
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("%w: no container %s in group %s", driver.ErrNotFound, name, id)
	}
	c := cs[0]
	if c.State != container.StateRunning {
		return nil, fmt.Errorf("%w: container %s of group %s is %s", driver.ErrNotRunning, name, id, c.State)
	}
	env := make([]string, 0, len(opts.Env)+len(opts.DefaultEnv))
	if len(opts.DefaultEnv) > 0 {
		m, err := d.cli.ContainerInspect(ctx, c.ID)
		if err != nil {
			return nil, fmt.Errorf("docker runtime: %w", err)
		}
		set := map[string]bool{}
		if m.Config != nil {
			for _, kv := range m.Config.Env {
				k, _, _ := strings.Cut(kv, "=")
				set[k] = true
			}
		}
		for _, e := range opts.DefaultEnv {
			if !set[e.Name] {
				env = append(env, e.Name+"="+e.Value)
			}
		}
	}
	for _, e := range opts.Env {
		env = append(env, e.Name+"="+e.Value)
	}
	eo := container.ExecOptions{
		User: opts.User, Tty: opts.TTY, Env: env, Cmd: opts.Command,
		AttachStdin: true, AttachStdout: true, AttachStderr: true,
	}
	var size *[2]uint
	if opts.TTY && opts.Size.Cols > 0 && opts.Size.Rows > 0 {
		size = &[2]uint{opts.Size.Rows, opts.Size.Cols}
		eo.ConsoleSize = size
	}
	created, err := d.cli.ContainerExecCreate(ctx, c.ID, eo)
	if cerrdefs.IsNotFound(err) {
		return nil, fmt.Errorf("%w: %v", driver.ErrNotFound, err)
	}
	if cerrdefs.IsConflict(err) {
		// "Container ... is not running" (or paused, or restarting).
		return nil, fmt.Errorf("%w: %v", driver.ErrNotRunning, err)
	}
	if err != nil {
		return nil, fmt.Errorf("docker runtime: exec: %w", err)
	}
	resp, err := d.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{Tty: opts.TTY, ConsoleSize: size})
	if err != nil {
		return nil, fmt.Errorf("docker runtime: exec: %w", err)
	}
	p := &execProcess{d: d, execID: created.ID, containerID: c.ID, tty: opts.TTY, resp: resp}
	if size != nil {
		// The Engine does not apply ConsoleSize to an exec's terminal
		// (the Docker CLI resizes right after starting, too).
		if err := p.Resize(ctx, opts.Size); err != nil {
			d.log.Warn("exec: initial terminal size not applied", "exec", created.ID, "err", err)
		}
	}
	if opts.TTY {
		p.out = resp.Reader
	} else {
		// Without a terminal the Engine multiplexes stdout and stderr on
		// one stream; the process's output is both, in order.
		pr, pw := io.Pipe()
		go func() {
			_, err := stdcopy.StdCopy(pw, pw, resp.Reader)
			pw.CloseWithError(err)
		}()
		p.out = pr
	}
	return p, nil
}

// execProcess is one `docker exec`: the hijacked attach connection and
// the exec's ID for resize, inspect and hang-up.
type execProcess struct {
	d           *Driver
	execID      string
	containerID string
	tty         bool
	resp        types.HijackedResponse
	out         io.Reader

	closeOnce sync.Once
	closeErr  error
}

func (p *execProcess) Read(b []byte) (int, error) { return p.out.Read(b) }

func (p *execProcess) Write(b []byte) (int, error) { return p.resp.Conn.Write(b) }

func (p *execProcess) CloseWrite() error {
	err := p.resp.CloseWrite()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

func (p *execProcess) Resize(ctx context.Context, size driver.TerminalSize) error {
	if !p.tty || size.Cols == 0 || size.Rows == 0 {
		return nil
	}
	err := p.d.cli.ContainerExecResize(ctx, p.execID, container.ResizeOptions{Height: size.Rows, Width: size.Cols})
	if err != nil {
		return fmt.Errorf("docker runtime: exec resize: %w", err)
	}
	return nil
}

// Wait polls the exec until the Engine reports it ended: the Engine has
// no call that blocks until an exec exits, and its output ending is not
// the same (a background child may hold the terminal open).
func (p *execProcess) Wait(ctx context.Context) (int, error) {
	delay := 10 * time.Millisecond
	for {
		in, err := p.d.cli.ContainerExecInspect(ctx, p.execID)
		if err != nil {
			return 0, fmt.Errorf("docker runtime: exec inspect: %w", err)
		}
		if !in.Running {
			return in.ExitCode, nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 250*time.Millisecond)
	}
}

// Close hangs up on a process still running and releases the stream.
// Docker has no call that ends an exec (moby/moby#9098): detaching leaves
// the process running. So, as a terminal hang-up would, ecsd sends SIGHUP
// to every process of the exec's session, then SIGKILL to those left
// after hangUpGrace. That needs ecsd to see the Engine's processes (the
// same PID namespace, as when both run on one host) and the right to
// signal them; the exec's PID is used only when its cgroup names the
// container, so a PID from another namespace is never signalled. Without
// that, the process runs on until it exits by itself, and the log says
// so.
func (p *execProcess) Close() error {
	p.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangUpGrace+10*time.Second)
		defer cancel()
		defer p.resp.Close()
		in, err := p.d.cli.ContainerExecInspect(ctx, p.execID)
		if err != nil || !in.Running {
			return
		}
		if err := signalSession(in.Pid, p.containerID, hangUp); err != nil {
			p.d.log.Warn("exec: cannot hang up on the process; it runs until it exits by itself",
				"exec", p.execID, "pid", in.Pid, "err", err)
			return
		}
		wctx, wcancel := context.WithTimeout(ctx, hangUpGrace)
		_, err = p.Wait(wctx)
		wcancel()
		if err == nil {
			return
		}
		if err := signalSession(in.Pid, p.containerID, kill); err != nil {
			p.closeErr = fmt.Errorf("docker runtime: exec: killing process %d: %w", in.Pid, err)
		}
	})
	return p.closeErr
}
