package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/verifier"
)

func (e *env) synccheckCommand() *cobra.Command {
	var src incident.SyncSource
	var incidentRef string
	var asJSON bool
	c := &cobra.Command{
		Use:   "synccheck",
		Short: "check sync-committee signatures on light-client updates, offline from files or online with failover",
		Long: `Check that Ethereum light-client updates were signed by the sync committee they claim (O-700), and exit 0 only when every check verified.

Offline: --bootstrap FILE --update FILE (beacon API JSON as served; several --update files, or a file with several periods, are walked in order).
Online: --beacon URL,URL,URL (tried in order) with --checkpoint ROOT, a block root you trust; --period checks up to that sync-committee period.

A beacon provider is trusted only for bytes that verify: one that serves data failing validation is marked as lying and the check goes on from the first period not yet verified with the next provider. At most 128 updates in one check.

Committee keys bound by a verified branch to the trusted root are not subgroup-checked one by one (the beacon chain checked them at deposit, as light clients such as Lodestar do); --strict-keys checks every key. Proven committees are kept in the user's cache folder (ic/ under $XDG_CACHE_HOME, or ~/.cache) so a later check skips decoding them.

--incident ID appends the check to the incident's timeline as one verification entry holding every period's result.

Exit status: 0 when every period verified, 1 when the check failed (the class is printed: invalid_signature, invalid_proof, upstream_outage, environment_deny, bad_input, limit_exceeded, redirect_refused), 2 for a wrong command line, 130 when interrupted.`,
		Example: `  ic synccheck --bootstrap bootstrap.json --update updates.json
  ic synccheck --beacon https://beacon-1.example,https://beacon-2.example \
      --checkpoint 0x1f2e... --incident INC-7f3a9c`,
		GroupID: "review",
		Args:    argsBetween(0, 0),
		RunE: func(c *cobra.Command, _ []string) error {
			if src.Beacons == "" {
				src.Beacons = os.Getenv("IC_BEACON")
			}
			if src.Checkpoint == "" {
				src.Checkpoint = os.Getenv("IC_CHECKPOINT")
			}
			switch {
			case src.Offline() && src.Bootstrap == "":
				return usageError{msg: "offline checks need --bootstrap FILE as well as --update FILE", cmd: c.CommandPath()}
			case src.Offline() && len(src.Updates) == 0:
				return usageError{msg: "offline checks need at least one --update FILE", cmd: c.CommandPath()}
			case !src.Offline() && src.Beacons == "":
				return usageError{msg: "give --bootstrap and --update files, or --beacon URLS with --checkpoint ROOT", cmd: c.CommandPath()}
			case !src.Offline() && src.Checkpoint == "":
				return usageError{msg: "online checks need --checkpoint ROOT: the block root you trust (from a source you trust)", cmd: c.CommandPath()}
			}
			if err := src.Validate(); err != nil {
				return err
			}
			// Open the ledger first, so a bad incident id fails before any work.
			var svc *incident.Service
			var id string
			if incidentRef != "" {
				var err error
				if svc, id, err = e.incident(incidentRef); err != nil {
					return err
				}
			}
			rep, err := incident.CheckSync(e.ctx, src)
			if err != nil {
				return err
			}
			if svc != nil && e.ctx.Err() == nil {
				// An interrupted check is not recorded: the run ends with 130.
				if err := svc.RecordSync(e.ctx, id, e.by(), &rep); err != nil {
					return err
				}
			}
			if asJSON {
				if err := e.printJSON(rep); err != nil {
					return err
				}
			} else {
				e.printSync(rep, id)
			}
			if !rep.OK {
				return errSilent
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&src.Bootstrap, "bootstrap", "", "light-client bootstrap JSON `FILE` (offline)")
	f.StringSliceVar(&src.Updates, "update", nil, "light-client updates JSON `FILE` (repeatable or comma-separated; walked in order)")
	f.StringVar(&src.Genesis, "genesis", "", "genesis JSON `FILE` (offline; default: mainnet)")
	f.StringVar(&src.Beacons, "beacon", "", "beacon API base `URLS`, comma-separated, tried in order (env IC_BEACON)")
	f.StringVar(&src.Checkpoint, "checkpoint", "", "trusted block `ROOT` (0x...) whose bootstrap starts the chain (online; env IC_CHECKPOINT)")
	f.Uint64Var(&src.Period, "period", 0, "check up to sync-committee period `N` (online; default: the checkpoint's)")
	f.DurationVar(&src.Timeout, "timeout", verifier.DefaultRequestTimeout, "per-request timeout (online)")
	f.DurationVar(&src.CheckTimeout, "check-timeout", verifier.DefaultCheckTimeout, "timeout for the whole check")
	f.BoolVar(&src.StrictKeys, "strict-keys", false, "subgroup-check every committee key one by one (slower; by default keys a verified branch binds to the trusted root are not)")
	f.StringVar(&incidentRef, "incident", "", "append the check to incident `ID` as one verification entry")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	_ = c.RegisterFlagCompletionFunc("incident", e.completeIncidents)
	return c
}

func (e *env) printSync(rep incident.SyncReport, id string) {
	w := e.stdout
	for _, p := range rep.Providers {
		fmt.Fprintf(w, "provider %s: %s: %s\n", termsafe.EscapeLine(p.Endpoint), p.Verdict, termsafe.EscapeLine(p.Said))
	}
	for _, in := range rep.Inputs {
		fmt.Fprintf(w, "input %s  %d bytes  sha256 %s\n", termsafe.EscapeLine(in.Name), in.Bytes, in.SHA256)
	}
	for _, r := range rep.Periods {
		status := string(r.Classification)
		if r.OK() {
			if !r.Supermajority {
				status += " (below 2/3: not enough for finality)"
			}
		} else {
			status = fmt.Sprintf("FAILED code %d %s: %s", r.Code, r.Classification, r.Error)
		}
		fmt.Fprintf(w, "period %d  slot %d  fork %-9s  participants %3d/512  %s  %s\n",
			r.Period, r.Slot, r.Fork, r.Participants, termsafe.EscapeLine(status), r.Took.Round(10*time.Microsecond))
	}
	fmt.Fprintln(w, termsafe.EscapeLine(rep.Summary()))
	if id != "" && rep.Appended != 0 {
		fmt.Fprintf(w, "appended verification entry #%d to %s\n", rep.Appended, incident.ShortID(id))
	}
}
