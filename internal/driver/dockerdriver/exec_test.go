package dockerdriver

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
	"github.com/ecsd/ecsd/internal/driver/dockerdriver/dockertest"
)

var shell struct {
	once sync.Once
	tag  string
	err  error
}

// shellImage is the test image with a shell (dockertest.ShellImage), or
// a skip where the host has none to lend.
func shellImage(t *testing.T) string {
	t.Helper()
	cli, _ := testEngine(t)
	shell.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		shell.tag, shell.err = dockertest.ShellImage(ctx, cli, "./testdata/tiny", ImportImage)
	})
	if errors.Is(shell.err, dockertest.ErrNoHostShell) {
		t.Skipf("no image with a shell: %v", shell.err)
	}
	if shell.err != nil {
		t.Fatalf("building the shell image: %v", shell.err)
	}
	return shell.tag
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
func (o *output) waitText(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !strings.Contains(o.String(), want) {
		select {
		case <-o.done:
			if !strings.Contains(o.String(), want) {
				t.Fatalf("output ended without %q: %q (err %v)", want, o.String(), o.err)
			}
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in output within %v: %q", want, patience, o.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (o *output) waitEOF(t *testing.T) {
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

// shellGroup starts a group whose container "app" has a shell, and
// "gone", which exits at once.
func shellGroup(t *testing.T) (*Driver, string) {
	t.Helper()
	img := shellImage(t)
	d := newDriver(t, scope(t))
	id := groupID(t)
	start(t, d, driver.GroupSpec{ID: id, Containers: []driver.ContainerSpec{
		{Name: "app", Image: img, Essential: true},
		{Name: "gone", Image: img, Command: []string{"exit", "0", "0"}},
	}})
	waitFor(t, d, id, "app running, gone exited", patience, func(g driver.GroupState) bool {
		return containerOf(g, "app").Status == driver.StatusRunning && containerOf(g, "gone").Status == driver.StatusExited
	})
	return d, id
}

func TestExecTerminal(t *testing.T) {
	t.Parallel()
	d, id := shellGroup(t)
	p, err := d.Exec(bg, id, "app", driver.ExecOptions{
		Command: []string{"/bin/sh"}, TTY: true, Size: driver.TerminalSize{Cols: 80, Rows: 24},
		Env: []driver.EnvVar{{Name: "GREETING", Value: "hello there"}}, User: "0",
	})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	defer p.Close()
	out := collect(p)
	// A terminal echoes input and ends lines with CRLF.
	if _, err := io.WriteString(p, "stty size; echo \"$GREETING\" $((6*7)); id -u 2>/dev/null || echo uid=$(cat /proc/self/status | grep Uid)\r"); err != nil {
		t.Fatal(err)
	}
	out.waitText(t, "24 80\r\n")
	out.waitText(t, "hello there 42\r\n")
	if err := p.Resize(bg, driver.TerminalSize{Cols: 132, Rows: 43}); err != nil {
		t.Fatalf("Resize: %v", err)
	}
	if _, err := io.WriteString(p, "stty size\r"); err != nil {
		t.Fatal(err)
	}
	out.waitText(t, "43 132\r\n")
	if _, err := io.WriteString(p, "exit 3\r"); err != nil {
		t.Fatal(err)
	}
	out.waitEOF(t)
	ctx, cancel := context.WithTimeout(bg, patience)
	defer cancel()
	code, err := p.Wait(ctx)
	if err != nil || code != 3 {
		t.Fatalf("Wait = %d, %v; want 3", code, err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close after exit: %v", err)
	}
}

func TestExecWithoutTerminal(t *testing.T) {
	t.Parallel()
	d, id := shellGroup(t)
	p, err := d.Exec(bg, id, "app", driver.ExecOptions{
		Command: []string{"sh", "-c", "echo out; echo err >&2; read x; echo got $x; echo env $LANG $PATH $X; exit 7"},
		// The image sets PATH: a default does not replace it.
		DefaultEnv: []driver.EnvVar{{Name: "LANG", Value: "C.UTF-8"}, {Name: "PATH", Value: "/nowhere"}},
		Env:        []driver.EnvVar{{Name: "X", Value: "1"}},
	})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	defer p.Close()
	out := collect(p)
	if _, err := io.WriteString(p, "hello\n"); err != nil {
		t.Fatal(err)
	}
	if err := p.CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	out.waitEOF(t)
	for _, want := range []string{"out\n", "err\n", "got hello\n", "env C.UTF-8 /bin 1\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output %q lacks %q", out.String(), want)
		}
	}
	code, err := p.Wait(bg)
	if err != nil || code != 7 {
		t.Fatalf("Wait = %d, %v; want 7", code, err)
	}
}

func TestExecHangUp(t *testing.T) {
	t.Parallel()
	d, id := shellGroup(t)
	// A shell running a foreground job that reads the terminal: both must
	// end when the session is hung up on.
	p, err := d.Exec(bg, id, "app", driver.ExecOptions{Command: []string{"/bin/sh"}, TTY: true})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	out := collect(p)
	if _, err := io.WriteString(p, "echo ready; cat\r"); err != nil {
		t.Fatal(err)
	}
	out.waitText(t, "ready\r\n")
	inner := p.(*execProcess)
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(bg, patience)
	defer cancel()
	if _, err := inner.Wait(ctx); err != nil {
		t.Fatalf("the process still runs after Close: %v", err)
	}
	// No process of the session is left running in the container: only
	// the container's own (PID 1) and this listing's. The hung-up shell's
	// job was reparented to PID 1, which does not reap it (ECS's advice:
	// initProcessEnabled), so it may linger as a zombie.
	q, err := d.Exec(bg, id, "app", driver.ExecOptions{Command: []string{"sh", "-c", `echo self $$; for p in /proc/[0-9]*; do read l < $p/stat && echo "$l"; done`}})
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
		if len(f) < 3 || f[0] == "1" || f[0] == self {
			continue
		}
		if state := f[len(strings.Fields(l[:strings.LastIndexByte(l, ')')+1]))]; state != "Z" {
			t.Errorf("process left running after Close: %s", l)
		}
	}
}

func TestExecRefusals(t *testing.T) {
	t.Parallel()
	d, id := shellGroup(t)
	cmd := driver.ExecOptions{Command: []string{"/bin/sh"}}
	for _, tc := range []struct {
		group, container string
		want             error
	}{
		{id, "nope", driver.ErrNotFound},
		{"nogroup", "app", driver.ErrNotFound},
		{id, "gone", driver.ErrNotRunning},
	} {
		p, err := d.Exec(bg, tc.group, tc.container, cmd)
		if !errors.Is(err, tc.want) {
			if p != nil {
				p.Close()
			}
			t.Errorf("Exec(%s, %s) = %v, want %v", tc.group, tc.container, err, tc.want)
		}
	}
	if _, err := d.Exec(bg, id, "app", driver.ExecOptions{}); err == nil {
		t.Error("Exec without a command succeeded")
	}
}
