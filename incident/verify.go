package incident

import (
	"context"
	"fmt"
	"slices"

	"github.com/icconsole/ic/runbook"
	"github.com/icconsole/ic/store"
)

// verifyApprovals re-checks, offline, what only the application layer
// knows: each approval's SSH signature over its statement (with the key it
// carries, and against the allowed signers when they are configured), that
// its signer was not the requester, and that every step that needed
// approval was recorded with enough valid approvals, by someone else than
// its approvers. It runs in a full verify and for one incident; an
// incremental verify leaves it to those and says so.
func (s *Service) verifyApprovals(ctx context.Context, o VerifyOptions, rep *VerifyReport) error {
	if !o.Full && o.Incident == "" && rep.Mode == "incremental" {
		rep.Checks = append(rep.Checks, store.Check{Name: "approvals", Skipped: "signatures and the two-party rule are re-checked by a full verify (ic verify --full) or for one incident"})
		return nil
	}
	ids := []string{o.Incident}
	if o.Incident == "" {
		incs, err := s.db.Incidents(ctx)
		if err != nil {
			return err
		}
		ids = ids[:0]
		for _, inc := range incs {
			ids = append(ids, inc.ID)
		}
	}
	gated := approvalProcedures(s.books)
	checked := 0
	for _, id := range ids {
		need := rep.Marked[id]
		if !rep.MarksRead {
			var err error
			if need, err = s.needsApprovalCheck(ctx, id, gated); err != nil {
				return err
			}
		}
		if !need {
			continue
		}
		checked++
		probs, err := s.verifyIncidentApprovals(ctx, id)
		if err != nil {
			return err
		}
		rep.Problems = append(rep.Problems, probs...)
	}
	rep.Checks = append(rep.Checks, store.Check{Name: "approvals", Covered: fmt.Sprintf("signatures and the two-party rule on %d incident(s) with steps that need approval", checked)})
	return nil
}

// approvalProcedures are the procedures with a step that needs approval
// or is irreversible.
func approvalProcedures(books *runbook.Catalog) []string {
	var ids []string
	for _, p := range books.Filter(runbook.Filter{}) {
		for _, st := range p.Steps {
			if st.Approval != nil || st.Irreversible {
				ids = append(ids, p.ID)
				break
			}
		}
	}
	return ids
}

// approvalMarks select the events that make an incident's approvals
// worth re-checking: an approval, or a step of a procedure with a step
// that needs approval or is irreversible (its id in the payload; the
// re-check reads the entries themselves).
func approvalMarks(books *runbook.Catalog) []store.Mark {
	marks := []store.Mark{{Type: (Approval{}).Kind()}}
	gated := approvalProcedures(books)
	if len(gated) == 0 {
		return marks
	}
	var ids []string
	for _, id := range gated {
		ids = append(ids, fmt.Sprintf("%q", id))
	}
	return append(marks, store.Mark{Type: (StepChecked{}).Kind(), Contains: ids})
}

// needsApprovalCheck reports whether an incident holds approvals or steps
// of a procedure with approval or irreversible steps (read in SQLite).
func (s *Service) needsApprovalCheck(ctx context.Context, id string, gated []string) (bool, error) {
	latest, err := s.db.LatestSeqs(ctx, id)
	if err != nil {
		return false, err
	}
	if _, ok := latest[(Approval{}).Kind()]; ok {
		return true, nil
	}
	if _, ok := latest[(StepChecked{}).Kind()]; !ok || len(gated) == 0 {
		return false, nil
	}
	found := false
	err = s.db.Fields(ctx, id, []string{(StepChecked{}).Kind()}, []string{"$.procedure.id"}, func(f store.Field) error {
		if slices.Contains(gated, f.Value) {
			found = true
		}
		return nil
	})
	return found, err
}

