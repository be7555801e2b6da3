//go:build linux

package chaos

import "syscall"

// procAttr asks the kernel to kill a child when the harness dies, so an
// interrupted run leaves no client or register behind. (Pdeathsig follows
// the forking OS thread, which the Go runtime keeps for the process's life
// unless a goroutine exits while locked to it.)
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
