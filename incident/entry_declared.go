package incident

import (
	"fmt"

	"github.com/icconsole/ic/store"
)

// Declared is the first entry of every incident and routine run.
type Declared struct {
	Book         string        `json:"book"`
	Title        string        `json:"title"`
	Severity     string        `json:"severity"`
	State        string        `json:"state"`
	IncidentKind string        `json:"kind"`
	Class        string        `json:"class,omitempty"`
	Runbook      *ProcedureRef `json:"runbook,omitempty"`
	Drill        bool          `json:"drill,omitempty"`
	FromRun      string        `json:"from_run,omitempty"`
}

func init() { register[Declared]() }

func (Declared) Kind() string { return store.DeclaredType }

func (p Declared) Line() string {
	if p.IncidentKind == KindRoutine && p.Runbook != nil {
		return fmt.Sprintf("routine run of %s v%d started (book %s)", p.Runbook.ID, p.Runbook.Version, p.Book)
	}
	s := fmt.Sprintf("declared %s %q (%s, book %s)", p.Severity, p.Title, p.State, p.Book)
	if p.Drill {
		s += " [drill]"
	}
	if p.Runbook != nil {
		s += fmt.Sprintf(" from %s v%d", p.Runbook.ID, p.Runbook.Version)
	}
	if p.FromRun != "" {
		s += " (from a failed step of routine run " + store.ShortID(p.FromRun) + ")"
	}
	return s
}

func (Declared) check(*rules) (Payload, error) {
	return nil, refuse("an incident is declared once, by Declare")
}

func (p Declared) addTo(d *draft, e store.Event) {
	d.severity = append(d.severity, fmt.Sprintf("%s declared by %s at %s", p.Severity, e.Actor, e.Time.Format("15:04")))
	if p.Runbook != nil {
		d.use(*p.Runbook)
	}
}
