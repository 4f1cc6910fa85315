package tui

import (
	"context"
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/runbook"
)

// A routine run is walked in the same stepper as a checklist; it is an
// incident of kind "routine" in the ledger, with its own hash chain.

type (
	runStartedMsg struct {
		run  incident.Status
		proc *runbook.Procedure
		err  error
	}
	historyMsg struct {
		proc string
		runs []incident.RunSummary
		err  error
	}
)

func lipglossWidth(s string) int { return lipgloss.Width(s) }

// startRun declares a run of routine p (at the book's mildest severity,
// which carries no requirements) and opens it.
func (m Model) startRun(p *runbook.Procedure) (tea.Model, tea.Cmd) {
	if m.opts.Service == nil {
		m.setStatus("no ledger: the console was started without a database")
		return m, nil
	}
	if p.Kind != runbook.Routine {
		m.setStatus(p.ID + " is not a routine: W walks routines (green); D declares an incident")
		return m, nil
	}
	ctx, l, actor := m.ctx(), m.opts.Service, m.opts.Actor
	m.mode = routineMode
	m.setStatus("starting a run of " + p.ID + "…")
	return m, func() tea.Msg {
		run, _, err := l.StartRoutine(ctx, p.ID, actor, incident.NewKey())
		return runStartedMsg{run: run, proc: p, err: err}
	}
}

func loadHistory(ctx context.Context, svc *incident.Service, proc string) tea.Cmd {
	return func() tea.Msg {
		runs, err := svc.RoutineRuns(ctx, proc, 30)
		return historyMsg{proc: proc, runs: runs, err: err}
	}
}

// failStep records a failed routine step and offers to declare an incident
// from it.
func (m Model) failStep(step runbook.Step, note string) (tea.Model, tea.Cmd) {
	cmd := m.appendStep(step.Number, stepFailedMark, fmt.Sprintf("failure of step %d", step.Number),
		incident.StepFailed{Procedure: incident.Ref(m.steps.proc), Step: step.Number, Text: step.Text, Note: note})
	m.form = &form{kind: formFailDeclare, title: fmt.Sprintf("%s step %d failed", m.steps.proc.ID, step.Number),
		fields: []field{newYesNoField("Declare an incident from this failure? (the two are linked)")},
		data:   fmt.Sprintf("%s step %d failed: %s", m.steps.proc.ID, step.Number, note)}
	return m, cmd
}

// historyView shows the last runs at a glance: ✓ done, - skipped, ✗ failed.
func (m Model) historyView(width int) []string {
	st := m.styles
	if len(m.history) == 0 {
		return nil
	}
	lines := []string{st.Title.Render("Last runs")}
	total := 0
	if m.steps.proc != nil {
		total = len(m.steps.proc.Steps)
	}
	for _, r := range m.history {
		bar := strings.Repeat("✓", r.Done) + strings.Repeat("-", r.Skipped) + strings.Repeat("✗", r.Failed) + strings.Repeat("·", max(0, total-r.Done-r.Skipped-r.Failed))
		lines = append(lines, truncate(fmt.Sprintf("%s %s %s", incident.ShortID(r.Run), r.Started.Local().Format("01-02 15:04"), bar), width))
	}
	return lines
}
