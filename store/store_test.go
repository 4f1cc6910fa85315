package store

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // the plain driver, for tampering from outside ic
)

// testLedger appends to the store directly, with no book rules: these
// tests are about storage (the rules are the application layer's, tested
// in package incident).
type testLedger struct{ db *DB }

func openTest(t testing.TB, path string) *testLedger {
	t.Helper()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &testLedger{db: db}
}

// declare records an incident whose first event is a declaration.
func declare(t testing.TB, l *testLedger, sev string) Incident {
	t.Helper()
	inc, err := l.declareKey(context.Background(), "payments down", sev, NewKey())
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

// declareKey records a declaration with an idempotency key.
func (l *testLedger) declareKey(ctx context.Context, title, sev, key string) (Incident, error) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	inc := Incident{ID: DeclarationID("ops", title, sev, now.UnixMilli(), "alice", key), Book: "ops", Title: title,
		Kind: "incident", DeclaredAt: now, DeclaredBy: "alice"}
	payload, _ := json.Marshal(map[string]string{"book": "ops", "title": title, "severity": sev, "state": "OPEN", "kind": "incident"})
	inc, _, _, err := l.db.CreateIncident(ctx, inc, Event{Time: now, Actor: "alice", Type: DeclaredType, Payload: payload, Key: key})
	return inc, err
}

// evidence stores bytes as evidence and appends the event citing them.
func (l *testLedger) evidence(ctx context.Context, id, actor, name string, data []byte) (Event, error) {
	sum := sha256.Sum256(data)
	if err := l.db.PutBlob(ctx, sum, data); err != nil {
		return Event{}, err
	}
	payload, _ := json.Marshal(map[string]any{"name": name, "size": len(data), "sha256": hex.EncodeToString(sum[:])})
	return l.append(ctx, id, actor, "evidence_attached", payload)
}

// note appends a note after the incident's head, whatever it is.
func (l *testLedger) note(ctx context.Context, id, actor, text string) (Event, error) {
	payload, _ := json.Marshal(map[string]string{"text": text})
	return l.append(ctx, id, actor, "note", payload)
}

// append adds an event after the incident's head, whatever it is.
func (l *testLedger) append(ctx context.Context, id, actor, typ string, payload []byte) (Event, error) {
	for {
		head, err := l.db.Head(ctx, id)
		if err != nil {
			return Event{}, err
		}
		e, _, err := l.db.Append(ctx, id, head.Seq, Event{Time: time.Now().UTC(), Actor: actor, Type: typ, Payload: payload, Key: NewKey()})
		if errors.Is(err, ErrConflict) {
			continue
		}
		return e, err
	}
}

// events is the incident's event count.
func (l *testLedger) events(t testing.TB, id string) int64 {
	t.Helper()
	head, err := l.db.Head(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return head.Seq
}

func TestMain(m *testing.M) {
	switch os.Getenv("IC_STORE_CHILD") {
	case "append":
		os.Exit(childAppend())
	case "backup":
		os.Exit(childDoBackup())
	}
	os.Exit(m.Run())
}

// childAppend appends notes to one incident and prints "ack SEQ" after
// each commit returns; it is the process the crash and concurrency tests
// start and kill.
func childAppend() int {
	ctx := context.Background()
	db, err := Open(ctx, os.Getenv("IC_STORE_DB"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	l := &testLedger{db: db}
	n, _ := strconv.Atoi(os.Getenv("IC_STORE_N"))
	id := os.Getenv("IC_STORE_INCIDENT")
	w := bufio.NewWriter(os.Stdout)
	for i := 0; n == 0 || i < n; i++ {
		e, err := l.note(ctx, id, "child", fmt.Sprintf("note %d from %d", i, os.Getpid()))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintf(w, "ack %d %s\n", e.Seq, e.Key)
		w.Flush()
	}
	return 0
}

func TestOpenSetsUpTheFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "ic")
	path := filepath.Join(dir, "ic.db")
	l := openTest(t, path)
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s mode %v, want %v", p, got, want)
		}
	}
	var mode string
	l.db.sql.QueryRow("PRAGMA journal_mode").Scan(&mode)
	var sync int
	l.db.sql.QueryRow("PRAGMA synchronous").Scan(&sync)
	if mode != "wal" || sync != 2 {
		t.Errorf("journal_mode %s synchronous %d, want wal 2", mode, sync)
	}
}

