//go:build !linux

package dockerdriver

import "errors"

type signal int

const (
	hangUp signal = iota
	kill
)

// signalSession cannot see the Engine's processes off Linux (Docker runs
// them in a Linux VM there).
func signalSession(pid int, containerID string, sig signal) error {
	return errors.New("signalling exec processes needs Linux")
}
