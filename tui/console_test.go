package tui

import (
	"os"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/icconsole/ic/docs"
	"github.com/icconsole/ic/runbook"
	"github.com/muesli/termenv"
)

func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

func shippedCatalog(t testing.TB) *runbook.Catalog {
	t.Helper()
	cat, probs := runbook.Load(docs.Runbooks(), "")
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	return cat
}

// drive feeds msgs to the model, running every command it returns (the
// way bubbletea would) until none is left.
func drive(t *testing.T, m tea.Model, msgs ...tea.Msg) tea.Model {
	t.Helper()
	queue := append([]tea.Msg(nil), msgs...)
	for len(queue) > 0 {
		msg := queue[0]
		queue = queue[1:]
		var cmd tea.Cmd
		m, cmd = m.Update(msg)
		if cmd != nil {
			if out := cmd(); out != nil {
				if _, quit := out.(tea.QuitMsg); !quit {
					queue = append(queue, out)
				}
			}
		}
	}
	return m
}

func keys(s string) []tea.Msg {
	var out []tea.Msg
	for _, r := range s {
		out = append(out, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return out
}

func TestLibraryAndReaderAt80x24(t *testing.T) {
	m := tea.Model(New(Options{Catalog: shippedCatalog(t), Theme: PlainTheme}))
	m = drive(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	view := m.View()
	for _, want := range []string{"Operations runbook (O-series)", "no open incident", "O-020  First Response Discipline", "O-201  Daily health check"} {
		if !strings.Contains(view, want) {
			t.Errorf("library view lacks %q:\n%s", want, view)
		}
	}
	if h := lipgloss.Height(view); h > 24 {
		t.Errorf("view is %d rows, taller than the terminal", h)
	}
	m = drive(t, m, tea.KeyMsg{Type: tea.KeyEnter})
	view = m.View()
	if !strings.Contains(view, "Pause for 30 seconds") || !strings.Contains(view, "╭") {
		t.Errorf("reader does not show O-020 in a frame:\n%s", view)
	}
	for i, line := range strings.Split(view, "\n") {
		if w := lipgloss.Width(line); w > 80 {
			t.Errorf("line %d is %d cells wide: %q", i, w, line)
		}
	}
}

func TestFilterAsYouType(t *testing.T) {
	m := tea.Model(New(Options{Catalog: shippedCatalog(t), Theme: PlainTheme}))
	msgs := append([]tea.Msg{tea.WindowSizeMsg{Width: 120, Height: 40}}, keys("/settlement wallet")...)
	m = drive(t, m, msgs...)
	view := m.View()
	if !strings.Contains(view, "O-103") || strings.Contains(view, "O-020  First") {
		t.Errorf("filter 'settlement wallet' should keep O-103 only:\n%s", view)
	}
}

func TestRunbookTextIsEscaped(t *testing.T) {
	out, err := RenderMarkdown([]byte("# Title\n\nset \x1b]0;pwned\x07 title\n"), 80, PlainTheme)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsRune(out, 0x1b) || !strings.Contains(out, `\x1b]0;pwned\x07`) {
		t.Errorf("control characters reached the output: %q", out)
	}
}

func BenchmarkRenderLongestProcedure(b *testing.B) {
	cat := shippedCatalog(b)
	var longest *runbook.Procedure
	for _, p := range cat.Filter(runbook.Filter{}) {
		if longest == nil || len(p.Body) > len(longest.Body) {
			longest = p
		}
	}
	b.Logf("longest procedure: %s (%d bytes)", longest.ID, len(longest.Body))
	theme := Theme{Profile: termenv.TrueColor, Dark: true}
	for b.Loop() {
		if _, err := RenderMarkdown(longest.Body, 100, theme); err != nil {
			b.Fatal(err)
		}
	}
}
