package verifier

import (
	"fmt"
	"strings"
	"time"

	"github.com/icconsole/ic/internal/redact"
)

// ReportVersion is the version of Report's JSON shape. Fields may be added
// within a version; one removed, renamed or changed in meaning makes a new
// version. The ledger keeps every version it ever wrote.
const ReportVersion = 1

// Report is the outcome of one whole check, online or offline: what the
// ledger records as one verification entry. Its JSON shape (version 1):
//
//	v               1
//	mode            "online" | "offline"
//	ok              true when every requested period verified
//	classification  "verified", or the class of the failure
//	summary         one line, as Summary returns it
//	checkpoint      online: the trusted block root (0x-hex)
//	from_period     the first period checked (the bootstrap's), when known
//	to_period       the last period requested (online) or given (offline), when known
//	strict_keys     whether every committee key was subgroup-checked
//	periods         one Result per update checked, in period order
//	providers       online: each provider, its verdict and what it said
//	attempts        online: every request, in order, and what came of it
//	inputs          offline: each file with its sha256
//	cache           committee cache use: hits, misses, entries ignored and why
//	failure         when not ok: stage, provider or file, period, slot, class, error
//	started, took_ns
//
// A period or slot that is not known is left out, never written as 0.
// Every string in it has been through the redactor: no credential of a
// provider URL, and no secret echoed in an error body, is in it.
type Report struct {
	V          int              `json:"v"`
	Mode       string           `json:"mode"`
	OK         bool             `json:"ok"`
	Class      Classification   `json:"classification"`
	Line       string           `json:"summary"` // what Summary returns
	Checkpoint string           `json:"checkpoint,omitempty"`
	FromPeriod *uint64          `json:"from_period,omitempty"`
	ToPeriod   *uint64          `json:"to_period,omitempty"`
	StrictKeys bool             `json:"strict_keys"`
	Periods    []Result         `json:"periods"`
	Providers  []ProviderReport `json:"providers,omitempty"`
	Attempts   []Attempt        `json:"attempts,omitempty"`
	Inputs     []InputReport    `json:"inputs,omitempty"`
	Cache      []CacheEvent     `json:"cache,omitempty"`
	Failure    *Failure         `json:"failure,omitempty"`
	Started    time.Time        `json:"started"`
	Took       time.Duration    `json:"took_ns"`
}

// Provider verdicts.
const (
	VerdictTrusted  = "trusted"   // served bytes that verified, and only such bytes
	VerdictLied     = "lied"      // served bytes that failed validation (it may have served good ones before)
	VerdictFailed   = "failed"    // gave no usable answer: unreachable, denied, error status
	VerdictNotAsked = "not_asked" // the check ended before it was needed
)

// ProviderReport is what one provider said during a check.
type ProviderReport struct {
	Endpoint string   `json:"endpoint"`
	Verdict  string   `json:"verdict"`
	Said     string   `json:"said"`
	Verified []uint64 `json:"verified_periods,omitempty"`
}

// InputReport names one offline input.
type InputReport struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Bytes  int    `json:"bytes"`
}

// Failure is what was known when a check failed.
type Failure struct {
	Stage    string         `json:"stage"`              // input, bootstrap, genesis, fork_schedule, updates, check
	Provider string         `json:"provider,omitempty"` // online: the provider whose answer failed last
	Source   string         `json:"source,omitempty"`   // offline: the file
	Period   *uint64        `json:"period,omitempty"`   // the period requested or being checked
	Slot     *uint64        `json:"slot,omitempty"`     // the attested slot, when an update was read
	Class    Classification `json:"classification"`
	Error    string         `json:"error"`
}

// CheckError is a failed check as an error; its Report says everything.
type CheckError struct{ Report *Report }

func (e *CheckError) Error() string { return e.Report.Line }

// Summary is the check in one line: what verified, from where, and who
// lied; or what failed, where, and why. For example
//
//	verified 6 update(s), periods 862-867 via https://b.example; lied: https://a.example
//	FAILED invalid_proof at updates period 864 from https://a.example: period 864: next_sync_committee_branch does not lead to the attested header's state_root; 2 of 3 update(s) verified, periods 862-863; lied: https://a.example
func (r *Report) Summary() string { return r.Line }

