package store

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bigLedger is a 1,000 x 1,000 event ledger, generated once per test
// process (about 12 s), or taken from $IC_BENCH_LEDGER when set.
var bigLedger = sync.OnceValues(func() (string, error) {
	if p := os.Getenv("IC_BENCH_LEDGER"); p != "" {
		return p, nil
	}
	dir, err := os.MkdirTemp("", "ic-bench-")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "big.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		return "", err
	}
	defer db.Close()
	return path, Generate(context.Background(), db, GenerateOptions{Incidents: 1000, Events: 1000, Seed: 7})
})

func openBig(b *testing.B) *DB {
	path, err := bigLedger()
	if err != nil {
		b.Fatal(err)
	}
	db, err := Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkAppendDurable appends one note per operation through the
// store API, each its own committed, fsynced transaction, and reports the
// p50 and p99 latency.
func BenchmarkAppendDurable(b *testing.B) {
	ctx := context.Background()
	l := openTest(b, filepath.Join(b.TempDir(), "ic.db"))
	inc := declare(b, l, "SEV-2")
	payload, _ := json.Marshal(Note{Text: "checked relay 2: queue drained, error rate back to baseline"})
	head := int64(1)
	lat := make([]time.Duration, 0, b.N)
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		e, _, err := l.db.Append(ctx, inc.ID, head, Event{Time: time.Now(), Actor: "alice", Type: TypeNote, Payload: payload, Key: fmt.Sprintf("k%d", i)})
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		head = e.Seq
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkLedgerAppendNote is the same through the Ledger, which also
// re-derives the incident's status and applies the rules.
func BenchmarkLedgerAppendNote(b *testing.B) {
	ctx := context.Background()
	l := openTest(b, filepath.Join(b.TempDir(), "ic.db"))
	inc := declare(b, l, "SEV-2")
	for b.Loop() {
		if _, err := l.Append(ctx, inc.ID, "alice", "", Note{Text: "checked relay 2"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBulkImport writes batches of 1,000 events in one transaction.
func BenchmarkBulkImport(b *testing.B) {
	ctx := context.Background()
	l := openTest(b, filepath.Join(b.TempDir(), "ic.db"))
	inc := declare(b, l, "SEV-2")
	payload, _ := json.Marshal(Note{Text: "checked relay 2: queue drained, error rate back to baseline"})
	batch := make([]Event, 1000)
	n := 0
	for b.Loop() {
		for i := range batch {
			n++
			batch[i] = Event{Time: time.Now(), Actor: "alice", Type: TypeNote, Payload: payload, Key: fmt.Sprintf("bulk-%d", n)}
		}
		if _, err := l.db.AppendBatch(ctx, inc.ID, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
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
	path, _ := bigLedger()
	var size int64
	for _, s := range []string{"", "-wal"} {
		if info, err := os.Stat(path + s); err == nil {
			size += info.Size()
		}
	}
	b.ReportMetric(float64(size)/1e6, "bytes/event")
}

// BenchmarkMonthlyReview1M computes January's review over the 1M-event
// ledger (the generator puts its 1,000 incidents in that month).
func BenchmarkMonthlyReview1M(b *testing.B) {
	db := openBig(b)
	l := NewLedger(db, policies)
	month := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		rep, err := l.MonthlyReview(context.Background(), MonthlyInput{Month: month, Now: month.AddDate(0, 1, 5), DailyRoutines: []string{"O-201"}})
		if err != nil || rep.Incidents+rep.Drills != 1000 {
			b.Fatal(err, rep.Incidents, rep.Drills)
		}
	}
}

// BenchmarkVerifyIncremental1M verifies a copy of the 1M-event ledger
// incrementally after 1,000 appends (100 to each of 10 incidents, each
// its own transaction) made after a signed checkpoint.
func BenchmarkVerifyIncremental1M(b *testing.B) {
	ctx := context.Background()
	src, err := bigLedger()
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "big.db")
	if err := copyFile(src, path); err != nil {
		b.Fatal(err)
	}
	db, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	signer := testSigner(b)
	if _, err := db.Checkpoint(ctx, signer, ""); err != nil {
		b.Fatal(err)
	}
	incs, err := db.Incidents(ctx)
	if err != nil {
		b.Fatal(err)
	}
	payload, _ := json.Marshal(Note{Text: "checked relay 2: queue drained, error rate back to baseline"})
	for i := range 1000 {
		id := incs[i%10].ID
		h, err := db.Head(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := db.Append(ctx, id, h.Seq, Event{Time: time.Now(), Actor: "alice", Type: TypeNote, Payload: payload, Key: fmt.Sprintf("inc-%d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	o := VerifyOptions{Verifiers: []string{signer.VerifierKey()}}
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
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
