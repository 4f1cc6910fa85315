package serve_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestUnknownKeyIsRefused(t *testing.T) {
	alice := newUser(t, "alice", "")
	s := startServer(t, []user{alice}, serverOptions{})
	mallory := newUser(t, "mallory", "")
	if c, err := s.dial(mallory); err == nil {
		c.Close()
		t.Fatal("a key not in the authorized-keys file got in")
	} else if !strings.Contains(err.Error(), "unable to authenticate") {
		t.Errorf("refusal: %v", err)
	}
	// The client may hear the refusal before the server's log line is out.
	if !s.stderr.waitFor("refusing key "+mallory.fingerprint(), 10*time.Second) {
		t.Errorf("the server did not log the refused key:\n%s", s.stderr)
	}
	if r := s.run(alice, "", "version"); r.code != 0 {
		t.Errorf("a granted key: %+v", r)
	}
}

func TestIdentityIsTheKeysPrincipal(t *testing.T) {
	alice, olga := newUser(t, "alice", ""), newUser(t, "olga", "observer")
	s := startServer(t, []user{alice, olga}, serverOptions{})
	id := s.declare(alice, "payments down")
	if r := s.run(alice, "", "note", id, "relay 2 restarted"); r.code != 0 {
		t.Fatalf("note: %+v", r)
	}
	if r := s.run(alice, "from stdin\n", "note", id, "-"); r.code != 0 {
		t.Fatalf("note from stdin: %+v", r)
	}
	entries := s.timeline(olga, id) // an observer reads
	if len(entries) != 3 {
		t.Fatalf("timeline has %d entries, want 3: %+v", len(entries), entries)
	}
	for _, e := range entries {
		if e.Actor != "alice" || e.Identity != "session:"+alice.fingerprint() {
			t.Errorf("seq %d recorded as actor %q identity %q, want alice session:%s", e.Seq, e.Actor, e.Identity, alice.fingerprint())
		}
	}
	// --actor cannot claim another name.
	r := s.run(alice, "", "note", id, "--actor", "bob", "I am bob")
	if r.code != 2 || !strings.Contains(r.stderr, "--actor is not accepted in a served session: you are alice") {
		t.Errorf("--actor in a session: %+v", r)
	}
	// Nor can a session reach the server's files.
	for _, args := range [][]string{{"evidence", id, "/etc/passwd"}, {"--db", "/tmp/other.db", "timeline", id}, {"backup", "/tmp/x.db"}, {"export", id, "--format", "jsonl", "-o", "/tmp/x"}} {
		if r := s.run(alice, "", args...); r.code != 2 || !strings.Contains(r.stderr, "served session") {
			t.Errorf("%v in a session: %+v", args, r)
		}
	}
	if got := len(s.timeline(alice, id)); got != 3 {
		t.Errorf("refused commands changed the timeline: %d entries", got)
	}
}

func TestObserverWriteIsRefused(t *testing.T) {
	alice, olga := newUser(t, "alice", ""), newUser(t, "olga", "observer")
	s := startServer(t, []user{alice, olga}, serverOptions{})
	id := s.declare(alice, "payments down")
	for _, args := range [][]string{{"note", id, "I only watch"}, {"incident", "open", "--title", "mine", "--sev", "SEV-3"}, {"incident", "sev", id, "SEV-1"}} {
		r := s.run(olga, "", args...)
		if r.code != 1 || !strings.Contains(r.stderr, "session role observer, which reads only") {
			t.Errorf("observer %v: %+v", args, r)
		}
	}
	if got := len(s.timeline(olga, id)); got != 1 {
		t.Errorf("an observer's write landed: %d entries", got)
	}
	if r := s.run(olga, "", "incident", "list", "--json"); strings.Count(r.stdout, `"short_id"`) != 1 {
		t.Errorf("an observer declared an incident: %s", r.stdout)
	}
}

