package store

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// ExportLine is one event in a JSONL export: every field needed to
// recompute the chain without ic. payload is the stored JSON as a string,
// byte for byte, because the hash covers those exact bytes.
type ExportLine struct {
	Incident string `json:"incident"`
	Seq      int64  `json:"seq"`
	TimeMS   int64  `json:"time_ms"`
	Time     string `json:"time"`
	Actor    string `json:"actor"`
	Type     string `json:"type"`
	Payload  string `json:"payload"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// ToExportLine converts an event for export.
func ToExportLine(e Event) ExportLine {
	return ExportLine{
		Incident: e.Incident, Seq: e.Seq, TimeMS: e.Time.UnixMilli(), Time: e.Time.Format(time.RFC3339Nano),
		Actor: e.Actor, Type: e.Type, Payload: string(e.Payload), PrevHash: e.PrevHash.String(), Hash: e.Hash.String(),
	}
}

// ExportJSONL writes the events selected by r, one JSON object a line.
func (d *DB) ExportJSONL(ctx context.Context, w io.Writer, r Range) (int, error) {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	n := 0
	err := d.Events(ctx, r, func(e Event) error {
		n++
		return enc.Encode(ToExportLine(e))
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// WritePostmortem writes a Markdown postmortem draft following O-900 and
// AZ-015 §33: everything the record holds, and a visible blank wherever it
// is silent, so the author knows what is left to write.
func (l *Ledger) WritePostmortem(ctx context.Context, w io.Writer, id string) error {
	st, err := l.Status(ctx, id)
	if err != nil {
		return err
	}
	var events []Event
	if err := l.db.Events(ctx, Range{Incident: id}, func(e Event) error {
		events = append(events, e)
		return nil
	}); err != nil {
		return err
	}
	blank := "_(not in the record: to be written)_"
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

	p("# Postmortem draft: %s\n\n", st.Title)
	drill := ""
	if st.Drill {
		drill = " · **drill**"
	}
	p("Incident %s · book %s · declared %s by %s%s\n\n", st.Short(), st.Book, st.DeclaredAt.Format("2006-01-02 15:04 UTC"), st.DeclaredBy, drill)
	p("Record: %d events, chain head `%s` (check with `ic verify %s` or `scripts/verify-export`).\n\n", st.Events, st.HeadHash, st.Short())

	p("## Summary\n\n%s\n\n", blank)
	var sevLines, closedAt []string
	for _, e := range events {
		switch e.Type {
		case TypeDeclared:
			var d DeclaredPayload
			json.Unmarshal(e.Payload, &d)
			sevLines = append(sevLines, fmt.Sprintf("%s declared by %s at %s", d.Severity, e.Actor, e.Time.Format("15:04")))
		case TypeSeverityChanged:
			var s SeverityChange
			json.Unmarshal(e.Payload, &s)
			sevLines = append(sevLines, fmt.Sprintf("%s → %s by %s at %s (%s)", s.From, s.To, e.Actor, e.Time.Format("15:04"), s.Reason))
		case TypeStateChanged:
			var s StateChange
			json.Unmarshal(e.Payload, &s)
			closedAt = append(closedAt, fmt.Sprintf("%s at %s by %s", s.To, e.Time.Format("2006-01-02 15:04"), e.Actor))
		}
	}
	p("| | |\n|---|---|\n")
	p("| severity | %s |\n", cell(strings.Join(sevLines, "; ")))
	p("| state | %s |\n", st.State)
	if len(closedAt) > 0 {
		p("| state changes | %s |\n", cell(strings.Join(closedAt, "; ")))
	}
	p("| duration | %s (declared to last entry) |\n\n", st.LastAt.Sub(st.DeclaredAt).Round(time.Minute))

	p("## Blast radius\n\n%s\n\n", blank)

	p("## Timeline\n\n| # | time (UTC) | actor | entry |\n|---|---|---|---|\n")
	for _, e := range events {
		p("| %d | %s | %s | %s |\n", e.Seq, e.Time.Format("2006-01-02 15:04:05"), cell(e.Actor), cell(Describe(e)))
	}
	p("\n")

	p("## Evidence\n\n")
	nEv := 0
	for _, e := range events {
		switch e.Type {
		case TypeEvidenceAttached:
			var ev Evidence
			json.Unmarshal(e.Payload, &ev)
			p("- %s, %d bytes, sha256 `%s` (#%d)%s\n", ev.Name, ev.Size, ev.SHA256, e.Seq, labelSuffix(ev.Label))
			nEv++
		case TypeVerification:
			p("- %s (#%d)\n", Describe(e), e.Seq)
			nEv++
		}
	}
	if nEv == 0 {
		p("%s\n", "_(no evidence attached)_")
	}
	p("\n## Procedures followed\n\n")
	type procUse struct {
		ref     ProcedureRef
		checked []int
		skipped []string
	}
	uses := map[string]*procUse{}
	use := func(r ProcedureRef) *procUse {
		k := r.ID + "@" + r.Hash
		if uses[k] == nil {
			uses[k] = &procUse{ref: r}
		}
		return uses[k]
	}
	for _, e := range events {
		switch e.Type {
		case TypeDeclared:
			var d DeclaredPayload
			json.Unmarshal(e.Payload, &d)
			if d.Runbook != nil {
				use(*d.Runbook)
			}
		case TypeRunbookLinked:
			var r RunbookLink
			json.Unmarshal(e.Payload, &r)
			use(r.Procedure)
		case TypeStepChecked:
			var s StepChecked
			json.Unmarshal(e.Payload, &s)
			u := use(s.Procedure)
			u.checked = append(u.checked, s.Step)
		case TypeStepSkipped:
			var s StepSkipped
			json.Unmarshal(e.Payload, &s)
			u := use(s.Procedure)
			u.skipped = append(u.skipped, fmt.Sprintf("step %d skipped: %s", s.Step, s.Reason))
		}
	}
	keys := make([]string, 0, len(uses))
	for k := range uses {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		p("_(no procedure recorded)_\n")
	}
	for _, k := range keys {
		u := uses[k]
		p("- %s v%d (sha256 `%.12s`): %d step(s) checked", u.ref.ID, u.ref.Version, u.ref.Hash, len(u.checked))
		if len(u.skipped) > 0 {
			p("; %s", strings.Join(u.skipped, "; "))
		}
		p("\n")
	}
	p("\n### What worked\n\n%s\n\n### What did not\n\n%s\n\n", blank, blank)

	p("## Action items\n\n")
	done := map[int64]bool{}
	for _, e := range events {
		if e.Type == TypeActionItemDone {
			var d ActionItemDone
			json.Unmarshal(e.Payload, &d)
			done[d.Item] = true
		}
	}
	nItems := 0
	for _, e := range events {
		if e.Type != TypeActionItem {
			continue
		}
		if nItems == 0 {
			p("| # | owner | due | item | done |\n|---|---|---|---|---|\n")
		}
		nItems++
		var a ActionItem
		json.Unmarshal(e.Payload, &a)
		mark := "no"
		if done[e.Seq] {
			mark = "yes"
		}
		p("| %d | %s | %s | %s | %s |\n", e.Seq, cell(a.Owner), a.Due, cell(a.Text), mark)
	}
	if nItems == 0 {
		p("_(no action items recorded)_\n")
	}
	p("\n## Root cause class\n\n")
	p("%s Tick one:\n\n- [ ] protocol bug\n- [ ] implementation bug\n- [ ] ops failure\n- [ ] governance failure\n- [ ] external dependency\n\n", blank)
	p("## Root cause\n\n%s\n", blank)
	return nil
}

func labelSuffix(l string) string {
	if l == "" {
		return ""
	}
	return ": " + l
}
