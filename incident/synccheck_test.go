package incident

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/icconsole/ic/internal/beacontest"
	"github.com/icconsole/ic/verifier"
)

// recordedCheck is what a test reads back from a verification entry's
// stored payload.
type recordedCheck struct {
	Periods []json.RawMessage `json:"periods"`
	Failure *struct {
		Provider string  `json:"provider"`
		Period   *uint64 `json:"period"`
	} `json:"failure"`
}

// checkAndRecord runs an online check of src against a beacon and records
// it on a new incident; it returns the report and the one verification
// entry the recording appended.
func checkAndRecord(t *testing.T, src SyncSource) (SyncReport, Entry) {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	s := openTest(t, func() time.Time { return now })
	inc := declare(t, s, "SEV-2")
	rep, err := CheckSync(ctx, src)
	if err != nil {
		t.Fatalf("CheckSync: %v", err)
	}
	before, err := s.Entries(ctx, Range{Incident: inc.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RecordSync(ctx, inc.ID, alice, &rep); err != nil {
		t.Fatalf("RecordSync: %v", err)
	}
	after, err := s.Entries(ctx, Range{Incident: inc.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)+1 {
		t.Fatalf("%d entries appended, want 1", len(after)-len(before))
	}
	e := after[len(after)-1]
	if e.Type != (Verification{}).Kind() || e.Seq != rep.Appended {
		t.Fatalf("appended a %s entry #%d, report says #%d; want a verification entry", e.Type, e.Seq, rep.Appended)
	}
	return rep, e
}

func TestRecordSyncOnline(t *testing.T) {
	data := beacontest.Load(t)
	b, err := verifier.DecodeBootstrap(data.Bootstrap)
	if err != nil {
		t.Fatal(err)
	}
	checkpoint := fmt.Sprintf("0x%x", b.Header.HashTreeRoot())
	last := data.FirstPeriod + 5 // six periods

	t.Run("a verified check is one entry holding every period", func(t *testing.T) {
		good := beacontest.New(t, data)
		rep, e := checkAndRecord(t, SyncSource{Beacons: good.URL, Checkpoint: checkpoint, Period: last, CacheDir: t.TempDir()})
		if !rep.OK {
			t.Fatalf("check failed: %s", rep.Summary())
		}
		var got recordedCheck
		if err := json.Unmarshal(e.Event.Payload, &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Periods) != 6 {
			t.Errorf("the entry holds %d periods, want 6: %s", len(got.Periods), e.Event.Payload)
		}
		if got.Failure != nil {
			t.Errorf("a verified check records a failure: %s", e.Event.Payload)
		}
	})

	t.Run("a provider down on the updates is named with the period asked", func(t *testing.T) {
		const key = "Kq7Zr8Tq2Wm5Xn9Lp4Vd"
		down := beacontest.New(t, data)
		down.Fail(beacontest.PathUpdates, http.StatusBadGateway)
		provider := down.URL + "/?apikey=" + key
		eps, err := verifier.ParseEndpoints(provider)
		if err != nil {
			t.Fatal(err)
		}
		rep, e := checkAndRecord(t, SyncSource{Beacons: provider, Checkpoint: checkpoint, Period: last, CacheDir: t.TempDir()})
		if rep.OK {
			t.Fatalf("the check passed with its only provider answering 502: %s", rep.Summary())
		}
		asked := askedStartPeriod(t, down.Asked())
		var got recordedCheck
		if err := json.Unmarshal(e.Event.Payload, &got); err != nil {
			t.Fatal(err)
		}
		switch f := got.Failure; {
		case f == nil:
			t.Fatalf("the entry records no failure: %s", e.Event.Payload)
		case f.Provider != eps[0].Name:
			t.Errorf("failure.provider %q, want %q", f.Provider, eps[0].Name)
		case f.Period == nil || *f.Period != asked:
			t.Errorf("failure.period %v, want %d, the start_period asked for", f.Period, asked)
		}
		if strings.Contains(string(e.Event.Payload), key) {
			t.Errorf("the entry holds the provider's key: %s", e.Event.Payload)
		}
		if line := e.Payload.Line(); !strings.HasPrefix(line, "sync-committee check (online): FAILED") {
			t.Errorf("line %q", line)
		}
	})
}

// askedStartPeriod returns the start_period of the one updates request
// among asked.
func askedStartPeriod(t *testing.T, asked []string) uint64 {
	t.Helper()
	var periods []uint64
	for _, a := range asked {
		u, err := url.Parse(a)
		if err != nil {
			t.Fatal(err)
		}
		if u.Path != beacontest.PathUpdates {
			continue
		}
		p, err := strconv.ParseUint(u.Query().Get("start_period"), 10, 64)
		if err != nil {
			t.Fatalf("updates asked as %s: %v", a, err)
		}
		periods = append(periods, p)
	}
	if len(periods) != 1 || periods[0] == 0 {
		t.Fatalf("updates asked for %v in %v, want one request from a period after 0", periods, asked)
	}
	return periods[0]
}
