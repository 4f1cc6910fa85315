package runbook

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// worstFile is an adversarial input: the shapes that made goldmark and
// yaml.v3 take seconds to minutes and gigabytes before the limits (issue 14),
// and the worst shapes still accepted under them.
type worstFile struct {
	name string // file name in the "worst" book, or a book folder for policies
	data []byte
	want string // the problem it must produce ("" for none)
}

const worstFront = "---\nid: %s\ntitle: Worst case\nkind: reference\nversion: 1\n---\n"

// fill repeats unit, cut into lines of at most lineLen bytes, until the
// file holds about size bytes.
func fill(id string, size, lineLen int, unit func(i int) string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, worstFront, id)
	line := 0
	for i := 0; b.Len() < size; i++ {
		u := unit(i)
		if lineLen > 0 && line+len(u) >= lineLen {
			b.WriteString("\n")
			line = 0
		}
		b.WriteString(u)
		line += len(u)
	}
	b.WriteString("\n")
	out := []byte(b.String())
	return out[:min(len(out), size)]
}

func repeat(s string) func(int) string { return func(int) string { return s } }

func worstProcedures() []worstFile {
	stair := func(id string) []byte {
		var b strings.Builder
		fmt.Fprintf(&b, worstFront, id)
		for i := 0; ; i++ {
			l := strings.Repeat("  ", i%(MaxLineSize/2-4)) + "- x\n"
			if b.Len()+len(l) > MaxFileSize {
				break
			}
			b.WriteString(l)
		}
		return []byte(b.String())
	}
	const cap = MaxFileSize - 64
	return []worstFile{
		// The inputs of issue 14, as they were reported.
		{"Q-040K-1LINE.md", fill("Q-040K-1LINE", 40<<10, 0, repeat("> ")), "line is"},
		{"Q-040K.md", fill("Q-040K", 40<<10, 1000, repeat("> ")), "warning: lists and block quotes nested deeper than 16 levels are shown flat"},
		{"Q-001M.md", fill("Q-001M", 1<<20, 1000, repeat("> ")), "over the 64 KiB"},
		{"L-490K.md", fill("L-490K", 490<<10, 1000, repeat("- ")), "over the 64 KiB"},
		{"L-001M.md", fill("L-001M", 1<<20, 1000, repeat("- ")), "over the 64 KiB"},
		// The worst still accepted: at the size and line limits.
		{"Q-064K.md", fill("Q-064K", cap, MaxLineSize, repeat("> ")), "shown flat"},
		{"L-064K.md", fill("L-064K", cap, MaxLineSize, repeat("- ")), "shown flat"},
		{"S-064K.md", stair("S-064K"), "shown flat"},
		{"M-064K.md", fill("M-064K", cap, MaxLineSize, repeat("> - 1. ")), "shown flat"},
		{"I-064K.md", fill("I-064K", cap, 0, repeat("- x\n")), ""},
		{"T-064K.md", fill("T-064K", cap, 0, repeat("- [ ] x\n")), ""},
		{"P-064K.md", fill("P-064K", cap, 0, repeat("x\n\n")), ""},
		{"B-064K.md", fill("B-064K", cap, MaxLineSize, repeat("[a](")), ""},
		{"E-064K.md", fill("E-064K", cap, MaxLineSize, repeat("*a")), ""},
		{"D-064K.md", fill("D-064K", cap, MaxLineSize, repeat("*_")), ""},
		{"K-064K.md", fill("K-064K", cap, 0, func(i int) string { return fmt.Sprintf("[k%d]: /u\n", i) }), ""},
		{"N-064K.md", fill("N-064K", cap, MaxLineSize, repeat("[")), ""},
		{"H-064K.md", fill("H-064K", cap, MaxLineSize, repeat("&#x1b;")), "HTML entity"},
		{"F-064K.md", []byte(fmt.Sprintf("---\nid: F-064K\nx:\n%striggers: *i\n---\n", aliasBomb("  "))), "YAML too large"},
	}
}

