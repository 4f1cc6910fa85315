package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/runbook"
)

// pauseLength is the pause that opens the first-response checklist.
const pauseLength = 30 * time.Second

// stepper walks one procedure's steps. What is done comes from the
// timeline (step_checked / step_skipped events citing the procedure's
// hash), so two operators on one incident see the same progress.
type stepper struct {
	proc   *runbook.Procedure
	cursor int
	// marks: procedure hash -> step number -> mark.
	marks      map[string]map[int]stepMark
	pausing    bool
	pauseFrom  time.Time
	pauseUntil time.Time
}

func (s *stepper) open(p *runbook.Procedure) {
	s.proc = p
	s.cursor = s.firstOpen()
}

func (s *stepper) mark(n int) stepMark {
	if s.proc == nil {
		return stepOpen
	}
	return s.marks[s.proc.Hash][n]
}

func (s *stepper) firstOpen() int {
	if s.proc == nil {
		return 0
	}
	for i := range s.proc.Steps {
		if s.mark(i+1) == stepOpen {
			return i
		}
	}
	return max(0, len(s.proc.Steps)-1)
}

func (s *stepper) progress() (done, total int) {
	if s.proc == nil {
		return 0, 0
	}
	for i := range s.proc.Steps {
		if s.mark(i+1) != stepOpen {
			done++
		}
	}
	return done, len(s.proc.Steps)
}

// stepKinds are the entry types that mark steps or name the procedure
// being followed.
var stepKinds = []string{
	incident.StepChecked{}.Kind(), incident.StepSkipped{}.Kind(), incident.StepFailed{}.Kind(),
	incident.RunbookLink{}.Kind(), incident.Declared{}.Kind(),
}

// recordStep applies one entry to marks; it returns the id of a procedure
// the entry says is being followed ("" otherwise).
func recordStep(marks map[string]map[int]stepMark, e incident.Entry) string {
	set := func(hash string, step int, mk stepMark) {
		if marks[hash] == nil {
			marks[hash] = map[int]stepMark{}
		}
		marks[hash][step] = mk
	}
	switch p := e.Payload.(type) {
	case incident.StepChecked:
		set(p.Procedure.Hash, p.Step, stepChecked)
	case incident.StepSkipped:
		set(p.Procedure.Hash, p.Step, stepSkippedMark)
	case incident.StepFailed:
		set(p.Procedure.Hash, p.Step, stepFailedMark)
	case incident.RunbookLink:
		return p.Procedure.ID
	case incident.Declared:
		if p.Runbook != nil {
			return p.Runbook.ID
		}
	}
	return ""
}

// record applies newly polled events.
func (s *stepper) record(events []incident.Entry) {
	if s.marks == nil {
		s.marks = map[string]map[int]stepMark{}
	}
	before := s.mark(s.cursor + 1)
	for _, e := range events {
		recordStep(s.marks, e)
	}
	if before == stepOpen && s.mark(s.cursor+1) != stepOpen {
		s.cursor = s.firstOpen()
	}
}

func (s *stepper) startPause(now time.Time) {
	s.pausing, s.pauseFrom, s.pauseUntil = true, now, now.Add(pauseLength)
}

// endPause records how the opening pause ended: taken in full, or skipped.
func (m *Model) endPause(skipped bool) tea.Cmd {
	s := &m.steps
	s.pausing = false
	took := m.now.Sub(s.pauseFrom).Round(time.Second)
	if s.proc != nil && len(s.proc.Steps) > 0 && strings.HasPrefix(strings.ToLower(s.proc.Steps[0].Text), "pause") {
		step := s.proc.Steps[0]
		if skipped {
			return m.appendStep(1, stepSkippedMark, "pause skipped", incident.StepSkipped{Procedure: incident.Ref(s.proc), Step: 1, Text: step.Text, Reason: fmt.Sprintf("pause skipped after %s", took)})
		}
		return m.appendStep(1, stepChecked, "pause taken", incident.StepChecked{Procedure: incident.Ref(s.proc), Step: 1, Text: step.Text})
	}
	if skipped {
		return m.appendCmd("pause skipped", incident.Note{Text: fmt.Sprintf("first-response pause skipped after %s", took)})
	}
	return m.appendCmd("pause taken", incident.Note{Text: "first-response pause of 30s taken"})
}

