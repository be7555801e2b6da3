//go:build linux

package zktest

import (
	"os/exec"
	"syscall"
)

// procAttr puts the JVM in its own process group, so a kill reaches any
// child it forks, and asks the kernel to kill it when the test binary dies,
// so an interrupted `go test` leaves no server behind. Pdeathsig follows the
// forking OS thread, not the process: servers are started through
// internal/proc, which keeps that thread for the server alone.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func killProcess(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
}

func processAlive(pid int) bool {
	return syscall.Kill(pid, 0) != syscall.ESRCH
}
