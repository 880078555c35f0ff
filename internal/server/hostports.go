package server

import (
	"bufio"
	"os"
	"slices"
	"strconv"
	"strings"
)

// hostPorts lists the ports something listens on on this machine, TCP and
// UDP, from /proc/net (Linux). The Docker host registers them as taken, as
// the ECS agent registers its reserved ports, so no task is placed on a
// host port that is already in use. Elsewhere it finds none.
func hostPorts() (tcp, udp []int) {
	// TCP sockets in state 0A (LISTEN); UDP sockets in state 07 (bound,
	// not connected).
	tcp = listening([]string{"/proc/net/tcp", "/proc/net/tcp6"}, "0A")
	udp = listening([]string{"/proc/net/udp", "/proc/net/udp6"}, "07")
	return tcp, udp
}

func listening(files []string, state string) []int {
	var out []int
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 || fields[3] != state {
				continue
			}
			_, hexPort, ok := strings.Cut(fields[1], ":")
			if !ok {
				continue
			}
			p, err := strconv.ParseUint(hexPort, 16, 16)
			if err == nil && p > 0 && !slices.Contains(out, int(p)) {
				out = append(out, int(p))
			}
		}
		fh.Close()
	}
	slices.Sort(out)
	return out
}
