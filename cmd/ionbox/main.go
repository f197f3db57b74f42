// Command ionbox serves the ION-compatible API for production and sandbox
// environments and runs the operator and developer commands. It only parses
// the command line; every command lives in internal/cli.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/ionbox/ionbox/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var c cli.CLI
	k := kong.Parse(&c,
		kong.Name("ionbox"),
		kong.Description("ION API sandboxes: one server for production and isolated sandbox environments."),
		kong.UsageOnError(),
	)
	if err := k.Run(&cli.Globals{Ctx: ctx, Stdout: os.Stdout, Stderr: os.Stderr}); err != nil {
		fmt.Fprintln(os.Stderr, "ionbox:", err)
		os.Exit(1)
	}
}
