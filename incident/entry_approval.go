package incident

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/icconsole/ic/internal/signers"
	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/runbook"
)

// SignatureNamespace is the SSHSIG namespace of ic's approvals: a signature
// made for git or anything else is not an approval.
const SignatureNamespace = "ic-approval@icconsole"

// Approval is a signed approval of one step of a procedure (Helix TPAF's
// two-party rule): the signer, a holder of the role the step's policy
// names and someone other than the requester and the executor, signs the
// statement below with their SSH key. The statement covers the incident,
// the procedure's id, version and content hash, the step and its text, the
// signer's role and principal, the timeline's head when signing, and the
// time; anyone can check it offline with the public key kept here.
type Approval struct {
	Procedure   ProcedureRef `json:"procedure"`
	Step        int          `json:"step"`
	Text        string       `json:"text"`
	Role        string       `json:"role"`
	Signer      string       `json:"signer"`
	Key         string       `json:"key"` // the signer's public key, authorized_keys format
	Fingerprint string       `json:"fingerprint"`
	Head        string       `json:"head"` // the timeline's head when signing: "seq:hash"
	SignedAt    time.Time    `json:"signed_at"`
	Signature   string       `json:"signature"` // armored SSHSIG over Statement
	// Proof is ProofSession for an approval proven by the served session
	// that recorded it (session.go), with the session role it had; empty
	// for a signed one.
	Proof       string `json:"proof,omitempty"`
	SessionRole string `json:"session_role,omitempty"`
}

func init() { register[Approval]() }

func (Approval) Kind() string { return "approval" }

func (a Approval) Line() string {
	if a.Proof == ProofSession {
		return fmt.Sprintf("approved %s step %d as %s by %s (session key %s)", a.Procedure.ID, a.Step, a.Role, a.Signer, a.Fingerprint)
	}
	return fmt.Sprintf("approved %s step %d as %s by %s (key %s)", a.Procedure.ID, a.Step, a.Role, a.Signer, a.Fingerprint)
}

// Statement is what the signer signs, for incident (the full id).
func (a Approval) Statement(incident string) []byte {
	var b strings.Builder
	b.WriteString("ic approval v1\n")
	b.WriteString("incident " + incident + "\n")
	b.WriteString(fmt.Sprintf("procedure %s v%d sha256:%s\n", a.Procedure.ID, a.Procedure.Version, a.Procedure.Hash))
	b.WriteString("step " + strconv.Itoa(a.Step) + "\n")
	b.WriteString("text " + termsafe.EscapeLine(a.Text) + "\n")
	b.WriteString("role " + a.Role + "\n")
	b.WriteString("signer " + a.Signer + "\n")
	b.WriteString("head " + a.Head + "\n")
	b.WriteString("signed-at " + a.SignedAt.UTC().Format(time.RFC3339) + "\n")
	return []byte(b.String())
}

// verifySignature checks the signature over the statement and that it was
// made by the key the approval names; it returns that key.
func (a Approval) verifySignature(incident string) (ssh.PublicKey, error) {
	key, err := signers.Verify(a.Statement(incident), a.Signature, SignatureNamespace)
	if err != nil {
		return nil, err
	}
	named, _, _, _, err := ssh.ParseAuthorizedKey([]byte(a.Key))
	if err != nil || string(named.Marshal()) != string(key.Marshal()) {
		return nil, fmt.Errorf("the signature was made by %s, not the key the approval names", signers.Fingerprint(key))
	}
	return key, nil
}

func (a Approval) check(r *rules) (Payload, error) {
	p, step, err := r.procedureStep(a.Procedure, a.Step)
	if err != nil {
		return nil, err
	}
	need := step.Approval
	if need == nil {
		return nil, refuse("%s step %d needs no approval", p.ID, a.Step)
	}
	if a.Role != need.Role {
		return nil, refuse("%s step %d is approved by a %s, not a %s", p.ID, a.Step, need.Role, a.Role)
	}
	var principal string
	if a.Proof == ProofSession {
		principal, err = a.checkSessionProof(r)
	} else {
		principal, err = a.checkSignatureProof(r)
	}
	if err != nil {
		return nil, err
	}
	if d := r.now.Sub(a.SignedAt); d < -5*time.Minute || d > need.Window {
		return nil, refuse("the approval was signed at %s; it must be recorded within %s of signing", a.SignedAt.Format(time.RFC3339), need.Window)
	}
	if err := r.svc.checkHead(r.ctx, r.st, a.Head); err != nil {
		return nil, err
	}
	requester, err := r.svc.requester(r)
	if err != nil {
		return nil, err
	}
	if principal == requester {
		return nil, refuse("%s is the requester of %s and cannot approve it: two different people are needed", principal, r.st.Short())
	}
	holds, err := r.svc.holdsRole(r, need.Role, principal)
	if err != nil {
		return nil, err
	}
	if !holds {
		return nil, refuse("%s holds no %s role on %s: assign it first ('ic role %s %s %s')", principal, need.Role, r.st.Short(), r.st.Short(), need.Role, principal)
	}
	marks, err := r.svc.stepMarks(r, a.Procedure)
	if err != nil {
		return nil, err
	}
	var open []string
	for _, req := range step.Requires {
		if marks[req].kind != (StepChecked{}).Kind() {
			open = append(open, strconv.Itoa(req))
		}
	}
	if len(open) > 0 {
		return nil, refuse("%s step %d cannot be approved yet: step(s) %s must be done first (the checklist is complete before the approver signs)", p.ID, a.Step, strings.Join(open, " "))
	}
	a.Text = termsafe.EscapeLine(a.Text)
	return a, nil
}

