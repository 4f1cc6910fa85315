package store

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/icconsole/ic/internal/checkpoint"
)

// ExportLine is one event in a JSONL export or a receipt: every field
// needed to recompute its hash without ic. payload is the stored JSON as
// a string, byte for byte, because the hash covers those exact bytes.
// identity is absent on events written before identities were recorded
// (hash formula v1) and present on the rest (v2).
type ExportLine struct {
	Record   string `json:"record,omitempty"` // "event" in an export
	Incident string `json:"incident"`
	Seq      int64  `json:"seq"`
	TimeMS   int64  `json:"time_ms"`
	Time     string `json:"time"`
	Actor    string `json:"actor"`
	Identity string `json:"identity,omitempty"`
	Type     string `json:"type"`
	Payload  string `json:"payload"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
	LogIndex int64  `json:"log_index"`
}

// ToExportLine converts an event for export.
func ToExportLine(e Event) ExportLine {
	return ExportLine{
		Incident: e.Incident, Seq: e.Seq, TimeMS: e.Time.UnixMilli(), Time: e.Time.Format(time.RFC3339Nano),
		Actor: e.Actor, Identity: e.Identity, Type: e.Type, Payload: string(e.Payload),
		PrevHash: e.PrevHash.String(), Hash: e.Hash.String(), LogIndex: e.LogIndex,
	}
}

// ExportDeclaration is the first line of an export: the incident's row,
// every column its log leaf covers, and that leaf's inclusion proof in the
// closing line's checkpoint.
type ExportDeclaration struct {
	Record       string `json:"record"` // "incident"
	Incident     string `json:"incident"`
	Book         string `json:"book"`
	Title        string `json:"title"`
	Kind         string `json:"kind"`
	Drill        bool   `json:"drill"`
	DeclaredAtMS int64  `json:"declared_at_ms"`
	DeclaredAt   string `json:"declared_at"`
	DeclaredBy   string `json:"declared_by"`
	Hash         string `json:"hash"`
	LogIndex     int64  `json:"log_index"`
	// InclusionProof proves the incident's leaf in the checkpoint's tree
	// (absent when the export has no checkpoint).
	InclusionProof []string `json:"inclusion_proof,omitempty"`
}

// ExportEnd is the closing line of an export: how many events it holds,
// the chain's head, and the signed checkpoint with the inclusion proof of
// the head event, so that a line removed, reordered or added, or the end
// cut off, shows.
type ExportEnd struct {
	Record   string `json:"record"` // "end"
	Incident string `json:"incident"`
	Events   int    `json:"events"`
	// Complete: the export holds the whole chain (no filter).
	Complete     bool   `json:"complete"`
	HeadSeq      int64  `json:"head_seq"`
	HeadHash     string `json:"head_hash"`
	HeadLogIndex int64  `json:"head_log_index"`
	// Checkpoint is a signed note whose tree holds the head, or "" when
	// none does yet; then the proofs are absent.
	Checkpoint         string   `json:"checkpoint"`
	TreeSize           uint64   `json:"tree_size,omitempty"`
	HeadInclusionProof []string `json:"head_inclusion_proof,omitempty"`
}

// ExportOptions shapes an export.
type ExportOptions struct {
	Range
	// Checkpoint to prove against; nil: the newest in the ledger that
	// holds the head.
	Checkpoint *checkpoint.Checkpoint
}

// ExportJSONL writes an auditable export of one incident (r.Incident):
// its declaration record, its events selected by r (one JSON object a
// line), and a closing line (ExportEnd). It returns the number of events.
// It only reads, so it works on a ledger opened read-only.
func (d *DB) ExportJSONL(ctx context.Context, w io.Writer, r Range) (int, error) {
	return d.ExportJSONLWith(ctx, w, ExportOptions{Range: r})
}

// ExportJSONLWith is ExportJSONL with a chosen checkpoint.
func (d *DB) ExportJSONLWith(ctx context.Context, w io.Writer, o ExportOptions) (int, error) {
	if o.Incident == "" {
		return 0, errors.New("export: an export holds one incident")
	}
	if d.schema < 2 {
		return 0, d.noLog()
	}
	inc, err := d.Incident(ctx, o.Incident)
	if err != nil {
		return 0, err
	}
	h, err := d.Head(ctx, o.Incident)
	if err != nil {
		return 0, err
	}
	head, err := d.Event(ctx, o.Incident, h.Seq)
	if err != nil {
		return 0, err
	}
	var incIdx int64
	if err := d.sql.QueryRowContext(ctx, "SELECT ifnull(log_idx, -1) FROM incidents WHERE id = ?", inc.ID).Scan(&incIdx); err != nil {
		return 0, err
	}
	cp := o.Checkpoint
	if cp == nil {
		c, ok, err := d.newestCovering(ctx, head.LogIndex)
		if err != nil {
			return 0, err
		}
		if ok {
			cp = &c
		}
	}
	decl := ExportDeclaration{Record: "incident", Incident: inc.ID, Book: inc.Book, Title: inc.Title, Kind: inc.Kind, Drill: inc.Drill,
		DeclaredAtMS: inc.DeclaredAt.UnixMilli(), DeclaredAt: inc.DeclaredAt.Format(time.RFC3339Nano), DeclaredBy: inc.DeclaredBy,
		Hash: incidentHash(inc).String(), LogIndex: incIdx}
	end := ExportEnd{Record: "end", Incident: inc.ID, HeadSeq: head.Seq, HeadHash: head.Hash.String(), HeadLogIndex: head.LogIndex,
		Complete: len(o.Types) == 0 && o.Since.IsZero() && o.Until.IsZero() && o.AfterSeq == 0}
	if cp != nil && uint64(head.LogIndex) < cp.Size && incIdx >= 0 {
		ip, err := inclusionProof(ctx, d.sql, uint64(incIdx), cp.Size)
		if err != nil {
			return 0, fmt.Errorf("export: %w", err)
		}
		hp, err := inclusionProof(ctx, d.sql, uint64(head.LogIndex), cp.Size)
		if err != nil {
			return 0, fmt.Errorf("export: %w", err)
		}
		decl.InclusionProof, end.HeadInclusionProof = hexList(ip), hexList(hp)
		end.Checkpoint, end.TreeSize = string(cp.Note), cp.Size
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(decl); err != nil {
		return 0, err
	}
	n := 0
	err = d.Events(ctx, o.Range, func(e Event) error {
		if e.Seq > head.Seq {
			return nil // appended while exporting: past the head this export proves
		}
		n++
		l := ToExportLine(e)
		l.Record = "event"
		return enc.Encode(l)
	})
	if err != nil {
		return n, err
	}
	end.Events = n
	if err := enc.Encode(end); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

func hexList(hs [][]byte) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = hex.EncodeToString(h)
	}
	return out
}

// WriteEventsJSONL writes the events selected by r, one JSON object a
// line, and nothing else (for a timeline printed as JSON).
func (d *DB) WriteEventsJSONL(ctx context.Context, w io.Writer, r Range) (int, error) {
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
