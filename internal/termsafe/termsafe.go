// Package termsafe makes text from files, from beacons and from the ledger
// safe to put on a terminal, in a Markdown renderer or in an export: control
// characters, bidirectional controls and HTML entities that decode to either
// are shown as visible escapes, so a note or a runbook line can never move the
// cursor, set the window title, write the clipboard or reorder what a reader
// sees. Escape is the one function that does it; text is escaped once, where
// it enters ic, and escaping it again changes nothing.
package termsafe

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Escape returns s with everything a terminal, a Markdown renderer or a
// bidirectional-text algorithm would act on replaced by a visible escape:
//
//   - C0 controls other than tab, newline and the CR of a CRLF pair (ESC
//     becomes \x1b), a lone CR (\r), DEL, and C1 controls (U+0080..U+009F,
//     \x9b);
//   - bidirectional controls: the embeddings and overrides U+202A..U+202E,
//     the isolates U+2066..U+2069, and the marks U+200E, U+200F and U+061C
//     (\u202e): they can make text read differently from what it holds;
//   - HTML numeric character references whose value is one of the above
//     (&#x1b;, &#27;, &#155;, with or without the semicolon, as HTML5
//     decodes them) and the named &lrm; and &rlm;: goldmark, glamour and
//     browsers decode them, so they are escaped as what they decode to;
//   - bytes that are not valid UTF-8 (\xNN).
//
// Text that holds none of them is returned unchanged, and Escape(Escape(s))
// == Escape(s).
func Escape(s string) string {
	if !NeedsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		if s[i] == '&' {
			if r, n := entity(s[i:]); n > 0 && unsafeRune(r) {
				writeEscape(&b, r)
				i += n
				continue
			}
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\r' && strings.HasPrefix(s[i+1:], "\n"):
			b.WriteByte('\r')
		case unsafeRune(r):
			writeEscape(&b, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// EscapeLine is Escape for a single line of display: newlines and carriage
// returns are escaped too, so one event stays on one row.
func EscapeLine(s string) string {
	s = Escape(s)
	if !strings.ContainsAny(s, "\n\r") {
		return s
	}
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}

// NeedsEscape reports whether Escape would change s.
func NeedsEscape(s string) bool {
	_, _, _, found := firstUnsafe(s)
	return found
}

// FirstControl returns the byte offset of the first thing Escape would
// rewrite (a control or bidirectional character, an entity decoding to one,
// invalid UTF-8), or -1 when there is none.
func FirstControl(s string) int {
	off, _, _, found := firstUnsafe(s)
	if !found {
		return -1
	}
	return off
}

// Finding is one thing in a text that Escape rewrites.
type Finding struct {
	Offset int    // byte offset in the text
	Len    int    // bytes it spans
	What   string // in words: "control character U+001B", "HTML entity #x1b; for control character U+001B"
}

// Find returns the first max findings in s, in order (all of them when max
// is 0 or less); lint reports them with their lines.
func Find(s string, max int) []Finding {
	var out []Finding
	for off := 0; off < len(s) && (max <= 0 || len(out) < max); {
		i, n, r, found := firstUnsafe(s[off:])
		if !found {
			break
		}
		at := off + i
		what := describe(r)
		switch {
		case r == utf8.RuneError && n == 1 && s[at] != '&':
			what = fmt.Sprintf("invalid UTF-8 byte 0x%02x", s[at])
		case s[at] == '&':
			// The entity is named without its ampersand: written whole, it
			// would be escaped itself wherever this message is shown.
			what = fmt.Sprintf("HTML entity %s for %s", s[at+1:at+n], what)
		}
		out = append(out, Finding{Offset: at, Len: n, What: what})
		off = at + n
	}
	return out
}

// firstUnsafe finds the first thing to escape: its offset and length in s and
// the rune it stands for.
func firstUnsafe(s string) (off, n int, r rune, found bool) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '&':
				if r, n := entity(s[i:]); n > 0 && unsafeRune(r) {
					return i, n, r, true
				}
			case c == '\r':
				if i+1 == len(s) || s[i+1] != '\n' {
					return i, 1, '\r', true
				}
			case unsafeRune(rune(c)):
				return i, 1, rune(c), true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || unsafeRune(r) {
			return i, size, r, true
		}
		i += size
	}
	return 0, 0, 0, false
}

// unsafeRune reports whether r is a control (other than tab and newline) or
// a bidirectional control. A lone CR is handled by the callers, which know
// whether a newline follows.
func unsafeRune(r rune) bool {
	switch {
	case r == '\t' || r == '\n':
		return false
	case r < 0x20 || r == 0x7f:
		return true
	case r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return false
}

func writeEscape(b *strings.Builder, r rune) {
	switch {
	case r == '\r':
		b.WriteString(`\r`)
	case r < 0x100:
		fmt.Fprintf(b, `\x%02x`, r)
	default:
		fmt.Fprintf(b, `\u%04x`, r)
	}
}

func describe(r rune) string {
	if r == 0x061c || r >= 0x200e {
		return fmt.Sprintf("bidirectional control %U", r)
	}
	return fmt.Sprintf("control character %U", r)
}

// entity reads an HTML character reference at the start of s ("&#27;",
// "&#x1B", "&rlm;") and returns the rune it decodes to and its length; n is 0
// when s does not start with one that matters here. A numeric reference
// is read as HTML5 reads it: the semicolon is optional and every digit
// counts, so "&#0000027" is ESC. Values past U+10FFFF decode to U+FFFD.
func entity(s string) (r rune, n int) {
	if len(s) < 3 || s[0] != '&' {
		return 0, 0
	}
	if s[1] != '#' {
		for _, named := range [...]struct {
			name string
			r    rune
		}{{"&lrm;", 0x200e}, {"&rlm;", 0x200f}} {
			if strings.HasPrefix(s, named.name) {
				return named.r, len(named.name)
			}
		}
		return 0, 0
	}
	i, base := 2, 10
	if s[i] == 'x' || s[i] == 'X' {
		i, base = 3, 16
	}
	start := i
	v := 0
	for ; i < len(s); i++ {
		d := digit(s[i], base)
		if d < 0 {
			break
		}
		if v <= utf8.MaxRune {
			v = v*base + d
		}
	}
	if i == start {
		return 0, 0
	}
	if i < len(s) && s[i] == ';' {
		i++
	}
	if v > utf8.MaxRune {
		return utf8.RuneError, i
	}
	return rune(v), i
}

func digit(c byte, base int) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case base == 16 && c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case base == 16 && c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
