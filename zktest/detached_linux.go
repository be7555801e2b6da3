//go:build linux

package zktest

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// detachedAttr gives the server a session of its own, so that no terminal
// hangup or signal to the starting command's process group reaches it.
func detachedAttr(dieWithParent bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setsid: true}
	if dieWithParent {
		a.Pdeathsig = syscall.SIGKILL
	}
	return a
}

// detachedAlive reads /proc: the process must be a server started with
// config, and not exiting. Once its main thread has let go of its memory
// (its command line reads empty) or turned zombie (exited, but not reaped:
// its parent lives on, or it passed to an init that does not reap), it
// never runs again, so the answer goes from true to false only once. (A
// process still in its exec reads empty too, before it was ever true:
// StartDetached waits that out.)
func detachedAlive(pid int, config string) bool {
	proc := "/proc/" + strconv.Itoa(pid)
	if _, live := taskState(proc + "/stat"); !live {
		return false
	}
	cmdline, err := os.ReadFile(proc + "/cmdline")
	if err != nil {
		return false
	}
	cfg, ok := serverConfig(cmdline)
	return ok && cfg == config
}

// detachedGone says whether nothing of the server pid started with config
// is left: its main thread turns zombie before the others are done, and
// until the last has closed its files, the server's ports may be open.
// A pid now used by another program counts as gone.
func detachedGone(pid int, config string) bool {
	proc := "/proc/" + strconv.Itoa(pid)
	if cmdline, err := os.ReadFile(proc + "/cmdline"); err == nil && len(cmdline) > 0 {
		if cfg, ok := serverConfig(cmdline); !ok || cfg != config {
			return true
		}
	}
	tasks, err := os.ReadDir(proc + "/task")
	if err != nil {
		return true
	}
	for _, t := range tasks {
		if _, live := taskState(proc + "/task/" + t.Name() + "/stat"); live {
			return false
		}
	}
	return true
}

// taskState reads a stat file: the task's name, and whether it is there
// and neither dead nor a zombie.
func taskState(statPath string) (comm string, live bool) {
	stat, err := os.ReadFile(statPath)
	if err != nil {
		return "", false
	}
	// pid (comm) state ...: comm may hold anything, so look after the last ')'.
	open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if open < 0 || end < open || end+2 >= len(stat) {
		return "", false
	}
	switch stat[end+2] {
	case 'Z', 'X', 'x':
		return string(stat[open+1 : end]), false
	}
	return string(stat[open+1 : end]), true
}

// serverConfig returns the config path of a server's command line: the
// argument after QuorumPeerMain, the last one.
func serverConfig(cmdline []byte) (string, bool) {
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if len(args) < 2 || args[len(args)-2] != serverMain {
		return "", false
	}
	return args[len(args)-1], true
}

func findDetached(dir string) map[string]int {
	found := map[string]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		cfg, ok := serverConfig(cmdline)
		if !ok || !strings.HasPrefix(cfg, dir+string(filepath.Separator)) {
			continue
		}
		if detachedAlive(pid, cfg) {
			found[cfg] = pid
		}
	}
	return found
}

// signalGroup signals the server's process group (its pid: the server
// leads its session), and the server itself in case it left the group.
func signalGroup(pid int, kill bool) {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	_ = syscall.Kill(-pid, sig)
	_ = syscall.Kill(pid, sig)
}

func detachedSupported() error { return nil }
