package proc

import (
	"errors"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"
)

var errMainThread = errors.New("on the main thread")

// The failure this package exists for: a child with a parent-death signal
// dies when the thread that forked it ends, as it does when a goroutine
// locked to it exits.
func TestAnOrdinaryForkDiesWithItsThread(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// Not from the main thread, which the runtime keeps when a goroutine
	// locked to it exits.
	forked := make(chan error, 1)
	for started := false; !started; {
		go func() {
			runtime.LockOSThread()
			if syscall.Gettid() == syscall.Getpid() {
				runtime.UnlockOSThread()
				forked <- errMainThread
				return
			}
			forked <- cmd.Start()
		}()
		switch err := <-forked; err {
		case nil:
			started = true
		case errMainThread:
		default:
			t.Fatal(err)
		}
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		t.Fatal("a child whose forking thread ended is still alive after 30 s")
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want SIGKILL", cmd.ProcessState)
	}
}

// Started through Start, the child's forking thread runs nothing else, so
// no goroutine can end it: goroutines that lock their thread and exit,
// retiring it, never land on it, and the child lives on.
func TestNoGoroutineRunsOnTheForkingThread(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	forker := make(chan int, 1)
	exited := make(chan error, 1)
	if err := Start(cmd, func() {
		forker <- syscall.Gettid()
		exited <- cmd.Wait()
	}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()
	tid := <-forker
	for range 500 {
		ran := make(chan int)
		go func() {
			runtime.LockOSThread()
			ran <- syscall.Gettid()
		}()
		if got := <-ran; got == tid {
			t.Fatalf("a goroutine ran on the forking thread %d", tid)
		}
	}
	select {
	case err := <-exited:
		t.Fatalf("the child died while its parent lives: %v", err)
	default:
	}
}
