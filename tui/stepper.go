package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

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
	// stepProven: no step entry, but the record already shows the step
	// done (the declaration for "declare the severity").
	stepProven
)

// stepper is the checklist pane. It walks a stack of procedures: the
// first-response checklist at the bottom and each procedure followed since
// above it, so following the specific runbook never drops the unfinished
// first-response steps. What is done comes from the timeline (step
// entries citing the procedure's hash, and entries that prove a step by
// themselves), so two operators on one incident see the same progress.
type stepper struct {
	c             *common
	width, height int
	focused       bool
	now           time.Time

	// stack holds the procedures walked, the newest followed last.
	stack []*runbook.Procedure
	// proc and cursor are the step under the cursor.
	proc   *runbook.Procedure
	cursor int
	// marks: procedure hash -> step number -> mark.
	marks map[string]map[int]stepMark
	// proofs: procedure hash -> step number -> the entry proving it.
	proofs map[string]map[int]incident.StepProof
	// evidence holds the entries proofs are read from (ProofKinds).
	evidence []incident.Entry

	pausing    bool
	pauseFrom  time.Time
	pauseUntil time.Time

	// routine is set while a routine run is walked: f records a failure,
	// nothing is proven by other entries, and the last runs show below.
	routine bool
	history []incident.RunSummary
}

// stepUndo names a step mark to take back.
type stepUndo struct {
	hash string
	step int
}

// stepRow is one step on screen.
type stepRow struct {
	proc *runbook.Procedure
	i    int // index into proc.Steps
}

func newStepper(c *common) stepper {
	return stepper{c: c, marks: map[string]map[int]stepMark{}, proofs: map[string]map[int]incident.StepProof{}}
}

func (s *stepper) SetSize(w, h int) { s.width, s.height = w, h }

// reset empties the stepper for another incident.
func (s *stepper) reset(marks map[string]map[int]stepMark, evidence []incident.Entry, routine bool) {
	if marks == nil {
		marks = map[string]map[int]stepMark{}
	}
	s.stack, s.proc, s.cursor = nil, nil, 0
	s.marks, s.evidence, s.routine = marks, evidence, routine
	s.proofs = map[string]map[int]incident.StepProof{}
	s.history = nil
}

// open puts p on top of the stack (where it already is, it moves there)
// and puts the cursor on its first open step.
func (s *stepper) open(p *runbook.Procedure) {
	s.stack = slices.DeleteFunc(s.stack, func(q *runbook.Procedure) bool { return q == p })
	s.stack = append(s.stack, p)
	s.prove(p)
	s.proc = p
	s.cursor = s.firstOpenIn(p)
}

// walking reports whether p is on the stack.
func (s *stepper) walking(p *runbook.Procedure) bool { return slices.Contains(s.stack, p) }

// top is the procedure followed last (nil with none).
func (s *stepper) top() *runbook.Procedure {
	if len(s.stack) == 0 {
		return nil
	}
	return s.stack[len(s.stack)-1]
}

// prove ticks the steps of p the record already shows done.
func (s *stepper) prove(p *runbook.Procedure) {
	if s.routine || p.Kind == runbook.Routine {
		return
	}
	s.proofs[p.Hash] = incident.ProveSteps(p, s.evidence)
}

// current is the text of the step under the cursor ("" with none).
func (s *stepper) current() string {
	if s.proc == nil || s.cursor >= len(s.proc.Steps) {
		return ""
	}
	return s.proc.Steps[s.cursor].Text
}

// markOf is how step n of p stands.
func (s *stepper) markOf(p *runbook.Procedure, n int) stepMark {
	if p == nil {
		return stepOpen
	}
	if mk := s.marks[p.Hash][n]; mk != stepOpen {
		return mk
	}
	if _, ok := s.proofs[p.Hash][n]; ok {
		return stepProven
	}
	return stepOpen
}

func (s *stepper) mark(n int) stepMark { return s.markOf(s.proc, n) }

func (s *stepper) firstOpenIn(p *runbook.Procedure) int {
	for i := range p.Steps {
		if s.markOf(p, i+1) == stepOpen {
			return i
		}
	}
	return max(0, len(p.Steps)-1)
}

