package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/icconsole/ic/docs"
	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/runbook"
	"golang.org/x/term"
)

// usageError means the command line itself was wrong (exit 2).
type usageError struct{ msg, usage string }

func (e usageError) Error() string { return e.msg }

// errSilent is returned when the command already printed why it failed.
var errSilent = errors.New("failed")

// globals are the options every command accepts.
type globals struct {
	db       string
	runbooks string
	actor    string
}

// consoleFlags are the options of the console (ic with no command).
type consoleFlags struct {
	beacon        string
	checkpoint    string
	syncBootstrap string
	syncUpdates   stringList
	incident      string
	routine       string
	review        bool
}

// app is one invocation of ic: its streams, global options and the lazily
// loaded runbook catalog.
type app struct {
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
	g              globals
	console        consoleFlags
	catalog        *runbook.Catalog
	// closers run when the command is done (open databases).
	closers []func() error
}

func newApp(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) *app {
	return &app{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, g: globals{
		db:       os.Getenv("IC_DB"),
		runbooks: os.Getenv("IC_RUNBOOKS"),
		actor:    os.Getenv("IC_ACTOR"),
	}}
}

// command is one subcommand: its name as typed ("runbook list"), the
// arguments it takes, a one-line summary, and the function that runs it.
type command struct {
	name    string
	args    string
	summary string
	run     func(a *app, args []string) error
}

func (c command) usage() string {
	return strings.TrimSpace("ic " + c.name + " " + c.args)
}

// commands is the full command table, in the order "ic help" shows it.
func commands() []command {
	return slices.Concat(runbookCommands(), incidentCommands(), synccheckCommands(), reviewCommands(), []command{
		{"version", "", "print the version of ic", cmdVersion},
		{"help", "[COMMAND]", "show the commands, or one command's help", cmdHelp},
	})
}

// lookupCommand returns the table entry named name; the names are fixed
// in commands(), so a miss is a programming error.
func lookupCommand(name string) command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	panic("ic: no command " + name)
}

// dispatch picks the command for args (the longest matching name) and runs it.
func (a *app) dispatch(args []string) error {
	// Global flags may come before the command name.
	fs := a.flagSet(command{name: "", args: "[COMMAND] [ARGS]"})
	fs.StringVar(&a.console.beacon, "beacon", os.Getenv("IC_BEACON"), "console: beacon API URLs for the sync panel")
	fs.StringVar(&a.console.checkpoint, "checkpoint", os.Getenv("IC_CHECKPOINT"), "console: trusted block root for the sync panel")
	fs.StringVar(&a.console.syncBootstrap, "sync-bootstrap", "", "console: bootstrap file for an offline sync check")
	fs.Var(&a.console.syncUpdates, "sync-update", "console: updates file(s) for an offline sync check")
	fs.StringVar(&a.console.incident, "incident", "", "console: open this incident at start")
	fs.BoolVar(&a.console.review, "review", false, "console: start in review mode (the audit scribe's view)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cmdHelp(a, nil)
		}
		return usageError{msg: err.Error(), usage: "ic [--db FILE] [--runbooks DIR] [--actor NAME] COMMAND [ARGS]"}
	}
	args = fs.Args()
	if len(args) == 0 {
		return a.openConsole()
	}
	var best *command
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && slices.Equal(args[:len(words)], words) {
			if best == nil || len(words) > len(strings.Fields(best.name)) {
				c := c
				best = &c
			}
		}
	}
	if best == nil {
		group := commandsUnder(args[0])
		if len(group) > 0 {
			if len(args) == 1 || args[1] == "--help" || args[1] == "-h" {
				a.printGroupHelp(args[0], group)
				return nil
			}
			return usageError{msg: fmt.Sprintf("unknown command %q", strings.Join(args[:2], " ")), usage: "ic " + args[0] + " {" + strings.Join(group, "|") + "} ..."}
		}
		return usageError{msg: fmt.Sprintf("unknown command %q", args[0]), usage: "ic COMMAND [ARGS]; 'ic help' lists the commands"}
	}
	return best.run(a, args[len(strings.Fields(best.name)):])
}

