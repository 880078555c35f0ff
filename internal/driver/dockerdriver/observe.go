package dockerdriver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/ecsd/ecsd/internal/driver"
)

// What ecsd reads from the Engine about running containers besides their
// state: resource usage (the task metadata endpoint's /stats), the bridge
// gateway (where containers reach ecsd) and output (`ecsd logs`).

var _ driver.StatsReader = (*Driver)(nil)

// Stats returns the Engine's stats document of a running container of a
// group. It waits for a second sample, so precpu_stats is filled in as in
// the ECS agent's answer.
func (d *Driver) Stats(ctx context.Context, id, name string) (json.RawMessage, error) {
	cs, err := d.cli.ContainerList(ctx, container.ListOptions{Filters: d.filters(map[string]string{
		labelGroup: id, labelRole: roleContainer, labelContainer: name,
	})})
	if err != nil {
		return nil, fmt.Errorf("docker runtime: %w", err)
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("%w: no running container %s in group %s", driver.ErrNotFound, name, id)
	}
	resp, err := d.cli.ContainerStats(ctx, cs[0].ID, false)
	if cerrdefs.IsNotFound(err) {
		return nil, fmt.Errorf("%w: %s", driver.ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("docker runtime: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("docker runtime: %w", err)
	}
	if !json.Valid(b) {
		return nil, errors.New("docker runtime: stats: the Engine's answer is not JSON")
	}
	return b, nil
}

// BridgeGateway is the host's address on the Engine's default bridge
// network, the address bridge-mode and awsvpc containers reach the host
// at.
func (d *Driver) BridgeGateway(ctx context.Context) (netip.Addr, error) {
	n, err := d.cli.NetworkInspect(ctx, "bridge", network.InspectOptions{})
	if err != nil {
		return netip.Addr{}, fmt.Errorf("docker runtime: %w", err)
	}
	for _, c := range n.IPAM.Config {
		if a, err := netip.ParseAddr(c.Gateway); err == nil && a.Is4() {
			return a, nil
		}
		// Some Engines leave the default bridge's gateway out of IPAM:
		// it is the subnet's first address.
		if p, err := netip.ParsePrefix(c.Subnet); err == nil && p.Addr().Is4() {
			return p.Masked().Addr().Next(), nil
		}
	}
	return netip.Addr{}, errors.New("docker runtime: the bridge network has no IPv4 gateway")
}

// LogOptions says which output Logs returns.
type LogOptions struct {
	Follow     bool
	Timestamps bool
	Tail       string // "all" or a number of lines; "" is all
	Since      string // a Docker timestamp or duration ("10m"); "" is from the start
}

// Logs writes the output of a group's containers (one container when
// name is set, else each in spec order) to stdout and stderr, as the
// containers wrote it. It needs no Driver: `ecsd logs` reads the Engine
// while ecsd runs, so it must not adopt the groups itself. scope is the
// label set the driver was configured with.
func Logs(ctx context.Context, cli *client.Client, scope map[string]string, id, name string, opts LogOptions, stdout, stderr io.Writer) error {
	d := &Driver{cli: cli, scope: scope}
	v, err := d.load(ctx, id, true)
	if err != nil {
		return err
	}
	var names []string
	for _, c := range v.spec.Containers {
		if name == "" || c.Name == name {
			names = append(names, c.Name)
		}
	}
	if len(names) == 0 {
		known := make([]string, 0, len(v.spec.Containers))
		for _, c := range v.spec.Containers {
			known = append(known, c.Name)
		}
		sort.Strings(known)
		return fmt.Errorf("%w: the task has no container %q (it has %v)", driver.ErrNotFound, name, known)
	}
	if opts.Follow && len(names) > 1 {
		return errors.New("following the output of several containers at once is not supported: name one")
	}
	for _, n := range names {
		m := v.members[n]
		if m == nil {
			reason := ""
			if f := v.failed[n]; f != nil {
				reason = ": " + f.Labels[labelReason]
			}
			fmt.Fprintf(stderr, "(container %s never started%s)\n", n, reason)
			continue
		}
		if len(names) > 1 {
			fmt.Fprintf(stdout, "==> %s <==\n", n)
		}
		rc, err := cli.ContainerLogs(ctx, m.ID, container.LogsOptions{
			ShowStdout: true, ShowStderr: true, Follow: opts.Follow, Timestamps: opts.Timestamps,
			Tail: opts.Tail, Since: opts.Since,
		})
		if err != nil {
			return fmt.Errorf("docker runtime: %w", err)
		}
		if m.Config != nil && m.Config.Tty {
			_, err = io.Copy(stdout, rc) // one raw stream
		} else {
			_, err = stdcopy.StdCopy(stdout, stderr, rc)
		}
		rc.Close()
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("docker runtime: %w", err)
		}
	}
	return nil
}

// CopyLogs writes everything a container of a group wrote to stdout and
// stderr, for keeping it once the group is removed.
func (d *Driver) CopyLogs(ctx context.Context, id, name string, stdout, stderr io.Writer) error {
	return Logs(ctx, d.cli, d.scope, id, name, LogOptions{Tail: "all"}, stdout, stderr)
}
