package incident

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/icconsole/ic/runbook"
)

// stepMark is the latest record of one step of one procedure text.
type stepMark struct {
	kind  string // step_checked, step_skipped or step_failed
	seq   int64
	actor string
}

// stepMarks reads the latest record of each step of the procedure text
// ref cites, on one incident.
func (s *Service) stepMarks(r *rules, ref ProcedureRef) (map[int]stepMark, error) {
	marks := map[int]stepMark{}
	kinds := []string{(StepChecked{}).Kind(), (StepSkipped{}).Kind(), (StepFailed{}).Kind()}
	err := s.Timeline(r.ctx, Range{Incident: r.st.ID, Types: kinds}, func(e Entry) error {
		var cited ProcedureRef
		var n int
		switch p := e.Payload.(type) {
		case StepChecked:
			cited, n = p.Procedure, p.Step
		case StepSkipped:
			cited, n = p.Procedure, p.Step
		case StepFailed:
			cited, n = p.Procedure, p.Step
		default:
			return fmt.Errorf("%s seq %d (%s): payload is not readable", ShortID(e.Incident), e.Seq, e.Type)
		}
		if cited.ID == ref.ID && cited.Hash == ref.Hash {
			marks[n] = stepMark{kind: e.Type, seq: e.Seq, actor: e.Actor}
		}
		return nil
	})
	return marks, err
}

// procedureStep finds the step an entry cites, in the text it cites: a
// step of another version than the books hold is refused, since its rules
// (gates, approvals) cannot be known.
func (r *rules) procedureStep(ref ProcedureRef, n int) (*runbook.Procedure, runbook.Step, error) {
	p, ok := r.svc.books.Procedure(ref.ID)
	if !ok {
		return nil, runbook.Step{}, refuse("no procedure %s in the books (list them with 'ic runbook list')", ref.ID)
	}
	if p.Hash != ref.Hash {
		return nil, runbook.Step{}, refuse("the entry cites %s v%d (sha256 %.12s), but the books hold v%d (sha256 %.12s): record steps of the text in use", ref.ID, ref.Version, ref.Hash, p.Version, p.Hash)
	}
	if n < 1 || n > len(p.Steps) {
		return nil, runbook.Step{}, refuse("%s has steps 1..%d; %d is not one of them", p.ID, len(p.Steps), n)
	}
	return p, p.Steps[n-1], nil
}

// stepRules applies what a procedure says about a step before it may be
// recorded as kind: the steps it needs done first, that an irreversible
// step is recorded once and only after every earlier step, and the
// approvals it needs. Every face (command line, console, a served session)
// meets these rules here.
func (r *rules) stepRules(kind string, ref ProcedureRef, n int) error {
	p, step, err := r.procedureStep(ref, n)
	if err != nil {
		return err
	}
	marks, err := r.svc.stepMarks(r, ref)
	if err != nil {
		return err
	}
	if step.Irreversible {
		if m, done := marks[n]; done {
			return refuse("%s step %d is irreversible and was already recorded (%s seq %d by %s): it is recorded once", p.ID, n, m.kind, m.seq, m.actor)
		}
		var open []string
		for i := 1; i < n; i++ {
			if m, ok := marks[i]; !ok || (m.kind != (StepChecked{}).Kind() && m.kind != (StepSkipped{}).Kind()) {
				open = append(open, fmt.Sprint(i))
			}
		}
		if len(open) > 0 {
			return refuse("%s step %d is irreversible: every earlier step must be checked or skipped with a reason first; still open: %s", p.ID, n, strings.Join(open, " "))
		}
	}
	if kind != (StepChecked{}).Kind() {
		return nil
	}
	if m := marks[n]; m.kind == kind {
		// Two people checking the same step at once: the append that
		// lands second is re-checked against the first (Append retries
		// on a moved head) and told who won.
		return refuse("%s step %d was already checked by %s (seq %d): a step is checked once", p.ID, n, m.actor, m.seq)
	}
	var missing []string
	for _, req := range step.Requires {
		if marks[req].kind != (StepChecked{}).Kind() {
			missing = append(missing, fmt.Sprint(req))
		}
	}
	if len(missing) > 0 {
		return refuse("step %d needs step(s) %s done first", n, strings.Join(missing, " "))
	}
	if step.Approval != nil {
		return r.approvalsFor(p, step)
	}
	return nil
}