func commandsUnder(group string) []string {
	var subs []string
	for _, c := range commands() {
		if w := strings.Fields(c.name); len(w) == 2 && w[0] == group {
			subs = append(subs, w[1])
		}
	}
	return subs
}

// flagSet makes a FlagSet for c that also accepts the global flags.
func (a *app) flagSet(c command) *flag.FlagSet {
	fs := flag.NewFlagSet("ic "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&a.g.db, "db", a.g.db, "ledger database `FILE` (env IC_DB; default $XDG_STATE_HOME/ic/ic.db)")
	fs.StringVar(&a.g.runbooks, "runbooks", a.g.runbooks, "folder of runbook books used instead of the embedded ones (env IC_RUNBOOKS)")
	fs.StringVar(&a.g.actor, "actor", a.g.actor, "`NAME` recorded as the actor of every entry (env IC_ACTOR; default: login name)")
	return fs
}

// parse parses flags anywhere among args and returns the positional
// arguments, of which there must be min to max (max < 0: no limit);
// --help prints the command's help and returns flag.ErrHelp.
func (a *app) parse(fs *flag.FlagSet, c command, args []string, min, max int) ([]string, error) {
	pos, err := a.parseFlags(fs, c, args)
	if err != nil {
		return nil, err
	}
	return pos, positional(c, pos, min, max)
}

