//go:build !unix

package zktest

import (
	"errors"
	"syscall"
)

var errDetachedUnsupported = errors.New("zktest: detached servers need a Unix system")

func detachedSupported() error { return errDetachedUnsupported }

func detachedAttr(bool) *syscall.SysProcAttr { return nil }

func detachedAlive(int, string) bool { return false }

func detachedGone(int, string) bool { return true }

func findDetached(string) map[string]int { return nil }

func signalGroup(int, bool) {}
