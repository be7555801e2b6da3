package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/zkcoord/zkcoord/semaphore"
	"github.com/zkcoord/zkcoord/session"
)

func (a *app) semaphoreRunCmd() *cobra.Command {
	var f runFlags
	var limit, permits int
	var try bool
	cmd := &cobra.Command{
		Use:   "run <path> --limit N [--permits K] -- <command> [args...]",
		Short: "Run a command while holding K of a semaphore's N permits",
		Long: `Wait for --permits of the --limit permits of the semaphore at <path>
(Curator's InterProcessSemaphoreV2 layout), in turn, then run the command
while holding them, and release them once it exits. Every user of the
semaphore must give the same --limit: the first stores it on <path>, and a
different one is refused (exit 2).

The command gets ZKCOORD_FENCING_TOKEN and ZKCOORD_LOCK_PATH (the
semaphore's path). If the permits are lost while it runs, its process group
gets SIGTERM at once, SIGKILL after --grace, and zkcoord exits 76. Signals
sent to zkcoord go to the command's group; a zkcoord that is killed takes
the command with it (Linux), and its permits return when the session ends.

` + exitCodesHelp,
		Example: `  zkcoord semaphore run /limits/payments-api --limit 4 -- ./worker
  zkcoord semaphore run /limits/builds --limit 8 --permits 2 -- make -j2`,
		Args: pathAndCommand("/limits/api --limit 4 -- ./worker"),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case !cmd.Flags().Changed("limit"):
				return usageErr("missing --limit: how many permits the semaphore has, e.g. --limit 4")
			case limit < 1:
				return usageErr("--limit must be at least 1, not %d", limit)
			case permits < 1 || permits > limit:
				return usageErr("--permits must be between 1 and --limit (%d), not %d", limit, permits)
			}
			what := "a permit"
			if permits > 1 {
				what = fmt.Sprintf("%d permits", permits)
			}
			r, err := a.newRunner(cmd, &f, args, what)
			if err != nil {
				return err
			}
			return r.once(cmd.Context(), func(ctx context.Context, m *session.Manager) (held, error) {
				var opts []semaphore.Option
				if f.identity != "" {
					opts = append(opts, semaphore.WithIdentity(f.identity))
				}
				s, err := semaphore.New(m, r.path, limit, opts...)
				if err != nil {
					return nil, err
				}
				if try {
					return s.TryAcquire(ctx, permits)
				}
				return s.Acquire(ctx, permits)
			})
		},
	}
	f.register(cmd.Flags(), "the permits")
	cmd.Flags().IntVar(&limit, "limit", 0, "the semaphore's number of permits (required; the same for every user)")
	cmd.Flags().IntVar(&permits, "permits", 1, "how many permits to hold")
	cmd.Flags().BoolVar(&try, "try", false, "give up at once if the permits are not free (exit 75)")
	return cmd
}
