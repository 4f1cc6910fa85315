package store

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"
)

// requiredTriggers are the guards Verify expects in the schema.
var requiredTriggers = []string{
	"events_chain", "events_no_update", "events_no_delete",
	"incidents_no_update", "incidents_no_delete", "blobs_no_update", "blobs_no_delete",
}

// Problem is one thing Verify found wrong.
type Problem struct {
	Incident string `json:"incident,omitempty"`
	Seq      int64  `json:"seq,omitempty"`
	Reason   string `json:"reason"`
}

func (p Problem) String() string {
	switch {
	case p.Incident != "" && p.Seq > 0:
		return fmt.Sprintf("%s seq %d: %s", ShortID(p.Incident), p.Seq, p.Reason)
	case p.Incident != "":
		return fmt.Sprintf("%s: %s", ShortID(p.Incident), p.Reason)
	}
	return p.Reason
}

// Report is the result of Verify.
type Report struct {
	Incidents int               `json:"incidents"`
	Events    int64             `json:"events"`
	Problems  []Problem         `json:"problems"`
	Heads     map[string]string `json:"-"`
	Took      time.Duration     `json:"-"`
}

// OK reports whether nothing was wrong.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Verify checks the whole ledger: SQLite's quick_check, the presence of the
// append-only triggers, and every incident's hash chain (seq continuity
// from 1, each prev_hash the previous hash, each hash recomputed). A byte
// changed inside a row passes SQLite's own check; only the chain catches
// it, so both always run. When incident is not empty only that chain is
// walked (quick_check and triggers are still checked).
func (d *DB) Verify(ctx context.Context, incident string) (Report, error) {
	start := time.Now()
	rep := Report{Problems: []Problem{}, Heads: map[string]string{}}
	var qc string
	if err := d.sql.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&qc); err != nil {
		return rep, fmt.Errorf("ledger %s: quick_check: %w", d.path, err)
	}
	if qc != "ok" {
		rep.Problems = append(rep.Problems, Problem{Reason: "SQLite quick_check: " + qc})
	}
	rows, err := d.sql.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'trigger'")
	if err != nil {
		return rep, err
	}
	var have []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		have = append(have, n)
	}
	rows.Close()
	for _, t := range requiredTriggers {
		if !slices.Contains(have, t) {
			rep.Problems = append(rep.Problems, Problem{Reason: "append-only trigger " + t + " is missing: the schema was altered outside ic"})
		}
	}

	// Incidents without any event, or events of unknown incidents.
	orphanQ := `SELECT id FROM incidents WHERE NOT EXISTS (SELECT 1 FROM events WHERE incident = incidents.n AND seq = 1)`
	if incident != "" {
		orphanQ += " AND id = ?"
	}
	var orphanArgs []any
	if incident != "" {
		orphanArgs = append(orphanArgs, incident)
	}
	if rows, err := d.sql.QueryContext(ctx, orphanQ, orphanArgs...); err == nil {
		for rows.Next() {
			var id string
			rows.Scan(&id)
			rep.Problems = append(rep.Problems, Problem{Incident: id, Seq: 1, Reason: "the declaration event (seq 1) is missing"})
		}
		rows.Close()
	}

	// The chains are split by incident across one connection per core;
	// each worker streams its rows (three columns, the text ones joined
	// by SQLite) and hashes as it goes.
	incs, err := d.incidentNumbers(ctx, incident)
	if err != nil {
		return rep, err
	}
	workers := min(runtime.GOMAXPROCS(0), max(1, len(incs)))
	type part struct {
		problems []Problem
		events   int64
		heads    map[string]string
		err      error
	}
	parts := make([]part, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := len(incs)*w/workers, len(incs)*(w+1)/workers
		if lo == hi {
			continue
		}
		wg.Go(func() {
			p := &parts[w]
			p.heads = map[string]string{}
			p.problems, p.events, p.err = d.verifyChains(ctx, incs[lo:hi], p.heads)
		})
	}
	wg.Wait()
	for _, p := range parts {
		if p.err != nil {
			return rep, fmt.Errorf("ledger %s: read chains: %w", d.path, p.err)
		}
		rep.Problems = append(rep.Problems, p.problems...)
		rep.Events += p.events
		maps.Copy(rep.Heads, p.heads)
	}
	rep.Incidents = len(incs)
	rep.Took = time.Since(start)
	return rep, nil
}

