package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/termsafe"
)

// entrySpec declares a command that appends one entry to an incident's
// timeline: its usage, help, the positional arguments after the incident
// id, and how its flags and arguments make the entry's payload.
type entrySpec struct {
	use, short, long, example string
	args                      int
	// payload registers the command's own flags and returns the function
	// that makes the payload from the arguments after the incident id.
	payload func(e *env, c *cobra.Command) func(args []string) (incident.Payload, error)
	// complete completes the arguments after the incident id (nil: none).
	complete func(e *env, id string, n int, toComplete string) []string
}

// entryCommand turns a spec into the command: resolve the incident, make
// the payload, append it with the idempotency key, print the new entry.
func (e *env) entryCommand(s entrySpec) *cobra.Command {
	var key string
	var asJSON bool
	c := &cobra.Command{
		Use:     s.use,
		Short:   s.short,
		Long:    s.long,
		Example: s.example,
		GroupID: "respond",
		Args:    argsBetween(s.args+1, s.args+1),
	}
	build := s.payload(e, c)
	c.RunE = func(c *cobra.Command, args []string) error {
		payload, err := build(args[1:])
		if err != nil {
			return err
		}
		svc, id, err := e.incident(args[0])
		if err != nil {
			return err
		}
		entry, err := svc.Append(e.ctx, id, e.by(), key, payload)
		if err != nil {
			return err
		}
		return e.printEntry(svc, entry, asJSON)
	}
	c.ValidArgsFunction = func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return e.completeIncidents(c, args, toComplete)
		}
		if s.complete == nil || len(args) > s.args {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return s.complete(e, args[0], len(args), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
	c.Flags().StringVar(&key, "key", "", "idempotency `KEY`: a retry with the same key and entry never appends twice")
	c.Flags().BoolVar(&asJSON, "json", false, "print the appended entry as JSON")
	return c
}

// printEntry prints an appended entry: one line, or its JSON.
func (e *env) printEntry(svc *incident.Service, entry incident.Entry, asJSON bool) error {
	if asJSON {
		return e.printJSON(entry.Event)
	}
	fmt.Fprintf(e.stdout, "%s #%d %s: %s (hash %s)\n", incident.ShortID(entry.Incident), entry.Seq, entry.Type, termsafe.EscapeLine(entry.Line()), entry.Hash.Short())
	switch entry.Payload.(type) {
	case incident.StatusUpdate, incident.SeverityChange:
		if st, err := svc.Status(e.ctx, entry.Incident); err == nil && !st.UpdateDue.IsZero() {
			fmt.Fprintf(e.stdout, "next status update due %s\n", st.UpdateDue.Local().Format("15:04 MST"))
		}
	}
	return nil
}

// textEntry is an entry made of one text argument (or stdin with "-").
func textEntry(use, short, long, example string, make func(string) incident.Payload) entrySpec {
	return entrySpec{use: use, short: short, long: long, example: example, args: 1,
		payload: func(e *env, _ *cobra.Command) func([]string) (incident.Payload, error) {
			return func(args []string) (incident.Payload, error) {
				t, err := e.readText(args[0])
				return make(t), err
			}
		}}
}

// seqArg reads an entry number.
func seqArg(c *cobra.Command, s string) (int64, error) {
	seq, err := strconv.ParseInt(s, 10, 64)
	if err != nil || seq < 1 {
		return 0, usageError{msg: fmt.Sprintf("SEQ %q is not an entry number (see 'ic timeline ID')", s), cmd: c.CommandPath()}
	}
	return seq, nil
}

// entryCommands are the commands that append to a timeline, in the order
// the help lists them.
func (e *env) entryCommands() []*cobra.Command {
	specs := []entrySpec{
		textEntry("note ID TEXT|-", "add a note to the timeline (- reads the text from stdin)",
			"Add a note to the incident's timeline: what you saw, did or decided. - reads the text from stdin. Control characters are stored escaped.",
			"  ic note INC-7f3a9c 'relay 2 restarted'\n  journalctl -u relay -n 20 | ic note INC-7f3a9c -",
			func(s string) incident.Payload { return incident.Note{Text: s} }),
		{use: "correct ID SEQ TEXT|-", short: "append a correction of an earlier entry (the entry itself stays)", args: 2,
			long:    "Append a correction that points at the entry SEQ. Nothing on the timeline is ever edited or deleted: the correction is shown beside the entry it corrects.",
			example: "  ic correct INC-7f3a9c 2 'it was relay 3, not relay 2'",
			payload: func(e *env, c *cobra.Command) func([]string) (incident.Payload, error) {
				return func(args []string) (incident.Payload, error) {
					seq, err := seqArg(c, args[0])
					if err != nil {
						return nil, err
					}
					t, err := e.readText(args[1])
					return incident.Correction{Corrects: seq, Text: t}, err
				}
			}},
		{use: "role ID ROLE NAME", short: "assign a role (one of the book's roles)", args: 2,
			long:    "Record who holds one of the incident's roles (the book's policy lists them: commander, scribe, comms ...).",
			example: "  ic role INC-7f3a9c commander alice",
			payload: func(e *env, _ *cobra.Command) func([]string) (incident.Payload, error) {
				return func(args []string) (incident.Payload, error) {
					return incident.RoleAssignment{Role: args[0], Name: args[1]}, nil
				}
			},
			complete: func(e *env, id string, n int, _ string) []string {
				if n == 1 {
					return e.roleCompletions(id)
				}
				return nil
			}},
		textEntry("update ID TEXT|-", "post a status update (resets the update countdown)",
			"Post a status update to the people waiting on the incident. It restarts the countdown to the next update, whose cadence the book's policy sets per severity.",
			"  ic update INC-7f3a9c 'rolled back; watching the error rate'",
			func(s string) incident.Payload { return incident.StatusUpdate{Text: s} }),
		{use: "action ID TEXT|-", short: "add an action item", args: 1,
			long:    "Add follow-up work with an owner and, optionally, a due date. 'ic action-done ID SEQ' closes it.",
			example: "  ic action INC-7f3a9c 'add an alert on 5xx rate' --owner bob --due 2026-12-01",
			payload: func(e *env, c *cobra.Command) func([]string) (incident.Payload, error) {
				var owner, due string
				c.Flags().StringVar(&owner, "owner", "", "`NAME` of who owns the item (required)")
				c.Flags().StringVar(&due, "due", "", "due date, `YYYY-MM-DD`")
				return func(args []string) (incident.Payload, error) {
					if owner == "" {
						return nil, usageError{msg: "--owner is required: every action item has an owner", cmd: c.CommandPath()}
					}
					t, err := e.readText(args[0])
					return incident.ActionItem{Text: t, Owner: owner, Due: due}, err
				}
			}},
		{use: "action-done ID SEQ", short: "mark the action item at SEQ done", args: 1,
			long:    "Mark the action item recorded at entry SEQ as done, with an optional note.",
			example: "  ic action-done INC-7f3a9c 14 --note 'alert added'",
			payload: func(e *env, c *cobra.Command) func([]string) (incident.Payload, error) {
				var note string
				c.Flags().StringVar(&note, "note", "", "`TEXT` saying what was done")
				return func(args []string) (incident.Payload, error) {
					seq, err := seqArg(c, args[0])
					return incident.ActionItemDone{Item: seq, Note: note}, err
				}
			}},
		{use: "step ID PROCEDURE STEP", short: "record a procedure step as checked, skipped (with a reason) or failed (with a note)", args: 2,
			long:    "Record a step of a procedure as checked, or skipped with a reason, or (in a routine run) failed with a note. The entry cites the procedure's id, version and content hash, so an auditor knows exactly which text was followed.",
			example: "  ic step INC-7f3a9c O-020 1\n  ic step INC-7f3a9c O-020 2 --skip 'severity was obvious'\n  ic step INC-1b2c3d O-201 4 --fail 'relay queue at 12k'",
			payload: func(e *env, c *cobra.Command) func([]string) (incident.Payload, error) {
				var skip, fail string
				c.Flags().StringVar(&skip, "skip", "", "record the step as skipped, for this `REASON`")
				c.Flags().StringVar(&fail, "fail", "", "record the step as failed, with this `NOTE` (routine runs)")
				c.MarkFlagsMutuallyExclusive("skip", "fail")
				return func(args []string) (incident.Payload, error) {
					p, err := e.procedure(args[0])
					if err != nil {
						return nil, err
					}
					n, err := strconv.Atoi(args[1])
					if err != nil || n < 1 || n > len(p.Steps) {
						return nil, fmt.Errorf("%s has steps 1..%d; %q is not one of them", p.ID, len(p.Steps), termsafe.EscapeLine(args[1]))
					}
					for _, fl := range []string{"skip", "fail"} {
						if c.Flags().Changed(fl) && strings.TrimSpace(map[string]string{"skip": skip, "fail": fail}[fl]) == "" {
							return nil, usageError{msg: fmt.Sprintf("--%s needs a reason: an empty one explains nothing to the next reader", fl), cmd: c.CommandPath()}
						}
					}
					ref, text := incident.Ref(p), p.Steps[n-1].Text
					switch {
					case c.Flags().Changed("skip"):
						return incident.StepSkipped{Procedure: ref, Step: n, Text: text, Reason: skip}, nil
					case c.Flags().Changed("fail"):
						return incident.StepFailed{Procedure: ref, Step: n, Text: text, Note: fail}, nil
					}
					return incident.StepChecked{Procedure: ref, Step: n, Text: text}, nil
				}
			},
			complete: func(e *env, _ string, n int, toComplete string) []string {
				if n == 1 {
					return e.procedureCompletions("", toComplete)
				}
				return nil
			}},
		{use: "runbook-link ID PROCEDURE", short: "record the procedure being followed (id, version and hash)", args: 1,
			long:    "Record that a procedure is being followed, citing its id, version and content hash.",
			example: "  ic runbook-link INC-7f3a9c O-101",
			payload: func(e *env, _ *cobra.Command) func([]string) (incident.Payload, error) {
				return func(args []string) (incident.Payload, error) {
					p, err := e.procedure(args[0])
					if err != nil {
						return nil, err
					}
					return incident.RunbookLink{Procedure: incident.Ref(p)}, nil
				}
			},
			complete: func(e *env, _ string, n int, toComplete string) []string {
				return e.procedureCompletions("", toComplete)
			}},
		textEntry("deviation ID TEXT|-", "record a deviation from the procedure",
			"Record a departure from the procedure being followed, and why.",
			"  ic deviation INC-7f3a9c 'skipped the canary: the fleet was already down'",
			func(s string) incident.Payload { return incident.Deviation{Text: s} }),
		textEntry("restart-criteria ID TEXT|-", "sign the restart criteria: the evidence that recovery is real",
			"Sign the restart criteria: the evidence that recovery is real. \"Seems fine now\" is not one.",
			"  ic restart-criteria INC-7f3a9c 'error rate at baseline for 30 minutes'",
			func(s string) incident.Payload { return incident.RestartCriteria{Text: s} }),
		textEntry("postmortem ID URL", "link the postmortem",
			"Link the incident's postmortem.",
			"  ic postmortem INC-7f3a9c https://wiki.example/pm/42",
			func(s string) incident.Payload { return incident.PostmortemLink{URL: s} }),
	}
	out := make([]*cobra.Command, len(specs))
	for i, s := range specs {
		out[i] = e.entryCommand(s)
	}
	return out
}

// changeEntry is a change of the incident's standing: "sev" or "state",
// under "ic incident", an argument (the new value) and a --reason.
func changeEntry(use, short, long, example, reasonUsage string, make func(to, reason string) incident.Payload, complete func(e *env, id string) []string) entrySpec {
	return entrySpec{use: use, short: short, long: long, example: example, args: 1,
		payload: func(e *env, c *cobra.Command) func([]string) (incident.Payload, error) {
			var reason string
			c.Flags().StringVar(&reason, "reason", "", reasonUsage)
			return func(args []string) (incident.Payload, error) { return make(args[0], reason), nil }
		},
		complete: func(e *env, id string, _ int, _ string) []string { return complete(e, id) }}
}

func severityEntry() entrySpec {
	return changeEntry("sev ID SEVERITY", "change the severity",
		"Change the incident's severity, with the reason. The book's policy lists the levels. Close requirements follow the worst severity the incident had.",
		"  ic incident sev INC-7f3a9c SEV-2 --reason 'no customer harm after rollback'",
		"`TEXT` saying why the severity changes (required)",
		func(to, reason string) incident.Payload { return incident.SeverityChange{To: to, Reason: reason} },
		(*env).severityCompletions)
}

func stateEntry() entrySpec {
	return changeEntry("state ID STATE", "move the incident to another state (only the policy's transitions)",
		"Move the incident to another state of its book's lifecycle. Only the policy's transitions are accepted, and the closing state only once the timeline holds what the severity requires (the refusal lists what is missing; 'ic incident preflight' lists it before).",
		"  ic incident state INC-7f3a9c CONTAINED --reason 'traffic drained'\n  ic incident state INC-7f3a9c CLOSED",
		"`TEXT` saying why",
		func(to, reason string) incident.Payload { return incident.StateChange{To: to, Reason: reason} },
		(*env).stateCompletions)
}
