package drivertest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecsd/ecsd/internal/driver"
)

// The Execer contract, for runtimes that run processes (ECS Exec): a
// terminal of the asked size that follows resizes, input and output, exit
// codes, environment, refusals, and Close hanging up on what still runs.
// Real time passes here: only real runtimes exec.

func (s suite) exec(t *testing.T) {
	if s.h.Shell == nil {
		t.Skip("the runtime runs no processes: it does not implement driver.Execer")
	}
	probe := s.h.New(t)
	if _, ok := probe.(driver.Execer); !ok {
		t.Fatalf("the harness has Shell but %T does not implement driver.Execer", probe)
	}
	t.Run("Terminal", s.execTerminal)
	t.Run("WithoutTerminal", s.execWithoutTerminal)
	t.Run("HangUp", s.execHangUp)
	t.Run("Refusals", s.execRefusals)
}

// shellGroup starts a group whose container "app" has a shell and whose
// "gone" has exited.
func (s suite) shellGroup(t *testing.T) (driver.Execer, string) {
	t.Helper()
	d := s.h.New(t)
	id := groupID(t, "x")
	shell := s.h.Shell(t, "app")
	shell.Essential = true
	s.start(t, d, driver.GroupSpec{ID: id, Containers: []driver.ContainerSpec{shell, s.h.Exits("gone", 0, 0)}})
	s.waitFor(t, d, id, "app running, gone exited", func(g driver.GroupState) bool {
		return container(g, "app").Status == driver.StatusRunning && container(g, "gone").Status == driver.StatusExited
	})
	return d.(driver.Execer), id
}

// output collects what a process writes, for waiting on.
type output struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
	err  error
}

func collect(r io.Reader) *output {
	o := &output{done: make(chan struct{})}
	go func() {
		defer close(o.done)
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			o.mu.Lock()
			o.buf.Write(b[:n])
			o.mu.Unlock()
			if err != nil {
				if err != io.EOF {
					o.err = err
				}
				return
			}
		}
	}()
	return o
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitText waits until the output holds want.
func (o *output) waitText(t *testing.T, patience time.Duration, want string) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !strings.Contains(o.String(), want) {
		select {
		case <-o.done:
			if !strings.Contains(o.String(), want) {
				t.Fatalf("output ended without %q: %q (err %v)", want, o.String(), o.err)
			}
			return
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in output within %v: %q", want, patience, o.String())
		}
	}
}

func (o *output) waitEOF(t *testing.T, patience time.Duration) {
	t.Helper()
	select {
	case <-o.done:
		if o.err != nil {
			t.Fatalf("reading output: %v", o.err)
		}
	case <-time.After(patience):
		t.Fatalf("output did not end within %v: %q", patience, o.String())
	}
}

func write(t *testing.T, w io.Writer, s string) {
	t.Helper()
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatalf("writing %q: %v", s, err)
	}
}

