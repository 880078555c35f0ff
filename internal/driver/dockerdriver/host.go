package dockerdriver

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// Host is what the Docker host offers the containers ecsd runs on it.
type Host struct {
	// ID is the Engine's ID, stable across its restarts.
	ID string
	// NCPU and MemTotal (bytes) are what the Engine sees of the machine.
	NCPU     int
	MemTotal int64
	// Architecture is the Engine's (x86_64, aarch64, ...) and OSType
	// linux or windows.
	Architecture, OSType, ServerVersion string
	// Local reports an Engine on this machine (a Unix socket or a
	// loopback address), whose listening ports this process can see.
	Local bool
}

// Host describes the Docker host.
func (d *Driver) Host(ctx context.Context) (Host, error) {
	info, err := d.cli.Info(ctx)
	if err != nil {
		return Host{}, fmt.Errorf("docker: info: %w", err)
	}
	return Host{
		ID: info.ID, NCPU: info.NCPU, MemTotal: info.MemTotal,
		Architecture: info.Architecture, OSType: info.OSType, ServerVersion: info.ServerVersion,
		Local: localHost(d.cli.DaemonHost()),
	}, nil
}

func localHost(daemon string) bool {
	u, err := url.Parse(daemon)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "unix", "npipe":
		return true
	}
	h := u.Hostname()
	return h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1"
}
