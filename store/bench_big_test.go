package store_test

import (
	"context"
	"os"
	"testing"

	"github.com/icconsole/ic/internal/ledgertest"
	"github.com/icconsole/ic/store"
)

// openBig opens the generated 1,000 x 1,000-event ledger ($IC_BENCH_LEDGER
// when set, else generated once per test process: about 12 s).
func openBig(b *testing.B) *store.DB {
	db, err := store.Open(context.Background(), ledgertest.Path(b, 1000, 1000))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkNewest50 reads the newest 50 events of one incident in the
// 1M-event ledger (what the console's timeline shows first).
func BenchmarkNewest50(b *testing.B) {
	ctx := context.Background()
	db := openBig(b)
	incs, err := db.Incidents(ctx)
	if err != nil {
		b.Fatal(err)
	}
	id := incs[len(incs)/2].ID
	for b.Loop() {
		ev, err := db.Page(ctx, id, 0, 50)
		if err != nil || len(ev) != 50 {
			b.Fatal(len(ev), err)
		}
	}
}

// BenchmarkVerify1M verifies every chain of the 1M-event ledger.
func BenchmarkVerify1M(b *testing.B) {
	ctx := context.Background()
	db := openBig(b)
	for b.Loop() {
		rep, err := db.Verify(ctx, "")
		if err != nil || !rep.OK() || rep.Events != 1_000_000 {
			b.Fatal(rep.Events, rep.Problems, err)
		}
	}
	path := ledgertest.Path(b, 1000, 1000)
	var size int64
	for _, s := range []string{"", "-wal"} {
		if info, err := os.Stat(path + s); err == nil {
			size += info.Size()
		}
	}
	b.ReportMetric(float64(size)/1e6, "bytes/event")
}
