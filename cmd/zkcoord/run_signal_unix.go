//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package main

import "syscall"

// signalGroup sends s to the program's process group (its pid, which
// Setpgid made the group's id).
func signalGroup(pid int, s syscall.Signal) { _ = syscall.Kill(-pid, s) }

// killGroup sends SIGKILL to what is left of the program's process group.
func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }
