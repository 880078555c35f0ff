package main

import (
	"bytes"
	"encoding/json"
	"net"
	"strings"
	"testing"
)

// cli runs ecsd's command line in-process and returns its exit code and
// output.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = realMain(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelpExitsZeroAndListsCommands(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"-help"}, {"--data-dir", t.TempDir(), "--help"}} {
		code, out, errOut := cli(t, args...)
		if code != 0 {
			t.Errorf("ecsd %q: exit %d, stderr %q", args, code, errOut)
		}
		for _, want := range []string{"ecsd logs", "ecsd version", "ecsd help", "-listen", "ECSD_LISTEN", "-log-format", "-keep-stopped-containers"} {
			if !strings.Contains(out, want) {
				t.Errorf("ecsd %q: help lacks %q:\n%s", args, want, out)
			}
		}
		if strings.Contains(errOut, "flag: help requested") {
			t.Errorf("ecsd %q printed %q", args, errOut)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, _ := cli(t, args...)
		// A test binary carries the module path but no VCS stamp; the e2e
		// test TestVersionNamesTheRevision checks a built binary's.
		if code != 0 || !strings.HasPrefix(out, "ecsd ") || !strings.Contains(out, "github.com/ecsd/ecsd") {
			t.Errorf("ecsd %q: exit %d, output %q", args, code, out)
		}
	}
	if code, _, errOut := cli(t, "version", "now"); code != 2 || !strings.Contains(errOut, "version takes no arguments") {
		t.Errorf("ecsd version now: exit %d, %q", code, errOut)
	}
}

func TestRefusesUnknownCommandsAndStrayArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, `unknown command "serve": the commands are logs, version and help`},
		{[]string{"verison"}, `unknown command "verison"`},
		{[]string{"--data-dir", "x", "extra"}, `unexpected argument "extra": ecsd takes only flags`},
		{[]string{"--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"--log-format", "yaml"}, `--log-format "yaml": want text or json`},
		{[]string{"--runtime", "podman"}, `--runtime "podman": want fake, docker, kubernetes or auto`},
		{[]string{"--keep-stopped-containers", "-1"}, "--keep-stopped-containers -1: must be 0 or more"},
	} {
		code, out, errOut := cli(t, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("ecsd %q: exit %d, stderr %q; want exit 2 and %q", tc.args, code, errOut, tc.want)
		}
		if out != "" {
			t.Errorf("ecsd %q wrote to stdout: %q", tc.args, out)
		}
	}
}

func TestBusyPortNamesTheFlag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	t.Setenv("ECSD_LISTEN", "")
	code, _, errOut := cli(t, "--listen", ln.Addr().String(), "--data-dir", t.TempDir(), "--runtime", "fake")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr %q", code, errOut)
	}
	for _, want := range []string{"cannot listen on " + ln.Addr().String(), "another process is listening there", "--listen", "ECSD_LISTEN"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr %q lacks %q", errOut, want)
		}
	}
}

func TestLogFormatJSON(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// Start-up logs a line before the busy port stops it.
	code, _, errOut := cli(t, "--log-format", "json", "--listen", ln.Addr().String(), "--data-dir", t.TempDir(), "--runtime", "fake")
	first, _, _ := strings.Cut(errOut, "\n")
	var line map[string]any
	if code != 1 || json.Unmarshal([]byte(first), &line) != nil || line["msg"] == nil || line["level"] != "INFO" {
		t.Fatalf("exit %d, first line %q: want a JSON log line", code, first)
	}
}

func TestLogsHelpExitsZero(t *testing.T) {
	code, _, errOut := cli(t, "logs", "--help")
	if code != 0 || !strings.Contains(errOut, "usage: ecsd logs") || strings.Contains(errOut, "ecsd: flag: help requested") {
		t.Fatalf("ecsd logs --help: exit %d, stderr %q", code, errOut)
	}
}
