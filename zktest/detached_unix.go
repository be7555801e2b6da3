//go:build unix && !linux

package zktest

import "syscall"

// detachedAttr gives the server a session of its own. Without Pdeathsig
// outside Linux, dieWithParent cannot be honoured.
func detachedAttr(bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true}
}

// detachedAlive can only ask whether pid exists: a reused pid or a zombie
// counts as running.
func detachedAlive(pid int, _ string) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}

func detachedGone(pid int, config string) bool { return !detachedAlive(pid, config) }

func findDetached(string) map[string]int { return nil }

func signalGroup(pid int, kill bool) {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	_ = syscall.Kill(-pid, sig)
	_ = syscall.Kill(pid, sig)
}

func detachedSupported() error { return nil }
