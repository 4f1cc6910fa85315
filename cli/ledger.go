package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/termsafe"
)

func (e *env) evidenceCommand() *cobra.Command {
	var label, key string
	var asJSON bool
	c := &cobra.Command{
		Use:     "evidence ID FILE",
		Short:   "attach a file as evidence (bytes kept in the ledger, up to 16 MiB)",
		Long:    "Attach a file as evidence: its bytes are kept in the ledger, addressed by their sha256, and the timeline cites name, size and hash. Up to 16 MiB a file; keep larger files elsewhere and note their sha256.",
		Example: `  ic evidence INC-7f3a9c error.log --label 'API error log, 03:00-03:10'`,
		GroupID: "respond",
		Args:    argsBetween(2, 2),
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return e.completeIncidents(c, args, toComplete)
			}
			return nil, cobra.ShellCompDirectiveDefault
		},
		RunE: func(c *cobra.Command, args []string) error {
			svc, id, err := e.incident(args[0])
			if err != nil {
				return err
			}
			entry, err := svc.AttachEvidenceFile(e.ctx, id, e.by(), key, args[1], label)
			if err != nil {
				return err
			}
			return e.printEntry(svc, entry, asJSON)
		},
	}
	f := c.Flags()
	f.StringVar(&label, "label", "", "`TEXT` saying what the file shows")
	f.StringVar(&key, "key", "", "idempotency `KEY`")
	f.BoolVar(&asJSON, "json", false, "print the appended entry as JSON")
	return c
}

// rangeFlags adds --type, --since and --until to c and returns the
// function that opens the incident ref read-only and builds the range of
// its entries the flags select.
func (e *env) rangeFlags(c *cobra.Command) func(ref string) (*incident.Service, incident.Range, error) {
	var types []string
	var since, until string
	f := c.Flags()
	f.StringSliceVar(&types, "type", nil, "only entries of type `T` (repeatable, or comma-separated)")
	f.StringVar(&since, "since", "", "only entries at or after `TIME` (RFC 3339, a date, or a duration ago such as 2h)")
	f.StringVar(&until, "until", "", "only entries before `TIME`")
	_ = c.RegisterFlagCompletionFunc("type", cobra.FixedCompletions(incident.Kinds(), cobra.ShellCompDirectiveNoFileComp))
	return func(ref string) (*incident.Service, incident.Range, error) {
		svc, id, err := e.readIncident(ref)
		if err != nil {
			return nil, incident.Range{}, err
		}
		r := incident.Range{Incident: id, Types: types}
		for _, t := range types {
			if !incident.KnownKind(t) {
				return nil, r, usageError{msg: fmt.Sprintf("unknown event type %q: use one of %s", termsafe.EscapeLine(t), strings.Join(incident.Kinds(), ", ")), cmd: c.CommandPath()}
			}
		}
		now := time.Now()
		if since != "" {
			if r.Since, err = parseTime(since, now); err != nil {
				return nil, r, usageError{msg: err.Error(), cmd: c.CommandPath()}
			}
		}
		if until != "" {
			if r.Until, err = parseTime(until, now); err != nil {
				return nil, r, usageError{msg: err.Error(), cmd: c.CommandPath()}
			}
		}
		return svc, r, nil
	}
}

// parseTime accepts RFC 3339, a date, "2006-01-02T15:04" (local time), or a
// duration meaning that long ago ("90m", "2h").
func parseTime(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: use RFC 3339 (2026-11-22T03:00:00Z), a date, or a duration ago (90m)", termsafe.EscapeLine(s))
}

func (e *env) ledgerCommands() []*cobra.Command {
	return []*cobra.Command{e.timelineCommand(), e.verifyCommand(), e.exportCommand(), e.backupCommand(), e.restoreCommand()}
}

func (e *env) timelineCommand() *cobra.Command {
	var utc, asJSON bool
	c := &cobra.Command{
		Use:   "timeline ID",
		Short: "print an incident's timeline",
		Long:  "Print an incident's timeline, oldest first: seq, time, actor, type and the entry's text. --json prints JSON lines in the export format.",
		Example: `  ic timeline INC-7f3a9c
  ic timeline INC-7f3a9c --type note,correction --since 2h --utc`,
		GroupID:           "ledger",
		Args:              argsBetween(1, 1),
		ValidArgsFunction: e.completeIncidents,
	}
	readRange := e.rangeFlags(c)
	c.RunE = func(c *cobra.Command, args []string) error {
		svc, r, err := readRange(args[0])
		if err != nil {
			return err
		}
		if asJSON {
			_, err := svc.WriteEventsJSONL(e.ctx, e.stdout, r)
			return err
		}
		entries, err := svc.Entries(e.ctx, r)
		if err != nil {
			return err
		}
		printEntries(e.stdout, entries, utc)
		return nil
	}
	c.Flags().BoolVar(&utc, "utc", false, "show times in UTC (default: local time)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON lines, one entry each (the export format)")
	return c
}

