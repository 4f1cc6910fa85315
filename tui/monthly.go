package tui

import (
	"bytes"
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/icconsole/ic/runbook"
	"github.com/icconsole/ic/store"
)

// MonthlyReview computes the monthly review with what only the books know:
// which routines are daily checks (class "daily") and which procedures
// were not reviewed in 180 days. The CLI and the console both use it.
func MonthlyReview(ctx context.Context, l *store.Ledger, cat *runbook.Catalog, month time.Time, book string, now time.Time) (*store.Monthly, error) {
	var daily []string
	for _, p := range cat.Filter(runbook.Filter{Book: book, Kind: runbook.Routine, Class: "daily"}) {
		daily = append(daily, p.ID)
	}
	rep, err := l.MonthlyReview(ctx, store.MonthlyInput{Month: month, Book: book, DailyRoutines: daily, Now: now})
	if err != nil {
		return nil, err
	}
	for _, p := range cat.NotReviewedSince(book, now.AddDate(0, 0, -180)) {
		s := store.StaleProcedure{ID: p.ID, Reviewed: p.Reviewed, AgeDays: -1}
		if r, err := time.Parse(time.DateOnly, p.Reviewed); err == nil {
			s.AgeDays = int(now.Sub(r).Hours() / 24)
		} else {
			s.Reviewed = "never"
		}
		rep.Stale = append(rep.Stale, s)
	}
	return rep, nil
}

type monthlyMsg struct {
	text string
	err  error
}

// loadMonthly computes this month's review and renders it for the screen.
func loadMonthly(l *store.Ledger, cat *runbook.Catalog, now time.Time, width int, theme Theme) tea.Cmd {
	return func() tea.Msg {
		rep, err := MonthlyReview(context.Background(), l, cat, now, "", now)
		if err != nil {
			return monthlyMsg{err: err}
		}
		var md bytes.Buffer
		rep.WriteMarkdown(&md)
		out, err := RenderMarkdown(md.Bytes(), width, theme)
		return monthlyMsg{text: out, err: err}
	}
}