// rows lists the steps on screen, the newest procedure first: all of its
// steps, then the steps still open in the procedures below it.
func (s *stepper) rows() []stepRow {
	var out []stepRow
	for level := len(s.stack) - 1; level >= 0; level-- {
		p := s.stack[level]
		for i := range p.Steps {
			if level == len(s.stack)-1 || s.markOf(p, i+1) == stepOpen || (p == s.proc && i == s.cursor) {
				out = append(out, stepRow{p, i})
			}
		}
	}
	return out
}

// at is the index of the cursor's row.
func (s *stepper) at(rows []stepRow) int {
	for i, r := range rows {
		if r.proc == s.proc && r.i == s.cursor {
			return i
		}
	}
	return 0
}

// advance moves the cursor to the first open step, the newest procedure
// first.
func (s *stepper) advance() {
	for level := len(s.stack) - 1; level >= 0; level-- {
		p := s.stack[level]
		for i := range p.Steps {
			if s.markOf(p, i+1) == stepOpen {
				s.proc, s.cursor = p, i
				return
			}
		}
	}
}

// progress counts the done steps of the procedure under the cursor.
func (s *stepper) progress() (done, total int) {
	return s.progressOf(s.proc)
}

func (s *stepper) progressOf(p *runbook.Procedure) (done, total int) {
	if p == nil {
		return 0, 0
	}
	for i := range p.Steps {
		if s.markOf(p, i+1) != stepOpen {
			done++
		}
	}
	return done, len(p.Steps)
}

// stepKinds are the entry types that mark steps or name the procedures
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

// isProofKind reports whether entries of type t can prove steps.
func isProofKind(t string) bool { return slices.Contains(incident.ProofKinds(), t) }

