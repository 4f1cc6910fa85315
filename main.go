// Command ic is the incident console: a terminal console for declaring and
// running incidents, walking runbooks, keeping a tamper-evident timeline and
// checking Ethereum sync-committee signatures. With no arguments in a
// terminal it opens the full-screen console; every action is also a
// subcommand. Run "ic help" for the list.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes, documented in the README.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	exitSignals = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := newApp(ctx, stdin, stdout, stderr)
	err := a.dispatch(args)
	for _, c := range a.closers {
		c()
	}
	var uerr usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &uerr):
		fmt.Fprintf(stderr, "ic: %s\n", uerr.msg)
		if uerr.usage != "" {
			fmt.Fprintf(stderr, "usage: %s\nRun 'ic help' or add --help for more.\n", uerr.usage)
		}
		return exitUsage
	case errors.Is(err, errSilent):
		return exitFailed
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "ic: interrupted")
		return exitSignals
	default:
		fmt.Fprintf(stderr, "ic: %v\n", err)
		return exitFailed
	}
}
