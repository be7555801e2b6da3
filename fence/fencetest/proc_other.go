//go:build unix && !linux

package fencetest

import "syscall"

// procAttr runs postgres in a process group of its own, as cred. Without
// Linux's parent-death signal, an interrupted test binary may leave it.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}
