//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package main

import (
	"os"
	"syscall"
)

// childAttr asks for nothing. Without process groups, signals reach the
// program alone, and only SIGKILL is delivered.
func childAttr() *syscall.SysProcAttr { return nil }

func signalGroup(pid int, s syscall.Signal) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Signal(s)
	}
}

func killGroup(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}
