// Command zkcoord runs the demo and manages a local development ensemble.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:           "zkcoord",
		Short:         "ZooKeeper coordination recipes: demo and local ensemble",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(demoCmd(), ensembleCmd())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "zkcoord:", err)
		os.Exit(1)
	}
}
