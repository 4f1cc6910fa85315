package cli

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icconsole/ic/internal/lightclienttest"
	"github.com/icconsole/ic/verifier"
)

// TestSynccheckOnlineFailover runs `ic synccheck --beacon` against three
// local servers: one denies with a plain-text 403, one answers 502, the
// third serves real mainnet data.
func TestSynccheckOnlineFailover(t *testing.T) {
	data := lightclienttest.Require(t)
	deny := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, "Host not in allowlist")
	}))
	defer deny.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer down.Close()
	read := func(p string) []byte {
		b, err := os.ReadFile(filepath.Join(data, p))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	boot, updates, genesis := read("helios-capella/bootstrap.json"), read("helios-capella/updates.json"), read("beacon_genesis.json")
	b, err := verifier.DecodeBootstrap(boot)
	if err != nil {
		t.Fatal(err)
	}
	checkpoint := b.Header.HashTreeRoot()
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/eth/v1/beacon/genesis":
			fmt.Fprintf(w, `{"data": %s}`, genesis)
		case strings.HasPrefix(r.URL.Path, "/eth/v1/beacon/light_client/bootstrap/"):
			w.Write(boot)
		case r.URL.Path == "/eth/v1/beacon/light_client/updates":
			w.Write(updates)
		default: // no fork_schedule here: the built-in schedule is used
			http.NotFound(w, r)
		}
	}))
	defer good.Close()
	root := fmt.Sprintf("0x%x", checkpoint)
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
