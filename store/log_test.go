package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/icconsole/ic/internal/checkpoint"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// fixture is a ledger with two incidents, notes and one evidence blob.
type fixture struct {
	path string
	l    *testLedger
	a, b Incident
	dir  string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	f := fixture{path: filepath.Join(dir, "ic.db"), dir: dir}
	f.l = openTest(t, f.path)
	f.a = declare(t, f.l, "SEV-2")
	for i := range 5 {
		if _, err := f.l.note(ctx, f.a.ID, "alice", fmt.Sprintf("note %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.l.evidence(ctx, f.a.ID, "alice", "error.log", []byte("ERROR 500 upstream\n")); err != nil {
		t.Fatal(err)
	}
	f.b = declare(t, f.l, "SEV-1")
	if _, err := f.l.note(ctx, f.b.ID, "bob", "second incident"); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f fixture) verify(t *testing.T, o VerifyOptions) Report {
	t.Helper()
	rep, err := f.l.db.VerifyWith(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// want asserts a problem of check naming the incident (and seq, and log
// index when wantIdx) whose reason holds text.
func want(t *testing.T, rep Report, check, incident string, seq int64, text string) Problem {
	t.Helper()
	for _, p := range rep.Problems {
		if p.Check == check && (incident == "" || p.Incident == incident) && (seq == 0 || p.Seq == seq) && strings.Contains(p.Reason, text) {
			return p
		}
	}
	t.Fatalf("no %s problem for %s seq %d containing %q in:\n%s", check, ShortID(incident), seq, text, problemList(rep))
	return Problem{}
}

func problemList(rep Report) string {
	var b strings.Builder
	for _, p := range rep.Problems {
		fmt.Fprintf(&b, "  %s\n", p)
	}
	return b.String()
}

func sqlExec(t *testing.T, db *sql.DB, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestLogHoldsEveryRecordInOrder(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	db := f.l.db
	head, err := db.LogHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// migration entry, A's row, 7 events of A and the blob, B's row, 2 events.
	if head.Size != 1+1+7+1+1+2 {
		t.Errorf("log size %d", head.Size)
	}
	var tags []byte
	rows, err := db.sql.Query("SELECT leaf FROM log ORDER BY idx")
	if err != nil {
		t.Fatal(err)
	}
	var leaves [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		tags = append(tags, b[0])
		lh := rfc6962.DefaultHasher.HashLeaf(b)
		leaves = append(leaves, lh)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// The evidence blob enters before its evidence_attached event.
	wantTags := []byte{LeafMigration, LeafIncident, LeafEvent, LeafEvent, LeafEvent, LeafEvent, LeafEvent, LeafEvent, LeafBlob, LeafEvent, LeafIncident, LeafEvent, LeafEvent}
	if string(tags) != string(wantTags) {
		t.Errorf("leaf tags %v, want %v", tags, wantTags)
	}
	// The root, recomputed by the library's reference hasher.
	r := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0)
	for _, l := range leaves {
		r.Append(l, nil)
	}
	root, _ := r.GetRootHash(nil)
	if Hash(root) != head.Root {
		t.Errorf("root %x, stored head %s", root, head.Root)
	}
	rep := f.verify(t, VerifyOptions{Full: true})
	if !rep.OK() || rep.Mode != "full" || rep.Events != 9 || rep.Incidents != 2 || rep.Blobs != 1 || rep.LogSize != head.Size {
		t.Fatalf("verify = %+v\n%s", rep, problemList(rep))
	}
	for _, c := range []string{CheckQuick, CheckSchema, CheckChain, CheckIncident, CheckBlob, CheckLog} {
		if !slices.ContainsFunc(rep.Checks, func(k Check) bool { return k.Name == c && k.Covered != "" }) {
			t.Errorf("check %s not reported as covered: %+v", c, rep.Checks)
		}
	}
}

func TestMigratesALedgerWrittenByMain(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	if err := copyFile("testdata/main-v1.db", path); err != nil {
		t.Fatal(err)
	}
	// Read-only, it verifies its chains and says the log was not checked.
	rep, err := VerifyFile(ctx, path)
	if err != nil || !rep.OK() || rep.Mode != "schema-1" || rep.Events != 6 {
		t.Fatalf("read-only verify of a schema-1 ledger: %+v %v\n%s", rep, err, problemList(rep))
	}
	if !slices.ContainsFunc(rep.Checks, func(c Check) bool { return c.Name == CheckLog && strings.Contains(c.Skipped, "schema 1") }) {
		t.Errorf("the log was not reported as skipped: %+v", rep.Checks)
	}
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rep, err = db.Verify(ctx, "")
	if err != nil || !rep.OK() || rep.Events != 6 || rep.Incidents != 2 || rep.Blobs != 1 {
		t.Fatalf("verify after migration: %+v %v\n%s", rep, err, problemList(rep))
	}
	head, _ := db.LogHead(ctx)
	if head.Size != 2+6+1+1 {
		t.Errorf("log size %d after migration, want 10", head.Size)
	}
	var text string
	db.sql.QueryRow("SELECT text FROM log_migrations").Scan(&text)
	if !strings.Contains(text, "9 record(s) written before it") {
		t.Errorf("migration entry: %q", text)
	}
	// Old events keep hash v1; new ones get v2, and the chain continues.
	l := &testLedger{db: db}
	incs, _ := db.Incidents(ctx)
	e, err := l.note(ctx, incs[1].ID, "carol", "after the upgrade")
	if err != nil {
		t.Fatal(err)
	}
	old, _ := db.Event(ctx, incs[1].ID, 1)
	if old.HashVersion() != 1 || e.HashVersion() != 2 || e.Identity != IdentityAsserted {
		t.Errorf("hash versions %d (old) %d (new, %q)", old.HashVersion(), e.HashVersion(), e.Identity)
	}
	s := testSigner(t)
	if _, err := db.Checkpoint(ctx, s, ""); err != nil {
		t.Fatal(err)
	}
	rep, err = db.VerifyWith(ctx, VerifyOptions{Full: true, Verifiers: []string{s.VerifierKey()}})
	if err != nil || !rep.OK() || rep.Events != 7 {
		t.Fatalf("verify after an append: %+v %v\n%s", rep, err, problemList(rep))
	}
	// Its export verifies without ic.
	exportAndCheck(t, db, incs[1].ID, s.VerifierKey(), "ok: 5 event(s)")
}

func TestIdentityIsHashed(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	db := f.l.db
	fp := "key:SHA256:" + strings.Repeat("A", 43)
	h, _ := db.Head(ctx, f.a.ID)
	e, _, err := db.Append(ctx, f.a.ID, h.Seq, Event{Time: time.Now(), Actor: "alice", Identity: fp, Type: "note", Payload: []byte(`{"text":"signed"}`), Key: "id-1"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Hash != ComputeHashV2(e.Incident, e.Seq, e.Time.UnixMilli(), "alice", fp, "note", e.Payload, e.PrevHash) {
		t.Error("the hash does not follow formula v2")
	}
	for _, bad := range []string{"root", "key:SHA256:short", "login ", "asserted\x00"} {
		if _, _, err := db.Append(ctx, f.a.ID, e.Seq, Event{Time: time.Now(), Actor: "alice", Identity: bad, Type: "note", Payload: []byte(`{}`), Key: "bad-" + bad}); err == nil {
			t.Errorf("identity %q accepted", bad)
		}
	}
	raw := rawDB(t, f.path)
	sqlExec(t, raw, "DROP TRIGGER events_no_update", "UPDATE events SET identity = 'login' WHERE idem_key = 'id-1'")
	rep := f.verify(t, VerifyOptions{Full: true})
	want(t, rep, CheckChain, f.a.ID, e.Seq, "hash does not match")
}

func TestExactIdempotency(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	db := f.l.db
	h, _ := db.Head(ctx, f.a.ID)
	ev := Event{Time: time.Now(), Actor: "alice", Type: "note", Payload: []byte(`{"text":"once"}`), Key: "k-1"}
	first, replayed, err := db.Append(ctx, f.a.ID, h.Seq, ev)
	if err != nil || replayed {
		t.Fatal(err, replayed)
	}
	again, replayed, err := db.Append(ctx, f.a.ID, h.Seq, ev)
	if err != nil || !replayed || again.Seq != first.Seq || again.Hash != first.Hash {
		t.Fatalf("exact retry: %+v %v %v", again, replayed, err)
	}
	for field, change := range map[string]func(e *Event){
		"payload": func(e *Event) { e.Payload = []byte(`{"text":"twice"}`) },
		"actor":   func(e *Event) { e.Actor = "mallory" },
		"type":    func(e *Event) { e.Type = "status_update" },
	} {
		e := ev
		change(&e)
		_, _, err := db.Append(ctx, f.a.ID, first.Seq, e)
		var kr *KeyReusedError
		if !errors.As(err, &kr) || kr.Differs != field || kr.Earlier.Seq != first.Seq {
			t.Errorf("%s differs: %v", field, err)
			continue
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("%s seq %d (note)", f.a.Short(), first.Seq)) {
			t.Errorf("error does not name the earlier entry: %v", err)
		}
	}
	if _, _, err := db.Append(ctx, f.b.ID, 2, ev); err == nil {
		t.Error("the key was accepted for another incident")
	}
	if n := f.l.events(t, f.a.ID); n != first.Seq {
		t.Errorf("%d events, want %d: a refused retry wrote something", n, first.Seq)
	}
	// A declaration retried with the same key and a different title.
	if _, err := f.l.declareKey(ctx, "t", "SEV-2", "decl-x"); err != nil {
		t.Fatal(err)
	}
	_, err = f.l.declareKey(ctx, "another title", "SEV-2", "decl-x")
	var kr *KeyReusedError
	if !errors.As(err, &kr) || !strings.Contains(kr.Differs, "payload") && kr.Differs != "title" {
		t.Errorf("declaration retried with another title: %v", err)
	}
}

// recomputeChain rewrites one incident's chain from seq on with the public
// formulas, as someone with write access to the file could.
func recomputeChain(t *testing.T, raw *sql.DB, id string, from int64) {
	t.Helper()
	rows, err := raw.Query(`SELECT e.seq, e.time, e.actor, e.identity, e.type, e.payload, e.prev_hash, e.hash FROM events e JOIN incidents i ON i.n = e.incident WHERE i.id = ? ORDER BY e.seq`, id)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		seq, tms            int64
		actor, typ, payload string
		identity            sql.NullString
		prev, hash          []byte
	}
	var list []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.seq, &r.tms, &r.actor, &r.identity, &r.typ, &r.payload, &r.prev, &r.hash); err != nil {
			t.Fatal(err)
		}
		list = append(list, r)
	}
	rows.Close()
	var prev Hash
	for _, r := range list {
		if r.seq < from {
			prev = Hash(r.hash)
			continue
		}
		var h Hash
		if r.identity.Valid {
			h = ComputeHashV2(id, r.seq, r.tms, r.actor, r.identity.String, r.typ, []byte(r.payload), prev)
		} else {
			h = ComputeHash(id, r.seq, r.tms, r.actor, r.typ, []byte(r.payload), prev)
		}
		if _, err := raw.Exec("UPDATE events SET prev_hash = ?, hash = ? WHERE seq = ? AND incident = (SELECT n FROM incidents WHERE id = ?)", prev[:], h[:], r.seq, id); err != nil {
			t.Fatal(err)
		}
		prev = h
	}
}

// rewriteLog rebuilds the whole log from the records as they now are
// (renumbered without gaps), with its nodes and head: what someone who
// understands the format but holds no signing key would do.
func rewriteLog(t *testing.T, path string) {
	t.Helper()
	raw := rawDB(t, path)
	for _, tr := range []string{"log_next", "log_grow", "log_no_update", "log_no_delete", "log_nodes_no_update", "log_nodes_no_delete",
		"log_head_forward", "incidents_no_update", "events_no_update", "blobs_no_update", "log_migrations_no_update",
		"incidents_log", "events_log", "blobs_log", "log_migrations_log"} {
		sqlExec(t, raw, "DROP TRIGGER IF EXISTS "+tr)
	}
	type rec struct {
		update string
		key    []any
		leaf   Leaf
		idx    int64
	}
	var recs []rec
	q := func(query string, scan func(*sql.Rows) rec) {
		rows, err := raw.Query(query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			recs = append(recs, scan(rows))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	q("SELECT n, id, book, title, kind, drill, declared_at, declared_by, log_idx FROM incidents", func(r *sql.Rows) rec {
		var inc Incident
		var n, at, li int64
		r.Scan(&n, &inc.ID, &inc.Book, &inc.Title, &inc.Kind, &inc.Drill, &at, &inc.DeclaredBy, &li)
		inc.DeclaredAt = time.UnixMilli(at).UTC()
		return rec{"UPDATE incidents SET log_idx = ? WHERE n = ?", []any{n}, Leaf{LeafIncident, incidentHash(inc)}, li}
	})
	q("SELECT incident, seq, hash, log_idx FROM events", func(r *sql.Rows) rec {
		var n, seq, li int64
		var h []byte
		r.Scan(&n, &seq, &h, &li)
		return rec{"UPDATE events SET log_idx = ? WHERE incident = ? AND seq = ?", []any{n, seq}, Leaf{LeafEvent, Hash(h)}, li}
	})
	q("SELECT sha256, log_idx FROM blobs", func(r *sql.Rows) rec {
		var h []byte
		var li int64
		r.Scan(&h, &li)
		return rec{"UPDATE blobs SET log_idx = ? WHERE sha256 = ?", []any{h}, Leaf{LeafBlob, Hash(h)}, li}
	})
	q("SELECT log_idx, schema, time, text FROM log_migrations", func(r *sql.Rows) rec {
		var li, tm int64
		var schema int
		var text string
		r.Scan(&li, &schema, &tm, &text)
		return rec{"UPDATE log_migrations SET log_idx = ? WHERE log_idx = ?", []any{li}, Leaf{LeafMigration, migrationHash(schema, tm, text)}, li}
	})
	slices.SortFunc(recs, func(a, b rec) int { return int(a.idx - b.idx) })
	sqlExec(t, raw, "DELETE FROM log", "DELETE FROM log_nodes")
	hashes := make([]Hash, len(recs))
	for i, r := range recs {
		if _, err := raw.Exec(r.update, append([]any{-1 - int64(i)}, r.key...)...); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range recs {
		key := r.key
		if strings.HasPrefix(r.update, "UPDATE log_migrations") {
			key = []any{-1 - int64(i)}
		}
		if _, err := raw.Exec(r.update, append([]any{int64(i)}, key...)...); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec("INSERT INTO log (idx, leaf) VALUES (?, ?)", i, r.leaf.bytes()); err != nil {
			t.Fatal(err)
		}
		hashes[i] = leafHash(r.leaf)
	}
	tr := buildTree(hashes, 1)
	for level := storedLevel; level < len(tr.levels); level++ {
		for i, h := range tr.levels[level] {
			exec1(t, raw, "INSERT INTO log_nodes (id, hash) VALUES (?, ?)", nodeKey(compact.NewNodeID(uint(level), uint64(i))), h[:])
		}
	}
	rng, _ := logRanges.NewRange(0, uint64(len(hashes)), tr.rangeAt(uint64(len(hashes))))
	exec1(t, raw, "UPDATE log_head SET size = ?, hashes = ?", len(hashes), rangeBytes(rng))
}

func exec1(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// The tampering the issue lists, each done from outside ic, each caught
// by a full verify naming the check and the record.
func TestTamperingIsCaught(t *testing.T) {
	ctx := context.Background()
	// Two attacks are made twice: as such, and with the log rewritten to
	// match them, which only a checkpoint signed before catches.
	deleteIncident := func(t *testing.T, f fixture, raw *sql.DB) {
		sqlExec(t, raw, "DROP TRIGGER events_no_delete", "DROP TRIGGER incidents_no_delete",
			"DELETE FROM events WHERE incident = (SELECT n FROM incidents WHERE id = '"+f.b.ID+"')",
			"DELETE FROM incidents WHERE id = '"+f.b.ID+"'")
	}
	editEvent := func(t *testing.T, f fixture, raw *sql.DB) {
		sqlExec(t, raw, "DROP TRIGGER events_no_update", `UPDATE events SET payload = '{"text":"nothing happened"}' WHERE seq = 3 AND incident = (SELECT n FROM incidents WHERE id = '`+f.a.ID+`')`)
		recomputeChain(t, raw, f.a.ID, 3)
	}
	withLogRewritten := func(tamper func(t *testing.T, f fixture, raw *sql.DB)) func(t *testing.T, f fixture, raw *sql.DB) {
		return func(t *testing.T, f fixture, raw *sql.DB) {
			tamper(t, f, raw)
			rewriteLog(t, f.path)
		}
	}
	cases := []struct {
		name string
		// signed: a checkpoint is signed (and copied to a folder) before
		// the tampering; the attack needs one to be caught.
		signed bool
		tamper func(t *testing.T, f fixture, raw *sql.DB)
		check  func(t *testing.T, f fixture, rep Report)
	}{
		{"tail truncation", false, func(t *testing.T, f fixture, raw *sql.DB) {
			sqlExec(t, raw, "DROP TRIGGER events_no_delete", "DELETE FROM events WHERE seq >= 6 AND incident = (SELECT n FROM incidents WHERE id = '"+f.a.ID+"')")
		}, func(t *testing.T, f fixture, rep Report) {
			p := want(t, rep, CheckLog, "", 0, "no record in the ledger does: the record was deleted")
			if p.LogIndex == nil || *p.LogIndex != 7 {
				t.Errorf("truncation named log index %v, want 7 (%s seq 6)", p.LogIndex, f.a.Short())
			}
		}},
		{"tail truncation with the log rewritten", true, func(t *testing.T, f fixture, raw *sql.DB) {
			sqlExec(t, raw, "DROP TRIGGER events_no_delete", "DELETE FROM events WHERE seq = 2 AND incident = (SELECT n FROM incidents WHERE id = '"+f.b.ID+"')")
			rewriteLog(t, f.path)
		}, func(t *testing.T, f fixture, rep Report) {
			p := want(t, rep, CheckCheckpoint, "", 0, "records were removed from the end (truncation)")
			if !strings.Contains(p.Checkpoint, "size 13") {
				t.Errorf("the checkpoint is not named: %s", p)
			}
		}},
		{"whole incident deleted", false, deleteIncident, func(t *testing.T, f fixture, rep Report) {
			p := want(t, rep, CheckLog, "", 0, "an incident")
			if *p.LogIndex != 10 {
				t.Errorf("named log index %d, want 10", *p.LogIndex)
			}
			want(t, rep, CheckLog, "", 0, "an event")
		}},
		{"whole incident deleted, log rewritten", true, withLogRewritten(deleteIncident), func(t *testing.T, f fixture, rep Report) {
			want(t, rep, CheckCheckpoint, "", 0, "records were removed from the end")
		}},
		{"event edited, chain recomputed", false, editEvent, func(t *testing.T, f fixture, rep Report) {
			p := want(t, rep, CheckLog, f.a.ID, 3, "the record was rewritten after it entered the log")
			if *p.LogIndex != 4 {
				t.Errorf("log index %d, want 4", *p.LogIndex)
			}
			for _, q := range rep.Problems {
				if q.Check == CheckChain {
					t.Errorf("the recomputed chain itself should hold: %s", q)
				}
			}
		}},
		{"event edited, chain and log recomputed", true, withLogRewritten(editEvent), func(t *testing.T, f fixture, rep Report) {
			p := want(t, rep, CheckCheckpoint, "", 0, "were changed, removed or inserted after it")
			if !strings.Contains(p.Reason, "[0, 13)") {
				t.Errorf("the range is not named: %s", p)
			}
		}},
		{"evidence bytes replaced", false, func(t *testing.T, f fixture, raw *sql.DB) {
			sqlExec(t, raw, "DROP TRIGGER blobs_no_update", "UPDATE blobs SET data = CAST('all fine' AS BLOB)")
		}, func(t *testing.T, f fixture, rep Report) {
			p := want(t, rep, CheckBlob, "", 0, "do not hash to it")
			if *p.LogIndex != 8 {
				t.Errorf("log index %d, want 8", *p.LogIndex)
			}
		}},
		{"triggers replaced by do-nothing triggers", false, func(t *testing.T, f fixture, raw *sql.DB) {
			sqlExec(t, raw, "DROP TRIGGER events_no_update", "CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT 1; END",
				"DROP TRIGGER log_no_delete", "CREATE TRIGGER log_no_delete BEFORE DELETE ON log BEGIN SELECT 1; END")
		}, func(t *testing.T, f fixture, rep Report) {
			want(t, rep, CheckSchema, "", 0, "trigger events_no_update is not ic's")
			want(t, rep, CheckSchema, "", 0, "trigger log_no_delete is not ic's")
		}},
	}
	for _, col := range []struct{ name, set string }{
		{"title", "title = 'nothing to see'"}, {"drill", "drill = 1"}, {"book", "book = 'other'"},
		{"kind", "kind = 'routine'"}, {"declared_at", "declared_at = declared_at + 3600000"}, {"declared_by", "declared_by = 'mallory'"},
	} {
		cases = append(cases, struct {
			name   string
			signed bool
			tamper func(t *testing.T, f fixture, raw *sql.DB)
			check  func(t *testing.T, f fixture, rep Report)
		}{"incident " + col.name + " changed", false, func(t *testing.T, f fixture, raw *sql.DB) {
			sqlExec(t, raw, "DROP TRIGGER incidents_no_update", "UPDATE incidents SET "+col.set+" WHERE id = '"+f.a.ID+"'")
		}, func(t *testing.T, f fixture, rep Report) {
			p := want(t, rep, CheckLog, f.a.ID, 0, "the record was rewritten")
			if *p.LogIndex != 1 {
				t.Errorf("log index %d, want 1", *p.LogIndex)
			}
			want(t, rep, CheckIncident, f.a.ID, 0, col.name)
		}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			s := testSigner(t)
			cpDir := filepath.Join(f.dir, "checkpoints")
			if c.signed {
				if _, err := f.l.db.Checkpoint(ctx, s, cpDir); err != nil {
					t.Fatal(err)
				}
			}
			if rep := f.verify(t, VerifyOptions{Full: true}); !rep.OK() {
				t.Fatalf("before tampering:\n%s", problemList(rep))
			}
			raw := rawDB(t, f.path)
			c.tamper(t, f, raw)
			raw.Close()
			o := VerifyOptions{Full: true, Verifiers: []string{s.VerifierKey()}, CheckpointDir: cpDir}
			rep := f.verify(t, o)
			if rep.OK() {
				t.Fatal("the tampering was not caught")
			}
			c.check(t, f, rep)
			// The default (incremental) verify catches what it covers: with
			// a checkpoint, anything that changes the log's tree.
			if c.signed {
				o.Full = false
				rep := f.verify(t, o)
				if rep.OK() {
					t.Errorf("incremental verify missed it (mode %s)", rep.Mode)
				}
				want(t, rep, CheckCheckpoint, "", 0, "")
			}
		})
	}
}

func TestCheckpointsInLedgerAndFolder(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	db := f.l.db
	s := testSigner(t)
	dir := filepath.Join(f.dir, "cps")
	c1, err := db.Checkpoint(ctx, s, dir)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(c1.CopyPath); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("copy %s: %v %v", c1.CopyPath, info, err)
	}
	body := string(c1.Note)
	head, _ := db.LogHead(ctx)
	if !strings.HasPrefix(body, fmt.Sprintf("%s\n%d\n", head.Origin, head.Size)) || !strings.Contains(body, "\n\n\u2014 ic-test ") {
		t.Errorf("checkpoint note:\n%s", body)
	}
	if _, err := checkpoint.Parse(c1.Note, mustVerifier(t, s.VerifierKey())); err != nil {
		t.Errorf("the note does not verify with its key: %v", err)
	}
	// Append, sign again: verify proves the first is consistent with the log.
	for i := range 300 {
		if _, err := f.l.note(ctx, f.b.ID, "bob", fmt.Sprintf("later %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	c2, err := db.Checkpoint(ctx, s, dir)
	if err != nil {
		t.Fatal(err)
	}
	f.l.note(ctx, f.b.ID, "bob", "after the second checkpoint")
	rep := f.verify(t, VerifyOptions{Verifiers: []string{s.VerifierKey()}, CheckpointDir: dir})
	if !rep.OK() || rep.Mode != "incremental" || rep.TrustedFrom == nil || rep.TrustedFrom.Size != c2.Size || rep.Events != 1 {
		t.Fatalf("incremental verify: mode %s from %+v events %d\n%s", rep.Mode, rep.TrustedFrom, rep.Events, problemList(rep))
	}
	if len(rep.Checkpoints) != 4 {
		t.Errorf("%d checkpoints found, want 2 in the ledger and 2 in the folder", len(rep.Checkpoints))
	}
	for _, c := range rep.Checkpoints {
		if !c.Consistent || c.Signature != "valid" {
			t.Errorf("checkpoint %+v", c)
		}
	}
	// Without a verifier key nothing is trusted: a full verify runs.
	rep = f.verify(t, VerifyOptions{CheckpointDir: dir})
	if !rep.OK() || rep.Mode != "full" {
		t.Errorf("without a key: mode %s\n%s", rep.Mode, problemList(rep))
	}
	// A checkpoint forged with another key is reported.
	other := testSigner(t)
	forged, _ := other.Sign(head.Origin, 3, Hash{1})
	os.WriteFile(filepath.Join(dir, forged.FileName()), forged.Note, 0o600)
	rep = f.verify(t, VerifyOptions{Verifiers: []string{s.VerifierKey()}, CheckpointDir: dir})
	want(t, rep, CheckCheckpoint, "", 0, "signed by none of the given verifier keys")
	// One for another ledger in the same folder is ignored.
	os.Remove(filepath.Join(dir, forged.FileName()))
	foreign, _ := s.Sign("ic-ledger/other", 3, Hash{1})
	checkpoint.WriteCopy(dir, foreign)
	if rep := f.verify(t, VerifyOptions{Verifiers: []string{s.VerifierKey()}, CheckpointDir: dir}); !rep.OK() {
		t.Errorf("another ledger's checkpoint was held against this one:\n%s", problemList(rep))
	}
	// A copy outside the ledger catches checkpoints deleted from it.
	raw := rawDB(t, f.path)
	sqlExec(t, raw, "DROP TRIGGER checkpoints_no_delete", "DELETE FROM checkpoints")
	sqlExec(t, raw, "DROP TRIGGER events_no_delete", "DELETE FROM events WHERE seq > 250")
	raw.Close()
	rewriteLog(t, f.path)
	rep = f.verify(t, VerifyOptions{Verifiers: []string{s.VerifierKey()}, CheckpointDir: dir})
	p := want(t, rep, CheckCheckpoint, "", 0, "truncation")
	if !strings.Contains(p.Checkpoint, dir) {
		t.Errorf("the folder copy is not named: %s", p)
	}
}

func mustVerifier(t *testing.T, vkey string) interface {
	Name() string
	KeyHash() uint32
	Verify(msg, sig []byte) bool
} {
	t.Helper()
	v, err := checkpoint.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ic", "checkpoint.key")
	vkey, err := checkpoint.CreateKeyFile(path, "ops-laptop")
	if err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", info.Mode().Perm())
	}
	if _, err := checkpoint.CreateKeyFile(path, "ops-laptop"); err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Errorf("second init: %v", err)
	}
	s, err := checkpoint.LoadSigner(path)
	if err != nil || s.VerifierKey() != vkey || !strings.HasPrefix(vkey, "ops-laptop+") {
		t.Fatalf("load: %v %q %q", err, s.VerifierKey(), vkey)
	}
	if pub, _ := os.ReadFile(path + ".pub"); strings.TrimSpace(string(pub)) != vkey {
		t.Errorf(".pub holds %q", pub)
	}
	os.Chmod(path, 0o644)
	if _, err := checkpoint.LoadSigner(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a world-readable key was loaded: %v", err)
	}
	if _, err := checkpoint.NewVerifier("not a key"); err == nil {
		t.Error("a bad verifier key was accepted")
	}
}

func TestReceipt(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	db := f.l.db
	if _, err := db.Receipt(ctx, f.a.ID, 3, nil); !errors.Is(err, ErrNoCheckpoint) {
		t.Errorf("receipt without a checkpoint: %v", err)
	}
	s := testSigner(t)
	if _, err := db.Checkpoint(ctx, s, ""); err != nil {
		t.Fatal(err)
	}
	r, err := db.Receipt(ctx, f.a.ID, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	data := mustJSON(t, r)
	got, err := CheckReceipt(data, []string{s.VerifierKey()})
	if err != nil || got.Event.Seq != 3 {
		t.Fatalf("check: %+v %v", got, err)
	}
	if _, err := CheckReceipt(data, []string{testSigner(t).VerifierKey()}); err == nil {
		t.Error("a receipt checked with another key")
	}
	path := filepath.Join(f.dir, "receipt.json")
	os.WriteFile(path, data, 0o600)
	script := scriptPath(t, "verify-receipt")
	runScript(t, 0, "ok: "+f.a.Short()+" seq 3", script, "--key", s.VerifierKey(), path)
	// One byte changed anywhere: Go and the script both refuse it.
	for _, i := range byteFlips(data) {
		bad := slices.Clone(data)
		bad[i] = flipByte(bad[i])
		if _, err := CheckReceipt(bad, []string{s.VerifierKey()}); err == nil {
			t.Errorf("receipt with byte %d changed (%q) passed CheckReceipt", i, data[max(0, i-10):min(len(data), i+10)])
		}
		os.WriteFile(path, bad, 0o600)
		runScript(t, 1, "FAIL", script, "--key", s.VerifierKey(), path)
	}
}

// byteFlips picks bytes to change: in each field of the receipt.
func byteFlips(data []byte) []int {
	var out []int
	for _, marker := range []string{`"payload":"`, `"actor":"`, `"time":"2`, `"time_ms":1`, `"prev_hash":"`, `"hash":"`, `"log_index":`, `"tree_size":`, `"inclusion_proof":["`, `"checkpoint":"`, `\n\n`, `"format":"ic`} {
		if i := strings.Index(string(data), marker); i >= 0 {
			out = append(out, i+len(marker)+1)
		}
	}
	return out
}

func flipByte(b byte) byte {
	switch {
	case b >= '0' && b <= '8', b >= 'a' && b <= 'y', b >= 'A' && b <= 'Y':
		return b + 1
	}
	return b ^ 1
}

func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	missing := filepath.Join(dir, "sub", "nope.db")
	if _, err := OpenReadOnly(ctx, missing); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing ledger: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(missing)); err == nil {
		t.Error("verifying a missing path created its folder")
	}
	if _, err := VerifyFile(ctx, missing); err == nil {
		t.Error("verified a missing file")
	}
	// An SQLite file that is not a ledger: refused, left as it was.
	other := filepath.Join(dir, "other.db")
	raw := rawDB(t, other)
	sqlExec(t, raw, "CREATE TABLE notes (x TEXT)", "INSERT INTO notes VALUES ('keep me')")
	raw.Close()
	before, _ := os.ReadFile(other)
	for _, open := range []func() error{
		func() error { _, err := OpenReadOnly(ctx, other); return err },
		func() error { _, err := VerifyFile(ctx, other); return err },
		func() error { _, err := Open(ctx, other); return err },
	} {
		if err := open(); err == nil || !strings.Contains(err.Error(), "not an ic ledger") {
			t.Errorf("a foreign SQLite file: %v", err)
		}
	}
	if after, _ := os.ReadFile(other); string(after) != string(before) {
		t.Error("the foreign file was changed")
	}
	// A ledger in a folder nobody can write: here the shared-memory file
	// cannot be created because a folder has its name.
	f := newFixture(t)
	f.l.db.Close()
	os.Mkdir(f.path+"-shm", 0o500)
	os.Chmod(f.path, 0o400)
	db, err := OpenReadOnly(ctx, f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rep, err := db.Verify(ctx, "")
	if err != nil || !rep.OK() || rep.Events != 9 {
		t.Fatalf("read-only verify: %+v %v", rep, err)
	}
	if _, err := db.Receipt(ctx, f.a.ID, 1, nil); !errors.Is(err, ErrNoCheckpoint) {
		t.Errorf("receipt read-only: %v", err)
	}
	if err := db.PutBlob(ctx, Hash(sha256sum("x")), []byte("x")); err == nil {
		t.Error("a read-only ledger took a write")
	}
}

func TestCorruptBackupsAreErrors(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	good := filepath.Join(f.dir, "good.db")
	if _, err := f.l.db.Backup(ctx, good); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	for name, b := range map[string][]byte{"empty": nil, "half": data[:len(data)/2], "header only": data[:100]} {
		p := filepath.Join(f.dir, name+".db")
		os.WriteFile(p, b, 0o600)
		rep, err := VerifyFile(ctx, p)
		if err == nil && rep.OK() {
			t.Errorf("%s backup verified: %+v", name, rep)
		}
	}
}

func TestBackupIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	dest := filepath.Join(f.dir, "out", "backup.db")
	rep, err := f.l.db.Backup(ctx, dest)
	if err != nil || !rep.OK() || rep.Events != 9 {
		t.Fatalf("backup: %+v %v", rep, err)
	}
	if info, _ := os.Stat(dest); info.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v", info.Mode().Perm())
	}
	if left, _ := filepath.Glob(filepath.Join(f.dir, "out", ".*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	// A killed backup leaves nothing at the target; the next removes its
	// temporary file.
	big := filepath.Join(f.dir, "big.db")
	bdb, err := Open(ctx, big)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, &testLedger{db: bdb}, 20, 2000)
	bdb.Close()
	target := filepath.Join(f.dir, "killed", "b.db")
	os.MkdirAll(filepath.Dir(target), 0o700)
	killed := false
	for attempt := 0; attempt < 5 && !killed; attempt++ {
		cmd := childBackup(t, big, target)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if m, _ := filepath.Glob(filepath.Join(filepath.Dir(target), ".b.db.ic-backup-*")); len(m) > 0 {
				if info, err := os.Stat(m[0]); err == nil && info.Size() > 0 {
					cmd.Process.Kill()
					killed = true
					break
				}
			}
			time.Sleep(200 * time.Microsecond)
		}
		cmd.Wait()
		if _, err := os.Stat(target); err == nil {
			if killed {
				t.Fatal("a killed backup left a file at the target")
			}
			os.Remove(target) // the child finished before it could be killed
		}
	}
	if !killed {
		t.Skip("the backup always finished before it could be killed")
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(target), ".b.db.ic-backup-*")); len(left) == 0 {
		t.Fatal("the killed backup left no temporary file to clean (the test did not kill it mid-way)")
	}
	bdb, err = Open(ctx, big)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	if _, err := bdb.Backup(ctx, target); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(target), ".b.db.ic-backup-*")); len(left) != 0 {
		t.Errorf("the next backup left %v", left)
	}
}

func childBackup(t *testing.T, db, dest string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "IC_STORE_CHILD=backup", "IC_STORE_DB="+db, "IC_STORE_DEST="+dest)
	cmd.Stderr = io.Discard
	return cmd
}

// childDoBackup is the backup the kill test starts and kills.
func childDoBackup() int {
	ctx := context.Background()
	db, err := Open(ctx, os.Getenv("IC_STORE_DB"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer db.Close()
	if _, err := db.Backup(ctx, os.Getenv("IC_STORE_DEST")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func TestVerifyReadsEveryRow(t *testing.T) {
	// A row the verify query cannot frame (a hash of the wrong length) is
	// re-read row by row and named, not skipped.
	f := newFixture(t)
	raw := rawDB(t, f.path)
	sqlExec(t, raw, "DROP TRIGGER events_no_update", "UPDATE events SET hash = zeroblob(31) WHERE seq = 4 AND incident = (SELECT n FROM incidents WHERE id = '"+f.a.ID+"')")
	raw.Close()
	rep := f.verify(t, VerifyOptions{Full: true})
	want(t, rep, CheckChain, f.a.ID, 4, "not 32 bytes")
}

func TestExportVerifiesWithoutIc(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	db := f.l.db
	s := testSigner(t)
	key := s.VerifierKey()
	script := scriptPath(t, "verify-export")
	// Without a checkpoint: the chain holds, the script says it is not
	// anchored, and with --key it fails.
	var buf bytes.Buffer
	if _, err := db.ExportJSONL(ctx, &buf, Range{Incident: f.a.ID}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(f.dir, "export.jsonl")
	os.WriteFile(path, buf.Bytes(), 0o600)
	runScript(t, 0, "ok: 7 event(s), 1 incident(s), complete chains", script, path)
	runScript(t, 1, "no signed checkpoint", script, "--key", key, path)
	if _, err := db.Checkpoint(ctx, s, ""); err != nil {
		t.Fatal(err)
	}
	good := exportAndCheck(t, db, f.a.ID, key, "signed by ic-test")
	lines := strings.SplitAfter(strings.TrimSuffix(string(good), "\n"), "\n")
	if len(lines) != 9 || !strings.Contains(lines[0], `"record":"incident"`) || !strings.Contains(lines[8], `"record":"end"`) {
		t.Fatalf("export lines:\n%s", good)
	}
	join := func(ls ...string) string { return strings.Join(ls, "") }
	alter := func(l, from, to string) string {
		if !strings.Contains(l, from) {
			t.Fatalf("%q not in %s", from, l)
		}
		return strings.Replace(l, from, to, 1)
	}
	nl := func(l string) string { return strings.TrimSuffix(l, "\n") + "\n" }
	for name, c := range map[string]struct{ text, want string }{
		"empty file":           {"", "the export is empty"},
		"first line missing":   {join(lines[1:]...), "the first line is not the incident's declaration"},
		"first line altered":   {join(append([]string{alter(lines[0], "payments down", "payments fine")}, lines[1:]...)...), "the declaration record does not match its hash"},
		"first line rehashed":  {join(append([]string{rehashDecl(t, lines[0], "declared_by", "mallory")}, lines[1:]...)...), "disagrees with the declaration record"},
		"last line missing":    {join(lines[:8]...), "there is no closing line"},
		"last line altered":    {join(append(slices.Clone(lines[:8]), alter(lines[8], `"events":7`, `"events":6`))...), "counts 6 event(s)"},
		"last event missing":   {join(append(slices.Clone(lines[:7]), lines[8])...), "the last event is not the chain's head"},
		"middle line removed":  {join(append(slices.Clone(lines[:3]), lines[4:]...)...), "lines were removed"},
		"lines reordered":      {join(lines[0], lines[1], lines[3], lines[2], join(lines[4:]...)), "reordered"},
		"line appended":        {join(append(slices.Clone(lines[:8]), nl(lines[8]), nl(lines[5]))...), "a line follows the closing line"},
		"head proof altered":   {join(append(slices.Clone(lines[:8]), flipProof(t, lines[8]))...), "the head's inclusion proof does not lead to the checkpoint's root"},
		"checkpoint signature": {join(append(slices.Clone(lines[:8]), alter(lines[8], "\u2014 ic-test ", "\u2014 ic-test A"))...), "FAIL"},
	} {
		p := filepath.Join(f.dir, strings.ReplaceAll(name, " ", "-")+".jsonl")
		os.WriteFile(p, []byte(c.text), 0o600)
		t.Run(name, func(t *testing.T) { runScript(t, 1, c.want, script, "--key", key, p) })
	}
}

// rehashDecl changes a field of the declaration line and recomputes its
// hash with the public formula (the proof then no longer holds either).
func rehashDecl(t *testing.T, line, field, value string) string {
	t.Helper()
	var d ExportDeclaration
	if err := json.Unmarshal([]byte(line), &d); err != nil {
		t.Fatal(err)
	}
	switch field {
	case "declared_by":
		d.DeclaredBy = value
	}
	d.Hash = incidentHash(Incident{ID: d.Incident, Book: d.Book, Title: d.Title, Kind: d.Kind, Drill: d.Drill,
		DeclaredAt: time.UnixMilli(d.DeclaredAtMS).UTC(), DeclaredBy: d.DeclaredBy}).String()
	return string(mustJSON(t, d)) + "\n"
}

// flipProof changes one hex digit of the first proof hash in line.
func flipProof(t *testing.T, line string) string {
	t.Helper()
	i := strings.Index(line, `"head_inclusion_proof":["`)
	if i < 0 {
		t.Fatalf("no proof in %s", line)
	}
	i += len(`"head_inclusion_proof":["`)
	b := []byte(line)
	if b[i] == '0' {
		b[i] = '1'
	} else {
		b[i] = '0'
	}
	return string(b)
}

func TestIncrementalReReadsWhatWasAppended(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	s := testSigner(t)
	if _, err := f.l.db.Checkpoint(ctx, s, ""); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := f.l.note(ctx, f.b.ID, "bob", fmt.Sprintf("after %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	o := VerifyOptions{Verifiers: []string{s.VerifierKey()}}
	if rep := f.verify(t, o); !rep.OK() || rep.Mode != "incremental" || rep.Events != 3 {
		t.Fatalf("mode %s, %d events\n%s", rep.Mode, rep.Events, problemList(rep))
	}
	if rep := f.verify(t, VerifyOptions{Full: true, Incident: f.b.ID}); !rep.OK() || rep.Mode != "incident" || rep.Events != 5 {
		t.Fatalf("incident verify: mode %s, %d events\n%s", rep.Mode, rep.Events, problemList(rep))
	}
	raw := rawDB(t, f.path)
	sqlExec(t, raw, "DROP TRIGGER events_no_update", `UPDATE events SET payload = '{"text":"after X"}' WHERE seq = 4 AND incident = (SELECT n FROM incidents WHERE id = '`+f.b.ID+`')`)
	raw.Close()
	rep := f.verify(t, o)
	if rep.Mode != "incremental" {
		t.Errorf("mode %s", rep.Mode)
	}
	want(t, rep, CheckChain, f.b.ID, 4, "hash does not match")
	rep = f.verify(t, VerifyOptions{Full: true, Incident: f.b.ID})
	want(t, rep, CheckChain, f.b.ID, 4, "hash does not match")
}

// A receipt is outside input (a file someone hands over): whatever it
// holds, CheckReceipt ends with a checked receipt or an error, never a
// panic, and only the untouched receipt checks.
func FuzzCheckReceipt(f *testing.F) {
	ctx := context.Background()
	l := openTest(f, filepath.Join(f.TempDir(), "ic.db"))
	inc := declare(f, l, "SEV-2")
	if _, err := l.note(ctx, inc.ID, "alice", "relay 2 restarted"); err != nil {
		f.Fatal(err)
	}
	s := testSigner(f)
	if _, err := l.db.Checkpoint(ctx, s, ""); err != nil {
		f.Fatal(err)
	}
	r, err := l.db.Receipt(ctx, inc.ID, 2, nil)
	if err != nil {
		f.Fatal(err)
	}
	good, err := json.Marshal(r)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"format":"ic.receipt.v1"}`))
	vkeys := []string{s.VerifierKey()}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := CheckReceipt(data, vkeys)
		if err == nil && (got.Event.Incident != inc.ID || got.Event.Seq != 2) {
			t.Fatalf("a receipt of %s seq %d checked from %q", got.Event.Incident, got.Event.Seq, data)
		}
	})
}
