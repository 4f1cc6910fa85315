package incident

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/icconsole/ic/internal/signers"
)

func TestObserverWritesNothing(t *testing.T) {
	s := openTest(t, nil)
	st := declare(t, s, "SEV-2")
	ctx := context.Background()
	fp := func() string { return signers.Fingerprint(newSigner(t).PublicKey()) }
	obs := Actor{Name: "olga", Via: ViaSession, Key: fp(), SessionRole: RoleObserver}
	before := st.Events
	for _, try := range []func() error{
		func() error { _, err := s.Append(ctx, st.ID, obs, "", Note{Text: "hello"}); return err },
		func() error {
			_, _, err := s.Declare(ctx, Declaration{Book: "ops", Title: "t", Severity: "SEV-2", By: obs})
			return err
		},
		func() error { _, err := s.AttachEvidence(ctx, st.ID, obs, "", "log.txt", "", []byte("x")); return err },
	} {
		err := try()
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "session role observer, which reads only") {
			t.Errorf("observer write: %v, want a refusal naming the observer role", err)
		}
	}
	after, err := s.Status(ctx, st.ID)
	if err != nil || after.Events != before {
		t.Errorf("after refused writes: %d entries, want %d (%v)", after.Events, before, err)
	}
	incs, _ := s.List(ctx, ListFilter{})
	if len(incs) != 1 {
		t.Errorf("an observer's declaration was recorded: %d incidents", len(incs))
	}
	// A responder writes, recorded with its session identity.
	resp := Actor{Name: "rita", Via: ViaSession, Key: fp(), SessionRole: RoleResponder}
	e, err := s.Append(ctx, st.ID, resp, "", Note{Text: "from a session"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Actor != "rita" || e.Identity != "session:"+resp.Key || e.Who() != "rita (session)" {
		t.Errorf("session entry recorded as %q %q", e.Actor, e.Identity)
	}
	// A session without a known role writes nothing.
	_, err = s.Append(ctx, st.ID, Actor{Name: "x", Via: ViaSession, Key: fp()}, "", Note{Text: "n"})
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "no known session role") {
		t.Errorf("session without a role: %v", err)
	}
}

func TestSessionApproval(t *testing.T) {
	tp := newTwoParty(t)
	ctx := context.Background()
	bobKey := newSigner(t).PublicKey()
	bob := Actor{Name: "bob", Via: ViaSession, Key: signers.Fingerprint(bobKey), SessionRole: RoleApprover}
	bobResponder := bob
	bobResponder.SessionRole = RoleResponder
	tp.must(alice, tp.step(1))
	tp.must(alice, tp.step(2))
	approve := func(by Actor) error {
		*tp.now = tp.now.Add(time.Minute)
		_, err := tp.s.ApproveInSession(ctx, tp.run.ID, "T-300", 3, "", by, bobKey, "")
		return err
	}
	if err := approve(bobResponder); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "only an approver may approve") {
		t.Errorf("responder approving: %v", err)
	}
	// The requester, even as an approver session, may not approve.
	aliceKey := newSigner(t).PublicKey()
	aliceSession := Actor{Name: "alice", Via: ViaSession, Key: signers.Fingerprint(aliceKey), SessionRole: RoleApprover}
	*tp.now = tp.now.Add(time.Minute)
	if _, err := tp.s.ApproveInSession(ctx, tp.run.ID, "T-300", 3, "", aliceSession, aliceKey, ""); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "alice is the requester") {
		t.Errorf("requester approving in a session: %v", err)
	}
	// A session presenting another key than its own.
	if _, err := tp.s.ApproveInSession(ctx, tp.run.ID, "T-300", 3, "", bob, aliceKey, ""); !errors.Is(err, ErrRefused) {
		t.Errorf("approval naming another key: %v", err)
	}
	if err := approve(bob); err != nil {
		t.Fatal(err)
	}
	// A forged session approval appended by someone else's session.
	entries, _ := tp.s.Entries(ctx, Range{Incident: tp.run.ID, Types: []string{"approval"}})
	if len(entries) != 1 || entries[0].Identity != "session:"+bob.Key || entries[0].Who() != "bob (session)" {
		t.Fatalf("session approval recorded as %+v", entries)
	}
	a := entries[0].Payload.(Approval)
	if a.Proof != ProofSession || a.SessionRole != RoleApprover || a.Signature != "" || !strings.Contains(a.Line(), "session key") {
		t.Errorf("session approval payload %+v", a)
	}
	mallory := Actor{Name: "mallory", Via: ViaSession, Key: signers.Fingerprint(newSigner(t).PublicKey()), SessionRole: RoleApprover}
	tp.refused(mallory, a, "an approval is recorded by its approver")
	tp.refused(Actor{Name: "bob"}, a, "recorded only from a served session with the approver role")
	tp.must(Actor{Name: "dave"}, tp.step(3))
	rep, err := tp.s.Verify(ctx, "")
	if err != nil || !rep.OK() {
		t.Fatalf("verify with a session approval: %+v %v", rep.Problems, err)
	}
}

// Two writers checking the same step at once: one wins, the other is told
// who did it, and the step is on the timeline once.
func TestConcurrentStepCheckOneWins(t *testing.T) {
	s := openTest(t, nil)
	ctx := context.Background()
	run, p, err := s.StartRoutine(ctx, "T-300", alice, "")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"ann", "ben", "cat", "dan"}
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = s.Append(ctx, run.ID, Actor{Name: name}, "", StepChecked{Procedure: Ref(p), Step: 1})
		}()
	}
	close(start)
	wg.Wait()
	entries, err := s.Entries(ctx, Range{Incident: run.ID, Types: []string{"step_checked"}})
	if err != nil || len(entries) != 1 {
		t.Fatalf("step 1 recorded %d times (%v)", len(entries), err)
	}
	winner := entries[0].Actor
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
			if names[i] != winner {
				t.Errorf("%s was told it won, but %s is on the timeline", names[i], winner)
			}
		case !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "T-300 step 1 was already checked by "+winner+" (seq "):
			t.Errorf("%s: %v, want a refusal naming %s", names[i], err, winner)
		}
	}
	if wins != 1 {
		t.Errorf("%d writers won", wins)
	}
}

func TestDraftsPerPrincipal(t *testing.T) {
	s := openTest(t, nil)
	st := declare(t, s, "SEV-2")
	ann, ben := s.WithDraftOwner("ann"), s.WithDraftOwner("../ben")
	for _, c := range []struct {
		svc  *Service
		text string
	}{{s, "local"}, {ann, "ann's"}, {ben, "ben's"}} {
		if err := c.svc.DraftFor(st.ID).Save(c.text); err != nil {
			t.Fatal(err)
		}
		if err := c.svc.Drafts().Save(c.text + " unattached"); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		svc  *Service
		text string
	}{{s, "local"}, {ann, "ann's"}, {ben, "ben's"}, {s.WithDraftOwner("ann"), "ann's"}} {
		got, err := c.svc.DraftFor(st.ID).Read()
		if err != nil || got != c.text {
			t.Errorf("draft %s: %q %v, want %q", c.svc.DraftFor(st.ID).Path(), got, err, c.text)
		}
		got, _ = c.svc.Drafts().Read()
		if got != c.text+" unattached" {
			t.Errorf("unattached draft %s: %q", c.svc.Drafts().Path(), got)
		}
	}
	if p := ben.DraftFor(st.ID).Path(); !strings.HasPrefix(p, s.LedgerPath()+".drafts/by-principal/x") {
		t.Errorf("a principal that is no file name got draft path %s", p)
	}
}
