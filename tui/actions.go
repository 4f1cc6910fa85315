package tui

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/runbook"
)

// startDeclare opens the declare form: a title, the book's triage
// questions one by one, then the severity they suggest, to confirm or
// change.
func (m Model) startDeclare() (tea.Model, tea.Cmd) {
	if m.opts.Service == nil {
		m.setStatus("no ledger: the console was started without a database")
		return m, nil
	}
	b := m.currentBook()
	if b == nil {
		return m, nil
	}
	pol := b.Policy
	fields := []field{newTextField("What is wrong? (a short title)", "payments API returning 500s", false)}
	for _, q := range pol.Triage.Questions {
		fields = append(fields, newYesNoField(q.Ask))
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
			f.fields[f.at].label = fmt.Sprintf("Severity: %s suggested (%s) · ←/→ to change", suggested, d.Meaning)
		}
	}
	m.form = f
	return m, f.focus()
}

// startIncidentForm opens the short form behind S, T, A, u, E and I.
func (m Model) startIncidentForm(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	if m.incident == nil {
		m.setStatus("no open incident: press D to declare one or o to open one")
		return m, nil
	}
	b := m.currentBook()
	if b == nil {
		m.setStatus("the incident's book " + m.incident.Book + " is not loaded")
		return m, nil
	}
	pol := b.Policy
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
			newChoiceField("New severity", others, 0), newTextField("Why? (recorded)", "reason", false)}}
	case key.Matches(msg, k.State):
		next := pol.NextStates(m.incident.State)
		if len(next) == 0 {
			m.setStatus("the policy allows no move from " + m.incident.State)
			return m, nil
		}
		f = &form{kind: formState, title: "Move " + m.incident.Short() + " from " + m.incident.State + " (only the policy's transitions)", fields: []field{
			newChoiceField("New state", next, 0), newTextField("Why? (optional)", "reason", true)}}
	case key.Matches(msg, k.Role):
		var roles []string
		for _, r := range pol.Roles {
			roles = append(roles, r.ID)
		}
		if len(roles) == 0 {
			roles = []string{"commander", "scribe"}
		}
		f = &form{kind: formRole, title: "Assign a role", fields: []field{
			newChoiceField("Role", roles, 0), newTextField("Who?", "name", false)}}
	case key.Matches(msg, k.Update):
		f = &form{kind: formUpdate, title: "Post a status update (resets the countdown)", fields: []field{
			newTextField("Update", "what is known, what is being done, next update at…", false)}}
	case key.Matches(msg, k.Evidence):
		f = &form{kind: formEvidence, title: "Attach a file as evidence (bytes kept in the ledger, up to 16 MiB)", fields: []field{
			newTextField("File path", "/var/log/service/error.log", false), newTextField("What it shows (optional)", "label", true)}}
	case key.Matches(msg, k.Action):
		f = &form{kind: formAction, title: "Add an action item", fields: []field{
			newTextField("What needs doing?", "add an alert on 5xx rate", false),
			newTextField("Owner", "name", false),
			newTextField("Due (YYYY-MM-DD, optional)", m.now.AddDate(0, 0, 14).Format(time.DateOnly), true)}}
	}
	m.form = f
	return m, f.focus()
}

// submit turns a completed form into the command that records it.
func (m Model) submit(f *form) (tea.Model, tea.Cmd) {
	a := f.answers()
	switch f.kind {
	case formDeclare:
		b := f.data.(*runbook.Book)
		l, actor := m.opts.Service, m.opts.Actor
		var fr *incident.ProcedureRef
		if p, ok := m.opts.Catalog.Procedure(b.Policy.FirstResponse); ok {
			r := incident.Ref(p)
			fr = &r
			m.steps.open(p)
			m.show(p)
			m.focus = stepsPane
		}
		d := incident.Declaration{Book: b.ID, Title: a[0], Severity: a[len(a)-1], Runbook: fr, By: actor, Key: incident.NewKey(), FromRun: m.fromRun}
		ctx := m.ctx()
		m.setStatus("declaring…")
		m.fromRun = ""
		m.mode = respondMode
		return m, tea.Batch(m.renderShown(), func() tea.Msg {
			inc, _, err := l.Declare(ctx, d)
			if err == nil && d.FromRun != "" {
				// The run points at the incident too: the link goes both ways.
				_, err = l.Append(ctx, d.FromRun, actor, incident.NewKey(), incident.Note{Text: "incident " + inc.Short() + " declared from a failed step: " + d.Title})
			}
			return declaredMsg{incident: inc, err: err}
		})
	case formSeverity:
		return m, m.appendCmd("severity change", incident.SeverityChange{To: a[0], Reason: a[1]})
	case formState:
		return m, m.appendCmd("state change", incident.StateChange{To: a[0], Reason: a[1]})
	case formRole:
		return m, m.appendCmd("role", incident.RoleAssignment{Role: a[0], Name: a[1]})
	case formUpdate:
		return m, m.appendCmd("status update", incident.StatusUpdate{Text: a[0]})
	case formAction:
		return m, m.appendCmd("action item", incident.ActionItem{Text: a[0], Owner: a[1], Due: a[2]})
	case formSkip:
		step := f.data.(runbook.Step)
		return m, m.appendStep(step.Number, stepSkippedMark, fmt.Sprintf("skip of step %d", step.Number), incident.StepSkipped{Procedure: incident.Ref(m.steps.proc), Step: step.Number, Text: step.Text, Reason: a[0]})
	case formFail:
		return m.failStep(f.data.(runbook.Step), a[0])
	case formFailDeclare:
		if a[0] != "yes" || m.incident == nil {
			return m, nil
		}
		m.fromRun = m.incident.ID
		m2, cmd := m.startDeclare()
		mm := m2.(Model)
		if mm.form != nil {
			mm.form.fields[0].input.SetValue(f.data.(string))
		}
		return mm, cmd
	case formOpen:
		list := f.data.([]incident.Status)
		i := f.fields[0].choice
		m.setStatus("opening " + list[i].Short() + "…")
		return m, loadIncident(m.ctx(), m.opts.Service, list[i].ID)
	case formEvidence:
		if m.incident == nil {
			return m, nil
		}
		ctx, l, id, actor, key := m.ctx(), m.opts.Service, m.incident.ID, m.opts.Actor, incident.NewKey()
		path, label := expandHome(a[0]), a[1]
		return m, m.enqueue(func() tea.Msg {
			ev, err := l.AttachEvidenceFile(ctx, id, actor, key, path, label)
			if err != nil {
				return appendedMsg{err: fmt.Errorf("evidence not attached: %w", err)}
			}
			return appendedMsg{event: ev, what: "evidence " + filepath.Base(path)}
		})
	}
	return m, nil
}

func expandHome(p string) string {
	if strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[2:])
		}
	}
	return p
}
