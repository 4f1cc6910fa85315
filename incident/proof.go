package incident

import (
	"regexp"
	"strings"

	"github.com/icconsole/ic/runbook"
)

// StepProof is the entry that already shows a checklist step done: the
// declaration for "declare the severity", the role entry for "name an
// Incident Commander". The console ticks such a step from the record,
// citing the entry, instead of asking for it again.
type StepProof struct {
	Seq  int64  `json:"seq"`
	Kind string `json:"kind"`
}

// proofRule recognises one kind of step by its words and finds the entry
// that proves it. The rules are deliberately narrow: a step ticked that
// was not done is worse than a step left for the operator to check.
type proofRule struct {
	matches func(step string) bool
	proves  func(e Entry, self string, step string) bool
}

var moveTo = regexp.MustCompile(`(?i)\bmove (?:the incident )?to ([A-Z][A-Z0-9_]+)\b`)

var proofRules = []proofRule{
	{ // the severity was declared: the declaration records it and who
		matches: func(s string) bool {
			return strings.Contains(s, "severity") && containsAny(s, "declare", "assess", "record", "triage")
		},
		proves: func(e Entry, _, _ string) bool { _, ok := e.Payload.(Declared); return ok },
	},
	{ // the specific runbook was opened: a runbook link to another procedure
		matches: func(s string) bool {
			return containsAny(s, "runbook", "procedure") && containsAny(s, "open ", "linked", "link ")
		},
		proves: func(e Entry, self, _ string) bool {
			l, ok := e.Payload.(RunbookLink)
			return ok && l.Procedure.ID != self
		},
	},
	{ // an Incident Commander was named
		matches: func(s string) bool {
			return strings.Contains(s, "commander") && containsAny(s, "name", "assign", "record")
		},
		proves: func(e Entry, _, _ string) bool { return hasRole(e, "commander") },
	},
	{ // a scribe was named
		matches: func(s string) bool {
			return strings.Contains(s, "scribe") && containsAny(s, "name", "assign", "record")
		},
		proves: func(e Entry, _, _ string) bool { return hasRole(e, "scribe") },
	},
	{ // the first status update was posted
		matches: func(s string) bool {
			return containsAny(s, "first status update", "post a status update")
		},
		proves: func(e Entry, _, _ string) bool { _, ok := e.Payload.(StatusUpdate); return ok },
	},
	{ // the deviation was recorded
		matches: func(s string) bool { return strings.Contains(s, "record the deviation") },
		proves:  func(e Entry, _, _ string) bool { _, ok := e.Payload.(Deviation); return ok },
	},
	{ // the incident was moved to a named state
		matches: func(s string) bool { return moveTo.MatchString(s) },
		proves: func(e Entry, _, step string) bool {
			c, ok := e.Payload.(StateChange)
			m := moveTo.FindStringSubmatch(step)
			return ok && m != nil && c.To == m[1]
		},
	},
}

// ProofKinds are the entry types ProveSteps reads.
func ProofKinds() []string {
	return []string{(Declared{}).Kind(), (RunbookLink{}).Kind(), (RoleAssignment{}).Kind(), (StatusUpdate{}).Kind(), (Deviation{}).Kind(), (StateChange{}).Kind()}
}

// ProveSteps finds the steps of p that entries (an incident's timeline,
// or its ProofKinds entries, oldest first) already show done. A step is
// proven when every rule its words match has an entry; the proof cites
// the latest of those entries. Steps no rule matches are never proven.
func ProveSteps(p *runbook.Procedure, entries []Entry) map[int]StepProof {
	out := map[int]StepProof{}
	for _, step := range p.Steps {
		lower := strings.ToLower(step.Text)
		var proof StepProof
		matched, proven := 0, 0
		for _, r := range proofRules {
			if !r.matches(lower) {
				continue
			}
			matched++
			for _, e := range entries {
				if r.proves(e, p.ID, step.Text) {
					proven++
					if e.Seq > proof.Seq {
						proof = StepProof{Seq: e.Seq, Kind: e.Type}
					}
					break
				}
			}
		}
		if matched > 0 && proven == matched {
			out[step.Number] = proof
		}
	}
	return out
}

func containsAny(s string, words ...string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

func hasRole(e Entry, role string) bool {
	r, ok := e.Payload.(RoleAssignment)
	return ok && strings.Contains(strings.ToLower(r.Role), role)
}
