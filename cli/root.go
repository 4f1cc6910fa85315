package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// consoleFlags are the options of the console (ic with no command).
type consoleFlags struct {
	incident      string
	review        bool
	beacon        string
	checkpoint    string
	syncBootstrap string
	syncUpdates   []string
}

// rootCommand is ic itself: with no command, the console; the commands
// below it, grouped as the README lists them.
func (e *env) rootCommand() *cobra.Command {
	var cf consoleFlags
	root := &cobra.Command{
		Use:   "ic",
		Short: "the incident console",
		Long: `ic — the incident console.

With no command, in a terminal, ic opens the full-screen console: declare an incident with one key, walk the first-response checklist, read the runbook, keep the timeline. Every action of the console is also a command below, for scripts and tests.`,
		Example: `  ic                                   # the console
  ic incident open --title "payments API returning 500s" --sev SEV-1
  ic note INC-7f3a9c "relay 2 restarted"
  ic help incident open`,
		SilenceErrors:      true,
		SilenceUsage:       true,
		DisableSuggestions: false,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.openConsole(cf, consoleMode{})
		},
	}
	root.SuggestionsMinimumDistance = 2
	root.CompletionOptions.HiddenDefaultCmd = false
	pf := root.PersistentFlags()
	pf.StringVar(&e.db, "db", "", "ledger database `FILE` (env IC_DB; default $XDG_STATE_HOME/ic/ic.db)")
	pf.StringVar(&e.runbooks, "runbooks", "", "`DIR` of runbook books used instead of the embedded ones (env IC_RUNBOOKS)")
	pf.StringVar(&e.actor, "actor", "", "`NAME` recorded as the actor of every entry; a name other than your login is recorded as asserted (env IC_ACTOR; default: login name)")
	pf.StringVar(&e.checkpointDir, "checkpoint-dir", "", "`DIR` where signed checkpoints are copied, outside the ledger (env IC_CHECKPOINT_DIR)")
	pf.StringVar(&e.allowedSigners, "allowed-signers", "", "git allowed-signers `FILE`: whose SSH signatures count for approvals (env IC_ALLOWED_SIGNERS)")
	f := root.Flags()
	f.StringVar(&cf.incident, "incident", "", "console: open incident `ID` at start")
	f.BoolVar(&cf.review, "review", false, "console: start in review mode (the audit scribe's view)")
	f.StringVar(&cf.beacon, "beacon", "", "console: beacon API `URLS` for the sync panel, comma-separated (env IC_BEACON)")
	f.StringVar(&cf.checkpoint, "checkpoint", "", "console: trusted block `ROOT` for the sync panel (env IC_CHECKPOINT)")
	f.StringVar(&cf.syncBootstrap, "sync-bootstrap", "", "console: bootstrap `FILE` for an offline sync check")
	f.StringSliceVar(&cf.syncUpdates, "sync-update", nil, "console: updates `FILE`(s) for an offline sync check")
	_ = root.RegisterFlagCompletionFunc("incident", e.completeIncidents)

	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{msg: err.Error(), cmd: c.CommandPath()}
	})
	root.SetHelpFunc(func(c *cobra.Command, _ []string) { e.help(c) })

	root.AddGroup(
		&cobra.Group{ID: "respond", Title: "Incidents and their timelines:"},
		&cobra.Group{ID: "books", Title: "Runbooks:"},
		&cobra.Group{ID: "ledger", Title: "The ledger:"},
		&cobra.Group{ID: "review", Title: "Reviews, routines and checks:"},
	)
	root.AddCommand(e.runbookCommand())
	root.AddCommand(e.incidentCommand())
	for _, c := range e.entryCommands() {
		root.AddCommand(c)
	}
	root.AddCommand(e.evidenceCommand(), e.approveCommand())
	root.AddCommand(e.ledgerCommands()...)
	root.AddCommand(e.keyCommand(), e.checkpointCommand(), e.receiptCommand(), e.verifyReceiptCommand())
	root.AddCommand(e.reviewCommand(), e.routineCommand(), e.synccheckCommand(), e.versionCommand())
	root.AddCommand(e.configCommand(), e.serveCommand())
	root.SetHelpCommandGroupID("")
	root.SetCompletionCommandGroupID("")
	return root
}

// group is a command that only holds others: without a subcommand it
// shows its help; with an unknown one it is a usage error that suggests
// the nearest name.
func group(use, short, long, groupID string, subs ...*cobra.Command) *cobra.Command {
	var examples []string
	for _, sub := range subs {
		if first, _, _ := strings.Cut(sub.Example, "\n"); first != "" {
			examples = append(examples, first)
		}
	}
	c := &cobra.Command{
		Use:     use + " COMMAND",
		Short:   short,
		Long:    long,
		Example: strings.Join(examples, "\n"),
		GroupID: groupID,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q", c.Name()+" "+args[0])
			if s := c.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %q?)", c.Name()+" "+s[0])
			}
			return usageError{msg: msg, cmd: c.CommandPath()}
		},
		RunE: func(c *cobra.Command, _ []string) error {
			c.HelpFunc()(c, nil)
			return nil
		},
	}
	c.SuggestionsMinimumDistance = 2
	c.AddCommand(subs...)
	return c
}

// argsBetween requires min to max positional arguments (max < 0: any).
func argsBetween(min, max int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		switch {
		case len(args) < min:
			return usageError{msg: fmt.Sprintf("%s needs %d argument(s), got %d: usage: %s", c.CommandPath(), min, len(args), c.UseLine()), cmd: c.CommandPath()}
		case max >= 0 && len(args) > max:
			return usageError{msg: fmt.Sprintf("unexpected argument %q: usage: %s", args[max], c.UseLine()), cmd: c.CommandPath()}
		}
		return nil
	}
}
