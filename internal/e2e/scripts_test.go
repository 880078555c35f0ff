//go:build unix

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestScripts runs the user-facing scripts under e2e/ (AWS CLI and boto3)
// against a freshly built ecsd binary. Each script starts and stops its own
// server; both share one build.
func TestScripts(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipping the AWS CLI and boto3 scripts in -short mode: they take about 20s")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found from the test directory: %v", err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("skipping: no go command in PATH to build ecsd for the scripts: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "ecsd")
	build := exec.CommandContext(t.Context(), goBin, "build", "-o", bin, "./cmd/ecsd")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/ecsd: %v\n%s", err, out)
	}

	t.Run("awscli", func(t *testing.T) {
		t.Parallel()
		if _, err := exec.LookPath("aws"); err != nil {
			t.Skipf("skipping: the AWS CLI (aws) is not installed: %v", err)
		}
		if _, err := exec.LookPath("curl"); err != nil {
			t.Skipf("skipping: the script waits for /health with curl, which is not installed: %v", err)
		}
		runScript(t, root, bin, "bash", filepath.Join(root, "e2e", "awscli-taskdefs.sh"))
	})
	t.Run("boto3", func(t *testing.T) {
		t.Parallel()
		py, err := exec.LookPath("python3")
		if err != nil {
			t.Skipf("skipping: python3 is not installed: %v", err)
		}
		if out, err := exec.CommandContext(t.Context(), py, "-c", "import boto3").CombinedOutput(); err != nil {
			t.Skipf("skipping: python3 cannot import boto3 (pip install boto3): %v\n%s", err, out)
		}
		runScript(t, root, bin, py, filepath.Join(root, "e2e", "boto3-taskdefs.py"))
	})
}

// runScript runs one script in its own process group, so that a timeout
// stops the script and the ecsd it started with SIGTERM (their traps and
// shutdown run) rather than leaving a server behind.
func runScript(t *testing.T, root, bin string, argv ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "ECSD_BIN="+bin)
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

// TestClusterScript runs e2e/awscli-clusters.sh (clusters, capacity
// providers, account settings, attributes) with the AWS CLI against a
// freshly built ecsd.
func TestClusterScript(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipping the AWS CLI cluster script in -short mode: it takes about 15s")
	}
	for _, tool := range []string{"aws", "curl", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s is not installed: %v", tool, err)
		}
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "ecsd")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "./cmd/ecsd")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/ecsd: %v\n%s", err, out)
	}
	runScript(t, root, bin, "bash", filepath.Join(root, "e2e", "awscli-clusters.sh"))
}
