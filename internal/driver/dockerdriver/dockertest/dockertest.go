// Package dockertest builds the image the Docker runtime's tests run. There
// is no registry to pull from, so it compiles a tiny static Go program (the
// Docker driver's testdata/tiny) and imports it as a FROM-scratch image.
// Only tests import it. It must never import dockerdriver, whose own tests
// import it: the importer comes in as a function instead.
package dockertest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/docker/docker/client"
)

// ImportFunc makes a FROM-scratch image tagged tag from files (path ->
// executable content) and changes (Dockerfile instructions); it is
// dockerdriver.ImportImage.
type ImportFunc func(ctx context.Context, cli *client.Client, tag string, files map[string][]byte, changes ...string) error

// TinyImage compiles the Go program in dir (a path relative to the calling
// test's package, as go build takes it) statically for the Engine's
// architecture and imports it as /tiny, entrypoint ["/tiny"] and command
// ["run"]. The tag is named after the binary's content, so an image the
// Engine already holds is reused. It returns the tag.
func TinyImage(ctx context.Context, cli *client.Client, dir string, importFunc ImportFunc) (string, error) {
	v, err := cli.ServerVersion(ctx)
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp("", "ecsd-tiny")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "tiny")
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	cmd := exec.CommandContext(ctx, gobin, "build", "-trimpath", "-ldflags=-s -w", "-o", bin, dir)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+v.Arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", dir, err, out)
	}
	body, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(body)
	tag := "ecsd-test/tiny:" + hex.EncodeToString(h[:6])
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	}
	return tag, importFunc(ctx, cli, tag, map[string][]byte{"tiny": body}, `ENTRYPOINT ["/tiny"]`, `CMD ["run"]`)
}
