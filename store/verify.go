package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
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
	orphanQ := `SELECT id FROM incidents WHERE NOT EXISTS (SELECT 1 FROM events WHERE incident_id = incidents.id AND seq = 1)`
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

	// Each incident's chain comes back as one row: SQLite concatenates the
	// events in C, which is far cheaper than a round trip per event; the
	// hashing then runs on every core.
	q := `SELECT incident_id, count(*), group_concat(seq || char(1) || time || char(1) || actor || char(1) || type || char(1) || payload || char(1) || hex(prev_hash) || char(1) || hex(hash), char(2) ORDER BY seq) FROM events`
	var args []any
	if incident != "" {
		q += " WHERE incident_id = ?"
		args = append(args, incident)
	}
	q += " GROUP BY incident_id ORDER BY incident_id"
	rows, err = d.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return rep, fmt.Errorf("ledger %s: read chains: %w", d.path, err)
	}
	type chain struct {
		idx  int
		id   string
		body []byte
	}
	type result struct {
		problem *Problem
		head    string
	}
	work := make(chan chain)
	var results []result
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for c := range work {
				p, head := verifyChain(c.id, c.body)
				mu.Lock()
				for len(results) <= c.idx {
					results = append(results, result{})
				}
				results[c.idx] = result{p, head}
				mu.Unlock()
			}
		})
	}
	var ids []string
	var scanErr error
	for rows.Next() {
		var id string
		var n int64
		var body []byte
		if scanErr = rows.Scan(&id, &n, &body); scanErr != nil {
			break
		}
		rep.Events += n
		ids = append(ids, id)
		work <- chain{idx: len(ids) - 1, id: id, body: body}
	}
	close(work)
	wg.Wait()
	if scanErr == nil {
		scanErr = rows.Err()
	}
	rows.Close()
	if scanErr != nil {
		return rep, fmt.Errorf("ledger %s: read chains: %w", d.path, scanErr)
	}
	rep.Incidents = len(ids)
	for i, r := range results {
		if r.problem != nil {
			rep.Problems = append(rep.Problems, *r.problem)
		}
		rep.Heads[ids[i]] = r.head
	}
	rep.Took = time.Since(start)
	return rep, nil
}

// verifyChain checks one incident's concatenated events and returns the
// first problem (nil when the chain holds) and the head hash.
func verifyChain(id string, body []byte) (*Problem, string) {
	var prev Hash
	want := int64(1)
	for rec := range bytes.SplitSeq(body, []byte{2}) {
		f := bytes.SplitN(rec, []byte{1}, 7)
		if len(f) != 7 {
			return &Problem{Incident: id, Seq: want, Reason: "event record is malformed (a field holds a control character)"}, ""
		}
		seq, err1 := strconv.ParseInt(string(f[0]), 10, 64)
		tms, err2 := strconv.ParseInt(string(f[1]), 10, 64)
		if err1 != nil || err2 != nil {
			return &Problem{Incident: id, Seq: want, Reason: "seq or time is not a number"}, ""
		}
		if seq != want {
			return &Problem{Incident: id, Seq: want, Reason: fmt.Sprintf("seq %d is missing (next stored event is seq %d): an event was removed", want, seq)}, ""
		}
		var storedPrev, stored Hash
		if _, err := hex.Decode(storedPrev[:], f[5]); err != nil || len(f[5]) != 64 {
			return &Problem{Incident: id, Seq: seq, Reason: "prev_hash is not 32 bytes"}, ""
		}
		if _, err := hex.Decode(stored[:], f[6]); err != nil || len(f[6]) != 64 {
			return &Problem{Incident: id, Seq: seq, Reason: "hash is not 32 bytes"}, ""
		}
		if storedPrev != prev {
			return &Problem{Incident: id, Seq: seq, Reason: "prev_hash does not match the hash of seq " + strconv.FormatInt(seq-1, 10)}, ""
		}
		if seq == 1 && string(f[3]) != TypeDeclared {
			return &Problem{Incident: id, Seq: 1, Reason: "first event is " + string(f[3]) + ", not declared"}, ""
		}
		got := ComputeHash(id, seq, tms, string(f[2]), string(f[3]), f[4], prev)
		if got != stored {
			return &Problem{Incident: id, Seq: seq, Reason: "hash does not match the event's contents: the event was altered after it was written"}, ""
		}
		prev = got
		want++
	}
	return nil, strings.ToLower(prev.String())
}
