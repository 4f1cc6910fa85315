package incident

import (
	"context"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/icconsole/ic/internal/signers"
	"github.com/icconsole/ic/internal/termsafe"
)

// What a served session (ic serve) may do is set by the role its key was
// granted in the server's authorized-keys file (ic-role=NAME). The rules
// live here, so a served console and a served command meet the same ones.
//
// How the books' roles map to these: a book role that a step's approval
// names (Helix TPAF's approver) is exercised only from an approver
// session, since only such a session may record an approval; every other
// book role (requester, commander, scribe, ops, ...) is held by a
// responder or an approver; an observer holds none, since it writes
// nothing. A book role is still assigned on the incident ('ic role'): the
// session role says what a key may do on this server, the book role what
// a person does on one incident, and an approval needs both.
const (
	RoleObserver  = "observer"  // reads only: every entry is refused
	RoleResponder = "responder" // writes every entry but approvals (the default)
	RoleApprover  = "approver"  // a responder who may also approve a two-party step
)

// SessionRoles lists the session roles, least allowed first.
func SessionRoles() []string { return []string{RoleObserver, RoleResponder, RoleApprover} }

// ValidSessionRole reports whether r is a session role.
func ValidSessionRole(r string) bool {
	return r == RoleObserver || r == RoleResponder || r == RoleApprover
}

// mayWrite refuses an entry of kind that the actor's session role does not
// allow. Outside a served session (Via not ViaSession) nothing is refused
// here: the local ledger's file permissions say who writes.
func (a Actor) mayWrite(kind string) error {
	if a.Via != ViaSession {
		return nil
	}
	switch a.SessionRole {
	case RoleApprover:
		return nil
	case RoleResponder:
		if kind == (Approval{}).Kind() {
			return refuse("%s's key %s has the session role responder: only an approver may approve a step (the server's authorized-keys file grants it with ic-role=approver)", a.Name, a.Key)
		}
		return nil
	case RoleObserver:
		return refuse("%s's key %s has the session role observer, which reads only: the %s was not added", a.Name, a.Key, kind)
	}
	return refuse("%s's key %s has no known session role (%q): nothing can be written; roles are %s", a.Name, a.Key, termsafe.EscapeLine(a.SessionRole), strings.Join(SessionRoles(), ", "))
}

// WithDraftOwner returns a service whose drafts (Drafts, DraftFor) are
// principal's own: several people on one served ledger each keep what they
// typed for an incident, and a dropped session finds it again.
func (s *Service) WithDraftOwner(principal string) *Service {
	c := *s
	c.draftOwner = principal
	return &c
}

// plainName is a principal that can name a folder as it is.
var plainName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$`)

// draftPaths are the file of the draft typed with no incident open and the
// folder of the per-incident drafts: beside the ledger, or in a folder of
// the draft owner's (named by the principal, or its hex when the name
// could not be a file name).
func (s *Service) draftPaths() (unattached, dir string) {
	base := s.db.Path()
	if s.draftOwner == "" {
		return base + ".draft", base + ".drafts"
	}
	name := s.draftOwner
	if !plainName.MatchString(name) {
		name = "x" + hex.EncodeToString([]byte(name))
	}
	dir = filepath.Join(base+".drafts", "by-principal", name)
	return filepath.Join(dir, "unattached"), dir
}

// ProofSession marks an approval proven by the served session that
// recorded it rather than by an SSH signature over its statement.
const ProofSession = "session"

// ApproveInSession records an approval of step n of procedure procID on
// incident id by the principal of a served session. A served session
// cannot sign with the client's private key (it never leaves the client),
// so the proof is the session itself: the server authenticated the key
// (key) whose fingerprint the approval and the entry's identity
// (session:SHA256:...) carry, and granted it the approver role. The
// approval is otherwise checked as a signed one (the role on the
// incident, not the requester, the checklist done first); verify accepts
// it only as recorded by that session key with the approver role.
func (s *Service) ApproveInSession(ctx context.Context, id, procID string, n int, role string, by Actor, key ssh.PublicKey, idemKey string) (Entry, error) {
	if by.Via != ViaSession || key == nil || by.Key != signers.Fingerprint(key) {
		return Entry{}, refuse("an approval without a signature is recorded only by the served session whose key it names")
	}
	if err := by.mayWrite((Approval{}).Kind()); err != nil {
		return Entry{}, err
	}
	p, step, role, err := s.approvalStep(procID, n, role)
	if err != nil {
		return Entry{}, err
	}
	h, err := s.db.Head(ctx, id)
	if err != nil {
		return Entry{}, err
	}
	a := Approval{Procedure: Ref(p), Step: n, Text: termsafe.EscapeLine(step.Text), Role: role, Signer: by.Name,
		Key:         strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))),
		Fingerprint: by.Key, Head: fmt.Sprintf("%d:%s", h.Seq, h.Hash), SignedAt: s.stamp(),
		Proof: ProofSession, SessionRole: by.SessionRole}
	return s.Append(ctx, id, by, idemKey, a)
}

// checkSessionProof checks an approval proven by its session: recorded by
// the session of the key it names, a session with the approver role; it
// returns the approver's principal.
func (a Approval) checkSessionProof(r *rules) (string, error) {
	if a.Signature != "" {
		return "", refuse("an approval proven by its session carries no signature")
	}
	if r.by.Via != ViaSession || r.by.SessionRole != RoleApprover || a.SessionRole != RoleApprover {
		return "", refuse("an approval without a signature is recorded only from a served session with the approver role")
	}
	if err := a.sessionKeyMatches(); err != nil {
		return "", refuse("approval of %s step %d: %v", a.Procedure.ID, a.Step, err)
	}
	if a.Fingerprint != r.by.Key || a.Signer != r.by.Name {
		return "", refuse("the approval names %s (key %s), but the session is %s's (key %s): an approval is recorded by its approver", a.Signer, a.Fingerprint, r.by.Name, r.by.Key)
	}
	return a.Signer, nil
}

// sessionKeyMatches checks that the public key a session approval carries
// has the fingerprint it names.
func (a Approval) sessionKeyMatches() error {
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(a.Key))
	if err != nil {
		return fmt.Errorf("the approval's key is not readable: %v", err)
	}
	if fp := signers.Fingerprint(k); fp != a.Fingerprint {
		return fmt.Errorf("the approval's key is %s, not the %s it names", fp, a.Fingerprint)
	}
	return nil
}
