package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/store"
	"github.com/icconsole/ic/verifier"
)

func synccheckCommands() []command {
	return []command{
		{"synccheck", "(--bootstrap FILE --update FILE... | --beacon URL,URL --checkpoint ROOT [--period N]) [--incident ID] [--json]",
			"check sync-committee signatures on light-client updates, offline from files or online with failover", cmdSynccheck},
	}
}

// synccheckReport is what synccheck prints with --json.
type synccheckReport struct {
	OK       bool               `json:"ok"`
	Mode     string             `json:"mode"`
	Results  []verifier.Result  `json:"results"`
	Attempts []verifier.Attempt `json:"failed_attempts,omitempty"`
	Error    string             `json:"error,omitempty"`
	Class    string             `json:"classification,omitempty"`
	Appended []int64            `json:"appended_seqs,omitempty"`
}

func cmdSynccheck(a *app, args []string) error {
	c := lookupCommand("synccheck")
	fs := a.flagSet(c)
	bootstrap := fs.String("bootstrap", "", "light-client bootstrap JSON `FILE` (offline)")
	var updates stringList
	fs.Var(&updates, "update", "light-client updates JSON `FILE` (repeatable; an array of updates is walked in order)")
	genesisFile := fs.String("genesis", "", "genesis JSON `FILE` (offline; default: mainnet)")
	beacon := fs.String("beacon", os.Getenv("IC_BEACON"), "beacon API base `URLS`, comma-separated, tried in order (env IC_BEACON)")
	checkpoint := fs.String("checkpoint", os.Getenv("IC_CHECKPOINT"), "trusted block `ROOT` (0x...) whose bootstrap starts the chain (online; env IC_CHECKPOINT)")
	period := fs.Uint64("period", 0, "check up to sync-committee period `N` (online; default: the checkpoint's)")
	timeout := fs.Duration("timeout", 10*time.Second, "per-request timeout (online)")
	incident := fs.String("incident", "", "append each result to incident `ID` as a verification event")
	asJSON := fs.Bool("json", false, "print JSON")
	_, err := a.parse(fs, c, args, 0, 0)
	if err != nil {
		return helpOK(err)
	}
	offline := *bootstrap != "" || len(updates) > 0
	switch {
	case offline && *bootstrap == "":
		return usageError{msg: "offline checks need --bootstrap FILE as well as --update FILE", usage: c.usage()}
	case offline && len(updates) == 0:
		return usageError{msg: "offline checks need at least one --update FILE", usage: c.usage()}
	case !offline && *beacon == "":
		return usageError{msg: "give --bootstrap and --update files, or --beacon URLS with --checkpoint ROOT", usage: c.usage()}
	case !offline && *checkpoint == "":
		return usageError{msg: "online checks need --checkpoint ROOT: the block root you trust (from a source you trust)", usage: c.usage()}
	}
	// Open the ledger first, so a bad incident id fails before any work.
	var ledger *store.Ledger
	var incidentID string
	if *incident != "" {
		if ledger, incidentID, err = a.ledgerAndIncident(*incident); err != nil {
			return err
		}
	}
	rep := synccheckReport{Mode: "offline"}
	var runErr error
	if offline {
		rep.Results, runErr = checkFiles(*bootstrap, updates, *genesisFile)
	} else {
		rep.Mode = "online"
		runErr = checkOnline(a, &rep, *beacon, *checkpoint, *period, *timeout)
	}
	var uerr usageError
	if errors.As(runErr, &uerr) {
		return uerr
	}
	if runErr != nil {
		rep.Error, rep.Class = runErr.Error(), string(classify(runErr))
	}
	rep.OK = runErr == nil && len(rep.Results) > 0
	for _, r := range rep.Results {
		rep.OK = rep.OK && r.OK()
	}
	if ledger != nil {
		for _, r := range rep.Results {
			ev, err := appendVerification(a, ledger, incidentID, r)
			if err != nil {
				return err
			}
			rep.Appended = append(rep.Appended, ev.Seq)
		}
		if runErr != nil && len(rep.Results) == 0 {
			ev, err := appendVerification(a, ledger, incidentID, verifier.Result{Source: rep.Mode, Classification: classify(runErr), Code: verifier.Invalid, Error: runErr.Error()})
			if err != nil {
				return err
			}
			rep.Appended = append(rep.Appended, ev.Seq)
		}
	}
	if *asJSON {
		if err := a.printJSON(rep); err != nil {
			return err
		}
	} else {
		printSynccheck(a, rep, incidentID)
	}
	if !rep.OK {
		return errSilent
	}
	return nil
}

