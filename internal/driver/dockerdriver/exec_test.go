package dockerdriver

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ecsd/ecsd/internal/driver/dockerdriver/dockertest"
)

// Exec is tested by the conformance suite (drivertest's Exec cases) with
// this image.

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
