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
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"

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
	body, err := buildTiny(ctx, cli, dir)
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

// buildTiny compiles the Go program in dir statically for the Engine's
// architecture and returns the binary.
func buildTiny(ctx context.Context, cli *client.Client, dir string) ([]byte, error) {
	v, err := cli.ServerVersion(ctx)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "ecsd-tiny")
	if err != nil {
		return nil, err
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
		return nil, fmt.Errorf("go build %s: %v\n%s", dir, err, out)
	}
	return os.ReadFile(bin)
}

// ErrNoHostShell is returned (wrapped) by ShellImage where the host has
// no shell to copy into an image for the Engine.
var ErrNoHostShell = errors.New("no host shell for the Engine's architecture")

// hostPrograms are the host programs a shell image holds, by their path
// in the image: a POSIX shell and the terminal tool ECS Exec tests use.
var hostPrograms = map[string][]string{
	"bin/sh":   {"/bin/dash", "/usr/bin/dash", "/bin/sh"},
	"bin/stty": {"/usr/bin/stty", "/bin/stty"},
	"bin/cat":  {"/usr/bin/cat", "/bin/cat"},
}

// ShellImage is TinyImage with a shell: the tiny program as entrypoint
// (so the container stops on SIGTERM), plus the host's own dash, stty and
// cat and the shared libraries they load, copied from the host, since no
// registry can be reached to pull an image with a shell. It needs a Linux
// host of the Engine's architecture; elsewhere it returns ErrNoHostShell.
func ShellImage(ctx context.Context, cli *client.Client, dir string, importFunc ImportFunc) (string, error) {
	v, err := cli.ServerVersion(ctx)
	if err != nil {
		return "", err
	}
	if goruntime.GOOS != "linux" || v.Arch != goruntime.GOARCH {
		return "", fmt.Errorf("%w: host %s/%s, Engine linux/%s", ErrNoHostShell, goruntime.GOOS, goruntime.GOARCH, v.Arch)
	}
	tiny, err := buildTiny(ctx, cli, dir)
	if err != nil {
		return "", err
	}
	files := map[string][]byte{
		"tiny":       tiny,
		"etc/passwd": []byte("root:x:0:0:root:/root:/bin/sh\n"),
	}
	for dst, candidates := range hostPrograms {
		src := ""
		for _, c := range candidates {
			if _, err := os.Stat(c); err == nil {
				src = c
				break
			}
		}
		if src == "" {
			return "", fmt.Errorf("%w: none of %v", ErrNoHostShell, candidates)
		}
		if files[dst], err = os.ReadFile(src); err != nil {
			return "", err
		}
		libs, err := sharedLibraries(ctx, src)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrNoHostShell, err)
		}
		for _, lib := range libs {
			if files[strings.TrimPrefix(lib, "/")], err = os.ReadFile(lib); err != nil {
				return "", err
			}
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(files[n]))
		h.Write(files[n])
	}
	tag := "ecsd-test/shell:" + hex.EncodeToString(h.Sum(nil)[:6])
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	}
	return tag, importFunc(ctx, cli, tag, files, `ENTRYPOINT ["/tiny"]`, `CMD ["run"]`, `ENV PATH=/bin`)
}

// sharedLibraries lists the absolute paths of the libraries (and the
// dynamic loader) a host program loads, as ldd prints them.
func sharedLibraries(ctx context.Context, prog string) ([]string, error) {
	out, err := exec.CommandContext(ctx, "ldd", prog).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %v", prog, err)
	}
	var libs []string
	for _, line := range strings.Split(string(out), "\n") {
		// "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
		// "/lib64/ld-linux-x86-64.so.2 (0x...)"; the vDSO has no file.
		f := strings.Fields(line)
		for i, w := range f {
			if strings.HasPrefix(w, "/") && (i == 0 || f[i-1] == "=>") {
				libs = append(libs, w)
			}
		}
	}
	return libs, nil
}
