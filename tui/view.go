package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/icconsole/ic/internal/termsafe"
)

// wideWidth is the narrowest terminal that shows the panes side by side;
// narrower ones show one pane at a time under tabs.
const wideWidth = 120

func (m *Model) wide() bool { return m.width >= wideWidth }

// readerWidth is the runbook pane's share of a wide terminal: at least
// three fifths, for the text an operator reads while acting.
func (m *Model) readerWidth() int { return (m.width*3 + 4) / 5 }

// column is the left column of a wide terminal: what is on top (the
// library or the checklist), the timeline below it when an incident is
// open, the sync panel at the bottom when shown; heights in rows.
type column struct {
	library       bool
	top, tl, sync int
}

func (m *Model) column(bh int) column {
	c := column{library: m.focus == libraryPane || len(m.steps.stack) == 0}
	if m.sync.visible {
		c.sync = max(6, bh/3)
	}
	if m.incident != nil {
		c.tl = (bh - c.sync) / 2
	}
	c.top = bh - c.sync - c.tl
	return c
}

// layout gives every pane its size for the current terminal and state.
func (m *Model) layout() { m.layoutBody(m.bodyHeight()) }

// layoutBody gives every pane its size with bh lines for the body.
func (m *Model) layoutBody(bh int) {
	m.header.SetSize(m.width, 2)
	m.note.SetSize(m.width, 1)
	m.review.SetSize(m.width, bh)
	m.review.wide = m.wide()
	if m.detail != nil {
		m.detail.SetSize(m.width-4, bh-2)
	}
	if !m.wide() {
		m.library.SetSize(m.width, bh)
		m.reader.SetSize(m.width, bh)
		m.steps.SetSize(m.width-4, bh-2)
		m.timeline.SetSize(m.width-4, bh-2)
		m.sync.SetSize(m.width-4, bh-2)
		return
	}
	lw := m.width - m.readerWidth() - 1
	col := m.column(bh)
	m.reader.SetSize(m.readerWidth(), bh)
	m.library.SetSize(lw, col.top)
	m.steps.SetSize(lw-4, col.top-2)
	m.timeline.SetSize(lw-4, max(1, col.tl-2))
	m.sync.SetSize(lw-4, max(1, col.sync-2))
}

// View draws the screen: header, body (panes side by side when wide, one
// pane under tabs when narrow), status line, note line, help bar.
func (m Model) View() string {
	// The status and help lines decide the body's height: each is drawn
	// once a frame.
	status, help := m.statusView(), m.helpView()
	bh := m.bodyHeightFor(status, help)
	m.layoutBody(bh)
	m.header.incident, m.header.book, m.header.mode = m.incident, m.currentBook(), m.mode
	m.header.others = m.others
	m.library.focused = m.focus == libraryPane
	m.reader.focused = m.focus == readerPane
	m.steps.focused = m.focus == stepsPane
	m.timeline.focused = m.focus == timelinePane
	m.sync.focused = m.focus == syncPane
	parts := []string{m.header.View()}
	if m.mode == reviewMode {
		// The scribe's view is read-only: no note line.
		parts = append(parts, m.review.View(), status, help)
		return lipgloss.JoinVertical(lipgloss.Left, parts...)
	}
	if !m.wide() {
		parts = append(parts, m.tabsView())
	}
	parts = append(parts, m.bodyView(bh), status, m.note.View(), help)
	return lipgloss.JoinVertical(lipgloss.Left, parts...)
}

// headerView is the header as it is drawn now.
func (m Model) headerView() string {
	m.header.incident, m.header.book, m.header.mode = m.incident, m.currentBook(), m.mode
	m.header.others = m.others
	m.header.now = m.now
	return m.header.View()
}

// bodyHeight is what is left for panes.
func (m *Model) bodyHeight() int { return m.bodyHeightFor(m.statusView(), m.helpView()) }

// bodyHeightFor is what is left for panes under these status and help
// lines.
func (m *Model) bodyHeightFor(status, help string) int {
	h := m.height - 2 - lipgloss.Height(status) - lipgloss.Height(help)
	if m.mode != reviewMode {
		h -= m.note.Height()
		if !m.wide() {
			h-- // the tabs
		}
	}
	return max(3, h)
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
			tabs = append(tabs, m.c.styles.ActiveTab.Render("["+name+"]"))
		} else {
			tabs = append(tabs, m.c.styles.Tab.Render(name))
		}
	}
	return truncate(strings.Join(tabs, ""), m.width)
}

// bodyView draws the panes in h lines.
func (m Model) bodyView(h int) string {
	st := m.c.styles
	switch {
	case m.help.ShowAll:
		return framed(st, m.fullHelp(m.c.keys.FullHelp(), m.width-4), m.width, h, true)
	case m.form != nil:
		inner := m.form.view(st, m.width-4)
		return st.FocusFrame.Width(m.width-2).Height(h-2).MaxHeight(h).Padding(0, 1).Render(inner)
	case m.detail != nil:
		return framed(st, m.detail.View(), m.width, h, true)
	}
	if !m.wide() {
		switch m.focus {
		case readerPane:
			return m.reader.View()
		case stepsPane:
			return framed(st, m.steps.View(), m.width, h, true)
		case timelinePane:
			return framed(st, m.timeline.View(), m.width, h, true)
		case syncPane:
			return framed(st, m.sync.View(), m.width, h, true)
		}
		return m.library.View()
	}
	lw := m.width - m.readerWidth() - 1
	col := m.column(h)
	var left []string
	if col.library {
		left = append(left, m.library.View())
	} else {
		left = append(left, framed(st, m.steps.View(), lw, col.top, m.focus == stepsPane))
	}
	if col.tl > 0 {
		left = append(left, framed(st, m.timeline.View(), lw, col.tl, m.focus == timelinePane))
	}
	if col.sync > 0 {
		left = append(left, framed(st, m.sync.View(), lw, col.sync, m.focus == syncPane))
	}
	return lipgloss.JoinHorizontal(lipgloss.Top, lipgloss.JoinVertical(lipgloss.Left, left...), " ", m.reader.View())
}

