package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	childproc "github.com/zkcoord/zkcoord/internal/proc"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
)

// What lock, elect and semaphore run share: a program run while something
// is held, stopped when it is lost.

// Environment the program gets.
const (
	envToken = "ZKCOORD_FENCING_TOKEN"
	envPath  = "ZKCOORD_LOCK_PATH"
)

const (
	defaultGrace          = 10 * time.Second
	defaultSessionTimeout = 10 * time.Second
	// releaseTimeout bounds releasing after the program exits: a release
	// that cannot reach the ensemble ends with the session anyway.
	releaseTimeout = 10 * time.Second
)

// exitCodesHelp is the part of every run command's help that lists its
// exit codes.
const exitCodesHelp = `Exit status: the program's own (128+n if a signal n killed it, as a shell
reports), else:
  2    usage: missing --, empty command, invalid path or flag
  69   the ensemble cannot be reached (no session within 10s)
  75   not acquired: --try found it held, or --timeout passed
  76   lost while the program ran (the program was signalled)
  126  the program cannot be run (not executable)
  127  the program was not found
  130  interrupted (SIGINT) before the program started; 143 for SIGTERM`

// runFlags are the flags every run command takes.
type runFlags struct {
	wait           time.Duration // --timeout; 0 waits as long as it takes
	grace          time.Duration
	identity       string
	sessionTimeout time.Duration
}

func (f *runFlags) register(fs *pflag.FlagSet, what string) {
	fs.DurationVar(&f.wait, "timeout", 0, "give up if "+what+" is not acquired within this long (default: wait as long as it takes)")
	fs.DurationVar(&f.grace, "grace", defaultGrace, "after a loss, how long the program has between SIGTERM and SIGKILL")
	fs.StringVar(&f.identity, "identity", "", "who holds it, as inspection shows (default <hostname>/<pid>)")
	fs.DurationVar(&f.sessionTimeout, "session-timeout", defaultSessionTimeout, "ZooKeeper session timeout: how long a crashed zkcoord keeps it from the others")
}

func (f *runFlags) check() error {
	switch {
	case f.wait < 0:
		return usageErr("--timeout must not be negative, not %v", f.wait)
	case f.grace < 0:
		return usageErr("--grace must not be negative, not %v", f.grace)
	case f.sessionTimeout <= 0:
		return usageErr("--session-timeout must be positive, not %v", f.sessionTimeout)
	}
	return nil
}

// pathAndCommand accepts `PATH -- CMD [ARGS...]`.
func pathAndCommand(example string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		dash := cmd.ArgsLenAtDash()
		use := fmt.Sprintf("e.g. %s %s", cmd.CommandPath(), example)
		switch {
		case dash < 0 && len(args) == 0:
			return usageErr("missing arguments: %s needs a path, then -- and the command to run, %s", cmd.CommandPath(), use)
		case dash < 0:
			return usageErr("missing -- before the command: %s", use)
		case dash == 0:
			return usageErr("missing path before --: %s", use)
		case dash > 1:
			return usageErr("%s takes one path before --, got %d: %s", cmd.CommandPath(), dash, strings.Join(args[:dash], " "))
		case len(args) == dash || strings.TrimSpace(args[dash]) == "":
			return usageErr("empty command after --: %s", use)
		}
		if err := recipes.ValidatePath(args[0]); err != nil {
			var pe *recipes.PathError
			if errors.As(err, &pe) {
				return usageErr("invalid path %q: %s", args[0], pe.Reason)
			}
			return usageErr("%v", err)
		}
		return nil
	}
}

// exitStatus carries the program's status out as zkcoord's own.
type exitStatus struct{ code int }

func (e *exitStatus) Error() string { return "exit status " + strconv.Itoa(e.code) }

// held is what a run command holds while the program runs.
type held interface {
	Token() int64
	Done() <-chan struct{}
	Err() error
	Release(ctx context.Context) error
}

// runner runs one program under something held.
type runner struct {
	a     *app
	flags *runFlags
	path  string
	argv  []string
	what  string // "the lock", "2 permits", "leadership", for messages

	// sigs receives the signals that zkcoord passes on to the program.
	sigs <-chan os.Signal
	// lastSig is the signal that interrupted the wait, if one did.
	lastSig chan os.Signal
}