// checkSignatureProof checks a signed approval: the signature over the
// statement, by a key the allowed signers give to the signer, recorded by
// that signer identified by that key; it returns the signer's principal.
func (a Approval) checkSignatureProof(r *rules) (string, error) {
	if a.Proof != "" {
		return "", refuse("approval proof %q is not one ic knows (a signature, or %q)", termsafe.EscapeLine(a.Proof), ProofSession)
	}
	if r.svc.allowed == nil {
		return "", refuse("no allowed-signers file is configured, so no approval can be checked (--allowed-signers FILE, IC_ALLOWED_SIGNERS or the configuration)")
	}
	key, err := a.verifySignature(r.st.ID)
	if err != nil {
		return "", refuse("approval of %s step %d: %v", a.Procedure.ID, a.Step, err)
	}
	principal, ok := r.svc.allowed.Principal(key, SignatureNamespace, r.now)
	if !ok {
		return "", refuse("key %s is not in the allowed signers (%s): its approval does not count", signers.Fingerprint(key), r.svc.allowed.Path)
	}
	if principal != a.Signer || principal != r.by.Name {
		return "", refuse("key %s belongs to %s in the allowed signers, not %s", signers.Fingerprint(key), principal, a.Signer)
	}
	if r.by.Via != ViaKey || r.by.Key != signers.Fingerprint(key) {
		return "", refuse("an approval is recorded by its signer, identified by the key that signed it (%s)", signers.Fingerprint(key))
	}
	return principal, nil
}

// checkHead checks that a head cited when signing ("seq:hash") is an entry
// of the incident: a signature cannot be made for a timeline that was not.
func (s *Service) checkHead(ctx context.Context, st Status, head string) error {
	seqText, hash, ok := strings.Cut(head, ":")
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if !ok || err != nil || seq < 1 || seq > st.Events {
		return refuse("the approval cites head %q, not an entry of %s", head, st.Short())
	}
	e, err := s.db.Event(ctx, st.ID, seq)
	if err != nil {
		return err
	}
	if e.Hash.String() != hash {
		return refuse("the approval cites head %q, but %s seq %d has hash %s", head, st.Short(), seq, e.Hash.Short())
	}
	return nil
}

// Approve signs an approval of step n of procedure procID on incident id
// with signer, as role, and records it. The signer's principal is the one
// the allowed-signers file gives the key; it is the entry's actor.
func (s *Service) Approve(ctx context.Context, id, procID string, n int, role string, signer ssh.Signer, idemKey string) (Entry, error) {
	if s.allowed == nil {
		return Entry{}, refuse("no allowed-signers file is configured, so no approval can be checked (--allowed-signers FILE, IC_ALLOWED_SIGNERS or the configuration)")
	}
	p, step, role, err := s.approvalStep(procID, n, role)
	if err != nil {
		return Entry{}, err
	}
	now := s.stamp()
	principal, ok := s.allowed.Principal(signer.PublicKey(), SignatureNamespace, now)
	if !ok {
		return Entry{}, refuse("key %s is not in the allowed signers (%s): its approval does not count", signers.Fingerprint(signer.PublicKey()), s.allowed.Path)
	}
	h, err := s.db.Head(ctx, id)
	if err != nil {
		return Entry{}, err
	}
	a := Approval{Procedure: Ref(p), Step: n, Text: step.Text, Role: role, Signer: principal,
		Key:         strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))),
		Fingerprint: signers.Fingerprint(signer.PublicKey()),
		Head:        fmt.Sprintf("%d:%s", h.Seq, h.Hash), SignedAt: now}
	a.Text = termsafe.EscapeLine(a.Text)
	if a.Signature, err = signers.Sign(a.Statement(id), signer, SignatureNamespace); err != nil {
		return Entry{}, err
	}
	return s.Append(ctx, id, Actor{Name: principal, Via: ViaKey, Key: a.Fingerprint}, idemKey, a)
}

// approvalStep is step n of procedure procID, which must need approval,
// and the role to approve it as (the step's own when role is empty).
func (s *Service) approvalStep(procID string, n int, role string) (*runbook.Procedure, runbook.Step, string, error) {
	p, err := s.Procedure(procID)
	if err != nil {
		return nil, runbook.Step{}, "", err
	}
	if n < 1 || n > len(p.Steps) {
		return nil, runbook.Step{}, "", refuse("%s has steps 1..%d; %d is not one of them", p.ID, len(p.Steps), n)
	}
	step := p.Steps[n-1]
	if step.Approval == nil {
		return nil, runbook.Step{}, "", refuse("%s step %d needs no approval", p.ID, n)
	}
	if role == "" {
		role = step.Approval.Role
	}
	return p, step, role, nil
}