// verifyIncidentApprovals walks one incident's timeline in order, as the
// rules saw it when each entry was made.
func (s *Service) verifyIncidentApprovals(ctx context.Context, id string) ([]store.Problem, error) {
	entries, err := s.Entries(ctx, Range{Incident: id, Types: []string{
		(Declared{}).Kind(), (RoleAssignment{}).Kind(), (Approval{}).Kind(), (StepChecked{}).Kind(), (StepSkipped{}).Kind()}})
	if err != nil {
		return nil, err
	}
	var probs []store.Problem
	bad := func(e Entry, format string, args ...any) {
		probs = append(probs, store.Problem{Check: "approvals", Incident: id, Seq: e.Seq, Reason: fmt.Sprintf(format, args...)})
	}
	requester := ""
	var approvals []Entry
	recorded := map[string]int64{} // procedure hash + step: the seq that recorded an irreversible step
	for _, e := range entries {
		switch p := e.Payload.(type) {
		case Declared:
			requester = e.Actor
		case RoleAssignment:
			if p.Role == "requester" {
				requester = p.Name
			}
		case Approval:
			if p.Proof == ProofSession {
				// Proven by the served session that recorded it: the
				// entry's identity is that key's session, with the
				// approver role (the server's authorized keys are not
				// re-read here: they may have changed since).
				switch err := p.sessionKeyMatches(); {
				case err != nil:
					bad(e, "approval of %s step %d by %s: %v", p.Procedure.ID, p.Step, p.Signer, err)
					continue
				case e.Identity != ViaSession+":"+p.Fingerprint:
					bad(e, "approval of %s step %d proven by a session, but recorded with identity %q, not session:%s", p.Procedure.ID, p.Step, e.Identity, p.Fingerprint)
					continue
				case p.SessionRole != RoleApprover:
					bad(e, "approval of %s step %d proven by a session with role %q: only an approver's counts", p.Procedure.ID, p.Step, p.SessionRole)
					continue
				}
			} else {
				key, err := p.verifySignature(id)
				switch {
				case err != nil:
					bad(e, "approval of %s step %d by %s: %v", p.Procedure.ID, p.Step, p.Signer, err)
					continue
				case s.allowed != nil:
					if who, ok := s.allowed.Principal(key, SignatureNamespace, e.Time); !ok || who != p.Signer {
						bad(e, "approval of %s step %d: key %s is not %s's in the allowed signers (%s)", p.Procedure.ID, p.Step, p.Fingerprint, p.Signer, s.allowed.Path)
					}
				}
			}
			if p.Signer != e.Actor {
				bad(e, "approval of %s step %d signed by %s but recorded by %s", p.Procedure.ID, p.Step, p.Signer, e.Actor)
			}
			if p.Signer == requester {
				bad(e, "approval of %s step %d by %s, the requester: two different people are needed", p.Procedure.ID, p.Step, p.Signer)
			}
			approvals = append(approvals, e)
		case StepChecked:
			proc, _, ok := s.books.ResolveCited(p.Procedure.ID, p.Procedure.Version, p.Procedure.Hash)
			if !ok || proc.Hash != p.Procedure.Hash || p.Step < 1 || p.Step > len(proc.Steps) {
				continue // a text the books no longer hold: its rules cannot be known
			}
			step := proc.Steps[p.Step-1]
			k := fmt.Sprintf("%s#%d", proc.Hash, p.Step)
			if step.Irreversible {
				if first, ok := recorded[k]; ok {
					bad(e, "%s step %d is irreversible and was already recorded at seq %d", proc.ID, p.Step, first)
				}
				recorded[k] = e.Seq
			}
			if step.Approval == nil {
				continue
			}
			valid, why := countApprovals(approvals, proc, step, e.Time, e.Actor, requester)
			if len(valid) < max(step.Approval.Count, 1) {
				bad(e, "%s step %d was recorded by %s with %d valid approval(s) of %d needed%s", proc.ID, p.Step, e.Actor, len(valid), max(step.Approval.Count, 1), reasons(why))
			}
		case StepSkipped:
			proc, _, ok := s.books.ResolveCited(p.Procedure.ID, p.Procedure.Version, p.Procedure.Hash)
			if ok && proc.Hash == p.Procedure.Hash && p.Step >= 1 && p.Step <= len(proc.Steps) && proc.Steps[p.Step-1].Irreversible {
				recorded[fmt.Sprintf("%s#%d", proc.Hash, p.Step)] = e.Seq
			}
		}
	}
	return probs, nil
}

func reasons(why []string) string {
	if len(why) == 0 {
		return ""
	}
	s := ": "
	for i, w := range why {
		if i > 0 {
			s += "; "
		}
		s += w
	}
	return s
}
