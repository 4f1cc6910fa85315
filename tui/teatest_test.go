package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
)

// TestConsoleGolden runs the whole console program at two terminal sizes:
// open the library, read O-020, quit; the final screen is compared with a
// golden file (go test ./tui -update rewrites it: read the diff first).
func TestConsoleGolden(t *testing.T) {
	for _, size := range []struct{ w, h int }{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			m := New(Options{Catalog: shippedCatalog(t), Theme: PlainTheme})
			tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(size.w, size.h))
			tm.Send(tea.KeyMsg{Type: tea.KeyDown})
			tm.Send(tea.KeyMsg{Type: tea.KeyUp})
			tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
			teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
				return strings.Contains(string(b), "Pause for 30 seconds")
			}, teatest.WithDuration(5*time.Second))
			tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'q'}})
			final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second))
			golden.RequireEqual(t, []byte(final.View()))
		})
	}
}
