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
	"time"

	"github.com/icconsole/ic/internal/redact"
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
// info, an API key in the query or the path); Name never does.
type Endpoint struct {
	url     *url.URL
	Name    string
	secrets *redact.Redactor // what this URL carries, to hide wherever it is echoed
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
			return nil, fmt.Errorf("beacon endpoint %q is not an http(s) URL (write it as https://host/...)", redact.URL(s))
		}
		r := redact.New()
		r.AddURL(s)
		out = append(out, Endpoint{url: u, Name: r.URL(s), secrets: r})
	}
	if len(out) == 0 {
		return nil, errors.New("no beacon endpoint given (--beacon URL,URL or IC_BEACON)")
	}
	return out, nil
}

// redactorFor is one redactor that knows the secrets of every endpoint,
// and extra ones the caller holds.
func redactorFor(eps []Endpoint, extra ...string) *redact.Redactor {
	r := redact.New(extra...)
	for _, ep := range eps {
		if ep.url != nil {
			r.AddURL(ep.url.String())
		}
	}
	return r
}

// Outcomes of an Attempt.
const (
	OutcomeOK     = "ok"     // the answer was used
	OutcomeFailed = "failed" // no usable answer: unreachable, refused, an error status
	OutcomeLied   = "lied"   // an answer that failed validation: the provider is not asked again in this check
)

// Attempt records one request to one provider and what came of it.
type Attempt struct {
	Endpoint       string         `json:"endpoint"`
	Path           string         `json:"path"`
	Stage          string         `json:"stage,omitempty"`  // genesis, fork_schedule, bootstrap, updates
	Period         *uint64        `json:"period,omitempty"` // the first period asked for (updates) or being checked
	Status         int            `json:"status,omitempty"`
	Outcome        string         `json:"outcome,omitempty"`
	Classification Classification `json:"classification,omitempty"`
	Error          string         `json:"error,omitempty"`
	Bytes          int            `json:"bytes,omitempty"`
}

