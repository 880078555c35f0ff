//go:build !linux

package kubetest

import "syscall"

// Elsewhere Main's teardown is all there is.
func dieWithParent() *syscall.SysProcAttr { return nil }
