package dockerdriver

import (
	"net"
	"testing"

	"github.com/ecsd/ecsd/internal/driver"
)

// A dynamic host port something on the host already holds goes back to
// Docker's choice; a free one, and any port the task asked for, stay.
func TestFreeDynamicPorts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	held := l.Addr().(*net.TCPAddr).Port
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freePort := free.Addr().(*net.TCPAddr).Port
	free.Close()

	d := &Driver{bindIP: "127.0.0.1"}
	spec := driver.GroupSpec{NetworkMode: driver.NetworkBridge, Containers: []driver.ContainerSpec{{Name: "app", PortMappings: []driver.PortMapping{
		{ContainerPort: 80, HostPort: held, Protocol: "tcp", Dynamic: true},
		{ContainerPort: 81, HostPort: freePort, Protocol: "tcp", Dynamic: true},
		{ContainerPort: 82, HostPort: held, Protocol: "tcp"}, // asked for: Docker reports the conflict
	}}}}
	got := d.freeDynamicPorts(spec).Containers[0].PortMappings
	if got[0].HostPort != 0 || got[1].HostPort != freePort || got[2].HostPort != held {
		t.Errorf("host ports %d, %d, %d; want 0, %d, %d", got[0].HostPort, got[1].HostPort, got[2].HostPort, freePort, held)
	}
	if spec.Containers[0].PortMappings[0].HostPort != held {
		t.Error("the caller's spec was modified")
	}
}
