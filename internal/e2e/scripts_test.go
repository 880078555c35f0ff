//go:build unix

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestScripts runs the user-facing scripts under e2e/ (AWS CLI and boto3)
// against one freshly built ecsd binary. Each script starts and stops its
// own server.
func TestScripts(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipping the AWS CLI and boto3 scripts in -short mode: they take about 30s")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := ecsdBinary(t)
	for _, script := range []string{"awscli-taskdefs.sh", "awscli-clusters.sh", "awscli-services.sh", "awscli-instances.sh", "awscli-logs.sh", "awscli-capacity.sh", "awscli-placement.sh", "readme.sh"} {
		t.Run(script, func(t *testing.T) {
			t.Parallel()
			for _, tool := range []string{"aws", "curl"} {
				if _, err := exec.LookPath(tool); err != nil {
					t.Skipf("skipping: %s is not installed: %v", tool, err)
				}
			}
			runScript(t, root, bin, "bash", filepath.Join(root, "e2e", script))
		})
	}
	for _, script := range []string{"boto3-taskdefs.py", "boto3-services.py", "boto3-logs.py"} {
		t.Run(script, func(t *testing.T) {
			t.Parallel()
			py, err := exec.LookPath("python3")
			if err != nil {
				t.Skipf("skipping: python3 is not installed: %v", err)
			}
			if out, err := exec.CommandContext(t.Context(), py, "-c", "import boto3").CombinedOutput(); err != nil {
				t.Skipf("skipping: python3 cannot import boto3 (pip install boto3): %v\n%s", err, out)
			}
			runScript(t, root, bin, py, filepath.Join(root, "e2e", script))
		})
	}
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// ecsdBinary builds cmd/ecsd once per test binary, for tests that need a
// separate process they can kill.
func ecsdBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ecsd-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "ecsd")
		// -buildvcs=auto: stamp the revision (ecsd version prints it) even
		// where GOFLAGS turns stamping off.
		cmd := exec.Command("go", "build", "-buildvcs=auto", "-o", builtBin, "./cmd/ecsd")
		cmd.Dir = filepath.Join("..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = err
			t.Logf("go build: %s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building ecsd: %v", buildErr)
	}
	return builtBin
}

// scriptTimeout is how long one script may run: as long as the test
// binary may (go test -timeout), less a minute to stop it and report its
// output, or 10 minutes without such a limit. A script takes about a
// minute here, but each of its AWS CLI calls is a Python start-up that a
// loaded 2-core machine makes several times slower: a fixed limit of a
// few minutes is not far enough from that.
func scriptTimeout(t *testing.T) time.Duration {
	d := 10 * time.Minute
	if deadline, ok := t.Deadline(); ok {
		d = time.Until(deadline) - time.Minute
	}
	return max(d, time.Minute)
}

// runScript runs one script in its own process group, so that a timeout
// stops the script and the ecsd it started with SIGTERM (their traps and
// shutdown run) rather than leaving a server behind.
func runScript(t *testing.T, root, bin string, argv ...string) {
	t.Helper()
	runScriptEnv(t, root, bin, nil, argv...)
}

// runScriptEnv is runScript with more environment variables.
func runScriptEnv(t *testing.T, root, bin string, env []string, argv ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), scriptTimeout(t))
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = root
	cmd.Env = append(append(os.Environ(), "ECSD_BIN="+bin), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 15 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	if err != nil {
		t.Fatalf("%s failed after %v: %v\n%s", filepath.Base(argv[len(argv)-1]), time.Since(start).Round(time.Millisecond), err, out.Bytes())
	}
	t.Logf("%s passed in %v", filepath.Base(argv[len(argv)-1]), time.Since(start).Round(time.Millisecond))
	if testing.Verbose() {
		t.Logf("output:\n%s", out.Bytes())
	}
}

// TestVersionNamesTheRevision: a built binary prints the module and the
// revision the toolchain stamped into it (none in a git worktree, whose
// .git is a file the go command does not recognise).
func TestVersionNamesTheRevision(t *testing.T) {
	t.Parallel()
	bin := ecsdBinary(t)
	info, err := exec.CommandContext(t.Context(), "go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	want := "no VCS revision"
	for _, line := range strings.Split(string(info), "\n") {
		if _, rev, ok := strings.Cut(strings.TrimSpace(line), "vcs.revision="); ok {
			want = "revision " + rev
		}
	}
	if fi, err := os.Stat(filepath.Join("..", "..", ".git")); err == nil && fi.IsDir() && want == "no VCS revision" {
		t.Fatalf("built in a git checkout but no vcs.revision stamped:\n%s", info)
	}
	out, err := exec.CommandContext(t.Context(), bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("ecsd version: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "github.com/ecsd/ecsd") || !strings.Contains(string(out), want) {
		t.Fatalf("ecsd version = %q, want the module and %q", out, want)
	}
}