func worstPolicies() []worstFile {
	keys := func(size int) []byte {
		var b strings.Builder
		b.WriteString(goodPolicy)
		b.WriteString("roles:\n")
		for i := 0; b.Len() < size; i++ {
			fmt.Fprintf(&b, "  - {id: r%d, name: n}\n", i)
		}
		return []byte(b.String())
	}
	var bigMap strings.Builder
	bigMap.WriteString(strings.Replace(goodPolicy, "requirements:\n", "requirements:\n"+manyKeys(MaxMappingKeys-2), 1))
	return []worstFile{
		{"bomb", []byte(strings.Replace(goodPolicy, "requirements:\n", "requirements:\n"+aliasBomb("  "), 1)), "YAML too large"},
		{"big-1M", keys(1 << 20), "over the 64 KiB"},
		{"big-064K", keys(MaxPolicySize - 32), ""},
		{"keys-064K", []byte(bigMap.String()), ""},
	}
}

// TestWorstCases loads a folder of every worst case: each file gets its
// problem and nothing else is lost. With IC_WORST_BOOKS=DIR it writes the
// folder there, for measuring a whole `ic runbook lint DIR`.
func TestWorstCases(t *testing.T) {
	dir := os.Getenv("IC_WORST_BOOKS")
	if dir == "" {
		dir = t.TempDir()
	}
	write := func(name string, data []byte) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	policy := strings.NewReplacer("id: test", "id: worst", "first_response: T-001", "first_response: I-064K").Replace(goodPolicy)
	write("worst/book.yaml", []byte(policy))
	for _, w := range worstProcedures() {
		write("worst/"+w.name, w.data)
	}
	for _, w := range worstPolicies() {
		// Each book's first response is its own, so ids do not clash.
		id := strings.ToUpper(w.name) + "-1"
		write(w.name+"/book.yaml", []byte(strings.NewReplacer("first_response: T-001", "first_response: "+id, "id: test", "id: "+w.name).Replace(string(w.data))))
		write(w.name+"/"+id+".md", []byte(strings.NewReplacer("T-001", id, "[T-002](T-002.md)", "the dashboards").Replace(goodProcedure)))
	}
	cat, probs := Load(os.DirFS(dir), "")
	got := fmt.Sprint(probs)
	want := map[string]string{} // path: the problem it must have, "" for none
	for _, w := range worstProcedures() {
		want["worst/"+w.name] = w.want
	}
	for _, w := range worstPolicies() {
		want[w.name+"/book.yaml"] = w.want
	}
	for path, w := range want {
		found := false
		for _, p := range probs {
			if p.Path == path && (w == "" || !strings.Contains(p.String(), w)) {
				t.Errorf("%s: unexpected problem %s", path, p)
			}
			found = found || p.Path == path
		}
		if w != "" && !found {
			t.Errorf("%s: no problem %q in %s", path, w, got)
		}
	}
	for _, p := range probs {
		if _, ok := want[p.Path]; !ok {
			t.Errorf("problem in a file that is not a worst case: %s", p)
		}
	}
	if _, ok := cat.Procedure("I-064K"); !ok {
		t.Error("a worst case that is valid was not loaded")
	}
	for _, id := range []string{"big-064K", "keys-064K"} {
		if _, ok := cat.Policy(id); !ok {
			t.Errorf("book %s, within the limits, was not loaded", id)
		}
	}
}

// BenchmarkParseWorstCases parses each worst case once per iteration. Goal
// (issue 14): every input up to 1 MiB within 100 ms and 64 MB; B/op bounds
// the memory, and peak-MB is the largest heap seen during the run.
func BenchmarkParseWorstCases(b *testing.B) {
	run := func(b *testing.B, parse func()) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.ReportAllocs()
		for b.Loop() {
			parse()
		}
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapSys)/(1<<20), "heap-sys-MB")
	}
	for _, w := range worstProcedures() {
		b.Run(strings.TrimSuffix(w.name, ".md"), func(b *testing.B) {
			b.SetBytes(int64(len(w.data)))
			run(b, func() { ParseProcedure("worst", w.name, w.data) })
		})
	}
	for _, w := range worstPolicies() {
		b.Run("book.yaml-"+w.name, func(b *testing.B) {
			b.SetBytes(int64(len(w.data)))
			run(b, func() { ParsePolicy("book.yaml", w.data) })
		})
	}
}
