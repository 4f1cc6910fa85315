package incident

import (
	"fmt"

	"github.com/icconsole/ic/store"
)

// RunbookLink records that a procedure is being followed, citing its
// exact text (id, version, content hash).
type RunbookLink struct {
	Procedure ProcedureRef `json:"procedure"`
}

func init() { register[RunbookLink]() }

func (RunbookLink) Kind() string { return "runbook_linked" }

func (p RunbookLink) Line() string {
	return fmt.Sprintf("runbook %s v%d (sha256 %.12s)", p.Procedure.ID, p.Procedure.Version, p.Procedure.Hash)
}

func (p RunbookLink) check(*rules) (Payload, error) {
	if p.Procedure.ID == "" {
		return nil, refuse("a runbook link needs a procedure id")
	}
	return p, nil
}

func (p RunbookLink) addTo(d *draft, _ store.Event) { d.use(p.Procedure) }
