// Package tui is ic's full-screen console, built on bubbletea. It shows the
// runbook library and renders procedures; slow work (rendering Markdown,
// reading the ledger) runs in tea.Cmd functions and comes back as typed
// messages, so Update and View never block.
package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/runbook"
)

// Options is what the console needs from its caller.
type Options struct {
	Catalog *runbook.Catalog
	Theme   Theme
	// Book is the book shown first ("" for the catalog's default).
	Book string
}

type pane int

const (
	libraryPane pane = iota
	readerPane
)

// splitWidth is the narrowest terminal that shows library and reader side
// by side; narrower ones show one pane at a time.
const splitWidth = 100

const libraryWidth = 34

// renderKey identifies one rendering: the same text at the same width
// renders the same, so results are cached by it.
type renderKey struct {
	hash  string
	width int
}

// renderedMsg carries a finished rendering back to Update.
type renderedMsg struct {
	key renderKey
	out string
	err error
}

// Model is the console's root model.
type Model struct {
	opts   Options
	styles Styles
	keys   KeyMap
	help   help.Model

	width, height int

	books []*runbook.Book
	book  int

	filter    textinput.Model
	filtering bool
	items     []*runbook.Procedure
	cursor    int

	focus   pane
	shown   *runbook.Procedure
	reader  viewport.Model
	want    renderKey
	cache   map[renderKey]string
	status  string
	errText string
}

// New builds the console model. It does no I/O.
func New(opts Options) Model {
	f := textinput.New()
	f.Prompt = "/"
	f.Placeholder = "filter by id, title, trigger or text"
	f.Cursor.SetMode(cursor.CursorStatic)
	m := Model{
		opts:   opts,
		styles: NewStyles(opts.Theme),
		keys:   NewKeyMap(),
		help:   help.New(),
		books:  opts.Catalog.Books(),
		filter: f,
		reader: viewport.New(0, 0),
		cache:  map[renderKey]string{},
		width:  80, height: 24,
	}
	want := opts.Book
	if want == "" {
		want = opts.Catalog.DefaultBook()
	}
	for i, b := range m.books {
		if b.ID == want {
			m.book = i
		}
	}
	m.refilter()
	return m
}

// Init starts nothing: the first frame needs only what New built.
func (m Model) Init() tea.Cmd { return nil }

func (m *Model) currentBook() *runbook.Book {
	if len(m.books) == 0 {
		return nil
	}
	return m.books[m.book]
}

func (m *Model) refilter() {
	b := m.currentBook()
	m.items = nil
	if b != nil {
		m.items = m.opts.Catalog.Filter(runbook.Filter{Book: b.ID, Query: m.filter.Value()})
	}
	if m.cursor >= len(m.items) {
		m.cursor = max(0, len(m.items)-1)
	}
}

// Update handles one message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, m.renderShown()
	case renderedMsg:
		if msg.err != nil {
			m.errText = msg.err.Error()
			return m, nil
		}
		m.cache[msg.key] = msg.out
		if msg.key == m.want {
			m.reader.SetContent(msg.out)
		}
		return m, nil
	case tea.KeyMsg:
		return m.handleKey(msg)
	}
	return m, nil
}

func (m Model) handleKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	if key.Matches(msg, m.keys.ForceQuit) {
		return m, tea.Quit
	}
	if m.filtering {
		switch {
		case key.Matches(msg, m.keys.FilterCancel):
			m.filtering = false
			m.filter.Blur()
			m.filter.SetValue("")
			m.refilter()
		case key.Matches(msg, m.keys.FilterAccept):
			m.filtering = false
			m.filter.Blur()
		default:
			var cmd tea.Cmd
			m.filter, cmd = m.filter.Update(msg)
			m.refilter()
			return m, cmd
		}
		return m, nil
	}
	switch {
	case key.Matches(msg, m.keys.Quit):
		return m, tea.Quit
	case key.Matches(msg, m.keys.Help):
		m.help.ShowAll = !m.help.ShowAll
		m.layout()
	case key.Matches(msg, m.keys.Filter):
		m.filtering = true
		m.focus = libraryPane
		return m, m.filter.Focus()
	case key.Matches(msg, m.keys.SwitchBook):
		if len(m.books) > 0 {
			m.book = (m.book + 1) % len(m.books)
			m.cursor = 0
			m.refilter()
		}
	case m.focus == readerPane && key.Matches(msg, m.keys.Back):
		m.focus = libraryPane
	case m.focus == readerPane:
		var cmd tea.Cmd
		m.reader, cmd = m.reader.Update(msg)
		return m, cmd
	case key.Matches(msg, m.keys.Up):
		if m.cursor > 0 {
			m.cursor--
		}
	case key.Matches(msg, m.keys.Down):
		if m.cursor < len(m.items)-1 {
			m.cursor++
		}
	case key.Matches(msg, m.keys.Open):
		if len(m.items) > 0 {
			m.shown = m.items[m.cursor]
			m.focus = readerPane
			m.reader.GotoTop()
			return m, m.renderShown()
		}
	}
	return m, nil
}

