package dockerdriver

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/driver"
)

// Container definition parameters beyond the basics: env files, volumes,
// volumesFrom, ulimits, linuxParameters, readonly root, hosts and DNS,
// sysctls, log driver. Each is checked twice where it can be: what Docker
// was told, and what the process inside sees.

// call sends a request to a tiny server and returns the status and body.
func call(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestContainerParameters(t *testing.T) {
	t.Parallel()
	cli, tiny := testEngine(t)
	labels := scope(t)
	d := newDriver(t, labels)
	id := groupID(t)

	dir := t.TempDir()
	hostDir := filepath.Join(dir, "host")
	if err := os.MkdirAll(hostDir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(hostDir, "hello.txt"), []byte("from the host"), 0o644); err != nil {
		t.Fatal(err)
	}
	first := filepath.Join(dir, "first.env")
	second := filepath.Join(dir, "second.env")
	os.WriteFile(first, []byte("# a comment\nFROM_FILE=one\nSHARED=first\nTWICE=a\nTWICE=b\nNO_EQUALS\nPADDED=x=y==\n\r\n"), 0o644)
	os.WriteFile(second, []byte("SHARED=second\nSECOND=2\nOVERRIDDEN=file\n"), 0o644)

	zero := 0
	start(t, d, driver.GroupSpec{ID: id, NetworkMode: driver.NetworkBridge,
		Volumes: []driver.Volume{
			{Name: "host", Kind: driver.VolumeBind, HostPath: hostDir},
			{Name: "scratch", Kind: driver.VolumeTask},
		},
		Containers: []driver.ContainerSpec{
			{Name: "writer", Image: tiny, Command: []string{"touch", "/data/written", "0"},
				MountPoints: []driver.MountPoint{{Volume: "scratch", ContainerPath: "/data"}}},
			{Name: "web", Image: tiny, Essential: true, Command: []string{"serve", ":8080"},
				PortMappings:    []driver.PortMapping{{ContainerPort: 8080}},
				Env:             []driver.EnvVar{{Name: "OVERRIDDEN", Value: "env"}},
				EnvFiles:        []string{first, "file://" + second},
				ReadonlyRootFS:  true,
				MountPoints:     []driver.MountPoint{{Volume: "host", ContainerPath: "/host", ReadOnly: true}, {Volume: "host", ContainerPath: "/host-rw"}},
				VolumesFrom:     []driver.VolumeFrom{{Container: "writer", ReadOnly: true}},
				Ulimits:         []driver.Ulimit{{Name: "nofile", Soft: 1234, Hard: 2345}},
				InitProcess:     true,
				CapAdd:          []string{"NET_ADMIN"},
				CapDrop:         []string{"MKNOD"},
				SharedMemoryMiB: 32,
				Tmpfs:           []driver.Tmpfs{{ContainerPath: "/scratch", SizeMiB: 8, MountOptions: []string{"noexec"}}},
				MemoryMiB:       64,
				MaxSwapMiB:      &zero,
				ExtraHosts:      []driver.HostEntry{{Hostname: "db.internal", IP: "10.1.2.3"}},
				DNSServers:      []string{"10.0.0.53"},
				DNSSearch:       []string{"corp.example"},
				Hostname:        "web-host",
				Sysctls:         map[string]string{"net.ipv4.ip_local_port_range": "40000 41000"},
				DependsOn:       []driver.Dependency{{Container: "writer", Condition: driver.ConditionStart}},
			},
		}})
	g := waitFor(t, d, id, "web running", patience, running("web", "writer"))
	web := containerOf(g, "web")
	base := fmt.Sprintf("http://127.0.0.1:%d", web.NetworkBindings[0].HostPort)
	in := getInfo(t, base[len("http://"):])

	// Env files: Env wins over files, the first file wins over the
	// second, the last line wins within a file, the value is all after
	// the first '='.
	for _, want := range []string{"FROM_FILE=one", "SHARED=first", "TWICE=b", "SECOND=2", "OVERRIDDEN=env", "PADDED=x=y=="} {
		if !slices.Contains(in.Env, want) {
			t.Errorf("env %v lacks %q", in.Env, want)
		}
	}
	for _, e := range in.Env {
		if strings.HasPrefix(e, "NO_EQUALS") || e == "OVERRIDDEN=file" || e == "SHARED=second" {
			t.Errorf("env has %q", e)
		}
	}
	if in.Hostname != "web-host" {
		t.Errorf("hostname %q", in.Hostname)
	}

	read := func(path string) (int, string) { return call(t, "GET", base+"/read?path="+path, "") }
	write := func(path string) (int, string) { return call(t, "POST", base+"/write?path="+path, "x") }
	if code, body := read("/host/hello.txt"); code != 200 || body != "from the host" {
		t.Errorf("bind mount: %d %q", code, body)
	}
	if code, _ := write("/host/nope"); code == 200 {
		t.Errorf("wrote through a read-only mount point")
	}
	if code, body := write("/host-rw/back"); code != 200 {
		t.Errorf("read-write mount point: %d %s", code, body)
	} else if b, _ := os.ReadFile(filepath.Join(hostDir, "back")); string(b) != "x" {
		t.Errorf("the host sees %q, want what the container wrote", b)
	}
	if code, _ := write("/root-file"); code == 200 {
		t.Errorf("wrote to a read-only root file system")
	}
	if code, body := write("/scratch/ok"); code != 200 {
		t.Errorf("tmpfs on a read-only root: %d %s", code, body)
	}
	// writer's task volume, through volumesFrom.
	deadline := time.Now().Add(patience)
	for code, _ := read("/data/written"); code != 200; code, _ = read("/data/written") {
		if time.Now().After(deadline) {
			t.Fatal("writer's file never appeared through volumesFrom")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, _ := write("/data/mine"); code == 200 {
		t.Errorf("wrote through a read-only volumesFrom")
	}
	if _, body := read("/etc/hosts"); !strings.Contains(body, "10.1.2.3\tdb.internal") {
		t.Errorf("/etc/hosts lacks the extra host:\n%s", body)
	}
	if _, body := read("/etc/resolv.conf"); !strings.Contains(body, "nameserver 10.0.0.53") || !strings.Contains(body, "corp.example") {
		t.Errorf("/etc/resolv.conf:\n%s", body)
	}
	if _, body := read("/proc/sys/net/ipv4/ip_local_port_range"); strings.Join(strings.Fields(body), " ") != "40000 41000" {
		t.Errorf("sysctl = %q", body)
	}
	// The Go runtime raises its own soft limit, so read PID 1's (the
	// init process).
	if _, body := read("/proc/1/limits"); !strings.Contains(strings.Join(strings.Fields(body), " "), "Max open files 1234 2345 files") {
		t.Errorf("init's limits lack nofile 1234/2345:\n%s", body)
	}
	var pid struct{ PID int }
	_, body := call(t, "GET", base+"/info", "")
	json.Unmarshal([]byte(body), &pid)
	if pid.PID == 1 {
		t.Errorf("the program is PID 1; with an init process it is not")
	}

	c, err := cli.ContainerInspect(bg, web.RuntimeID)
	if err != nil {
		t.Fatal(err)
	}
	hc := c.HostConfig
	got := map[string]any{
		"init": hc.Init != nil && *hc.Init, "capAdd": []string(hc.CapAdd), "capDrop": []string(hc.CapDrop),
		"shm": hc.ShmSize, "tmpfs": hc.Tmpfs, "swap": hc.MemorySwap, "log": hc.LogConfig.Type, "readonly": hc.ReadonlyRootfs,
	}
	want := map[string]any{
		"init": true, "capAdd": []string{"CAP_NET_ADMIN"}, "capDrop": []string{"CAP_MKNOD"},
		"shm": int64(32 << 20), "tmpfs": map[string]string{"/scratch": "size=8m,noexec"}, "swap": int64(64 << 20), "log": "json-file", "readonly": true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("host config (-want +got):\n%s", diff)
	}

	// The task volume goes with the group.
	volName := taskVolumeName(id, "scratch")
	if _, err := cli.VolumeInspect(bg, volName); err != nil {
		t.Fatalf("task volume: %v", err)
	}
	if err := d.Stop(bg, id, time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, d, id, "stopped", patience, func(g driver.GroupState) bool { return !g.Running() })
	if err := d.Remove(bg, id); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.VolumeInspect(bg, volName); err == nil {
		t.Errorf("task volume %s survived Remove", volName)
	}
	if cs := scopeContainers(t, cli, labels); len(cs) != 0 {
		t.Errorf("containers left: %d", len(cs))
	}
}

// Shared Docker volumes are made only with autoprovision, outlive the
// group, and a container whose volume or env file is missing fails to
// start, saying why.
func TestVolumeAndEnvFileFailures(t *testing.T) {
	t.Parallel()
	cli, tiny := testEngine(t)
	d := newDriver(t, scope(t))
	id := groupID(t)
	shared := "ecsd-test-shared-" + id
	missing := "ecsd-test-missing-" + id
	t.Cleanup(func() {
		cli.VolumeRemove(bg, shared, true)
		cli.VolumeRemove(bg, missing, true)
	})
	start(t, d, driver.GroupSpec{ID: id, NetworkMode: driver.NetworkNone,
		Volumes: []driver.Volume{
			{Name: shared, Kind: driver.VolumeShared, Autoprovision: true, Labels: map[string]string{"team": "a"}},
			{Name: missing, Kind: driver.VolumeShared},
		},
		Containers: []driver.ContainerSpec{
			{Name: "ok", Image: tiny, Command: []string{"run"}, MountPoints: []driver.MountPoint{{Volume: shared, ContainerPath: "/v"}}},
			{Name: "novol", Image: tiny, MountPoints: []driver.MountPoint{{Volume: missing, ContainerPath: "/v"}}},
			{Name: "undeclared", Image: tiny, MountPoints: []driver.MountPoint{{Volume: "nope", ContainerPath: "/v"}}},
			{Name: "noenv", Image: tiny, EnvFiles: []string{"/nonexistent/x.env"}},
			{Name: "s3env", Image: tiny, EnvFiles: []string{"arn:aws:s3:::bucket/app.env"}},
			{Name: "nosource", Image: tiny, VolumesFrom: []driver.VolumeFrom{{Container: "novol"}}},
		}})
	g := waitFor(t, d, id, "decided", patience, func(g driver.GroupState) bool {
		for _, c := range g.Containers {
			if c.Status == driver.StatusCreated {
				return false
			}
		}
		return true
	})
	for name, want := range map[string]string{
		"novol":      "CannotCreateContainerError: volume " + missing + " does not exist and autoprovision is not set",
		"undeclared": `CannotCreateContainerError: mount point /v: the task has no volume named "nope"`,
		"noenv":      "ResourceInitializationError: failed to read env files: open /nonexistent/x.env: no such file or directory",
		"s3env":      "ResourceInitializationError: failed to read env files: arn:aws:s3:::bucket/app.env: ecsd reads environment files from the local file system only: give an absolute path or a file:// URL",
		"nosource":   "CannotCreateContainerError: volumesFrom: container novol of the task was not created",
	} {
		if c := containerOf(g, name); !c.FailedToStart() || c.Reason != want {
			t.Errorf("%s = %+v\nwant failed to start with %q", name, c, want)
		}
	}
	if c := containerOf(g, "ok"); c.Status != driver.StatusRunning {
		t.Errorf("ok = %+v", c)
	}
	v, err := cli.VolumeInspect(bg, shared)
	if err != nil || v.Labels["team"] != "a" {
		t.Fatalf("shared volume %+v, %v", v, err)
	}
	if _, err := cli.VolumeInspect(bg, missing); err == nil {
		t.Errorf("a volume without autoprovision was made")
	}
	if err := d.Remove(bg, id); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.VolumeInspect(bg, shared); err != nil {
		t.Errorf("Remove took the shared volume: %v", err)
	}
	vols, _ := cli.VolumeList(bg, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", labelGroup+"="+id))})
	if len(vols.Volumes) != 0 {
		t.Errorf("volumes of the group left: %+v", vols.Volumes)
	}
}
