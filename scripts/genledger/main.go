// Command genledger writes a synthetic ledger for benchmarks and demos:
//
//	go run ./scripts/genledger -db /tmp/big.db -incidents 1000 -events 1000
//
// and reports how long it took, events per second, and bytes per event.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/icconsole/ic/internal/ledgertest"
	"github.com/icconsole/ic/store"
)

func main() {
	db := flag.String("db", "", "ledger file to create (must not exist)")
	incidents := flag.Int("incidents", 1000, "incidents to write")
	events := flag.Int("events", 1000, "events per incident, the declaration included")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if *db == "" {
		fmt.Fprintln(os.Stderr, "usage: genledger -db FILE [-incidents N] [-events N] [-seed S]")
		os.Exit(2)
	}
	if _, err := os.Stat(*db); err == nil {
		fmt.Fprintf(os.Stderr, "genledger: %s exists; give a new file\n", *db)
		os.Exit(1)
	}
	ctx := context.Background()
	d, err := store.Open(ctx, *db)
	if err != nil {
		fmt.Fprintln(os.Stderr, "genledger:", err)
		os.Exit(1)
	}
	start := time.Now()
	if err := ledgertest.Generate(ctx, d, ledgertest.GenerateOptions{Incidents: *incidents, Events: *events, Seed: *seed}); err != nil {
		fmt.Fprintln(os.Stderr, "genledger:", err)
		os.Exit(1)
	}
	took := time.Since(start)
	d.Close()
	n := *incidents * *events
	var size int64
	for _, suffix := range []string{"", "-wal"} {
		if info, err := os.Stat(*db + suffix); err == nil {
			size += info.Size()
		}
	}
	fmt.Printf("%s: %d incidents x %d events = %d events in %s (%.0f events/s), %d bytes on disk, %.0f bytes/event\n",
		*db, *incidents, *events, n, took.Round(time.Millisecond), float64(n)/took.Seconds(), size, float64(size)/float64(n))
}
