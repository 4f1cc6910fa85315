package tui

import (
	"context"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/ledgertest"
	"github.com/icconsole/ic/render"
	"github.com/icconsole/ic/runbook"
)

// benchLedger opens a generated ledger of incidents x events (the 1M one
// from $IC_BENCH_LEDGER when set).
func benchLedger(b *testing.B, cat *runbook.Catalog, incidents, events int) *incident.Service {
	svc, err := incident.Open(context.Background(), ledgertest.Path(b, incidents, events), cat, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { svc.Close() })
	return svc
}

func benchOptions(b *testing.B, l *incident.Service, cat *runbook.Catalog) Options {
	return Options{Catalog: cat, Service: l, Theme: render.PlainTheme, Actor: incident.Actor{Name: "bench"}, Now: time.Now, after: noTicks}
}

// BenchmarkFirstFrame: the console on a 1M-event ledger, from New to the
// first drawn frame with an incident open (its status and newest page
// loaded).
func BenchmarkFirstFrame(b *testing.B) {
	cat := shippedCatalog(b)
	l := benchLedger(b, cat, 1000, 1000)
	incs, err := l.List(context.Background(), incident.ListFilter{})
	if err != nil {
		b.Fatal(err)
	}
	opts := benchOptions(b, l, cat)
	opts.Incident = incs[len(incs)/2].ID
	for b.Loop() {
		m := New(opts)
		m.Init()
		tm, _ := m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
		tm, _ = tm.Update(loadIncident(context.Background(), l, opts.Incident)())
		if tm.(Model).incident == nil {
			b.Fatal("incident not loaded")
		}
		_ = tm.View()
	}
}

// BenchmarkKeypress100k: one key through Update and View with a
// 100,000-event incident on screen.
func BenchmarkKeypress100k(b *testing.B) {
	cat := shippedCatalog(b)
	l := benchLedger(b, cat, 1, 100_000)
	incs, _ := l.List(context.Background(), incident.ListFilter{})
	opts := benchOptions(b, l, cat)
	var m tea.Model = New(opts)
	m, _ = m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m, _ = m.Update(loadIncident(context.Background(), l, incs[0].ID)())
	mm := m.(Model)
	mm.focus = timelinePane
	m = mm
	if mm.timeline.total != 100_000 {
		b.Fatalf("incident has %d events", mm.timeline.total)
	}
	up, down := tea.KeyMsg{Type: tea.KeyUp}, tea.KeyMsg{Type: tea.KeyDown}
	i := 0
	for b.Loop() {
		k := up
		if i%2 == 1 {
			k = down
		}
		i++
		m, _ = m.Update(k)
		_ = m.View()
	}
}

// BenchmarkResizeCachedRender: a resize back to a width already rendered
// takes the cached rendering (no glamour) and draws.
func BenchmarkResizeCachedRender(b *testing.B) {
	cat := shippedCatalog(b)
	p, _ := cat.Procedure("O-020")
	var m tea.Model = New(Options{Catalog: cat, Theme: render.PlainTheme, after: noTicks})
	mm := m.(Model)
	mm.reader.show(p)
	mm.focus = readerPane
	m = mm
	for _, w := range []int{100, 120} {
		var cmd tea.Cmd
		m, cmd = m.Update(tea.WindowSizeMsg{Width: w, Height: 40})
		if cmd != nil {
			m, _ = m.Update(cmd())
		}
	}
	i := 0
	for b.Loop() {
		w := 100 + 20*(i%2)
		i++
		var cmd tea.Cmd
		m, cmd = m.Update(tea.WindowSizeMsg{Width: w, Height: 40})
		if cmd != nil {
			b.Fatal("a cached width was rendered again")
		}
		_ = m.View()
	}
}
