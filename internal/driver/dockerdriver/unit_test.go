package dockerdriver

import (
	"bytes"
	"debug/elf"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/driver"
)

// These tests need no Engine.

func TestPauseBinary(t *testing.T) {
	for arch, machine := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64} {
		t.Run(arch, func(t *testing.T) {
			bin, err := pauseBinary(arch)
			if err != nil {
				t.Fatal(err)
			}
			f, err := elf.NewFile(bytes.NewReader(bin))
			if err != nil {
				t.Fatalf("not an ELF file: %v", err)
			}
			if f.Machine != machine || f.Type != elf.ET_EXEC || f.Class != elf.ELFCLASS64 || len(f.Progs) != 1 {
				t.Fatalf("header = %+v, progs %d", f.FileHeader, len(f.Progs))
			}
			p := f.Progs[0]
			if p.Type != elf.PT_LOAD || p.Flags != elf.PF_R|elf.PF_X || p.Filesz != uint64(len(bin)) {
				t.Errorf("program header = %+v", p.ProgHeader)
			}
			// The entry point is the code, inside the loaded segment.
			off := f.Entry - p.Vaddr
			if f.Entry < p.Vaddr || off >= p.Filesz || !bytes.Equal(bin[off:], pauseCode[arch].code) {
				t.Errorf("entry %#x does not point at the code", f.Entry)
			}
			if tag := pauseTag(bin); !strings.HasPrefix(tag, "ecsd/pause:") {
				t.Errorf("tag = %q", tag)
			}
		})
	}
	if _, err := pauseBinary("s390x"); err == nil {
		t.Error("pauseBinary(s390x) succeeded; want an error naming the supported architectures")
	}
	a, _ := pauseBinary("amd64")
	b, _ := pauseBinary("arm64")
	if pauseTag(a) == pauseTag(b) {
		t.Error("amd64 and arm64 pause images share a tag")
	}
}

