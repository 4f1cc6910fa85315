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

const libraryWidth = 34
const sideWidth = 46

func (m *Model) wide() bool { return m.width >= wideWidth }

// layout gives every pane its size for the current terminal and state.
func (m *Model) layout() {
	bh := m.bodyHeight()
	m.header.SetSize(m.width, 2)
	m.note.SetSize(m.width, 1)
	m.review.SetSize(m.width, bh)
	m.review.wide = m.wide()
	if !m.wide() {
		m.library.SetSize(m.width, bh)
		m.reader.SetSize(m.width, bh)
		m.steps.SetSize(m.width-4, bh-2)
		m.timeline.SetSize(m.width-4, bh-2)
		m.sync.SetSize(m.width-4, bh-2)
		return
	}
	m.library.SetSize(libraryWidth, bh)
	m.steps.SetSize(libraryWidth-4, bh-2)
	m.reader.SetSize(m.width-libraryWidth-sideWidth-2, bh)
	th := bh
	if m.sync.visible {
		th = bh / 2
	}
	m.timeline.SetSize(sideWidth-4, th-2)
	m.sync.SetSize(sideWidth-4, bh-th-2)
}

// View draws the screen: header, body (panes side by side when wide, one
// pane under tabs when narrow), status line, note line, help bar.
func (m Model) View() string {
	m.layout() // the status and help lines decide the body's height
	m.header.incident, m.header.book, m.header.mode = m.incident, m.currentBook(), m.mode
	m.library.focused = m.focus == libraryPane
	m.reader.focused = m.focus == readerPane
	m.steps.focused = m.focus == stepsPane
	m.timeline.focused = m.focus == timelinePane
	m.sync.focused = m.focus == syncPane
	parts := []string{m.header.View()}
	if m.mode == reviewMode {
		parts = append(parts, m.review.View(), m.statusView(), m.note.View(), m.helpView())
		return lipgloss.JoinVertical(lipgloss.Left, parts...)
	}
	if !m.wide() {
		parts = append(parts, m.tabsView())
	}
	parts = append(parts, m.bodyView(), m.statusView(), m.note.View(), m.helpView())
	return lipgloss.JoinVertical(lipgloss.Left, parts...)
}

// headerView is the header as it is drawn now.
func (m Model) headerView() string {
	m.header.incident, m.header.book, m.header.mode = m.incident, m.currentBook(), m.mode
	m.header.now = m.now
	return m.header.View()
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

func (m Model) bodyView() string {
	st := m.c.styles
	h := m.bodyHeight()
	if m.form != nil {
		inner := m.form.view(st, m.width-4)
		return st.FocusFrame.Width(m.width-2).Height(h-2).MaxHeight(h).Padding(0, 1).Render(inner)
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
	var left string
	if m.focus == stepsPane || (m.steps.proc != nil && m.focus != libraryPane) {
		left = framed(st, m.steps.View(), libraryWidth, h, m.focus == stepsPane)
	} else {
		left = m.library.View()
	}
	right := framed(st, m.timeline.View(), sideWidth, h, m.focus == timelinePane)
	if m.sync.visible {
		th := h / 2
		right = lipgloss.JoinVertical(lipgloss.Left,
			framed(st, m.timeline.View(), sideWidth, th, m.focus == timelinePane),
			framed(st, m.sync.View(), sideWidth, h-th, m.focus == syncPane))
	}
	return lipgloss.JoinHorizontal(lipgloss.Top, left, " ", m.reader.View(), " ", right)
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

// helpView shows the keys that work right now.
func (m Model) helpView() string {
	m.help.Width = m.width
	k := m.c.keys
	var short []key.Binding
	switch {
	case m.confirmQuit:
		short = []key.Binding{k.ConfirmQuit, k.CancelQuit}
	case m.mode == reviewMode:
		short = m.review.ShortHelp()
	case m.form != nil:
		short = []key.Binding{k.Submit, k.Cancel}
	case m.note.capturing():
		short = m.note.ShortHelp()
	case m.library.capturing():
		short = m.library.ShortHelp()
	default:
		short = m.focused().ShortHelp()
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
