package verifier

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"testing"
	"time"

	"github.com/icconsole/ic/internal/beacontest"
)

// lcData is the helios mainnet data as a beacon API serves it, with the
// checkpoint (the bootstrap's block root) to start a check from.
type lcData struct {
	beacontest.Data
	checkpoint Root
}

func loadLC(t testing.TB) lcData {
	t.Helper()
	d := beacontest.Load(t)
	b, err := DecodeBootstrap(d.Bootstrap)
	if err != nil {
		t.Fatal(err)
	}
	if p := PeriodAt(b.Header.Slot); p != d.FirstPeriod {
		t.Fatalf("beacontest puts the bootstrap in period %d, the verifier in %d", d.FirstPeriod, p)
	}
	return lcData{Data: d, checkpoint: b.Header.HashTreeRoot()}
}

func forkScheduleJSON(n int) []byte {
	var items []string
	for i := range n {
		f := MainnetForks[min(i, len(MainnetForks)-1)]
		epoch := f.Epoch
		if i >= len(MainnetForks) {
			epoch = f.Epoch + uint64(i)
		}
		items = append(items, fmt.Sprintf(`{"previous_version":"0x00000000","current_version":"0x%x","epoch":"%d"}`, f.Version, epoch))
	}
	return []byte(fmt.Sprintf(`{"data":[%s]}`, strings.Join(items, ",")))
}

// newFakeBeacon serves d with the mainnet fork schedule; its fields can
// be changed to make it lie.
func newFakeBeacon(t testing.TB, d lcData) *beacontest.Beacon {
	b := beacontest.New(t, d.Data)
	b.Forks = forkScheduleJSON(len(MainnetForks))
	return b
}

