package incident

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// draft gathers what the record says for a postmortem: each entry kind
// adds to it (postmortemPart), then WritePostmortem lays it out.
type draft struct {
	severity []string
	states   []string
	evidence []string
	procs    map[string]*procUse
	actions  []actionRow
	done     map[int64]bool
}

type procUse struct {
	ref     ProcedureRef
	checked []int
	skipped []string
}

type actionRow struct {
	seq  int64
	item ActionItem
}

// use returns the record of a procedure's use, by its exact text.
func (d *draft) use(r ProcedureRef) *procUse {
	k := r.ID + "@" + r.Hash
	if d.procs[k] == nil {
		d.procs[k] = &procUse{ref: r}
	}
	return d.procs[k]
}

// WritePostmortem writes a Markdown postmortem draft following O-900 and
// AZ-015 §33: everything the record holds, and a visible blank wherever it
// is silent, so the author knows what is left to write.
func (s *Service) WritePostmortem(ctx context.Context, w io.Writer, id string) error {
	st, err := s.Status(ctx, id)
	if err != nil {
		return err
	}
	entries, err := s.Entries(ctx, Range{Incident: id})
	if err != nil {
		return err
	}
	d := &draft{procs: map[string]*procUse{}, done: map[int64]bool{}}
	for _, e := range entries {
		if part, ok := e.Payload.(postmortemPart); ok {
			part.addTo(d, e.Event)
		}
	}
	ew := &errWriter{w: w}
	writePostmortem(ew, st, entries, d)
	return ew.err
}

// errWriter keeps the first write error, so a long report can be written
// with plain Fprintf calls and checked once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}

func writePostmortem(w io.Writer, st Status, entries []Entry, d *draft) {
	blank := "_(not in the record: to be written)_"
	md := markdown{w}
	p := md.p

	p("# Postmortem draft: %s\n\n", st.Title)
	drill := ""
	if st.Drill {
		drill = " · **drill**"
	}
	p("Incident %s · book %s · declared %s by %s%s\n\n", st.Short(), st.Book, st.DeclaredAt.Format("2006-01-02 15:04 UTC"), st.DeclaredBy, drill)
	p("Record: %d events, chain head `%s` (check with `ic verify %s` or `scripts/verify-export`).\n\n", st.Events, st.HeadHash, st.Short())

	p("## Summary\n\n%s\n\n", blank)
	p("| | |\n|---|---|\n")
	p("| severity | %s |\n", cell(strings.Join(d.severity, "; ")))
	p("| state | %s |\n", st.State)
	if st.Class != "" {
		p("| class | %s |\n", cell(st.Class))
	}
	if len(d.states) > 0 {
		p("| state changes | %s |\n", cell(strings.Join(d.states, "; ")))
	}
	p("| duration | %s (declared to last entry) |\n\n", st.LastAt.Sub(st.DeclaredAt).Round(time.Minute))

	p("## Blast radius\n\n%s\n\n", blank)

	p("## Timeline\n\n")
	md.header("#", "time (UTC)", "actor", "entry")
	for _, e := range entries {
		md.row(e.Seq, e.Time.Format("2006-01-02 15:04:05"), cell(e.Who()), cell(e.Line()))
	}
	p("\n")

	p("## Evidence\n\n")
	list(md, "_(no evidence attached)_\n", d.evidence, func(ev string) string { return ev })
	p("\n## Procedures followed\n\n")
	keys := make([]string, 0, len(d.procs))
	for k := range d.procs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	list(md, "_(no procedure recorded)_\n", keys, func(k string) string {
		u := d.procs[k]
		line := fmt.Sprintf("%s v%d (sha256 `%.12s`): %d step(s) checked", u.ref.ID, u.ref.Version, u.ref.Hash, len(u.checked))
		if len(u.skipped) > 0 {
			line += "; " + strings.Join(u.skipped, "; ")
		}
		return line
	})
	p("\n### What worked\n\n%s\n\n### What did not\n\n%s\n\n", blank, blank)

	p("## Action items\n\n")
	table(md, "_(no action items recorded)_\n", []string{"#", "owner", "due", "item", "done"}, d.actions, func(a actionRow) []any {
		return []any{a.seq, cell(a.item.Owner), a.item.Due, cell(a.item.Text), map[bool]string{true: "yes", false: "no"}[d.done[a.seq]]}
	})
	p("\n## Root cause class\n\n")
	p("%s Tick one:\n\n- [ ] protocol bug\n- [ ] implementation bug\n- [ ] ops failure\n- [ ] governance failure\n- [ ] external dependency\n\n", blank)
	p("## Root cause\n\n%s\n", blank)
}
