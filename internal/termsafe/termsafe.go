// Package termsafe makes text from files and from the ledger safe to put on a
// terminal: control characters and escape sequences are shown escaped, so a
// note or a runbook line can never move the cursor, set the window title or
// write the clipboard.
package termsafe

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Escape returns s with every byte that a terminal would act on replaced by a
// visible escape: C0 controls other than tab, newline and the CR of a CRLF
// pair (ESC becomes \x1b), a lone CR (\r),
// DEL, C1 controls (U+0080..U+009F), and bytes that are not valid UTF-8
// (shown as \xNN). Text that holds none of them is returned unchanged.
func Escape(s string) string {
	if !NeedsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\r' && !strings.HasPrefix(s[i+1:], "\n"):
			b.WriteString(`\r`)
		case isControl(r):
			if r < 0x100 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
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

// NeedsEscape reports whether s holds invalid UTF-8 or a control character
// that Escape would rewrite.
func NeedsEscape(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if isControl(rune(c)) || (c == '\r' && (i+1 == len(s) || s[i+1] != '\n')) {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || isControl(r) {
			return true
		}
		i += size
	}
	return false
}

// FirstControl returns the byte offset of the first control character or
// invalid UTF-8 byte in s, or -1 when there is none.
func FirstControl(s string) int {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || isControl(r) {
			return i
		}
		i += size
	}
	return -1
}

func isControl(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return false
	case r < 0x20 || r == 0x7f:
		return true
	case r >= 0x80 && r <= 0x9f:
		return true
	}
	return false
}
