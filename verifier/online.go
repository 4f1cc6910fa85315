package verifier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/icconsole/ic/internal/redact"
)

// Config is how a whole check runs. The zero value works: committees kept
// in memory only, keys trusted through their proven root, default timeouts.
type Config struct {
	// CacheDir keeps decoded committees across runs in files there (ic
	// passes $XDG_CACHE_HOME/ic); "" keeps them in memory only.
	CacheDir string
	// Cache, when not nil, is used instead of CacheDir (a store table...).
	Cache CommitteeCache
	// StrictKeys subgroup-checks every committee key; see Options.
	StrictKeys bool
	// RequestTimeout bounds each request (DefaultRequestTimeout when 0).
	RequestTimeout time.Duration
	// CheckTimeout bounds the whole check (DefaultCheckTimeout when 0).
	CheckTimeout time.Duration
	// Secrets are more values to keep out of the report (a token the caller
	// sends, say); the credentials in the endpoint URLs are known already.
	Secrets []string
}

// Default timeouts.
const (
	DefaultRequestTimeout = 10 * time.Second
	DefaultCheckTimeout   = 60 * time.Second
)

func (c Config) options() Options {
	cache := c.Cache
	if cache == nil && c.CacheDir != "" {
		cache = NewDirCache(c.CacheDir)
	}
	return Options{Cache: cache, StrictKeys: c.StrictKeys}
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// CheckBeacon checks the chain from a trusted checkpoint block root up to
// period (0: the checkpoint's own period) with beacon providers, in order.
// A provider is trusted only for bytes that verify: one that answers with
// anything that fails validation (malformed or oversized data, a branch
// that does not lead to its root, a committee that does not match, an
// update whose signature does not verify with that provider's genesis and
// fork schedule) is marked as lying, never asked again in this check, and
// the walk goes on from the first period not yet verified with the next
// provider. Updates already verified stay verified. The report names each
// provider and what it said; it is never nil.
func CheckBeacon(ctx context.Context, endpoints []Endpoint, checkpoint Root, period uint64, cfg Config) *Report {
	c := NewClient(endpoints, orDefault(cfg.RequestTimeout, DefaultRequestTimeout))
	c.redactor.Add(cfg.Secrets...)
	return c.check(ctx, checkpoint, period, cfg)
}

// Paths of the beacon API the check uses.
const (
	pathGenesis      = "/eth/v1/beacon/genesis"
	pathForkSchedule = "/eth/v1/config/fork_schedule"
	pathBootstrap    = "/eth/v1/beacon/light_client/bootstrap/"
	pathUpdates      = "/eth/v1/beacon/light_client/updates"
)

// onlineCheck is the state of one CheckBeacon.
type onlineCheck struct {
	c        *Client
	parent   context.Context
	timeout  time.Duration
	k        *Checker
	rep      *Report
	lied     []bool
	used     []bool // served bytes that verified and were used
	verified [][]uint64
	chains   []*providerChain
}

// providerChain is what one provider says about the chain: its genesis and
// fork schedule, used only for the updates it serves, so that a provider
// lying about them fails its own signatures and nobody else's.
type providerChain struct {
	genesis    Genesis
	forks      ForkSchedule
	forkSource string
}

func (c *Client) check(parent context.Context, checkpoint Root, period uint64, cfg Config) *Report {
	started := time.Now()
	timeout := orDefault(cfg.CheckTimeout, DefaultCheckTimeout)
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	if c.redactor == nil {
		c.redactor = redactorFor(c.Endpoints, cfg.Secrets...)
	}
	n := len(c.Endpoints)
	s := &onlineCheck{
		c: c, parent: parent, timeout: timeout,
		k:        NewCheckerWith(Genesis{}, nil, cfg.options()),
		rep:      &Report{Mode: "online", Checkpoint: fmt.Sprintf("0x%x", checkpoint), StrictKeys: cfg.StrictKeys},
		lied:     make([]bool, n),
		used:     make([]bool, n),
		verified: make([][]uint64, n),
		chains:   make([]*providerChain, n),
	}
	if period != 0 {
		s.rep.ToPeriod = ptr(period)
	}
	s.run(ctx, checkpoint, period)
	s.rep.Cache = s.k.CacheEvents()
	s.rep.Providers = s.providerReports()
	return s.rep.finish(c.redactor, started)
}

func (s *onlineCheck) run(ctx context.Context, checkpoint Root, period uint64) {
	if len(s.c.Endpoints) == 0 {
		s.rep.Failure = &Failure{Stage: "check", Class: ClassBadInput, Error: "no beacon endpoint given"}
		return
	}
	boot, first := s.bootstrap(ctx, checkpoint)
	if boot == nil {
		return
	}
	start := PeriodAt(boot.Header.Slot)
	s.rep.FromPeriod = ptr(start)
	target := period
	if target == 0 {
		target = start
	}
	s.rep.ToPeriod = ptr(target)
	switch {
	case target < start:
		s.rep.Failure = &Failure{Stage: "check", Period: ptr(target), Class: ClassBadInput,
			Error: fmt.Sprintf("period %d is before the checkpoint's period %d: choose an older checkpoint", target, start)}
		return
	case target-start+1 > MaxUpdatesPerCall:
		s.rep.Failure = &Failure{Stage: "check", Period: ptr(target), Class: ClassLimitExceeded,
			Error: fmt.Sprintf("period %d is %d periods after the checkpoint's (%d): at most %d in one check; choose a newer checkpoint", target, target-start, start, MaxUpdatesPerCall)}
		return
	}
	s.updates(ctx, start, target, first)
}

// stopped reports (and records as the failure) a check that ran out of
// time or was cancelled.
func (s *onlineCheck) stopped(ctx context.Context, stage string, period *uint64) bool {
	if ctx.Err() == nil {
		return false
	}
	f := &Failure{Stage: stage, Period: period, Class: ClassUpstreamOutage,
		Error: fmt.Sprintf("the check took longer than its limit of %s", s.timeout)}
	if s.parent.Err() != nil {
		f.Class, f.Error = ClassInterrupted, "the check was interrupted"
	}
	if n := len(s.rep.Attempts); n > 0 {
		f.Provider = s.rep.Attempts[n-1].Endpoint
	}
	s.rep.Failure = f
	return true
}

// record keeps an attempt, marks a liar, and keeps failures where the old
// Client.Attempts API shows them.
func (s *onlineCheck) record(i int, a Attempt) {
	a.Error = s.c.redact(a.Error)
	if a.Outcome == OutcomeLied {
		s.lied[i] = true
	}
	if a.Outcome != OutcomeOK {
		s.c.Attempts = append(s.c.Attempts, a)
	}
	s.rep.Attempts = append(s.rep.Attempts, a)
}

// lie turns an attempt whose bytes failed validation into a lie.
func lie(a *Attempt, class Classification, err error) {
	a.Outcome, a.Classification, a.Error = OutcomeLied, class, err.Error()
}

// classOf sorts a validation error.
func classOf(err error) Classification {
	var pe *ProofError
	var le *LimitError
	var de *DecodeError
	switch {
	case errors.As(err, &pe):
		return ClassInvalidProof
	case errors.As(err, &le):
		return ClassLimitExceeded
	case errors.As(err, &de):
		return ClassUpstreamOutage // malformed: HTML, truncated or wrong JSON
	}
	return ClassBadInput
}

// failStage records that no provider gave a usable answer at a stage.
func (s *onlineCheck) failStage(stage, path string, period *uint64, from int) {
	attempts := s.rep.Attempts[from:]
	f := &Failure{Stage: stage, Period: period, Class: classifyAttempts(attempts)}
	if len(attempts) == 0 {
		f.Class, f.Error = ClassBadInput, "every provider was marked as lying earlier in this check: none left to ask"
	} else {
		// Name the provider whose answer gave the check its class: a liar
		// rather than the outage after it.
		f.Provider = attempts[len(attempts)-1].Endpoint
		for _, a := range attempts {
			if a.Classification == f.Class {
				f.Provider = a.Endpoint
				break
			}
		}
		f.Error = (&FetchError{Path: path, Attempts: attempts}).Error()
	}
	s.rep.Failure = f
}

// bootstrap fetches the bootstrap for the checkpoint from the first
// provider whose answer proves its committee against the checkpoint.
func (s *onlineCheck) bootstrap(ctx context.Context, checkpoint Root) (*Bootstrap, *Committee) {
	path := pathBootstrap + fmt.Sprintf("0x%x", checkpoint)
	from := len(s.rep.Attempts)
	for i := range s.c.Endpoints {
		if s.lied[i] {
			continue
		}
		if s.stopped(ctx, "bootstrap", nil) {
			return nil, nil
		}
		body, a := s.c.fetch(ctx, i, path, capBootstrap, "bootstrap", nil)
		var boot *Bootstrap
		var first *Committee
		if a.Outcome == OutcomeOK {
			b, err := DecodeBootstrap(body)
			if err == nil {
				first, err = s.k.TrustBootstrap(b, &checkpoint)
			}
			if err != nil {
				lie(&a, classOf(err), err)
			} else {
				boot = b
			}
		}
		s.record(i, a)
		if boot != nil {
			s.used[i] = true
			return boot, first
		}
	}
	if !s.stopped(ctx, "bootstrap", nil) {
		s.failStage("bootstrap", path, nil, from)
	}
	return nil, nil
}

// chain fetches provider i's genesis and fork schedule, once. A fork
// schedule it does not serve (404, outage) is replaced by the built-in
// mainnet one; one that is malformed or too long is a lie.
func (s *onlineCheck) chain(ctx context.Context, i int) *providerChain {
	if s.chains[i] != nil {
		return s.chains[i]
	}
	body, a := s.c.fetch(ctx, i, pathGenesis, capGenesis, "genesis", nil)
	var g Genesis
	if a.Outcome == OutcomeOK {
		var err error
		if g, err = DecodeGenesis(body); err != nil {
			lie(&a, classOf(err), err)
		}
	}
	s.record(i, a)
	if a.Outcome != OutcomeOK {
		return nil
	}
	pc := &providerChain{genesis: g, forks: MainnetForks, forkSource: "built-in mainnet schedule"}
	body, a = s.c.fetch(ctx, i, pathForkSchedule, capForkSchedule, "fork_schedule", nil)
	if a.Outcome == OutcomeOK {
		forks, err := DecodeForkSchedule(body)
		if err != nil {
			lie(&a, classOf(err), err)
		} else {
			pc.forks, pc.forkSource = forks, s.c.Endpoints[i].Name
		}
	} else {
		a.Error += "; the built-in mainnet schedule is used"
	}
	s.record(i, a)
	if a.Outcome == OutcomeLied {
		return nil
	}
	s.chains[i] = pc
	return pc
}

// updates walks periods start..target, asking providers in order from the
// first period not yet verified.
func (s *onlineCheck) updates(ctx context.Context, start, target uint64, first *Committee) {
	trusted := map[uint64]*Committee{start: first}
	next := start
	var lastFailed *Result
	from := len(s.rep.Attempts)
	path := ""
	for i, ep := range s.c.Endpoints {
		if next > target {
			break
		}
		if s.lied[i] {
			continue
		}
		if s.stopped(ctx, "updates", ptr(next)) {
			return
		}
		pc := s.chain(ctx, i)
		if pc == nil {
			continue
		}
		count := target - next + 1
		path = fmt.Sprintf("%s?start_period=%d&count=%d", pathUpdates, next, count)
		body, a := s.c.fetch(ctx, i, path, int64(count)*capUpdate, "updates", ptr(next))
		if a.Outcome != OutcomeOK {
			s.record(i, a)
			continue
		}
		updates, err := decodeUpdatesAtMost(body, int(count))
		if err != nil {
			lie(&a, classOf(err), err)
			s.record(i, a)
			continue
		}
		sum := sha256.Sum256(body)
		k := s.k.withChain(pc.genesis, pc.forks)
		asked := next
		for n, u := range updates {
			if p := PeriodAt(u.SignatureSlot); p != next {
				lie(&a, ClassBadInput, fmt.Errorf("update %d is signed in period %d where period %d was due: updates come one per period, in order", n+1, p, next))
				break
			}
			r, nc := k.CheckUpdate(trusted[next], u)
			r.Source, r.Endpoint, r.InputSHA256 = "beacon "+ep.Name, ep.Name, hex.EncodeToString(sum[:])
			if !r.OK() {
				a.Period = ptr(next)
				lie(&a, r.Classification, fmt.Errorf("period %d: %s", next, r.Error))
				lastFailed = &r
				break
			}
			if next < target && (nc == nil || nc.Period != next+1) {
				a.Period = ptr(next)
				lie(&a, ClassBadInput, fmt.Errorf("the update for period %d hands on no committee for period %d (its next_sync_committee is missing, or its attested header is in another period): the chain of trust cannot go on", next, next+1))
				break
			}
			s.rep.Periods = append(s.rep.Periods, r)
			s.verified[i] = append(s.verified[i], next)
			s.used[i] = true
			lastFailed = nil
			if nc != nil {
				trusted[nc.Period] = nc
			}
			next++
		}
		if a.Outcome == OutcomeOK && next <= target {
			// Fewer updates than asked for: not a lie (a node may not
			// have them all); the next provider is asked for the rest.
			a.Error = fmt.Sprintf("served updates for %d of the %d periods asked for", next-asked, count)
		}
		s.record(i, a)
	}
	if next <= target && !s.stopped(ctx, "updates", ptr(next)) {
		if lastFailed != nil {
			s.rep.Periods = append(s.rep.Periods, *lastFailed)
			s.rep.Failure = &Failure{Stage: "updates", Provider: lastFailed.Endpoint, Period: ptr(next), Slot: ptr(lastFailed.Slot),
				Class: lastFailed.Classification, Error: lastFailed.Error}
			return
		}
		if path == "" {
			path = fmt.Sprintf("%s?start_period=%d", pathUpdates, next)
		}
		s.failStage("updates", path, ptr(next), from)
	}
}

// providerReports says, per provider, its verdict and what it said.
func (s *onlineCheck) providerReports() []ProviderReport {
	out := make([]ProviderReport, len(s.c.Endpoints))
	for i, ep := range s.c.Endpoints {
		p := ProviderReport{Endpoint: ep.Name, Verdict: VerdictNotAsked, Verified: s.verified[i]}
		var said []string
		for _, a := range s.rep.Attempts {
			if a.Endpoint != ep.Name {
				continue
			}
			said = append(said, a.said())
		}
		switch {
		case s.lied[i]:
			p.Verdict = VerdictLied
		case s.used[i]:
			p.Verdict = VerdictTrusted
		case len(said) > 0:
			p.Verdict = VerdictFailed
		}
		if v := s.verified[i]; len(v) > 0 {
			said = append(said, fmt.Sprintf("verified period(s) %s", periodSpan(v)))
		}
		p.Said = strings.Join(said, "; ")
		out[i] = p
	}
	return out
}

// said is an attempt in a few words.
func (a Attempt) said() string {
	what := a.Stage
	if what == "" {
		what = a.Path
	}
	if a.Stage == "updates" && a.Period != nil {
		what = fmt.Sprintf("updates from period %d", *a.Period)
	}
	switch {
	case a.Outcome == OutcomeOK && a.Error == "":
		return what + ": ok"
	case a.Outcome == OutcomeOK:
		return what + ": " + a.Error
	case a.Outcome == OutcomeLied:
		return fmt.Sprintf("%s: LIED (%s): %s", what, a.Classification, oneLine(a.Error, 160))
	}
	return fmt.Sprintf("%s: %s (%s)", what, oneLine(a.Error, 160), a.Classification)
}

func periodSpan(ps []uint64) string {
	if len(ps) == 1 {
		return fmt.Sprint(ps[0])
	}
	return fmt.Sprintf("%d-%d", ps[0], ps[len(ps)-1])
}

// Online is the outcome of a check against beacon providers, in the shape
// of the first release (CheckOnline); CheckBeacon's Report says more.
type Online struct {
	Results  []Result  `json:"results"`
	Attempts []Attempt `json:"failed_attempts"`
	// ForkSource says where the fork schedule came from.
	ForkSource string `json:"fork_schedule"`
	// Report is the whole check.
	Report *Report `json:"-"`
}

// CheckOnline runs CheckBeacon with c's endpoints and timeout, and returns
// its outcome in the first release's shape: the results, the failed
// attempts, and an error when no update could be checked (a *FetchError
// when every provider failed a request, a *ProofError when the bootstrap
// did not prove). Prefer CheckBeacon.
func CheckOnline(ctx context.Context, c *Client, checkpoint Root, period uint64) (*Online, error) {
	rep := c.check(ctx, checkpoint, period, Config{RequestTimeout: c.HTTP.Timeout})
	out := &Online{Results: rep.Periods, Attempts: c.Attempts, ForkSource: "built-in mainnet schedule", Report: rep}
	for _, a := range rep.Attempts {
		if a.Stage == "fork_schedule" && a.Outcome == OutcomeOK {
			out.ForkSource = a.Endpoint
		}
	}
	f := rep.Failure
	switch {
	case rep.OK || (f != nil && f.Stage == "updates" && len(rep.Periods) > 0):
		return out, nil
	case f.Class == ClassInterrupted:
		return out, context.Canceled
	case f.Class == ClassInvalidProof && f.Stage == "bootstrap":
		return out, &ProofError{f.Error}
	case f.Stage == "check":
		return out, errors.New(f.Error)
	}
	fe := &FetchError{Path: f.Stage}
	for _, a := range rep.Attempts {
		if a.Stage == f.Stage && a.Outcome != OutcomeOK {
			fe.Path = a.Path
			fe.Attempts = append(fe.Attempts, a)
		}
	}
	if len(fe.Attempts) == 0 {
		return out, errors.New(f.Error)
	}
	return out, fe
}

// Input is one offline document: a name to show (a file path) and its
// bytes, read by the caller (with its own limits).
type Input struct {
	Name string
	Data []byte
}

// CheckFiles checks updates from files, in order, from a bootstrap whose
// committee its branch proves against its own header (offline there is no
// checkpoint: the caller trusts the bootstrap file). At most
// MaxUpdatesPerCall updates in one check. The report is never nil.
func CheckFiles(ctx context.Context, genesis Genesis, bootstrap Input, updates []Input, cfg Config) *Report {
	started := time.Now()
	ctx, cancel := context.WithTimeout(ctx, orDefault(cfg.CheckTimeout, DefaultCheckTimeout))
	defer cancel()
	red := redact.New(cfg.Secrets...)
	rep := &Report{Mode: "offline", StrictKeys: cfg.StrictKeys}
	k := NewCheckerWith(genesis, MainnetForks, cfg.options())
	defer func() { rep.Cache = k.CacheEvents() }()
	input := func(in Input) string {
		sum := sha256.Sum256(in.Data)
		rep.Inputs = append(rep.Inputs, InputReport{Name: in.Name, SHA256: hex.EncodeToString(sum[:]), Bytes: len(in.Data)})
		return hex.EncodeToString(sum[:])
	}
	input(bootstrap)
	fail := func(stage, source string, class Classification, err error) *Report {
		rep.Failure = &Failure{Stage: stage, Source: source, Class: class, Error: err.Error()}
		rep.Cache = k.CacheEvents()
		return rep.finish(red, started)
	}
	boot, err := DecodeBootstrap(bootstrap.Data)
	if err != nil {
		return fail("input", bootstrap.Name, ClassBadInput, err)
	}
	var all []*Update
	var sources, sums []string
	for _, in := range updates {
		sum := input(in)
		us, err := decodeUpdatesAtMost(in.Data, MaxUpdatesPerCall-len(all))
		var le *LimitError
		if errors.As(err, &le) {
			le.Got += len(all)
			return fail("input", in.Name, ClassLimitExceeded, fmt.Errorf("%d updates or more in %d file(s): at most %d in one check", le.Got, len(updates), MaxUpdatesPerCall))
		}
		if err != nil {
			return fail("input", in.Name, ClassBadInput, err)
		}
		for range us {
			sources, sums = append(sources, in.Name), append(sums, sum)
		}
		all = append(all, us...)
	}
	first, err := k.TrustBootstrap(boot, nil)
	if err != nil {
		return fail("bootstrap", bootstrap.Name, ClassInvalidProof, err)
	}
	rep.FromPeriod = ptr(first.Period)
	if len(all) > 0 {
		last := uint64(0)
		for _, u := range all {
			last = max(last, PeriodAt(u.SignatureSlot))
		}
		rep.ToPeriod = ptr(last)
	}
	results, err := k.walk(ctx, first, all)
	for i := range results {
		results[i].Source, results[i].InputSHA256 = sources[i], sums[i]
	}
	rep.Periods = results
	if err != nil {
		f := &Failure{Stage: "updates", Class: ClassInterrupted, Error: "the check was interrupted"}
		if len(results) < len(all) {
			f.Source, f.Period = sources[len(results)], ptr(PeriodAt(all[len(results)].SignatureSlot))
		}
		if !errors.Is(err, context.Canceled) {
			f.Class, f.Error = ClassUpstreamOutage, "the check took longer than its limit"
		}
		rep.Failure = f
	}
	rep.Cache = k.CacheEvents()
	return rep.finish(red, started)
}
