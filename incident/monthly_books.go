package incident

import (
	"context"
	"time"

	"github.com/icconsole/ic/runbook"
)

// MonthlyReview computes the review of the month holding month, for one
// book ("" for every book), with what only the books know: which routines
// are daily checks (class "daily") and which procedures were not reviewed
// in 180 days. The command line and the console both call it.
func (s *Service) MonthlyReview(ctx context.Context, month time.Time, book string) (*Monthly, error) {
	now := s.Now()
	var daily []string
	for _, p := range s.books.Filter(runbook.Filter{Book: book, Kind: runbook.Routine, Class: "daily"}) {
		daily = append(daily, p.ID)
	}
	rep, err := s.monthlyFromLedger(ctx, MonthlyInput{Month: month, Book: book, DailyRoutines: daily, Now: now})
	if err != nil {
		return nil, err
	}
	for _, p := range s.books.NotReviewedSince(book, now.AddDate(0, 0, -180)) {
		st := StaleProcedure{ID: p.ID, Reviewed: p.Reviewed, AgeDays: -1}
		if r, err := time.Parse(time.DateOnly, p.Reviewed); err == nil {
			st.AgeDays = int(now.Sub(r).Hours() / 24)
		} else {
			st.Reviewed = "never"
		}
		rep.Stale = append(rep.Stale, st)
	}
	return rep, nil
}