type incidentNumber struct {
	n  int64
	id string
}

// incidentNumbers lists incidents (one, or all) by row number.
func (d *DB) incidentNumbers(ctx context.Context, only string) ([]incidentNumber, error) {
	q, args := "SELECT n, id FROM incidents ORDER BY n", []any{}
	if only != "" {
		q, args = "SELECT n, id FROM incidents WHERE id = ?", []any{only}
	}
	rows, err := d.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []incidentNumber
	for rows.Next() {
		var in incidentNumber
		if err := rows.Scan(&in.n, &in.id); err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// verifyChains walks the events of a run of incidents (consecutive row
// numbers) in (incident, seq) order and checks each chain: seq continuity
// from 1, each stored prev_hash equal to the previous hash, each hash
// recomputed from the row. It records each incident's first problem.
func (d *DB) verifyChains(ctx context.Context, incs []incidentNumber, heads map[string]string) ([]Problem, int64, error) {
	ids := make(map[int64]string, len(incs))
	for _, in := range incs {
		ids[in.n] = in.id
	}
	rows, err := d.sql.QueryContext(ctx, `SELECT incident, seq, time, actor, type, payload, prev_hash, hash
		FROM events WHERE incident BETWEEN ? AND ? ORDER BY incident, seq`, incs[0].n, incs[len(incs)-1].n)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var problems []Problem
	var events int64
	var cur int64 = -1
	var id string
	var prev Hash
	var want int64
	broken := false
	finish := func() {
		if cur >= 0 && !broken {
			heads[id] = prev.String()
		}
	}
	var n, seq, tms int64
	var actor, typ, payload, sprev, shash sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&n, &seq, &tms, &actor, &typ, &payload, &sprev, &shash); err != nil {
			return nil, 0, err
		}
		events++
		if n != cur {
			finish()
			cur, id, prev, want, broken = n, ids[n], Hash{}, 1, false
			if id == "" {
				problems = append(problems, Problem{Seq: seq, Reason: fmt.Sprintf("events belong to incident row %d, which does not exist", n)})
				broken = true
			}
		}
		if broken {
			continue
		}
		if p := checkEvent(id, want, seq, tms, actor, typ, payload, sprev, shash, &prev); p != nil {
			problems = append(problems, *p)
			broken = true
			continue
		}
		want++
	}
	finish()
	return problems, events, rows.Err()
}

// checkEvent checks one stored event against the chain so far; prev is the
// previous event's hash and becomes this one's.
func checkEvent(id string, want, seq, tms int64, actor, typ, payload, sprev, shash []byte, prev *Hash) *Problem {
	if seq != want {
		return &Problem{Incident: id, Seq: want, Reason: fmt.Sprintf("seq %d is missing (next stored event is seq %d): an event was removed", want, seq)}
	}
	if len(sprev) != 32 || len(shash) != 32 {
		return &Problem{Incident: id, Seq: seq, Reason: "prev_hash or hash is not 32 bytes"}
	}
	if Hash(sprev) != *prev {
		return &Problem{Incident: id, Seq: seq, Reason: "prev_hash does not match the hash of seq " + strconv.FormatInt(seq-1, 10)}
	}
	if seq == 1 && string(typ) != DeclaredType {
		return &Problem{Incident: id, Seq: 1, Reason: "first event is " + string(typ) + ", not declared"}
	}
	if ComputeHash(id, seq, tms, string(actor), string(typ), payload, *prev) != Hash(shash) {
		return &Problem{Incident: id, Seq: seq, Reason: "hash does not match the event's contents: the event was altered after it was written"}
	}
	*prev = Hash(shash)
	return nil
}
