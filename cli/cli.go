// Package cli is ic's command line. Every command is declared once, as
// data (name, arguments, flags, help, examples, completion) on
// spf13/cobra, and calls the application layer (package incident); no rule
// of a book lives here. Exit codes come from typed errors (exit.go).
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/icconsole/ic/docs"
	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/runbook"
)

// Main runs one command line and returns the process exit code. SIGINT,
// SIGTERM and SIGHUP cancel the run's context: the command stops what it
// is doing, and the process exits 128 + the signal's number (130 for
// Ctrl-C). A second signal ends the process at once.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	var mu sync.Mutex
	var got os.Signal
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			mu.Lock()
			got = s
			mu.Unlock()
			signal.Reset(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
			cancel()
		case <-done:
		}
	}()
	out := &checkedWriter{w: stdout}
	e := &env{ctx: ctx, stdin: stdin, stdout: out, stdoutFile: fileOf(stdout), stderr: stderr}
	err := e.execute(args)
	e.close()
	if err == nil && out.err != nil {
		// A closed pipe or a full disk: what was asked for was not all
		// written, so the command did not succeed.
		err = fmt.Errorf("writing the output: %w", out.err)
	}
	close(done)
	signal.Stop(sigs)
	mu.Lock()
	defer mu.Unlock()
	return exitCode(err, got, stderr)
}

// env is one invocation of ic: its streams, the global options, and what
// is opened lazily (the books, the ledger) and closed at the end.
type env struct {
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
	// stdoutFile is stdout when it is a file (a terminal, say): nil for
	// a buffer.
	stdoutFile *os.File

	// Global flags; the environment fills what a flag leaves empty.
	db, runbooks, actor string

	catalog *runbook.Catalog
	svc     *incident.Service
}

// execute builds the command tree and runs args through it.
func (e *env) execute(args []string) error {
	root := e.rootCommand()
	root.SetArgs(args)
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	err := root.ExecuteContext(e.ctx)
	if err != nil && isCobraUsageError(err) {
		return usageError{msg: oneLineSuggestion(err.Error())}
	}
	return err
}

// oneLineSuggestion turns cobra's multi-line "unknown command ... Did you
// mean this?" into one line: unknown command "incdent" (did you mean
// "incident"?).
func oneLineSuggestion(msg string) string {
	head, suggestions, found := strings.Cut(msg, "\n\nDid you mean this?\n")
	head = strings.TrimSuffix(head, ` for "ic"`)
	if !found {
		return strings.TrimSpace(head)
	}
	var names []string
	for _, s := range strings.Fields(suggestions) {
		names = append(names, strconv.Quote(s))
	}
	return fmt.Sprintf("%s (did you mean %s?)", head, strings.Join(names, " or "))
}

