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
	"github.com/icconsole/ic/internal/checkpoint"
	"github.com/icconsole/ic/internal/safefile"
	"github.com/icconsole/ic/internal/signers"
	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/runbook"
	"github.com/icconsole/ic/serve"
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
	db, runbooks, actor, allowedSigners, checkpointDir string

	catalog *runbook.Catalog
	warned  map[string]bool // catalog problems already reported
	svc     *incident.Service
	// closers run when the command is done (the runbook folder).
	closers []func() error
	cfg     *config // the configuration file, read once (config.go)
	// session is the served session this command runs for (ic serve;
	// serve.go), nil for a local ic: its principal is the actor, and the
	// server's ledger is not closed when the command ends.
	session *serve.Session
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
	e.warnCatalog()
	for _, c := range e.closers {
		_ = c()
	}
	if e.svc != nil && e.session == nil {
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
	// Nothing read through it leaves the folder, and a pipe or device in
	// it is refused per file, never read.
	d, err := safefile.OpenDir(dir)
	if err != nil {
		return nil, "", fmt.Errorf("runbook folder %s: %w", dir, err)
	}
	e.closers = append(e.closers, d.Close)
	return d, dir, nil
}

// books loads the runbook books' policies once; a procedure is read when a
// command first asks for it, so a bad procedure file costs only the
// commands that touch it. Problems in single files do not stop ic: they are
// reported on stderr (warnCatalog) and the rest is used.
func (e *env) books() (*runbook.Catalog, error) {
	if e.catalog != nil {
		return e.catalog, nil
	}
	fsys, label, err := e.runbookFS()
	if err != nil {
		return nil, err
	}
	c, _ := runbook.LoadPolicies(e.ctx, fsys, label)
	e.catalog = c
	e.warnCatalog()
	if len(c.BookIDs()) == 0 {
		return nil, fmt.Errorf("no usable runbook book in %s (run 'ic runbook lint %s')", label, label)
	}
	return c, nil
}

// procedure finds a procedure of the books in use by its id.
func (e *env) procedure(id string) (*runbook.Procedure, error) {
	cat, err := e.books()
	if err != nil {
		return nil, err
	}
	p, ok := cat.Procedure(id)
	if !ok {
		return nil, fmt.Errorf("no procedure %q (list them with 'ic runbook list')", termsafe.EscapeLine(id))
	}
	return p, nil
}

// warnCatalog reports the problems found in the books so far, each once.
func (e *env) warnCatalog() {
	if e.catalog == nil {
		return
	}
	if e.warned == nil {
		e.warned = map[string]bool{}
	}
	for _, p := range e.catalog.Problems() {
		if msg := p.String(); !e.warned[msg] {
			e.warned[msg] = true
			fmt.Fprintf(e.stderr, "ic: warning: %s\n", termsafe.EscapeLine(msg))
		}
	}
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
func (e *env) service() (*incident.Service, error) { return e.open(incident.Open) }

// readService opens the ledger for reading only: verify, export, timeline,
// receipts and the reviews work on a read-only file and create nothing.
func (e *env) readService() (*incident.Service, error) { return e.open(incident.OpenReadOnly) }

// open opens the ledger once, with open (read-write or read-only).
func (e *env) open(open func(context.Context, string, *runbook.Catalog, func() time.Time) (*incident.Service, error)) (*incident.Service, error) {
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
	svc, err := open(e.ctx, path, cat, e.clock())
	if err != nil {
		return nil, err
	}
	return e.configure(svc)
}

// configure gives a service what the configuration names: whose approvals
// count, the checkpoint key and the folder of checkpoint copies.
func (e *env) configure(svc *incident.Service) (*incident.Service, error) {
	e.svc = svc
	if p := firstNonEmpty(e.allowedSigners, os.Getenv("IC_ALLOWED_SIGNERS"), e.configValue(func(c config) string { return c.AllowedSigners })); p != "" {
		allowed, err := signers.ReadAllowed(p)
		if err != nil {
			return nil, err
		}
		e.svc = e.svc.WithAllowedSigners(allowed)
	}
	signer, err := e.checkpointSigner()
	if err != nil {
		return nil, err
	}
	e.svc = e.svc.WithCheckpoints(signer, e.checkpointFolder(), func(msg string) {
		fmt.Fprintf(e.stderr, "ic: warning: %s\n", termsafe.EscapeLine(msg))
	})
	return e.svc, nil
}

// keyPath is the checkpoint signing key: IC_CHECKPOINT_KEY, else
// $XDG_CONFIG_HOME/ic/checkpoint.key (~/.config/ic/checkpoint.key).
func (e *env) keyPath() string {
	if p := os.Getenv("IC_CHECKPOINT_KEY"); p != "" {
		return p
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "ic", "checkpoint.key")
}

// checkpointSigner loads the checkpoint key when there is one (nil when
// none was created: checkpoints are then not signed).
func (e *env) checkpointSigner() (*checkpoint.Signer, error) {
	p := e.keyPath()
	if p == "" {
		return nil, nil
	}
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return checkpoint.LoadSigner(p)
}

// checkpointFolder is --checkpoint-dir, IC_CHECKPOINT_DIR, or the
// configuration's checkpoints ("" for none).
func (e *env) checkpointFolder() string {
	return firstNonEmpty(e.checkpointDir, os.Getenv("IC_CHECKPOINT_DIR"), e.configValue(func(c config) string { return c.Checkpoints }))
}

// trustedKeys are the verifier keys whose checkpoints verify trusts: the
// ones given, and the public half of the local checkpoint key.
func (e *env) trustedKeys(given []string) []string {
	keys := append([]string(nil), given...)
	if p := e.keyPath(); p != "" {
		if b, err := safefile.Read(e.ctx, p+".pub", safefile.Key); err == nil {
			keys = append(keys, strings.TrimSpace(string(b)))
		}
	}
	return keys
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

// readIncident is incident on a ledger opened for reading only.
func (e *env) readIncident(ref string) (*incident.Service, string, error) {
	svc, err := e.readService()
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

// by is who acts, and how that is known: the login name (identity
// login), or a name given with --actor, IC_ACTOR or the configuration that
// is not the login name (identity asserted: a scribe transcribing for
// someone else, shown as such everywhere).
func (e *env) by() incident.Actor {
	if e.session != nil {
		return e.session.Actor
	}
	login := loginName()
	if name := firstNonEmpty(e.actor, os.Getenv("IC_ACTOR"), e.configActor()); name != "" && name != login {
		return incident.Actor{Name: name, Via: incident.ViaAsserted}
	}
	return incident.Actor{Name: login, Via: incident.ViaLogin}
}

// loginName is the operating-system account running ic.
func loginName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
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
