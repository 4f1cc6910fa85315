package main

import (
	"errors"
	"fmt"
	"os"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/icconsole/ic/tui"
	"golang.org/x/term"
)

// openConsole starts the full-screen console, or explains why it cannot.
func (a *app) openConsole() error {
	in, inOK := a.stdin.(*os.File)
	out, outOK := a.stdout.(*os.File)
	if !inOK || !outOK || !term.IsTerminal(int(in.Fd())) || !term.IsTerminal(int(out.Fd())) {
		return usageError{msg: "no terminal: the console needs an interactive terminal on stdin and stdout. Use a subcommand instead ('ic help' lists them)."}
	}
	cat, err := a.loadCatalog()
	if err != nil {
		return err
	}
	theme := tui.DetectTheme()
	m := tui.New(tui.Options{Catalog: cat, Theme: theme})
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithInput(in), tea.WithOutput(out), tea.WithContext(a.ctx))
	if _, err := p.Run(); err != nil {
		if errors.Is(err, tea.ErrProgramKilled) || errors.Is(err, tea.ErrInterrupted) {
			return nil
		}
		return fmt.Errorf("console: %w", err)
	}
	return nil
}
