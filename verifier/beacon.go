package verifier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// MainnetGenesis is mainnet's genesis validators root, used offline.
var MainnetGenesis = Genesis{
	ValidatorsRoot: mustRoot("4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95"),
}

func mustRoot(h string) Root {
	d := &decoder{doc: "built-in"}
	r := d.root("root", "0x"+h)
	if d.err != nil {
		panic(d.err)
	}
	return r
}

// Endpoint is one beacon provider. Its URL may carry credentials (user
// info, an API key in the query); Name never does.
type Endpoint struct {
	url  *url.URL
	Name string
}

// ParseEndpoints parses a comma-separated list of beacon API base URLs.
func ParseEndpoints(list string) ([]Endpoint, error) {
	var out []Endpoint
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("beacon endpoint %q is not an http(s) URL", redactRaw(s))
		}
		out = append(out, Endpoint{url: u, Name: redact(u)})
	}
	if len(out) == 0 {
		return nil, errors.New("no beacon endpoint given (--beacon URL,URL or IC_BEACON)")
	}
	return out, nil
}

// redact keeps scheme, host and path: user info and query strings often
// hold API keys.
func redact(u *url.URL) string {
	s := u.Scheme + "://" + u.Host + strings.TrimSuffix(u.Path, "/")
	if u.RawQuery != "" {
		s += "?…"
	}
	return s
}

func redactRaw(s string) string {
	if i := strings.Index(s, "@"); i >= 0 {
		if j := strings.Index(s, "://"); j >= 0 && j < i {
			s = s[:j+3] + "…" + s[i:]
		}
	}
	if i := strings.Index(s, "?"); i >= 0 {
		s = s[:i] + "?…"
	}
	return s
}

// Attempt records one request to one provider.
type Attempt struct {
	Endpoint       string         `json:"endpoint"`
	Path           string         `json:"path"`
	Status         int            `json:"status,omitempty"`
	Classification Classification `json:"classification"`
	Error          string         `json:"error"`
}

func (a Attempt) String() string {
	return fmt.Sprintf("%s%s: %s (%s)", a.Endpoint, a.Path, a.Error, a.Classification)
}

// FetchError is returned when every provider failed; each attempt is
// classified.
type FetchError struct {
	Path     string
	Attempts []Attempt
}

func (e *FetchError) Error() string {
	parts := make([]string, len(e.Attempts))
	for i, a := range e.Attempts {
		parts[i] = a.String()
	}
	return fmt.Sprintf("every beacon endpoint failed for %s: %s", e.Path, strings.Join(parts, "; "))
}

// Classification of the whole failure: environment_deny when every
// provider denied, bad_input when none had the object, otherwise an
// upstream outage.
func (e *FetchError) Classification() Classification {
	class := ClassEnvironmentDeny
	for _, a := range e.Attempts {
		switch a.Classification {
		case ClassEnvironmentDeny:
		case ClassBadInput:
			class = ClassBadInput
		default:
			return ClassUpstreamOutage
		}
	}
	return class
}

// Client talks to the light-client endpoints of 1-3 providers, in order,
// falling over to the next on any failure.
type Client struct {
	Endpoints []Endpoint
	HTTP      *http.Client
	// Attempts holds every failed attempt so far, classified.
	Attempts []Attempt
}

// NewClient makes a client with a per-request timeout.
func NewClient(endpoints []Endpoint, timeout time.Duration) *Client {
	return &Client{Endpoints: endpoints, HTTP: &http.Client{Timeout: timeout}}
}

// maxBody bounds a response: a full updates response for 128 periods is
// about 3 MB.
const maxBody = 32 << 20

// Get fetches path from the first provider that answers 200 with a body
// that accept takes; it returns the body and the provider's name.
func (c *Client) Get(ctx context.Context, path string, accept func([]byte) error) ([]byte, string, error) {
	fe := &FetchError{Path: path}
	for _, ep := range c.Endpoints {
		body, a := c.try(ctx, ep, path, accept)
		if a == nil {
			return body, ep.Name, nil
		}
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		fe.Attempts = append(fe.Attempts, *a)
		c.Attempts = append(c.Attempts, *a)
	}
	return nil, "", fe
}

func (c *Client) try(ctx context.Context, ep Endpoint, path string, accept func([]byte) error) ([]byte, *Attempt) {
	a := &Attempt{Endpoint: ep.Name, Path: path}
	u := *ep.url
	u.Path = strings.TrimSuffix(u.Path, "/") + strings.SplitN(path, "?", 2)[0]
	if i := strings.Index(path, "?"); i >= 0 {
		q := u.Query()
		extra, _ := url.ParseQuery(path[i+1:])
		for k, v := range extra {
			q[k] = v
		}
		u.RawQuery = q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		a.Classification, a.Error = ClassBadInput, "bad request"
		return nil, a
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		a.Classification, a.Error = classifyNetError(err)
		return nil, a
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	a.Status = resp.StatusCode
	if err != nil {
		a.Classification, a.Error = ClassUpstreamOutage, "reading the response: "+cleanNetError(err)
		return nil, a
	}
	if resp.StatusCode != http.StatusOK {
		a.Classification, a.Error = classifyStatus(resp, body)
		return nil, a
	}
	if err := accept(body); err != nil {
		a.Classification, a.Error = ClassUpstreamOutage, "unusable response: "+err.Error()
		return nil, a
	}
	return body, nil
}

// classifyStatus sorts a non-200 answer. A 403 whose body is not JSON (a
// proxy's "Host not in allowlist"), or any answer with an x-deny-reason
// header, means this runtime may not reach the endpoint: not an outage,
// not a code defect.
func classifyStatus(resp *http.Response, body []byte) (Classification, string) {
	snippet := strings.TrimSpace(string(body))
	if len(snippet) > 120 {
		snippet = snippet[:120] + "…"
	}
	msg := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if snippet != "" {
		msg += ": " + strings.Join(strings.Fields(snippet), " ")
	}
	isJSON := len(bytes.TrimSpace(body)) > 0 && bytes.TrimSpace(body)[0] == '{'
	switch {
	case resp.Header.Get("X-Deny-Reason") != "":
		return ClassEnvironmentDeny, msg + " (x-deny-reason: " + resp.Header.Get("X-Deny-Reason") + ")"
	case (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusProxyAuthRequired) && !isJSON:
		return ClassEnvironmentDeny, msg
	case resp.StatusCode == http.StatusTooManyRequests:
		return ClassUpstreamOutage, msg + " (rate limited)"
	case resp.StatusCode >= 500:
		return ClassUpstreamOutage, msg
	case resp.StatusCode == http.StatusNotFound:
		return ClassBadInput, msg + " (the provider does not have this object)"
	}
	return ClassUpstreamOutage, msg
}

// classifyNetError sorts a transport failure, keeping URLs (and so any
// credentials) out of the message.
func classifyNetError(err error) (Classification, string) {
	msg := cleanNetError(err)
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns) && dns.IsNotFound:
		return ClassEnvironmentDeny, msg + " (the name does not resolve from here)"
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return ClassUpstreamOutage, "timed out"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ClassUpstreamOutage, msg
	}
	return ClassUpstreamOutage, msg
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func cleanNetError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}
