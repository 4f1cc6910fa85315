package tui

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/render"
)

// review is the audit scribe's view (review mode): every incident, then
// one incident's whole record with its chain status and audit-trail
// completeness.
type review struct {
	c             *common
	width, height int
	now           time.Time
	// wide is set when the terminal is wide enough for the completeness
	// check beside the timeline.
	wide      bool
	filtering bool

	list     []incident.Status
	shown    []int // indexes into list after the filter
	cursor   int
	byLength bool

	// One incident under review.
	open    *incident.Status
	events  []incident.Entry
	rows    []int // indexes into events after the filter
	fixes   map[int64][]incident.Entry
	items   []incident.AuditItem
	trail   string // what the items come from (AZ-015 §32, a book's list)
	chain   string
	chainOK bool
	offset  int
	hashes  bool
	filter  string

	// report is the rendered monthly review, when shown.
	report    string
	reportTop int
}

type (
	reviewListMsg struct {
		list []incident.Status
		err  error
	}
	reviewOpenMsg struct {
		status incident.Status
		events []incident.Entry
		items  []incident.AuditItem
		trail  string
		report incident.VerifyReport
		err    error
	}
	exportedMsg struct {
		path string
		err  error
	}
)

func loadReviewList(ctx context.Context, svc *incident.Service) tea.Cmd {
	return func() tea.Msg {
		list, err := svc.List(ctx, incident.ListFilter{Kind: incident.KindIncident})
		return reviewListMsg{list: list, err: err}
	}
}

func loadReview(ctx context.Context, svc *incident.Service, id string) tea.Cmd {
	return func() tea.Msg {
		st, err := svc.Status(ctx, id)
		if err != nil {
			return reviewOpenMsg{err: err}
		}
		events, err := svc.Entries(ctx, incident.Range{Incident: id})
		if err != nil {
			return reviewOpenMsg{err: err}
		}
		items, err := svc.Completeness(ctx, id)
		if err != nil {
			return reviewOpenMsg{err: err}
		}
		rep, err := svc.Verify(ctx, id)
		return reviewOpenMsg{status: st, events: events, items: items.Items, trail: items.Source, report: rep, err: err}
	}
}

// filterList applies the filter words to the incidents list: each word must
// appear in the book, severity, state, month (YYYY-MM), title or "drill".
func (r *review) filterList() {
	r.shown = r.shown[:0]
	words := strings.Fields(strings.ToLower(r.filter))
	for i, s := range r.list {
		hay := strings.ToLower(strings.Join([]string{s.Book, s.Severity, s.State, s.DeclaredAt.Format("2006-01"), s.Title, s.Short(), map[bool]string{true: "drill"}[s.Drill]}, " "))
		ok := true
		for _, w := range words {
			ok = ok && strings.Contains(hay, w)
		}
		if ok {
			r.shown = append(r.shown, i)
		}
	}
	if r.byLength {
		sort.SliceStable(r.shown, func(a, b int) bool {
			x, y := r.list[r.shown[a]], r.list[r.shown[b]]
			return x.LastAt.Sub(x.DeclaredAt) > y.LastAt.Sub(y.DeclaredAt)
		})
	}
	r.cursor = min(r.cursor, max(0, len(r.shown)-1))
}

// filterEvents applies the filter words to the open incident's timeline:
// each word must appear in the type, actor or text; "since:T" and
// "until:T" keep a time window, T being HH:MM on any day or a full
// "2026-11-22T03:00" (UTC).
func (r *review) filterEvents() {
	r.rows = r.rows[:0]
	words := strings.Fields(strings.ToLower(r.filter))
	for i, e := range r.events {
		hay := strings.ToLower(e.Type + " " + e.Actor + " " + e.Line())
		ok := true
		for _, w := range words {
			if since, found := strings.CutPrefix(w, "since:"); found {
				ok = ok && timeKey(e, since) >= since
				continue
			}
			if until, found := strings.CutPrefix(w, "until:"); found {
				ok = ok && timeKey(e, until) < until
				continue
			}
			ok = ok && strings.Contains(hay, w)
		}
		if ok {
			r.rows = append(r.rows, i)
		}
	}
	r.offset = 0
}

// timeKey formats an event's UTC time like the bound it is compared with:
// HH:MM, or a full date and time.
func timeKey(e incident.Entry, bound string) string {
	if len(bound) <= 5 {
		return e.Time.UTC().Format("15:04")
	}
	return strings.ToLower(e.Time.UTC().Format("2006-01-02T15:04"))
}

