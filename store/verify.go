package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/icconsole/ic/internal/checkpoint"
	"github.com/mattn/go-sqlite3"
	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"
)

// The checks Verify runs; each Problem names one.
const (
	CheckQuick      = "quick_check" // SQLite's PRAGMA quick_check
	CheckSchema     = "schema"      // the append-only triggers, by their SQL text
	CheckChain      = "chain"       // each incident's hash chain
	CheckIncident   = "incident"    // incident rows: their leaf, and agreement with the declaration
	CheckBlob       = "blob"        // evidence bytes re-hashed
	CheckLog        = "log"         // every record at its leaf; leaves, nodes and head agree
	CheckCheckpoint = "checkpoint"  // signatures, and consistency of the log with each checkpoint
)

// maxProblems bounds the list; the rest are counted.
const maxProblems = 200

// VerifyOptions says how much Verify re-reads and which checkpoints it
// holds the log against.
type VerifyOptions struct {
	// Full re-reads and re-hashes every record. Otherwise Verify starts
	// from the newest checkpoint signed by one of Verifiers: it proves the
	// log consistent with every checkpoint and re-checks only the records
	// appended since that one (full when there is none).
	Full bool
	// Incident limits the record checks to one incident (full id).
	Incident string
	// Verifiers are the verifier keys (name+hash+base64, or a file holding
	// one) whose signatures on checkpoints are trusted.
	Verifiers []string
	// CheckpointDir is a folder of checkpoint copies ("" for none).
	CheckpointDir string
	// CheckpointFiles are more checkpoints to hold the log against.
	CheckpointFiles []string
	// Marks select events whose incidents the report names (Marked): a
	// verify that reads every event anyway tells the caller which
	// incidents hold such events, so it need not read the ledger again.
	// It is called once, and only by a verify that reads every event in
	// its scope (the marks may cost the caller something to compute).
	Marks func() []Mark
}

// Mark selects events of one type whose payload contains one of
// Contains (any payload of that type when Contains is empty). A match on
// the payload's bytes may be loose: the caller re-reads what was marked.
type Mark struct {
	Type     string
	Contains []string
}

func (m Mark) matches(typ, payload []byte) bool {
	if string(typ) != m.Type {
		return false
	}
	if len(m.Contains) == 0 {
		return true
	}
	for _, c := range m.Contains {
		if bytes.Contains(payload, []byte(c)) {
			return true
		}
	}
	return false
}

// Problem is one thing Verify found wrong: which check, which record.
type Problem struct {
	Check    string `json:"check"`
	Incident string `json:"incident,omitempty"`
	Seq      int64  `json:"seq,omitempty"`
	// LogIndex is the record's leaf in the log, when known.
	LogIndex *int64 `json:"log_index,omitempty"`
	// Checkpoint names the checkpoint that caught it (source and size).
	Checkpoint string `json:"checkpoint,omitempty"`
	Reason     string `json:"reason"`
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Check)
	b.WriteString(": ")
	where := []string{}
	if p.Incident != "" {
		if p.Seq > 0 {
			where = append(where, fmt.Sprintf("%s seq %d", ShortID(p.Incident), p.Seq))
		} else {
			where = append(where, ShortID(p.Incident))
		}
	}
	if p.LogIndex != nil {
		where = append(where, fmt.Sprintf("log index %d", *p.LogIndex))
	}
	if p.Checkpoint != "" {
		where = append(where, "checkpoint "+p.Checkpoint)
	}
	if len(where) > 0 {
		b.WriteString(strings.Join(where, ", "))
		b.WriteString(": ")
	}
	b.WriteString(p.Reason)
	return b.String()
}

func idx(i int64) *int64 { return &i }

// toHash copies b into a Hash; a value of the wrong length (only from a
// damaged row) gives one that matches nothing real.
func toHash(b []byte) Hash {
	var h Hash
	if len(b) != 32 {
		h[0], h[31] = 0xff, byte(len(b))
		return h
	}
	return Hash(b)
}

// Check says what one check covered, or why it was skipped.
type Check struct {
	Name    string `json:"name"`
	Covered string `json:"covered,omitempty"`
	Skipped string `json:"skipped,omitempty"`
}

// CheckpointResult is what Verify made of one checkpoint.
type CheckpointResult struct {
	Source  string   `json:"source"` // "ledger" or a file path
	Size    uint64   `json:"size"`
	Root    string   `json:"root"`
	Signers []string `json:"signers,omitempty"`
	// Signature: "valid", "unchecked" (no verifier key given), or why not.
	Signature string `json:"signature"`
	// Consistent: the log holds this checkpoint's tree as its prefix.
	Consistent bool `json:"consistent"`
}

// Name is how the report and problems name the checkpoint.
func (c CheckpointResult) Name() string {
	return fmt.Sprintf("%s (size %d, root %.12s)", c.Source, c.Size, c.Root)
}

// Report is the result of Verify.
type Report struct {
	// Mode is "full", "incremental", "incident" or "schema-1" (a ledger
	// without a log, verified read-only).
	Mode      string `json:"mode"`
	Incidents int    `json:"incidents"`
	Events    int64  `json:"events"`
	Blobs     int    `json:"blobs"`
	// LogSize and LogRoot are the log's head as verified.
	LogSize  uint64    `json:"log_size"`
	LogRoot  string    `json:"log_root,omitempty"`
	Checks   []Check   `json:"checks"`
	Problems []Problem `json:"problems"`
	// MoreProblems counts the problems past the first 200.
	MoreProblems int                `json:"more_problems,omitempty"`
	Checkpoints  []CheckpointResult `json:"checkpoints"`
	// TrustedFrom is the checkpoint an incremental verify started from.
	TrustedFrom *CheckpointResult `json:"trusted_from,omitempty"`
	Heads       map[string]string `json:"-"`
	Took        time.Duration     `json:"-"`
	// Marked holds the incidents (full ids) with an event that one of
	// VerifyOptions.Marks selects; MarksRead says every event in scope was
	// read for them (a full verify, or one incident's).
	Marked    map[string]bool `json:"-"`
	MarksRead bool            `json:"-"`
}

// OK reports whether nothing was wrong.
func (r Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) add(p Problem) {
	if len(r.Problems) >= maxProblems {
		r.MoreProblems++
		return
	}
	r.Problems = append(r.Problems, p)
}

func (r *Report) covered(name, what string) {
	r.Checks = append(r.Checks, Check{Name: name, Covered: what})
}
func (r *Report) skipped(name, why string) {
	r.Checks = append(r.Checks, Check{Name: name, Skipped: why})
}

// Verify checks the whole ledger (incident "" ) or one incident's records,
// in full: the same as VerifyWith(ctx, VerifyOptions{Full: true,
// Incident: incident}).
func (d *DB) Verify(ctx context.Context, incident string) (Report, error) {
	return d.VerifyWith(ctx, VerifyOptions{Full: true, Incident: incident})
}

// VerifyWith checks the ledger as o says and reports every check it ran,
// what it covered, and each problem with its check and record. An error
// means the ledger could not be read, never that it verified.
func (d *DB) VerifyWith(ctx context.Context, o VerifyOptions) (Report, error) {
	start := time.Now()
	rep := Report{Problems: []Problem{}, Checks: []Check{}, Checkpoints: []CheckpointResult{}, Heads: map[string]string{}}
	verifiers := make([]note.Verifier, 0, len(o.Verifiers))
	for _, k := range o.Verifiers {
		v, err := checkpoint.NewVerifier(k)
		if err != nil {
			return rep, err
		}
		verifiers = append(verifiers, v)
	}
	if d.schema < 2 {
		err := d.verifySchema1(ctx, o, &rep)
		rep.Took = time.Since(start)
		return rep, err
	}
	v := &verifier{d: d, o: o, rep: &rep, workers: max(1, runtime.GOMAXPROCS(0))}
	err := v.run(ctx, verifiers)
	rep.Took = time.Since(start)
	return rep, err
}

// verifier is one run of Verify.
type verifier struct {
	d       *DB
	o       VerifyOptions
	rep     *Report
	workers int

	head logHead
	// base is the first log index the record checks cover (the trusted
	// checkpoint's size in an incremental verify).
	base  int64
	cps   []foundCheckpoint
	incs  map[int64]incRow // by row number
	mu    sync.Mutex       // guards rep while workers run
	chain map[string]bool  // incidents with a chain problem already
	// marking is what o.Marks gave, when this verify reads every event.
	marking []Mark
}

