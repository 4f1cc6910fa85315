package runbook

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestJSONShapes pins the keys, in order, that `ic runbook list --json`
// (Listing) and `ic runbook show --json` (Procedure) print.
func TestJSONShapes(t *testing.T) {
	withCode := strings.NewReplacer(
		"1. Pause.", "1. Pause.\n\n```sh\nuptime\n```\n",
		"version: 1\n", "version: 1\nreplaces:\n  - id: T-000\n    version: 3\n",
	).Replace(goodProcedure)
	cat, probs := Load(book(map[string]string{"book.yaml": goodPolicy, "T-001.md": withCode, "T-002.md": goodRoutine}), "")
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	p, _ := cat.Procedure("T-001")
	if len(p.Code) == 0 || len(p.Replaces) == 0 {
		t.Fatalf("the fixture has no code block or no replaces: %+v", p)
	}
	for _, c := range []struct {
		name string
		v    any
		want []string
	}{
		{"listing", p.Listing(), []string{"id", "title", "kind", "book", "severity", "version", "hash", "steps", "replaces"}},
		{"procedure", p, []string{"id", "title", "kind", "book", "severity", "version", "hash", "replaces", "path", "sections", "steps", "links"}},
	} {
		raw, err := json.Marshal(c.v)
		if err != nil {
			t.Fatal(err)
		}
		if got := topKeys(t, raw); !slices.Equal(got, c.want) {
			t.Errorf("%s keys %v, want %v", c.name, got, c.want)
		}
	}
	if raw, _ := json.Marshal(p.Listing()); !strings.Contains(string(raw), `"steps":2`) {
		t.Errorf("the listing does not count 2 steps: %s", raw)
	}
}

// topKeys returns the keys of a JSON object, in order.
func topKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	var keys []string
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}