// Err is nil when the check verified every requested period, else a
// *CheckError whose message is the summary.
func (r *Report) Err() error {
	if r.OK {
		return nil
	}
	return &CheckError{r}
}

func ptr(v uint64) *uint64 { return &v }

// finish sets OK, Class and Line from the rest, after a redaction
// pass over every string that may carry outside text.
func (r *Report) finish(red *redact.Redactor, started time.Time) *Report {
	r.V, r.Started, r.Took = ReportVersion, started, time.Since(started)
	r.OK = r.Failure == nil && len(r.Periods) > 0
	for _, p := range r.Periods {
		r.OK = r.OK && p.OK()
	}
	if r.OK {
		r.Class = ClassVerified
	} else if r.Failure == nil {
		r.Failure = &Failure{Stage: "check", Class: ClassBadInput, Error: "no update was checked"}
		for _, p := range r.Periods {
			if !p.OK() {
				r.Failure = &Failure{Stage: "updates", Source: p.Source, Provider: p.Endpoint, Period: ptr(p.Period), Slot: ptr(p.Slot), Class: p.Classification, Error: p.Error}
				break
			}
		}
	}
	if r.Failure != nil {
		r.Class = r.Failure.Class
	}
	for i := range r.Periods {
		r.Periods[i].Error = red.Text(r.Periods[i].Error)
		r.Periods[i].Source = red.Name(r.Periods[i].Source)
	}
	for i := range r.Attempts {
		r.Attempts[i].Error = red.Text(r.Attempts[i].Error)
	}
	for i := range r.Cache {
		r.Cache[i].Reason = red.Text(r.Cache[i].Reason)
	}
	for i := range r.Providers {
		r.Providers[i].Said = red.Text(r.Providers[i].Said)
	}
	for i := range r.Inputs {
		r.Inputs[i].Name = red.Name(r.Inputs[i].Name)
	}
	if r.Failure != nil {
		r.Failure.Error = red.Text(r.Failure.Error)
		r.Failure.Source = red.Name(r.Failure.Source)
	}
	r.Line = r.summary()
	return r
}

// summary is one line for a tired reader: what verified, from where, and
// who lied; or what failed, where, and why.
func (r *Report) summary() string {
	var b strings.Builder
	verified := 0
	var lo, hi uint64
	for _, p := range r.Periods {
		if p.OK() {
			if verified == 0 || p.Period < lo {
				lo = p.Period
			}
			hi = max(hi, p.Period)
			verified++
		}
	}
	span := ""
	if verified > 0 {
		span = fmt.Sprintf(", period %d", lo)
		if hi != lo {
			span = fmt.Sprintf(", periods %d-%d", lo, hi)
		}
	}
	if r.OK {
		fmt.Fprintf(&b, "verified %d update(s)%s", verified, span)
	} else {
		f := r.Failure
		fmt.Fprintf(&b, "FAILED %s at %s", f.Class, f.Stage)
		if f.Period != nil {
			fmt.Fprintf(&b, " period %d", *f.Period)
		}
		switch {
		case f.Provider != "":
			fmt.Fprintf(&b, " from %s", f.Provider)
		case f.Source != "":
			fmt.Fprintf(&b, " in %s", f.Source)
		}
		fmt.Fprintf(&b, ": %s; %d of %d update(s) verified%s", oneLine(f.Error, 200), verified, len(r.Periods), span)
	}
	var trusted, lied []string
	for _, p := range r.Providers {
		switch p.Verdict {
		case VerdictTrusted:
			trusted = append(trusted, p.Endpoint)
		case VerdictLied:
			lied = append(lied, p.Endpoint)
		}
	}
	if r.OK && len(trusted) > 0 {
		fmt.Fprintf(&b, " via %s", strings.Join(trusted, ", "))
	}
	switch {
	case r.OK && r.Mode == "offline" && len(r.Inputs) == 2:
		fmt.Fprintf(&b, " from %s", r.Inputs[1].Name)
	case r.OK && r.Mode == "offline" && len(r.Inputs) > 2:
		fmt.Fprintf(&b, " from %d files", len(r.Inputs)-1)
	}
	if len(lied) > 0 {
		fmt.Fprintf(&b, "; lied: %s", strings.Join(lied, ", "))
	}
	return b.String()
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