// startMarking asks for the marks, before a walk over every event.
func (v *verifier) startMarking() {
	if v.o.Marks != nil {
		v.marking = v.o.Marks()
	}
}

// mark records that incident id holds an event the options mark.
func (v *verifier) mark(id string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.rep.Marked == nil {
		v.rep.Marked = map[string]bool{}
	}
	v.rep.Marked[id] = true
}

// marks reports whether the event whose tail ("actor NUL [identity NUL]
// type NUL payload") is given matches one of the options' marks.
func (v *verifier) marks(e eventRow) bool {
	tail := e.tail
	skip := 1
	if e.v2 {
		skip = 2
	}
	for range skip {
		i := bytes.IndexByte(tail, 0)
		if i < 0 {
			return false
		}
		tail = tail[i+1:]
	}
	i := bytes.IndexByte(tail, 0)
	if i < 0 {
		return false
	}
	for _, m := range v.marking {
		if m.matches(tail[:i], tail[i+1:]) {
			return true
		}
	}
	return false
}

type incRow struct {
	inc    Incident
	n      int64
	logIdx int64
	maxSeq int64
}

type foundCheckpoint struct {
	res     CheckpointResult
	cp      checkpoint.Checkpoint
	trusted bool
}

func (v *verifier) problem(p Problem) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if p.Check == CheckChain && p.Incident != "" {
		if v.chain[p.Incident] {
			return
		}
		v.chain[p.Incident] = true
	}
	v.rep.add(p)
}

func (v *verifier) run(ctx context.Context, verifiers []note.Verifier) error {
	d, rep := v.d, v.rep
	v.chain = map[string]bool{}
	qc := make(chan error, 1)
	quick := v.o.Full || v.o.Incident != ""
	if quick {
		go func() { qc <- v.quickCheck(ctx) }()
	}
	if err := v.checkSchema(ctx); err != nil {
		return err
	}
	h, err := readHead(ctx, d.sql)
	if err != nil {
		v.problem(Problem{Check: CheckLog, Reason: err.Error()})
		if quick {
			if err := <-qc; err != nil {
				return err
			}
		}
		return nil
	}
	v.head = h
	rep.LogSize = h.size
	rep.LogRoot = h.root().String()
	if err := v.loadCheckpoints(ctx, verifiers); err != nil {
		return err
	}
	switch {
	case v.o.Incident != "":
		rep.Mode = "incident"
		err = v.incident(ctx)
	case !v.o.Full:
		var done bool
		done, err = v.incremental(ctx)
		if err == nil && !done {
			go func() { qc <- v.quickCheck(ctx) }()
			quick = true
			err = v.full(ctx)
		}
	default:
		err = v.full(ctx)
	}
	if quick {
		if qerr := <-qc; err == nil {
			err = qerr
		}
	} else {
		rep.skipped(CheckQuick, "not run by an incremental verify (it reads every page): run a full verify")
	}
	if err != nil {
		return fmt.Errorf("ledger %s: %w", d.path, err)
	}
	for _, c := range v.cps {
		rep.Checkpoints = append(rep.Checkpoints, c.res)
	}
	sort.SliceStable(rep.Problems, func(i, j int) bool { return problemOrder(rep.Problems[i]) < problemOrder(rep.Problems[j]) })
	return nil
}

func problemOrder(p Problem) int {
	return slices.Index([]string{CheckQuick, CheckSchema, CheckCheckpoint, CheckLog, CheckIncident, CheckChain, CheckBlob}, p.Check)
}

func (v *verifier) quickCheck(ctx context.Context) error {
	rows, err := v.d.sql.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return fmt.Errorf("quick_check: %w", err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return fmt.Errorf("quick_check: %w", err)
		}
		lines = append(lines, s)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("quick_check: %w", err)
	}
	if len(lines) != 1 || lines[0] != "ok" {
		v.problem(Problem{Check: CheckQuick, Reason: "SQLite reports: " + strings.Join(lines, "; ")})
	}
	v.mu.Lock()
	v.rep.covered(CheckQuick, "every page of the file")
	v.mu.Unlock()
	return nil
}

// referenceTriggers builds the schema in memory from the embedded
// migrations, up to version, and returns its triggers' SQL by name: the
// text a ledger's triggers must have, word for word.
func referenceTriggers(ctx context.Context, version int) (map[string]string, error) {
	names, err := migrationList()
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector{drv: &sqlite3.SQLiteDriver{}, dsn: "file::memory:"})
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, name := range names[:min(version, len(names))] {
		body, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		for i, part := range strings.Split(string(body), hookMarker) {
			if i > 0 {
				_, part, _ = strings.Cut(part, "\n")
			}
			if strings.TrimSpace(part) == "" {
				continue
			}
			if _, err := db.ExecContext(ctx, part); err != nil {
				return nil, fmt.Errorf("reference schema %s: %w", name, err)
			}
		}
	}
	return triggersOf(ctx, db)
}

func triggersOf(ctx context.Context, q querier) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name string
		var text sql.NullString
		if err := rows.Scan(&name, &text); err != nil {
			return nil, err
		}
		out[name] = text.String
	}
	return out, rows.Err()
}

// checkSchema compares the ledger's triggers with the reference by their
// SQL text: a trigger dropped and re-created to do nothing under the same
// name is as bad as one that is missing.
func (v *verifier) checkSchema(ctx context.Context) error {
	want, err := referenceTriggers(ctx, v.d.schema)
	if err != nil {
		return err
	}
	have, err := triggersOf(ctx, v.d.sql)
	if err != nil {
		return fmt.Errorf("read the schema: %w", err)
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range want {
			if !yield(n) {
				return
			}
		}
	}) {
		got, ok := have[name]
		switch {
		case !ok:
			v.problem(Problem{Check: CheckSchema, Reason: "append-only trigger " + name + " is missing: the schema was altered outside ic"})
		case got != want[name]:
			v.problem(Problem{Check: CheckSchema, Reason: "trigger " + name + " is not ic's (its SQL text differs): it was replaced outside ic"})
		}
	}
	for name := range have {
		if _, ok := want[name]; !ok {
			v.problem(Problem{Check: CheckSchema, Reason: "trigger " + name + " is not part of ic's schema: it was added outside ic"})
		}
	}
	v.rep.covered(CheckSchema, fmt.Sprintf("%d triggers compared by their SQL text", len(want)))
	return nil
}

