package incident

import "context"

// LedgerSize is how many records the ledger's Merkle log holds. Every
// incident declared and every entry appended, by any writer of the file,
// adds one, so a watcher that reads it (one row) learns that something
// moved without reading any timeline.
func (s *Service) LedgerSize(ctx context.Context) (uint64, error) {
	h, err := s.db.LogHead(ctx)
	return h.Size, err
}

// WriteTracker hears when a write to the ledger starts and when it has
// returned (committed or refused): a server that stops waits for the
// writes in flight, so an entry a session made is never cut off. Begin
// may make the write wait its turn: SQLite admits one writer at a time
// anyway, and writers of one process that take turns are spared the
// re-checks of an optimistic append that lost a race (Append retries
// when the head moved). Begin and End are never nested.
type WriteTracker interface {
	Begin()
	End()
}

// WithWriteTracker returns a service whose writes (Declare, Append and
// what calls them) t hears of.
func (s *Service) WithWriteTracker(t WriteTracker) *Service {
	c := *s
	c.writes = t
	return &c
}

func (s *Service) beginWrite() func() {
	if s.writes == nil {
		return func() {}
	}
	s.writes.Begin()
	return s.writes.End
}