func (e *env) verifyCommand() *cobra.Command {
	var asJSON, full bool
	var files, trust []string
	c := &cobra.Command{
		Use:   "verify [ID]",
		Short: "check the ledger: the log, the chains, checkpoints, evidence, triggers, approvals",
		Long: `Check the ledger, opened read-only: the Merkle log over every record (incident rows, entries, evidence), each incident's hash chain, the evidence bytes, the append-only triggers (by their SQL text), SQLite's quick_check, every checkpoint's signature and its consistency with the log, and the approvals' signatures and two-party rule.

By default it starts from the newest checkpoint it trusts (signed by the local checkpoint key, or a --trust key): it proves the log consistent with every checkpoint it finds (in the ledger, in the checkpoint folder, in --checkpoint files) and re-reads only what was appended since. --full re-reads and re-hashes everything. Every problem names the check and the record (incident and seq, or log index). Exits 1 if anything is wrong.`,
		Example: `  ic verify
  ic verify --full --checkpoint ticket-4711.checkpoint
  ic verify INC-7f3a9c --json`,
		GroupID:           "ledger",
		Args:              argsBetween(0, 1),
		ValidArgsFunction: e.completeIncidents,
		RunE: func(c *cobra.Command, args []string) error {
			svc, err := e.readService()
			if err != nil {
				return err
			}
			id := ""
			if len(args) == 1 {
				if id, err = svc.Resolve(e.ctx, args[0]); err != nil {
					return err
				}
			}
			o := incident.VerifyOptions{Full: full, Incident: id, Verifiers: e.trustedKeys(trust), CheckpointDir: e.checkpointFolder(), CheckpointFiles: files}
			rep, err := svc.VerifyWith(e.ctx, o)
			if err != nil {
				return err
			}
			if asJSON {
				if err := e.printJSON(struct {
					incident.VerifyReport
					OK     bool   `json:"ok"`
					Ledger string `json:"ledger"`
				}{rep, rep.OK(), svc.LedgerPath()}); err != nil {
					return err
				}
			} else {
				e.printVerify(svc.LedgerPath(), id, rep)
			}
			if !rep.OK() {
				return errSilent
			}
			return nil
		},
	}
	f := c.Flags()
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.BoolVar(&full, "full", false, "re-read and re-hash every record, on every core (default: from the newest trusted checkpoint)")
	f.StringSliceVar(&files, "checkpoint", nil, "a checkpoint `FILE` kept elsewhere (a ticket, a chat) to prove the ledger against (repeatable)")
	f.StringSliceVar(&trust, "trust", nil, "a verifier `KEY` (or file) whose checkpoints are trusted, besides the local key's (repeatable)")
	return c
}

func (e *env) printVerify(path, id string, rep incident.VerifyReport) {
	for _, p := range rep.Problems {
		fmt.Fprintln(e.stdout, "FAIL", termsafe.EscapeLine(p.String()))
	}
	if rep.MoreProblems > 0 {
		fmt.Fprintf(e.stdout, "FAIL ... and %d more problem(s)\n", rep.MoreProblems)
	}
	for _, ch := range rep.Checks {
		if ch.Skipped != "" {
			fmt.Fprintf(e.stdout, "note: %s: %s\n", ch.Name, termsafe.EscapeLine(ch.Skipped))
		}
	}
	status := "verified"
	if !rep.OK() {
		status = fmt.Sprintf("%d problem(s)", len(rep.Problems)+rep.MoreProblems)
	}
	var checked []string
	for _, ch := range rep.Checks {
		if ch.Covered != "" {
			checked = append(checked, ch.Name)
		}
	}
	fmt.Fprintf(e.stdout, "ledger %s: %s verify, %d incident(s), %d event(s), log of %d records, %d checkpoint(s): %s (%s) in %s\n",
		path, rep.Mode, rep.Incidents, rep.Events, rep.LogSize, len(rep.Checkpoints), status, strings.Join(checked, ", "), rep.Took.Round(time.Millisecond))
	if id != "" && rep.OK() {
		fmt.Fprintf(e.stdout, "%s head %s\n", incident.ShortID(id), rep.Heads[id])
	}
}