func newReview(c *common) review { return review{c: c} }

func (r *review) SetSize(w, h int) { r.width, r.height = w, h }

// capturing reports whether keys go to the filter being typed.
func (r *review) capturing() bool { return r.filtering }

func (r *review) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case reviewListMsg:
		if msg.err != nil {
			r.c.post(statusMsg{text: msg.err.Error(), err: true})
			return nil
		}
		r.list = msg.list
		r.filterList()
	case reviewOpenMsg:
		if msg.err != nil {
			r.c.post(statusMsg{text: msg.err.Error(), err: true})
			return nil
		}
		r.opened(msg)
	case monthlyMsg:
		if msg.err != nil {
			r.c.post(statusMsg{text: msg.err.Error(), err: true})
		} else {
			r.report, r.reportTop = msg.text, 0
			r.c.post(statusMsg{text: "monthly review " + r.now.Format("2006-01") + " · ↑/↓ scroll · m or esc closes"})
		}
	case exportedMsg:
		if msg.err != nil {
			r.c.post(statusMsg{text: fmt.Errorf("export failed: %w", msg.err).Error(), err: true})
		} else {
			r.c.post(statusMsg{text: "exported to " + msg.path})
		}
	case tea.KeyMsg:
		return r.key(msg)
	}
	return nil
}

func (r *review) key(msg tea.KeyMsg) tea.Cmd {
	k := r.c.keys
	if r.filtering {
		switch msg.Type {
		case tea.KeyEnter, tea.KeyEsc:
			r.filtering = false
			if msg.Type == tea.KeyEsc {
				r.filter = ""
			}
		case tea.KeyBackspace:
			if r.filter != "" {
				r.filter = r.filter[:len(r.filter)-1]
			}
		default:
			r.filter += string(msg.Runes)
			if msg.Type == tea.KeySpace {
				r.filter += " "
			}
		}
		if r.open != nil {
			r.filterEvents()
		} else {
			r.filterList()
		}
		return nil
	}
	switch {
	case key.Matches(msg, k.Filter):
		r.filtering = true
		return nil
	case key.Matches(msg, k.Back) || key.Matches(msg, k.Review):
		if r.report != "" && !key.Matches(msg, k.Review) {
			r.report = ""
			return nil
		}
		if r.open != nil && !key.Matches(msg, k.Review) {
			r.open, r.filter = nil, ""
			r.filterList()
			return nil
		}
		r.c.post(modeMsg{respondMode})
		return nil
	}
	rows := r.height - 2
	if r.report != "" {
		if !scrollText(&r.reportTop, msg, k, rows) && key.Matches(msg, k.Monthly) {
			r.report = ""
		}
		return nil
	}
	if r.open == nil {
		switch {
		case key.Matches(msg, k.Monthly):
			r.c.post(statusMsg{text: "computing this month's review…"})
			return loadMonthly(r.c.ctx, r.c.svc, r.now, min(r.width-6, render.MaxReadWidth), r.c.theme)
		case key.Matches(msg, k.Up):
			r.cursor = max(0, r.cursor-1)
		case key.Matches(msg, k.Down):
			r.cursor = min(max(0, len(r.shown)-1), r.cursor+1)
		case key.Matches(msg, k.Sort):
			r.byLength = !r.byLength
			r.filterList()
		case key.Matches(msg, k.Open):
			if len(r.shown) > 0 {
				return loadReview(r.c.ctx, r.c.svc, r.list[r.shown[r.cursor]].ID)
			}
		}
		return nil
	}
	switch {
	case key.Matches(msg, k.Up):
		r.offset = min(r.offset+1, max(0, len(r.rows)-1))
	case key.Matches(msg, k.Down):
		r.offset = max(0, r.offset-1)
	case key.Matches(msg, k.PageUp):
		r.offset = min(r.offset+rows, max(0, len(r.rows)-1))
	case key.Matches(msg, k.PageDown):
		r.offset = max(0, r.offset-rows)
	case key.Matches(msg, k.Hashes):
		r.hashes = !r.hashes
	case key.Matches(msg, k.ExportJSONL):
		return exportIncident(r.c.ctx, r.c.svc, *r.open, "jsonl")
	case key.Matches(msg, k.ExportMarkdown):
		return exportIncident(r.c.ctx, r.c.svc, *r.open, "md")
	}
	return nil
}