func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestTriggersRefuseChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ic.db")
	l := openTest(t, path)
	inc := declare(t, l, "SEV-2")
	l.note(context.Background(), inc.ID, "alice", "a")
	raw := rawDB(t, path)
	for _, q := range []string{
		"UPDATE events SET payload = '{}' WHERE seq = 2",
		"DELETE FROM events WHERE seq = 2",
		"INSERT OR REPLACE INTO events SELECT incident, seq, time, actor, type, '{}', prev_hash, hash, idem_key, identity, log_idx FROM events WHERE seq = 2",
		"INSERT INTO events SELECT incident, 9, time, actor, type, payload, prev_hash, hash, 'k9', identity, log_idx FROM events WHERE seq = 2",
		"UPDATE incidents SET title = 'x'",
		"DELETE FROM incidents",
	} {
		if _, err := raw.Exec(q); err == nil || !strings.Contains(err.Error(), "ic ledger") {
			t.Errorf("%s: err = %v, want a trigger refusal", q, err)
		}
	}
	// ic's own connections refuse even dropping the guard.
	if _, err := l.db.sql.Exec("DROP TRIGGER events_no_update"); err == nil {
		t.Error("ic's own connection dropped a trigger")
	}
}

func TestTamperIsDetected(t *testing.T) {
	for _, c := range []struct {
		name string
		sql  []string
		seq  int64
		want string
	}{
		{"payload byte edited", []string{"DROP TRIGGER events_no_update", `UPDATE events SET payload = replace(payload, 'note 2', 'note X') WHERE seq = 4`}, 4, "hash does not match"},
		{"middle event deleted", []string{"DROP TRIGGER events_no_delete", "DELETE FROM events WHERE seq = 3"}, 3, "seq 3 is missing"},
		{"hash rewritten with payload", []string{"DROP TRIGGER events_no_update", `UPDATE events SET payload = replace(payload, 'note 1', 'note Y'), hash = zeroblob(32) WHERE seq = 3`}, 3, "hash does not match"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ic.db")
			l := openTest(t, path)
			inc := declare(t, l, "SEV-2")
			declare(t, l, "SEV-1") // a second, untouched chain
			for i := range 5 {
				l.note(context.Background(), inc.ID, "alice", fmt.Sprintf("note %d", i))
			}
			raw := rawDB(t, path)
			for _, q := range c.sql {
				if _, err := raw.Exec(q); err != nil {
					t.Fatal(q, err)
				}
			}
			var qc string
			raw.QueryRow("PRAGMA quick_check").Scan(&qc)
			if qc != "ok" {
				t.Logf("quick_check: %s", qc)
			}
			rep, err := l.db.Verify(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			var hit *Problem
			for i, p := range rep.Problems {
				if p.Incident == inc.ID {
					hit = &rep.Problems[i]
				}
			}
			if hit == nil || hit.Seq != c.seq || !strings.Contains(hit.Reason, c.want) {
				t.Fatalf("problems = %v, want %s seq %d: %s", rep.Problems, inc.Short(), c.seq, c.want)
			}
			if !slices.ContainsFunc(rep.Problems, func(p Problem) bool { return strings.Contains(p.Reason, "trigger") }) {
				t.Errorf("the dropped trigger was not reported: %v", rep.Problems)
			}
		})
	}
}