// readerSize is the reader pane's outer size for the current layout.
func (m *Model) readerSize() (w, h int) {
	w = m.width
	if m.width >= splitWidth {
		w = m.width - libraryWidth - 1
	}
	return w, m.bodyHeight()
}

func (m *Model) bodyHeight() int {
	return max(3, m.height-1-1-lipgloss.Height(m.helpView()))
}

func (m *Model) layout() {
	w, h := m.readerSize()
	m.reader.Width = max(1, w-4)
	m.reader.Height = max(1, h-2)
}

// renderShown returns the command that renders the shown procedure at the
// current width, or nil when the cache already holds it.
func (m *Model) renderShown() tea.Cmd {
	if m.shown == nil {
		return nil
	}
	k := renderKey{hash: m.shown.Hash, width: m.reader.Width}
	m.want = k
	if out, ok := m.cache[k]; ok {
		m.reader.SetContent(out)
		return nil
	}
	m.reader.SetContent(m.styles.Muted.Render("rendering " + m.shown.ID + "…"))
	body, theme := m.shown.Body, m.opts.Theme
	return func() tea.Msg {
		out, err := RenderMarkdown(body, k.width, theme)
		return renderedMsg{key: k, out: out, err: err}
	}
}

// View draws the screen.
func (m Model) View() string {
	header := m.headerView()
	var body string
	if m.width >= splitWidth {
		body = lipgloss.JoinHorizontal(lipgloss.Top, m.libraryView(libraryWidth), " ", m.readerView())
	} else if m.focus == readerPane {
		body = m.readerView()
	} else {
		body = m.libraryView(m.width)
	}
	status := m.styles.Status.Render(m.statusText())
	if m.errText != "" {
		status = m.styles.Error.Render(termsafe.EscapeLine(m.errText))
	}
	return lipgloss.JoinVertical(lipgloss.Left, header, body, status, m.helpView())
}

func (m Model) headerView() string {
	name := "no book loaded"
	if b := m.currentBook(); b != nil {
		name = b.Policy.Title
	}
	left := m.styles.Header.Render("ic") + " " + termsafe.EscapeLine(name)
	right := m.styles.HeaderMuted.Render("no open incident")
	gap := m.width - lipgloss.Width(left) - lipgloss.Width(right)
	if gap < 1 {
		return truncate(left, m.width)
	}
	return left + strings.Repeat(" ", gap) + right
}

func (m Model) libraryView(width int) string {
	h := m.bodyHeight()
	var lines []string
	if m.filtering || m.filter.Value() != "" {
		m.filter.Width = max(1, width-3)
		lines = append(lines, m.filter.View())
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
		mark := m.kindMark(p.Kind)
		text := truncate(termsafe.EscapeLine(p.ID+"  "+p.Title), width-4)
		pointer := " "
		if i == m.cursor {
			// The pointer keeps the selection visible without colour.
			pointer = "›"
			text = m.styles.Selected.Render(text)
		}
		lines = append(lines, pointer+mark+" "+text)
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return lipgloss.NewStyle().Width(width).MaxWidth(width).Render(strings.Join(lines, "\n"))
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
	content := m.styles.Muted.Render("select a procedure and press enter to read it")
	if m.shown != nil {
		switch m.shown.Kind {
		case runbook.Incident:
			frame = m.styles.IncidentFrame
		case runbook.Routine:
			frame = m.styles.RoutineFrame
		}
		content = m.reader.View()
	}
	return frame.Width(w-2).Height(h-2).MaxHeight(h).Padding(0, 1).Render(content)
}

func (m Model) statusText() string {
	if m.shown != nil && (m.focus == readerPane || m.width >= splitWidth) {
		p := m.shown
		return termsafe.EscapeLine(fmt.Sprintf("%s v%d · %d steps · sha256:%s · %3.0f%%", p.ID, p.Version, len(p.Steps), p.Hash[:12], m.reader.ScrollPercent()*100))
	}
	if b := m.currentBook(); b != nil {
		return fmt.Sprintf("book %s · %d of %d procedures", b.ID, len(m.items), len(b.Procedures))
	}
	return ""
}

func (m Model) helpView() string {
	m.help.Width = m.width
	return m.help.View(m.keys)
}

// truncate cuts s to at most w cells, marking the cut with an ellipsis.
func truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if lipgloss.Width(s) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && lipgloss.Width(string(r))+1 > w {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}
