package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// lookupNetIP resolves a --listen host name; tests replace it.
var lookupNetIP = net.DefaultResolver.LookupNetIP

// checkListen is the remote-listen guard. An API that starts containers is
// root on its host: whoever can send RunTask can bind-mount / into a
// container. So ecsd refuses to serve the Docker runtime on anything but a
// loopback address unless requests must be signed with configured keys
// (verify) or the user said, in so many words, that the network is
// trusted (insecure). runtime is the runtime tasks will run on, resolved
// (auto has become fake or docker). It returns a warning to log when the
// guard is waived for a remote address.
func checkListen(ctx context.Context, listen, runtime string, verify, insecure bool) (warning string, err error) {
	if runtime != RuntimeDocker && runtime != RuntimeKubernetes {
		return "", nil
	}
	reach, err := beyondLoopback(ctx, listen)
	if err != nil {
		return "", fmt.Errorf("--listen %s: %w", listen, err)
	}
	switch {
	case reach == "", verify:
		return "", nil
	case insecure:
		return fmt.Sprintf("serving the ECS API on %s (%s) without signature checks (--insecure-allow-remote): "+
			"anyone who can reach it can start containers on this host", listen, reach), nil
	}
	return "", fmt.Errorf("refusing to serve the ECS API on %s (%s) with the %s runtime: anyone who can reach it "+
		"could start containers, which is root on this host. Listen on 127.0.0.1, or pass --verify-sigv4 FILE "+
		"(env ECSD_VERIFY_SIGV4) to accept only requests signed with the keys in FILE, or pass --insecure-allow-remote "+
		"(env ECSD_INSECURE_ALLOW_REMOTE=1) if everyone who can reach that address may do so", listen, reach, runtime)
}

// beyondLoopback says what makes listen reachable from other hosts ("" if
// nothing does): no host or an unspecified address is every interface, a
// host name counts by every address it resolves to.
func beyondLoopback(ctx context.Context, listen string) (string, error) {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return "", err
	}
	if host == "" {
		return "every interface", nil
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return describeAddr(addr, ""), nil
	}
	addrs, err := lookupNetIP(ctx, "ip", host)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", host, err)
	}
	for _, addr := range addrs {
		if reach := describeAddr(addr, host); reach != "" {
			return reach, nil
		}
	}
	return "", nil
}

func describeAddr(addr netip.Addr, name string) string {
	addr = addr.Unmap()
	switch {
	case addr.IsLoopback():
		return ""
	case addr.IsUnspecified():
		return "every interface"
	case name != "":
		return name + " resolves to " + addr.String() + ", not a loopback address"
	}
	return "not a loopback address"
}

// ResetDisabledBody is the answer to POST /moto-api/reset when ecsd was
// started without --enable-reset: which flag serves it.
const ResetDisabledBody = `{"status":"disabled","message":"POST /moto-api/reset deletes all state and is off: start ecsd with --enable-reset (env ECSD_ENABLE_RESET=1) to serve it"}`

// listenError names the flag and variable that choose the address when
// it cannot be listened on (most often: another process has the port).
func listenError(listen string, err error) error {
	hint := ""
	if errors.Is(err, syscall.EADDRINUSE) {
		hint = "another process is listening there; "
	}
	return fmt.Errorf("cannot listen on %s (%w): %schoose another address with --listen HOST:PORT or ECSD_LISTEN (port 0 picks a free one)", listen, err, hint)
}
