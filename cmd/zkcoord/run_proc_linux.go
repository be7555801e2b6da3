package main

import "syscall"

// childAttr puts the program in a process group of its own, which the
// kernel kills when zkcoord dies, even by SIGKILL.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
