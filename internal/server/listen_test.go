package server

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// fakeResolver answers for the names the tests use and fails for others,
// so no test depends on the machine's DNS.
func fakeResolver(t *testing.T) {
	t.Helper()
	names := map[string][]netip.Addr{
		"localhost":      {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
		"lan.example":    {netip.MustParseAddr("192.168.1.20")},
		"split.example":  {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("10.0.0.5")},
		"mapped.example": {netip.MustParseAddr("::ffff:127.0.0.1")},
	}
	old := lookupNetIP
	lookupNetIP = func(ctx context.Context, network, host string) ([]netip.Addr, error) {
		if addrs, ok := names[host]; ok {
			return addrs, nil
		}
		return nil, errors.New("no such host")
	}
	t.Cleanup(func() { lookupNetIP = old })
}

func TestCheckListen(t *testing.T) {
	fakeResolver(t)
	tests := []struct {
		name             string
		listen, runtime  string
		verify, insecure bool
		wantErr          string // substring; "" = allowed
		wantWarning      string // substring
	}{
		{name: "loopback v4", listen: "127.0.0.1:8080", runtime: RuntimeDocker},
		{name: "loopback elsewhere in 127/8", listen: "127.0.0.2:8080", runtime: RuntimeDocker},
		{name: "loopback v6", listen: "[::1]:8080", runtime: RuntimeDocker},
		{name: "v4-mapped loopback", listen: "[::ffff:127.0.0.1]:8080", runtime: RuntimeDocker},
		{name: "localhost", listen: "localhost:8080", runtime: RuntimeDocker},
		{name: "name resolving to mapped loopback", listen: "mapped.example:0", runtime: RuntimeDocker},

		{name: "every interface v4", listen: "0.0.0.0:8080", runtime: RuntimeDocker, wantErr: "on 0.0.0.0:8080 (every interface) with the docker runtime"},
		{name: "every interface v6", listen: "[::]:8080", runtime: RuntimeDocker, wantErr: "(every interface)"},
		{name: "no host", listen: ":8080", runtime: RuntimeDocker, wantErr: "on :8080 (every interface)"},
		{name: "LAN address", listen: "192.168.1.20:8080", runtime: RuntimeDocker, wantErr: "(not a loopback address)"},
		{name: "link-local with zone", listen: "[fe80::1%eth0]:8080", runtime: RuntimeDocker, wantErr: "(not a loopback address)"},
		{name: "name resolving to a LAN address", listen: "lan.example:8080", runtime: RuntimeDocker,
			wantErr: "(lan.example resolves to 192.168.1.20, not a loopback address)"},
		{name: "name resolving to loopback and beyond", listen: "split.example:8080", runtime: RuntimeDocker,
			wantErr: "(split.example resolves to 10.0.0.5, not a loopback address)"},
		{name: "name that does not resolve", listen: "nowhere.example:8080", runtime: RuntimeDocker,
			wantErr: "--listen nowhere.example:8080: resolving nowhere.example: no such host"},
		{name: "no port", listen: "0.0.0.0", runtime: RuntimeDocker, wantErr: "--listen 0.0.0.0: address 0.0.0.0: missing port in address"},

		{name: "remote with verification", listen: "0.0.0.0:8080", runtime: RuntimeDocker, verify: true},
		{name: "remote, insecure", listen: "0.0.0.0:8080", runtime: RuntimeDocker, insecure: true,
			wantWarning: "serving the ECS API on 0.0.0.0:8080 (every interface) without signature checks (--insecure-allow-remote)"},
		{name: "remote, both", listen: "lan.example:8080", runtime: RuntimeDocker, verify: true, insecure: true},
		{name: "remote on the simulated runtime", listen: "0.0.0.0:8080", runtime: RuntimeFake},
		{name: "loopback, insecure: nothing to warn of", listen: "127.0.0.1:8080", runtime: RuntimeDocker, insecure: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			warning, err := checkListen(t.Context(), tt.listen, tt.runtime, tt.verify, tt.insecure)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if tt.wantWarning == "" && warning != "" || !strings.Contains(warning, tt.wantWarning) {
				t.Errorf("warning = %q, want %q", warning, tt.wantWarning)
			}
		})
	}
}

// TestCheckListenSaysWhatToDo keeps the refusal actionable: it names the
// danger and each way out.
func TestCheckListenSaysWhatToDo(t *testing.T) {
	_, err := checkListen(t.Context(), "0.0.0.0:8080", RuntimeDocker, false, false)
	if err == nil {
		t.Fatal("not refused")
	}
	for _, want := range []string{"root on this host", "127.0.0.1", "--verify-sigv4 FILE", "ECSD_VERIFY_SIGV4",
		"--insecure-allow-remote", "ECSD_INSECURE_ALLOW_REMOTE=1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal does not mention %q: %v", want, err)
		}
	}
}
