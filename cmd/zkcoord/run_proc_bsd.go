//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package main

import "syscall"

// childAttr puts the program in a process group of its own. These systems
// have no Pdeathsig: a zkcoord killed with SIGKILL leaves the program
// running, its lock gone with the session.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
