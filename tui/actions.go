package tui

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/signers"
	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/runbook"
)

// startDeclare opens the declare form: a title, the book's triage
// questions one by one until the first yes (which decides), then the
// severity they suggest, to confirm or change.
func (m *Model) startDeclare() tea.Cmd {
	if !m.c.ledger() {
		m.setStatus(noLedger)
		return nil
	}
	b := m.currentBook()
	if b == nil {
		return nil
	}
	pol := b.Policy
	fields := []field{newTextField(m.c.styles, "What is wrong? (a short title)", "payments API returning 500s", false)}
	for _, q := range pol.Triage.Questions {
		yn := newYesNoField(q.Ask)
		yn.decides = true
		fields = append(fields, yn)
	}
	sevs := pol.SeverityIDs()
	fields = append(fields, newChoiceField("Severity (suggested by your answers; ←/→ to change)", sevs, 0))
	nq := len(pol.Triage.Questions)
	f := &form{kind: formDeclare, title: "Declare an incident · book " + b.ID, fields: fields, data: b}
	f.onEnter = func(f *form) {
		if f.at != nq+1 {
			return
		}
		answers := make([]bool, nq)
		for i := range answers {
			answers[i] = f.fields[i+1].answer == "yes"
		}
		suggested := pol.SuggestSeverity(answers)
		for i, s := range sevs {
			if s == suggested {
				f.fields[f.at].choice = i
			}
		}
		if d, _ := pol.Severity(suggested); d.Meaning != "" {
			f.fields[f.at].label = fmt.Sprintf("Severity: %s suggested · %s · ←/→ to change", suggested, strings.TrimSuffix(d.Meaning, "."))
		}
	}
	m.form = f
	return f.focus()
}

// startIncidentForm opens the short form behind a key that records an
// entry: S, T, A, u, E, I, C, P, X, K.
func (m *Model) startIncidentForm(msg tea.KeyMsg) tea.Cmd {
	k := m.c.keys
	if m.incident == nil {
		m.setStatus(noIncident)
		return nil
	}
	b := m.currentBook()
	if b == nil {
		m.setStatus("the incident's book " + m.incident.Book + " is not loaded")
		return nil
	}
	pol := b.Policy
	st := m.c.styles
	var f *form
	switch {
	case key.Matches(msg, k.Severity):
		var others []string
		for _, s := range pol.SeverityIDs() {
			if s != m.incident.Severity {
				others = append(others, s)
			}
		}
		f = &form{kind: formSeverity, title: "Change severity from " + m.incident.Severity, fields: []field{
			newChoiceField("New severity", others, 0), newTextField(st, "Why? (recorded)", "reason", false)}}
	case key.Matches(msg, k.State):
		next := pol.NextStates(m.incident.State)
		if len(next) == 0 {
			m.setStatus("the policy allows no move from " + m.incident.State)
			return nil
		}
		f = &form{kind: formState, title: "Move " + m.incident.Short() + " from " + m.incident.State + " (only the policy's transitions)", fields: []field{
			newChoiceField("New state", next, 0), newTextField(st, "Why? (optional)", "reason", true)}}
		closing, c := pol.ClosingState(), m.c
		f.onEnter = func(f *form) {
			// Before a reason is asked for a close, the root checks
			// what the policy still needs.
			if f.at == 1 && f.fields[0].answer == closing {
				c.post(preflightMsg{})
			}
		}
	case key.Matches(msg, k.Role):
		var roles []string
		for _, r := range pol.Roles {
			roles = append(roles, r.ID)
		}
		if len(roles) == 0 {
			roles = []string{"commander", "scribe"}
		}
		f = &form{kind: formRole, title: "Assign a role", fields: []field{
			newChoiceField("Role", roles, 0), newTextField(st, "Who?", "name", false)}}
	case key.Matches(msg, k.Update):
		f = &form{kind: formUpdate, title: "Post a status update (resets the countdown)", fields: []field{
			newTextField(st, "Update", "what is known, what is being done, next update at…", false)}}
	case key.Matches(msg, k.Evidence):
		// The file is checked when it is read, in a command: Update does
		// no I/O. A refusal brings the form back with the path typed.
		path := newTextField(st, "File path", "/var/log/service/error.log", false)
		f = &form{kind: formEvidence, title: "Attach a file as evidence (bytes kept in the ledger, up to 16 MiB)", fields: []field{
			path, newTextField(st, "What it shows (optional)", "label", true)}}
	case key.Matches(msg, k.Action):
		due := newTextField(st, "Due (YYYY-MM-DD, optional)", m.now.AddDate(0, 0, 14).Format(time.DateOnly), true)
		due.validate = dueDate
		f = &form{kind: formAction, title: "Add an action item", fields: []field{
			newTextField(st, "What needs doing?", "add an alert on 5xx rate", false),
			newTextField(st, "Owner", "name", false), due}}
	case key.Matches(msg, k.Restart):
		f = &form{kind: formRestart, title: "Sign the restart criteria: the evidence that recovery is real (\"seems fine now\" is not one)", fields: []field{
			newTextField(st, "Criteria met", "error rate at baseline for 30 minutes; queue drained", false)}}
	case key.Matches(msg, k.Postmortem):
		link := newTextField(st, "Postmortem URL", "https://wiki.example/pm/…", false)
		link.validate = webLink
		f = &form{kind: formPostmortem, title: "Link the postmortem", fields: []field{link, newTextField(st, "Title (optional)", "", true)}}
	case key.Matches(msg, k.Deviation):
		f = &form{kind: formDeviation, title: "Record a deviation from the procedure being followed", fields: []field{
			newTextField(st, "What was done differently, and why?", "skipped the freeze: wallet already empty", false)}}
	case key.Matches(msg, k.Correct):
		return m.openCorrection("")
	}
	m.form = f
	return f.focus()
}

