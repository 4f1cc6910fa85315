package incident

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/icconsole/ic/internal/signers"
	"github.com/icconsole/ic/runbook"
	"github.com/icconsole/ic/store"
)

func newSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func allowedOf(t *testing.T, who map[string]ssh.Signer) *signers.Allowed {
	t.Helper()
	var text strings.Builder
	for name, s := range who {
		text.WriteString(name + " " + string(ssh.MarshalAuthorizedKey(s.PublicKey())))
	}
	a, err := signers.ParseAllowed("allowed_signers", []byte(text.String()))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// twoParty is a run of T-300 (approval on step 3, step 4 irreversible)
// requested by alice, with bob holding the approver role.
type twoParty struct {
	t     *testing.T
	s     *Service
	now   *time.Time
	run   Status
	ref   ProcedureRef
	alice ssh.Signer
	bob   ssh.Signer
}

func newTwoParty(t *testing.T) *twoParty {
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	tp := &twoParty{t: t, now: &now, alice: newSigner(t), bob: newSigner(t)}
	tp.s = openTest(t, func() time.Time { return *tp.now }).WithAllowedSigners(allowedOf(t, map[string]ssh.Signer{"alice": tp.alice, "bob": tp.bob}))
	run, p, err := tp.s.StartRoutine(context.Background(), "T-300", alice, "")
	if err != nil {
		t.Fatal(err)
	}
	tp.run, tp.ref = run, Ref(p)
	tp.must(alice, RoleAssignment{Role: "approver", Name: "bob"})
	return tp
}

func (tp *twoParty) append(by Actor, p Payload) error {
	*tp.now = tp.now.Add(time.Minute)
	_, err := tp.s.Append(context.Background(), tp.run.ID, by, "", p)
	return err
}

func (tp *twoParty) must(by Actor, p Payload) {
	tp.t.Helper()
	if err := tp.append(by, p); err != nil {
		tp.t.Fatal(err)
	}
}

func (tp *twoParty) refused(by Actor, p Payload, want string) {
	tp.t.Helper()
	err := tp.append(by, p)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), want) {
		tp.t.Errorf("%T by %s: %v, want a refusal containing %q", p, by.Name, err, want)
	}
}

func (tp *twoParty) approve(signer ssh.Signer) error {
	*tp.now = tp.now.Add(time.Minute)
	_, err := tp.s.Approve(context.Background(), tp.run.ID, "T-300", 3, "", signer, "")
	return err
}

func (tp *twoParty) step(n int) StepChecked { return StepChecked{Procedure: tp.ref, Step: n} }

func TestTwoPartyApproval(t *testing.T) {
	tp := newTwoParty(t)
	dave := Actor{Name: "dave"}
	tp.must(alice, tp.step(1))
	// The irreversible step, out of order: refused, nothing appended.
	tp.refused(dave, tp.step(4), "T-300 step 4 is irreversible: every earlier step must be checked or skipped with a reason first; still open: 2 3")
	// Approving before the checklist is done: refused.
	if err := tp.approve(tp.bob); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "step(s) 2 must be done first") {
		t.Errorf("approval before the checklist: %v", err)
	}
	tp.must(alice, tp.step(2))
	tp.refused(dave, tp.step(3), "T-300 step 3 needs 1 signed approval(s) by a approver")
	// Self-approval by the requester.
	if err := tp.approve(tp.alice); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "alice is the requester") {
		t.Errorf("self-approval: %v", err)
	}
	// A key not in the allowed signers.
	if err := tp.approve(newSigner(t)); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "is not in the allowed signers") {
		t.Errorf("unknown key: %v", err)
	}
	if err := tp.approve(tp.bob); err != nil {
		t.Fatal(err)
	}
	// The approver may not record the step they approved.
	tp.refused(Actor{Name: "bob"}, tp.step(3), "seq 5 is by bob, who is recording the step")
	tp.must(dave, tp.step(3))
	tp.must(dave, tp.step(4))
	tp.refused(dave, tp.step(4), "T-300 step 4 is irreversible and was already recorded (step_checked seq")
	rep, err := tp.s.Verify(context.Background(), "")
	if err != nil || !rep.OK() {
		t.Fatalf("verify after a full run: %+v %v", rep, err)
	}
}

func TestApprovalExpires(t *testing.T) {
	tp := newTwoParty(t)
	tp.must(alice, tp.step(1))
	tp.must(alice, tp.step(2))
	if err := tp.approve(tp.bob); err != nil {
		t.Fatal(err)
	}
	*tp.now = tp.now.Add(2 * time.Hour) // the window is 1h
	tp.refused(Actor{Name: "dave"}, tp.step(3), "expired (given 2h1m0s ago, valid 1h0m0s)")
}

