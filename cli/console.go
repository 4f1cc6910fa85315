package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"golang.org/x/term"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/tui"
)

// consoleMode says what the console opens on.
type consoleMode struct {
	routine string // a new run of this routine
}

// openConsole starts the full-screen console, or explains why it cannot.
// This is the one place that imports the console (package tui).
func (e *env) openConsole(cf consoleFlags, mode consoleMode) error {
	in, inOK := e.stdin.(*os.File)
	out, outOK := e.stdoutFile, e.stdoutFile != nil
	if !inOK || !outOK || !term.IsTerminal(int(in.Fd())) || !term.IsTerminal(int(out.Fd())) {
		return usageError{msg: "no terminal: the console needs an interactive terminal on stdin and stdout. Use a subcommand instead ('ic help' lists them)."}
	}
	cfg, err := e.config()
	if err != nil {
		return fmt.Errorf("%w (fix it with 'ic config edit', or set IC_CONFIG to another file)", err)
	}
	sync, err := syncSources(cf, cfg)
	if err != nil {
		return err
	}
	svc, err := e.service()
	if err != nil {
		return err
	}
	if cfg.Book != "" {
		if _, ok := svc.Books().Book(cfg.Book); !ok {
			return fmt.Errorf("configuration %s: book %q is not loaded (books: %s)", cfg.path, termsafe.EscapeLine(cfg.Book), bookIDs(svc.Books()))
		}
	}
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	// The background is decided once, here, before the program owns the
	// terminal; lipgloss's default renderer (which bubbles' own styles
	// use) is told too, so nothing asks the terminal later.
	theme := consoleTheme(cfg.Theme, in, out)
	lipgloss.SetColorProfile(theme.Profile)
	lipgloss.SetHasDarkBackground(theme.Dark)
	cfgPath, _ := configPath()
	opts := tui.Options{
		Context:   ctx,
		Catalog:   svc.Books(),
		Service:   svc,
		Theme:     theme,
		Actor:     e.by(),
		Book:      cfg.Book,
		Routine:   mode.routine,
		Review:    cf.review,
		Sync:      sync,
		SyncEvery: cfg.syncEvery(),
		SaveSync: func(beacons []string, checkpoint string) (string, error) {
			return cfgPath, saveSync(cfgPath, beacons, checkpoint)
		},
	}
	if opts.Draft, err = svc.Drafts().Read(); err != nil {
		fmt.Fprintf(e.stderr, "ic: warning: %v\n", err)
	}
	if cf.incident != "" {
		if opts.Incident, err = svc.Resolve(e.ctx, cf.incident); err != nil {
			return err
		}
	}
	// ic handles the signals itself (Main): SIGTERM or SIGHUP cancel the
	// context, the program is killed and the run ends 128 + the signal,
	// never 0. A panic in the console restores the terminal and exits 1.
	p := tea.NewProgram(tui.New(opts), tea.WithAltScreen(), tea.WithInput(in), tea.WithOutput(out),
		tea.WithContext(ctx), tea.WithoutSignalHandler())
	_, err = p.Run()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, tea.ErrProgramPanic):
		return fmt.Errorf("the console stopped on an internal error (the stack is printed above); what was on the timeline is safe: %w", err)
	case errors.Is(err, tea.ErrProgramKilled) && e.ctx.Err() != nil:
		return e.ctx.Err()
	}
	return fmt.Errorf("console: %w", err)
}

// syncSources is the sync panel's configuration from the console flags,
// the environment, then the configuration file.
func syncSources(cf consoleFlags, cfg config) ([]incident.SyncSource, error) {
	var out []incident.SyncSource
	if cf.syncBootstrap != "" || len(cf.syncUpdates) > 0 {
		if cf.syncBootstrap == "" || len(cf.syncUpdates) == 0 {
			return nil, usageError{msg: "the sync panel's offline check needs both --sync-bootstrap FILE and --sync-update FILE"}
		}
		out = append(out, incident.SyncSource{Bootstrap: cf.syncBootstrap, Updates: cf.syncUpdates})
	}
	beacon, checkpoint := cf.beacon, cf.checkpoint
	if beacon == "" {
		beacon = os.Getenv("IC_BEACON")
	}
	if checkpoint == "" {
		checkpoint = os.Getenv("IC_CHECKPOINT")
	}
	if beacon == "" {
		beacon = strings.Join(cfg.Sync.Beacons, ",")
	}
	if checkpoint == "" {
		checkpoint = cfg.Sync.Checkpoint
	}
	if beacon != "" {
		if checkpoint == "" {
			return nil, usageError{msg: "--beacon needs --checkpoint ROOT (or IC_CHECKPOINT): the block root you trust"}
		}
		src := incident.SyncSource{Beacons: beacon, Checkpoint: checkpoint}
		if err := src.Validate(); err != nil {
			return nil, err
		}
		out = append(out, src)
	}
	for i := range out {
		out[i].StrictKeys = cfg.Sync.StrictKeys
	}
	return out, nil
}
