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

// stepMark is how a step stands on the timeline.
type stepMark int

const (
	stepOpen stepMark = iota
	stepChecked
	stepSkippedMark
	stepFailedMark
)

// stepper is the checklist pane: it walks one procedure's steps. What is
// done comes from the timeline (step_checked / step_skipped events citing
// the procedure's hash), so two operators on one incident see the same
// progress.
type stepper struct {
	c             *common
	width, height int
	focused       bool
	now           time.Time

	proc   *runbook.Procedure
	cursor int
	// marks: procedure hash -> step number -> mark.
	marks      map[string]map[int]stepMark
	pausing    bool
	pauseFrom  time.Time
	pauseUntil time.Time

	// routine is set while a routine run is walked: f records a failure
	// and the last runs show below the steps.
	routine bool
	history []incident.RunSummary
}

// stepUndo names a step mark to take back.
type stepUndo struct {
	hash string
	step int
}

func newStepper(c *common) stepper { return stepper{c: c} }

func (s *stepper) SetSize(w, h int) { s.width, s.height = w, h }

func (s *stepper) open(p *runbook.Procedure) {
	s.proc = p
	s.cursor = s.firstOpen()
}

// current is the step under the cursor ("" with no procedure).
func (s *stepper) current() string {
	if s.proc == nil || s.cursor >= len(s.proc.Steps) {
		return ""
	}
	return s.proc.Steps[s.cursor].Text
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

// tick moves the clock on and ends the pause when its time is up.
func (s *stepper) tick(now time.Time) tea.Cmd {
	s.now = now
	if s.pausing && !now.Before(s.pauseUntil) {
		return s.endPause(false)
	}
	return nil
}

// endPause records how the opening pause ended: taken in full, or skipped.
func (s *stepper) endPause(skipped bool) tea.Cmd {
	s.pausing = false
	took := s.now.Sub(s.pauseFrom).Round(time.Second)
	if s.proc != nil && len(s.proc.Steps) > 0 && strings.HasPrefix(strings.ToLower(s.proc.Steps[0].Text), "pause") {
		step := s.proc.Steps[0]
		if skipped {
			return s.appendStep(1, stepSkippedMark, "pause skipped", incident.StepSkipped{Procedure: incident.Ref(s.proc), Step: 1, Text: step.Text, Reason: fmt.Sprintf("pause skipped after %s", took)})
		}
		return s.appendStep(1, stepChecked, "pause taken", incident.StepChecked{Procedure: incident.Ref(s.proc), Step: 1, Text: step.Text})
	}
	if skipped {
		return s.c.writer.append("pause skipped", incident.Note{Text: fmt.Sprintf("first-response pause skipped after %s", took)}, nil, nil)
	}
	return s.c.writer.append("pause taken", incident.Note{Text: "first-response pause of 30s taken"}, nil, nil)
}

func (s *stepper) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case appendedMsg:
		if u := msg.undo; u != nil && msg.err != nil {
			delete(s.marks[u.hash], u.step)
			s.cursor = s.firstOpen()
		}
		return nil
	case tea.KeyMsg:
		return s.key(msg)
	}
	return nil
}

