package termsafe

import "testing"

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
		{"héllo ✓", "héllo ✓"},
	}
	for _, c := range cases {
		if got := Escape(c.in); got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := NeedsEscape(c.in); got != (c.in != c.want) {
			t.Errorf("NeedsEscape(%q) = %v", c.in, got)
		}
	}
}

func TestEscapeLine(t *testing.T) {
	if got := EscapeLine("a\nb\x1b[2J"); got != `a\nb\x1b[2J` {
		t.Errorf("EscapeLine = %q", got)
	}
}

func TestFirstControl(t *testing.T) {
	if got := FirstControl("ok\x1bno"); got != 2 {
		t.Errorf("FirstControl = %d, want 2", got)
	}
	if got := FirstControl("all fine\n"); got != -1 {
		t.Errorf("FirstControl = %d, want -1", got)
	}
}