func TestRefusesForeignAndNewerFiles(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "notes.txt")
	os.WriteFile(notDB, []byte(strings.Repeat("this is not sqlite\n", 100)), 0o600)
	if _, err := Open(context.Background(), notDB); err == nil || !strings.Contains(err.Error(), "not an ic ledger") {
		t.Errorf("opening a text file: %v", err)
	}
	newer := filepath.Join(dir, "newer.db")
	raw := rawDB(t, newer)
	raw.Exec("PRAGMA user_version = 99")
	raw.Close()
	if _, err := Open(context.Background(), newer); err == nil || !strings.Contains(err.Error(), "newer than this ic understands") {
		t.Errorf("opening a newer ledger: %v", err)
	}
}

func TestReadOnlyLedger(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: file permissions do not stop writes")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "ic.db")
	l := openTest(t, path)
	inc := declare(t, l, "SEV-2")
	l.db.Close()
	os.Chmod(path, 0o400)
	db, err := Open(context.Background(), path)
	if err == nil {
		_, err = (&testLedger{db: db}).note(context.Background(), inc.ID, "a", "x")
		db.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("append to a read-only ledger: %v", err)
	}
}

func TestBackupAndRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := openTest(t, filepath.Join(dir, "ic.db"))
	inc := declare(t, l, "SEV-2")
	l.note(ctx, inc.ID, "alice", "before backup")
	rep, err := l.db.Backup(ctx, filepath.Join(dir, "b1.db"))
	if err != nil || !rep.OK() || rep.Events != 2 {
		t.Fatalf("backup: %+v %v", rep, err)
	}
	if _, err := l.db.Backup(ctx, filepath.Join(dir, "b1.db")); err == nil {
		t.Error("backup overwrote an existing file")
	}
	l.note(ctx, inc.ID, "alice", "after backup")
	if _, err := l.db.Restore(ctx, filepath.Join(dir, "b1.db"), ""); err == nil {
		t.Error("restore without a pre-restore backup")
	}
	rep, err = l.db.Restore(ctx, filepath.Join(dir, "b1.db"), filepath.Join(dir, "pre.db"))
	if err != nil || !rep.OK() {
		t.Fatalf("restore: %+v %v", rep, err)
	}
	if n := l.events(t, inc.ID); n != 2 {
		t.Errorf("after restore %d events, want 2", n)
	}
	if pre, err := VerifyFile(ctx, filepath.Join(dir, "pre.db")); err != nil || pre.Events != 3 {
		t.Errorf("pre-restore backup holds %d events (%v), want 3", pre.Events, err)
	}
	// A corrupted backup is refused before anything is touched.
	raw := rawDB(t, filepath.Join(dir, "b1.db"))
	raw.Exec("DROP TRIGGER events_no_update")
	raw.Exec("UPDATE events SET actor = 'mallory' WHERE seq = 2")
	raw.Close()
	if _, err := l.db.Restore(ctx, filepath.Join(dir, "b1.db"), filepath.Join(dir, "pre2.db")); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("restore from a tampered backup: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pre2.db")); err == nil {
		t.Error("a pre-restore backup was written for a refused restore")
	}
}

func childCmd(t *testing.T, db, incident string, n int) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "IC_STORE_CHILD=append", "IC_STORE_DB="+db, "IC_STORE_INCIDENT="+incident, "IC_STORE_N="+strconv.Itoa(n))
	return cmd
}

