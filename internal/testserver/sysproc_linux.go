package testserver

import "syscall"

// sysProcAttr puts a server in its own process group and kills it if the
// process that started it dies without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