// approvalsFor checks that a step needing approval has enough of them:
// signed approvals of this text of the step, still within the policy's
// window, each by a different person who is neither the requester nor the
// one recording the step.
func (r *rules) approvalsFor(p *runbook.Procedure, step runbook.Step) error {
	need := step.Approval
	requester, err := r.svc.requester(r)
	if err != nil {
		return err
	}
	approvals, err := r.svc.Entries(r.ctx, Range{Incident: r.st.ID, Types: []string{(Approval{}).Kind()}})
	if err != nil {
		return err
	}
	valid, why := countApprovals(approvals, p, step, r.now, r.by.Name, requester)
	if len(valid) >= max(need.Count, 1) {
		return nil
	}
	msg := fmt.Sprintf("%s step %d needs %d signed approval(s) by a %s (valid %s, not the requester %s, not %s who records it); %d valid",
		p.ID, step.Number, max(need.Count, 1), need.Role, need.Window, requester, r.by.Name, len(valid))
	if len(why) > 0 {
		msg += ": " + strings.Join(why, "; ")
	}
	return refuse("%s ('ic approve %s %s %d' records one)", msg, r.st.Short(), p.ID, step.Number)
}

// countApprovals sorts the approvals recorded for a step into the
// principals whose approval counts at time at, for executor recording the
// step on requester's behalf, and the reasons the others do not count.
func countApprovals(approvals []Entry, p *runbook.Procedure, step runbook.Step, at time.Time, executor, requester string) (valid, why []string) {
	need := step.Approval
	for _, e := range approvals {
		a, ok := e.Payload.(Approval)
		if !ok || a.Procedure.ID != p.ID || a.Step != step.Number {
			continue
		}
		switch {
		case a.Procedure.Hash != p.Hash:
			why = append(why, fmt.Sprintf("seq %d approves %s v%d, not v%d in use", e.Seq, p.ID, a.Procedure.Version, p.Version))
		case a.Role != need.Role:
			why = append(why, fmt.Sprintf("seq %d approves as %s, not %s", e.Seq, a.Role, need.Role))
		case at.Sub(e.Time) > need.Window:
			why = append(why, fmt.Sprintf("seq %d by %s expired (given %s ago, valid %s)", e.Seq, a.Signer, at.Sub(e.Time).Round(time.Second), need.Window))
		case a.Signer == executor:
			why = append(why, fmt.Sprintf("seq %d is by %s, who is recording the step: approver and executor must differ", e.Seq, a.Signer))
		case a.Signer == requester:
			why = append(why, fmt.Sprintf("seq %d is by %s, the requester: approver and requester must differ", e.Seq, a.Signer))
		case slices.Contains(valid, a.Signer):
		default:
			valid = append(valid, a.Signer)
		}
	}
	return valid, why
}

// requester is who asked for what the procedure does: the holder of the
// requester role when one is assigned, else who declared the incident.
func (s *Service) requester(r *rules) (string, error) {
	who := r.st.DeclaredBy
	err := s.Timeline(r.ctx, Range{Incident: r.st.ID, Types: []string{(RoleAssignment{}).Kind()}}, func(e Entry) error {
		if a, ok := e.Payload.(RoleAssignment); ok && a.Role == "requester" {
			who = a.Name
		}
		return nil
	})
	return who, err
}

// holdsRole reports whether name was assigned role on the incident.
func (s *Service) holdsRole(r *rules, role, name string) (bool, error) {
	holds := false
	err := s.Timeline(r.ctx, Range{Incident: r.st.ID, Types: []string{(RoleAssignment{}).Kind()}}, func(e Entry) error {
		if a, ok := e.Payload.(RoleAssignment); ok && a.Role == role && a.Name == name {
			holds = true
		}
		return nil
	})
	return holds, err
}
