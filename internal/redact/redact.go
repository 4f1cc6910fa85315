// Package redact keeps secrets out of everything ic prints or records: the
// credentials people put in beacon URLs (user info, API keys in the query or
// in the path), and whatever a server echoes back in an error body
// (Authorization headers, bearer tokens, cookies, the keys themselves).
//
// One Redactor is built per check from the URLs it will use; it learns their
// secrets so that an exact echo of them is caught even where no pattern
// would be, and it applies the same patterns everywhere else. A nil or zero
// Redactor still applies every pattern.
//
// Redaction is deliberately greedy: a long random-looking token in an error
// body is hidden even if it was harmless. 0x-prefixed hex (block roots,
// signatures) is never hidden: the audit trail needs it.
package redact

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Mark replaces every secret.
const Mark = "[redacted]"

// minSecret is the shortest registered secret that is replaced verbatim: a
// shorter one would turn ordinary words into marks and is no secret anyway.
const minSecret = 4

// Redactor hides secrets in URLs and text. Build it with New, then use it
// from any number of goroutines (it is not changed after Add returns).
type Redactor struct {
	secrets []string // longest first, so a secret that contains another goes whole
}

// New returns a redactor that also replaces each secret given, verbatim and
// in its URL-escaped forms.
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// Add registers more secrets. Call it before the redactor is shared.
func (r *Redactor) Add(secrets ...string) {
	for _, s := range secrets {
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s)} {
			if len(form) >= minSecret && form != Mark && !contains(r.secrets, form) {
				r.secrets = append(r.secrets, form)
			}
		}
	}
	sort.SliceStable(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

// AddURL registers the secrets a URL carries: its user name and password
// (and their Basic-auth encoding, which a server may echo), its query values,
// and its path segments that look like keys. It accepts a URL without a
// scheme (user:pass@host/path) too.
func (r *Redactor) AddURL(raw string) {
	u := parse(raw)
	if u == nil {
		return
	}
	if u.User != nil {
		name := u.User.Username()
		pass, hasPass := u.User.Password()
		r.Add(name, pass)
		if hasPass {
			basic := name + ":" + pass
			r.Add(base64.StdEncoding.EncodeToString([]byte(basic)), base64.RawStdEncoding.EncodeToString([]byte(basic)))
		}
	}
	for _, vs := range u.Query() {
		r.Add(vs...)
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if pathSegmentIsKey(seg) {
			r.Add(seg)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// URL returns raw with its user info, query values, fragment and key-like
// path segments replaced by Mark. Scheme, host and the other path segments
// are kept, so the reader still knows which provider it was. A trailing
// slash is dropped. Something that does not parse as a URL is redacted as
// text.
func (r *Redactor) URL(raw string) string {
	raw = strings.TrimSpace(raw)
	// A URL redacted once has marks that url.Parse refuses in user info:
	// stand them in with a plain word so a second pass changes nothing.
	u := parse(strings.ReplaceAll(raw, Mark, markStandIn))
	if u == nil || u.Host == "" {
		return r.rest(r.replaceSecrets(crudeURL(raw)))
	}
	var b strings.Builder
	if u.Scheme != "" {
		b.WriteString(u.Scheme)
		b.WriteString("://")
	}
	if u.User != nil {
		b.WriteString(Mark)
		b.WriteString("@")
	}
	b.WriteString(u.Host)
	segs := strings.Split(strings.TrimSuffix(u.EscapedPath(), "/"), "/")
	for i, seg := range segs {
		if i == 0 && seg == "" {
			continue
		}
		b.WriteString("/")
		plain, err := url.PathUnescape(seg)
		if err != nil {
			plain = seg
		}
		if pathSegmentIsKey(plain) {
			b.WriteString(Mark)
		} else {
			b.WriteString(seg)
		}
	}
	if u.RawQuery != "" || u.ForceQuery {
		b.WriteString("?")
		b.WriteString(redactQuery(u.RawQuery))
	}
	return r.replaceSecrets(strings.ReplaceAll(b.String(), markStandIn, Mark))
}

const markStandIn = "xredactedx"

// crudeURL hides what may be user info and the query of a string that does
// not parse as a URL.
func crudeURL(raw string) string {
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 {
		start = i + 3
	}
	hostEnd := len(raw)
	if i := strings.IndexAny(raw[start:], "/?#"); i >= 0 {
		hostEnd = start + i
	}
	if at := strings.LastIndex(raw[start:hostEnd], "@"); at >= 0 {
		raw = raw[:start] + Mark + raw[start+at:]
	}
	if q := strings.IndexAny(raw, "?#"); q >= 0 {
		raw = raw[:q+1] + Mark
	}
	return raw
}

// parse reads a URL, with or without a scheme; nil when it is not one.
func parse(raw string) *url.URL {
	if raw == "" {
		return nil
	}
	if !strings.Contains(raw, "://") {
		// user:pass@host/path: without "//" url.Parse would read "user" as
		// the scheme and the password as an opaque path.
		raw = "//" + strings.TrimPrefix(raw, "//")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	return u
}

// redactQuery keeps the names of query parameters (when they look like
// names) and hides every value.
func redactQuery(q string) string {
	parts := strings.Split(q, "&")
	for i, p := range parts {
		name, _, hasValue := strings.Cut(p, "=")
		if !plainName.MatchString(name) {
			name = Mark
		}
		if hasValue {
			parts[i] = name + "=" + Mark
		} else {
			parts[i] = name
		}
	}
	return strings.Join(parts, "&")
}

var plainName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.\-\[\]]{0,31}$`)

// pathSegmentIsKey says whether a URL path segment looks like an API key
// rather than a route: 16 characters or more, not 0x-hex (a block root),
// not only digits (a slot), and not only lower-case letters with - or _
// (a route such as optimistic_update).
func pathSegmentIsKey(seg string) bool {
	if len(seg) < 16 || isHexRoot(seg) {
		return false
	}
	digitsOnly, routeOnly := true, true
	for _, c := range seg {
		switch {
		case c >= '0' && c <= '9':
			routeOnly = false
		case c >= 'a' && c <= 'z', c == '-', c == '_':
			digitsOnly = false
		default:
			digitsOnly, routeOnly = false, false
		}
	}
	return !digitsOnly && !routeOnly
}

func isHexRoot(s string) bool {
	if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
		return false
	}
	for _, c := range s[2:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// The patterns Text applies, in order.
var (
	// A URL with a scheme, up to whitespace or a quote.
	urlPattern = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.\-]*://[^\s"'<>\x60]+`)
	// user:pass@host without a scheme.
	userinfoPattern = regexp.MustCompile(`[^\s/@:"'<>=,;()\[\]{}]+:[^\s/@"'<>]+@([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])`)
	// A header (raw, JSON or Go's map printing) whose value is a credential.
	headerPattern = regexp.MustCompile(`(?i)((?:proxy-)?authorization|x-api-key|api-key|x-auth-token|auth-token|x-access-token|cookie|set-cookie)("?\s*[:=]\s*)(\[?"?)`)
	// A credential scheme and its token anywhere.
	bearerPattern = regexp.MustCompile(`\b(Bearer|bearer|BEARER|Basic|BASIC|Digest)(\s+)([A-Za-z0-9._~+/=\-]{8,})`)
	// name=value or "name": "value" for names that hold secrets.
	pairPattern = regexp.MustCompile(`(?i)("?)\b(api[_\-]?key|apikey|access[_\-]?token|auth[_\-]?token|refresh[_\-]?token|token|secret|client[_\-]?secret|password|passwd|pwd|key|auth|session|sessionid|sig)("?\s*[:=]\s*"?)([^\s"&,;'}\]]+)`)
	// A word that may be a random token.
	tokenPattern = regexp.MustCompile(`[A-Za-z0-9_\-+/=~.]{16,}`)
	uuidPattern  = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
)

// Text returns s with secrets replaced by Mark: the registered secrets,
// URLs (as URL does), user:pass@host, the values of credential headers
// (Authorization, Cookie, X-Api-Key...), bearer and basic tokens,
// name=value pairs whose name says secret (apikey, token, password...),
// UUIDs, and long tokens that look random (mixed letters and digits or
// mixed case, 16 characters or more, not 0x-hex).
func (r *Redactor) Text(s string) string {
	if s == "" {
		return s
	}
	s = urlPattern.ReplaceAllStringFunc(s, func(m string) string {
		// A URL at the end of a sentence keeps its full stop outside, and
		// one before ": reason" (Go's url.Error) its colon.
		trail := ""
		for strings.HasSuffix(m, ".") || strings.HasSuffix(m, ",") || strings.HasSuffix(m, ")") || strings.HasSuffix(m, ":") || strings.HasSuffix(m, ";") {
			trail = m[len(m)-1:] + trail
			m = m[:len(m)-1]
		}
		return r.URL(m) + trail
	})
	return r.rest(r.replaceSecrets(s))
}

// Name returns a name the caller chose, such as the path of a file it
// read, with the registered secrets replaced, and URLs as URL gives them.
// Text's heuristics for outside text are not applied: they would take a
// random-looking folder name (mktemp's /tmp/tmp.F9lXqZr2Vb) for a token
// and hide the whole path.
func (r *Redactor) Name(s string) string {
	if s == "" {
		return s
	}
	s = urlPattern.ReplaceAllStringFunc(s, r.URL)
	return r.replaceSecrets(s)
}

// rest applies the patterns other than URLs.
func (r *Redactor) rest(s string) string {
	s = userinfoPattern.ReplaceAllString(s, Mark+"@$1")
	s = redactHeaders(s)
	s = bearerPattern.ReplaceAllStringFunc(s, func(m string) string {
		g := bearerPattern.FindStringSubmatch(m)
		if g[3] == Mark || strings.HasPrefix(g[3], "[redacted") {
			return m
		}
		return g[1] + g[2] + Mark
	})
	s = pairPattern.ReplaceAllStringFunc(s, func(m string) string {
		g := pairPattern.FindStringSubmatch(m)
		if strings.HasPrefix(g[4], "[redacted") || isHexRoot(g[4]) {
			return m
		}
		return g[1] + g[2] + g[3] + Mark
	})
	s = uuidPattern.ReplaceAllString(s, Mark)
	s = tokenPattern.ReplaceAllStringFunc(s, func(m string) string {
		if looksRandom(m) {
			return Mark
		}
		return m
	})
	return s
}

// redactHeaders hides the value of each credential header: up to the
// closing quote or bracket when the value is quoted, else to the end of the
// line.
func redactHeaders(s string) string {
	var b strings.Builder
	for {
		loc := headerPattern.FindStringSubmatchIndex(s)
		if loc == nil {
			b.WriteString(s)
			return b.String()
		}
		if strings.HasPrefix(s[loc[6]:], Mark) { // already redacted
			b.WriteString(s[:loc[6]+len(Mark)])
			s = s[loc[6]+len(Mark):]
			continue
		}
		valueStart := loc[1]
		opener := s[loc[6]:loc[7]]
		end := len(s)
		switch {
		case strings.HasSuffix(opener, `"`):
			if i := strings.IndexByte(s[valueStart:], '"'); i >= 0 {
				end = valueStart + i
			}
		case opener == "[":
			if i := strings.IndexByte(s[valueStart:], ']'); i >= 0 {
				end = valueStart + i
			}
		default:
			if i := strings.IndexAny(s[valueStart:], "\r\n"); i >= 0 {
				end = valueStart + i
			}
		}
		b.WriteString(s[:valueStart])
		if end > valueStart {
			b.WriteString(Mark)
		}
		s = s[end:]
	}
}

// looksRandom says whether a word is more likely a key than prose, a route
// or a file name: at least four changes between letters and digits or from
// lower to upper case (slot-004612096.json has two; a 32-character hex key
// has a dozen). 0x-hex runs (block roots) are skipped.
func looksRandom(w string) bool {
	changes := 0
	var prev byte // 'l' lower, 'u' upper, 'd' digit, 0 none yet
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c == '0' && i+1 < len(w) && (w[i+1] == 'x' || w[i+1] == 'X') && (i == 0 || !isAlnum(w[i-1])) {
			j := i + 2
			for j < len(w) && isHex(w[j]) {
				j++
			}
			if j-i-2 >= 8 && (j == len(w) || !isAlnum(w[j])) {
				i, prev = j-1, 0
				continue
			}
		}
		var cls byte
		switch {
		case c >= 'a' && c <= 'z':
			cls = 'l'
		case c >= 'A' && c <= 'Z':
			cls = 'u'
		case c >= '0' && c <= '9':
			cls = 'd'
		default:
			continue // separators do not end a random token
		}
		if prev != 0 && cls != prev && !(prev == 'u' && cls == 'l') {
			changes++
		}
		prev = cls
	}
	return changes >= 4
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func (r *Redactor) replaceSecrets(s string) string {
	if r == nil {
		return s
	}
	for _, secret := range r.secrets {
		if strings.Contains(s, secret) {
			s = strings.ReplaceAll(s, secret, Mark)
		}
	}
	// A secret cut short by an abbreviation ("…") leaks its start: hide
	// any start of a secret, minSecret characters or more, that ends there.
	if strings.Contains(s, ellipsis) {
		for _, secret := range r.secrets {
			for n := len(secret) - 1; n >= minSecret; n-- {
				if cut := secret[:n] + ellipsis; strings.Contains(s, cut) {
					s = strings.ReplaceAll(s, cut, Mark+ellipsis)
				}
			}
		}
	}
	return s
}

const ellipsis = "…"

// URL redacts a URL with the patterns alone (no registered secrets).
func URL(raw string) string { return (*Redactor)(nil).URL(raw) }

// Text redacts text with the patterns alone (no registered secrets).
func Text(s string) string { return (*Redactor)(nil).Text(s) }
