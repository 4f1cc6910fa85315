package tui

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/lightclienttest"
)

// Goldens of the screens issue 13 added, at 80x24 and 120x40 (go test
// ./tui -update rewrites them: read the diff first).

var goldenSizes = []struct{ w, h int }{{80, 24}, {120, 40}}

// fullHash is a whole sha256 in hex: an entry's hash covers the incident
// id, which differs between runs.
var fullHash = regexp.MustCompile(`[0-9a-f]{64}`)

// runGoldenMasked is runGolden with entry hashes masked too.
func runGoldenMasked(t *testing.T, opts Options, w, h int, steps func(tm *teatest.TestModel)) {
	t.Helper()
	tm := teatest.NewTestModel(t, New(opts), teatest.WithInitialTermSize(w, h))
	steps(tm)
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	view := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).View()
	view = fullHash.ReplaceAllString(incidentID.ReplaceAllString(view, "INC-XXXXXX"), strings.Repeat("x", 64))
	golden.RequireEqual(t, []byte(view))
}

// declareSEV1 walks the 3 a.m. path in a running console.
func declareSEV1(t *testing.T, tm *teatest.TestModel) {
	t.Helper()
	tm.Send(key1('D'))
	typeText(tm, "wrong proofs served")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	tm.Send(key1('y'))
	waitFor(t, tm, "SEV-1 suggested")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor(t, tm, "PAUSE")
	tm.Send(key1('x'))
	waitFor(t, tm, "pause skipped recorded")
}

// goldenAfterSEV1 runs a subtest prefix+"WxH" at each golden size: a
// console made with testOptions (then configure, when not nil) walks the
// 3 a.m. declaration and steps, and its last screen is compared with the
// subtest's golden.
func goldenAfterSEV1(t *testing.T, prefix string, configure func(t *testing.T, opts *Options), steps func(t *testing.T, tm *teatest.TestModel)) {
	t.Helper()
	for _, sz := range goldenSizes {
		t.Run(fmt.Sprintf("%s%dx%d", prefix, sz.w, sz.h), func(t *testing.T) {
			opts := testOptions(t)
			if configure != nil {
				configure(t, &opts)
			}
			runGoldenMasked(t, opts, sz.w, sz.h, func(tm *teatest.TestModel) {
				declareSEV1(t, tm)
				steps(t, tm)
			})
		})
	}
}

// TestFollowedRunbookGolden: O-020 with O-101 followed from it: O-101's
// steps on top, O-020's open steps below, the steps the record proves
// ticked.
func TestFollowedRunbookGolden(t *testing.T) {
	goldenAfterSEV1(t, "", nil, func(t *testing.T, tm *teatest.TestModel) {
		tm.Send(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}) // step 3
		waitFor(t, tm, "step 3 recorded")
		tm.Send(tea.KeyMsg{Type: tea.KeyTab})
		tm.Send(tea.KeyMsg{Type: tea.KeyTab}) // the library
		tm.Send(key1('j'))
		tm.Send(key1('L'))
		waitFor(t, tm, "runbook link recorded")
		for range 13 {
			tm.Send(key1('j')) // down to O-020's open steps
		}
		waitFor(t, tm, "O-020 still open")
	})
}

// TestClosePreflightGolden: T, the closing state, and what the policy
// still needs, each with its key.
func TestClosePreflightGolden(t *testing.T) {
	goldenAfterSEV1(t, "", nil, func(t *testing.T, tm *teatest.TestModel) {
		tm.Send(key1('C'))
		typeText(tm, "error rate at baseline for 30 minutes")
		tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
		waitFor(t, tm, "restart criteria recorded")
		tm.Send(key1('T'))
		tm.Send(tea.KeyMsg{Type: tea.KeyRight})
		tm.Send(tea.KeyMsg{Type: tea.KeyRight})
		tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
		waitFor(t, tm, "cannot close yet")
	})
}

// TestEntryDetailGolden: enter on a note's timeline row: the whole note,
// seq, actor, hashes, and the correction that points at it.
func TestEntryDetailGolden(t *testing.T) {
	goldenAfterSEV1(t, "", nil, func(t *testing.T, tm *teatest.TestModel) {
		tm.Send(key1('n'))
		typeText(tm, "relay 2 restarted at 03:04 after the queue passed 12k; the consumer on node 7 is still behind and the alert threshold should be lowered to 8k")
		tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
		waitFor(t, tm, "#3 note recorded")
		tm.Send(key1('K'))
		typeText(tm, "3")
		tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
		typeText(tm, "it was relay 3, at 03:05")
		tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
		waitFor(t, tm, "correction of #3 recorded")
		tm.Send(tea.KeyMsg{Type: tea.KeyTab}) // the timeline
		tm.Send(tea.KeyMsg{Type: tea.KeyUp})
		tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
		waitFor(t, tm, "Corrected 1 time")
	})
}

// TestSyncPanelGolden: the panel with no source, and with the mainnet
// light-client files checked on open.
func TestSyncPanelGolden(t *testing.T) {
	goldenAfterSEV1(t, "not-configured/", nil, func(t *testing.T, tm *teatest.TestModel) {
		tm.Send(key1('v'))
		waitFor(t, tm, "not configured")
	})
	configured := func(t *testing.T, opts *Options) {
		data := lightclienttest.Require(t)
		opts.Sync = []incident.SyncSource{{
			Bootstrap: filepath.Join(data, "helios-capella", "bootstrap.json"),
			Updates:   []string{filepath.Join(data, "helios-capella", "updates.json")},
			Genesis:   filepath.Join(data, "beacon_genesis.json"),
			CacheDir:  t.TempDir(),
		}}
	}
	goldenAfterSEV1(t, "configured/", configured, func(t *testing.T, tm *teatest.TestModel) {
		tm.Send(key1('v'))
		waitFor(t, tm, "sync check done")
		tm.Send(key1('e'))
		waitFor(t, tm, "a sync-committee check (6 period(s)) recorded")
	})
}
