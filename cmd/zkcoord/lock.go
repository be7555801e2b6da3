package main

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/session"
)

func (a *app) lockCmd() *cobra.Command {
	var f runFlags
	var try bool
	cmd := &cobra.Command{
		Use:   "lock <path> -- <command> [args...]",
		Short: "Run a command while holding a lock (like flock(1), across machines)",
		Long: `Wait for the lock at <path>, in turn, then run the command while holding it,
and release the lock once the command exits. The lock is a zkcoord mutex,
shared with Curator's InterProcessMutex and, with extra_lock_patterns, kazoo.

The command gets ZKCOORD_FENCING_TOKEN (this holding's fencing token, higher
than every earlier holder's: hand it to what the lock protects, so that it
can refuse a holder that paused past its session) and ZKCOORD_LOCK_PATH.
It runs in a process group of its own, with zkcoord's standard streams (at
a terminal, that group is in the background: it cannot read the terminal).

If the lock is lost while the command runs (the session expired, or the
ensemble was out of reach so long that it may have), the command's process
group gets SIGTERM at once, SIGKILL after --grace, and zkcoord exits 76.
SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to zkcoord go to the command's
group; the lock is released when the command exits. When the command exits,
what it left running in its group is killed. If zkcoord itself is killed,
the command dies with it (Linux) and the lock is freed when the session
ends, --session-timeout later.

` + exitCodesHelp,
		Example: `  zkcoord lock /ci/deploy/staging -- ./deploy.sh staging
  zkcoord lock --try /cron/report -- make report      # skip if already running
  zkcoord lock --timeout 5m /db/migrate -- ./migrate up`,
		Args: pathAndCommand("/ci/deploy/staging -- ./deploy.sh"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := a.newRunner(cmd, &f, args, "the lock")
			if err != nil {
				return err
			}
			return r.once(cmd.Context(), func(ctx context.Context, m *session.Manager) (held, error) {
				var opts []mutex.Option
				if f.identity != "" {
					opts = append(opts, mutex.WithIdentity(f.identity))
				}
				mu, err := mutex.New(m, r.path, opts...)
				if err != nil {
					return nil, err
				}
				var l *mutex.Lease
				if try {
					l, err = mu.TryLock(ctx)
				} else {
					l, err = mu.Lock(ctx)
				}
				if err != nil {
					return nil, err
				}
				return unlocker{l}, nil
			})
		},
	}
	f.register(cmd.Flags(), "the lock")
	cmd.Flags().BoolVar(&try, "try", false, "give up at once if the lock is held (exit 75)")
	return cmd
}

// unlocker is a mutex lease as a run command holds it.
type unlocker struct{ *mutex.Lease }

func (u unlocker) Release(ctx context.Context) error { return u.Unlock(ctx) }
