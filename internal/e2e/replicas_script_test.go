//go:build unix

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ecsd/ecsd/internal/pgtest"
)

// TestReplicasScript runs e2e/replicas.sh: three ecsd processes on a
// throwaway PostgreSQL, driven by the AWS CLI (register on one, describe
// on another, create a service on the third), the leader SIGKILLed and the
// service converging again through the others; everything is stopped and
// removed afterwards, also on failure.
func TestReplicasScript(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipping the replicas script in -short mode: it takes about 30s")
	}
	if _, err := pgtest.BinDir(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required in CI: %v", err)
		}
		t.Skipf("skipping: no PostgreSQL server binaries: %v", err)
	}
	for _, tool := range []string{"aws", "curl", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s is not installed: %v", tool, err)
		}
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	runScript(t, root, ecsdBinary(t), "bash", filepath.Join(root, "e2e", "replicas.sh"))
}
