// Package beacontest stands in for a beacon node in tests: an httptest
// server that serves the real mainnet light-client data (helios-capella,
// periods 862-867, found through internal/lightclienttest) the way the
// beacon API does, and that a test can change to make it lie, fail or
// stall.
//
// It does not import package verifier, whose own tests use it: callers
// compute the checkpoint block root from Data.Bootstrap with
// verifier.DecodeBootstrap, and build a fork schedule with verifier's
// forks when they want one served.
package beacontest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/icconsole/ic/internal/lightclienttest"
)

// The beacon API paths a Beacon answers.
const (
	PathGenesis      = "/eth/v1/beacon/genesis"
	PathForkSchedule = "/eth/v1/config/fork_schedule"
	PathBootstrap    = "/eth/v1/beacon/light_client/bootstrap/"
	PathUpdates      = "/eth/v1/beacon/light_client/updates"
)

// slotsPerPeriod is the mainnet sync-committee period in slots (32 slots
// an epoch, 256 epochs a period).
const slotsPerPeriod = 8192

// Data is the helios-capella mainnet data as a beacon API serves it.
type Data struct {
	// Genesis is the genesis answer: {"data": beacon_genesis.json}.
	Genesis []byte
	// Bootstrap is the light-client bootstrap answer.
	Bootstrap []byte
	// Updates holds one update a period, from FirstPeriod on.
	Updates []json.RawMessage
	// FirstPeriod is the sync-committee period of the bootstrap's slot.
	FirstPeriod uint64
}

// Load reads the helios-capella data; the test is skipped (or fails under
// CI=true) where the shared data is absent.
func Load(t testing.TB) Data {
	t.Helper()
	dir := lightclienttest.Require(t)
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	boot := read(filepath.Join("helios-capella", "bootstrap.json"))
	var head struct {
		Data struct {
			Header struct {
				Beacon struct {
					Slot string `json:"slot"`
				} `json:"beacon"`
			} `json:"header"`
		} `json:"data"`
	}
	if err := json.Unmarshal(boot, &head); err != nil {
		t.Fatalf("helios-capella/bootstrap.json: %v", err)
	}
	slot, err := strconv.ParseUint(head.Data.Header.Beacon.Slot, 10, 64)
	if err != nil {
		t.Fatalf("helios-capella/bootstrap.json: data.header.beacon.slot: %v", err)
	}
	var updates []json.RawMessage
	if err := json.Unmarshal(read(filepath.Join("helios-capella", "updates.json")), &updates); err != nil {
		t.Fatalf("helios-capella/updates.json: %v", err)
	}
	return Data{
		Genesis:     fmt.Appendf(nil, `{"data": %s}`, read("beacon_genesis.json")),
		Bootstrap:   boot,
		Updates:     updates,
		FirstPeriod: slot / slotsPerPeriod,
	}
}

// Beacon serves Data the way a beacon node does, honouring start_period
// and count on the updates. Its fields may be changed before the requests
// they answer, to make it lie.
type Beacon struct {
	// URL is the server's base URL.
	URL string

	Genesis []byte
	// Forks is the fork schedule answer; nil answers 404, as some
	// providers do (the verifier then uses its built-in schedule).
	Forks       []byte
	Bootstrap   []byte
	Updates     []json.RawMessage
	FirstPeriod uint64
	// Override, when set, sees every request first; returning true means
	// it has answered.
	Override func(w http.ResponseWriter, r *http.Request) bool

	mu    sync.Mutex
	asked []string
}

// New starts a Beacon serving d, closed when the test ends.
func New(t testing.TB, d Data) *Beacon {
	b := &Beacon{
		Genesis:     d.Genesis,
		Bootstrap:   d.Bootstrap,
		Updates:     append([]json.RawMessage(nil), d.Updates...),
		FirstPeriod: d.FirstPeriod,
	}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	b.URL = srv.URL
	return b
}

// Asked returns the request URIs (path and query) served so far, in order.
func (b *Beacon) Asked() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.asked...)
}

// Fail makes every request for path answer status with an empty body.
func (b *Beacon) Fail(path string, status int) {
	b.Override = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != path {
			return false
		}
		w.WriteHeader(status)
		return true
	}
}

func (b *Beacon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.asked = append(b.asked, r.URL.RequestURI())
	b.mu.Unlock()
	if b.Override != nil && b.Override(w, r) {
		return
	}
	switch {
	case r.URL.Path == PathGenesis:
		w.Write(b.Genesis)
	case r.URL.Path == PathForkSchedule && b.Forks != nil:
		w.Write(b.Forks)
	case strings.HasPrefix(r.URL.Path, PathBootstrap):
		w.Write(b.Bootstrap)
	case r.URL.Path == PathUpdates:
		start, err1 := strconv.ParseUint(r.URL.Query().Get("start_period"), 10, 64)
		count, err2 := strconv.ParseUint(r.URL.Query().Get("count"), 10, 64)
		if err1 != nil || err2 != nil || start < b.FirstPeriod {
			http.Error(w, `{"code":400,"message":"bad period"}`, http.StatusBadRequest)
			return
		}
		lo := min(int(start-b.FirstPeriod), len(b.Updates))
		hi := min(lo+int(count), len(b.Updates))
		out, _ := json.Marshal(b.Updates[lo:hi])
		w.Write(out)
	default:
		http.NotFound(w, r)
	}
}

// Answering starts a server that answers every request with status, and
// with body as contentType when body is not empty: a provider that denies
// the request or is down. It is closed when the test ends.
func Answering(t testing.TB, status int, contentType, body string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}