func (m Model) stepsKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	s := &m.steps
	if key.Matches(msg, k.SkipPause) && s.pausing {
		return m, m.endPause(true)
	}
	if s.proc == nil || len(s.proc.Steps) == 0 {
		return m, nil
	}
	switch {
	case key.Matches(msg, k.Up):
		if s.cursor > 0 {
			s.cursor--
		}
		m.locateStep()
	case key.Matches(msg, k.Down):
		if s.cursor < len(s.proc.Steps)-1 {
			s.cursor++
		}
		m.locateStep()
	case key.Matches(msg, k.Check):
		if s.pausing {
			m.setStatus("pausing: read the alert again (x skips the pause, and the skip is recorded)")
			return m, nil
		}
		step := s.proc.Steps[s.cursor]
		if s.mark(step.Number) != stepOpen {
			m.setStatus(fmt.Sprintf("step %d is already recorded", step.Number))
			return m, nil
		}
		if missing := s.missingGates(step); len(missing) > 0 {
			m.setError(fmt.Errorf("step %d needs step(s) %s done first", step.Number, strings.Trim(fmt.Sprint(missing), "[]")))
			return m, nil
		}
		return m, m.appendStep(step.Number, stepChecked, fmt.Sprintf("%s step %d", s.proc.ID, step.Number), incident.StepChecked{Procedure: incident.Ref(s.proc), Step: step.Number, Text: step.Text})
	case key.Matches(msg, k.Fail) && m.incident != nil && m.incident.Kind == "routine":
		step := s.proc.Steps[s.cursor]
		if s.mark(step.Number) != stepOpen {
			m.setStatus(fmt.Sprintf("step %d is already recorded", step.Number))
			return m, nil
		}
		m.form = &form{kind: formFail, title: fmt.Sprintf("%s step %d failed", s.proc.ID, step.Number), data: step,
			fields: []field{newTextField("What failed? (required, recorded)", "disk at 91% on node 3", false)}}
		return m, m.form.focus()
	case key.Matches(msg, k.Skip):
		step := s.proc.Steps[s.cursor]
		if s.mark(step.Number) != stepOpen {
			m.setStatus(fmt.Sprintf("step %d is already recorded", step.Number))
			return m, nil
		}
		m.form = &form{kind: formSkip, title: fmt.Sprintf("Skip %s step %d", s.proc.ID, step.Number), data: step,
			fields: []field{newTextField("Why is this step skipped? (required, recorded)", "reason", false)}}
		return m, m.form.focus()
	}
	return m, nil
}

// appendStep marks step n at once, before the ledger answers, so quick
// keystrokes walk on to the next step instead of recording one twice, and
// queues the append; if it fails, the mark is taken back.
func (m *Model) appendStep(n int, mk stepMark, what string, payload incident.Payload) tea.Cmd {
	s := &m.steps
	if m.incident == nil || s.proc == nil {
		return m.appendCmd(what, payload) // says why nothing is recorded
	}
	if s.marks == nil {
		s.marks = map[string]map[int]stepMark{}
	}
	if s.marks[s.proc.Hash] == nil {
		s.marks[s.proc.Hash] = map[int]stepMark{}
	}
	s.marks[s.proc.Hash][n] = mk
	s.cursor = s.firstOpen()
	m.locateStep()
	return m.enqueue(m.rawAppend(what, payload, &stepUndo{hash: s.proc.Hash, step: n}))
}

// stepUndo names a step mark to take back.
type stepUndo struct {
	hash string
	step int
}

// missingGates lists the steps a gated step still waits for.
func (s *stepper) missingGates(step runbook.Step) []int {
	var missing []int
	for _, r := range step.Requires {
		if s.mark(r) != stepChecked {
			missing = append(missing, r)
		}
	}
	return missing
}

func (m Model) stepsView(width, height int) string {
	s := &m.steps
	st := m.styles
	if s.proc == nil {
		return st.Muted.Render(wrap("No checklist open. Declare an incident (D) to walk the first-response checklist, or pick a procedure in the library and press L.", width))
	}
	done, total := s.progress()
	lines := []string{st.Title.Render(truncate(termsafe.EscapeLine(fmt.Sprintf("%s %s", s.proc.ID, s.proc.Title)), width)),
		st.Muted.Render(fmt.Sprintf("progress %d/%d · v%d · sha256 %s", done, total, s.proc.Version, s.proc.Hash[:12]))}
	if s.pausing {
		left := max(0, s.pauseUntil.Sub(m.now).Round(time.Second))
		lines = append(lines, st.Overdue.Render(fmt.Sprintf(" PAUSE %2ds ", int(left.Seconds())))+" hands off, read the alert again · x skips")
	}
	rows := height - len(lines)
	start := max(0, min(s.cursor-rows/2, len(s.proc.Steps)-rows))
	for i := start; i < len(s.proc.Steps) && len(lines) < height; i++ {
		step := s.proc.Steps[i]
		box, style := "[ ]", lipgloss.NewStyle()
		switch s.mark(step.Number) {
		case stepChecked:
			box, style = "[x]", st.StepDone
		case stepSkippedMark:
			box, style = "[-]", st.StepSkipped
		case stepFailedMark:
			box, style = "[✗]", st.Error
		}
		gate := ""
		if len(step.Requires) > 0 {
			gate = " ⛓"
		}
		text := truncate(termsafe.EscapeLine(fmt.Sprintf("%s %d. %s%s", box, step.Number, step.Text, gate)), width-2)
		if i == s.cursor {
			text = st.StepCurrent.Render(text)
			lines = append(lines, "›"+text)
			continue
		}
		lines = append(lines, " "+style.Render(text))
	}
	if m.mode == routineMode {
		if hist := m.historyView(width); len(hist) > 0 && len(lines)+len(hist)+1 <= height {
			lines = append(append(lines, ""), hist...)
		}
	}
	return strings.Join(lines, "\n")
}
