package termsafe

import (
	"html"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"two\nlines\ttab", "two\nlines\ttab"},
		{"crlf\r\nline", "crlf\r\nline"},
		{"over\rwrite", `over\rwrite`},
		{"\x1b]52;c;aGk=\a", `\x1b]52;c;aGk=\x07`},
		{"title\x1b]0;pwned\x07", `title\x1b]0;pwned\x07`},
		{"del\x7f", `del\x7f`},
		{"c1 \u009b31m", `c1 \x9b31m`},
		{"bad \xff utf8", `bad \xff utf8`},
		{"héllo ✓ ﺍﻟﻌﺮﺑﻴﺔ", "héllo ✓ ﺍﻟﻌﺮﺑﻴﺔ"},
		// Bidirectional controls (Trojan Source): overrides, isolates, marks.
		{"invoice\u202Efdp.exe", `invoice\u202efdp.exe`},
		{"a\u2066b\u2069c\u200ed\u200fe\u061cf", `a\u2066b\u2069c\u200ed\u200fe\u061cf`},
		// Entities that decode to controls, as goldmark, glamour and HTML5 do.
		{"x&#x1b;[2Jy", `x\x1b[2Jy`},
		{"x&#X1B;[2J", `x\x1b[2J`},
		{"x&#27;[2J", `x\x1b[2J`},
		{"x&#155;31m", `x\x9b31m`},
		{"no semicolon &#27[2J", `no semicolon \x1b[2J`},
		{"zeros &#0000027;", `zeros \x1b`},
		{"&#x202e;&#8238;&rlm;&lrm;", `\u202e\u202e\u200f\u200e`},
		{"&#13;", `\r`},
		{"&#0;", `\x00`},
		// Entities that decode to something harmless stay as written.
		{"&amp; &#65; &#x263A; &lt;b&gt; &#10; &#9; &# &#x; &#xZZ &rlmx &lrm", "&amp; &#65; &#x263A; &lt;b&gt; &#10; &#9; &# &#x; &#xZZ &rlmx &lrm"},
		{"huge &#99999999999999999999;", "huge &#99999999999999999999;"},
		{`already \x1b escaped`, `already \x1b escaped`},
	}
	for _, c := range cases {
		if got := Escape(c.in); got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := NeedsEscape(c.in); got != (c.in != c.want) {
			t.Errorf("NeedsEscape(%q) = %v", c.in, got)
		}
		if again := Escape(c.want); again != c.want {
			t.Errorf("Escape is not idempotent on %q: %q", c.want, again)
		}
	}
}

func TestEscapeLine(t *testing.T) {
	if got := EscapeLine("a\nb\x1b[2J&#x1b;\u202e"); got != `a\nb\x1b[2J\x1b\u202e` {
		t.Errorf("EscapeLine = %q", got)
	}
}

func TestFirstControl(t *testing.T) {
	for s, want := range map[string]int{"ok\x1bno": 2, "all fine\n": -1, "ab&#27;": 2, "é\u202e": 2, "x\r": 1, "x\r\n": -1} {
		if got := FirstControl(s); got != want {
			t.Errorf("FirstControl(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestFind(t *testing.T) {
	got := Find("a\x1bb &#x9b; \u202e \xff &#27;", 4)
	want := []Finding{
		{1, 1, "control character U+001B"},
		{4, 6, "HTML entity #x9b; for control character U+009B"},
		{11, 3, "bidirectional control U+202E"},
		{15, 1, "invalid UTF-8 byte 0xff"},
	}
	if len(got) != len(want) {
		t.Fatalf("Find = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("finding %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// numericRef finds numeric character references as CommonMark reads them
// (the code point as written, C1 included), independently of entity().
var numericRef = regexp.MustCompile(`&#([0-9]{1,7});|&#[xX]([0-9a-fA-F]{1,6});`)

// dangerous is the property's own list, written apart from unsafeRune.
func dangerous(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || (r >= 0x7f && r <= 0x9f) ||
		(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c
}

func checkSafe(t *testing.T, in, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("Escape(%q) = %q: invalid UTF-8", in, out)
	}
	lines := strings.Split(out, "\r\n") // a CR is allowed only before a newline
	for _, l := range lines {
		if strings.ContainsRune(l, '\r') {
			t.Fatalf("Escape(%q) = %q holds a lone CR", in, out)
		}
	}
	for _, decoded := range []string{out, html.UnescapeString(out)} {
		for _, r := range decoded {
			if dangerous(r) {
				t.Fatalf("Escape(%q) = %q: %U survives (decoded: %q)", in, out, r, decoded)
			}
		}
	}
	for _, m := range numericRef.FindAllStringSubmatch(out, -1) {
		v, err := strconv.ParseInt(m[1], 10, 32)
		if m[1] == "" {
			v, err = strconv.ParseInt(m[2], 16, 32)
		}
		if err == nil && (dangerous(rune(v)) || v == '\r') {
			t.Fatalf("Escape(%q) = %q keeps the entity %s", in, out, m[0])
		}
	}
	if again := Escape(out); again != out {
		t.Fatalf("Escape is not idempotent: Escape(%q) = %q, again %q", in, out, again)
	}
	if line := EscapeLine(in); strings.ContainsAny(line, "\r\n") {
		t.Fatalf("EscapeLine(%q) = %q keeps a line break", in, line)
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"plain", "\x1b[2J", "&#x1b;[31m", "&#27", "&#155;", "\u009b", "\u202e", "&rlm;",
		"\r\n\r", "&#&#x1b;", "&#0000000027;", "\xff\xfe", "&#x110000;", `\x1b`, "a&#1", "&#x202E"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Escape(s)
		checkSafe(t, s, out)
		if !NeedsEscape(s) && out != s {
			t.Fatalf("Escape changed %q to %q although NeedsEscape says no", s, out)
		}
		if NeedsEscape(s) == (FirstControl(s) < 0) {
			t.Fatalf("NeedsEscape and FirstControl disagree on %q", s)
		}
	})
}