// TestCrashKeepsAcknowledgedEvents kills a writer with SIGKILL at random
// moments; every event it printed as acknowledged must be there and the
// chain must verify.
func TestCrashKeepsAcknowledgedEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ic.db")
	l := openTest(t, path)
	inc := declare(t, l, "SEV-2")
	acked := map[string]int64{}
	for round := range 20 {
		cmd := childCmd(t, path, inc.ID, 0)
		out, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		done := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) == 3 && f[0] == "ack" {
					seq, _ := strconv.ParseInt(f[1], 10, 64)
					mu.Lock()
					acked[f[2]] = seq
					mu.Unlock()
				}
			}
			close(done)
		}()
		time.Sleep(time.Duration(30+rand.IntN(120)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		cmd.Wait()
		_ = round
	}
	if len(acked) < 20 {
		t.Fatalf("only %d acknowledged appends over 20 rounds: the child is not writing", len(acked))
	}
	rep, err := l.db.Verify(ctx, "")
	if err != nil || !rep.OK() {
		t.Fatalf("verify after crashes: %+v %v", rep, err)
	}
	for key, seq := range acked {
		e, err := byKey(ctx, l.db.sql, key)
		if err != nil || e.Seq != seq {
			t.Errorf("acknowledged event seq %d (key %s) is missing: %v", seq, key, err)
		}
	}
	t.Logf("%d acknowledged events survived 20 SIGKILLs; ledger holds %d", len(acked), rep.Events)
}

// TestConcurrentWriters: 4 processes x 500 appends to one incident.
func TestConcurrentWriters(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ic.db")
	l := openTest(t, path)
	inc := declare(t, l, "SEV-2")
	var cmds []*exec.Cmd
	for range 4 {
		cmd := childCmd(t, path, inc.ID, 500)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("writer failed: %v", err)
		}
	}
	rep, err := l.db.Verify(ctx, inc.ID)
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	if rep.Events != 2001 {
		t.Errorf("%d events, want 2001 (the declaration and 2000 notes)", rep.Events)
	}
	n := int64(0)
	l.db.Events(ctx, Range{Incident: inc.ID}, func(e Event) error {
		n++
		if e.Seq != n {
			t.Fatalf("seq %d where %d expected", e.Seq, n)
		}
		return nil
	})
}

func TestResolveAmbiguousPrefix(t *testing.T) {
	ctx := context.Background()
	l := openTest(t, filepath.Join(t.TempDir(), "ic.db"))
	count := map[byte]int{}
	for range 17 { // 17 ids over 16 first digits: at least one digit repeats
		inc := declare(t, l, "SEV-2")
		count[inc.ID[0]]++
	}
	for digit, n := range count {
		_, err := l.db.ResolveID(ctx, "INC-"+string(digit))
		if n > 1 && (err == nil || !strings.Contains(err.Error(), "is ambiguous")) {
			t.Errorf("prefix %c matches %d incidents: err = %v", digit, n, err)
		}
		if n == 1 && err != nil {
			t.Errorf("prefix %c matches one incident: %v", digit, err)
		}
	}
}

func TestStorageErrorsSayWhatToDo(t *testing.T) {
	for msg, want := range map[string]string{
		"database or disk is full":             "the disk is full",
		"attempt to write a readonly database": "read-only",
	} {
		if got := describeFSError(errors.New(msg)).Error(); !strings.Contains(got, want) {
			t.Errorf("%q -> %q, want it to say %q", msg, got, want)
		}
	}
}

// TestFullDiskLosesNothing fills the database (max_page_count, which makes
// SQLite answer exactly as on a full disk): the append fails with an error
// that says so, nothing is half-written, and the ledger still verifies.
func TestFullDiskLosesNothing(t *testing.T) {
	ctx := context.Background()
	l := openTest(t, filepath.Join(t.TempDir(), "ic.db"))
	inc := declare(t, l, "SEV-2")
	l.db.sql.SetMaxOpenConns(1) // the pragma below is per connection
	var pages int
	if err := l.db.sql.QueryRow("PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := l.db.sql.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
		t.Fatal(err)
	}
	var err error
	for i := 0; i < 200 && err == nil; i++ {
		_, err = l.note(ctx, inc.ID, "alice", strings.Repeat("log line ", 200))
	}
	if err == nil || !strings.Contains(err.Error(), "the disk is full") || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("append to a full ledger: %v", err)
	}
	n := l.events(t, inc.ID)
	rep, verr := l.db.Verify(ctx, "")
	if verr != nil || !rep.OK() || rep.Events != n {
		t.Errorf("after the failure: verify %+v %v, head at %d events", rep, verr, n)
	}
}
