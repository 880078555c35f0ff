package dockerdriver

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

const (
	hangUp = syscall.SIGHUP
	kill   = syscall.SIGKILL
)

// signalSession sends sig to every process of the session led by pid (an
// exec's process: runc makes it a session leader with the terminal as its
// controlling one, so its session is what a hang-up reaches). pid must be
// in the container's cgroup, or nothing is signalled: ecsd may see
// another PID namespace than the Engine's.
func signalSession(pid int, containerID string, sig syscall.Signal) error {
	if pid <= 0 {
		return errors.New("the Engine reports no process ID")
	}
	if !inContainer(pid, containerID) {
		return fmt.Errorf("process %d is not container %.12s's here (another PID namespace?)", pid, containerID)
	}
	members := sessionMembers(pid)
	var errs []error
	for _, m := range members {
		if m != pid && !inContainer(m, containerID) {
			continue
		}
		if err := syscall.Kill(m, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("signal %d: %w", m, err))
		}
	}
	return errors.Join(errs...)
}

// inContainer reports whether /proc says pid runs in the cgroup of the
// container with the given ID.
func inContainer(pid int, containerID string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	return err == nil && containerID != "" && strings.Contains(string(b), containerID)
}

// sessionMembers lists the processes whose session ID is sid, sid first.
func sessionMembers(sid int) []int {
	out := []int{sid}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil || p == sid {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if s, ok := statSession(string(b)); ok && s == sid {
			out = append(out, p)
		}
	}
	return out
}

// statSession reads the session ID (the sixth field) of a /proc/PID/stat
// line. The second field, the command name in parentheses, may itself
// hold spaces and parentheses, so fields are counted after the last ')'.
func statSession(stat string) (int, bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(stat[i+1:])
	// state ppid pgrp session ...
	if len(f) < 4 {
		return 0, false
	}
	s, err := strconv.Atoi(f[3])
	return s, err == nil
}
