package incident

import (
	"fmt"

	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/store"
)

// StepChecked records a procedure step as done.
type StepChecked struct {
	Procedure ProcedureRef `json:"procedure"`
	Step      int          `json:"step"`
	Text      string       `json:"text,omitempty"`
}

// StepSkipped records a procedure step as skipped, with the reason.
type StepSkipped struct {
	Procedure ProcedureRef `json:"procedure"`
	Step      int          `json:"step"`
	Text      string       `json:"text,omitempty"`
	Reason    string       `json:"reason"`
}

// StepFailed records a routine step that was attempted and failed.
type StepFailed struct {
	Procedure ProcedureRef `json:"procedure"`
	Step      int          `json:"step"`
	Text      string       `json:"text,omitempty"`
	Note      string       `json:"note"`
}

func init() {
	register[StepChecked]()
	register[StepSkipped]()
	register[StepFailed]()
}

func (StepChecked) Kind() string { return "step_checked" }
func (StepSkipped) Kind() string { return "step_skipped" }
func (StepFailed) Kind() string  { return "step_failed" }

func (p StepChecked) Line() string {
	return fmt.Sprintf("✓ %s step %d: %s", p.Procedure.ID, p.Step, p.Text)
}

func (p StepSkipped) Line() string {
	return fmt.Sprintf("skipped %s step %d (%s): %s", p.Procedure.ID, p.Step, p.Reason, p.Text)
}

func (p StepFailed) Line() string {
	return fmt.Sprintf("✗ %s step %d failed: %s", p.Procedure.ID, p.Step, p.Note)
}

func (p StepChecked) check(r *rules) (Payload, error) {
	if err := r.checkStep("checked", p.Kind(), p.Procedure, p.Step); err != nil {
		return nil, err
	}
	p.Text = termsafe.EscapeLine(p.Text)
	return p, nil
}

func (p StepSkipped) check(r *rules) (Payload, error) {
	if err := r.checkStep("skipped", p.Kind(), p.Procedure, p.Step); err != nil {
		return nil, err
	}
	var err error
	if p.Reason, err = cleanText("reason for the skip", p.Reason, MaxTextBytes, true); err != nil {
		return nil, err
	}
	p.Text = termsafe.EscapeLine(p.Text)
	return p, nil
}

func (p StepFailed) check(r *rules) (Payload, error) {
	if err := r.checkStep("failed", p.Kind(), p.Procedure, p.Step); err != nil {
		return nil, err
	}
	var err error
	if p.Note, err = cleanText("what failed", p.Note, MaxTextBytes, true); err != nil {
		return nil, err
	}
	p.Text = termsafe.EscapeLine(p.Text)
	return p, nil
}

func (p StepChecked) addTo(d *draft, _ store.Event) {
	u := d.use(p.Procedure)
	u.checked = append(u.checked, p.Step)
}

func (p StepSkipped) addTo(d *draft, _ store.Event) {
	u := d.use(p.Procedure)
	u.skipped = append(u.skipped, fmt.Sprintf("step %d skipped: %s", p.Step, p.Reason))
}
