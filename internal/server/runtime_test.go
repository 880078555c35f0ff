package server

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/ecsd/ecsd/internal/notify"
)

func TestOpenRuntime(t *testing.T) {
	cases := []struct {
		name, runtime, dockerHost string
		want, log                 string
		err                       string
	}{
		{name: "default is the simulated runtime", runtime: "", want: RuntimeFake, log: "tasks run on the simulated runtime"},
		{name: "fake", runtime: "fake", want: RuntimeFake, log: "tasks run on the simulated runtime"},
		{name: "auto without an engine falls back and says why", runtime: "auto", dockerHost: "unix:///nonexistent/docker.sock",
			want: RuntimeFake, log: "no Docker Engine answers; tasks run on the simulated runtime"},
		{name: "docker without an engine fails", runtime: "docker", dockerHost: "unix:///nonexistent/docker.sock",
			err: "docker engine not reachable"},
		{name: "unknown", runtime: "podman", err: `runtime "podman": want fake, docker, kubernetes or auto`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.dockerHost != "" {
				t.Setenv("DOCKER_HOST", tc.dockerHost)
			}
			var logs bytes.Buffer
			rt, err := openRuntime(t.Context(), Config{Runtime: tc.runtime, DataDir: t.TempDir(),
				Logger: slog.New(slog.NewTextHandler(&logs, nil))}, nil, notify.New(nil))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rt.close()
			if rt.name != tc.want {
				t.Errorf("runtime = %s, want %s", rt.name, tc.want)
			}
			if !strings.Contains(logs.String(), tc.log) {
				t.Errorf("log %q does not say %q", logs.String(), tc.log)
			}
		})
	}
}

func TestDockerScope(t *testing.T) {
	t.Chdir(t.TempDir())
	a, err := DockerScope("ecsd-data")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := DockerScope("./ecsd-data/")
	if a[LabelDataDir] != b[LabelDataDir] || !strings.HasPrefix(a[LabelDataDir], "/") {
		t.Errorf("scopes %v and %v: want the same absolute path", a, b)
	}
}
