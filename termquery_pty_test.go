package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// The two sequences termenv writes to ask a terminal its background colour
// and the cursor position. A terminal that does not answer them made every
// ic command wait five seconds.
const (
	oscBackgroundQuery = "\x1b]11;?"
	cursorQuery        = "\x1b[6n"
)

// runSilentPTY runs cmd on a pseudo-terminal that never answers anything
// and returns what it wrote once it exits. The deadline only guards
// against a hang.
func runSilentPTY(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	_, out := startOnPTY(t, cmd)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%v: %v; terminal:\n%q", cmd.Args, err, out.String())
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("%v hung; terminal:\n%q", cmd.Args, out.String())
	}
	select {
	case <-out.copied:
	case <-time.After(5 * time.Second):
	}
	return out.String()
}

// withoutEnv drops the variables named from cmd's environment.
func withoutEnv(cmd *exec.Cmd, names ...string) {
	cmd.Env = slices.DeleteFunc(cmd.Env, func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(names, name)
	})
}

// Plain commands never ask the terminal anything, coloured or not: no
// query is written, so none can stall on a terminal that stays silent
// (bubbletea's start-up query is defused by internal/quietterm).
func TestPlainCommandsNeverQueryTheTerminal(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"runbook", "list"}, {"runbook", "show", "O-020"}} {
		for _, colour := range []bool{false, true} {
			name := strings.Join(args, " ")
			if colour {
				name += " in colour"
			}
			t.Run(name, func(t *testing.T) {
				cmd := icCommand(t, args...)
				if colour {
					withoutEnv(cmd, "NO_COLOR")
				}
				out := runSilentPTY(t, cmd)
				if strings.Contains(out, oscBackgroundQuery) || strings.Contains(out, cursorQuery) {
					t.Errorf("ic %s queried the terminal:\n%q", strings.Join(args, " "), out)
				}
				if !strings.Contains(out, map[string]string{"version": "ic ", "runbook": "O-020"}[args[0]]) {
					t.Errorf("ic %s printed nothing recognisable:\n%q", strings.Join(args, " "), out)
				}
			})
		}
	}
}

// The console asks the background colour at most once, before it starts,
// and not at all when IC_THEME (or the configuration) or NO_COLOR decides
// it; a terminal that never answers still gets its first frame.
func TestConsoleAsksTheBackgroundOnlyWhenUndecided(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     []string
		queries int
	}{
		{"NO_COLOR", []string{"NO_COLOR=1"}, 0},
		{"IC_THEME", []string{"IC_THEME=light"}, 0},
		{"undecided", nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := icCommand(t)
			withoutEnv(cmd, "NO_COLOR", "IC_THEME", "COLORFGBG")
			cmd.Env = append(cmd.Env, tc.env...)
			tty, out := startOnPTY(t, cmd)
			out.waitFor(t, "First Response Discipline") // the first frame is drawn
			if _, err := tty.Write([]byte("q")); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("console: %v", err)
			}
			if n := strings.Count(out.String(), oscBackgroundQuery); n != tc.queries {
				t.Errorf("the console asked the background %d times, want %d:\n%q", n, tc.queries, out.String())
			}
		})
	}
}
