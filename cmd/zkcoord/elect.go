package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/zkcoord/zkcoord/election"
	"github.com/zkcoord/zkcoord/recipes"
)

func (a *app) electCmd() *cobra.Command {
	var f runFlags
	var value string
	var once bool
	cmd := &cobra.Command{
		Use:   "elect <path> -- <command> [args...]",
		Short: "Run a command while leader of an election; campaign again after a loss",
		Long: `Stand in the election at <path> (Curator's LeaderLatch layout), and run the
command while leading. With --value, proclaim it once elected: 'zkcoord
leader <path>' shows it, as does election.Observe.

The command gets ZKCOORD_FENCING_TOKEN (this term's fencing token) and
ZKCOORD_LOCK_PATH (the election's path). If leadership is lost while it
runs, its process group gets SIGTERM at once and SIGKILL after --grace;
zkcoord then campaigns again and runs the command anew when elected, or,
with --once, exits 76. When the command exits by itself, zkcoord resigns
and exits with its status. Signals sent to zkcoord go to the command's
group, and a zkcoord that is killed takes the command with it (Linux); the
next candidate leads once the session ends, --session-timeout later.

` + exitCodesHelp,
		Example: `  zkcoord elect /app/election/scheduler --value "$(hostname):8080" -- ./scheduler
  zkcoord leader /app/election/scheduler     # who leads, and its value`,
		Args: pathAndCommand("/app/election/scheduler -- ./scheduler"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := a.newRunner(cmd, &f, args, "leadership")
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("value") {
				if err := recipes.ValidateData([]byte(value)); err != nil {
					return usageErr("--value: %v", err)
				}
			}
			var opts []election.Option
			if f.identity != "" {
				opts = append(opts, election.WithIdentity(f.identity))
			}
			ctx, stop := r.trap(cmd.Context())
			defer stop()
			m, err := r.session(ctx)
			if err != nil {
				return r.interrupted(err)
			}
			defer m.Close()
			el, err := election.New(m, r.path, opts...)
			if err != nil {
				return r.acquireError(err, ctx)
			}
			for {
				wctx, cancel := ctx, context.CancelFunc(func() {})
				if f.wait > 0 {
					wctx, cancel = context.WithTimeout(ctx, f.wait)
				}
				term, err := el.Campaign(wctx)
				if err == nil && value != "" {
					if perr := term.Proclaim(wctx, []byte(value)); perr != nil && term.Err() == nil {
						err = perr
						r.release(resigner{term})
					}
				}
				cancel()
				if err != nil {
					return r.acquireError(err, wctx)
				}
				if lost := term.Err(); lost != nil { // before the program could start
					if once {
						return &cliError{code: exitLost, kind: kindLost, msg: fmt.Sprintf("leadership at %s was lost before %s started (%v)", r.path, r.argv[0], lost)}
					}
					continue
				}
				o, err := r.run(resigner{term})
				r.release(resigner{term})
				switch {
				case err != nil:
					return err
				case o.lost == nil:
					return &exitStatus{o.code}
				case once:
					return r.lostError(o)
				}
				fmt.Fprintf(a.stderr, "zkcoord: %s stopped (status %d); campaigning again at %s\n", r.argv[0], o.code, r.path)
			}
		},
	}
	f.register(cmd.Flags(), "leadership")
	cmd.Flags().StringVar(&value, "value", "", "proclaim this value once elected (an address, say)")
	cmd.Flags().BoolVar(&once, "once", false, "exit 76 after a loss instead of campaigning again")
	return cmd
}

// resigner is a term as a run command holds it.
type resigner struct{ *election.Leadership }

func (r resigner) Release(ctx context.Context) error { return r.Resign(ctx) }
