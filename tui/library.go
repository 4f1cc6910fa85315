package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/runbook"
)

// library is the runbook library pane: the procedures of one book,
// filtered as the operator types.
type library struct {
	c             *common
	width, height int
	focused       bool

	books     []*runbook.Book
	book      int
	filter    textinput.Model
	filtering bool
	items     []*runbook.Procedure
	cursor    int
}

// Messages the library sends to the root.
type (
	// readMsg asks for a procedure to be shown in the reader.
	readMsg struct{ proc *runbook.Procedure }
	// followMsg asks for a procedure to be followed (recorded and
	// opened in the stepper).
	followMsg struct{ proc *runbook.Procedure }
)

func newLibrary(c *common, book string) library {
	f := textinput.New()
	f.Prompt = "/"
	f.Placeholder = "filter by id, title, trigger or text"
	f.Cursor.SetMode(cursor.CursorStatic)
	f.PromptStyle, f.TextStyle, f.PlaceholderStyle = c.styles.Plain, c.styles.Plain, c.styles.Muted
	l := library{c: c, books: c.catalog.Books(), filter: f}
	if book == "" {
		book = c.catalog.DefaultBook()
	}
	for i, b := range l.books {
		if b.ID == book {
			l.book = i
		}
	}
	l.refilter()
	return l
}

func (l *library) SetSize(w, h int) { l.width, l.height = w, h }

// capturing reports whether keys go to the filter being typed.
func (l *library) capturing() bool { return l.filtering }

// currentBook is the book the library shows (nil with no book loaded).
func (l *library) currentBook() *runbook.Book {
	if len(l.books) == 0 {
		return nil
	}
	return l.books[l.book]
}

// selected is the procedure under the cursor (nil when none matches).
func (l *library) selected() *runbook.Procedure {
	if len(l.items) == 0 {
		return nil
	}
	return l.items[l.cursor]
}

func (l *library) refilter() {
	l.items = nil
	if b := l.currentBook(); b != nil {
		l.items = l.c.catalog.Filter(runbook.Filter{Book: b.ID, Query: l.filter.Value()})
	}
	if l.cursor >= len(l.items) {
		l.cursor = max(0, len(l.items)-1)
	}
}

func (l *library) Update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	k := l.c.keys
	if l.filtering {
		switch {
		case key.Matches(km, k.FilterCancel):
			l.filtering = false
			l.filter.Blur()
			l.filter.SetValue("")
			l.refilter()
		case key.Matches(km, k.FilterAccept):
			l.filtering = false
			l.filter.Blur()
		default:
			var cmd tea.Cmd
			l.filter, cmd = l.filter.Update(km)
			l.refilter()
			return cmd
		}
		return nil
	}
	switch {
	case key.Matches(km, k.Filter):
		l.filtering = true
		return l.filter.Focus()
	case key.Matches(km, k.NextBook):
		if len(l.books) > 0 {
			l.book = (l.book + 1) % len(l.books)
			l.cursor = 0
			l.refilter()
		}
	case key.Matches(km, k.Up):
		if l.cursor > 0 {
			l.cursor--
		}
	case key.Matches(km, k.Down):
		if l.cursor < len(l.items)-1 {
			l.cursor++
		}
	case key.Matches(km, k.Open):
		if p := l.selected(); p != nil {
			l.c.post(readMsg{p})
		}
	case key.Matches(km, k.Link):
		if p := l.selected(); p != nil {
			l.c.post(followMsg{p})
		}
	}
	return nil
}

func (l *library) ShortHelp() []key.Binding {
	k := l.c.keys
	if l.filtering {
		return []key.Binding{k.FilterAccept, k.FilterCancel}
	}
	return []key.Binding{k.Open, k.Filter, k.Link}
}

func (l *library) FullHelp() [][]key.Binding { return [][]key.Binding{l.ShortHelp()} }

func (l *library) View() string {
	st := l.c.styles
	width, h := l.width, l.height
	var lines []string
	if l.filtering || l.filter.Value() != "" {
		f := l.filter
		f.Width = max(1, width-3)
		lines = append(lines, f.View())
	}
	if b := l.currentBook(); b != nil {
		lines = append(lines, st.Muted.Render(truncate(fmt.Sprintf("book %s · %d of %d · b next book", b.ID, len(l.items), len(b.Procedures)), width)))
	}
	rows := h - len(lines)
	if len(l.items) == 0 {
		lines = append(lines, st.Muted.Render("no procedure matches"))
	}
	start := 0
	if l.cursor >= rows {
		start = l.cursor - rows + 1
	}
	for i := start; i < len(l.items) && len(lines) < h; i++ {
		p := l.items[i]
		text := truncate(termsafe.EscapeLine(p.ID+"  "+p.Title), width-4)
		pointer := " "
		if i == l.cursor {
			// The pointer keeps the selection visible without colour.
			pointer = "›"
			if l.focused {
				text = st.Selected.Render(text)
			}
		}
		lines = append(lines, pointer+kindMark(st, p.Kind)+" "+text)
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return lipgloss.NewStyle().Width(width).MaxWidth(width).Render(strings.Join(lines, "\n"))
}

func kindMark(st *Styles, k runbook.Kind) string {
	switch k {
	case runbook.Incident:
		return st.IncidentMark.Render("●")
	case runbook.Routine:
		return st.RoutineMark.Render("○")
	}
	return st.ReferenceMark.Render("·")
}