// record applies newly polled events.
func (s *stepper) record(events []incident.Entry) {
	before := s.mark(s.cursor + 1)
	reprove := false
	for _, e := range events {
		recordStep(s.marks, e)
		if isProofKind(e.Type) {
			s.evidence = append(s.evidence, e)
			reprove = true
		}
	}
	if reprove {
		for _, p := range s.stack {
			s.prove(p)
		}
	}
	if before == stepOpen && s.mark(s.cursor+1) != stepOpen {
		s.advance()
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
	var first *runbook.Procedure
	if len(s.stack) > 0 {
		first = s.stack[0]
	}
	if first != nil && len(first.Steps) > 0 && strings.HasPrefix(strings.ToLower(first.Steps[0].Text), "pause") {
		step := first.Steps[0]
		if skipped {
			return s.appendStepOf(first, 1, stepSkippedMark, "pause skipped", incident.StepSkipped{Procedure: incident.Ref(first), Step: 1, Text: step.Text, Reason: fmt.Sprintf("pause skipped after %s", took)})
		}
		return s.appendStepOf(first, 1, stepChecked, "pause taken", incident.StepChecked{Procedure: incident.Ref(first), Step: 1, Text: step.Text})
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
			s.advance()
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
	case key.Matches(msg, k.Up), key.Matches(msg, k.Down):
		rows := s.rows()
		i := s.at(rows)
		if key.Matches(msg, k.Up) && i > 0 {
			i--
		} else if key.Matches(msg, k.Down) && i < len(rows)-1 {
			i++
		}
		s.proc, s.cursor = rows[i].proc, rows[i].i
		return nil
	}
	step := s.proc.Steps[s.cursor]
	switch {
	case key.Matches(msg, k.Approve):
		return s.approveForm(step)
	case key.Matches(msg, k.Check), key.Matches(msg, k.Skip), key.Matches(msg, k.Fail) && s.routine:
	default:
		return nil
	}
	if s.pausing && key.Matches(msg, k.Check) {
		s.c.post(statusMsg{text: "pausing: read the alert again (x skips the pause, and the skip is recorded)"})
		return nil
	}
	switch mk := s.mark(step.Number); {
	case mk == stepProven:
		pr := s.proofs[s.proc.Hash][step.Number]
		s.c.post(statusMsg{text: fmt.Sprintf("step %d is already shown done by #%d (%s)", step.Number, pr.Seq, pr.Kind)})
		return nil
	case mk != stepOpen:
		s.c.post(statusMsg{text: fmt.Sprintf("step %d is already recorded", step.Number)})
		return nil
	}
	switch {
	case key.Matches(msg, k.Check):
		if missing := s.missingGates(step); len(missing) > 0 {
			s.c.post(statusMsg{text: fmt.Sprintf("step %d needs step(s) %s done first", step.Number, strings.Trim(fmt.Sprint(missing), "[]")), err: true})
			return nil
		}
		return s.appendStep(step.Number, stepChecked, fmt.Sprintf("%s step %d", s.proc.ID, step.Number), incident.StepChecked{Procedure: incident.Ref(s.proc), Step: step.Number, Text: step.Text})
	case key.Matches(msg, k.Fail):
		s.c.post(openFormMsg{&form{kind: formFail, title: fmt.Sprintf("%s step %d failed", s.proc.ID, step.Number), data: step,
			fields: []field{newTextField(s.c.styles, "What failed? (required, recorded)", "disk at 91% on node 3", false)}}})
	case key.Matches(msg, k.Skip):
		s.c.post(openFormMsg{&form{kind: formSkip, title: fmt.Sprintf("Skip %s step %d", s.proc.ID, step.Number), data: stepOf{s.proc, step},
			fields: []field{newTextField(s.c.styles, "Why is this step skipped? (required, recorded)", "reason", false)}}})
	}
	return nil
}

// approveForm asks for the key to sign an approval of step with; the
// application layer decides whether it counts (role, requester, window,
// allowed signers, the steps it needs) and says why not.
func (s *stepper) approveForm(step runbook.Step) tea.Cmd {
	if step.Approval == nil {
		s.c.post(statusMsg{text: fmt.Sprintf("%s step %d needs no approval", s.proc.ID, step.Number)})
		return nil
	}
	if s.c.writer.incident == "" {
		s.c.post(statusMsg{text: noIncident})
		return nil
	}
	title := fmt.Sprintf("Approve %s step %d as %s (signed with your SSH key)", s.proc.ID, step.Number, step.Approval.Role)
	ask := newTextField(s.c.styles, "Private key file to sign with (empty: the key in your ssh-agent)", "~/.ssh/id_ed25519", true)
	if s.c.sessionKey != nil {
		// Served: the key this session logged in with is the proof.
		title = fmt.Sprintf("Approve %s step %d as %s (proven by this session's key)", s.proc.ID, step.Number, step.Approval.Role)
		ask = newYesNoField(fmt.Sprintf("Approve: %s", termsafe.EscapeLine(truncateWords(step.Text, 200))))
	}
	s.c.post(openFormMsg{&form{kind: formApprove, title: title, data: stepOf{s.proc, step}, fields: []field{ask}}})
	return nil
}

// stepOf is a step with its procedure (what a skip form records).
type stepOf struct {
	proc *runbook.Procedure
	step runbook.Step
}

// appendStep marks step n of the procedure under the cursor.
func (s *stepper) appendStep(n int, mk stepMark, what string, payload incident.Payload) tea.Cmd {
	return s.appendStepOf(s.proc, n, mk, what, payload)
}

// appendStepOf marks step n of p at once, before the ledger answers, so
// quick keystrokes walk on to the next step instead of recording one
// twice, and queues the append; if it fails, the mark is taken back.
func (s *stepper) appendStepOf(p *runbook.Procedure, n int, mk stepMark, what string, payload incident.Payload) tea.Cmd {
	if s.c.writer.incident == "" || p == nil {
		s.c.post(statusMsg{text: noIncident})
		return nil
	}
	if s.marks[p.Hash] == nil {
		s.marks[p.Hash] = map[int]stepMark{}
	}
	s.marks[p.Hash][n] = mk
	if p == s.proc && s.cursor == n-1 {
		s.advance()
	}
	return s.c.writer.append(what, payload, &stepUndo{hash: p.Hash, step: n}, nil)
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
	if s.proc != nil && s.cursor < len(s.proc.Steps) && s.proc.Steps[s.cursor].Approval != nil {
		out = append(out, k.Approve)
	}
	if s.routine {
		out = append(out, k.Fail)
	}
	if s.pausing {
		out = append(out, k.SkipPause)
	}
	return out
}

func (s *stepper) FullHelp() [][]key.Binding { return [][]key.Binding{s.ShortHelp()} }

// View draws the newest procedure's steps and, below, the steps still
// open in the ones under it. The current step is marked ▶ and shown whole,
// with its sub-points; the others take one line each.
func (s *stepper) View() string {
	st := s.c.styles
	width, height := s.width, s.height
	if len(s.stack) == 0 {
		return st.Muted.Render(wrap("No checklist open. Declare an incident (D) to walk the first-response checklist, or pick a procedure in the library and press L.", width))
	}
	top := s.top()
	done, total := s.progressOf(top)
	head := []string{st.Title.Render(truncate(termsafe.EscapeLine(fmt.Sprintf("%s %s", top.ID, top.Title)), width)),
		st.Muted.Render(truncate(fmt.Sprintf("progress %d/%d · v%d · sha256 %s", done, total, top.Version, top.Hash[:12]), width))}
	if s.pausing {
		left := max(0, s.pauseUntil.Sub(s.now).Round(time.Second))
		head = append(head, truncate(st.Overdue.Render(fmt.Sprintf(" PAUSE %2ds ", int(left.Seconds())))+" hands off, read the alert again · x skips", width))
	}
	rows := s.rows()
	at := s.at(rows)
	// One block of lines per row: the current one wrapped whole.
	blocks := make([][]string, len(rows))
	var prev *runbook.Procedure = top
	for i, r := range rows {
		var block []string
		if r.proc != prev {
			d, t := s.progressOf(r.proc)
			block = append(block, st.Muted.Render(truncate(termsafe.EscapeLine(fmt.Sprintf("── %s still open (%d of %d done) ──", r.proc.ID, d, t)), width)))
			prev = r.proc
		}
		blocks[i] = append(block, s.stepLines(r, i == at, width)...)
	}
	// Show the window of rows around the cursor that fits.
	room := height - len(head)
	start, end := at, at+1
	used := len(blocks[at])
	for grew := true; grew; {
		grew = false
		if end < len(blocks) && used+len(blocks[end]) <= room {
			used += len(blocks[end])
			end++
			grew = true
		}
		if start > 0 && used+len(blocks[start-1]) <= room && (end-at > at-start || end == len(blocks)) {
			start--
			used += len(blocks[start])
			grew = true
		}
	}
	lines := head
	for _, b := range blocks[start:end] {
		lines = append(lines, b...)
	}
	if s.routine {
		if hist := s.historyView(width); len(hist) > 0 && len(lines)+len(hist)+1 <= height {
			lines = append(append(lines, ""), hist...)
		}
	}
	if len(lines) > height {
		lines = lines[:max(0, height)]
	}
	return strings.Join(lines, "\n")
}

// stepLines draws one step: a line, or for the current step its whole text
// and sub-points.
func (s *stepper) stepLines(r stepRow, current bool, width int) []string {
	st := s.c.styles
	step := r.proc.Steps[r.i]
	box, style := "[ ]", st.Plain
	switch s.markOf(r.proc, step.Number) {
	case stepChecked:
		box, style = "[x]", st.StepDone
	case stepProven:
		box, style = "[x]", st.StepDone
	case stepSkippedMark:
		box, style = "[-]", st.StepSkipped
	case stepFailedMark:
		box, style = "[✗]", st.Error
	}
	suffix := ""
	if pr, ok := s.proofs[r.proc.Hash][step.Number]; ok && s.marks[r.proc.Hash][step.Number] == stepOpen {
		suffix = fmt.Sprintf(" (#%d)", pr.Seq)
	}
	if len(step.Requires) > 0 {
		suffix += " ⛓"
	}
	text := termsafe.EscapeLine(fmt.Sprintf("%s %d. %s%s", box, step.Number, step.Text, suffix))
	if !current {
		return []string{" " + style.Render(truncate(text, width-1))}
	}
	var out []string
	for i, l := range strings.Split(wrap(text, width-2), "\n") {
		prefix := "  "
		if i == 0 {
			prefix = st.Title.Render("▶") + " "
		}
		out = append(out, prefix+st.StepCurrent.Render(truncate(l, width-2)))
	}
	if step.Detail != "" {
		for _, d := range strings.Split(step.Detail, "\n") {
			if d = strings.TrimSpace(d); d == "" {
				continue
			}
			for _, l := range strings.Split(wrap(termsafe.EscapeLine(d), width-6), "\n") {
				out = append(out, "      "+st.Muted.Render(truncate(l, width-6)))
			}
		}
	}
	return out
}
