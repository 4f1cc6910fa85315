// Package ledgertest writes synthetic ledgers for benchmarks, demos and
// tests (scripts/gen-ledger runs it). It is not part of the ic binary.
package ledgertest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/store"
)

// GenerateOptions shapes a synthetic ledger for benchmarks and demos.
type GenerateOptions struct {
	Incidents int
	Events    int // per incident, the declaration included
	Batch     int // events per transaction (default 1000)
	Start     time.Time
	Seed      uint64
}

// Generate fills db with synthetic incidents whose timelines look like real
// ones: notes of varied length, status updates on a cadence, checked steps
// citing procedures, severity and state changes, evidence, action items. It
// writes through AppendBatch, so every chain is real and verifies.
func Generate(ctx context.Context, db *store.DB, o GenerateOptions) error {
	if o.Batch <= 0 {
		o.Batch = 1000
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 42))
	words := strings.Fields("relay queue settlement wallet signer beacon endpoint restarted checked " +
		"latency error rate rollback canary node disk memory alert customer report verified " +
		"upstream timeout retry drained paused resumed backlog proof committee fork")
	sentence := func(min, max int) string {
		n := min + rng.IntN(max-min+1)
		w := make([]string, n)
		for i := range w {
			w[i] = words[rng.IntN(len(words))]
		}
		return strings.Join(w, " ")
	}
	ref := incident.ProcedureRef{ID: "O-020", Version: 3, Hash: strings.Repeat("ab", 32)}
	for i := range o.Incidents {
		at := o.Start.Add(time.Duration(i) * 37 * time.Minute)
		sev := []string{"SEV-1", "SEV-2", "SEV-3"}[rng.IntN(3)]
		title := "synthetic incident " + fmt.Sprint(i) + ": " + sentence(2, 5)
		key := fmt.Sprintf("gen-%d-%d-0", o.Seed, i)
		inc := store.Incident{ID: store.DeclarationID("ops", title, sev, at.UnixMilli(), "gen", key), Book: "ops", Title: title,
			Kind: "incident", Drill: i%25 == 0, DeclaredAt: at, DeclaredBy: "gen"}
		first := event(at, "gen", key, incident.Declared{Book: "ops", Title: title, Severity: sev, State: "OPEN", IncidentKind: "incident", Drill: inc.Drill})
		if _, _, _, err := db.CreateIncident(ctx, inc, first); err != nil {
			return err
		}
		batch := make([]store.Event, 0, o.Batch)
		for seq := 2; seq <= o.Events; seq++ {
			t := at.Add(time.Duration(seq) * 2 * time.Second)
			actor, key := []string{"alice", "bob", "carol"}[rng.IntN(3)], fmt.Sprintf("gen-%d-%d-%d", o.Seed, i, seq)
			var p incident.Payload
			switch r := rng.IntN(100); {
			case r < 60:
				p = incident.Note{Text: sentence(4, 30)}
			case r < 75:
				p = incident.StatusUpdate{Text: sentence(6, 20)}
			case r < 90:
				p = incident.StepChecked{Procedure: ref, Step: 1 + rng.IntN(12), Text: sentence(5, 12)}
			case r < 94:
				p = incident.Evidence{Name: "capture.log", Size: int64(rng.IntN(1 << 20)), SHA256: strings.Repeat("cd", 32)}
			case r < 97:
				p = incident.ActionItem{Text: sentence(4, 10), Owner: "bob", Due: "2026-12-01"}
			default:
				p = incident.RoleAssignment{Role: "scribe", Name: "carol"}
			}
			batch = append(batch, event(t, actor, key, p))
			if len(batch) == o.Batch || seq == o.Events {
				if _, err := db.AppendBatch(ctx, inc.ID, batch); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
	}
	return nil
}

// event is a stored event for payload p; the payloads are plain structs,
// so encoding them cannot fail.
func event(t time.Time, actor, key string, p incident.Payload) store.Event {
	b, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	return store.Event{Time: t, Actor: actor, Key: key, Type: p.Kind(), Payload: b}
}
