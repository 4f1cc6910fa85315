package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/icconsole/ic/internal/checkpoint"
)

// testSigner makes a fresh checkpoint key.
func testSigner(t testing.TB) *checkpoint.Signer {
	t.Helper()
	skey, _, err := checkpoint.GenerateKey("ic-test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := checkpoint.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sha256sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// scriptPath is a script under scripts/, which needs python3 and openssl;
// the test skips without them (and fails under CI=true).
func scriptPath(t *testing.T, name string) string {
	t.Helper()
	for _, tool := range []string{"python3", "openssl"} {
		if _, err := osexec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is needed to run scripts/%s", tool, name)
			}
			t.Skipf("%s not found: scripts/%s not run", tool, name)
		}
	}
	p, err := filepath.Abs(filepath.Join("..", "scripts", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runScript runs a script and checks its exit code and that its output
// holds want.
func runScript(t *testing.T, code int, want string, args ...string) string {
	t.Helper()
	cmd := osexec.Command("python3", args...)
	out, err := cmd.CombinedOutput()
	got := 0
	if ee, ok := err.(*osexec.ExitError); ok {
		got = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if got != code || !strings.Contains(string(out), want) {
		t.Errorf("%s: exit %d, want %d with %q; output:\n%s", filepath.Base(args[0]), got, code, want, out)
	}
	return string(out)
}

// exportAndCheck exports an incident and checks it with
// scripts/verify-export and the verifier key.
func exportAndCheck(t *testing.T, db *DB, id, vkey, want string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := db.ExportJSONL(context.Background(), &buf, Range{Incident: id}); err != nil {
		t.Fatal(err)
	}
	script := scriptPath(t, "verify-export")
	path := filepath.Join(t.TempDir(), "export.jsonl")
	os.WriteFile(path, buf.Bytes(), 0o600)
	runScript(t, 0, want, script, "--key", vkey, path)
	return buf.Bytes()
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// fill writes incidents of events notes each, in batches, so a backup of
// the file takes long enough to be killed part-way.
func fill(t *testing.T, l *testLedger, incidents, events int) {
	t.Helper()
	ctx := context.Background()
	payload := []byte(`{"text":"checked relay 2: queue drained, error rate back to baseline, nothing else to report"}`)
	for range incidents {
		inc := declare(t, l, "SEV-2")
		batch := make([]Event, 0, events-1)
		for range events - 1 {
			batch = append(batch, Event{Time: time.Now().UTC(), Actor: "gen", Type: "note", Payload: payload, Key: NewKey()})
		}
		if _, err := l.db.AppendBatch(ctx, inc.ID, batch); err != nil {
			t.Fatal(err)
		}
	}
}