func (e *env) exportCommand() *cobra.Command {
	var format, out string
	c := &cobra.Command{
		Use:   "export ID --format jsonl|md",
		Short: "export the timeline (JSONL) or a postmortem draft (Markdown)",
		Long:  "Export an incident: its timeline as JSON lines with every field needed to recompute the hash chain without ic (scripts/verify-export does), or a Markdown postmortem draft (O-900, AZ-015 §33) with blanks where the record is silent. -o writes to a new file and never overwrites one.",
		Example: `  ic export INC-7f3a9c --format jsonl -o inc.jsonl
  scripts/verify-export inc.jsonl      # re-checks the chain without ic
  ic export INC-7f3a9c --format md > postmortem.md`,
		GroupID:           "ledger",
		Args:              argsBetween(1, 1),
		ValidArgsFunction: e.completeIncidents,
	}
	readRange := e.rangeFlags(c)
	c.RunE = func(c *cobra.Command, args []string) error {
		if format != "jsonl" && format != "md" {
			return usageError{msg: "--format must be jsonl or md", cmd: c.CommandPath()}
		}
		svc, r, err := readRange(args[0])
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := svc.Export(e.ctx, &buf, format, r); err != nil {
			return err
		}
		if out == "" {
			_, err = e.stdout.Write(buf.Bytes())
			return err
		}
		if err := writeNewFile(out, buf.Bytes()); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		fmt.Fprintf(e.stderr, "exported %s to %s (%d bytes)\n", incident.ShortID(r.Incident), out, buf.Len())
		return nil
	}
	c.Flags().StringVar(&format, "format", "", "jsonl (every field needed to recompute the chain) or md (postmortem draft)")
	c.Flags().StringVarP(&out, "output", "o", "", "write to `FILE` instead of stdout (refuses to overwrite)")
	_ = c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"jsonl", "md"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// writeNewFile writes data to a file that must not exist yet (mode 0600).
func writeNewFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists; choose a new file name", path)
		}
		return err
	}
	// A half-written file is removed: the next try starts clean.
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func (e *env) backupCommand() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:     "backup FILE",
		Short:   "write a verified online backup of the ledger",
		Long:    "Write a consistent copy of the live ledger to FILE (which must not exist), fsync it, and verify the copy before reporting it good.",
		Example: "  ic backup /var/backups/ic-$(date +%F).db",
		GroupID: "ledger",
		Args:    argsBetween(1, 1),
		RunE: func(c *cobra.Command, args []string) error {
			svc, err := e.service()
			if err != nil {
				return err
			}
			rep, err := svc.Backup(e.ctx, args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return e.printJSON(struct {
					File      string `json:"file"`
					Incidents int    `json:"incidents"`
					Events    int64  `json:"events"`
					Verified  bool   `json:"verified"`
				}{args[0], rep.Incidents, rep.Events, rep.OK()})
			}
			fmt.Fprintf(e.stdout, "backup %s: %d incident(s), %d event(s), verified (quick_check and every chain)\n", args[0], rep.Incidents, rep.Events)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (e *env) restoreCommand() *cobra.Command {
	var pre string
	var yes bool
	c := &cobra.Command{
		Use:   "restore FILE --pre-restore-backup FILE --yes",
		Short: "replace the ledger with a verified backup, after backing up the current one",
		Long:  "Replace the ledger's contents with a backup. The backup is verified first, and the current ledger is saved to --pre-restore-backup before anything is replaced.",
		Example: `  ic restore /var/backups/ic-2026-11-28.db \
      --pre-restore-backup /var/backups/ic-before-restore.db --yes`,
		GroupID: "ledger",
		Args:    argsBetween(1, 1),
		RunE: func(c *cobra.Command, args []string) error {
			if pre == "" {
				return usageError{msg: "restore needs --pre-restore-backup FILE: the current ledger is saved there before anything is replaced", cmd: c.CommandPath()}
			}
			if !yes {
				return usageError{msg: "restore replaces the ledger's contents: add --yes to confirm", cmd: c.CommandPath()}
			}
			svc, err := e.service()
			if err != nil {
				return err
			}
			rep, err := svc.Restore(e.ctx, args[0], pre)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "restored %s from %s: %d incident(s), %d event(s), verified; the previous ledger is in %s\n", svc.LedgerPath(), args[0], rep.Incidents, rep.Events, pre)
			return nil
		},
	}
	c.Flags().StringVar(&pre, "pre-restore-backup", "", "`FILE` the current ledger is backed up to first (must not exist)")
	c.Flags().BoolVar(&yes, "yes", false, "confirm: the ledger's contents are replaced by the backup")
	return c
}
