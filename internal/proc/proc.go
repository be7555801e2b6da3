// Package proc starts child processes that are meant to die with their
// parent, and only then.
//
// Linux's parent-death signal (SysProcAttr.Pdeathsig) is sent when the OS
// thread that forked the child exits, not when the process does. The Go
// runtime ends a thread when a goroutine exits while locked to it, and any
// goroutine may lock whichever thread it happens to run on: `zkcoord lock`
// does, to keep its own program alive exactly as long as itself. A child
// forked from an ordinary goroutine can therefore be killed at any moment by
// unrelated code in the same process; tests lost whole ZooKeeper ensembles
// this way, all three servers at once, the moment an in-process `zkcoord
// lock` run ended. Start forks from a goroutine locked to its thread from the
// fork until the child has been reaped, so that thread serves nothing else
// and ends only after the child.
package proc

import (
	"os/exec"
	"runtime"
)

// Start starts cmd, then runs reap on the same locked goroutine. reap must
// wait for cmd (cmd.Wait, after reading any pipes) and return only after
// it: when reap returns, the thread ends. Start returns cmd.Start's error,
// and reap does not run if it is not nil.
func Start(cmd *exec.Cmd, reap func()) error {
	started := make(chan error, 1)
	go func() {
		// Never unlocked: the thread goes with the goroutine, after the child.
		runtime.LockOSThread()
		err := cmd.Start()
		started <- err
		if err == nil {
			reap()
		}
	}()
	return <-started
}
