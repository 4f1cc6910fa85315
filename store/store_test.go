package store

import (
	"bufio"
	"context"
	"database/sql"
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

// testPolicy is a small book policy: SEV-1 worst, SEV-1 needs evidence,
// recovery and review before CLOSED.
type testPolicy struct{}

func (testPolicy) KnownSeverity(id string) bool { return id == "SEV-1" || id == "SEV-2" }
func (testPolicy) KnownState(s string) bool {
	return slices.Contains([]string{"OPEN", "CONTAINED", "CLOSED"}, s)
}
func (testPolicy) InitialState() string   { return "OPEN" }
func (testPolicy) ClosingState() string   { return "CLOSED" }
func (testPolicy) ContainedState() string { return "CONTAINED" }
func (testPolicy) Allows(from, to string) bool {
	return (from == "OPEN" && (to == "CONTAINED" || to == "CLOSED")) || (from == "CONTAINED" && to == "CLOSED")
}
func (p testPolicy) NextStates(from string) []string {
	var out []string
	for _, to := range []string{"OPEN", "CONTAINED", "CLOSED"} {
		if p.Allows(from, to) {
			out = append(out, to)
		}
	}
	return out
}
func (testPolicy) IsClosed(s string) bool { return s == "CLOSED" }
func (testPolicy) AllowedAfterClose(t string) bool {
	return t == TypeCorrection || t == TypePostmortemLinked
}
func (testPolicy) CloseRequirements(sev string) map[string][]string {
	if sev != "SEV-1" {
		return nil
	}
	return map[string][]string{
		"evidence": {TypeEvidenceAttached, TypeVerification},
		"recovery": {TypeRestartCriteriaSigned},
		"review":   {TypePostmortemLinked},
	}
}
func (testPolicy) UpdateCadence(sev string) time.Duration {
	if sev == "SEV-1" {
		return 15 * time.Minute
	}
	return time.Hour
}

func policies(book string) (Policy, bool) { return testPolicy{}, book == "ops" }

func openTest(t testing.TB, path string) *Ledger {
	t.Helper()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return NewLedger(db, policies)
}

func declare(t testing.TB, l *Ledger, sev string) Incident {
	t.Helper()
	inc, _, err := l.Declare(context.Background(), Declaration{Book: "ops", Title: "payments down", Severity: sev, Actor: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	return inc
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
	l := NewLedger(db, policies)
	n, _ := strconv.Atoi(os.Getenv("IC_STORE_N"))
	id := os.Getenv("IC_STORE_INCIDENT")
	w := bufio.NewWriter(os.Stdout)
	for i := 0; n == 0 || i < n; i++ {
		e, err := l.Append(ctx, id, "child", "", Note{Text: fmt.Sprintf("note %d from %d", i, os.Getpid())})
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

func TestDeclareAppendVerify(t *testing.T) {
	ctx := context.Background()
	l := openTest(t, filepath.Join(t.TempDir(), "ic.db"))
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	l = l.WithClock(func() time.Time { return now })
	inc := declare(t, l, "SEV-1")
	if !strings.HasPrefix(inc.Short(), "INC-") || len(inc.Short()) != 10 {
		t.Errorf("short id %q", inc.Short())
	}
	for i := range 3 {
		if _, err := l.Append(ctx, inc.ID, "alice", "", Note{Text: fmt.Sprintf("note %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := l.Status(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 4 || st.Severity != "SEV-1" || st.State != "OPEN" || st.Closed {
		t.Errorf("status = %+v", st)
	}
	if want := now.Add(15 * time.Minute); !st.UpdateDue.Equal(want) {
		t.Errorf("update due %v, want %v", st.UpdateDue, want)
	}
	now = now.Add(20 * time.Minute)
	if !st.Overdue(now) {
		t.Error("status update not overdue 20 minutes in")
	}
	if _, err := l.Append(ctx, inc.ID, "bob", "", StatusUpdate{Text: "still down"}); err != nil {
		t.Fatal(err)
	}
	st, _ = l.Status(ctx, inc.ID)
	if want := now.Add(15 * time.Minute); !st.UpdateDue.Equal(want) || st.Overdue(now) {
		t.Errorf("after an update, due %v (want %v)", st.UpdateDue, want)
	}
	rep, err := l.db.Verify(ctx, "")
	if err != nil || !rep.OK() || rep.Events != 5 || rep.Incidents != 1 {
		t.Fatalf("verify = %+v, %v", rep, err)
	}
	if got, err := l.Resolve(ctx, inc.Short()); err != nil || got != inc.ID {
		t.Errorf("Resolve(%s) = %s, %v", inc.Short(), got, err)
	}
	if _, err := l.Resolve(ctx, "INC-zzzzzz"); err == nil {
		t.Error("Resolve accepted a non-hex id")
	}
}

func TestIdempotentRetry(t *testing.T) {
	ctx := context.Background()
	l := openTest(t, filepath.Join(t.TempDir(), "ic.db"))
	inc := declare(t, l, "SEV-2")
	a, err := l.Append(ctx, inc.ID, "alice", "key-1", Note{Text: "once"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Append(ctx, inc.ID, "alice", "key-1", Note{Text: "once"})
	if err != nil || b.Seq != a.Seq || b.Hash != a.Hash {
		t.Fatalf("retry gave %+v, %v; want the first event back", b, err)
	}
	if st, _ := l.Status(ctx, inc.ID); st.Events != 2 {
		t.Errorf("events = %d after a retried append, want 2", st.Events)
	}
	if _, err := l.Append(ctx, inc.ID, "alice", "key-1", StatusUpdate{Text: "other"}); !errors.Is(err, ErrRefused) {
		t.Errorf("reusing a key for another event type: %v", err)
	}
	d := Declaration{Book: "ops", Title: "t", Severity: "SEV-2", Actor: "a", Key: "decl-1"}
	i1, _, _ := l.Declare(ctx, d)
	i2, _, _ := l.Declare(ctx, d)
	if i1.ID != i2.ID {
		t.Errorf("a retried declaration made a second incident")
	}
}

func TestLifecycleRules(t *testing.T) {
	ctx := context.Background()
	l := openTest(t, filepath.Join(t.TempDir(), "ic.db"))
	inc := declare(t, l, "SEV-1")
	refused := func(p any, want string) {
		t.Helper()
		_, err := l.Append(ctx, inc.ID, "alice", "", p)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), want) {
			t.Errorf("%T: err = %v, want refusal containing %q", p, err, want)
		}
	}
	refused(StateChange{To: "NOWHERE"}, `unknown state "NOWHERE"`)
	refused(SeverityChange{To: "SEV-9", Reason: "x"}, `unknown severity "SEV-9"`)
	refused(SeverityChange{To: "SEV-2"}, "reason is empty")
	refused(Note{Text: "  "}, "note is empty")
	refused(Note{Text: strings.Repeat("x", MaxTextBytes+1)}, "over the limit")
	refused(Correction{Corrects: 99, Text: "x"}, "no event 99")
	refused(ActionItemDone{Item: 1}, "no action item at seq 1")
	refused(StateChange{To: "CLOSED"}, "cannot close yet: the timeline has no evidence (one of: evidence_attached, verification); no recovery (one of: restart_criteria_signed); no review")
	if _, err := l.AttachEvidence(ctx, inc.ID, "alice", "", "log.txt", "", []byte("log")); err != nil {
		t.Fatal(err)
	}
	refused(StateChange{To: "CLOSED"}, "no recovery")
	for _, p := range []any{RestartCriteria{Text: "fix deployed, 30 min clean"}, PostmortemLink{URL: "https://wiki/pm/1"}, StateChange{To: "CONTAINED"}} {
		if _, err := l.Append(ctx, inc.ID, "alice", "", p); err != nil {
			t.Fatal(err)
		}
	}
	refused(StateChange{To: "OPEN"}, "cannot move from CONTAINED to OPEN: the policy of book ops allows only CLOSED")
	if _, err := l.Append(ctx, inc.ID, "alice", "", StateChange{To: "CLOSED"}); err != nil {
		t.Fatal(err)
	}
	refused(Note{Text: "late"}, "is CLOSED (closed): a note cannot be added; allowed after close: correction, postmortem_linked")
	if _, err := l.Append(ctx, inc.ID, "alice", "", Correction{Corrects: 2, Text: "the log was from node 2"}); err != nil {
		t.Errorf("correction after close: %v", err)
	}
	st, _ := l.Status(ctx, inc.ID)
	if !st.Closed || !st.UpdateDue.IsZero() || len(st.Missing) != 0 {
		t.Errorf("closed status = %+v", st)
	}
}

func TestControlCharactersAreStoredEscaped(t *testing.T) {
	ctx := context.Background()
	l := openTest(t, filepath.Join(t.TempDir(), "ic.db"))
	inc := declare(t, l, "SEV-2")
	e, err := l.Append(ctx, inc.ID, "alice", "", Note{Text: "copy \x1b]52;c;aGk=\x07 done \xff"})
	if err != nil {
		t.Fatal(err)
	}
	var n Note
	json.Unmarshal(e.Payload, &n)
	if n.Text != `copy \x1b]52;c;aGk=\x07 done \xff` || strings.ContainsRune(string(e.Payload), 0x1b) {
		t.Errorf("stored %q (payload %q)", n.Text, e.Payload)
	}
	if _, err := l.Append(ctx, inc.ID, "al\x1bice", "", Note{Text: "x"}); !errors.Is(err, ErrRefused) {
		t.Errorf("actor with ESC accepted: %v", err)
	}
}

// rawDB opens the file with the plain driver, as someone bypassing ic would.
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
	l.Append(context.Background(), inc.ID, "alice", "", Note{Text: "a"})
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
				l.Append(context.Background(), inc.ID, "alice", "", Note{Text: fmt.Sprintf("note %d", i)})
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
		_, err = NewLedger(db, policies).Append(context.Background(), inc.ID, "a", "", Note{Text: "x"})
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
	l.Append(ctx, inc.ID, "alice", "", Note{Text: "before backup"})
	rep, err := l.db.Backup(ctx, filepath.Join(dir, "b1.db"))
	if err != nil || !rep.OK() || rep.Events != 2 {
		t.Fatalf("backup: %+v %v", rep, err)
	}
	if _, err := l.db.Backup(ctx, filepath.Join(dir, "b1.db")); err == nil {
		t.Error("backup overwrote an existing file")
	}
	l.Append(ctx, inc.ID, "alice", "", Note{Text: "after backup"})
	if _, err := l.db.Restore(ctx, filepath.Join(dir, "b1.db"), ""); err == nil {
		t.Error("restore without a pre-restore backup")
	}
	rep, err = l.db.Restore(ctx, filepath.Join(dir, "b1.db"), filepath.Join(dir, "pre.db"))
	if err != nil || !rep.OK() {
		t.Fatalf("restore: %+v %v", rep, err)
	}
	if st, _ := l.Status(ctx, inc.ID); st.Events != 2 {
		t.Errorf("after restore %d events, want 2", st.Events)
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
		_, err := l.Resolve(ctx, "INC-"+string(digit))
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
		_, err = l.Append(ctx, inc.ID, "alice", "", Note{Text: strings.Repeat("log line ", 200)})
	}
	if err == nil || !strings.Contains(err.Error(), "the disk is full") || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("append to a full ledger: %v", err)
	}
	st, _ := l.Status(ctx, inc.ID)
	rep, verr := l.db.Verify(ctx, "")
	if verr != nil || !rep.OK() || rep.Events != st.Events {
		t.Errorf("after the failure: verify %+v %v, status %d events", rep, verr, st.Events)
	}
}
