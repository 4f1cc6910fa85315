package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/render"
	"github.com/icconsole/ic/runbook"
)

// View draws the screen: header, body (panes side by side when wide, one
// pane under tabs when narrow), status line, note line, help bar.
func (m Model) View() string {
	parts := []string{m.headerView()}
	if m.mode == reviewMode {
		parts = append(parts, m.reviewView(), m.statusView(), m.noteView(), m.helpView())
		return lipgloss.JoinVertical(lipgloss.Left, parts...)
	}
	if !m.wide() {
		parts = append(parts, m.tabsView())
	}
	parts = append(parts, m.bodyView(), m.statusView(), m.noteView(), m.helpView())
	return lipgloss.JoinVertical(lipgloss.Left, parts...)
}

func (m *Model) helpHeight() int { return lipgloss.Height(m.helpView()) }

// bodyHeight is what is left for panes.
func (m *Model) bodyHeight() int {
	h := m.height - 2 - lipgloss.Height(m.statusView()) - 1 - m.helpHeight()
	if !m.wide() && m.mode != reviewMode {
		h--
	}
	return max(3, h)
}

// readerSize is the reader pane's outer size for the current layout.
func (m *Model) readerSize() (w, h int) {
	if m.wide() {
		return m.width - libraryWidth - sideWidth - 2, m.bodyHeight()
	}
	return m.width, m.bodyHeight()
}

func (m Model) headerView() string {
	st := m.styles
	w := m.width
	if m.mode == reviewMode {
		return spread(st.Header.Render("ic review"), st.HeaderMuted.Render("audit scribe · read-only"), w) + "\n" +
			st.Muted.Render(truncate("enter open · / filter · O sort · m monthly · # seq/hash · J/M export · esc back", w))
	}
	if m.incident != nil && m.incident.Kind == "routine" {
		in := m.incident
		line1 := strings.Join([]string{st.Header.Render(in.Short()), st.RoutineMark.Render("ROUTINE RUN"), "⏱ " + render.ShortDuration(m.now.Sub(in.DeclaredAt))}, "  ")
		return line1 + "\n" + st.Title.Render(truncateWords(termsafe.EscapeLine(in.Title), w))
	}
	if m.incident == nil {
		name := "no book loaded"
		if b := m.currentBook(); b != nil {
			name = b.Policy.Title
		}
		left := st.Header.Render("ic") + " " + truncate(termsafe.EscapeLine(name), w-22)
		line1 := spread(left, st.HeaderMuted.Render("no open incident"), w)
		return line1 + "\n" + st.Muted.Render(truncate("D declare · o open an incident · / filter the library · ? all keys", w))
	}
	in := m.incident
	rank := 3
	if b := m.currentBook(); b != nil {
		if r := b.Policy.Rank(in.Severity); r >= 0 && r < 3 {
			rank = r
		}
	}
	sev := st.Severity[rank].Render(" " + in.Severity + " ")
	segments := []string{
		st.Header.Render(in.Short()),
		sev,
		st.Title.Render(in.State),
		"⏱ " + render.ShortDuration(m.now.Sub(in.DeclaredAt)),
		m.countdown(),
	}
	if in.Drill {
		segments = append(segments, st.Muted.Render("DRILL"))
	}
	line1 := ""
	for _, s := range segments {
		if s == "" {
			continue
		}
		next := s
		if line1 != "" {
			next = line1 + "  " + s
		}
		if lipgloss.Width(next) > w {
			break // drop whole segments, never cut one mid-word
		}
		line1 = next
	}
	title := truncateWords(termsafe.EscapeLine(in.Title), w)
	return line1 + "\n" + st.Title.Render(title)
}