// newRunner checks the program before anything is taken: a program that
// cannot run must not hold up anyone else.
func (a *app) newRunner(cmd *cobra.Command, f *runFlags, args []string, what string) (*runner, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	dash := cmd.ArgsLenAtDash()
	r := &runner{a: a, flags: f, path: args[0], argv: args[dash:], what: what}
	if _, err := exec.LookPath(r.argv[0]); err != nil {
		return nil, commandError(r.argv[0], err)
	}
	return r, nil
}

func commandError(name string, err error) error {
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		where := "in PATH"
		if strings.Contains(name, "/") {
			where = "at that path"
		}
		return &cliError{code: exitNotFound, kind: kindCommand, msg: fmt.Sprintf("%s: command not found (no such program %s)", name, where)}
	}
	return &cliError{code: exitNotExecutable, kind: kindCommand, msg: fmt.Sprintf("%s: cannot run it: %v", name, unwrapExec(err))}
}

func unwrapExec(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// session connects with the run flags' timeout and identity. The session
// is closed by the caller; its connections outlive a SIGINT, since the
// program must be waited for and the lock released after one.
func (r *runner) session(ctx context.Context) (*session.Manager, error) {
	m, err := r.a.connectWith(ctx, sessionOptions{timeout: r.flags.sessionTimeout, identity: r.flags.identity})
	var ce *cliError
	if errors.As(err, &ce) && ce.kind == kindConnection {
		ce.code = exitUnavailable
	}
	return m, err
}

// trap starts receiving the signals that zkcoord forwards, before anything
// is taken: from then on a SIGINT never kills zkcoord while it holds.
// ctx ends at the first of them while waiting; stop undoes it all.
func (r *runner) trap(parent context.Context) (ctx context.Context, stop func()) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	ctx, cancel := context.WithCancel(parent)
	r.lastSig = make(chan os.Signal, 1)
	waiting := make(chan os.Signal, 4)
	r.sigs = waiting
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				select {
				case r.lastSig <- s: // the first one ends the wait
					cancel()
				default:
				}
				select {
				case waiting <- s:
				default: // the program gets the signal the group already has
				}
			case <-done:
				return
			}
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

// acquireError puts a failed acquisition in the user's terms, with its
// exit code. ctx is the wait's, parent the command's.
func (r *runner) acquireError(err error, ctx context.Context) error {
	select {
	case s := <-r.lastSig:
		r.lastSig <- s
		n := int(s.(syscall.Signal))
		return &cliError{code: exitSignalBase + n, kind: kindInterrupted,
			msg: fmt.Sprintf("interrupted (%v) while waiting for %s at %s; nothing was run", s, r.what, r.path)}
	default:
	}
	switch {
	case errors.Is(err, recipes.ErrWouldBlock):
		return &cliError{code: exitNotAcquired, kind: kindNotAcquired, msg: fmt.Sprintf("%s is held (--try): not acquired, nothing was run", r.path)}
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		return &cliError{code: exitNotAcquired, kind: kindNotAcquired, msg: fmt.Sprintf("%s not acquired within %v (--timeout); nothing was run", r.what, r.flags.wait)}
	case errors.Is(err, recipes.ErrInvalidArgument), errors.Is(err, recipes.ErrInvalidPath), errors.Is(err, recipes.ErrLimitMismatch):
		return usageErr("%v", strings.TrimPrefix(err.Error(), "zkcoord: "))
	case errors.Is(err, context.Canceled):
		return &cliError{code: exitSignalBase + int(syscall.SIGINT), kind: kindInterrupted, msg: "interrupted while waiting for " + r.what}
	}
	return &cliError{code: exitUnavailable, kind: kindConnection, msg: fmt.Sprintf("acquiring %s at %s: %v", r.what, r.path, strings.TrimPrefix(err.Error(), "zkcoord: "))}
}

// outcome is how one run of the program ended.
type outcome struct {
	code    int   // the program's status, as a shell reports it
	lost    error // why what was held ended while the program ran, nil if it did not
	signals []os.Signal
}