func (a *app) parseFlags(fs *flag.FlagSet, c command, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				a.printCommandHelp(fs, c)
				return nil, flag.ErrHelp
			}
			return nil, usageError{msg: err.Error(), usage: c.usage()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// flag stops at "--" or at the first positional argument.
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// positional checks the count of positional arguments.
func positional(c command, args []string, min, max int) error {
	switch {
	case len(args) < min:
		return usageError{msg: fmt.Sprintf("%s needs %d argument(s), got %d", "ic "+c.name, min, len(args)), usage: c.usage()}
	case max >= 0 && len(args) > max:
		return usageError{msg: fmt.Sprintf("unexpected argument %q", args[max]), usage: c.usage()}
	}
	return nil
}

func (a *app) printCommandHelp(fs *flag.FlagSet, c command) {
	w := a.stdout
	fmt.Fprintf(w, "usage: %s\n\n%s\n", c.usage(), c.summary)
	var local, global strings.Builder
	fs.SetOutput(&local)
	fs.VisitAll(func(f *flag.Flag) {
		b := &local
		if f.Name == "db" || f.Name == "runbooks" || f.Name == "actor" {
			b = &global
		}
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintf(b, "%-24s %s\n", line, usage)
	})
	if local.Len() > 0 {
		fmt.Fprintf(w, "\nflags:\n%s", local.String())
	}
	fmt.Fprintf(w, "\nglobal flags:\n%s", global.String())
}

func (a *app) printGroupHelp(group string, subs []string) {
	fmt.Fprintf(a.stdout, "usage: ic %s COMMAND\n\ncommands:\n", group)
	for _, c := range commands() {
		if strings.HasPrefix(c.name, group+" ") {
			fmt.Fprintf(a.stdout, "  %-44s %s\n", c.usage(), c.summary)
		}
	}
}

func cmdHelp(a *app, args []string) error {
	if len(args) > 0 {
		name := strings.Join(args, " ")
		for _, c := range commands() {
			if c.name == name {
				a.printCommandHelp(a.flagSet(c), c)
				return nil
			}
		}
		if subs := commandsUnder(name); len(subs) > 0 {
			a.printGroupHelp(name, subs)
			return nil
		}
		return usageError{msg: fmt.Sprintf("no help for unknown command %q", name), usage: "ic help [COMMAND]"}
	}
	w := a.stdout
	fmt.Fprint(w, `ic — the incident console

usage: ic [--db FILE] [--runbooks DIR] [--actor NAME] [COMMAND [ARGS]]

With no command, in a terminal, ic opens the full-screen console:
  ic [--incident ID] [--review] [--beacon URLS --checkpoint ROOT] [--sync-bootstrap FILE --sync-update FILE]

commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-48s %s\n", c.usage(), c.summary)
	}
	fmt.Fprint(w, `
global flags (accepted by every command):
  --db FILE        ledger database (env IC_DB; default $XDG_STATE_HOME/ic/ic.db)
  --runbooks DIR   folder of runbook books instead of the embedded ones (env IC_RUNBOOKS)
  --actor NAME     actor recorded on every entry (env IC_ACTOR; default: login name)

exit codes: 0 ok, 1 the operation failed, 2 usage error, 130 interrupted
`)
	return nil
}

// version is set at build time with -ldflags "-X main.version=..."; when
// empty, the module version from the build info is used.
var version = ""

func versionString() string {
	v := version
	info, ok := debug.ReadBuildInfo()
	if v == "" && ok && info.Main.Version != "" {
		v = info.Main.Version
	}
	if v == "" {
		v = "(devel)"
	}
	goVersion := ""
	if ok {
		goVersion = " " + info.GoVersion
	}
	return "ic " + v + goVersion
}

func cmdVersion(a *app, args []string) error {
	c := lookupCommand("version")
	fs := a.flagSet(c)
	_, err := a.parse(fs, c, args, 0, 0)
	if err != nil {
		return helpOK(err)
	}
	fmt.Fprintln(a.stdout, versionString())
	return nil
}

// helpOK turns the "help was printed" signal into success.
func helpOK(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// runbookFS returns the books in use: --runbooks, or the embedded ones,
// with the label that prefixes paths in messages.
func (a *app) runbookFS() (fs.FS, string, error) {
	if a.g.runbooks == "" {
		return docs.Runbooks(), "docs/runbooks", nil
	}
	if info, err := os.Stat(a.g.runbooks); err != nil || !info.IsDir() {
		return nil, "", fmt.Errorf("runbook folder %s: not a readable folder (check --runbooks or IC_RUNBOOKS)", a.g.runbooks)
	}
	return os.DirFS(a.g.runbooks), a.g.runbooks, nil
}

// loadCatalog loads the runbook books once. Problems in individual files do
// not stop ic: they are reported on stderr and the rest is used.
func (a *app) loadCatalog() (*runbook.Catalog, error) {
	if a.catalog != nil {
		return a.catalog, nil
	}
	fsys, label, err := a.runbookFS()
	if err != nil {
		return nil, err
	}
	c, probs := runbook.Load(fsys, label)
	for _, p := range probs {
		fmt.Fprintf(a.stderr, "ic: warning: %s\n", termsafe.EscapeLine(p.String()))
	}
	if len(c.Books()) == 0 {
		return nil, fmt.Errorf("no usable runbook book in %s (run 'ic runbook lint %s')", label, label)
	}
	a.catalog = c
	return c, nil
}

// dbPath is --db, IC_DB, or the default under the XDG state folder.
func (a *app) dbPath() (string, error) {
	if a.g.db != "" {
		return a.g.db, nil
	}
	if s := os.Getenv("XDG_STATE_HOME"); s != "" && filepath.IsAbs(s) {
		return filepath.Join(s, "ic", "ic.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no ledger path: set --db or IC_DB (no home folder: %v)", err)
	}
	return filepath.Join(home, ".local", "state", "ic", "ic.db"), nil
}

// now is the clock: IC_NOW (RFC 3339) fixes it, for tests and demos that
// need a reproducible ledger; otherwise the system clock.
func (a *app) now() time.Time {
	if v := os.Getenv("IC_NOW"); v != "" {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t.UTC()
		}
	}
	return time.Now().UTC()
}

// actor is --actor, IC_ACTOR, or the login name.
func (a *app) actor() string {
	if a.g.actor != "" {
		return a.g.actor
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

// stdoutIsTerminal reports whether stdout is an interactive terminal.
func (a *app) stdoutIsTerminal() bool {
	f, ok := a.stdout.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// terminalWidth is the width of the terminal w writes to (0 if unknown).
func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return width
}

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
