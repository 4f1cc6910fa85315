package signers

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

const ns = "ic-approval@icconsole"

// keygen makes a real key pair with ssh-keygen.
func keygen(t *testing.T, dir, name, typ string) (priv, pub string) {
	t.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ssh-keygen not found")
		}
		t.Skip("ssh-keygen not found")
	}
	priv = filepath.Join(dir, name)
	out, err := exec.Command("ssh-keygen", "-q", "-t", typ, "-N", "", "-C", name, "-f", priv).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	b, err := os.ReadFile(priv + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return priv, strings.TrimSpace(string(b))
}

func TestSignAndVerifyInteroperateWithSSHKeygen(t *testing.T) {
	dir := t.TempDir()
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		t.Run(typ, func(t *testing.T) {
			priv, pub := keygen(t, dir, "alice-"+typ, typ)
			allowed := filepath.Join(dir, "allowed-"+typ)
			if err := os.WriteFile(allowed, []byte("# who may approve\nalice@example.org namespaces=\""+ns+"\" "+pub+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			msg := []byte("ic approval v1\nincident INC-7f3a9c\nstep 18\n")
			signer, err := LoadSigner(context.Background(), priv)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := Sign(msg, signer, ns)
			if err != nil {
				t.Fatal(err)
			}
			// ssh-keygen accepts what we sign ...
			sigFile, msgFile := filepath.Join(dir, "sig-"+typ), filepath.Join(dir, "msg")
			os.WriteFile(sigFile, []byte(sig), 0o600)
			os.WriteFile(msgFile, msg, 0o600)
			cmd := exec.Command("ssh-keygen", "-Y", "verify", "-f", allowed, "-I", "alice@example.org", "-n", ns, "-s", sigFile)
			cmd.Stdin = strings.NewReader(string(msg))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("ssh-keygen -Y verify refused our signature: %v\n%s", err, out)
			}
			// ... and we accept what ssh-keygen signs.
			if out, err := exec.Command("ssh-keygen", "-Y", "sign", "-q", "-f", priv, "-n", ns, msgFile).CombinedOutput(); err != nil {
				t.Fatalf("ssh-keygen -Y sign: %v\n%s", err, out)
			}
			theirs, _ := os.ReadFile(msgFile + ".sig")
			os.Remove(msgFile + ".sig")
			key, err := Verify(msg, string(theirs), ns)
			if err != nil {
				t.Fatalf("ssh-keygen's signature refused: %v", err)
			}
			a, err := ReadAllowed(allowed)
			if err != nil {
				t.Fatal(err)
			}
			if who, ok := a.Principal(key, ns, time.Now()); !ok || who != "alice@example.org" {
				t.Errorf("principal = %q, %v", who, ok)
			}
			if _, ok := a.Principal(key, "other-namespace", time.Now()); ok {
				t.Error("a key limited to one namespace counted in another")
			}
			// One byte changed in the statement, or another namespace: refused.
			if _, err := Verify([]byte("ic approval v1\nincident INC-7f3a9d\nstep 18\n"), sig, ns); err == nil {
				t.Error("a signature verified over a changed statement")
			}
			if _, err := Verify(msg, sig, "git"); err == nil {
				t.Error("a signature verified in another namespace")
			}
		})
	}
}

func TestAllowedSignersFile(t *testing.T) {
	dir := t.TempDir()
	_, alice := keygen(t, dir, "alice", "ed25519")
	_, bob := keygen(t, dir, "bob", "ed25519")
	text := "alice@example.org,alice " + alice + "\n" +
		"\n# bob only until the end of 2026\n" +
		`bob@example.org valid-after="20260101",valid-before="20261231Z" ` + bob + "\n"
	a, err := ParseAllowed("allowed", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Entries) != 2 || a.Entries[1].Line != 4 {
		t.Fatalf("entries %+v", a.Entries)
	}
	bobKey := a.Entries[1].Key
	if _, ok := a.Principal(bobKey, ns, time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)); ok {
		t.Error("bob's key counted after valid-before")
	}
	if who, ok := a.Principal(bobKey, ns, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)); !ok || who != "bob@example.org" {
		t.Errorf("bob in 2026: %q %v", who, ok)
	}
	for _, bad := range []struct{ text, want string }{
		{"alice\n", "allowed:1: no key after the principals"},
		{"alice ssh-ed25519 AAAAnot-base64\n", "allowed:1: key:"},
		{"alice bogus=1 " + alice + "\n", `allowed:1: unknown option "bogus"`},
		{"# fine\nalice cert-authority " + alice + "\n", "allowed:2: cert-authority lines are not supported"},
	} {
		if _, err := ParseAllowed("allowed", []byte(bad.text)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v, want %q", bad.text, err, bad.want)
		}
	}
}

func TestPassphraseProtectedKeyFileSaysUseTheAgent(t *testing.T) {
	dir := t.TempDir()
	priv := filepath.Join(dir, "locked")
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not found")
	}
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f", priv).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := LoadSigner(context.Background(), priv); err == nil || !strings.Contains(err.Error(), "ssh-add") {
		t.Errorf("locked key: %v", err)
	}
	t.Setenv("SSH_AUTH_SOCK", "")
	if _, err := LoadSigner(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "--key-file") {
		t.Errorf("no key at all: %v", err)
	}
}

// The key can come from a running ssh-agent, as operators keep it.
func TestSignWithTheAgent(t *testing.T) {
	dir := t.TempDir()
	priv, pub := keygen(t, dir, "carol", "ed25519")
	if _, err := exec.LookPath("ssh-agent"); err != nil {
		t.Skip("ssh-agent not found")
	}
	sock := filepath.Join(dir, "agent.sock")
	agentCmd := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agentCmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agentCmd.Process.Kill(); agentCmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ssh-agent did not create its socket")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Setenv("SSH_AUTH_SOCK", sock)
	if out, err := exec.Command("ssh-add", priv).CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v\n%s", err, out)
	}
	signer, err := LoadSigner(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("statement")
	sig, err := Sign(msg, signer, ns)
	if err != nil {
		t.Fatal(err)
	}
	key, err := Verify(msg, sig, ns)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))); !strings.HasPrefix(pub, got) {
		t.Errorf("signed by %s, want carol's key %s", got, pub)
	}
}

// An allowed-signers file is outside input: whatever it holds, parsing
// ends with entries or an error naming a line, never a panic.
func FuzzParseAllowed(f *testing.F) {
	f.Add([]byte("alice ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEp7e0Z2k4ZJ1l+6pWq4sFf7Rz4m7M5yVZ0Q0Xq4c1Nq alice\n"))
	f.Add([]byte(`bob@example.org valid-after="20260101",valid-before="20261231Z",namespaces="ic-approval@icconsole" ssh-ed25519 AAAA`))
	f.Add([]byte("# comment\n\n\"quoted principal\" cert-authority ssh-rsa AAAA\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAllowed("allowed", data)
		if err == nil {
			for _, e := range a.Entries {
				if len(e.Principals) == 0 || e.Key == nil || e.Line < 1 {
					t.Fatalf("entry %+v from %q", e, data)
				}
			}
		} else if !strings.HasPrefix(err.Error(), "allowed") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}