// run starts the program with h's token, and waits for it: signals to
// zkcoord go to its process group, a loss of h sends it SIGTERM, then
// SIGKILL after --grace. Once it exits, whatever else is left in its group
// is killed: nothing it started runs on after h is released. run does not
// release h.
func (r *runner) run(h held) (outcome, error) {
	c := exec.Command(r.argv[0], r.argv[1:]...)
	c.Env = append(os.Environ(), envToken+"="+strconv.FormatInt(h.Token(), 10), envPath+"="+r.path)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, r.a.stdout, r.a.stderr
	p, err := startChild(c)
	if err != nil {
		return outcome{}, commandError(r.argv[0], err)
	}
	var out outcome
	var grace <-chan time.Time
	lost := h.Done()
	for {
		select {
		case err := <-p.exited:
			killGroup(p.pid)           // stragglers, if any
			if c.ProcessState == nil { // Wait failed: not the program's status
				return out, failure(kindOther, "waiting for %s: %v", r.argv[0], err)
			}
			out.code = exitCode(c.ProcessState)
			return out, nil
		case s := <-r.sigs:
			out.signals = append(out.signals, s)
			signalGroup(p.pid, s.(syscall.Signal))
		case <-lost:
			lost = nil
			out.lost = h.Err()
			if out.lost == nil {
				out.lost = errors.New("ended")
			}
			fmt.Fprintf(r.a.stderr, "zkcoord: %s at %s is lost (%v): sending SIGTERM to %s, SIGKILL in %v\n",
				r.what, r.path, strings.TrimPrefix(out.lost.Error(), "zkcoord: "), r.argv[0], r.flags.grace)
			signalGroup(p.pid, syscall.SIGTERM)
			grace = time.After(r.flags.grace)
		case <-grace:
			grace = nil
			killGroup(p.pid)
		}
	}
}

// lostError is how a run ends when what was held was lost under it.
func (r *runner) lostError(o outcome) error {
	return &cliError{code: exitLost, kind: kindLost,
		msg: fmt.Sprintf("%s at %s was lost while %s ran (%v); it was stopped (status %d)",
			r.what, r.path, r.argv[0], strings.TrimPrefix(o.lost.Error(), "zkcoord: "), o.code)}
}

// release gives h back once the program is done; a failure only warns,
// since the session's end releases it too.
func (r *runner) release(h held) {
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	if err := h.Release(ctx); err != nil && !errors.Is(err, recipes.ErrNotHeld) {
		fmt.Fprintf(r.a.stderr, "zkcoord: warning: releasing %s at %s: %v (it ends with the session)\n", r.what, r.path, err)
	}
}

// child is a started program.
type child struct {
	pid    int
	exited <-chan error // Wait's result
}

// startChild starts c with childAttr's process group and parent-death
// signal, from a thread kept for it alone until it is reaped (internal/proc):
// that thread ends when zkcoord dies, and only then.
func startChild(c *exec.Cmd) (*child, error) {
	c.SysProcAttr = childAttr()
	exited := make(chan error, 1)
	if err := childproc.Start(c, func() { exited <- c.Wait() }); err != nil {
		return nil, err
	}
	return &child{pid: c.Process.Pid, exited: exited}, nil
}

// exitCode is the status a shell would report for the program.
func exitCode(st *os.ProcessState) int {
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return exitSignalBase + int(ws.Signal())
	}
	return st.ExitCode()
}

// once connects, acquires, runs the program, releases, and returns the
// program's status as an *exitStatus, or why it did not run.
func (r *runner) once(parent context.Context, acquire func(ctx context.Context, m *session.Manager) (held, error)) error {
	ctx, stop := r.trap(parent)
	defer stop()
	m, err := r.session(ctx)
	if err != nil {
		return r.interrupted(err)
	}
	defer m.Close()
	wctx, cancel := ctx, context.CancelFunc(func() {})
	if r.flags.wait > 0 {
		wctx, cancel = context.WithTimeout(ctx, r.flags.wait)
	}
	h, err := acquire(wctx, m)
	cancel()
	if err != nil {
		return r.acquireError(err, wctx)
	}
	if lost := h.Err(); lost != nil {
		return &cliError{code: exitLost, kind: kindLost, msg: fmt.Sprintf("%s at %s was lost before %s started (%v); nothing was run", r.what, r.path, r.argv[0], lost)}
	}
	o, err := r.run(h)
	r.release(h)
	switch {
	case err != nil:
		return err
	case o.lost != nil:
		return r.lostError(o)
	}
	return &exitStatus{o.code}
}

// interrupted reports a connection given up because of a signal as such.
func (r *runner) interrupted(err error) error {
	select {
	case s := <-r.lastSig:
		r.lastSig <- s
		return r.acquireError(err, context.Background())
	default:
		return err
	}
}
