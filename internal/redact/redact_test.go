package redact

import (
	"encoding/base64"
	"strings"
	"testing"
)

const (
	pathKey  = "9aa3d95b3bc440fa88ea12eaa4456161" // an Infura-style key: 32 hex characters
	queryKey = "Zk3QpL9xVw2RtY7sNm4B"
	password = "s3cret-Pa55"
)

func TestURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://beacon.example.org", "https://beacon.example.org"},
		{"https://beacon.example.org/", "https://beacon.example.org"},
		{"http://127.0.0.1:5052/eth/v1/beacon/genesis", "http://127.0.0.1:5052/eth/v1/beacon/genesis"},
		{"https://user:" + password + "@beacon.example.org/x", "https://[redacted]@beacon.example.org/x"},
		{"https://beacon.example.org/?apikey=" + queryKey + "&network=mainnet", "https://beacon.example.org?apikey=[redacted]&network=[redacted]"},
		{"https://beacon.example.org/v1/" + pathKey + "/eth/v1/beacon/genesis", "https://beacon.example.org/v1/[redacted]/eth/v1/beacon/genesis"},
		{"user:" + password + "@beacon.example.org/v1", "[redacted]@beacon.example.org/v1"},
		{"https://b.example.org/eth/v1/beacon/light_client/bootstrap/0x" + strings.Repeat("ab", 32), "https://b.example.org/eth/v1/beacon/light_client/bootstrap/0x" + strings.Repeat("ab", 32)},
		{"https://b.example.org/eth/v1/beacon/light_client/optimistic_update", "https://b.example.org/eth/v1/beacon/light_client/optimistic_update"},
		{"https://b.example.org/x#" + queryKey, "https://b.example.org/x"},
	} {
		if got := URL(c.in); got != c.want {
			t.Errorf("URL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestTextHidesEachLeak(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte("user:" + password))
	for name, in := range map[string]string{
		"echoed request": "GET /v1/" + pathKey + "/eth/v1/beacon/genesis?apikey=" + queryKey + " HTTP/1.1\r\nHost: b.example.org\r\nAuthorization: Basic " + basic + "\r\nAccept: */*\r\n",
		"json echo":      `{"headers":{"Authorization":["Bearer ` + queryKey + `"],"X-Api-Key":"` + password + `"},"url":"https://user:` + password + `@b.example.org/v1/` + pathKey + `"}`,
		"go map":         `request headers map[Authorization:[Basic ` + basic + `] Cookie:[sid=` + password + `]]`,
		"no scheme":      "cannot reach user:" + password + "@b.example.org/v1 from here",
		"pairs":          "bad request: api_key=" + queryKey + "; password: " + password,
		"bare key":       "unknown project id " + pathKey,
		"bearer":         "401: Bearer " + queryKey + " expired",
	} {
		t.Run(name, func(t *testing.T) {
			got := Text(in)
			for _, secret := range []string{pathKey, queryKey, password, basic} {
				if strings.Contains(got, secret) {
					t.Errorf("Text(%q) = %q: %q survives", in, got, secret)
				}
			}
			if !strings.Contains(got, Mark) {
				t.Errorf("Text(%q) = %q: nothing marked", in, got)
			}
		})
	}
}

func TestRegisteredSecretsAreCaughtVerbatim(t *testing.T) {
	r := New()
	r.AddURL("https://alice:pw-short@b.example.org/route/" + pathKey + "?k=abcd")
	// Short and plain: no pattern would catch these, registration does.
	in := "the server said: alice pw-short abcd " + base64.StdEncoding.EncodeToString([]byte("alice:pw-short"))
	got := r.Text(in)
	for _, secret := range []string{"pw-short", "abcd", "alice", base64.StdEncoding.EncodeToString([]byte("alice:pw-short"))} {
		if strings.Contains(got, secret) {
			t.Errorf("%q survives in %q", secret, got)
		}
	}
	if got := r.URL("https://b.example.org/route/x"); got != "https://b.example.org/route/x" {
		t.Errorf("a URL without secrets changed: %q", got)
	}
}

func TestASecretCutShortIsHidden(t *testing.T) {
	r := New(password)
	got := r.Text(`not JSON (starts with "user s3cret-P…")`)
	if strings.Contains(got, "s3cret") {
		t.Errorf("the start of a secret survives: %q", got)
	}
}

func TestTextKeepsWhatTheAuditNeeds(t *testing.T) {
	root := "0x" + strings.Repeat("4b363db9", 8)
	for _, in := range []string{
		"bootstrap header root " + root + " is not the trusted checkpoint " + root,
		"/eth/v1/beacon/light_client/bootstrap/" + root + ": HTTP 404",
		"/eth/v1/beacon/light_client/updates?start_period=862&count=6: timed out (upstream_outage)",
		"mainnet-altair-bellatrix/bootstrap/slot-004612096.json: field data.sync_aggregate.sync_committee_bits: 65 bytes, want 64",
		"dial tcp 127.0.0.1:34567: connect: connection refused",
		"update signed at slot 7069377 is in period 862, but the trusted committee is for period 861",
		"the signature by 511 participants does not verify over the attested header at slot 7061719 (fork capella)",
		"FastAggregateVerify and HashTreeRoot",
	} {
		if got := Text(in); got != in {
			t.Errorf("Text changed harmless text:\n in  %q\n out %q", in, got)
		}
	}
}

func TestTextIsIdempotent(t *testing.T) {
	in := "Authorization: Bearer " + queryKey + "\nhttps://u:" + password + "@h.example/v1/" + pathKey + "?a=b"
	once := New(password).Text(in)
	if twice := New(password).Text(once); twice != once {
		t.Errorf("second pass changed the text:\n%q\n%q", once, twice)
	}
}

func TestUnparsableURLDoesNotLoop(t *testing.T) {
	for _, in := range []string{"http://%zz", "http:///" + pathKey, "https://u:" + password + "@[::1/x?key=" + queryKey} {
		got := URL(in)
		if strings.Contains(got, password) || strings.Contains(got, queryKey) || strings.Contains(got, pathKey) {
			t.Errorf("URL(%q) = %q leaks", in, got)
		}
		_ = Text(in)
	}
}

func FuzzText(f *testing.F) {
	f.Add("Authorization: Bearer abc\r\nhttps://u:p@h/x?k=v")
	f.Add(`"Authorization":["`)
	f.Add("user:pass@host")
	f.Fuzz(func(t *testing.T, s string) {
		r := New("s3cretvalue")
		out := r.Text(s)
		if strings.Contains(out, "s3cretvalue") {
			t.Fatalf("registered secret survives in %q", out)
		}
		_ = r.URL(s)
	})
}

// TestNameKeepsAPathAndHidesSecrets: a file name the caller gave is kept
// whole, however random its folder looks, but a registered secret and a
// URL's credentials in it are still hidden.
func TestNameKeepsAPathAndHidesSecrets(t *testing.T) {
	r := New("s3cr3t-t0ken-value")
	for in, want := range map[string]string{
		"/tmp/tmp.F9lXqZr2Vb/shared/testdata/lightclient/helios-capella/updates.json": "/tmp/tmp.F9lXqZr2Vb/shared/testdata/lightclient/helios-capella/updates.json",
		"/home/ops/s3cr3t-t0ken-value/updates.json":                                   "/home/ops/" + Mark + "/updates.json",
		"beacon https://user:pw@beacon.example/eth":                                   "beacon https://" + Mark + "@beacon.example/eth",
	} {
		if got := r.Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAURLBeforeAColonKeepsItsBlockRoot: Go's errors put ": reason" right
// after a URL; the colon is not part of its last segment, and a block root
// there is not a key.
func TestAURLBeforeAColonKeepsItsBlockRoot(t *testing.T) {
	root := "0x" + strings.Repeat("ab", 32)
	in := "http://127.0.0.1:9/eth/v1/beacon/light_client/bootstrap/" + root + ": dial tcp 127.0.0.1:9: connect: connection refused"
	if got := New().Text(in); got != in {
		t.Errorf("Text(%q) = %q, want it unchanged", in, got)
	}
	key := "http://beacon.example/v1/Zk3pQ9xL2mN8vB4cR7tY1wE6/eth/v1/node: 401"
	if got := New().Text(key); strings.Contains(got, "Zk3pQ9xL2mN8vB4cR7tY1wE6") || !strings.HasSuffix(got, ": 401") {
		t.Errorf("Text(%q) = %q, want the key hidden and the reason kept", key, got)
	}
}