// loadCheckpoints reads the checkpoints in the ledger, the folder and the
// given files, and checks their signatures and origin.
func (v *verifier) loadCheckpoints(ctx context.Context, verifiers []note.Verifier) error {
	type src struct {
		name string
		note []byte
		err  error
	}
	var all []src
	rows, err := v.d.sql.QueryContext(ctx, "SELECT n, note FROM checkpoints ORDER BY n")
	if err != nil {
		return fmt.Errorf("read checkpoints: %w", err)
	}
	for rows.Next() {
		var n int64
		var text string
		if err := rows.Scan(&n, &text); err != nil {
			rows.Close()
			return fmt.Errorf("read checkpoints: %w", err)
		}
		all = append(all, src{name: "ledger #" + strconv.FormatInt(n, 10), note: []byte(text)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read checkpoints: %w", err)
	}
	var files []checkpoint.File
	if v.o.CheckpointDir != "" {
		fs, err := checkpoint.ReadDir(v.o.CheckpointDir)
		if err != nil {
			return err
		}
		for _, f := range fs {
			// A shared folder may hold other ledgers' checkpoints.
			if f.Err == nil && f.Checkpoint.Origin != v.head.origin {
				continue
			}
			files = append(files, f)
		}
	}
	for _, p := range v.o.CheckpointFiles {
		files = append(files, checkpoint.ReadFile(p))
	}
	for _, f := range files {
		all = append(all, src{name: f.Path, note: f.Checkpoint.Note, err: f.Err})
	}
	for _, s := range all {
		if s.err != nil {
			v.problem(Problem{Check: CheckCheckpoint, Checkpoint: s.name, Reason: "not a readable checkpoint: " + s.err.Error()})
			continue
		}
		fc := foundCheckpoint{res: CheckpointResult{Source: s.name}}
		c, err := checkpoint.Parse(s.note, verifiers...)
		fc.cp = c
		fc.res.Size, fc.res.Root, fc.res.Signers = c.Size, hex.EncodeToString(c.Root[:]), c.Signers
		switch {
		case err == nil && len(verifiers) == 0:
			fc.res.Signature = "unchecked (no verifier key given)"
		case err == nil:
			fc.res.Signature = "valid"
			fc.trusted = true
		case errors.Is(err, checkpoint.ErrUnverified):
			fc.res.Signature = "not signed by a trusted key (" + strings.Join(c.Signers, ", ") + ")"
			v.problem(Problem{Check: CheckCheckpoint, Checkpoint: fc.res.Name(), Reason: "signed by none of the given verifier keys (" + strings.Join(c.Signers, ", ") + "): a forgery, or a key you did not give"})
		default:
			fc.res.Signature = "invalid: " + err.Error()
			v.problem(Problem{Check: CheckCheckpoint, Checkpoint: s.name, Reason: "signature does not verify: " + err.Error()})
			fc.trusted = false
		}
		if err == nil && c.Origin != v.head.origin {
			v.problem(Problem{Check: CheckCheckpoint, Checkpoint: fc.res.Name(), Reason: fmt.Sprintf("is for log %q, not this ledger's %q", c.Origin, v.head.origin)})
			fc.trusted = false
		}
		v.cps = append(v.cps, fc)
	}
	return nil
}

// checkCheckpointRoots holds each checkpoint against the log: rootAt(size)
// must be its root. A change is located between the newest checkpoint
// that still holds and the oldest that does not.
func (v *verifier) checkCheckpointRoots(rootAt func(uint64) (Hash, error), how string) error {
	order := make([]int, len(v.cps))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return v.cps[order[a]].cp.Size < v.cps[order[b]].cp.Size })
	var lastGood uint64
	for _, i := range order {
		c := &v.cps[i]
		if c.res.Signature != "valid" && !strings.HasPrefix(c.res.Signature, "unchecked") {
			continue
		}
		if c.cp.Origin != v.head.origin {
			continue
		}
		if c.cp.Size > v.head.size {
			v.problem(Problem{Check: CheckCheckpoint, Checkpoint: c.res.Name(), LogIndex: idx(int64(v.head.size)),
				Reason: fmt.Sprintf("the log has %d records, fewer than the %d this checkpoint signed: records were removed from the end (truncation)", v.head.size, c.cp.Size)})
			continue
		}
		root, err := rootAt(c.cp.Size)
		if err != nil {
			return err
		}
		if root != c.cp.Root {
			v.problem(Problem{Check: CheckCheckpoint, Checkpoint: c.res.Name(), LogIndex: idx(int64(lastGood)),
				Reason: fmt.Sprintf("the log's first %d records are not the ones this checkpoint signed (%s): records in log indexes [%d, %d) were changed, removed or inserted after it", c.cp.Size, how, lastGood, c.cp.Size)})
			continue
		}
		c.res.Consistent = true
		lastGood = c.cp.Size
	}
	return nil
}

// claimIncidents claims each incident row's leaf, once every event was
// walked.
func (v *verifier) claimIncidents(recorded []Leaf, claims []uint32, late *lateRecords) {
	for _, r := range v.incs {
		v.claim(recorded, claims, late, r.logIdx, Leaf{LeafIncident, incidentHash(r.inc)}, func() Problem {
			return Problem{Check: CheckIncident, Incident: r.inc.ID}
		})
	}
}

// full re-reads every record, re-hashes it, and rebuilds the tree.
func (v *verifier) full(ctx context.Context) error {
	v.rep.Mode = "full"
	v.startMarking()
	if err := v.readIncidents(ctx); err != nil {
		return err
	}
	n := v.head.size
	stored := make([]Leaf, n)
	recorded := make([]Leaf, n)
	claims := make([]uint32, n)
	hashes := make([]Hash, n)
	late := &lateRecords{}
	var jobs []func(context.Context) error
	// The log's leaves, in aligned chunks.
	const logChunk = 1 << 16
	for lo := uint64(0); lo < n; lo += logChunk {
		hi := min(n, lo+logChunk)
		jobs = append(jobs, func(ctx context.Context) error { return v.readLeaves(ctx, lo, hi, stored, hashes) })
	}
	// The events, in key ranges of about 32k events.
	for _, r := range v.eventChunks(1 << 15) {
		jobs = append(jobs, func(ctx context.Context) error {
			return v.walkEvents(ctx, r, recorded, claims, late)
		})
	}
	jobs = append(jobs, func(ctx context.Context) error { return v.checkBlobsFrom(ctx, 0, recorded, claims, late) })
	jobs = append(jobs, func(ctx context.Context) error { return v.checkMigrations(ctx, 0, recorded, claims, late) })
	if err := v.runJobs(ctx, jobs); err != nil {
		return err
	}
	v.rep.MarksRead = true
	v.claimIncidents(recorded, claims, late)
	if err := v.compareLeaves(ctx, 0, stored, recorded, claims); err != nil {
		return err
	}
	if err := v.checkLate(ctx, late); err != nil {
		return err
	}
	t := buildTree(hashes, v.workers)
	if err := v.checkNodes(ctx, t); err != nil {
		return err
	}
	if got := t.rangeAt(n); !rangesEqual(got, v.head.rng.Hashes()) {
		v.problem(Problem{Check: CheckLog, Reason: "the stored head of the log is not the tree of its leaves: the head was altered outside ic"})
	}
	if err := v.checkCheckpointRoots(func(s uint64) (Hash, error) { return t.rootAt(s), nil }, "root recomputed from the records"); err != nil {
		return err
	}
	v.rep.covered(CheckLog, fmt.Sprintf("%d leaves re-hashed into the root %.12s; every record at its leaf", n, v.rep.LogRoot))
	v.rep.covered(CheckChain, fmt.Sprintf("%d events in %d incidents", v.rep.Events, len(v.incs)))
	v.rep.covered(CheckIncident, fmt.Sprintf("%d incident rows", len(v.incs)))
	v.rep.covered(CheckBlob, fmt.Sprintf("%d evidence blobs re-hashed", v.rep.Blobs))
	v.coveredCheckpoints()
	v.rep.Incidents = len(v.incs)
	return nil
}

func (v *verifier) coveredCheckpoints() {
	ok := 0
	for _, c := range v.cps {
		if c.res.Consistent {
			ok++
		}
	}
	if len(v.cps) == 0 {
		v.rep.skipped(CheckCheckpoint, "no checkpoint found (in the ledger, the checkpoint folder or given files): truncation or a rewritten log cannot be told from a short one")
		return
	}
	v.rep.covered(CheckCheckpoint, fmt.Sprintf("%d of %d checkpoints consistent with the log", ok, len(v.cps)))
}

func rangesEqual(a, b [][]byte) bool {
	return slices.EqualFunc(a, b, func(x, y []byte) bool { return string(x) == string(y) })
}