func (r *review) ShortHelp() []key.Binding {
	k := r.c.keys
	switch {
	case r.report != "":
		return []key.Binding{k.Up, k.Down, k.PageDown, k.Monthly, k.Back}
	case r.open == nil:
		return []key.Binding{k.Up, k.Down, k.Open, k.Filter, k.Back, k.Quit, k.Sort, k.Monthly}
	}
	return []key.Binding{k.Up, k.Down, k.Filter, k.Back, k.Hashes, k.ExportJSONL, k.ExportMarkdown}
}

func (r *review) FullHelp() [][]key.Binding { return [][]key.Binding{r.ShortHelp()} }

// exportIncident writes the timeline (JSONL) or the postmortem draft
// (Markdown) to a new file in the current folder.
func exportIncident(ctx context.Context, svc *incident.Service, st incident.Status, format string) tea.Cmd {
	return func() tea.Msg {
		var buf bytes.Buffer
		name := st.Short() + ".jsonl"
		if format == "md" {
			name = st.Short() + "-postmortem.md"
		}
		if err := svc.Export(ctx, &buf, format, incident.Range{Incident: st.ID}); err != nil {
			return exportedMsg{err: err}
		}
		path, _ := filepath.Abs(name)
		for i := 2; ; i++ {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if os.IsExist(err) {
				path, _ = filepath.Abs(fmt.Sprintf("%s.%d", name, i))
				continue
			}
			if err != nil {
				return exportedMsg{err: err}
			}
			_, err = f.Write(buf.Bytes())
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			return exportedMsg{path: path, err: err}
		}
	}
}

func (r *review) opened(msg reviewOpenMsg) {
	st := msg.status
	r.open, r.events, r.items, r.trail, r.filter, r.offset = &st, msg.events, msg.items, msg.trail, "", 0
	r.fixes = map[int64][]incident.Entry{}
	for _, e := range msg.events {
		if c, ok := e.Payload.(incident.Correction); ok {
			r.fixes[c.Corrects] = append(r.fixes[c.Corrects], e)
		}
	}
	r.chainOK = msg.report.OK()
	if r.chainOK {
		r.chain = fmt.Sprintf("chain verified · %d events · head %s", msg.report.Events, msg.report.Heads[st.ID])
	} else if len(msg.report.Problems) > 0 {
		r.chain = "chain BROKEN: " + msg.report.Problems[0].String()
	}
	r.filterEvents()
}

