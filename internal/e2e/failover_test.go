//go:build unix

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ecsd/ecsd/internal/pgtest"
	"github.com/ecsd/ecsd/internal/reliability"
)

// TestFailoverDocker is the short CI run of bench/failover.sh, issue 13's
// failover proof: ecsd's image (FROM scratch) and a PostgreSQL image built
// from this machine's own PostgreSQL binaries, three replicas in
// containers on a private network, the crash campaign's load spread over
// all three; the leader SIGKILLed, then the new leader cut from the
// database and reconnected. It checks what the crash campaign checks (no
// acknowledged write lost, revisions gapless and unique, no task started
// twice or lost, services at their desired count after convergence),
// that the tasks the old leader ran are kept, not replaced, and reports
// how long each takeover took. Every container and network carries the
// label ecsd.failover and is removed at the end, also on failure.
func TestFailoverDocker(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipping the failover campaign in -short mode: it builds two images and runs five containers")
	}
	need := func(what string, err error) {
		t.Helper()
		if err == nil {
			return
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", what, err)
		}
		t.Skipf("skipping: %s: %v", what, err)
	}
	if out, err := exec.CommandContext(t.Context(), "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		need("a Docker Engine", fmt.Errorf("%v: %s", err, bytes.TrimSpace(out)))
	}
	_, err := pgtest.BinDir()
	need("PostgreSQL's server binaries (the database image is built from them)", err)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf("failover-test-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	ecsdImage, pgImage := "ecsd:"+tag, "ecsd-postgres:"+tag
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", ecsdImage, pgImage).Run() })
	for _, b := range []struct{ script, image string }{
		{"deploy/docker/build-image.sh", ecsdImage},
		{"deploy/compose/build-postgres-image.sh", pgImage},
	} {
		cmd := exec.CommandContext(t.Context(), filepath.Join(root, b.script), b.image)
		cmd.Dir = root
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", b.script, err, out)
		}
		t.Logf("built %s in %s", b.image, time.Since(start).Round(time.Millisecond))
	}
	work := t.TempDir()
	rep, err := reliability.RunFailover(t.Context(), reliability.FailoverConfig{
		ECSDImage: ecsdImage, PostgresImage: pgImage, Load: 2 * time.Second,
		Seed: uint64(time.Now().UnixNano()), WorkDir: work, Progress: &testLog{t: t},
	})
	t.Logf("\n%s", rep)
	if err != nil {
		for _, f := range rep.Failures {
			t.Error(f)
		}
		for _, name := range []string{"r0", "r1", "r2"} {
			if logs, _ := filepath.Glob(filepath.Join(work, "*-"+name+".log")); len(logs) == 1 {
				b, _ := os.ReadFile(logs[0])
				t.Logf("%s (last 4 KB):\n%s", filepath.Base(logs[0]), b[max(0, len(b)-4096):])
			}
		}
		t.Fatal(err)
	}
	if rep.Kills != 1 || rep.Verifications != 2 {
		t.Errorf("%d kills and %d verifications, want 1 and 2", rep.Kills, rep.Verifications)
	}
	// The load must have reached every kind of write, or the campaign
	// proves less than it says.
	for _, kind := range []string{"RegisterTaskDefinition", "DeregisterTaskDefinition", "RunTask", "StopTask", "CreateService", "UpdateService"} {
		if rep.Acked[kind] == 0 {
			t.Errorf("no %s was acknowledged", kind)
		}
	}
	for what, d := range map[string]time.Duration{
		"takeover after the SIGKILL": rep.KillTakeover, "takeover after the cut": rep.CutTakeover,
		"step-down after the cut": rep.CutStepDown, "first task after the SIGKILL": rep.KillFirstTask,
		"first task after the cut": rep.CutFirstTask,
	} {
		if d <= 0 {
			t.Errorf("%s: %s, not measured", what, d)
		}
	}
}

// testLog is an io.Writer onto t.Log, one call per line written.
type testLog struct {
	t  *testing.T
	mu sync.Mutex
}

func (w *testLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}