// countdown says when the next status update is due, red when overdue.
func (m Model) countdown() string {
	in := m.incident
	switch {
	case in.Closed:
		return m.styles.Muted.Render("closed")
	case in.UpdateDue.IsZero():
		return m.styles.Muted.Render("no update cadence")
	case in.Overdue(m.now):
		return m.styles.Overdue.Render(" UPDATE OVERDUE " + render.ShortDuration(m.now.Sub(in.UpdateDue)) + " ")
	}
	return "update in " + render.ShortDuration(in.UpdateDue.Sub(m.now))
}

func (m Model) tabsView() string {
	var tabs []string
	for _, p := range m.panes() {
		name := paneNames[p]
		if p == stepsPane && m.steps.proc != nil {
			d, t := m.steps.progress()
			name = fmt.Sprintf("%s %d/%d", name, d, t)
		}
		if p == m.focus {
			// Brackets mark the tab without colour too.
			tabs = append(tabs, m.styles.ActiveTab.Render("["+name+"]"))
		} else {
			tabs = append(tabs, m.styles.Tab.Render(name))
		}
	}
	return truncate(strings.Join(tabs, ""), m.width)
}

func (m Model) bodyView() string {
	h := m.bodyHeight()
	if m.form != nil {
		inner := m.form.view(m.styles, m.width-4)
		return m.styles.FocusFrame.Width(m.width-2).Height(h-2).MaxHeight(h).Padding(0, 1).Render(inner)
	}
	if !m.wide() {
		switch m.focus {
		case readerPane:
			return m.readerView()
		case stepsPane:
			return m.framed(m.stepsView(m.width-4, h-2), m.width, h, true)
		case timelinePane:
			return m.framed(m.timelineView(m.width-4, h-2), m.width, h, true)
		case syncPane:
			return m.framed(m.syncView(m.width-4, h-2), m.width, h, true)
		}
		return m.libraryView(m.width, h)
	}
	var left string
	if m.focus == stepsPane || (m.steps.proc != nil && m.focus != libraryPane) {
		left = m.framed(m.stepsView(libraryWidth-4, h-2), libraryWidth, h, m.focus == stepsPane)
	} else {
		left = m.libraryView(libraryWidth, h)
	}
	right := m.framed(m.timelineView(sideWidth-4, h-2), sideWidth, h, m.focus == timelinePane)
	if m.sync.visible {
		th := h / 2
		right = lipgloss.JoinVertical(lipgloss.Left,
			m.framed(m.timelineView(sideWidth-4, th-2), sideWidth, th, m.focus == timelinePane),
			m.framed(m.syncView(sideWidth-4, h-th-2), sideWidth, h-th, m.focus == syncPane))
	}
	return lipgloss.JoinHorizontal(lipgloss.Top, left, " ", m.readerView(), " ", right)
}

// framed draws content in a border of the given outer size.
func (m Model) framed(content string, w, h int, focused bool) string {
	frame := m.styles.PlainFrame
	if focused {
		frame = m.styles.FocusFrame
	}
	return frame.Width(w-2).Height(h-2).MaxHeight(h).Padding(0, 1).Render(content)
}

