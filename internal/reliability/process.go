// Package reliability holds the campaigns that try to break a running ecsd
// from outside: SIGKILL under concurrent load (crash.go) and hostile
// requests (badinput.go). The bench/ programs run them at full length and
// print their counts; internal/e2e runs short variants in CI. Everything
// talks to a real ecsd binary on 127.0.0.1 through its public protocol.
//
// It imports nothing of ecsd but the binary's command line.
package reliability

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is one ecsd child process.
type Process struct {
	cmd     *exec.Cmd
	URL     string // http://127.0.0.1:PORT
	LogPath string

	exited chan struct{}
	mu     sync.Mutex
	err    error
}

var listenLine = regexp.MustCompile(`msg="ecsd listening" addr=(\S+)`)

// StartProcess runs bin with args plus a random loopback port, appends its
// log to logPath and waits until it logs its address. args must not
// contain --listen.
func StartProcess(ctx context.Context, bin, logPath string, args ...string) (*Process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, append([]string{"--listen", "127.0.0.1:0"}, args...)...)
	// Its own process group, so a ^C to the campaign does not reach it
	// before the campaign has killed it itself.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	cmd.Stdout = logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	p := &Process{cmd: cmd, LogPath: logPath, exited: make(chan struct{})}
	addr := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		found := false
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = logFile.Write(append(line, '\n'))
			if !found {
				if m := listenLine.FindSubmatch(line); m != nil {
					found = true
					addr <- string(m[1])
				}
			}
		}
		_, _ = io.Copy(logFile, stderr)
	}()
	go func() {
		<-copied
		err := cmd.Wait()
		logFile.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.exited)
	}()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case a := <-addr:
		p.URL = "http://" + a
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("ecsd exited before listening (%v); log %s:\n%s", p.exitErr(), logPath, tail(logPath, 20))
	case <-timer.C:
		p.Kill()
		return nil, fmt.Errorf("ecsd did not log its address within 30s; log %s", logPath)
	case <-ctx.Done():
		p.Kill()
		return nil, ctx.Err()
	}
}

func (p *Process) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Pid is the child's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Kill sends SIGKILL and waits until the process is gone.
func (p *Process) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// Terminate sends SIGTERM (graceful shutdown) and waits up to timeout for
// the exit, then kills. It returns the exit error of a graceful exit.
func (p *Process) Terminate(timeout time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.exitErr()
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("ecsd did not exit within %s of SIGTERM", timeout)
	}
}

// Exited reports whether the process has ended on its own.
func (p *Process) Exited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// RSS reads the process's resident set size (VmRSS) in bytes.
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest) // "123456 kB"
			if len(f) != 2 || f[1] != "kB" {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// PanicLines returns the lines of an ecsd log that report a panic, recovered
// or not: a recovered handler panic is logged as a ServerException cause
// ("panic in OP"), an unrecovered one is the runtime's "panic:" trace.
func PanicLines(logPath string) ([]string, error) {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range bytes.Split(b, []byte("\n")) {
		if bytes.Contains(bytes.ToLower(line), []byte("panic")) {
			out = append(out, string(line))
		}
	}
	return out, nil
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