func (s suite) execTerminal(t *testing.T) {
	x, id := s.shellGroup(t)
	p, err := x.Exec(ctx, id, "app", driver.ExecOptions{
		Command: []string{"/bin/sh"}, TTY: true, Size: driver.TerminalSize{Cols: 80, Rows: 24},
		Env: []driver.EnvVar{{Name: "GREETING", Value: "hello there"}}, User: "0",
	})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	defer p.Close()
	out := collect(p)
	// A terminal echoes input and ends lines with CRLF.
	write(t, p, `stty size; echo "$GREETING" $((6*7)) uid=$(while read k v; do [ "$k" = Uid: ] && echo $v; done < /proc/self/status)`+"\r")
	out.waitText(t, s.h.Patience, "24 80\r\n")
	out.waitText(t, s.h.Patience, "hello there 42 uid=0 0 0 0\r\n")
	if err := p.Resize(ctx, driver.TerminalSize{Cols: 132, Rows: 43}); err != nil {
		t.Fatalf("Resize: %v", err)
	}
	write(t, p, "stty size\r")
	out.waitText(t, s.h.Patience, "43 132\r\n")
	write(t, p, "exit 3\r")
	out.waitEOF(t, s.h.Patience)
	wctx, cancel := context.WithTimeout(ctx, s.h.Patience)
	defer cancel()
	if code, err := p.Wait(wctx); err != nil || code != 3 {
		t.Fatalf("Wait = %d, %v; want 3", code, err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close after exit: %v", err)
	}
}

func (s suite) execWithoutTerminal(t *testing.T) {
	x, id := s.shellGroup(t)
	p, err := x.Exec(ctx, id, "app", driver.ExecOptions{
		Command: []string{"sh", "-c", "echo out; echo err >&2; read x; echo got $x; echo env $ECSD_DEFAULT ${PATH:+path} $X; exit 7"},
		// Every container has a PATH: a default does not replace it.
		DefaultEnv: []driver.EnvVar{{Name: "ECSD_DEFAULT", Value: "d"}, {Name: "PATH", Value: ""}},
		Env:        []driver.EnvVar{{Name: "X", Value: "1"}},
	})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	defer p.Close()
	out := collect(p)
	write(t, p, "hello\n")
	if err := p.CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	out.waitEOF(t, s.h.Patience)
	for _, want := range []string{"out\n", "err\n", "got hello\n", "env d path 1\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output %q lacks %q", out.String(), want)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, s.h.Patience)
	defer cancel()
	if code, err := p.Wait(wctx); err != nil || code != 7 {
		t.Fatalf("Wait = %d, %v; want 7", code, err)
	}
}

func (s suite) execHangUp(t *testing.T) {
	x, id := s.shellGroup(t)
	// A shell running a foreground job that reads the terminal: both end
	// when the session is hung up on.
	p, err := x.Exec(ctx, id, "app", driver.ExecOptions{Command: []string{"/bin/sh"}, TTY: true})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	out := collect(p)
	write(t, p, "echo ready; cat\r")
	out.waitText(t, s.h.Patience, "ready\r\n")
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, s.h.Patience)
	defer cancel()
	if _, err := p.Wait(wctx); err != nil {
		t.Fatalf("the process still runs after Close: %v", err)
	}
	// No process of the session is left running in the container: only
	// the container's own (PID 1) and this listing's. The hung-up shell's
	// job was reparented to PID 1, which need not reap it (ECS's advice:
	// initProcessEnabled), so it may linger as a zombie.
	q, err := x.Exec(ctx, id, "app", driver.ExecOptions{Command: []string{"sh", "-c", `echo self $$; for p in /proc/[0-9]*; do read l < $p/stat && echo "$l"; done`}})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	b, err := io.ReadAll(q)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	self := strings.TrimPrefix(lines[0], "self ")
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		i := strings.LastIndexByte(l, ')')
		if len(f) < 3 || i < 0 || f[0] == "1" || f[0] == self {
			continue
		}
		if state := strings.Fields(l[i+1:]); len(state) == 0 || state[0] != "Z" {
			t.Errorf("process left running after Close: %s", l)
		}
	}
}

func (s suite) execRefusals(t *testing.T) {
	x, id := s.shellGroup(t)
	cmd := driver.ExecOptions{Command: []string{"/bin/sh"}}
	for _, tc := range []struct {
		group, container string
		want             error
	}{
		{id, "nope", driver.ErrNotFound},
		{groupID(t, "missing"), "app", driver.ErrNotFound},
		{id, "gone", driver.ErrNotRunning},
	} {
		p, err := x.Exec(ctx, tc.group, tc.container, cmd)
		if !errors.Is(err, tc.want) {
			if p != nil {
				p.Close()
			}
			t.Errorf("Exec(%s, %s) = %v, want %v", tc.group, tc.container, err, tc.want)
		}
	}
	if p, err := x.Exec(ctx, id, "app", driver.ExecOptions{}); err == nil {
		p.Close()
		t.Error("Exec without a command succeeded")
	}
}
