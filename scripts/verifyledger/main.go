// Command verifyledger verifies a ledger through the store's API, opened
// read-only, for whole-process timings (scripts/bench-verify) and as the
// model of what 'ic verify' calls:
//
//	go run ./scripts/verifyledger [-full] [-key VERIFIER] [-checkpoint-dir DIR] LEDGER
//
// With -prepare it instead opens the ledger read-write, creates a signing
// key in -key-file, signs a checkpoint and appends -appends notes after it
// (spread over ten incidents, each its own transaction): the state an
// incremental verify is measured in.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/icconsole/ic/internal/checkpoint"
	"github.com/icconsole/ic/store"
)

func main() {
	full := flag.Bool("full", false, "re-hash every record (default: incremental from the newest trusted checkpoint)")
	key := flag.String("key", "", "verifier key (or file) whose checkpoints are trusted")
	dir := flag.String("checkpoint-dir", "", "folder of checkpoint copies")
	prepare := flag.Bool("prepare", false, "sign a checkpoint, then append -appends notes")
	keyFile := flag.String("key-file", "", "with -prepare: the signing key to create")
	appends := flag.Int("appends", 1000, "with -prepare: notes to append after the checkpoint")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: verifyledger [-full] [-key VERIFIER] [-checkpoint-dir DIR] LEDGER")
		os.Exit(2)
	}
	ctx := context.Background()
	if *prepare {
		if err := prepareLedger(ctx, flag.Arg(0), *keyFile, *dir, *appends); err != nil {
			fmt.Fprintln(os.Stderr, "verifyledger:", err)
			os.Exit(1)
		}
		return
	}
	db, err := store.OpenReadOnly(ctx, flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "verifyledger:", err)
		os.Exit(1)
	}
	defer db.Close()
	o := store.VerifyOptions{Full: *full, CheckpointDir: *dir}
	if *key != "" {
		o.Verifiers = []string{*key}
	}
	rep, err := db.VerifyWith(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "verifyledger:", err)
		os.Exit(1)
	}
	for _, p := range rep.Problems {
		fmt.Println("FAIL", p)
	}
	status := "verified"
	if !rep.OK() {
		status = fmt.Sprintf("%d problem(s)", len(rep.Problems))
	}
	fmt.Printf("%s: %s verify, %d incident(s), %d event(s) checked, log of %d records, %s in %s\n",
		flag.Arg(0), rep.Mode, rep.Incidents, rep.Events, rep.LogSize, status, rep.Took.Round(time.Millisecond))
	if os.Getenv("VERIFYLEDGER_JSON") != "" {
		json.NewEncoder(os.Stdout).Encode(rep)
	}
	if !rep.OK() {
		os.Exit(1)
	}
}

func prepareLedger(ctx context.Context, path, keyFile, dir string, n int) error {
	if keyFile == "" {
		return fmt.Errorf("-prepare needs -key-file")
	}
	if _, err := checkpoint.CreateKeyFile(keyFile, "bench"); err != nil {
		return err
	}
	signer, err := checkpoint.LoadSigner(keyFile)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	c, err := db.Checkpoint(ctx, signer, dir)
	if err != nil {
		return err
	}
	incs, err := db.Incidents(ctx)
	if err != nil {
		return err
	}
	payload, _ := json.Marshal(map[string]string{"text": "checked relay 2: queue drained, error rate back to baseline"})
	for i := range n {
		id := incs[i%min(10, len(incs))].ID
		h, err := db.Head(ctx, id)
		if err != nil {
			return err
		}
		ev := store.Event{Time: time.Now(), Actor: "bench", Identity: store.IdentityLogin, Type: "note", Payload: payload, Key: fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i)}
		if _, _, err := db.Append(ctx, id, h.Seq, ev); err != nil {
			return err
		}
	}
	fmt.Printf("%s: checkpoint of size %d signed by %s, then %d notes appended\n", path, c.Size, signer.VerifierKey(), n)
	return nil
}
