//go:build !linux

package chaos

import "syscall"

// procAttr: without Pdeathsig, a harness killed with -9 can leave children
// running; every other exit stops them.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