func (r *review) View() string {
	st := r.c.styles
	w, h := r.width, r.height
	if r.report != "" {
		lines := strings.Split(r.report, "\n")
		top := min(r.reportTop, max(0, len(lines)-(h-2)))
		end := min(len(lines), top+h-2)
		return framed(st, strings.Join(lines[top:end], "\n"), w, h, true)
	}
	if r.open == nil {
		lines := []string{st.Title.Render(fmt.Sprintf("Review · %d of %d incidents", len(r.shown), len(r.list))) +
			st.Muted.Render(map[bool]string{false: " · by declared time", true: " · by duration"}[r.byLength])}
		if r.filtering || r.filter != "" {
			lines = append(lines, "/"+termsafe.EscapeLine(r.filter))
		}
		rows := h - 2 - len(lines)
		start := max(0, r.cursor-rows+1)
		for i := start; i < len(r.shown) && len(lines) < h-2; i++ {
			s := r.list[r.shown[i]]
			drill := ""
			if s.Drill {
				drill = "[drill] "
			}
			line := fmt.Sprintf("%s %-7s %-9s %s %6s %s%s", s.Short(), s.Severity, s.State, s.DeclaredAt.Format("2006-01-02"), render.ShortDuration(s.LastAt.Sub(s.DeclaredAt)), drill, termsafe.EscapeLine(s.Title))
			line = truncate(line, w-6)
			if i == r.cursor {
				line = "›" + st.Selected.Render(line)
			} else {
				line = " " + line
			}
			lines = append(lines, line)
		}
		if len(r.list) == 0 {
			lines = append(lines, st.Muted.Render("no incident in the ledger yet"))
		}
		if len(lines) < h-2 {
			lines = append(lines, st.Muted.Render("m this month's review"))
		}
		return framed(st, strings.Join(lines, "\n"), w, h, true)
	}
	// One incident: chain status, completeness, timeline.
	chain := st.OK.Render(r.chain)
	if !r.chainOK {
		chain = st.Error.Render(r.chain)
	}
	head := []string{st.Title.Render(truncate(termsafe.EscapeLine(r.open.Short()+" "+r.open.Title), w-4)), truncate(chain, w-4)}
	var audit []string
	for _, it := range r.items {
		mark := st.Error.Render("✗ missing")
		if it.Present {
			mark = st.OK.Render(fmt.Sprintf("✓ #%d", it.Seq))
			if it.By != "" {
				mark += st.Muted.Render(" " + it.By)
			}
		}
		audit = append(audit, truncate(fmt.Sprintf("%-44s %s", it.Name, mark), w-4))
	}
	var tl []string
	hdr := fmt.Sprintf("Timeline %d of %d", len(r.rows), len(r.events))
	if r.filter != "" || r.filtering {
		hdr += " · /" + termsafe.EscapeLine(r.filter)
	}
	tl = append(tl, st.Title.Render(hdr))
	var body string
	if r.wide {
		// Completeness beside the timeline.
		aw := 62
		rows := h - 2 - len(head) - 1
		tl = append(tl, r.reviewRows(w-aw-8, rows)...)
		left := strings.Join(append([]string{st.Title.Render(truncate(termsafe.EscapeLine("Audit trail ("+r.trail+")"), aw))}, audit...), "\n")
		body = strings.Join(head, "\n") + "\n" + joinColumns(left, aw, strings.Join(tl, "\n"))
	} else {
		rows := h - 2 - len(head) - len(audit) - 2
		tl = append(tl, r.reviewRows(w-6, rows)...)
		body = strings.Join(head, "\n") + "\n" + st.Title.Render(truncate(termsafe.EscapeLine("Audit trail ("+r.trail+")"), w-4)) + "\n" + strings.Join(audit, "\n") + "\n" + strings.Join(tl, "\n")
	}
	return framed(st, body, w, h, true)
}

// reviewRows draws the filtered timeline rows that fit, newest at the
// bottom, with corrections beside the entries they correct.
func (r *review) reviewRows(width, rows int) []string {
	var lines []string
	end := len(r.rows) - r.offset
	for i := end - 1; i >= 0 && len(lines) < rows; i-- {
		e := r.events[r.rows[i]]
		var block []string
		prefix := e.Time.UTC().Format("01-02 15:04:05") + " "
		if r.hashes {
			prefix = fmt.Sprintf("#%-4d %s %s", e.Seq, e.Hash.Short(), prefix)
		}
		block = append(block, truncate(prefix+termsafe.EscapeLine(e.Actor+" "+e.Type+": "+e.Line()), width))
		for _, c := range r.fixes[e.Seq] {
			cp, _ := c.Payload.(incident.Correction)
			block = append(block, truncate(fmt.Sprintf("    ↳ corrected by #%d (%s): %s", c.Seq, c.Actor, termsafe.EscapeLine(cp.Text)), width))
		}
		lines = append(block, lines...)
	}
	if len(lines) > rows {
		lines = lines[len(lines)-rows:]
	}
	return lines
}

// joinColumns puts two blocks side by side, the left padded to width.
func joinColumns(left string, width int, right string) string {
	l, r := strings.Split(left, "\n"), strings.Split(right, "\n")
	n := max(len(l), len(r))
	out := make([]string, n)
	for i := range n {
		a, b := "", ""
		if i < len(l) {
			a = l[i]
		}
		if i < len(r) {
			b = r[i]
		}
		out[i] = a + strings.Repeat(" ", max(1, width-lipgloss.Width(a))) + b
	}
	return strings.Join(out, "\n")
}

type monthlyMsg struct {
	text string
	err  error
}

// loadMonthly computes this month's review and renders it for the screen.
func loadMonthly(ctx context.Context, svc *incident.Service, now time.Time, width int, theme render.Theme) tea.Cmd {
	return func() tea.Msg {
		rep, err := svc.MonthlyReview(ctx, now, "")
		if err != nil {
			return monthlyMsg{err: err}
		}
		var md bytes.Buffer
		if err := rep.WriteMarkdown(&md); err != nil {
			return monthlyMsg{err: err}
		}
		out, err := render.Markdown(md.Bytes(), width, theme)
		return monthlyMsg{text: out, err: err}
	}
}