// An approval of one text of the procedure does not carry over to an
// edited text: the books now hold v2, and the step cites v2.
func TestApprovalForAnotherVersion(t *testing.T) {
	tp := newTwoParty(t)
	tp.must(alice, tp.step(1))
	tp.must(alice, tp.step(2))
	if err := tp.approve(tp.bob); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/books")); err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(dir + "/ops/T-300.md")
	edited := strings.Replace(strings.Replace(string(text), "version: 1", "version: 2", 1), "Execute the change.", "Execute the change, now with a canary.", 1)
	if err := os.WriteFile(dir+"/ops/T-300.md", []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	cat, probs := runbook.Load(os.DirFS(dir), dir)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	v2, _ := cat.Procedure("T-300")
	s2 := New(tp.s.db, cat, func() time.Time { return *tp.now }).WithAllowedSigners(tp.s.allowed)
	// Steps are marked per text: the checklist of v2 is walked again.
	for n := 1; n <= 2; n++ {
		if _, err := s2.Append(context.Background(), tp.run.ID, alice, "", StepChecked{Procedure: Ref(v2), Step: n}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s2.Append(context.Background(), tp.run.ID, Actor{Name: "dave"}, "", StepChecked{Procedure: Ref(v2), Step: 3})
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "approves T-300 v1, not v2 in use") {
		t.Errorf("step of v2 with an approval of v1: %v", err)
	}
	// And a step citing the old text is refused as not the text in use.
	_, err = s2.Append(context.Background(), tp.run.ID, Actor{Name: "dave"}, "", tp.step(3))
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "the books hold v2") {
		t.Errorf("step of v1 after the books moved on: %v", err)
	}
}

func TestApprovalSignatureIsChecked(t *testing.T) {
	tp := newTwoParty(t)
	tp.must(alice, tp.step(1))
	tp.must(alice, tp.step(2))
	h, _ := tp.s.db.Head(context.Background(), tp.run.ID)
	a := Approval{Procedure: tp.ref, Step: 3, Role: "approver", Signer: "bob",
		Key:         strings.TrimSpace(string(ssh.MarshalAuthorizedKey(tp.bob.PublicKey()))),
		Fingerprint: signers.Fingerprint(tp.bob.PublicKey()), Head: fmt.Sprintf("%d:%s", h.Seq, h.Hash), SignedAt: *tp.now}
	sig, err := signers.Sign(a.Statement(tp.run.ID), tp.bob, SignatureNamespace)
	if err != nil {
		t.Fatal(err)
	}
	a.Signature = sig
	bob := Actor{Name: "bob", Via: ViaKey, Key: a.Fingerprint}
	forged := a
	forged.Step = 4 // the statement signed was for step 3
	tp.refused(bob, forged, "needs no approval")
	forged = a
	forged.Role = "approver"
	forged.SignedAt = a.SignedAt.Add(time.Second)
	tp.refused(bob, forged, "signature does not verify")
	// Someone else presenting bob's signature as their own.
	tp.refused(Actor{Name: "mallory"}, a, "belongs to bob in the allowed signers, not bob")
	tp.refused(Actor{Name: "bob"}, a, "an approval is recorded by its signer, identified by the key that signed it")
	tp.must(bob, a)
	entries, _ := tp.s.Entries(context.Background(), Range{Incident: tp.run.ID, Types: []string{"approval"}})
	if len(entries) != 1 || entries[0].Identity != "key:"+a.Fingerprint || ActorOf(entries[0].Event).Label() != "bob (key)" {
		t.Errorf("approval recorded with identity %q", entries[0].Identity)
	}
}

// A step that needed approval, written past the rules (by another tool, an
// older ic): the chain and the log are sound, and verify still names it.
func TestVerifyFindsAStepRecordedWithoutApproval(t *testing.T) {
	tp := newTwoParty(t)
	tp.must(alice, tp.step(1))
	tp.must(alice, tp.step(2))
	ctx := context.Background()
	h, _ := tp.s.db.Head(ctx, tp.run.ID)
	body := fmt.Sprintf(`{"procedure":{"id":"T-300","version":1,"hash":%q},"step":3}`, tp.ref.Hash)
	if _, _, err := tp.s.db.Append(ctx, tp.run.ID, h.Seq, store.Event{Time: *tp.now, Actor: "dave", Identity: "login", Type: "step_checked", Payload: []byte(body), Key: "raw-1"}); err != nil {
		t.Fatal(err)
	}
	rep, err := tp.s.VerifyWith(ctx, VerifyOptions{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || len(rep.Problems) != 1 || rep.Problems[0].Check != "approvals" || !strings.Contains(rep.Problems[0].Reason, "T-300 step 3 was recorded by dave with 0 valid approval(s) of 1 needed") {
		t.Errorf("verify: %+v", rep.Problems)
	}
}
