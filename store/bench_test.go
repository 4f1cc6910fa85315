package store

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkAppendDurable appends one note per operation through the
// store API, each its own committed, fsynced transaction, and reports the
// p50 and p99 latency.
func BenchmarkAppendDurable(b *testing.B) {
	ctx := context.Background()
	l := openTest(b, filepath.Join(b.TempDir(), "ic.db"))
	inc := declare(b, l, "SEV-2")
	payload := []byte(`{"text":"checked relay 2: queue drained, error rate back to baseline"}`)
	head := int64(1)
	lat := make([]time.Duration, 0, b.N)
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		e, _, err := l.db.Append(ctx, inc.ID, head, Event{Time: time.Now(), Actor: "alice", Type: "note", Payload: payload, Key: fmt.Sprintf("k%d", i)})
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

// BenchmarkBulkImport writes batches of 1,000 events in one transaction.
func BenchmarkBulkImport(b *testing.B) {
	ctx := context.Background()
	l := openTest(b, filepath.Join(b.TempDir(), "ic.db"))
	inc := declare(b, l, "SEV-2")
	payload := []byte(`{"text":"checked relay 2: queue drained, error rate back to baseline"}`)
	batch := make([]Event, 1000)
	n := 0
	for b.Loop() {
		for i := range batch {
			n++
			batch[i] = Event{Time: time.Now(), Actor: "alice", Type: "note", Payload: payload, Key: fmt.Sprintf("bulk-%d", n)}
		}
		if _, err := l.db.AppendBatch(ctx, inc.ID, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
