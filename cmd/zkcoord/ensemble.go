package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func ensembleCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "ensemble", Short: "A local ZooKeeper ensemble for development"}
	var dir string
	var nodes int
	up := &cobra.Command{
		Use: "up", Short: "Start the ensemble (idempotent)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return errors.New("not yet") },
	}
	up.Flags().IntVar(&nodes, "nodes", 3, "number of servers")
	down := &cobra.Command{
		Use: "down", Short: "Stop the ensemble and remove its state", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return errors.New("not yet") },
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", ".ensemble", "state directory")
	cmd.AddCommand(up, down)
	return cmd
}