// Two consoles on one incident see each other's notes, and who is there.
func TestTwoConsolesSeeEachOther(t *testing.T) {
	alice, bob := newUser(t, "alice", ""), newUser(t, "bob", "")
	s := startServer(t, []user{alice, bob}, serverOptions{})
	id := s.declare(alice, "payments down")
	a, b := s.console(alice, 200, 50), s.console(bob, 200, 50)
	a.waitFor(id)
	b.waitFor(id)
	a.waitFor("with bob")
	b.waitFor("with alice")
	a.note("alice saw 500s")
	b.waitFor("alice saw 500s")
	b.note("bob restarted relay 2")
	a.waitFor("bob restarted relay 2")
	// A command session's note reaches both consoles too.
	if r := s.run(bob, "", "note", id, "from a script"); r.code != 0 {
		t.Fatal(r)
	}
	a.waitFor("from a script")
	b.waitFor("from a script")
	entries := s.timeline(alice, id)
	who := map[string]string{}
	for _, e := range entries {
		who[string(e.Payload)] = e.Actor + " " + e.Identity
	}
	for text, want := range map[string]user{"alice saw 500s": alice, "bob restarted relay 2": bob} {
		found := false
		for payload, got := range who {
			if strings.Contains(payload, text) {
				found = true
				if got != want.name+" session:"+want.fingerprint() {
					t.Errorf("%q recorded as %q", text, got)
				}
			}
		}
		if !found {
			t.Errorf("%q is not on the timeline", text)
		}
	}
}

// Two sessions check the same step at once: one wins, the other is told
// who did it.
func TestSameStepTwiceNamesTheWinner(t *testing.T) {
	alice, bob := newUser(t, "alice", ""), newUser(t, "bob", "")
	s := startServer(t, []user{alice, bob}, serverOptions{})
	id := s.declare(alice, "payments down")
	var wg sync.WaitGroup
	results := map[string]result{}
	var mu sync.Mutex
	for _, u := range []user{alice, bob} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.run(u, "", "step", id, "O-020", "1")
			mu.Lock()
			results[u.name] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	var winner, loser string
	for name, r := range results {
		if r.code == 0 {
			winner = name
		} else {
			loser = name
		}
	}
	if winner == "" || loser == "" {
		t.Fatalf("want one winner and one loser: %+v", results)
	}
	if msg := results[loser].stderr; !strings.Contains(msg, "O-020 step 1 was already checked by "+winner) {
		t.Errorf("the loser was told %q, not who won (%s)", msg, winner)
	}
}

