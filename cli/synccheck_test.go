package cli

import (
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icconsole/ic/internal/beacontest"
	"github.com/icconsole/ic/verifier"
)

// TestSynccheckOnlineFailover runs `ic synccheck --beacon` against three
// local servers: one denies with a plain-text 403, one answers 502, the
// third serves real mainnet data.
func TestSynccheckOnlineFailover(t *testing.T) {
	data := beacontest.Load(t)
	deny := beacontest.Answering(t, http.StatusForbidden, "text/plain", "Host not in allowlist")
	down := beacontest.Answering(t, http.StatusBadGateway, "", "")
	good := beacontest.New(t, data) // no fork_schedule: the built-in schedule is used
	b, err := verifier.DecodeBootstrap(good.Bootstrap)
	if err != nil {
		t.Fatal(err)
	}
	root := fmt.Sprintf("0x%x", b.Header.HashTreeRoot())
	dir := t.TempDir()
	t.Setenv("IC_DB", filepath.Join(dir, "ic.db"))
	t.Setenv("IC_ACTOR", "tester")
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))

	var out, errOut bytes.Buffer
	code := Main([]string{"synccheck", "--beacon", deny.URL + "," + down.URL + "," + good.URL, "--checkpoint", root, "--period", "867"}, nil, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{
		"provider " + deny.URL + ": failed: ", "Host not in allowlist",
		"provider " + down.URL + ": failed: ", "HTTP 502",
		"provider " + good.URL + ": trusted: ",
		"verified 6 update(s), periods 862-867 via " + good.URL,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	code = Main([]string{"synccheck", "--beacon", deny.URL + "," + down.URL, "--checkpoint", root}, nil, &out, &errOut)
	if code != 1 {
		t.Fatalf("all providers failing: exit %d, want 1", code)
	}
	for _, want := range []string{"provider " + deny.URL + ": failed: ", "provider " + down.URL + ": failed: ", "FAILED upstream_outage at "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