// runJobs runs jobs on v.workers goroutines, in order of submission.
func (v *verifier) runJobs(ctx context.Context, jobs []func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	errs := make([]error, v.workers)
	var wg sync.WaitGroup
	for w := range v.workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) || ctx.Err() != nil {
					return
				}
				if err := jobs[i](ctx); err != nil {
					errs[w] = err
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// readIncidentRows adds the incident rows that events in list belong to.
func (v *verifier) readIncidentRows(ctx context.Context, list []eventRow) error {
	for i, e := range list {
		if i > 0 && list[i-1].n == e.n {
			continue
		}
		if _, ok := v.incs[e.n]; ok {
			continue
		}
		if err := v.queryIncidents(ctx, " WHERE n = ?", false, e.n); err != nil {
			return err
		}
	}
	return nil
}

// readIncidents reads every incident row (or the one asked for), with the
// newest seq of each.
func (v *verifier) readIncidents(ctx context.Context) error {
	v.incs = map[int64]incRow{}
	if v.o.Incident != "" {
		if err := v.queryIncidents(ctx, " WHERE id = ?", true, v.o.Incident); err != nil {
			return err
		}
		if len(v.incs) == 0 {
			return fmt.Errorf("no incident %s: %w", ShortID(v.o.Incident), ErrNotFound)
		}
		return nil
	}
	return v.queryIncidents(ctx, "", true)
}

// queryIncidents reads incident rows into v.incs; withMax also reads each
// one's newest seq (for planning chunks).
func (v *verifier) queryIncidents(ctx context.Context, where string, withMax bool, args ...any) error {
	maxSeq := "0"
	if withMax {
		maxSeq = "(SELECT max(seq) FROM events WHERE incident = incidents.n)"
	}
	rows, err := v.d.sql.QueryContext(ctx, "SELECT n, id, book, title, kind, drill, declared_at, declared_by, log_idx, "+maxSeq+" FROM incidents"+where+" ORDER BY n", args...)
	if err != nil {
		return fmt.Errorf("read incidents: %w", err)
	}
	defer rows.Close()
	if v.incs == nil {
		v.incs = map[int64]incRow{}
	}
	for rows.Next() {
		var r incRow
		var at int64
		var logIdx, maxSeq sql.NullInt64
		if err := rows.Scan(&r.n, &r.inc.ID, &r.inc.Book, &r.inc.Title, &r.inc.Kind, &r.inc.Drill, &at, &r.inc.DeclaredBy, &logIdx, &maxSeq); err != nil {
			return fmt.Errorf("read incidents: %w", err)
		}
		r.inc.DeclaredAt = time.UnixMilli(at).UTC()
		r.logIdx, r.maxSeq = -1, maxSeq.Int64
		if logIdx.Valid {
			r.logIdx = logIdx.Int64
		}
		v.incs[r.n] = r
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read incidents: %w", err)
	}
	return nil
}

// keyRange is a range of the events' primary key, [from, to).
type keyRange struct{ fromN, fromSeq, toN, toSeq int64 }

// eventChunks splits the events into key ranges of about size events,
// covering the whole key space (events of a missing incident included);
// a large incident is split by seq.
func (v *verifier) eventChunks(size int64) []keyRange {
	ns := make([]int64, 0, len(v.incs))
	for n := range v.incs {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	if v.o.Incident != "" {
		n := ns[0]
		var out []keyRange
		for s := int64(1); s <= max(1, v.incs[n].maxSeq); s += size {
			out = append(out, keyRange{n, s, n, s + size})
		}
		out[0].fromSeq = math.MinInt64
		out[len(out)-1].toSeq = math.MaxInt64
		return out
	}
	var out []keyRange
	cur := keyRange{fromN: math.MinInt64, fromSeq: math.MinInt64}
	var acc int64
	for _, n := range ns {
		seq := int64(1)
		left := v.incs[n].maxSeq
		for acc+left >= size {
			take := size - acc
			seq += take
			left -= take
			cur.toN, cur.toSeq = n, seq
			out = append(out, cur)
			cur = keyRange{fromN: n, fromSeq: seq}
			acc = 0
		}
		acc += left
	}
	cur.toN, cur.toSeq = math.MaxInt64, math.MaxInt64
	return append(out, cur)
}

// readLeaves reads the log's leaves [lo, hi) into stored and their RFC
// 6962 hashes into hashes. One aggregated row per chunk keeps SQLite's
// per-row cost in C; a chunk whose shape is off is re-read row by row to
// name the damaged index.
func (v *verifier) readLeaves(ctx context.Context, lo, hi uint64, stored []Leaf, hashes []Hash) error {
	var count, first, last sql.NullInt64
	var all []byte
	err := v.d.sql.QueryRowContext(ctx, `SELECT count(*), min(idx), max(idx), CAST(group_concat(leaf, '') AS BLOB)
		FROM (SELECT idx, leaf FROM log WHERE idx >= ? AND idx < ? ORDER BY idx)`, int64(lo), int64(hi)).Scan(&count, &first, &last, &all)
	if err != nil {
		return fmt.Errorf("read the log: %w", err)
	}
	if uint64(count.Int64) == hi-lo && uint64(first.Int64) == lo && uint64(last.Int64) == hi-1 && uint64(len(all)) == 33*(hi-lo) {
		for i := lo; i < hi; i++ {
			b := all[33*(i-lo) : 33*(i-lo+1)]
			stored[i] = Leaf{Tag: b[0], Hash: Hash(b[1:])}
			hashes[i] = leafHash(stored[i])
		}
		return nil
	}
	return v.readLeavesFrom(ctx, lo, hi, stored[lo:hi], hashes[lo:hi])
}

// lateRecords are records whose log index is past the head read at the
// start: appended while Verify ran, or claiming an index the log does
// not have.
type lateRecords struct {
	mu   sync.Mutex
	list []lateRecord
}

type lateRecord struct {
	logIdx int64
	p      Problem
}

// claim records that a record (described by who) holds log index i with
// leaf l; each index is held by exactly one record. recorded and claims
// start at log index v.base.
func (v *verifier) claim(recorded []Leaf, claims []uint32, late *lateRecords, i int64, l Leaf, who func() Problem) {
	if i < 0 {
		p := who()
		p.Check = CheckLog
		p.Reason = "the record has no log index: it was inserted outside ic"
		v.problem(p)
		return
	}
	rel := i - v.base
	if rel < 0 {
		p := who()
		p.Check, p.LogIndex = CheckLog, idx(i)
		p.Reason = "the record's log index is before the checkpoint it was appended after: it was inserted outside ic"
		v.problem(p)
		return
	}
	if uint64(rel) >= uint64(len(claims)) {
		p := who()
		p.LogIndex = idx(i)
		late.mu.Lock()
		late.list = append(late.list, lateRecord{i, p})
		late.mu.Unlock()
		return
	}
	if !atomic.CompareAndSwapUint32(&claims[rel], 0, 1) {
		p := who()
		p.Check, p.LogIndex = CheckLog, idx(i)
		p.Reason = "another record holds the same log index: a record was inserted outside ic"
		v.problem(p)
		return
	}
	recorded[rel] = l
}

// checkLate: a record past the head read at the start must be within the
// head read now (appended meanwhile); otherwise it claims a leaf the log
// does not have.
func (v *verifier) checkLate(ctx context.Context, late *lateRecords) error {
	if len(late.list) == 0 {
		return nil
	}
	h, err := readHead(ctx, v.d.sql)
	if err != nil {
		return err
	}
	for _, r := range late.list {
		if uint64(r.logIdx) >= h.size {
			p := r.p
			p.Check = CheckLog
			p.Reason = fmt.Sprintf("the record claims log index %d but the log has %d leaves: it was inserted outside ic, or the log was truncated", r.logIdx, h.size)
			v.problem(p)
		}
	}
	return nil
}

// compareLeaves holds each leaf of the log [from, len) against the record
// that claims it.
func (v *verifier) compareLeaves(ctx context.Context, from uint64, stored, recorded []Leaf, claims []uint32) error {
	for i := range claims {
		li := from + uint64(i)
		switch {
		case claims[i] == 0:
			if stored[i].Tag == 0 {
				continue // already reported missing from the log
			}
			v.problem(Problem{Check: CheckLog, LogIndex: idx(int64(li)),
				Reason: fmt.Sprintf("the log holds %s %.12s here, but no record in the ledger does: the record was deleted outside ic", withArticle(leafKind(stored[i].Tag)), stored[i].Hash)})
		case stored[i] != recorded[i] && stored[i].Tag != 0:
			p, err := v.describeIndex(ctx, int64(li))
			if err != nil {
				return err
			}
			p.Check, p.LogIndex = CheckLog, idx(int64(li))
			p.Reason = fmt.Sprintf("the log holds %s %.12s here, but the record's hash is %.12s: the record was rewritten after it entered the log", withArticle(leafKind(stored[i].Tag)), stored[i].Hash, recorded[i].Hash)
			v.problem(p)
		}
	}
	return nil
}

func withArticle(s string) string {
	if strings.IndexAny(s[:1], "aeiou") == 0 {
		return "an " + s
	}
	return "a " + s
}

// describeIndex names the record at log index i (for a message).
func (v *verifier) describeIndex(ctx context.Context, i int64) (Problem, error) {
	var p Problem
	var seq int64
	err := v.d.sql.QueryRowContext(ctx, "SELECT i.id, e.seq FROM events e JOIN incidents i ON i.n = e.incident WHERE e.log_idx = ?", i).Scan(&p.Incident, &seq)
	if err == nil {
		p.Seq = seq
		return p, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return p, err
	}
	err = v.d.sql.QueryRowContext(ctx, "SELECT id FROM incidents WHERE log_idx = ?", i).Scan(&p.Incident)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return p, err
	}
	return p, nil
}

// checkNodes holds the stored interior nodes against the tree rebuilt
// from the leaves: proofs and incremental verifies read them.
func (v *verifier) checkNodes(ctx context.Context, t tree) error {
	rows, err := v.d.sql.QueryContext(ctx, "SELECT id, hash FROM log_nodes")
	if err != nil {
		return fmt.Errorf("read the log's nodes: %w", err)
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var id int64
		var h []byte
		if err := rows.Scan(&id, &h); err != nil {
			return fmt.Errorf("read the log's nodes: %w", err)
		}
		level, index := uint(id>>56), uint64(id)&(1<<56-1)
		want, ok := t.node(compact.NewNodeID(level, index))
		if !ok {
			continue // a node past the head read at the start
		}
		seen++
		if len(h) != 32 || Hash(h) != want {
			lo, _ := compact.NewNodeID(level, index).Coverage()
			v.problem(Problem{Check: CheckLog, LogIndex: idx(int64(lo)), Reason: fmt.Sprintf("the stored node over log indexes [%d, %d) is not the hash of those leaves: it was altered outside ic", lo, lo+1<<level)})
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the log's nodes: %w", err)
	}
	want := 0
	for level := storedLevel; level < len(t.levels); level++ {
		want += len(t.levels[level])
	}
	if seen < want {
		v.problem(Problem{Check: CheckLog, Reason: fmt.Sprintf("%d of the log's stored nodes are missing: they were deleted outside ic (proofs cannot be built)", want-seen)})
	}
	return nil
}

// eventRow is one event as the verify query reads it: the parts of the
// hash input as SQLite joined them.
type eventRow struct {
	n, logIdx int64
	v2        bool
	seq       int64
	head      []byte // "seq NUL time_ms NUL"
	prev      []byte // stored prev_hash
	hash      []byte // stored hash
	tail      []byte // "actor NUL [identity NUL] type NUL payload"
}

// eventsAgg is the verify query for a key range: one row holding every
// event, each framed as
//
//	log_idx "," incident "," hashes_len "," payload_len "," v2 ":"
//	seq NUL time NUL prev_hash hash actor NUL [identity NUL] type NUL payload
//
// SQLite lays out the hash input; Go only frames and hashes it. Only the
// payload, the one long field, is framed by its length: a NUL inside a
// short field (which ic never writes) makes the framing fail and the chunk
// is re-read row by row.
const eventsAgg = `SELECT CAST(group_concat(concat(
  log_idx, ',', incident, ',', length(prev_hash) + length(hash), ',', octet_length(payload), ',',
  identity IS NOT NULL, ':', seq, x'00', time, x'00', prev_hash, hash,
  actor, x'00', identity, iif(identity IS NULL, '', x'00'), type, x'00', payload), '') AS BLOB)
FROM (SELECT incident, seq, time, actor, identity, type, payload, prev_hash, hash, log_idx FROM events
      WHERE (incident, seq) >= (?, ?) AND (incident, seq) < (?, ?) ORDER BY incident, seq)`

// eventsRows is the same range, one row per event, for a chunk whose
// framing is off.
const eventsRows = `SELECT ifnull(log_idx, -1), incident, seq, time, actor, identity, type, payload, prev_hash, hash
FROM events WHERE (incident, seq) >= (?, ?) AND (incident, seq) < (?, ?) ORDER BY incident, seq`

// parseEvents frames the aggregated chunk; false when the framing is off.
func parseEvents(b []byte, fn func(eventRow)) bool {
	num := func(stop byte) (int64, bool) {
		i := bytes.IndexByte(b, stop)
		if i < 0 {
			return 0, false
		}
		n, ok := parseDecimal(b[:i])
		b = b[i+1:]
		return n, ok
	}
	skip := func(tail []byte, from int) (int, bool) {
		i := bytes.IndexByte(tail[from:], 0)
		return from + i + 1, i >= 0
	}
	for len(b) > 0 {
		var r eventRow
		var ok bool
		var hl, pl, v int64
		if r.logIdx, ok = num(','); !ok {
			return false
		}
		if r.n, ok = num(','); !ok {
			return false
		}
		if hl, ok = num(','); !ok || hl != 64 {
			return false
		}
		if pl, ok = num(','); !ok {
			return false
		}
		if v, ok = num(':'); !ok || v > 1 {
			return false
		}
		r.v2 = v == 1
		start := b
		if r.seq, ok = num(0); !ok {
			return false
		}
		if _, ok = num(0); !ok {
			return false
		}
		r.head = start[:len(start)-len(b)]
		if len(b) < 64 {
			return false
		}
		r.prev, r.hash, b = b[:32], b[32:64], b[64:]
		fields := 2 // actor, type
		if r.v2 {
			fields = 3
		}
		at := 0
		for range fields {
			if at, ok = skip(b, at); !ok {
				return false
			}
		}
		if int64(len(b)-at) < pl {
			return false
		}
		r.tail, b = b[:at+int(pl)], b[at+int(pl):]
		fn(r)
	}
	return true
}

// parseDecimal reads an integer as SQLite prints it (optional '-',
// digits), without allocating.
func parseDecimal(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// walkEvents checks the chains of the events in r: seq continuity, each
// prev_hash, each hash recomputed, and claims each event's leaf.
func (v *verifier) walkEvents(ctx context.Context, r keyRange, recorded []Leaf, claims []uint32, late *lateRecords) error {
	w := chainWalker{v: v, recorded: recorded, claims: claims, late: late, startN: r.fromN, startSeq: r.fromSeq}
	var all []byte
	if err := v.d.sql.QueryRowContext(ctx, eventsAgg, r.fromN, r.fromSeq, r.toN, r.toSeq).Scan(&all); err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	// Frame first, check after: a chunk whose framing is off is re-read
	// row by row below, so nothing may be reported from it before then.
	if parseEvents(all, func(eventRow) {}) {
		var err error
		parseEvents(all, func(e eventRow) {
			if err == nil {
				err = w.row(ctx, e)
			}
		})
		if err != nil {
			return err
		}
		w.finish()
		return nil
	}
	// The framing is off (a hash of the wrong length, or a damaged row):
	// read row by row to name it.
	q, err := v.d.sql.QueryContext(ctx, eventsRows, r.fromN, r.fromSeq, r.toN, r.toSeq)
	if err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	defer q.Close()
	for q.Next() {
		var e eventRow
		var t int64
		var actor, typ, payload string
		var identity sql.NullString
		if err := q.Scan(&e.logIdx, &e.n, &e.seq, &t, &actor, &identity, &typ, &payload, &e.prev, &e.hash); err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		e.v2 = identity.Valid
		e.head = fmt.Appendf(nil, "%d\x00%d\x00", e.seq, t)
		e.tail = append(append([]byte(actor), 0), []byte(identityPart(identity))...)
		e.tail = append(append(append(e.tail, typ...), 0), payload...)
		if err := w.row(ctx, e); err != nil {
			return err
		}
	}
	if err := q.Err(); err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	w.finish()
	return nil
}

func identityPart(s sql.NullString) string {
	if !s.Valid {
		return ""
	}
	return s.String + "\x00"
}

// chainWalker follows the chains through one key range.
type chainWalker struct {
	v                *verifier
	recorded         []Leaf
	claims           []uint32
	late             *lateRecords
	startN, startSeq int64

	cur     int64 // incident row number; math.MinInt64 before the first
	started bool
	id      string
	inc     incRow
	prev    Hash
	prevIdx int64
	want    int64
	broken  bool
	marked  bool // the current incident is marked already
	events  int64
	heads   map[string]string
	buf     []byte
}

func (w *chainWalker) fail(seq int64, logIdx int64, reason string) {
	p := Problem{Check: CheckChain, Incident: w.id, Seq: seq, Reason: reason}
	if logIdx >= 0 {
		p.LogIndex = idx(logIdx)
	}
	w.v.problem(p)
	w.broken = true
}

// begin starts incident n at the row e: from seq 1, or, when the range
// starts inside the incident, from the event before it.
func (w *chainWalker) begin(ctx context.Context, e eventRow) error {
	w.finish()
	w.cur, w.started, w.broken, w.marked = e.n, true, false, false
	w.prev, w.prevIdx, w.want = Hash{}, -1, 1
	inc, ok := w.v.incs[e.n]
	w.inc, w.id = inc, inc.inc.ID
	if !ok {
		if w.v.o.Incident != "" {
			w.broken = true
			return nil
		}
		w.v.problem(Problem{Check: CheckIncident, Seq: e.seq, LogIndex: idx(e.logIdx),
			Reason: fmt.Sprintf("events belong to incident row %d, which does not exist: the incident was deleted outside ic", e.n)})
		w.broken = true
		return nil
	}
	w.prevIdx = inc.logIdx
	if e.n == w.startN && w.startSeq > 1 {
		// The range starts mid-incident: take the event before it as read.
		var h []byte
		var li sql.NullInt64
		err := w.v.d.sql.QueryRowContext(ctx, "SELECT hash, log_idx FROM events WHERE incident = ? AND seq = ?", e.n, w.startSeq-1).Scan(&h, &li)
		if errors.Is(err, sql.ErrNoRows) {
			w.fail(w.startSeq-1, -1, fmt.Sprintf("seq %d is missing: an event was removed", w.startSeq-1))
			return nil
		}
		if err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		copy(w.prev[:], h)
		w.prevIdx, w.want = li.Int64, w.startSeq
	}
	return nil
}

func (w *chainWalker) finish() {
	if w.started && !w.broken && w.id != "" {
		if w.heads == nil {
			w.heads = map[string]string{}
		}
		w.heads[w.id] = w.prev.String()
	}
	if w.heads != nil {
		w.v.mu.Lock()
		for k, h := range w.heads {
			w.v.rep.Heads[k] = h
		}
		w.v.rep.Events += w.events
		w.v.mu.Unlock()
		w.heads = nil
	} else if w.events > 0 {
		w.v.mu.Lock()
		w.v.rep.Events += w.events
		w.v.mu.Unlock()
	}
	w.events = 0
}

func (w *chainWalker) row(ctx context.Context, e eventRow) error {
	if !w.started || e.n != w.cur {
		if err := w.begin(ctx, e); err != nil {
			return err
		}
	}
	w.events++
	if len(w.v.marking) > 0 && !w.marked && w.id != "" && w.v.marks(e) {
		w.marked = true
		w.v.mark(w.id)
	}
	if w.id != "" && w.claims != nil {
		w.v.claim(w.recorded, w.claims, w.late, e.logIdx, Leaf{LeafEvent, toHash(e.hash)}, func() Problem {
			return Problem{Check: CheckChain, Incident: w.id, Seq: e.seq}
		})
	}
	if w.broken {
		return nil
	}
	if e.seq != w.want {
		w.fail(w.want, -1, fmt.Sprintf("seq %d is missing (the next stored event is seq %d): an event was removed", w.want, e.seq))
		return nil
	}
	if len(e.prev) != 32 || len(e.hash) != 32 {
		w.fail(e.seq, e.logIdx, "prev_hash or hash is not 32 bytes: the event was altered outside ic")
		return nil
	}
	if Hash(e.prev) != w.prev {
		w.fail(e.seq, e.logIdx, fmt.Sprintf("prev_hash is not the hash of seq %d: the chain was cut or rewritten here", e.seq-1))
		return nil
	}
	if e.logIdx >= 0 && w.prevIdx >= 0 && e.logIdx <= w.prevIdx {
		w.fail(e.seq, e.logIdx, fmt.Sprintf("the event's log index %d is not after the one before it (%d): records were reordered outside ic", e.logIdx, w.prevIdx))
		return nil
	}
	// One buffer and one sum: cheaper than a Write per field.
	b := w.buf[:0]
	if e.v2 {
		b = append(b, hashDomainV2...)
	} else {
		b = append(b, hashDomain...)
	}
	b = append(append(append(b, 0), w.id...), 0)
	b = append(append(append(b, e.head...), e.tail...), 0)
	b = hex.AppendEncode(b, w.prev[:])
	w.buf = b
	if sha256.Sum256(b) != Hash(e.hash) {
		w.fail(e.seq, e.logIdx, "hash does not match the event's contents: the event was altered after it was written")
		return nil
	}
	if e.seq == 1 {
		w.checkDeclaration(e)
		if w.broken {
			return nil
		}
	}
	w.prev, w.prevIdx = Hash(e.hash), e.logIdx
	w.want++
	return nil
}

// checkDeclaration holds the incident row against its declaration event:
// who, when, and the fields the event's payload repeats.
func (w *chainWalker) checkDeclaration(e eventRow) {
	parts := strings.SplitN(string(e.tail), "\x00", 4)
	if e.v2 {
		parts = append(parts[:1], parts[2:]...)
		if len(parts) == 3 {
			parts[2] = parts[2][strings.IndexByte(parts[2], 0)+1:]
		}
	} else if len(parts) == 4 {
		parts = []string{parts[0], parts[1], parts[2] + "\x00" + parts[3]}
	}
	if len(parts) < 3 {
		w.fail(1, e.logIdx, "the declaration event cannot be read")
		return
	}
	actor, typ, payload := parts[0], parts[1], parts[2]
	if typ != DeclaredType {
		w.fail(1, e.logIdx, "first event is "+typ+", not declared")
		return
	}
	head := strings.Split(string(e.head), "\x00")
	inc := w.inc.inc
	var differs []string
	if len(head) < 2 || head[1] != strconv.FormatInt(inc.DeclaredAt.UnixMilli(), 10) {
		differs = append(differs, "declared_at")
	}
	if actor != inc.DeclaredBy {
		differs = append(differs, "declared_by")
	}
	var d struct {
		Book  *string `json:"book"`
		Title *string `json:"title"`
		Kind  *string `json:"kind"`
		Drill bool    `json:"drill"`
	}
	if err := json.Unmarshal([]byte(payload), &d); err == nil {
		if d.Book != nil && *d.Book != inc.Book {
			differs = append(differs, "book")
		}
		if d.Title != nil && *d.Title != inc.Title {
			differs = append(differs, "title")
		}
		if d.Kind != nil && *d.Kind != inc.Kind {
			differs = append(differs, "kind")
		}
		if d.Drill != inc.Drill {
			differs = append(differs, "drill")
		}
	}
	if len(differs) > 0 {
		w.v.problem(Problem{Check: CheckIncident, Incident: inc.ID, LogIndex: idx(w.inc.logIdx),
			Reason: "the incident row's " + strings.Join(differs, ", ") + " disagree(s) with its declaration event (seq 1): the row was altered outside ic"})
	}
	if w.claims != nil && (w.inc.logIdx < 0 || e.logIdx <= w.inc.logIdx) {
		w.v.problem(Problem{Check: CheckLog, Incident: inc.ID, Seq: 1, LogIndex: idx(e.logIdx),
			Reason: "the declaration event does not come after its incident row in the log: records were reordered outside ic"})
	}
}

// checkMigrations re-hashes the migration entries and claims their
// leaves.
func (v *verifier) checkMigrations(ctx context.Context, from int64, recorded []Leaf, claims []uint32, late *lateRecords) error {
	rows, err := v.d.sql.QueryContext(ctx, "SELECT log_idx, schema, time, text FROM log_migrations WHERE log_idx >= ? ORDER BY log_idx", from)
	if err != nil {
		return fmt.Errorf("read migration entries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var li, t int64
		var schema int
		var text string
		if err := rows.Scan(&li, &schema, &t, &text); err != nil {
			return fmt.Errorf("read migration entries: %w", err)
		}
		v.claim(recorded, claims, late, li, Leaf{LeafMigration, migrationHash(schema, t, text)}, func() Problem {
			return Problem{Check: CheckLog, Reason: fmt.Sprintf("migration entry (schema %d)", schema)}
		})
	}
	return rows.Err()
}

// incident verifies one incident's records in full and the log against
// the checkpoints through stored nodes.
func (v *verifier) incident(ctx context.Context) error {
	v.startMarking()
	if err := v.readIncidents(ctx); err != nil {
		return err
	}
	n := v.head.size
	// Only this incident's leaves are compared; read them by index.
	recorded := make([]Leaf, n)
	claims := make([]uint32, n)
	late := &lateRecords{}
	var jobs []func(context.Context) error
	for _, r := range v.eventChunks(1 << 15) {
		jobs = append(jobs, func(ctx context.Context) error { return v.walkEvents(ctx, r, recorded, claims, late) })
	}
	if err := v.runJobs(ctx, jobs); err != nil {
		return err
	}
	v.rep.MarksRead = true
	v.claimIncidents(recorded, claims, late)
	for i := range claims {
		if claims[i] == 0 {
			continue
		}
		var b []byte
		err := v.d.sql.QueryRowContext(ctx, "SELECT leaf FROM log WHERE idx = ?", i).Scan(&b)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read the log: %w", err)
		}
		l, _ := parseLeaf(b)
		if l != recorded[i] {
			p, err := v.describeIndex(ctx, int64(i))
			if err != nil {
				return err
			}
			p.Check, p.LogIndex = CheckLog, idx(int64(i))
			p.Reason = fmt.Sprintf("the log holds %.12s here, but the record's hash is %.12s: the record was rewritten after it entered the log, or its leaf was removed", l.Hash, recorded[i].Hash)
			v.problem(p)
		}
	}
	if err := v.checkLate(ctx, late); err != nil {
		return err
	}
	if err := v.checkConsistencyProofs(ctx); err != nil {
		return err
	}
	v.rep.Incidents = len(v.incs)
	v.rep.covered(CheckChain, fmt.Sprintf("%d events of %s", v.rep.Events, ShortID(v.o.Incident)))
	v.rep.covered(CheckLog, "this incident's records at their leaves; the head against the checkpoints by consistency proofs")
	v.rep.skipped(CheckBlob, "evidence is checked by a full verify")
	v.coveredCheckpoints()
	return nil
}

// checkConsistencyProofs proves, from the stored nodes, that the log of
// the head holds each checkpoint's tree as its prefix.
func (v *verifier) checkConsistencyProofs(ctx context.Context) error {
	root := v.head.root()
	return v.checkCheckpointRoots(func(s uint64) (Hash, error) {
		if s == v.head.size {
			return root, nil
		}
		if s == 0 {
			return emptyRoot(), nil
		}
		// Prove consistency from s to the head; if the proof holds against
		// the checkpoint's root the answer is that root, else the root the
		// stored nodes give for s.
		pf, err := consistencyProof(ctx, v.d.sql, s, v.head.size)
		if err != nil {
			return Hash{}, nil // reported by the comparison below
		}
		for _, c := range v.cps {
			if c.cp.Size == s && verifyConsistency(s, v.head.size, pf, c.cp.Root, root) == nil {
				return c.cp.Root, nil
			}
		}
		rng, err := rangeFromStore(ctx, v.d.sql, s)
		if err != nil {
			return Hash{}, nil
		}
		return rootOfRange(rng.Hashes()), nil
	}, "RFC 6962 consistency proof from the stored nodes")
}

// incremental checks the log against the newest trusted checkpoint and
// re-checks only what was appended since; false when there is no such
// checkpoint, or the log does not hold it (then a full verify runs to
// locate the damage).
func (v *verifier) incremental(ctx context.Context) (bool, error) {
	best := -1
	for i, c := range v.cps {
		if c.trusted && c.cp.Size <= v.head.size && (best < 0 || c.cp.Size > v.cps[best].cp.Size) {
			best = i
		}
	}
	if best < 0 {
		why := "no checkpoint signed by a given verifier key"
		if len(v.o.Verifiers) == 0 {
			why = "no verifier key given, so no checkpoint can be trusted"
		}
		v.rep.Checks = append(v.rep.Checks, Check{Name: "incremental", Skipped: why + ": verified in full instead"})
		return false, nil
	}
	t := v.cps[best]
	s := t.cp.Size
	rng, err := rangeFromStore(ctx, v.d.sql, s)
	if err != nil || rootOfRange(rng.Hashes()) != t.cp.Root {
		v.problem(Problem{Check: CheckCheckpoint, Checkpoint: t.res.Name(), Reason: "the stored log does not hold the tree this checkpoint signed: it was changed after the checkpoint (a full verify follows to locate it)"})
		return false, nil
	}
	if err := v.checkConsistencyProofs(ctx); err != nil {
		return false, err
	}
	for _, c := range v.cps {
		if c.trusted && !c.res.Consistent && c.cp.Size <= v.head.size {
			return false, nil // located by the full verify that follows
		}
	}
	v.rep.Mode = "incremental"
	v.base = int64(s)
	tr := t.res
	v.rep.TrustedFrom = &tr
	if err := v.queryIncidents(ctx, " WHERE log_idx >= ?", false, int64(s)); err != nil {
		return false, err
	}
	n := v.head.size
	span := n - s
	recorded := make([]Leaf, span)
	claims := make([]uint32, span)
	stored := make([]Leaf, span)
	hashes := make([]Hash, span)
	late := &lateRecords{}
	if err := v.readLeavesFrom(ctx, s, n, stored, hashes); err != nil {
		return false, err
	}
	if err := v.newEvents(ctx, int64(s), recorded, claims, late); err != nil {
		return false, err
	}
	newIncs := 0
	for _, r := range v.incs {
		if r.logIdx >= int64(s) {
			newIncs++
			v.claim(recorded, claims, late, r.logIdx, Leaf{LeafIncident, incidentHash(r.inc)}, func() Problem {
				return Problem{Check: CheckIncident, Incident: r.inc.ID}
			})
		}
	}
	if err := v.checkBlobsFrom(ctx, int64(s), recorded, claims, late); err != nil {
		return false, err
	}
	if err := v.checkMigrations(ctx, int64(s), recorded, claims, late); err != nil {
		return false, err
	}
	if err := v.compareLeaves(ctx, s, stored, recorded, claims); err != nil {
		return false, err
	}
	if err := v.checkLate(ctx, late); err != nil {
		return false, err
	}
	// Extend the checkpoint's tree by the new leaves: it must give the
	// stored head and the stored nodes.
	var created []compact.NodeID
	var createdHash [][]byte
	for i := range hashes {
		err := rng.Append(hashes[i][:], func(id compact.NodeID, h []byte) {
			if id.Level >= storedLevel {
				created = append(created, id)
				createdHash = append(createdHash, h)
			}
		})
		if err != nil {
			return false, err
		}
	}
	stNodes, err := nodeHashesStored(ctx, v.d.sql, created)
	if err != nil {
		return false, err
	}
	for i, id := range created {
		if string(stNodes[i]) != string(createdHash[i]) {
			lo, hi := id.Coverage()
			v.problem(Problem{Check: CheckLog, LogIndex: idx(int64(lo)), Reason: fmt.Sprintf("the stored node over log indexes [%d, %d) is not the hash of those leaves: it was altered outside ic", lo, hi)})
		}
	}
	if !rangesEqual(rng.Hashes(), v.head.rng.Hashes()) {
		v.problem(Problem{Check: CheckLog, Reason: "the stored head of the log is not the checkpoint's tree extended by the leaves since: the head was altered outside ic"})
	}
	v.rep.Incidents = len(v.incs)
	v.rep.covered(CheckLog, fmt.Sprintf("log indexes [0, %d) by checkpoint %s; [%d, %d) re-read: %d leaves, each at its record", s, t.res.Name(), s, n, span))
	v.rep.covered(CheckChain, fmt.Sprintf("%d events appended since the checkpoint, linked to the events before them", v.rep.Events))
	v.rep.covered(CheckIncident, fmt.Sprintf("%d incident rows declared since the checkpoint", newIncs))
	v.rep.covered(CheckBlob, fmt.Sprintf("%d evidence blobs stored since the checkpoint", v.rep.Blobs))
	v.rep.Checks = append(v.rep.Checks, Check{Name: "incremental", Skipped: fmt.Sprintf("records before log index %d were not re-read (their leaves are fixed by the checkpoint; a full verify re-hashes them)", s)})
	v.coveredCheckpoints()
	return true, nil
}

// nodeHashesStored reads stored nodes by id (all at level 8 or above).
func nodeHashesStored(ctx context.Context, q querier, ids []compact.NodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		err := q.QueryRowContext(ctx, "SELECT hash FROM log_nodes WHERE id = ?", nodeKey(id)).Scan(&out[i])
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
	}
	return out, nil
}

// readLeavesFrom reads leaves [lo, hi) into slices that start at lo.
func (v *verifier) readLeavesFrom(ctx context.Context, lo, hi uint64, stored []Leaf, hashes []Hash) error {
	rows, err := v.d.sql.QueryContext(ctx, "SELECT idx, leaf FROM log WHERE idx >= ? AND idx < ? ORDER BY idx", int64(lo), int64(hi))
	if err != nil {
		return fmt.Errorf("read the log: %w", err)
	}
	defer rows.Close()
	want := lo
	for rows.Next() {
		var i int64
		var b []byte
		if err := rows.Scan(&i, &b); err != nil {
			return fmt.Errorf("read the log: %w", err)
		}
		for ; want < uint64(i); want++ {
			v.problem(Problem{Check: CheckLog, LogIndex: idx(int64(want)), Reason: "this leaf is missing from the log: it was deleted outside ic"})
		}
		want = uint64(i) + 1
		l, ok := parseLeaf(b)
		if !ok {
			v.problem(Problem{Check: CheckLog, LogIndex: idx(i), Reason: fmt.Sprintf("the leaf is %d bytes, not 33: it was altered outside ic", len(b))})
			continue
		}
		stored[uint64(i)-lo], hashes[uint64(i)-lo] = l, leafHash(l)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the log: %w", err)
	}
	for ; want < hi; want++ {
		v.problem(Problem{Check: CheckLog, LogIndex: idx(int64(want)), Reason: "this leaf is missing from the log: it was deleted outside ic"})
	}
	return nil
}

// newEvents checks the events with a log index at or after from: each
// incident's new events in seq order, linked to the event before them.
func (v *verifier) newEvents(ctx context.Context, from int64, recorded []Leaf, claims []uint32, late *lateRecords) error {
	// By the log index (the index on it), sorted into chains below: an
	// ORDER BY incident, seq here would scan the whole table.
	rows, err := v.d.sql.QueryContext(ctx, `SELECT log_idx, incident, seq, time, actor, identity, type, payload, prev_hash, hash
		FROM events WHERE log_idx >= ? ORDER BY log_idx`, from)
	if err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	var list []eventRow
	for rows.Next() {
		var e eventRow
		var t int64
		var actor, typ, payload string
		var identity sql.NullString
		if err := rows.Scan(&e.logIdx, &e.n, &e.seq, &t, &actor, &identity, &typ, &payload, &e.prev, &e.hash); err != nil {
			rows.Close()
			return fmt.Errorf("read events: %w", err)
		}
		e.v2 = identity.Valid
		e.head = fmt.Appendf(nil, "%d\x00%d\x00", e.seq, t)
		e.tail = append(append([]byte(actor), 0), []byte(identityPart(identity))...)
		e.tail = append(append(append(e.tail, typ...), 0), payload...)
		list = append(list, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	slices.SortFunc(list, func(a, b eventRow) int {
		if a.n != b.n {
			return cmpInt(a.n, b.n)
		}
		return cmpInt(a.seq, b.seq)
	})
	if err := v.readIncidentRows(ctx, list); err != nil {
		return err
	}
	for i := 0; i < len(list); {
		j := i
		for j < len(list) && list[j].n == list[i].n {
			j++
		}
		first := list[i]
		w := chainWalker{v: v, recorded: recorded, claims: claims, late: late, startN: first.n, startSeq: first.seq}
		for _, e := range list[i:j] {
			if err := w.row(ctx, e); err != nil {
				return err
			}
		}
		w.finish()
		if first.seq > 1 && w.prevIdx != -1 {
			if err := v.checkEventBefore(ctx, first, from); err != nil {
				return err
			}
		}
		i = j
	}
	return nil
}

// checkEventBefore holds the event before an incident's first new one
// (covered by the checkpoint) at its leaf: its stored hash, which the new
// event links to, must be the one in the log.
func (v *verifier) checkEventBefore(ctx context.Context, first eventRow, from int64) error {
	var h []byte
	var li int64
	err := v.d.sql.QueryRowContext(ctx, "SELECT hash, log_idx FROM events WHERE incident = ? AND seq = ?", first.n, first.seq-1).Scan(&h, &li)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // reported by the walk
	}
	if err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	var b []byte
	err = v.d.sql.QueryRowContext(ctx, "SELECT leaf FROM log WHERE idx = ?", li).Scan(&b)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read the log: %w", err)
	}
	if l, _ := parseLeaf(b); l != (Leaf{LeafEvent, toHash(h)}) {
		v.problem(Problem{Check: CheckLog, Incident: v.incs[first.n].inc.ID, Seq: first.seq - 1, LogIndex: idx(li),
			Reason: "the event's hash is not the one in the log: it was rewritten after it entered the log"})
	}
	return nil
}

// checkBlobsFrom is checkBlobs for the blobs stored since from, with
// indexes relative to from.
func (v *verifier) checkBlobsFrom(ctx context.Context, from int64, recorded []Leaf, claims []uint32, late *lateRecords) error {
	rows, err := v.d.sql.QueryContext(ctx, "SELECT sha256, data, log_idx FROM blobs WHERE log_idx >= ? ORDER BY log_idx", from)
	if err != nil {
		return fmt.Errorf("read evidence: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sum, data sql.RawBytes
		var li int64
		if err := rows.Scan(&sum, &data, &li); err != nil {
			return fmt.Errorf("read evidence: %w", err)
		}
		v.mu.Lock()
		v.rep.Blobs++
		v.mu.Unlock()
		var key Hash
		copy(key[:], sum)
		if sha256.Sum256(data) != key || len(sum) != 32 {
			v.problem(Problem{Check: CheckBlob, LogIndex: idx(li), Reason: fmt.Sprintf("evidence %.12s: the stored bytes do not hash to it: they were replaced outside ic", hex.EncodeToString(sum))})
		}
		v.claim(recorded, claims, late, li, Leaf{LeafBlob, key}, func() Problem {
			return Problem{Check: CheckBlob, Reason: "evidence " + key.Short()}
		})
	}
	return rows.Err()
}

// verifySchema1 checks a ledger written before the log existed, opened
// read-only so it cannot be migrated: the chains, the triggers and
// quick_check, and says that the log was not checked.
func (d *DB) verifySchema1(ctx context.Context, o VerifyOptions, rep *Report) error {
	rep.Mode = "schema-1"
	v := &verifier{d: d, o: o, rep: rep, workers: 1, chain: map[string]bool{}}
	if err := v.quickCheck(ctx); err != nil {
		return fmt.Errorf("ledger %s: %w", d.path, err)
	}
	if err := v.checkSchema(ctx); err != nil {
		return fmt.Errorf("ledger %s: %w", d.path, err)
	}
	q := "SELECT n, id, book, title, kind, drill, declared_at, declared_by FROM incidents"
	var args []any
	if o.Incident != "" {
		q += " WHERE id = ?"
		args = append(args, o.Incident)
	}
	rows, err := d.sql.QueryContext(ctx, q+" ORDER BY n", args...)
	if err != nil {
		return fmt.Errorf("ledger %s: read incidents: %w", d.path, err)
	}
	v.incs = map[int64]incRow{}
	for rows.Next() {
		var r incRow
		var at int64
		if err := rows.Scan(&r.n, &r.inc.ID, &r.inc.Book, &r.inc.Title, &r.inc.Kind, &r.inc.Drill, &at, &r.inc.DeclaredBy); err != nil {
			rows.Close()
			return fmt.Errorf("ledger %s: read incidents: %w", d.path, err)
		}
		r.logIdx, r.inc.DeclaredAt = -1, time.UnixMilli(at).UTC()
		v.incs[r.n] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ledger %s: read incidents: %w", d.path, err)
	}
	where := ""
	if o.Incident != "" {
		where = " WHERE incident = (SELECT n FROM incidents WHERE id = ?)"
	}
	ev, err := d.sql.QueryContext(ctx, "SELECT incident, seq, time, actor, type, payload, prev_hash, hash FROM events"+where+" ORDER BY incident, seq", args...)
	if err != nil {
		return fmt.Errorf("ledger %s: read events: %w", d.path, err)
	}
	defer ev.Close()
	w := chainWalker{v: v, startN: math.MinInt64, startSeq: math.MinInt64}
	for ev.Next() {
		var e eventRow
		var t int64
		var actor, typ, payload string
		if err := ev.Scan(&e.n, &e.seq, &t, &actor, &typ, &payload, &e.prev, &e.hash); err != nil {
			return fmt.Errorf("ledger %s: read events: %w", d.path, err)
		}
		e.logIdx = -1
		e.head = fmt.Appendf(nil, "%d\x00%d\x00", e.seq, t)
		e.tail = append(append(append(append([]byte(actor), 0), typ...), 0), payload...)
		if err := w.row(ctx, e); err != nil {
			return err
		}
	}
	if err := ev.Err(); err != nil {
		return fmt.Errorf("ledger %s: read events: %w", d.path, err)
	}
	w.finish()
	rep.Incidents = len(v.incs)
	rep.covered(CheckChain, fmt.Sprintf("%d events in %d incidents", rep.Events, len(v.incs)))
	rep.skipped(CheckLog, "this ledger was written before the Merkle log (schema 1) and was opened read-only: open it once with a command that writes to build the log; the chains alone cannot show records removed")
	return nil
}