func TestSessionLimitPerKey(t *testing.T) {
	alice := newUser(t, "alice", "")
	s := startServer(t, []user{alice}, serverOptions{args: []string{"--max-sessions-per-key", "2"}})
	s.declare(alice, "payments down")
	c1, c2 := s.console(alice, 80, 24), s.console(alice, 80, 24)
	c1.waitFor("INC-")
	c2.waitFor("INC-")
	r := s.run(alice, "", "version")
	if r.code != 1 || !strings.Contains(r.stderr, "already has 2 session(s) open, the limit per key") {
		t.Errorf("third session: %+v", r)
	}
	c1.client.Close()
	// Once one ends, the key gets in again.
	deadline := time.Now().Add(patience)
	for {
		r := s.run(alice, "", "version")
		if r.code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the key stayed at its limit after a session ended: %+v\nserver log:\n%s", r, s.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A session dropped mid-typing keeps what was typed, for that principal
// and incident; another principal does not get it.
func TestDroppedSessionKeepsTheDraft(t *testing.T) {
	alice, bob := newUser(t, "alice", ""), newUser(t, "bob", "")
	s := startServer(t, []user{alice, bob}, serverOptions{})
	id := s.declare(alice, "payments down")
	a := s.console(alice, 120, 40)
	a.waitFor(id)
	a.typeText("n")
	a.waitFor("note>")
	a.typeText("the relay log says")
	a.waitFor("the relay log says")
	a.client.Conn.Close() // the network goes, no goodbye
	// The server notices and keeps the draft; a new console finds it.
	deadline := time.Now().Add(patience)
	for {
		a2 := s.console(alice, 120, 40)
		a2.waitFor(id)
		if a2.screen.waitFor("draft: the relay log says", 2*time.Second) {
			a2.client.Close()
			break
		}
		a2.client.Close()
		if time.Now().After(deadline) {
			t.Fatalf("the draft did not come back:\n%s", a2.screen.tail(2000))
		}
	}
	b := s.console(bob, 120, 40)
	b.waitFor(id)
	if b.screen.waitFor("the relay log says", time.Second) {
		t.Error("bob's console shows alice's draft")
	}
}

func TestIdleSessionIsClosed(t *testing.T) {
	alice := newUser(t, "alice", "")
	s := startServer(t, []user{alice}, serverOptions{args: []string{"--idle-timeout", "1s"}})
	c := s.console(alice, 80, 24)
	c.waitFor("idle for 1s: the session is closed")
	if err := c.sess.Wait(); err != nil {
		t.Logf("session ended: %v", err)
	}
}

// The server survives clients that cut their connection at any byte:
// during the handshake, during authentication, in a console, in a
// command; afterwards it still serves.
func TestClientsCutAtAnyByte(t *testing.T) {
	alice := newUser(t, "alice", "")
	s := startServer(t, []user{alice}, serverOptions{})
	id := s.declare(alice, "payments down")
	rng := rand.New(rand.NewPCG(1, 2))
	// Raw TCP: a prefix of a real client's first bytes, then gone.
	hello := []byte("SSH-2.0-Go\r\n")
	for n := 0; n < 40; n++ {
		conn, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		junk := append(append([]byte(nil), hello[:rng.IntN(len(hello)+1)]...), make([]byte, rng.IntN(600))...)
		for i := len(hello); i < len(junk); i++ {
			junk[i] = byte(rng.IntN(256))
		}
		_, _ = conn.Write(junk)
		if n%2 == 0 {
			buf := make([]byte, 64)
			_ = conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			_, _ = conn.Read(buf)
		}
		conn.Close()
	}
	// A real client cut after a random number of bytes of its own.
	for n := 0; n < 20; n++ {
		raw, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		cut := &cutConn{Conn: raw, left: 1 + rng.IntN(4000)}
		c, err := dialOver(cut, alice)
		if err == nil {
			con := openQuiet(c, 80, 24)
			if con != nil {
				_, _ = con.Write([]byte("nhalf a no"))
			}
			c.Close()
		}
		raw.Close()
	}
	// A command whose client goes mid-stdin.
	c, err := s.dial(alice)
	if err != nil {
		t.Fatal(err)
	}
	sess, _ := c.NewSession()
	in, _ := sess.StdinPipe()
	_ = sess.Start(shellQuote([]string{"note", id, "-"}))
	_, _ = in.Write([]byte("partial text"))
	time.Sleep(300 * time.Millisecond) // the text reaches the server (no timing is asserted)
	c.Conn.Close()
	// Still serving, and the ledger is whole.
	if r := s.run(alice, "", "note", id, "still here"); r.code != 0 {
		t.Fatalf("after the cuts: %+v\n%s", r, s.stderr)
	}
	// Text cut off with its connection is not a note.
	for _, e := range s.timeline(alice, id) {
		if strings.Contains(string(e.Payload), "partial text") {
			t.Errorf("stdin cut with its connection was recorded as seq %d", e.Seq)
		}
	}
	if r := s.run(alice, "", "verify"); r.code != 0 {
		t.Errorf("verify after the cuts: %+v", r)
	}
	if strings.Contains(s.stderr.String(), "panic") {
		t.Errorf("the server panicked:\n%s", s.stderr)
	}
}

// SIGTERM: consoles are told, the server ends its sessions, and exits 0
// with every acknowledged entry on the timeline.
func TestSigtermDrains(t *testing.T) {
	alice, bob := newUser(t, "alice", ""), newUser(t, "bob", "")
	s := startServer(t, []user{alice, bob}, serverOptions{args: []string{"--drain-timeout", "5s"}})
	id := s.declare(alice, "payments down")
	a := s.console(alice, 200, 50)
	a.waitFor(id)
	acked := 0
	for i := 0; i < 20; i++ {
		if r := s.run(bob, "", "note", id, fmt.Sprintf("note %d", i)); r.code == 0 {
			acked++
		}
	}
	a.typeText("n")
	a.waitFor("note>")
	a.typeText("unsent words")
	a.waitFor("unsent words")
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a.waitFor("ic serve is stopping")
	select {
	case <-s.exited:
	case <-time.After(patience):
		t.Fatal("ic serve did not exit after SIGTERM")
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("ic serve exited %d after SIGTERM, want 0:\n%s", code, s.stderr)
	}
	// The ledger, read by a local ic: every acknowledged note is there.
	out, err := runLocal(s, "timeline", id)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for i := 0; i < acked; i++ {
		if !strings.Contains(out, fmt.Sprintf("note %d", i)) {
			t.Errorf("acknowledged note %d is not on the timeline", i)
		}
	}
	if out, err := runLocal(s, "verify"); err != nil {
		t.Errorf("verify after the drain: %v\n%s", err, out)
	}
	// The unsent words are alice's draft.
	drafts, _ := os.ReadDir(s.dir + "/ic.db.drafts/by-principal/alice")
	if len(drafts) == 0 {
		t.Error("alice's unsent note was not kept")
	}
}

// Revoking a key is editing the file: new sessions of that key are
// refused at once.
func TestRevokedKeyIsRefused(t *testing.T) {
	alice, bob := newUser(t, "alice", ""), newUser(t, "bob", "")
	s := startServer(t, []user{alice, bob}, serverOptions{})
	if r := s.run(bob, "", "version"); r.code != 0 {
		t.Fatal(r)
	}
	time.Sleep(10 * time.Millisecond) // a new modification time
	s.writeKeys([]user{alice})
	if c, err := s.dial(bob); err == nil {
		c.Close()
		t.Error("a revoked key got in")
	}
	if r := s.run(alice, "", "version"); r.code != 0 {
		t.Errorf("alice after bob's revocation: %+v", r)
	}
}

// A served approver approves a two-party step with the session as the
// proof; a responder may not; verify accepts the result.
func TestServedApproval(t *testing.T) {
	alice, bob, rita := newUser(t, "alice", ""), newUser(t, "bob", "approver"), newUser(t, "rita", "")
	carol := newUser(t, "carol", "approver")
	s := startServer(t, []user{alice, bob, rita, carol}, serverOptions{})
	r := s.run(alice, "", "routine", "start", "TPAF-001", "--json")
	if r.code != 0 {
		t.Fatalf("routine start: %+v", r)
	}
	var run struct {
		ShortID string `json:"short_id"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &run); err != nil || run.ShortID == "" {
		t.Fatalf("routine start printed %q: %v", r.stdout, err)
	}
	id := run.ShortID
	if r := s.run(rita, "", "approve", id, "TPAF-001", "11"); r.code != 1 || !strings.Contains(r.stderr, "only an approver may approve") {
		t.Errorf("a responder approving: %+v", r)
	}
	if r := s.run(bob, "", "approve", id, "TPAF-001", "11"); r.code != 1 || !strings.Contains(r.stderr, "bob holds no approver role") {
		t.Errorf("an approver without the book role: %+v", r)
	}
	for _, args := range [][]string{{"role", id, "approver", "bob"}, {"role", id, "compliance", "carol"}} {
		if r := s.run(alice, "", args...); r.code != 0 {
			t.Fatal(r)
		}
	}
	for n := 1; n <= 9; n++ {
		if r := s.run(alice, "", "step", id, "TPAF-001", fmt.Sprint(n)); r.code != 0 {
			t.Fatalf("step %d: %+v", n, r)
		}
	}
	// Step 10 needs the compliance officer's approval, step 11 the approver's.
	if r := s.run(carol, "", "approve", id, "TPAF-001", "10"); r.code != 0 {
		t.Fatalf("compliance approval: %+v", r)
	}
	if r := s.run(rita, "", "step", id, "TPAF-001", "10"); r.code != 0 {
		t.Fatalf("step 10: %+v", r)
	}
	r = s.run(bob, "", "approve", id, "TPAF-001", "11", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"proof": "session"`) {
		t.Fatalf("served approval: %+v", r)
	}
	// The step itself, by someone else than the approver and the requester.
	if r := s.run(rita, "", "step", id, "TPAF-001", "11"); r.code != 0 {
		t.Fatalf("step 11 after the approval: %+v", r)
	}
	if r := s.run(bob, "", "verify", "--full"); r.code != 0 {
		t.Errorf("verify with a session approval: %+v", r)
	}
	entries := s.timeline(alice, id)
	for _, e := range entries {
		if e.Type == "approval" && e.Identity != "session:"+map[string]string{"bob": bob.fingerprint(), "carol": carol.fingerprint()}[e.Actor] {
			t.Errorf("approval recorded as %s %s", e.Actor, e.Identity)
		}
	}
}
