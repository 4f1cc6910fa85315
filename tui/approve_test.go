package tui

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"golang.org/x/crypto/ssh"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/signers"
)

// sshKey writes a new ed25519 private key in OpenSSH format and returns its
// path and its allowed-signers line for name.
func sshKey(t *testing.T, name string) (path, allowed string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), name+"_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return path, name + " " + string(ssh.MarshalAuthorizedKey(sp))
}

// tpafRun starts a run of TPAF-001 requested by alice, with bob as its
// compliance officer, and returns its id.
func tpafRun(t *testing.T, svc *incident.Service) string {
	t.Helper()
	ctx := context.Background()
	alice := incident.Actor{Name: "alice"}
	run, _, err := svc.StartRoutine(ctx, "TPAF-001", alice, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Append(ctx, run.ID, alice, "", incident.RoleAssignment{Role: "compliance", Name: "bob"}); err != nil {
		t.Fatal(err)
	}
	return run.ID
}

// TestApproveAStepFromTheConsole: a walks the same approval as "ic
// approve": a refusal keeps the form with the application layer's reason,
// a signed approval lands on the timeline under the key's principal.
func TestApproveAStepFromTheConsole(t *testing.T) {
	bobKey, bobLine := sshKey(t, "bob")
	strangerKey, _ := sshKey(t, "mallory")
	allowed, err := signers.ParseAllowed("allowed_signers", []byte(bobLine))
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions(t)
	opts.Service = opts.Service.WithAllowedSigners(allowed)
	opts.Incident = tpafRun(t, opts.Service)
	m := startConsole(t, opts, 100, 30)
	m = drive(t, m, special(tea.KeyTab), special(tea.KeyTab))
	mustContain(t, m.View(), "[Steps 0/31]")
	// Step 1 needs no approval.
	m = drive(t, m, keys("a")...)
	mustContain(t, m.View(), "TPAF-001 step 1 needs no approval")
	// Step 10 (4.2.3, the compliance checklist) needs the compliance role's.
	m = drive(t, m, keys(strings.Repeat("j", 9)+"a")...)
	mustContain(t, m.View(), "Approve TPAF-001 step 10 as compliance")
	// A key that is not in the allowed signers: refused, the form stays.
	m = drive(t, m, keys(strangerKey+"\n")...)
	mustContain(t, m.View(), "not approved: refused: key SHA256:", "is not in the")
	if last := lastEntry(t, opts.Service); last.Type == "approval" {
		t.Fatalf("a refused approval was recorded: %s", last.Line())
	}
	// Bob's key: recorded, by bob, proven by the key.
	m = drive(t, m, special(tea.KeyCtrlU))
	m = drive(t, m, keys(bobKey+"\n")...)
	mustContain(t, m.View(), "approval of TPAF-001 step 10 recorded")
	last := lastEntry(t, opts.Service)
	if last.Type != "approval" || last.Actor != "bob" || !strings.HasPrefix(last.Identity, "key:SHA256:") {
		t.Errorf("recorded %s by %s (%s), want an approval by bob proven by his key", last.Type, last.Actor, last.Identity)
	}
}

// TestApproveInAServedConsole: in a console served over SSH the key the
// session logged in with is the proof; a asks yes or no, not for a file.
func TestApproveInAServedConsole(t *testing.T) {
	opts := testOptions(t)
	run := tpafRun(t, opts.Service)
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	opts.Incident, opts.SessionKey = run, key
	opts.Actor = incident.Actor{Name: "bob", Via: incident.ViaSession, Key: signers.Fingerprint(key), SessionRole: incident.RoleApprover}
	m := startConsole(t, opts, 100, 30)
	m = drive(t, m, special(tea.KeyTab), special(tea.KeyTab))
	m = drive(t, m, keys(strings.Repeat("j", 9)+"a")...)
	mustContain(t, m.View(), "Approve TPAF-001 step 10 as compliance (proven by this session's key)", "[y] yes")
	m = drive(t, m, keys("n")...)
	mustContain(t, m.View(), "not approved")
	if last := lastEntry(t, opts.Service); last.Type == "approval" {
		t.Fatal("n recorded an approval")
	}
	m = drive(t, m, keys("ay")...)
	mustContain(t, m.View(), "approval of TPAF-001 step 10 recorded")
	last := lastEntry(t, opts.Service)
	if last.Type != "approval" || last.Actor != "bob" || last.Identity != "session:"+signers.Fingerprint(key) {
		t.Errorf("recorded %s by %s (%s), want an approval by bob proven by the session", last.Type, last.Actor, last.Identity)
	}
}