func (s *stepper) key(msg tea.KeyMsg) tea.Cmd {
	k := s.c.keys
	if key.Matches(msg, k.SkipPause) && s.pausing {
		return s.endPause(true)
	}
	if s.proc == nil || len(s.proc.Steps) == 0 {
		return nil
	}
	switch {
	case key.Matches(msg, k.Up):
		if s.cursor > 0 {
			s.cursor--
		}
	case key.Matches(msg, k.Down):
		if s.cursor < len(s.proc.Steps)-1 {
			s.cursor++
		}
	case key.Matches(msg, k.Check):
		if s.pausing {
			s.c.post(statusMsg{text: "pausing: read the alert again (x skips the pause, and the skip is recorded)"})
			return nil
		}
		step := s.proc.Steps[s.cursor]
		if s.mark(step.Number) != stepOpen {
			s.c.post(statusMsg{text: fmt.Sprintf("step %d is already recorded", step.Number)})
			return nil
		}
		if missing := s.missingGates(step); len(missing) > 0 {
			s.c.post(statusMsg{text: fmt.Sprintf("step %d needs step(s) %s done first", step.Number, strings.Trim(fmt.Sprint(missing), "[]")), err: true})
			return nil
		}
		return s.appendStep(step.Number, stepChecked, fmt.Sprintf("%s step %d", s.proc.ID, step.Number), incident.StepChecked{Procedure: incident.Ref(s.proc), Step: step.Number, Text: step.Text})
	case key.Matches(msg, k.Fail) && s.routine:
		step := s.proc.Steps[s.cursor]
		if s.mark(step.Number) != stepOpen {
			s.c.post(statusMsg{text: fmt.Sprintf("step %d is already recorded", step.Number)})
			return nil
		}
		s.c.post(openFormMsg{&form{kind: formFail, title: fmt.Sprintf("%s step %d failed", s.proc.ID, step.Number), data: step,
			fields: []field{newTextField(s.c.styles, "What failed? (required, recorded)", "disk at 91% on node 3", false)}}})
	case key.Matches(msg, k.Skip):
		step := s.proc.Steps[s.cursor]
		if s.mark(step.Number) != stepOpen {
			s.c.post(statusMsg{text: fmt.Sprintf("step %d is already recorded", step.Number)})
			return nil
		}
		s.c.post(openFormMsg{&form{kind: formSkip, title: fmt.Sprintf("Skip %s step %d", s.proc.ID, step.Number), data: step,
			fields: []field{newTextField(s.c.styles, "Why is this step skipped? (required, recorded)", "reason", false)}}})
	}
	return nil
}

// appendStep marks step n at once, before the ledger answers, so quick
// keystrokes walk on to the next step instead of recording one twice, and
// queues the append; if it fails, the mark is taken back.
func (s *stepper) appendStep(n int, mk stepMark, what string, payload incident.Payload) tea.Cmd {
	if s.c.writer.incident == "" || s.proc == nil {
		s.c.post(statusMsg{text: noIncident})
		return nil
	}
	if s.marks == nil {
		s.marks = map[string]map[int]stepMark{}
	}
	if s.marks[s.proc.Hash] == nil {
		s.marks[s.proc.Hash] = map[int]stepMark{}
	}
	s.marks[s.proc.Hash][n] = mk
	s.cursor = s.firstOpen()
	return s.c.writer.append(what, payload, &stepUndo{hash: s.proc.Hash, step: n}, nil)
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

func (s *stepper) ShortHelp() []key.Binding {
	k := s.c.keys
	out := []key.Binding{k.Check, k.Skip}
	if s.routine {
		out = append(out, k.Fail)
	}
	if s.pausing {
		out = append(out, k.SkipPause)
	}
	return out
}

func (s *stepper) FullHelp() [][]key.Binding { return [][]key.Binding{s.ShortHelp()} }

func (s *stepper) View() string {
	st := s.c.styles
	width, height := s.width, s.height
	if s.proc == nil {
		return st.Muted.Render(wrap("No checklist open. Declare an incident (D) to walk the first-response checklist, or pick a procedure in the library and press L.", width))
	}
	done, total := s.progress()
	lines := []string{st.Title.Render(truncate(termsafe.EscapeLine(fmt.Sprintf("%s %s", s.proc.ID, s.proc.Title)), width)),
		st.Muted.Render(fmt.Sprintf("progress %d/%d · v%d · sha256 %s", done, total, s.proc.Version, s.proc.Hash[:12]))}
	if s.pausing {
		left := max(0, s.pauseUntil.Sub(s.now).Round(time.Second))
		lines = append(lines, st.Overdue.Render(fmt.Sprintf(" PAUSE %2ds ", int(left.Seconds())))+" hands off, read the alert again · x skips")
	}
	rows := height - len(lines)
	start := max(0, min(s.cursor-rows/2, len(s.proc.Steps)-rows))
	for i := start; i < len(s.proc.Steps) && len(lines) < height; i++ {
		step := s.proc.Steps[i]
		box := "[ ]"
		style := st.Muted
		switch s.mark(step.Number) {
		case stepChecked:
			box, style = "[x]", st.StepDone
		case stepSkippedMark:
			box, style = "[-]", st.StepSkipped
		case stepFailedMark:
			box, style = "[✗]", st.Error
		default:
			style = lipgloss.NewStyle()
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
	if s.routine {
		if hist := s.historyView(width); len(hist) > 0 && len(lines)+len(hist)+1 <= height {
			lines = append(append(lines, ""), hist...)
		}
	}
	return strings.Join(lines, "\n")
}