func (a Attempt) String() string {
	if a.Outcome == OutcomeOK {
		return fmt.Sprintf("%s%s: ok (%d bytes)", a.Endpoint, a.Path, a.Bytes)
	}
	s := fmt.Sprintf("%s%s: %s (%s)", a.Endpoint, a.Path, a.Error, a.Classification)
	if a.Outcome == OutcomeLied {
		s += " [lied: not asked again in this check]"
	}
	return s
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

// Classification of the whole failure: a content class (invalid_signature,
// invalid_proof, limit_exceeded, redirect_refused) when some provider
// answered with bytes that did not verify, environment_deny when every
// provider denied, bad_input when none had the object, otherwise an
// upstream outage.
func (e *FetchError) Classification() Classification {
	return classifyAttempts(e.Attempts)
}

func classifyAttempts(attempts []Attempt) Classification {
	for _, want := range []Classification{ClassInvalidSignature, ClassInvalidProof, ClassLimitExceeded, ClassRedirectRefused} {
		for _, a := range attempts {
			if a.Classification == want {
				return want
			}
		}
	}
	class := ClassEnvironmentDeny
	for _, a := range attempts {
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

// Client talks to the light-client endpoints of 1-3 providers, in order.
type Client struct {
	Endpoints []Endpoint
	HTTP      *http.Client
	// Attempts holds every failed attempt so far, classified.
	Attempts []Attempt

	redactor *redact.Redactor
}

// NewClient makes a client with a per-request timeout that follows
// redirects only to the same host (a provider's load balancer may
// redirect; another host is refused, classified redirect_refused).
func NewClient(endpoints []Endpoint, timeout time.Duration) *Client {
	r := redactorFor(endpoints)
	return &Client{
		Endpoints: endpoints,
		HTTP:      &http.Client{Timeout: timeout, CheckRedirect: sameHostOnly(r)},
		redactor:  r,
	}
}

// maxRedirects bounds a chain of same-host redirects.
const maxRedirects = 3

// RedirectError is a redirect the client refused to follow.
type RedirectError struct {
	From, To string // redacted URLs
	Reason   string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("refused a redirect from %s to %s: %s", e.From, e.To, e.Reason)
}

func sameHostOnly(r *redact.Redactor) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		first := via[0].URL
		switch {
		case len(via) > maxRedirects:
			return &RedirectError{From: r.URL(first.String()), To: r.URL(req.URL.String()), Reason: fmt.Sprintf("more than %d redirects", maxRedirects)}
		case !strings.EqualFold(req.URL.Host, first.Host):
			return &RedirectError{From: r.URL(first.String()), To: r.URL(req.URL.String()), Reason: fmt.Sprintf("host %s is not %s: a beacon provider may redirect only within its own host", r.URL(req.URL.Host), r.URL(first.Host))}
		case first.Scheme == "https" && req.URL.Scheme != "https":
			return &RedirectError{From: r.URL(first.String()), To: r.URL(req.URL.String()), Reason: "from https to " + req.URL.Scheme}
		}
		return nil
	}
}

// Response size caps, per endpoint. Real answers: genesis ~250 bytes, a
// fork schedule of 7 forks ~700, a bootstrap ~64 KB, an update ~70 KB
// (pretty-printed).
const (
	capGenesis        = 64 << 10
	capForkSchedule   = 64 << 10
	capBootstrap      = 512 << 10
	capUpdate         = 512 << 10 // per update asked for
	MaxUpdatesPerCall = 128       // the beacon API's own limit on count
	MaxForks          = 64
)

func (c *Client) redact(s string) string {
	if c.redactor == nil {
		c.redactor = redactorFor(c.Endpoints)
	}
	return c.redactor.Text(s)
}

// fetch asks endpoint i for path, reading at most limit bytes; the attempt
// says what came of it (OutcomeOK with the body, or failed and classified).
func (c *Client) fetch(ctx context.Context, i int, path string, limit int64, stage string, period *uint64) ([]byte, Attempt) {
	ep := c.Endpoints[i]
	a := Attempt{Endpoint: ep.Name, Path: path, Stage: stage, Period: period, Outcome: OutcomeFailed}
	u := *ep.url
	u.Path = strings.TrimSuffix(u.Path, "/") + strings.SplitN(path, "?", 2)[0]
	u.RawPath = ""
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
		a.Error = c.redact(a.Error)
		return nil, a
	}
	defer resp.Body.Close()
	a.Status = resp.StatusCode
	if resp.ContentLength > limit {
		a.Outcome, a.Classification, a.Error = OutcomeLied, ClassLimitExceeded, fmt.Sprintf("the response is %d bytes; at most %d are read for %s", resp.ContentLength, limit, stageOr(stage, path))
		return nil, a
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	a.Bytes = len(body)
	if err != nil {
		a.Classification, a.Error = ClassUpstreamOutage, c.redact("reading the response: "+cleanNetError(err))
		return nil, a
	}
	if int64(len(body)) > limit {
		a.Outcome, a.Classification, a.Error = OutcomeLied, ClassLimitExceeded, fmt.Sprintf("the response is over %d bytes, the most read for %s", limit, stageOr(stage, path))
		return nil, a
	}
	if resp.StatusCode != http.StatusOK {
		a.Classification, a.Error = classifyStatus(resp, body, c.redact)
		return nil, a
	}
	a.Outcome = OutcomeOK
	return body, a
}

func stageOr(stage, path string) string {
	if stage != "" {
		return stage
	}
	return path
}

// classifyStatus sorts a non-200 answer. A 403 whose body is not JSON (a
// proxy's "Host not in allowlist"), or any answer with an x-deny-reason
// header, means this runtime may not reach the endpoint: not an outage,
// not a code defect. The body is redacted before it is cut to a snippet,
// so a secret it echoes cannot survive in part.
func classifyStatus(resp *http.Response, body []byte, redactText func(string) string) (Classification, string) {
	snippet := redactText(strings.Join(strings.Fields(string(body)), " "))
	if r := []rune(snippet); len(r) > 160 {
		snippet = string(r[:160]) + "…"
	}
	msg := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if snippet != "" {
		msg += ": " + snippet
	}
	isJSON := len(bytes.TrimSpace(body)) > 0 && bytes.TrimSpace(body)[0] == '{'
	switch {
	case resp.Header.Get("X-Deny-Reason") != "":
		return ClassEnvironmentDeny, msg + " (x-deny-reason: " + redactText(resp.Header.Get("X-Deny-Reason")) + ")"
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
	var redirect *RedirectError
	switch {
	case errors.As(err, &redirect):
		return ClassRedirectRefused, redirect.Error()
	case errors.As(err, &dns) && dns.IsNotFound:
		return ClassEnvironmentDeny, msg + " (the name does not resolve from here)"
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return ClassUpstreamOutage, "timed out"
	case errors.Is(err, context.Canceled):
		return ClassInterrupted, "interrupted"
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
