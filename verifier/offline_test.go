package verifier

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func heliosInputs(t *testing.T) (Input, Input) {
	d := testdata(t)
	bp, up := filepath.Join(d, "helios-capella", "bootstrap.json"), filepath.Join(d, "helios-capella", "updates.json")
	return Input{Name: bp, Data: read(t, bp)}, Input{Name: up, Data: read(t, up)}
}

func TestCheckFilesIsOneReport(t *testing.T) {
	boot, updates := heliosInputs(t)
	rep := CheckFiles(context.Background(), MainnetGenesis, boot, []Input{updates}, Config{CacheDir: t.TempDir()})
	if !rep.OK || len(rep.Periods) != 6 || rep.Class != ClassVerified || rep.Err() != nil {
		t.Fatalf("%s\n%s", rep.Summary(), dump(rep))
	}
	if rep.Summary() != "verified 6 update(s), periods 862-867 from "+updates.Name {
		t.Errorf("summary %q", rep.Summary())
	}
	if len(rep.Inputs) != 2 || rep.Inputs[1].Name != updates.Name || len(rep.Inputs[1].SHA256) != 64 {
		t.Errorf("inputs %+v", rep.Inputs)
	}
	if *rep.FromPeriod != 862 || *rep.ToPeriod != 867 || rep.Periods[5].Source != updates.Name {
		t.Errorf("from %d to %d, source %q", *rep.FromPeriod, *rep.ToPeriod, rep.Periods[5].Source)
	}
	raw, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"v":1`, `"mode":"offline"`, `"ok":true`, `"periods":[`, `"cache":[`} {
		if !bytes.Contains(raw, []byte(field)) {
			t.Errorf("the JSON lacks %s", field)
		}
	}
}

func TestCheckFilesFailures(t *testing.T) {
	boot, updates := heliosInputs(t)
	tampered := Input{Name: "tampered.json", Data: bytes.Replace(updates.Data, []byte(`"slot": "7061719"`), []byte(`"slot": "7061718"`), 1)}
	var items []json.RawMessage
	if err := json.Unmarshal(updates.Data, &items); err != nil {
		t.Fatal(err)
	}
	many := make([]string, 544)
	for i := range many {
		many[i] = string(items[i%len(items)])
	}
	for name, c := range map[string]struct {
		updates []Input
		stage   string
		class   Classification
		source  string
		period  uint64 // 0: none known
		want    string
	}{
		"tampered header":             {[]Input{tampered}, "updates", ClassInvalidSignature, "tampered.json", 862, "does not verify over the attested header at slot 7061718"},
		"544 updates":                 {[]Input{{Name: "many.json", Data: []byte("[" + strings.Join(many, ",") + "]")}}, "input", ClassLimitExceeded, "many.json", 0, "at most 128 in one check"},
		"not JSON":                    {[]Input{{Name: "page.html", Data: []byte("<html>Bad Gateway</html>")}}, "input", ClassBadInput, "page.html", 0, `not JSON (starts with "<html>`},
		"no committee for the period": {[]Input{{Name: "finality.json", Data: read(t, filepath.Join(testdata(t), "helios-capella", "finality.json"))}}, "updates", ClassBadInput, "finality.json", 867, "no trusted committee for period 867"},
	} {
		t.Run(name, func(t *testing.T) {
			rep := CheckFiles(context.Background(), MainnetGenesis, boot, c.updates, Config{})
			f := rep.Failure
			if rep.OK || f == nil || f.Stage != c.stage || f.Class != c.class || f.Source != c.source || !strings.Contains(f.Error, c.want) {
				t.Fatalf("failure %+v, want %s at %s in %s: %q", f, c.class, c.stage, c.source, c.want)
			}
			if (c.period == 0) != (f.Period == nil) || (f.Period != nil && *f.Period != c.period) {
				t.Errorf("period %v, want %d (0: unknown)", f.Period, c.period)
			}
			if !strings.HasPrefix(rep.Summary(), fmt.Sprintf("FAILED %s at %s", c.class, c.stage)) {
				t.Errorf("summary %q", rep.Summary())
			}
		})
	}
}
