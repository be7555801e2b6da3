//go:build unix && !linux

package zktest

import (
	"os/exec"
	"syscall"
)

// procAttr puts the JVM in its own process group so a kill reaches any child
// it forks. Without Pdeathsig outside Linux, a test binary killed with -9
// can leave servers running; Stop and RunMain cover every other exit.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

func killProcess(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
}

func processAlive(pid int) bool {
	return syscall.Kill(pid, 0) != syscall.ESRCH
}
