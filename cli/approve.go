package cli

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/icconsole/ic/internal/signers"
	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/runbook"
)

func (e *env) approveCommand() *cobra.Command {
	var keyFile, role, key string
	var asJSON bool
	c := &cobra.Command{
		Use:   "approve ID PROCEDURE STEP",
		Short: "sign an approval of a step that needs one (two-party rule), with your SSH key",
		Long: `Sign an approval of a step whose procedure requires one (Helix TPAF's two-party rule) and record it. The approval is signed with your SSH key (--key-file, or your ssh-agent), in the SSHSIG format ssh-keygen and git use, over the incident, the procedure's id, version and content hash, the step and its text, your role and the timeline's head.

It counts only when your key is in the allowed-signers file (--allowed-signers or IC_ALLOWED_SIGNERS; its principal is who you are), you hold the role on the incident ('ic role'), you are not the requester, and the steps the approved step needs are done. The step itself is then recorded by someone else, within the policy's window.`,
		Example: `  ic approve INC-7f3a9c TPAF-001 11 --key-file ~/.ssh/id_ed25519
  ic approve INC-7f3a9c TPAF-001 18          # the key from ssh-agent`,
		GroupID: "respond",
		Args:    argsBetween(3, 3),
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			switch len(args) {
			case 0:
				return e.completeIncidents(c, args, toComplete)
			case 1:
				return e.approvalProcedures(toComplete), cobra.ShellCompDirectiveNoFileComp
			case 2:
				return e.approvalSteps(args[1]), cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[2])
			if err != nil || n < 1 {
				return usageError{msg: fmt.Sprintf("STEP %q is not a step number", termsafe.EscapeLine(args[2])), cmd: c.CommandPath()}
			}
			svc, id, err := e.incident(args[0])
			if err != nil {
				return err
			}
			if e.session != nil {
				// A served session cannot sign with the client's key: the
				// session's authenticated key is the proof (ic serve).
				entry, err := svc.ApproveInSession(e.ctx, id, args[1], n, role, e.session.Actor, e.session.Key, key)
				if err != nil {
					return err
				}
				return e.printEntry(svc, entry, asJSON)
			}
			signer, err := signers.LoadSigner(e.ctx, keyFile)
			if err != nil {
				return err
			}
			entry, err := svc.Approve(e.ctx, id, args[1], n, role, signer, key)
			if err != nil {
				return err
			}
			return e.printEntry(svc, entry, asJSON)
		},
	}
	f := c.Flags()
	f.StringVar(&keyFile, "key-file", "", "private key `FILE` to sign with (default: the key in your ssh-agent)")
	f.StringVar(&role, "role", "", "the `ROLE` you approve as (default: the one the step needs)")
	f.StringVar(&key, "key", "", "idempotency `KEY`")
	f.BoolVar(&asJSON, "json", false, "print the appended entry as JSON")
	return c
}

// approvalProcedures completes the procedures that have a step needing
// approval.
func (e *env) approvalProcedures(toComplete string) []string {
	cat, err := e.books()
	if err != nil {
		return nil
	}
	var out []string
	for _, p := range cat.Filter(runbook.Filter{}) {
		for _, s := range p.Steps {
			if s.Approval != nil && hasPrefixFold(p.ID, toComplete) {
				out = append(out, p.ID+"\t"+oneLine(p.Title))
				break
			}
		}
	}
	return out
}

func (e *env) approvalSteps(procID string) []string {
	cat, err := e.books()
	if err != nil {
		return nil
	}
	p, ok := cat.Procedure(procID)
	if !ok {
		return nil
	}
	var out []string
	for _, s := range p.Steps {
		if s.Approval != nil {
			out = append(out, fmt.Sprintf("%d\t%s: %s", s.Number, s.Approval.Role, oneLine(s.Text)))
		}
	}
	return out
}