func TestValidateSpec(t *testing.T) {
	ok := driver.ContainerSpec{Name: "app", Image: "img"}
	tests := []struct {
		name string
		spec driver.GroupSpec
		want string // substring of the error; "" for valid
	}{
		{"valid", driver.GroupSpec{ID: "a-b_c.1", Containers: []driver.ContainerSpec{ok}}, ""},
		{"empty id", driver.GroupSpec{Containers: []driver.ContainerSpec{ok}}, "invalid group id"},
		{"slash in id", driver.GroupSpec{ID: "a/b", Containers: []driver.ContainerSpec{ok}}, "invalid group id"},
		{"leading dot", driver.GroupSpec{ID: ".a", Containers: []driver.ContainerSpec{ok}}, "invalid group id"},
		{"network mode", driver.GroupSpec{ID: "g", NetworkMode: "nat", Containers: []driver.ContainerSpec{ok}}, "unknown network mode"},
		{"no containers", driver.GroupSpec{ID: "g"}, "no containers"},
		{"bad name", driver.GroupSpec{ID: "g", Containers: []driver.ContainerSpec{{Name: "a.b", Image: "i"}}}, "invalid container name"},
		{"long name", driver.GroupSpec{ID: "g", Containers: []driver.ContainerSpec{{Name: strings.Repeat("a", 256), Image: "i"}}}, "invalid container name"},
		{"twice", driver.GroupSpec{ID: "g", Containers: []driver.ContainerSpec{ok, ok}}, "used twice"},
		{"no image", driver.GroupSpec{ID: "g", Containers: []driver.ContainerSpec{{Name: "a"}}}, "no image"},
		{"reserved group label", driver.GroupSpec{ID: "g", Labels: map[string]string{labelGroup: "x"}, Containers: []driver.ContainerSpec{ok}}, "reserved"},
		{"reserved container label is overridden, not refused", driver.GroupSpec{ID: "g", Containers: []driver.ContainerSpec{{Name: "a", Image: "i", Labels: map[string]string{labelRole: "x"}}}}, ""},
		{"condition", driver.GroupSpec{ID: "g", Containers: []driver.ContainerSpec{{Name: "a", Image: "i", DependsOn: []driver.Dependency{{Container: "b", Condition: "READY"}}}}}, "unknown dependency condition"},
		{"port", driver.GroupSpec{ID: "g", Containers: []driver.ContainerSpec{{Name: "a", Image: "i", PortMappings: []driver.PortMapping{{ContainerPort: 0}}}}}, "invalid port mapping"},
		{"protocol", driver.GroupSpec{ID: "g", Containers: []driver.ContainerSpec{{Name: "a", Image: "i", PortMappings: []driver.PortMapping{{ContainerPort: 80, Protocol: "sctp"}}}}}, "unknown protocol"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateSpec(tt.spec)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("validateSpec: %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("validateSpec: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestNamesDoNotCollide(t *testing.T) {
	names := map[string]string{}
	add := func(what, name string) {
		if prev, ok := names[name]; ok {
			t.Errorf("%s and %s are both named %s", prev, what, name)
		}
		names[name] = what
	}
	for _, id := range []string{"a", "a-b", "a-stop", "a-b-c"} {
		add("anchor "+id, anchorName(id))
		add("stop "+id, stopName(id))
		for _, c := range []string{"b", "c", "b-c", "stop"} {
			add("container "+id+"/"+c, containerName(id, c))
		}
	}
}

func TestBindings(t *testing.T) {
	ports := nat.PortMap{
		"8080/tcp": {{HostIP: "127.0.0.1", HostPort: "40000"}, {HostIP: "127.0.0.1", HostPort: "32768"}},
		"53/udp":   {{HostIP: "127.0.0.1", HostPort: "32769"}},
	}
	pms := []driver.PortMapping{{ContainerPort: 8080}, {ContainerPort: 8080, HostPort: 40000}, {ContainerPort: 53, Protocol: "udp"}, {ContainerPort: 9999}}
	want := []driver.NetworkBinding{
		{BindIP: "127.0.0.1", ContainerPort: 8080, HostPort: 32768, Protocol: "tcp"},
		{BindIP: "127.0.0.1", ContainerPort: 8080, HostPort: 40000, Protocol: "tcp"},
		{BindIP: "127.0.0.1", ContainerPort: 53, HostPort: 32769, Protocol: "udp"},
	}
	if diff := cmp.Diff(want, bindings(pms, ports)); diff != "" {
		t.Errorf("bindings (-want +got):\n%s", diff)
	}
}

func TestContainerState(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ts := func(d time.Duration) string { return formatTime(t0.Add(d)) }
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	code := func(n int) *int { return &n }
	spec := driver.ContainerSpec{Name: "app", Image: "img"}
	withHealth := spec
	withHealth.HealthCheck = &driver.HealthCheck{Command: []string{"CMD", "true"}}
	member := func(st container.State) *container.InspectResponse {
		return &container.InspectResponse{
			ContainerJSONBase: &container.ContainerJSONBase{ID: "cid", Created: ts(0), State: &st},
			Config:            &container.Config{Labels: map[string]string{labelPulledAt: ts(time.Second)}},
		}
	}
	zero := "0001-01-01T00:00:00Z"
	tests := []struct {
		name   string
		spec   driver.ContainerSpec
		view   view
		want   driver.ContainerState
		pulled time.Time
	}{{
		name: "pending",
		spec: spec, pulled: at(time.Second),
		want: driver.ContainerState{Name: "app", Status: driver.StatusCreated, Health: driver.HealthUnknown, PulledAt: at(time.Second)},
	}, {
		name: "pending when the stop came",
		spec: spec, view: view{stopRequestedAt: at(3 * time.Second)},
		want: driver.ContainerState{Name: "app", Status: driver.StatusExited, Health: driver.HealthUnknown, FinishedAt: at(3 * time.Second)},
	}, {
		name: "placeholder",
		spec: spec,
		view: view{failed: map[string]*container.Summary{"app": {ID: "pid", Labels: map[string]string{
			labelReason: "CannotPullContainerError: nope", labelFailedAt: ts(2 * time.Second)}}}},
		want: driver.ContainerState{Name: "app", Status: driver.StatusExited, Health: driver.HealthUnknown, RuntimeID: "pid",
			Reason: "CannotPullContainerError: nope", FinishedAt: at(2 * time.Second)},
	}, {
		name: "running",
		spec: spec,
		view: view{spec: groupSpec{driver.GroupSpec{NetworkMode: driver.NetworkNone}}, members: map[string]*container.InspectResponse{
			"app": member(container.State{Status: "running", Running: true, StartedAt: ts(2 * time.Second), FinishedAt: zero})}},
		want: driver.ContainerState{Name: "app", Status: driver.StatusRunning, Health: driver.HealthUnknown, RuntimeID: "cid", CreatedAt: at(0),
			PulledAt: at(time.Second), StartedAt: at(2 * time.Second)},
	}, {
		name: "healthy",
		spec: withHealth,
		view: view{spec: groupSpec{driver.GroupSpec{NetworkMode: driver.NetworkNone}}, members: map[string]*container.InspectResponse{
			"app": member(container.State{Status: "running", Running: true, StartedAt: ts(2 * time.Second), FinishedAt: zero,
				Health: &container.Health{Status: container.Healthy}})}},
		want: driver.ContainerState{Name: "app", Status: driver.StatusRunning, Health: driver.HealthHealthy, RuntimeID: "cid", CreatedAt: at(0),
			PulledAt: at(time.Second), StartedAt: at(2 * time.Second)},
	}, {
		name: "health starting is unknown",
		spec: withHealth,
		view: view{spec: groupSpec{driver.GroupSpec{NetworkMode: driver.NetworkNone}}, members: map[string]*container.InspectResponse{
			"app": member(container.State{Status: "running", Running: true, StartedAt: ts(2 * time.Second), FinishedAt: zero,
				Health: &container.Health{Status: container.Starting}})}},
		want: driver.ContainerState{Name: "app", Status: driver.StatusRunning, Health: driver.HealthUnknown, RuntimeID: "cid", CreatedAt: at(0),
			PulledAt: at(time.Second), StartedAt: at(2 * time.Second)},
	}, {
		name: "health of a container without a check is ignored",
		spec: spec,
		view: view{spec: groupSpec{driver.GroupSpec{NetworkMode: driver.NetworkNone}}, members: map[string]*container.InspectResponse{
			"app": member(container.State{Status: "running", Running: true, StartedAt: ts(2 * time.Second), FinishedAt: zero,
				Health: &container.Health{Status: container.Unhealthy}})}},
		want: driver.ContainerState{Name: "app", Status: driver.StatusRunning, Health: driver.HealthUnknown, RuntimeID: "cid", CreatedAt: at(0),
			PulledAt: at(time.Second), StartedAt: at(2 * time.Second)},
	}, {
		name: "out of memory",
		spec: spec,
		view: view{members: map[string]*container.InspectResponse{
			"app": member(container.State{Status: "exited", OOMKilled: true, ExitCode: 137, StartedAt: ts(2 * time.Second), FinishedAt: ts(4 * time.Second)})}},
		want: driver.ContainerState{Name: "app", Status: driver.StatusExited, Health: driver.HealthUnknown, RuntimeID: "cid", CreatedAt: at(0),
			ExitCode: code(137), Reason: "OutOfMemoryError: Container killed due to memory usage",
			PulledAt: at(time.Second), StartedAt: at(2 * time.Second), FinishedAt: at(4 * time.Second)},
	}, {
		name: "start failed, not replaced yet",
		spec: spec,
		view: view{members: map[string]*container.InspectResponse{
			"app": member(container.State{Status: "created", ExitCode: 127, Error: "exec: nope", StartedAt: zero, FinishedAt: zero})}},
		want: driver.ContainerState{Name: "app", Status: driver.StatusExited, Health: driver.HealthUnknown, RuntimeID: "cid", CreatedAt: at(0),
			Reason: "CannotStartContainerError: exec: nope", PulledAt: at(time.Second), FinishedAt: at(0)},
	}, {
		name: "created, never started, stopped",
		spec: spec,
		view: view{stopRequestedAt: at(5 * time.Second), members: map[string]*container.InspectResponse{
			"app": member(container.State{Status: "created", StartedAt: zero, FinishedAt: zero})}},
		want: driver.ContainerState{Name: "app", Status: driver.StatusExited, Health: driver.HealthUnknown, RuntimeID: "cid", CreatedAt: at(0),
			PulledAt: at(time.Second), FinishedAt: at(5 * time.Second)},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.view
			if v.members == nil {
				v.members = map[string]*container.InspectResponse{}
			}
			if v.failed == nil {
				v.failed = map[string]*container.Summary{}
			}
			got := containerState(&v, tt.spec, tt.pulled)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("containerState (-want +got):\n%s", diff)
			}
		})
	}
}