// preflightMsg asks the root to check, before a close's reason is asked,
// what the policy still needs.
type preflightMsg struct{}

// needKeys says which key records an entry type, for the close preflight.
var needKeys = map[string]string{
	(incident.Evidence{}).Kind():        "E",
	(incident.Verification{}).Kind():    "v, then e",
	(incident.RestartCriteria{}).Kind(): "C",
	(incident.PostmortemLink{}).Kind():  "P",
	(incident.StatusUpdate{}).Kind():    "u",
	(incident.RoleAssignment{}).Kind():  "A",
	(incident.Deviation{}).Kind():       "X",
	(incident.ActionItem{}).Kind():      "I",
	(incident.Note{}).Kind():            "n",
}

// showPreflight replaces the state form with what closing still needs,
// each need with the key that records it; that key opens its form.
func (m *Model) showPreflight(plan incident.ClosePlan) {
	k := m.c.keys
	st := m.incident
	lines := []string{fmt.Sprintf("%s (%s) cannot close yet. Its book's policy needs, before %s:", st.Short(), st.Severity, plan.Closing), ""}
	var keys []key.Binding
	for _, need := range plan.Needs {
		var ways []string
		for _, kind := range need.Kinds {
			w := incident.KindWords(kind)
			if key, ok := needKeys[kind]; ok {
				w += " (" + key + ")"
			}
			ways = append(ways, w)
		}
		lines = append(lines, fmt.Sprintf("✗ no %s yet: %s", need.Requirement, strings.Join(ways, ", or ")))
	}
	keys = append(keys, k.Evidence, k.Restart, k.Postmortem, k.SyncPanel)
	lines = append(lines, "", "Press a key above to record one now; esc goes back. \"Seems fine now\" is not a criterion.")
	m.form = &form{kind: formPreflight, title: "Close " + st.Short() + "? Not yet", lines: lines, keys: keys, data: plan}
}

// preflightSummary is the status line once the preflight is dismissed.
func preflightSummary(st *incident.Status, plan incident.ClosePlan) string {
	var no, keys []string
	for _, need := range plan.Needs {
		no = append(no, "no "+need.Requirement)
		for _, kind := range need.Kinds {
			if k, ok := needKeys[kind]; ok && len(k) == 1 {
				keys = append(keys, k)
				break
			}
		}
	}
	return fmt.Sprintf("%s (%s) cannot close yet: %s (%s record them)", st.Short(), st.Severity, strings.Join(no, ", "), strings.Join(keys, ", "))
}