// classify maps an error that stopped a check to its O-700 class.
func classify(err error) verifier.Classification {
	var fe *verifier.FetchError
	var pe *verifier.ProofError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &fe):
		return fe.Classification()
	case errors.As(err, &pe):
		return verifier.ClassInvalidProof
	}
	return verifier.ClassBadInput
}

func checkFiles(bootstrapPath string, updatePaths []string, genesisPath string) ([]verifier.Result, error) {
	genesis := verifier.MainnetGenesis
	if genesisPath != "" {
		raw, err := os.ReadFile(genesisPath)
		if err != nil {
			return nil, fmt.Errorf("genesis: %w", err)
		}
		if genesis, err = verifier.DecodeGenesis(raw); err != nil {
			return nil, fmt.Errorf("%s: %w", genesisPath, err)
		}
	}
	raw, err := os.ReadFile(bootstrapPath)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	boot, err := verifier.DecodeBootstrap(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", bootstrapPath, err)
	}
	var all []*verifier.Update
	var source, sums []string
	for _, p := range updatePaths {
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("updates: %w", err)
		}
		us, err := verifier.DecodeUpdates(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		sum := sha256.Sum256(raw)
		for range us {
			source = append(source, p)
			sums = append(sums, hex.EncodeToString(sum[:]))
		}
		all = append(all, us...)
	}
	k := verifier.NewChecker(genesis, verifier.MainnetForks)
	results, err := k.Walk(boot, nil, all)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", bootstrapPath, err)
	}
	for i := range results {
		results[i].Source, results[i].InputSHA256 = source[i], sums[i]
	}
	return results, nil
}

func checkOnline(a *app, rep *synccheckReport, beacon, checkpoint string, period uint64, timeout time.Duration) error {
	eps, err := verifier.ParseEndpoints(beacon)
	if err != nil {
		return usageError{msg: err.Error()}
	}
	var root verifier.Root
	if err := parseRoot(checkpoint, &root); err != nil {
		return err
	}
	client := verifier.NewClient(eps, timeout)
	out, err := verifier.CheckOnline(a.ctx, client, root, period)
	rep.Results, rep.Attempts = out.Results, out.Attempts
	return err
}

// parseRoot reads a 0x-hex 32-byte block root.
func parseRoot(s string, root *verifier.Root) error {
	raw, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil || len(raw) != 32 {
		return usageError{msg: fmt.Sprintf("--checkpoint %q is not a 32-byte 0x-hex block root", s)}
	}
	copy(root[:], raw)
	return nil
}

func appendVerification(a *app, l *store.Ledger, id string, r verifier.Result) (store.Event, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return store.Event{}, err
	}
	return l.Append(a.ctx, id, a.actor(), "", store.Verification(body))
}

func printSynccheck(a *app, rep synccheckReport, incidentID string) {
	w := a.stdout
	for _, att := range rep.Attempts {
		fmt.Fprintf(w, "endpoint failed: %s\n", termsafe.EscapeLine(att.String()))
	}
	verified := 0
	for _, r := range rep.Results {
		status := string(r.Classification)
		if r.OK() {
			verified++
			if !r.Supermajority {
				status += " (below 2/3: not enough for finality)"
			}
		} else {
			status = fmt.Sprintf("FAILED code %d %s: %s", r.Code, r.Classification, r.Error)
		}
		fmt.Fprintf(w, "period %d  slot %d  fork %-9s  participants %3d/512  %s  %s\n",
			r.Period, r.Slot, r.Fork, r.Participants, termsafe.EscapeLine(status), r.Took.Round(10*time.Microsecond))
	}
	if rep.Error != "" {
		fmt.Fprintf(w, "check failed (%s): %s\n", rep.Class, termsafe.EscapeLine(rep.Error))
	}
	fmt.Fprintf(w, "%d of %d update(s) verified\n", verified, len(rep.Results))
	if incidentID != "" {
		fmt.Fprintf(w, "appended %d verification event(s) to %s\n", len(rep.Appended), store.ShortID(incidentID))
	}
}