// editJSON changes a JSON document through a generic tree.
func editJSON(t testing.TB, raw []byte, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func at(m map[string]any, path ...string) map[string]any {
	for _, p := range path {
		m = m[p].(map[string]any)
	}
	return m
}

// flipHex changes the last hex digit of a 0x string.
func flipHex(s string) string {
	last := s[len(s)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return s[:len(s)-1] + string(repl)
}

func endpoints(t testing.TB, urls ...string) []Endpoint {
	t.Helper()
	eps, err := ParseEndpoints(strings.Join(urls, ","))
	if err != nil {
		t.Fatal(err)
	}
	return eps
}

func quickConfig() Config {
	return Config{RequestTimeout: 5 * time.Second, CheckTimeout: 30 * time.Second}
}

// wantVerifiedFromSecond checks a report in which the first provider lied
// (with class and period as given) and the second supplied the rest.
func wantVerifiedFromSecond(t *testing.T, rep *Report, liar, honest *beacontest.Beacon, class Classification, stage string, period *uint64, periods int) {
	t.Helper()
	if !rep.OK {
		t.Fatalf("not verified: %s\n%s", rep.Summary(), dump(rep))
	}
	if len(rep.Periods) != periods {
		t.Errorf("%d periods, want %d", len(rep.Periods), periods)
	}
	if p := rep.Providers; len(p) != 2 || p[0].Verdict != VerdictLied || p[1].Verdict != VerdictTrusted {
		t.Errorf("providers %+v, want the first lied and the second trusted", p)
	}
	var lie *Attempt
	for i, a := range rep.Attempts {
		if a.Outcome == OutcomeLied {
			lie = &rep.Attempts[i]
		}
	}
	switch {
	case lie == nil:
		t.Fatalf("no lie among the attempts: %s", dump(rep))
	case lie.Endpoint != liar.URL || lie.Classification != class || lie.Stage != stage:
		t.Errorf("lie %+v, want %s at %s from %s", lie, class, stage, liar.URL)
	case period != nil && (lie.Period == nil || *lie.Period != *period):
		t.Errorf("lie at period %v, want %d", lie.Period, *period)
	}
	for _, want := range []string{"verified", honest.URL, "lied: " + liar.URL} {
		if !strings.Contains(rep.Summary(), want) {
			t.Errorf("summary %q lacks %q", rep.Summary(), want)
		}
	}
	for _, r := range rep.Periods {
		if period != nil && r.Period >= *period && r.Endpoint != honest.URL {
			t.Errorf("period %d verified from %s, after the lie", r.Period, r.Endpoint)
		}
	}
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func TestALyingProviderIsLeftForTheNext(t *testing.T) {
	d := loadLC(t)
	p864 := uint64(864)
	p862 := uint64(862)
	for name, c := range map[string]struct {
		lie    func(b *beacontest.Beacon)
		class  Classification
		stage  string
		period *uint64
	}{
		"bootstrap branch": {func(b *beacontest.Beacon) {
			b.Bootstrap = editJSON(t, b.Bootstrap, func(m map[string]any) {
				br := at(m, "data")["current_sync_committee_branch"].([]any)
				br[2] = flipHex(br[2].(string))
			})
		}, ClassInvalidProof, "bootstrap", nil},
		"bootstrap committee": {func(b *beacontest.Beacon) {
			b.Bootstrap = editJSON(t, b.Bootstrap, func(m map[string]any) {
				pks := at(m, "data", "current_sync_committee")["pubkeys"].([]any)
				pks[10] = pks[11]
			})
		}, ClassInvalidProof, "bootstrap", nil},
		"next committee of period 864": {func(b *beacontest.Beacon) {
			b.Updates[2] = editJSON(t, b.Updates[2], func(m map[string]any) {
				pks := at(m, "data", "next_sync_committee")["pubkeys"].([]any)
				pks[100] = pks[101]
			})
		}, ClassInvalidProof, "updates", &p864},
		"signature of period 864": {func(b *beacontest.Beacon) {
			b.Updates[2] = editJSON(t, b.Updates[2], func(m map[string]any) {
				agg := at(m, "data", "sync_aggregate")
				agg["sync_committee_bits"] = flipHex(agg["sync_committee_bits"].(string))
			})
		}, ClassInvalidSignature, "updates", &p864},
		"genesis validators root": {func(b *beacontest.Beacon) {
			b.Genesis = editJSON(t, b.Genesis, func(m map[string]any) {
				g := at(m, "data")
				g["genesis_validators_root"] = flipHex(g["genesis_validators_root"].(string))
			})
		}, ClassInvalidSignature, "updates", &p862},
		"malformed updates": {func(b *beacontest.Beacon) {
			b.Updates[0] = json.RawMessage(`{"version":"capella","data":{"attested_header":{"beacon":{"slot":"seven"}}}}`)
		}, ClassUpstreamOutage, "updates", &p862},
		"fork schedule of 300,000 entries": {func(b *beacontest.Beacon) {
			b.Forks = forkScheduleJSON(300_000)
		}, ClassLimitExceeded, "fork_schedule", nil},
		"fork schedule of 65 entries": {func(b *beacontest.Beacon) {
			b.Forks = forkScheduleJSON(MaxForks + 1)
		}, ClassLimitExceeded, "fork_schedule", nil},
		"544 updates for 6 asked": {func(b *beacontest.Beacon) {
			b.Override = func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != beacontest.PathUpdates {
					return false
				}
				items := make([]string, 544)
				for i := range items {
					items[i] = `{"version":"capella","data":{}}`
				}
				fmt.Fprintf(w, "[%s]", strings.Join(items, ","))
				return true
			}
		}, ClassLimitExceeded, "updates", &p862},
		"an oversized bootstrap": {func(b *beacontest.Beacon) {
			b.Bootstrap = append(append([]byte(nil), b.Bootstrap...), strings.Repeat(" ", capBootstrap)...)
		}, ClassLimitExceeded, "bootstrap", nil},
	} {
		t.Run(name, func(t *testing.T) {
			liar, honest := newFakeBeacon(t, d), newFakeBeacon(t, d)
			c.lie(liar)
			rep := CheckBeacon(context.Background(), endpoints(t, liar.URL, honest.URL), d.checkpoint, 867, quickConfig())
			wantVerifiedFromSecond(t, rep, liar, honest, c.class, c.stage, c.period, 6)
			if c.period != nil && *c.period == 864 {
				// Periods 862 and 863 stay verified from the liar: those bytes verified.
				if rep.Periods[0].Endpoint != liar.URL || rep.Periods[1].Endpoint != liar.URL {
					t.Errorf("periods 862-863 from %s, %s; want the first provider's verified answers kept", rep.Periods[0].Endpoint, rep.Periods[1].Endpoint)
				}
				asked := honest.Asked()
				if got := asked[len(asked)-1]; !strings.Contains(got, "start_period=864") || !strings.Contains(got, "count=4") {
					t.Errorf("the second provider was last asked %q, want from period 864", got)
				}
			}
			if c.stage == "bootstrap" && len(liar.Asked()) != 1 {
				t.Errorf("a provider that lied at the bootstrap was asked again: %v", liar.Asked())
			}
		})
	}
}

func TestAFailedCheckSaysWhatWasKnown(t *testing.T) {
	d := loadLC(t)
	t.Run("a lie with no one left", func(t *testing.T) {
		liar := newFakeBeacon(t, d)
		liar.Updates[2] = editJSON(t, liar.Updates[2], func(m map[string]any) {
			pks := at(m, "data", "next_sync_committee")["pubkeys"].([]any)
			pks[0] = pks[1]
		})
		rep := CheckBeacon(context.Background(), endpoints(t, liar.URL), d.checkpoint, 867, quickConfig())
		f := rep.Failure
		if rep.OK || f == nil || f.Provider != liar.URL || f.Period == nil || *f.Period != 864 || f.Class != ClassInvalidProof || f.Stage != "updates" {
			t.Fatalf("failure %+v, want invalid_proof at period 864 from %s", f, liar.URL)
		}
		if f.Slot == nil || *f.Slot == 0 {
			t.Errorf("failure slot %v, want the attested slot", f.Slot)
		}
		if len(rep.Periods) != 3 || rep.Periods[2].OK() || !rep.Periods[0].OK() {
			t.Errorf("periods %+v: want 862-863 verified and 864 failed", rep.Periods)
		}
		if !strings.Contains(rep.Summary(), "FAILED invalid_proof at updates period 864 from "+liar.URL) {
			t.Errorf("summary %q", rep.Summary())
		}
		if rep.Err() == nil {
			t.Error("Err() is nil for a failed check")
		}
	})
	t.Run("an outage on the updates", func(t *testing.T) {
		down := newFakeBeacon(t, d)
		down.Fail(beacontest.PathUpdates, http.StatusBadGateway)
		rep := CheckBeacon(context.Background(), endpoints(t, down.URL), d.checkpoint, 866, quickConfig())
		f := rep.Failure
		if f == nil || f.Provider != down.URL || f.Period == nil || *f.Period != 862 || f.Class != ClassUpstreamOutage {
			t.Fatalf("failure %+v, want upstream_outage at period 862 from %s", f, down.URL)
		}
		if rep.ToPeriod == nil || *rep.ToPeriod != 866 || rep.FromPeriod == nil || *rep.FromPeriod != 862 {
			t.Errorf("from %v to %v, want 862 to 866", rep.FromPeriod, rep.ToPeriod)
		}
	})
	t.Run("nothing known beyond the checkpoint", func(t *testing.T) {
		down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
		defer down.Close()
		rep := CheckBeacon(context.Background(), endpoints(t, down.URL), d.checkpoint, 0, quickConfig())
		raw, _ := json.Marshal(rep)
		if rep.Failure == nil || rep.Failure.Stage != "bootstrap" || rep.Failure.Provider != down.URL {
			t.Fatalf("failure %+v", rep.Failure)
		}
		for _, zero := range []string{`"period":0`, `"slot":0`, `"from_period"`, `"to_period"`} {
			if strings.Contains(string(raw), zero) {
				t.Errorf("the report holds %s for what was never known: %s", zero, raw)
			}
		}
		if !strings.Contains(string(raw), fmt.Sprintf(`"checkpoint":"0x%x"`, d.checkpoint)) {
			t.Errorf("the report lacks the checkpoint: %s", raw)
		}
	})
}

func TestRedirects(t *testing.T) {
	d := loadLC(t)
	honest := newFakeBeacon(t, d)
	t.Run("to another host: refused, both hosts named", func(t *testing.T) {
		other := newFakeBeacon(t, d)
		otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
		jumper := newFakeBeacon(t, d)
		jumper.Override = func(w http.ResponseWriter, r *http.Request) bool {
			http.Redirect(w, r, otherURL+r.URL.RequestURI()+"&token=Zk3QpL9xVw2RtY7sNm4B", http.StatusFound)
			return true
		}
		rep := CheckBeacon(context.Background(), endpoints(t, jumper.URL), d.checkpoint, 0, quickConfig())
		f := rep.Failure
		if f == nil || f.Class != ClassRedirectRefused {
			t.Fatalf("failure %+v, want redirect_refused", f)
		}
		jumperHost, otherHost := strings.TrimPrefix(jumper.URL, "http://"), strings.TrimPrefix(otherURL, "http://")
		if !strings.Contains(f.Error, jumperHost) || !strings.Contains(f.Error, otherHost) {
			t.Errorf("error %q does not name both %s and %s", f.Error, jumperHost, otherHost)
		}
		if len(other.Asked()) != 0 {
			t.Errorf("the other host was asked %v", other.Asked())
		}
		if strings.Contains(dump(rep), "Zk3QpL9xVw2RtY7sNm4B") {
			t.Error("the redirect's token is in the report")
		}
		rep = CheckBeacon(context.Background(), endpoints(t, jumper.URL, honest.URL), d.checkpoint, 867, quickConfig())
		if !rep.OK || rep.Providers[0].Verdict != VerdictFailed || rep.Attempts[0].Classification != ClassRedirectRefused {
			t.Errorf("with a second provider: %s\n%+v", rep.Summary(), rep.Providers)
		}
	})
	t.Run("within the host: followed", func(t *testing.T) {
		mover := newFakeBeacon(t, d)
		mover.Override = func(w http.ResponseWriter, r *http.Request) bool {
			if strings.HasPrefix(r.URL.Path, "/moved") {
				r.URL.Path = strings.TrimPrefix(r.URL.Path, "/moved")
				return false
			}
			http.Redirect(w, r, "/moved"+r.URL.RequestURI(), http.StatusTemporaryRedirect)
			return true
		}
		rep := CheckBeacon(context.Background(), endpoints(t, mover.URL), d.checkpoint, 867, quickConfig())
		if !rep.OK {
			t.Errorf("a same-host redirect is refused: %s", rep.Summary())
		}
	})
}

func TestTimeoutsPerRequestAndPerCheck(t *testing.T) {
	d := loadLC(t)
	slow := newFakeBeacon(t, d)
	slow.Override = func(w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return true
	}
	start := time.Now()
	rep := CheckBeacon(context.Background(), endpoints(t, slow.URL), d.checkpoint, 0, Config{RequestTimeout: 100 * time.Millisecond})
	if rep.Failure == nil || rep.Attempts[0].Error != "timed out" {
		t.Errorf("per request: %+v", rep.Failure)
	}
	rep = CheckBeacon(context.Background(), endpoints(t, slow.URL, slow.URL), d.checkpoint, 0, Config{RequestTimeout: 5 * time.Second, CheckTimeout: 150 * time.Millisecond})
	if rep.Failure == nil || !strings.Contains(rep.Failure.Error, "longer than its limit of 150ms") {
		t.Errorf("per check: %+v", rep.Failure)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("the timeouts took %s", time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep = CheckBeacon(ctx, endpoints(t, slow.URL), d.checkpoint, 0, quickConfig())
	if rep.Failure == nil || rep.Failure.Class != ClassInterrupted {
		t.Errorf("cancelled: %+v", rep.Failure)
	}
}

func TestPeriodsBeyondOneRequestAreRefused(t *testing.T) {
	d := loadLC(t)
	b := newFakeBeacon(t, d)
	rep := CheckBeacon(context.Background(), endpoints(t, b.URL), d.checkpoint, d.FirstPeriod+MaxUpdatesPerCall, quickConfig())
	if rep.Failure == nil || rep.Failure.Class != ClassLimitExceeded || !strings.Contains(rep.Failure.Error, "at most 128") {
		t.Errorf("failure %+v", rep.Failure)
	}
	for _, asked := range b.Asked() {
		if strings.Contains(asked, "updates") {
			t.Errorf("asked %s", asked)
		}
	}
}

func TestForkScheduleCap(t *testing.T) {
	if _, err := DecodeForkSchedule(forkScheduleJSON(MaxForks)); err != nil {
		t.Errorf("%d forks refused: %v", MaxForks, err)
	}
	_, err := DecodeForkSchedule(forkScheduleJSON(MaxForks + 1))
	if le, ok := err.(*LimitError); !ok || le.Got != MaxForks+1 {
		t.Errorf("err = %v, want a LimitError for 65 entries", err)
	}
}

// TestNoSecretLeaves feeds every leak we know of: a provider that echoes
// the request (with its Authorization header, the key in the path and in
// the query) in its error bodies, as raw HTTP, as JSON, as HTML in a 200,
// and in a deny header; a URL without a scheme. The secrets must be
// nowhere in what the verifier returns.
func TestNoSecretLeaves(t *testing.T) {
	d := loadLC(t)
	const (
		pathKey  = "Q7f2Kx9Lm3Pz8Rt4Vw6Yb1Nc5Hd0Js2G"
		queryKey = "kq-Zr8Tq2Wm5Xn9Lp4V"
		user     = "ops"
		password = "Hunter2-s3cret"
		token    = "tok_9f8e7d6c5b4a"
	)
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	secrets := []string{pathKey, queryKey, password, basic, token}
	echo := func(mode string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			dumped, _ := httputil.DumpRequest(r, false)
			full := "http://" + user + ":" + password + "@" + r.Host + r.URL.RequestURI()
			switch mode {
			case "raw":
				w.WriteHeader(http.StatusInternalServerError)
				w.Write(dumped)
			case "json":
				w.WriteHeader(http.StatusUnauthorized)
				json.NewEncoder(w).Encode(map[string]any{"message": "bad key " + pathKey, "url": full, "headers": r.Header, "token": token})
			case "html":
				fmt.Fprintf(w, "<html>%s %s</html>", r.URL.RequestURI(), r.Header.Get("Authorization"))
			case "deny":
				w.Header().Set("X-Deny-Reason", "key "+queryKey+" not allowed for "+r.Header.Get("Authorization"))
				w.WriteHeader(http.StatusForbidden)
			case "slow json":
				w.WriteHeader(http.StatusNotFound)
				fmt.Fprintf(w, `{"code":404,"message":"%s"}`, strings.ReplaceAll(string(dumped), "\r\n", " "))
			}
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	withSecrets := func(srv *httptest.Server) string {
		return strings.Replace(srv.URL, "http://", "http://"+user+":"+password+"@", 1) + "/v1/" + pathKey + "?apikey=" + queryKey
	}
	honest := newFakeBeacon(t, d)
	var urls []string
	for _, mode := range []string{"raw", "json", "html", "deny", "slow json"} {
		urls = append(urls, withSecrets(echo(mode)))
	}
	check := func(what, s string) {
		t.Helper()
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("%s holds %q:\n%s", what, secret, s)
			}
		}
	}

	eps := endpoints(t, urls...)
	cfg := quickConfig()
	cfg.Secrets = []string{token}
	rep := CheckBeacon(context.Background(), eps, d.checkpoint, 0, cfg)
	if rep.OK || len(rep.Attempts) != len(urls) {
		t.Fatalf("want every echoing provider to fail: %s", dump(rep))
	}
	check("the report", dump(rep))
	check("the summary", rep.Summary())
	check("the error", rep.Err().Error())
	for _, a := range rep.Attempts {
		check("an attempt", a.String())
	}
	for _, ep := range eps {
		check("an endpoint name", ep.Name)
	}

	// The first release's API, with an honest provider last.
	client := NewClient(endpoints(t, append(urls, honest.URL)...), 5*time.Second)
	out, err := CheckOnline(context.Background(), client, d.checkpoint, 867)
	if err != nil || len(out.Results) != 6 {
		t.Fatalf("CheckOnline: %v, %d results", err, len(out.Results))
	}
	raw, _ := json.Marshal(out)
	check("CheckOnline's output", string(raw))
	for _, a := range client.Attempts {
		check("Client.Attempts", a.String())
	}
	client = NewClient(endpoints(t, urls...), 5*time.Second)
	_, err = CheckOnline(context.Background(), client, d.checkpoint, 0)
	if err == nil {
		t.Fatal("CheckOnline with only echoing providers succeeded")
	}
	check("CheckOnline's error", err.Error())

	// A URL without a scheme is refused without printing its password.
	_, err = ParseEndpoints(user + ":" + password + "@beacon.example.org/v1/" + pathKey)
	if err == nil {
		t.Fatal("a URL without a scheme was accepted")
	}
	check("ParseEndpoints' error", err.Error())
}