// openCorrection opens the correction form, on entry seq when given.
func (m *Model) openCorrection(seq string) tea.Cmd {
	if m.incident == nil {
		m.setStatus(noIncident)
		return nil
	}
	st := m.c.styles
	hint := "seq"
	if e, ok := m.timeline.selected(); ok {
		hint = fmt.Sprintf("%d (the timeline's bottom row)", e.Seq)
	}
	n := newTextField(st, "Which entry? (its #seq; enter on a timeline row shows it, c there corrects it)", hint, false)
	n.input.SetValue(seq)
	last := m.incident.Events
	n.validate = func(v string) error {
		s, err := strconv.ParseInt(strings.TrimPrefix(v, "#"), 10, 64)
		if err != nil || s < 1 || s > last {
			return fmt.Errorf("entry %q: give a seq from 1 to %d (enter on a timeline row shows it)", v, last)
		}
		return nil
	}
	f := &form{kind: formCorrect, title: "Correct an entry: the correction points at it; the entry stays as written", fields: []field{
		n, newTextField(st, "What is right?", "it was relay 3, not relay 2", false)}}
	if seq != "" {
		f.fields[0].answer = seq
		f.at = 1
	}
	m.form = f
	return f.focus()
}

// dueDate checks an action item's due date as it is typed.
func dueDate(v string) error {
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return fmt.Errorf("due date %q is not YYYY-MM-DD (e.g. %s); everything typed is kept", v, time.Now().AddDate(0, 0, 14).Format(time.DateOnly))
	}
	return nil
}

// webLink checks a postmortem link.
func webLink(v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("%q is not a link (https://…)", v)
	}
	return nil
}

// submit turns a completed form into the command that records it.
func (m *Model) submit(f *form) tea.Cmd {
	a := f.answers()
	w := m.c.writer
	switch f.kind {
	case formDeclare:
		b := f.data.(*runbook.Book)
		l, actor := m.c.svc, m.c.actor
		var fr *incident.ProcedureRef
		if p, ok := m.opts.Catalog.Procedure(b.Policy.FirstResponse); ok {
			r := incident.Ref(p)
			fr = &r
			m.steps.reset(nil, nil, false)
			m.steps.open(p)
			m.reader.show(p)
			m.focus = stepsPane
		}
		d := incident.Declaration{Book: b.ID, Title: a[0], Severity: a[len(a)-1], Runbook: fr, By: actor, Key: incident.NewKey(), FromRun: m.fromRun}
		ctx := m.c.ctx
		m.setStatus("declaring…")
		m.fromRun = ""
		m.mode = respondMode
		return tea.Batch(m.reader.render(), func() tea.Msg {
			inc, _, err := l.Declare(ctx, d)
			if err == nil && d.FromRun != "" {
				// The run points at the incident too: the link goes both ways.
				_, err = l.Append(ctx, d.FromRun, actor, incident.NewKey(), incident.Note{Text: "incident " + inc.Short() + " declared from a failed step: " + d.Title})
			}
			return declaredMsg{incident: inc, err: err}
		})
	case formSeverity:
		return m.appendForm(f, "severity change", incident.SeverityChange{To: a[0], Reason: a[1]})
	case formState:
		return m.appendForm(f, "state change", incident.StateChange{To: a[0], Reason: a[1]})
	case formRole:
		return m.appendForm(f, "role", incident.RoleAssignment{Role: a[0], Name: a[1]})
	case formUpdate:
		return m.appendForm(f, "status update", incident.StatusUpdate{Text: a[0]})
	case formAction:
		return m.appendForm(f, "action item", incident.ActionItem{Text: a[0], Owner: a[1], Due: a[2]})
	case formRestart:
		return m.appendForm(f, "restart criteria", incident.RestartCriteria{Text: a[0]})
	case formPostmortem:
		return m.appendForm(f, "postmortem link", incident.PostmortemLink{URL: a[0], Text: a[1]})
	case formDeviation:
		return m.appendForm(f, "deviation", incident.Deviation{Text: a[0]})
	case formCorrect:
		seq, _ := strconv.ParseInt(strings.TrimPrefix(a[0], "#"), 10, 64)
		return m.appendForm(f, fmt.Sprintf("correction of #%d", seq), incident.Correction{Corrects: seq, Text: a[1]})
	case formActionDone:
		return m.appendForm(f, fmt.Sprintf("action item #%d done", f.data.(int64)), incident.ActionItemDone{Item: f.data.(int64), Note: a[0]})
	case formSkip:
		so := f.data.(stepOf)
		return m.steps.appendStepOf(so.proc, so.step.Number, stepSkippedMark, fmt.Sprintf("skip of step %d", so.step.Number), incident.StepSkipped{Procedure: incident.Ref(so.proc), Step: so.step.Number, Text: so.step.Text, Reason: a[0]})
	case formFail:
		return m.failStep(f.data.(runbook.Step), a[0])
	case formFailDeclare:
		if a[0] != "yes" || m.incident == nil {
			return nil
		}
		m.fromRun = m.incident.ID
		cmd := m.startDeclare()
		if m.form != nil {
			m.form.fields[0].input.SetValue(f.data.(string))
		}
		return cmd
	case formStartRun:
		if a[0] != "yes" {
			m.setStatus("no run started")
			return nil
		}
		return m.startRun(f.data.(*runbook.Procedure))
	case formOpen:
		list := f.data.([]incident.Status)
		i := f.fields[0].choice
		m.setStatus("opening " + list[i].Short() + "…")
		return loadIncident(m.c.ctx, m.c.svc, list[i].ID)
	case formSyncSource:
		return m.sync.configured(a[0], a[1])
	case formApprove:
		return m.approve(f.data.(stepOf), a[0], f)
	case formPreflight:
		m.setError(errors.New(preflightSummary(m.incident, f.data.(incident.ClosePlan))))
		return nil
	case formEvidence:
		if m.incident == nil {
			return nil
		}
		ctx, l, id, actor, key := w.ctx, w.svc, w.incident, w.actor, incident.NewKey()
		path, label := a[0], a[1]
		return w.enqueue(func() tea.Msg {
			path := expandHome(path)
			ev, err := l.AttachEvidenceFile(ctx, id, actor, key, path, label)
			if err != nil {
				return appendedMsg{incident: id, err: fmt.Errorf("evidence not attached: %w", err), form: f}
			}
			return appendedMsg{incident: id, event: ev, what: "evidence " + filepath.Base(path)}
		})
	}
	return nil
}

