package kubetest

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

// ImportImage makes a FROM-scratch image tagged tag from files (path in
// the image -> executable content) with the given entrypoint and command,
// and imports it into the tier-2 node's containerd, where pods find it
// without pulling (no registry answers here).
func (c *Cluster) ImportImage(tag string, files map[string][]byte, entrypoint, cmd []string) error {
	if c.node == nil {
		return fmt.Errorf("kubetest: ImportImage needs a tier-2 cluster (StartKubelet)")
	}
	archive, err := dockerArchive(tag, files, entrypoint, cmd)
	if err != nil {
		return err
	}
	// A docker-save archive: what `docker save IMG | ctr images import -`
	// would import, without needing Docker.
	_, err = c.node.ctrIn(archive, "images", "import", "-")
	return err
}

var tiny struct {
	once sync.Once
	body []byte
	err  error
}

// tinyBinary compiles the Docker driver's test program (testdata/tiny:
// run, exit CODE MS, ignore-term, serve ADDR, metadata...) statically.
func tinyBinary() ([]byte, error) {
	tiny.once.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			tiny.err = fmt.Errorf("go env GOMOD: %v", err)
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(out)))
		tmp, err := os.MkdirTemp("", "ecsd-kube-tiny")
		if err != nil {
			tiny.err = err
			return
		}
		defer os.RemoveAll(tmp)
		bin := filepath.Join(tmp, "tiny")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./internal/driver/dockerdriver/testdata/tiny")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goruntime.GOARCH)
		if b, err := cmd.CombinedOutput(); err != nil {
			tiny.err = fmt.Errorf("go build tiny: %v\n%s", err, b)
			return
		}
		tiny.body, tiny.err = os.ReadFile(bin)
	})
	return tiny.body, tiny.err
}

// TinyImage imports the tiny test program as an image (entrypoint
// ["/tiny"], command ["run"]) into the tier-2 node and returns its tag,
// named after the binary's content.
func (c *Cluster) TinyImage(t testing.TB) string {
	t.Helper()
	body, err := tinyBinary()
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(body)
	tag := "ecsd-test/tiny:" + hex.EncodeToString(h[:6])
	c.node.imagesMu.Lock()
	defer c.node.imagesMu.Unlock()
	if !c.node.imported[tag] {
		if err := c.ImportImage(tag, map[string][]byte{"tiny": body}, []string{"/tiny"}, []string{"run"}); err != nil {
			t.Fatal(err)
		}
		c.node.imported[tag] = true
	}
	return tag
}

// importPause imports the sandbox image: the tiny program, running until
// SIGTERM.
func (n *kubeletNode) importPause() error {
	body, err := tinyBinary()
	if err != nil {
		return err
	}
	archive, err := dockerArchive(PauseImage, map[string][]byte{"tiny": body}, []string{"/tiny"}, []string{"run"})
	if err != nil {
		return err
	}
	_, err = n.ctrIn(archive, "images", "import", "-")
	return err
}

// dockerArchive writes a one-layer image in `docker save` format.
func dockerArchive(tag string, files map[string][]byte, entrypoint, cmd []string) ([]byte, error) {
	var layer bytes.Buffer
	lw := tar.NewWriter(&layer)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := lw.WriteHeader(&tar.Header{Name: n, Mode: 0o755, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := lw.Write(files[n]); err != nil {
			return nil, err
		}
	}
	if err := lw.Close(); err != nil {
		return nil, err
	}
	layerSum := sha256.Sum256(layer.Bytes())
	config, err := json.Marshal(map[string]any{
		"architecture": goruntime.GOARCH, "os": "linux",
		"config": map[string]any{"Entrypoint": entrypoint, "Cmd": cmd, "Env": []string{"PATH=/"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + hex.EncodeToString(layerSum[:])}},
	})
	if err != nil {
		return nil, err
	}
	configSum := sha256.Sum256(config)
	configName := hex.EncodeToString(configSum[:]) + ".json"
	layerName := hex.EncodeToString(layerSum[:]) + "/layer.tar"
	manifest, err := json.Marshal([]map[string]any{{"Config": configName, "RepoTags": []string{tag}, "Layers": []string{layerName}}})
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	w := tar.NewWriter(&out)
	for _, f := range []struct {
		name string
		body []byte
	}{{configName, config}, {layerName, layer.Bytes()}, {"manifest.json", manifest}} {
		if err := w.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := w.Write(f.body); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// RunningContainers lists the IDs of the containers (sandboxes included)
// of namespace ns's pods that still run on the tier-2 node: what a test
// checks to prove nothing was left behind.
func (c *Cluster) RunningContainers(ns string) ([]string, error) {
	if c.node == nil {
		return nil, fmt.Errorf("kubetest: RunningContainers needs a tier-2 cluster (StartKubelet)")
	}
	out, err := c.node.ctr("containers", "ls", "-q", fmt.Sprintf(`labels."io.kubernetes.pod.namespace"==%s`, ns))
	if err != nil {
		return nil, err
	}
	mine := map[string]bool{}
	for _, id := range strings.Fields(string(out)) {
		mine[id] = true
	}
	tasks, err := c.node.ctr("tasks", "ls")
	if err != nil {
		return nil, err
	}
	var running []string
	for _, line := range strings.Split(string(tasks), "\n") {
		f := strings.Fields(line)
		// TASK PID STATUS
		if len(f) == 3 && mine[f[0]] && f[2] == "RUNNING" {
			running = append(running, f[0])
		}
	}
	return running, nil
}