// framed draws content in a border of the given outer size.
func framed(st *Styles, content string, w, h int, focused bool) string {
	frame := st.PlainFrame
	if focused {
		frame = st.FocusFrame
	}
	return frame.Width(w-2).Height(h-2).MaxHeight(h).Padding(0, 1).Render(content)
}

func (m Model) statusView() string {
	st := m.c.styles
	if m.confirmQuit {
		msg := "Quit? "
		if m.note.text() != "" {
			msg += "Your unsent note is kept as a draft and restored next time. "
		}
		if m.form != nil {
			msg += "The open form will be lost. "
		}
		return st.Error.Render(truncate(msg+"y quits · n stays", m.width))
	}
	text := m.status
	if text == "" && m.reader.shown != nil && (m.focus == readerPane || m.wide()) {
		text = m.reader.status()
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

// shortHelp lists the keys that work right now, the ones that matter
// most first; the help bar shows as many as fit.
func (m Model) shortHelp() []key.Binding {
	k := m.c.keys
	switch {
	case m.confirmQuit:
		return []key.Binding{k.ConfirmQuit, k.CancelQuit}
	case m.mode == reviewMode:
		return m.review.ShortHelp()
	case m.form != nil:
		return m.form.help(k)
	case m.note.capturing():
		return m.note.ShortHelp()
	case m.library.capturing():
		return m.library.ShortHelp()
	case m.detail != nil:
		return append(m.detail.ShortHelp(), k.Quit)
	}
	short := m.focused().ShortHelp()
	switch {
	case m.incident == nil:
		short = append(short, k.Declare, k.NextPane, k.Quit, k.OpenIncident, k.SyncPanel, k.Routine, k.Review)
	case m.steps.routine:
		short = append(short, k.Note, k.NextPane, k.Quit, k.SyncPanel, k.Declare)
	default:
		short = append(short, k.Note, k.NextPane, k.Quit, k.SyncPanel, k.Update, k.State, k.Restart, k.Postmortem, k.Evidence)
	}
	return short
}

// helpView shows the keys that work right now: as many as fit, in order
// of priority, and ? (every key) always.
func (m Model) helpView() string {
	k := m.c.keys
	st := m.c.styles
	if m.help.ShowAll {
		return st.Title.Render("?") + " " + st.Help.Render("close this list") + st.Help.Render(" • ") + st.Title.Render("q") + " " + st.Help.Render("quit")
	}
	// Widths are counted on the plain text: styles add no cells.
	item := func(b key.Binding) (string, int) {
		h := b.Help()
		return st.Title.Render(h.Key) + " " + st.Help.Render(h.Desc), ansi.StringWidth(h.Key) + 1 + ansi.StringWidth(h.Desc)
	}
	const sepText = " • "
	sep, sepW := st.Help.Render(sepText), ansi.StringWidth(sepText)
	last, lastW := "", 0
	typing := m.form != nil || m.note.capturing() || m.library.capturing() || m.review.capturing() || m.confirmQuit
	if !typing {
		last, lastW = item(k.Help)
	}
	line, lineW := "", 0
	seen := map[string]bool{}
	for _, b := range m.shortHelp() {
		h := b.Help()
		if !b.Enabled() || h.Key == "" || seen[h.Key] || (h.Key == k.Help.Help().Key) {
			continue
		}
		seen[h.Key] = true
		next, nextW := item(b)
		if line != "" {
			next, nextW = line+sep+next, lineW+sepW+nextW
		}
		tryW := nextW
		if last != "" {
			tryW += sepW + lastW
		}
		if tryW > m.width {
			continue // a lower-priority key that fits may follow
		}
		line, lineW = next, nextW
	}
	if last != "" {
		if line != "" {
			line += sep
		}
		line += last
	}
	return truncate(line, m.width)
}

// fullHelp lists every key in columns that fit width, group after group,
// so all of them show at 80x24 too.
func (m Model) fullHelp(groups [][]key.Binding, width int) string {
	st := m.c.styles
	const colWidth = 25
	var items []string
	for _, g := range groups {
		for _, b := range g {
			h := b.Help()
			items = append(items, truncate(st.Title.Render(h.Key)+" "+st.Help.Render(h.Desc), colWidth-1))
		}
	}
	cols := max(1, width/colWidth)
	rows := (len(items) + cols - 1) / cols
	lines := make([]string, rows)
	for i, it := range items {
		r := i % rows
		if i >= rows {
			lines[r] += strings.Repeat(" ", max(0, colWidth*(i/rows)-lipgloss.Width(lines[r])))
		}
		lines[r] += it
	}
	for i, l := range lines {
		lines[i] = truncate(l, width)
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