// appendForm records a form's entry; a refusal brings the form back with
// everything typed.
func (m *Model) appendForm(f *form, what string, payload incident.Payload) tea.Cmd {
	cmd := m.c.writer.append(what, payload, nil, f)
	if cmd == nil && m.c.writer.incident == "" {
		m.setStatus(noIncident)
	}
	return cmd
}

// confirmRun asks before a routine run starts: a run is an entry in the
// ledger, not something to start by a stray key.
func (m *Model) confirmRun(p *runbook.Procedure) tea.Cmd {
	if !m.canRun(p) {
		return nil
	}
	m.form = &form{kind: formStartRun, title: termsafe.EscapeLine("Walk " + p.ID + " " + p.Title),
		fields: []field{newYesNoField(fmt.Sprintf("Start a run of %s now? It is recorded as a routine run (its own timeline), not an incident.", p.ID))}, data: p}
	return m.form.focus()
}

func expandHome(p string) string {
	if strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[2:])
		}
	}
	return p
}

// approve signs an approval of a step with the key in keyFile (or the
// ssh-agent's) and records it, as "ic approve" does; a refusal keeps the
// form open with the reason.
func (m *Model) approve(so stepOf, keyFile string, f *form) tea.Cmd {
	// In a served console the answer is yes or no, not a key file.
	w := m.c.writer
	if w.incident == "" {
		return nil
	}
	ctx, svc, id := w.ctx, w.svc, w.incident
	what := fmt.Sprintf("approval of %s step %d", so.proc.ID, so.step.Number)
	if key := m.c.sessionKey; key != nil {
		if keyFile != "yes" {
			m.setStatus("not approved")
			return nil
		}
		actor := w.actor
		return w.enqueue(func() tea.Msg {
			ev, err := svc.ApproveInSession(ctx, id, so.proc.ID, so.step.Number, "", actor, key, incident.NewKey())
			if err != nil {
				return appendedMsg{incident: id, err: fmt.Errorf("not approved: %w", err)}
			}
			return appendedMsg{incident: id, event: ev, what: what}
		})
	}
	return w.enqueue(func() tea.Msg {
		signer, err := signers.LoadSigner(ctx, expandHome(keyFile))
		if err != nil {
			return appendedMsg{incident: id, err: fmt.Errorf("not approved: %w", err), form: f}
		}
		ev, err := svc.Approve(ctx, id, so.proc.ID, so.step.Number, "", signer, incident.NewKey())
		if err != nil {
			return appendedMsg{incident: id, err: fmt.Errorf("not approved: %w", err), form: f}
		}
		return appendedMsg{incident: id, event: ev, what: what}
	})
}
