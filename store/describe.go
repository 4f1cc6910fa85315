package store

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Describe renders an event's payload as one line for a person: "SEV-2 →
// SEV-1: customers harmed", "note: restarted relay 2". Text in the ledger is
// already escaped; newlines are shown as ⏎ so one event stays on one row.
func Describe(e Event) string {
	var s string
	switch e.Type {
	case TypeDeclared:
		var p DeclaredPayload
		json.Unmarshal(e.Payload, &p)
		s = fmt.Sprintf("declared %s %q (%s, book %s)", p.Severity, p.Title, p.State, p.Book)
		if p.Drill {
			s += " [drill]"
		}
		if p.Kind == "routine" && p.Runbook != nil {
			s = fmt.Sprintf("routine run of %s v%d started (book %s)", p.Runbook.ID, p.Runbook.Version, p.Book)
		} else if p.Runbook != nil {
			s += fmt.Sprintf(" from %s v%d", p.Runbook.ID, p.Runbook.Version)
		}
		if p.FromRun != "" {
			s += " (from a failed step of routine run " + ShortID(p.FromRun) + ")"
		}
	case TypeSeverityChanged:
		var p SeverityChange
		json.Unmarshal(e.Payload, &p)
		s = fmt.Sprintf("severity %s → %s: %s", p.From, p.To, p.Reason)
	case TypeStateChanged:
		var p StateChange
		json.Unmarshal(e.Payload, &p)
		s = fmt.Sprintf("state %s → %s", p.From, p.To)
		if p.Reason != "" {
			s += ": " + p.Reason
		}
	case TypeRoleAssigned:
		var p RoleAssignment
		json.Unmarshal(e.Payload, &p)
		s = fmt.Sprintf("role %s: %s", p.Role, p.Name)
	case TypeNote:
		var p Note
		json.Unmarshal(e.Payload, &p)
		s = p.Text
	case TypeCorrection:
		var p Correction
		json.Unmarshal(e.Payload, &p)
		s = fmt.Sprintf("correction of #%d: %s", p.Corrects, p.Text)
	case TypeStepChecked:
		var p StepChecked
		json.Unmarshal(e.Payload, &p)
		s = fmt.Sprintf("✓ %s step %d: %s", p.Procedure.ID, p.Step, p.Text)
	case TypeStepSkipped:
		var p StepSkipped
		json.Unmarshal(e.Payload, &p)
		s = fmt.Sprintf("skipped %s step %d (%s): %s", p.Procedure.ID, p.Step, p.Reason, p.Text)
	case TypeStepFailed:
		var p StepFailed
		json.Unmarshal(e.Payload, &p)
		s = fmt.Sprintf("✗ %s step %d failed: %s", p.Procedure.ID, p.Step, p.Note)
	case TypeStatusUpdate:
		var p StatusUpdate
		json.Unmarshal(e.Payload, &p)
		s = "status update: " + p.Text
	case TypeEvidenceAttached:
		var p Evidence
		json.Unmarshal(e.Payload, &p)
		s = fmt.Sprintf("evidence %s (%d bytes, sha256 %.12s)", p.Name, p.Size, p.SHA256)
		if p.Label != "" {
			s += ": " + p.Label
		}
	case TypeActionItem:
		var p ActionItem
		json.Unmarshal(e.Payload, &p)
		s = fmt.Sprintf("action item for %s: %s", p.Owner, p.Text)
		if p.Due != "" {
			s += " (due " + p.Due + ")"
		}
	case TypeActionItemDone:
		var p ActionItemDone
		json.Unmarshal(e.Payload, &p)
		s = fmt.Sprintf("action item #%d done", p.Item)
		if p.Note != "" {
			s += ": " + p.Note
		}
	case TypeDeviation:
		var p Deviation
		json.Unmarshal(e.Payload, &p)
		s = "deviation: " + p.Text
	case TypeRestartCriteriaSigned:
		var p RestartCriteria
		json.Unmarshal(e.Payload, &p)
		s = "restart criteria signed: " + p.Text
	case TypePostmortemLinked:
		var p PostmortemLink
		json.Unmarshal(e.Payload, &p)
		s = "postmortem: " + p.URL
	case TypeRunbookLinked:
		var p RunbookLink
		json.Unmarshal(e.Payload, &p)
		s = fmt.Sprintf("runbook %s v%d (sha256 %.12s)", p.Procedure.ID, p.Procedure.Version, p.Procedure.Hash)
	case TypeVerification:
		var p struct {
			Code           *int   `json:"code"`
			Classification string `json:"classification"`
			Period         uint64 `json:"period"`
			Slot           uint64 `json:"slot"`
			Participants   int    `json:"participants"`
		}
		json.Unmarshal(e.Payload, &p)
		code := "?"
		if p.Code != nil {
			code = fmt.Sprint(*p.Code)
		}
		s = fmt.Sprintf("sync-committee check: code %s %s (period %d, slot %d, participants %d/512)", code, p.Classification, p.Period, p.Slot, p.Participants)
	default:
		s = string(e.Payload)
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r", ""), "\n", " ⏎ ")
}
