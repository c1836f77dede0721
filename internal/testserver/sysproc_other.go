//go:build !linux

package testserver

import "syscall"

// sysProcAttr asks for nothing special off Linux.
func sysProcAttr() *syscall.SysProcAttr { return nil }
