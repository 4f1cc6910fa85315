package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/termsafe"
)

// Exit codes, documented in the README.
const (
	ExitOK     = 0
	ExitFailed = 1 // the operation failed
	ExitUsage  = 2 // the command line was wrong, or no terminal for the console
	// A process ended by a signal exits 128 + the signal's number: 130 for
	// an interrupt (Ctrl-C, SIGINT), 143 for SIGTERM, 129 for SIGHUP.
	exitSignalBase = 128
)

// usageError means the command line itself was wrong (exit 2).
type usageError struct {
	msg string
	cmd string // the command whose help to point at ("" for ic itself)
}

func (e usageError) Error() string { return e.msg }

// signalError is a run ended by a signal (exit 128 + the signal).
type signalError struct{ sig os.Signal }

func (e signalError) Error() string { return "interrupted by " + e.sig.String() }

// errSilent is returned when the command already printed why it failed.
var errSilent = errors.New("failed")

// exitCode reports err on stderr, as a tired reader needs it, and returns
// the process exit code. interrupted is the signal that cancelled the run,
// if any.
func exitCode(err error, interrupted os.Signal, stderr io.Writer) int {
	var uerr usageError
	var serr signalError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &serr):
		fmt.Fprintf(stderr, "ic: %s\n", serr.Error())
		return signalCode(serr.sig)
	case interrupted != nil:
		// Whatever the error says (a cancelled context, an interrupted
		// SQLite wait for the ledger's lock), a signal ended the run.
		fmt.Fprintf(stderr, "ic: interrupted (%s): nothing more was done\n", interrupted)
		return signalCode(interrupted)
	case errors.As(err, &uerr):
		fmt.Fprintf(stderr, "ic: %s\n", termsafe.EscapeLine(uerr.msg))
		help := "ic --help"
		if uerr.cmd != "" {
			help = uerr.cmd + " --help"
		}
		fmt.Fprintf(stderr, "Run '%s' for usage.\n", help)
		return ExitUsage
	case errors.Is(err, incident.ErrBadArgument):
		fmt.Fprintf(stderr, "ic: %s\n", termsafe.EscapeLine(strings.TrimPrefix(err.Error(), incident.ErrBadArgument.Error()+": ")))
		return ExitUsage
	case errors.Is(err, errSilent):
		return ExitFailed
	}
	fmt.Fprintf(stderr, "ic: %s\n", termsafe.Escape(err.Error()))
	return ExitFailed
}

func signalCode(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return exitSignalBase + int(s)
	}
	return exitSignalBase + int(syscall.SIGINT)
}
