//go:build linux

package chaos

import "syscall"

// procAttr asks the kernel to kill a child when the harness dies, so an
// interrupted run leaves no client or register behind. Pdeathsig follows
// the forking OS thread, not the process: children are started through
// internal/proc, which keeps that thread for the child alone.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
