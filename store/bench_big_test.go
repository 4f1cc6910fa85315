package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/icconsole/ic/internal/checkpoint"
	"github.com/icconsole/ic/internal/ledgertest"
	"github.com/icconsole/ic/store"
)

// openBig opens the generated 1,000 x 1,000-event ledger ($IC_BENCH_LEDGER
// when set, else generated once per test process).
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

// BenchmarkVerify1M verifies the 1M-event ledger in full: every chain,
// every leaf, the tree, quick_check (the name is main's, for benchstat).
func BenchmarkVerify1M(b *testing.B) {
	ctx := context.Background()
	db := openBig(b)
	cpu := cpuTime()
	for b.Loop() {
		rep, err := db.Verify(ctx, "")
		if err != nil || !rep.OK() || rep.Events != 1_000_000 {
			b.Fatal(rep.Events, rep.Problems, err)
		}
	}
	b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
	path := ledgertest.Path(b, 1000, 1000)
	var size int64
	for _, s := range []string{"", "-wal"} {
		if info, err := os.Stat(path + s); err == nil {
			size += info.Size()
		}
	}
	b.ReportMetric(float64(size)/1e6, "bytes/event")
}

// BenchmarkVerifyIncremental1M verifies a copy of the 1M-event ledger
// incrementally after 1,000 appends (100 to each of 10 incidents, each
// its own transaction) made after a signed checkpoint.
func BenchmarkVerifyIncremental1M(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "big.db")
	data, err := os.ReadFile(ledgertest.Path(b, 1000, 1000))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	skey, _, err := checkpoint.GenerateKey("ic-bench")
	if err != nil {
		b.Fatal(err)
	}
	signer, err := checkpoint.NewSigner(skey)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Checkpoint(ctx, signer, ""); err != nil {
		b.Fatal(err)
	}
	incs, err := db.Incidents(ctx)
	if err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"text":"checked relay 2: queue drained, error rate back to baseline"}`)
	for i := range 1000 {
		id := incs[i%10].ID
		h, err := db.Head(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := db.Append(ctx, id, h.Seq, store.Event{Time: time.Now(), Actor: "alice", Identity: "login", Type: "note", Payload: payload, Key: fmt.Sprintf("inc-%d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	o := store.VerifyOptions{Verifiers: []string{signer.VerifierKey()}}
	cpu := cpuTime()
	for b.Loop() {
		rep, err := db.VerifyWith(ctx, o)
		if err != nil || !rep.OK() || rep.Mode != "incremental" || rep.Events != 1000 {
			b.Fatal(rep.Mode, rep.Events, rep.Problems, err)
		}
	}
	b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime is the process's CPU time so far: on a machine shared with
// other work, the figure wall time cannot give.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