// isCobraUsageError recognises the errors cobra makes itself for a wrong
// command line (it has no types for them).
func isCobraUsageError(err error) bool {
	var uerr usageError
	if errors.As(err, &uerr) {
		return false
	}
	msg := err.Error()
	for _, p := range []string{"unknown command ", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument ", "required flag", "if any flags in the group"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

func (e *env) close() {
	if e.svc != nil {
		if err := e.svc.Close(); err != nil {
			fmt.Fprintf(e.stderr, "ic: warning: closing the ledger: %v\n", err)
		}
	}
}

// checkedWriter keeps the first write error, so every print of a command
// is checked once, at the end, rather than at each call.
type checkedWriter struct {
	w   io.Writer
	err error
}

func (c *checkedWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.err = err
	return n, err
}

func fileOf(w io.Writer) *os.File {
	f, _ := w.(*os.File)
	return f
}

// runbookFS returns the books in use: --runbooks (or IC_RUNBOOKS), or the
// embedded ones, with the label that prefixes paths in messages.
func (e *env) runbookFS() (fs.FS, string, error) {
	dir := e.runbooks
	if dir == "" {
		dir = os.Getenv("IC_RUNBOOKS")
	}
	if dir == "" {
		return docs.Runbooks(), "docs/runbooks", nil
	}
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return nil, "", fmt.Errorf("runbook folder %s: not a readable folder (check --runbooks or IC_RUNBOOKS)", dir)
	}
	return os.DirFS(dir), dir, nil
}

// books loads the runbook books once. Problems in single files do not stop
// ic: they are reported on stderr and the rest is used.
func (e *env) books() (*runbook.Catalog, error) {
	if e.catalog != nil {
		return e.catalog, nil
	}
	fsys, label, err := e.runbookFS()
	if err != nil {
		return nil, err
	}
	c, probs := runbook.Load(fsys, label)
	for _, p := range probs {
		fmt.Fprintf(e.stderr, "ic: warning: %s\n", termsafe.EscapeLine(p.String()))
	}
	if len(c.Books()) == 0 {
		return nil, fmt.Errorf("no usable runbook book in %s (run 'ic runbook lint %s')", label, label)
	}
	e.catalog = c
	return c, nil
}

// dbPath is --db, IC_DB, or the default under the XDG state folder.
func (e *env) dbPath() (string, error) {
	if e.db != "" {
		return e.db, nil
	}
	if p := os.Getenv("IC_DB"); p != "" {
		return p, nil
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

// service opens the ledger with the books' rules, once.
func (e *env) service() (*incident.Service, error) {
	if e.svc != nil {
		return e.svc, nil
	}
	cat, err := e.books()
	if err != nil {
		return nil, err
	}
	path, err := e.dbPath()
	if err != nil {
		return nil, err
	}
	svc, err := incident.Open(e.ctx, path, cat, e.clock())
	if err != nil {
		return nil, err
	}
	e.svc = svc
	return svc, nil
}

// incident opens the ledger and resolves an incident reference.
func (e *env) incident(ref string) (*incident.Service, string, error) {
	svc, err := e.service()
	if err != nil {
		return nil, "", err
	}
	id, err := svc.Resolve(e.ctx, ref)
	return svc, id, err
}

// clock is ic's clock: IC_NOW (RFC 3339) fixes it, for tests and demos
// that need a reproducible ledger; otherwise the system clock.
func (e *env) clock() func() time.Time {
	if v := os.Getenv("IC_NOW"); v != "" {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return func() time.Time { return t.UTC() }
		}
	}
	return time.Now
}

func (e *env) now() time.Time { return e.clock()().UTC() }

// by is who acts: --actor, IC_ACTOR, or the login name.
func (e *env) by() incident.Actor {
	for _, name := range []string{e.actor, os.Getenv("IC_ACTOR")} {
		if name != "" {
			return incident.Actor{Name: name}
		}
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return incident.Actor{Name: u.Username}
	}
	if u := os.Getenv("USER"); u != "" {
		return incident.Actor{Name: u}
	}
	return incident.Actor{Name: "unknown"}
}

// stdoutTerminal reports whether stdout is an interactive terminal.
func (e *env) stdoutTerminal() bool {
	return e.stdoutFile != nil && term.IsTerminal(int(e.stdoutFile.Fd()))
}

// width is the terminal's width for help and rendering (80 when stdout is
// not a terminal).
func (e *env) width() int {
	if e.stdoutFile != nil {
		if w, _, err := term.GetSize(int(e.stdoutFile.Fd())); err == nil && w > 0 {
			return w
		}
	}
	return 80
}

func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// readText returns arg, or all of stdin when arg is "-".
func (e *env) readText(arg string) (string, error) {
	if arg != "-" {
		return arg, nil
	}
	b, err := io.ReadAll(io.LimitReader(e.stdin, incident.MaxTextBytes+1))
	if err != nil {
		return "", fmt.Errorf("reading the text from stdin: %w", err)
	}
	return string(b), nil
}
