package tui

import (
	"context"
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

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

// canRun says whether a run of p may start; when not, the status line
// says why.
func (m *Model) canRun(p *runbook.Procedure) bool {
	if !m.c.ledger() {
		m.setStatus(noLedger)
		return false
	}
	if p.Kind != runbook.Routine {
		m.setStatus(p.ID + " is not a routine: W walks routines (green); D declares an incident")
		return false
	}
	return true
}

// startRun declares a run of routine p (at the book's mildest severity,
// which carries no requirements) and opens it.
func (m *Model) startRun(p *runbook.Procedure) tea.Cmd {
	if !m.canRun(p) {
		return nil
	}
	ctx, l, actor := m.c.ctx, m.c.svc, m.c.actor
	m.mode = routineMode
	m.setStatus("starting a run of " + p.ID + "…")
	return func() tea.Msg {
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
func (m *Model) failStep(step runbook.Step, note string) tea.Cmd {
	s := &m.steps
	cmd := s.appendStep(step.Number, stepFailedMark, fmt.Sprintf("failure of step %d", step.Number),
		incident.StepFailed{Procedure: incident.Ref(s.proc), Step: step.Number, Text: step.Text, Note: note})
	m.form = &form{kind: formFailDeclare, title: fmt.Sprintf("%s step %d failed", s.proc.ID, step.Number),
		fields: []field{newYesNoField("Declare an incident from this failure? (the two are linked)")},
		data:   fmt.Sprintf("%s step %d failed: %s", s.proc.ID, step.Number, note)}
	return cmd
}

// historyView shows the last runs at a glance, one glyph per step in the
// procedure's order: ✓ done, - skipped, ✗ failed, · not recorded.
func (s *stepper) historyView(width int) []string {
	st := s.c.styles
	if len(s.history) == 0 {
		return nil
	}
	lines := []string{st.Title.Render("Last runs")}
	total := 0
	if s.proc != nil {
		total = len(s.proc.Steps)
	}
	glyph := map[string]string{"checked": "✓", "skipped": "-", "failed": "✗"}
	for _, r := range s.history {
		var bar strings.Builder
		for n := 1; n <= total; n++ {
			g, ok := glyph[r.Steps[n]]
			if !ok {
				g = "·"
			}
			bar.WriteString(g)
		}
		lines = append(lines, truncate(fmt.Sprintf("%s %s %s", incident.ShortID(r.Run), r.Started.Local().Format("01-02 15:04"), bar.String()), width))
	}
	return lines
}