func (m Model) libraryView(width, h int) string {
	var lines []string
	if m.filtering || m.filter.Value() != "" {
		m.filter.Width = max(1, width-3)
		lines = append(lines, m.filter.View())
	}
	if b := m.currentBookForLibrary(); b != nil {
		lines = append(lines, m.styles.Muted.Render(truncate(fmt.Sprintf("book %s · %d of %d · b next book", b.ID, len(m.items), len(b.Procedures)), width)))
	}
	rows := h - len(lines)
	if len(m.items) == 0 {
		lines = append(lines, m.styles.Muted.Render("no procedure matches"))
	}
	start := 0
	if m.cursor >= rows {
		start = m.cursor - rows + 1
	}
	for i := start; i < len(m.items) && len(lines) < h; i++ {
		p := m.items[i]
		text := truncate(termsafe.EscapeLine(p.ID+"  "+p.Title), width-4)
		pointer := " "
		if i == m.cursor {
			// The pointer keeps the selection visible without colour.
			pointer = "›"
			if m.focus == libraryPane {
				text = m.styles.Selected.Render(text)
			}
		}
		lines = append(lines, pointer+m.kindMark(p.Kind)+" "+text)
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return lipgloss.NewStyle().Width(width).MaxWidth(width).Render(strings.Join(lines, "\n"))
}

func (m Model) currentBookForLibrary() *runbook.Book {
	if len(m.books) == 0 {
		return nil
	}
	return m.books[m.book]
}

func (m Model) kindMark(k runbook.Kind) string {
	switch k {
	case runbook.Incident:
		return m.styles.IncidentMark.Render("●")
	case runbook.Routine:
		return m.styles.RoutineMark.Render("○")
	}
	return m.styles.ReferenceMark.Render("·")
}

func (m Model) readerView() string {
	w, h := m.readerSize()
	frame := m.styles.PlainFrame
	content := m.styles.Muted.Render(wrap("Select a procedure in the library and press enter to read it.", max(10, w-4)))
	if m.shown != nil {
		switch m.shown.Kind {
		case runbook.Incident:
			frame = m.styles.IncidentFrame
		case runbook.Routine:
			frame = m.styles.RoutineFrame
		}
		vp := m.reader
		vp.Width, vp.Height = max(1, w-4), max(1, h-2)
		content = vp.View()
		if m.stepLine >= 0 && m.steps.proc == m.shown {
			// Mark the current step's line, when it is on screen.
			if row := m.stepLine - vp.YOffset; row >= 0 && row < vp.Height {
				rows := strings.Split(content, "\n")
				if row < len(rows) {
					rows[row] = "▶" + strings.TrimPrefix(rows[row], " ")
				}
				content = strings.Join(rows, "\n")
			}
		}
	}
	return frame.Width(w-2).Height(h-2).MaxHeight(h).Padding(0, 1).Render(content)
}

func (m Model) statusView() string {
	st := m.styles
	if m.confirmQuit {
		msg := "Quit? "
		if m.note.Value() != "" {
			msg += "Your unsent note is kept as a draft and restored next time. "
		}
		if m.form != nil {
			msg += "The open form will be lost. "
		}
		return st.Error.Render(truncate(msg+"y quits · n stays", m.width))
	}
	text := m.status
	if text == "" {
		text = m.context()
	}
	if m.statusErr {
		// An error is read in full (a refused close lists what is
		// missing): up to three lines.
		lines := strings.Split(wrap(termsafe.EscapeLine(text), m.width), "\n")
		if len(lines) > 3 {
			lines = lines[:3]
			lines[2] = truncate(lines[2]+" …", m.width)
		}
		for i := range lines {
			lines[i] = truncate(lines[i], m.width)
		}
		return st.Error.Render(strings.Join(lines, "\n"))
	}
	return st.Status.Render(truncate(termsafe.EscapeLine(text), m.width))
}

// context is the status line's default: what is on screen.
func (m Model) context() string {
	if m.shown != nil && (m.focus == readerPane || m.wide()) {
		p := m.shown
		return fmt.Sprintf("%s v%d · %d steps · sha256 %s · %3.0f%%", p.ID, p.Version, len(p.Steps), p.Hash[:12], m.reader.ScrollPercent()*100)
	}
	return ""
}

func (m Model) noteView() string {
	if m.noting {
		m.note.Width = max(10, m.width-8)
		return m.note.View()
	}
	if v := m.note.Value(); v != "" {
		return m.styles.Muted.Render(truncate("draft: "+termsafe.EscapeLine(v)+"  (n to continue)", m.width))
	}
	return m.styles.Muted.Render(truncate("n or : writes a note to the timeline", m.width))
}

// helpView shows the keys that work right now.
func (m Model) helpView() string {
	m.help.Width = m.width
	k := m.keys
	var short []key.Binding
	switch {
	case m.confirmQuit:
		short = []key.Binding{k.ConfirmQuit, k.CancelQuit}
	case m.mode == reviewMode && m.review.report != "":
		short = []key.Binding{k.Up, k.Down, k.PageDown, k.Monthly, k.Back}
	case m.mode == reviewMode && m.review.open == nil:
		short = []key.Binding{k.Up, k.Down, k.Open, k.Filter, k.Sort, k.Monthly, k.Back, k.Quit}
	case m.mode == reviewMode:
		short = []key.Binding{k.Up, k.Down, k.Filter, k.Hashes, k.ExportJSONL, k.ExportMarkdown, k.Back}
	case m.form != nil:
		short = []key.Binding{k.Submit, k.Cancel}
	case m.noting:
		short = []key.Binding{k.Submit, k.Cancel}
	case m.filtering:
		short = []key.Binding{k.FilterAccept, k.FilterCancel}
	default:
		switch m.focus {
		case libraryPane:
			short = []key.Binding{k.Up, k.Down, k.Open, k.Filter, k.Link}
		case readerPane:
			short = []key.Binding{k.ReadingScrollD, k.Link, k.Back}
		case stepsPane:
			short = []key.Binding{k.Check, k.Skip}
			if m.incident != nil && m.incident.Kind == "routine" {
				short = append(short, k.Fail)
			}
			if m.steps.pausing {
				short = append(short, k.SkipPause)
			}
		case timelinePane:
			short = []key.Binding{k.Up, k.Down, k.UTC}
		case syncPane:
			short = []key.Binding{k.SyncRun, k.SyncAppend}
		}
		if m.incident == nil {
			short = append(short, k.Declare, k.OpenIncident, k.Routine, k.Review)
		} else {
			short = append(short, k.Note, k.Update, k.State)
		}
		short = append(short, k.NextPane, k.Help, k.Quit)
	}
	if m.help.ShowAll {
		return m.fullHelp(k.FullHelp())
	}
	// bubbles/help can overflow its width by an item when the ellipsis
	// does not fit (v1.0.0); cut each line to the terminal.
	lines := strings.Split(m.help.View(keyHelp{short: short, full: k.FullHelp()}), "\n")
	for i, l := range lines {
		lines[i] = truncate(l, m.width)
	}
	return strings.Join(lines, "\n")
}

// fullHelp lays the key groups out in bands of columns that fit the
// terminal, so every key is shown at 80 columns too.
func (m Model) fullHelp(groups [][]key.Binding) string {
	h := m.help
	h.Width = 0
	var bands []string
	var band [][]key.Binding
	for _, g := range groups {
		try := append(append([][]key.Binding(nil), band...), g)
		if len(band) > 0 && lipgloss.Width(h.FullHelpView(try)) > m.width {
			bands = append(bands, h.FullHelpView(band))
			band = [][]key.Binding{g}
			continue
		}
		band = try
	}
	if len(band) > 0 {
		bands = append(bands, h.FullHelpView(band))
	}
	lines := strings.Split(strings.Join(bands, "\n"), "\n")
	for i, l := range lines {
		lines[i] = truncate(l, m.width)
	}
	return strings.Join(lines, "\n")
}

// spread puts left and right on one line of width w.
func spread(left, right string, w int) string {
	gap := w - lipgloss.Width(left) - lipgloss.Width(right)
	if gap < 1 {
		return truncate(left, w)
	}
	return left + strings.Repeat(" ", gap) + right
}

// truncate cuts s to at most w cells, marking the cut with an ellipsis. It
// is linear in len(s) (it runs for every visible row of every frame).
func truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	return ansi.Truncate(s, w, "…")
}

// truncateWords cuts s at a word boundary to fit w cells.
func truncateWords(s string, w int) string {
	if lipgloss.Width(s) <= w {
		return s
	}
	cut := truncate(s, w)
	if i := strings.LastIndex(cut, " "); i > w/2 {
		return cut[:i] + " …"
	}
	return cut
}
