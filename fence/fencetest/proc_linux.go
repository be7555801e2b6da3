package fencetest

import "syscall"

// procAttr runs postgres in a process group of its own, as cred, and has
// the kernel ask it to quit at once should the test binary die first: an
// interrupted `go test` leaves no server behind. (SIGQUIT: the postmaster
// then ends its backends too, which SIGKILL would leave to notice.) The
// signal follows the forking thread: postgres is started through
// internal/proc, which keeps that thread for it alone.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGQUIT, Credential: cred}
}
