package ledgertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/icconsole/ic/store"
)

// generated holds the path of each ledger generated in this process.
var generated sync.Map

// Path returns a generated ledger of incidents x events, made once per
// test process in a temporary folder. The 1,000 x 1,000 ledger is taken
// from $IC_BENCH_LEDGER when set (scripts/gen-ledger makes one), because
// generating it takes seconds.
func Path(tb testing.TB, incidents, events int) string {
	tb.Helper()
	if p := os.Getenv("IC_BENCH_LEDGER"); p != "" && incidents*events == 1_000_000 {
		return p
	}
	key := [2]int{incidents, events}
	if p, ok := generated.Load(key); ok {
		return p.(string)
	}
	dir, err := os.MkdirTemp("", "ic-bench-")
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("ledger-%dx%d.db", incidents, events))
	db, err := store.Open(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if err := Generate(context.Background(), db, GenerateOptions{Incidents: incidents, Events: events, Seed: 7}); err != nil {
		tb.Fatal(err)
	}
	p, _ := generated.LoadOrStore(key, path)
	return p.(string)
}
