package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// icCommand runs this test binary as ic: testscript.Main (TestMain) runs
// the "ic" command when the program is called by that name.
func icCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ic")
	if err := os.Symlink(os.Args[0], bin); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	work := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+work, "XDG_STATE_HOME="+work+"/state", "XDG_CONFIG_HOME="+work+"/config",
		"IC_DB="+work+"/ic.db", "IC_ACTOR=tester", "TERM=xterm-256color", "NO_COLOR=1")
	// The program plays an operator at a terminal, not the CI runner that
	// runs the test: with CI set, termenv takes no output for a terminal.
	withoutEnv(cmd, "CI")
	return cmd
}

// ptyOutput collects what a program writes to its terminal; copied is
// closed when the terminal has nothing more to read.
type ptyOutput struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	copied chan struct{}
}

// startOnPTY starts cmd on an 80x24 pseudo-terminal, closed when the test
// ends, and collects what it writes there.
func startOnPTY(t *testing.T, cmd *exec.Cmd) (*os.File, *ptyOutput) {
	t.Helper()
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	out := &ptyOutput{copied: make(chan struct{})}
	go func() { _, _ = io.Copy(out, tty); close(out.copied) }()
	return tty, out
}

func (o *ptyOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *ptyOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor polls until the output holds want; the deadline only guards
// against a hang (a slow machine just takes longer).
func (o *ptyOutput) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !bytes.Contains([]byte(o.String()), []byte(want)) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q on the terminal; got %q", want, o.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A console ended by a signal exits 128 + the signal, never 0, and gives
// the terminal back (the alternate screen is left).
func TestConsoleKilledBySignalExitsNonZero(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGTERM, 143}, {syscall.SIGHUP, 129}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			cmd := icCommand(t)
			_, out := startOnPTY(t, cmd)
			out.waitFor(t, "Library") // the first frame is drawn
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tc.code {
				t.Fatalf("console sent %s: %v, want exit %d; terminal:\n%q", tc.sig, err, tc.code, out.String())
			}
			out.waitFor(t, "\x1b[?1049l") // alternate screen left
		})
	}
}
