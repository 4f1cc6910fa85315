package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/icconsole/ic/tui"
	"github.com/icconsole/ic/verifier"
	"golang.org/x/term"
)

// openConsole starts the full-screen console, or explains why it cannot.
func (a *app) openConsole() error {
	in, inOK := a.stdin.(*os.File)
	out, outOK := a.stdout.(*os.File)
	if !inOK || !outOK || !term.IsTerminal(int(in.Fd())) || !term.IsTerminal(int(out.Fd())) {
		return usageError{msg: "no terminal: the console needs an interactive terminal on stdin and stdout. Use a subcommand instead ('ic help' lists them)."}
	}
	opts, err := a.consoleOptions()
	if err != nil {
		return err
	}
	p := tea.NewProgram(tui.New(opts), tea.WithAltScreen(), tea.WithInput(in), tea.WithOutput(out), tea.WithContext(a.ctx))
	if _, err := p.Run(); err != nil {
		if errors.Is(err, tea.ErrProgramKilled) || errors.Is(err, tea.ErrInterrupted) {
			return nil
		}
		return fmt.Errorf("console: %w", err)
	}
	return nil
}

// consoleOptions opens what the console needs before its first frame: the
// books, the ledger, the draft note, the sync sources.
func (a *app) consoleOptions() (tui.Options, error) {
	cat, err := a.loadCatalog()
	if err != nil {
		return tui.Options{}, err
	}
	l, err := a.openLedger()
	if err != nil {
		return tui.Options{}, err
	}
	opts := tui.Options{
		Catalog:   cat,
		Ledger:    l,
		Theme:     tui.DetectTheme(),
		Actor:     a.actor(),
		DraftPath: l.DB().Path() + ".draft",
	}
	opts.Draft = tui.ReadDraft(opts.DraftPath)
	opts.Routine, opts.Review = a.console.routine, a.console.review
	if a.console.incident != "" {
		if opts.Incident, err = l.Resolve(a.ctx, a.console.incident); err != nil {
			return opts, err
		}
	}
	opts.Sync, err = a.syncSources()
	return opts, err
}

// syncSources builds the sync panel's sources from the console flags.
func (a *app) syncSources() ([]tui.SyncSource, error) {
	var out []tui.SyncSource
	c := a.console
	if c.syncBootstrap != "" || len(c.syncUpdates) > 0 {
		if c.syncBootstrap == "" || len(c.syncUpdates) == 0 {
			return nil, usageError{msg: "the sync panel's offline check needs both --sync-bootstrap FILE and --sync-update FILE"}
		}
		boot, updates := c.syncBootstrap, []string(c.syncUpdates)
		out = append(out, tui.SyncSource{Name: "files " + boot, Check: func(context.Context) tui.SyncOutcome {
			results, err := checkFiles(boot, updates, "")
			return tui.SyncOutcome{Results: results, Err: err, Class: classify(err)}
		}})
	}
	if c.beacon != "" {
		eps, err := verifier.ParseEndpoints(c.beacon)
		if err != nil {
			return nil, usageError{msg: err.Error()}
		}
		if c.checkpoint == "" {
			return nil, usageError{msg: "--beacon needs --checkpoint ROOT (or IC_CHECKPOINT): the block root you trust"}
		}
		var root verifier.Root
		if err := parseRoot(c.checkpoint, &root); err != nil {
			return nil, err
		}
		name := "beacon"
		for _, e := range eps {
			name += " " + e.Name
		}
		out = append(out, tui.SyncSource{Name: name, Check: func(ctx context.Context) tui.SyncOutcome {
			client := verifier.NewClient(eps, 10*time.Second)
			res, err := verifier.CheckOnline(ctx, client, root, 0)
			return tui.SyncOutcome{Results: res.Results, Attempts: res.Attempts, Err: err, Class: classify(err)}
		}})
	}
	return out, nil
}
