package cli

import (
	"encoding/json"
	"fmt"
	"os/user"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/checkpoint"
	"github.com/icconsole/ic/internal/safefile"
	"github.com/icconsole/ic/internal/termsafe"
)

// The commands that prove the ledger to someone who does not trust it:
// the checkpoint key, signed checkpoints, receipts.

func (e *env) keyCommand() *cobra.Command {
	var name string
	init := &cobra.Command{
		Use:   "init",
		Short: "create the key that signs checkpoints, and print its verifier key",
		Long:  "Create the Ed25519 key that signs the ledger's checkpoints (mode 0600, under $XDG_CONFIG_HOME/ic, or IC_CHECKPOINT_KEY) and print its verifier key: give that line to whoever must be able to check your checkpoints and receipts. An existing key is never overwritten.",
		Example: `  ic key init
  ic key init --name ic-oncall-eu`,
		Args: argsBetween(0, 0),
		RunE: func(c *cobra.Command, _ []string) error {
			path := e.keyPath()
			if path == "" {
				return fmt.Errorf("no place for the key: set XDG_CONFIG_HOME or IC_CHECKPOINT_KEY")
			}
			if name == "" {
				name = defaultKeyName()
			}
			vkey, err := checkpoint.CreateKeyFile(path, name)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "checkpoint key %s (0600)\nverifier key (share it; it checks, it cannot sign):\n%s\n", path, vkey)
			return nil
		},
	}
	init.Flags().StringVar(&name, "name", "", "the key's `NAME` in signatures (default: ic-LOGIN)")
	return group("key", "the key that signs the ledger's checkpoints",
		"The Ed25519 key that signs the ledger's checkpoints.", "ledger", init)
}

// defaultKeyName is "ic-" and the login name, as a note key name allows.
func defaultKeyName() string {
	login := "ledger"
	if u, err := user.Current(); err == nil && u.Username != "" {
		login = u.Username
	}
	return "ic-" + regexp.MustCompile(`[^A-Za-z0-9.-]+`).ReplaceAllString(login, "-")
}

func (e *env) checkpointCommand() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "checkpoint",
		Short: "sign the ledger's current head: a checkpoint kept in the ledger and copied outside it",
		Long:  "Sign the ledger's current head (a C2SP tlog-checkpoint: origin, size, root hash, as a signed note), keep it in the ledger, copy it into the checkpoint folder (--checkpoint-dir or IC_CHECKPOINT_DIR), and print it to paste into a ticket or chat. Anything a checkpoint covers can no longer be truncated, deleted or rewritten without 'ic verify' saying so, unless someone also holds the key and every copy. One is also signed when an incident closes and before every backup.",
		Example: `  ic checkpoint
  ic checkpoint --checkpoint-dir /mnt/audit/ic-checkpoints`,
		GroupID: "ledger",
		Args:    argsBetween(0, 0),
		RunE: func(c *cobra.Command, _ []string) error {
			svc, err := e.service()
			if err != nil {
				return err
			}
			cp, err := svc.Checkpoint(e.ctx)
			if err != nil {
				return err
			}
			if asJSON {
				return e.printJSON(struct {
					Origin string `json:"origin"`
					Size   uint64 `json:"size"`
					Root   string `json:"root"`
					Note   string `json:"note"`
					Copy   string `json:"copy,omitempty"`
				}{cp.Origin, cp.Size, fmt.Sprintf("%x", cp.Root), string(cp.Note), cp.CopyPath})
			}
			fmt.Fprint(e.stdout, string(cp.Note))
			if cp.CopyPath != "" {
				fmt.Fprintf(e.stderr, "checkpoint of %d records signed; copy in %s\n", cp.Size, cp.CopyPath)
			} else {
				fmt.Fprintf(e.stderr, "checkpoint of %d records signed and kept in the ledger; no checkpoint folder is set (--checkpoint-dir): keep the text above somewhere else\n", cp.Size)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (e *env) receiptCommand() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "receipt ID SEQ",
		Short: "write a receipt of one entry: the entry, its inclusion proof and the signed checkpoint",
		Long:  "Write a receipt of one timeline entry: the entry with every field its hash covers, its Merkle inclusion proof, and the signed checkpoint that holds it. Anyone with the verifier key can check it offline, with 'ic verify-receipt' or scripts/verify-receipt (python3 and openssl). Needs a checkpoint that holds the entry ('ic checkpoint').",
		Example: `  ic receipt INC-7f3a9c 14 -o a14.receipt.json
  ic verify-receipt a14.receipt.json --key ~/.config/ic/checkpoint.key.pub`,
		GroupID:           "ledger",
		Args:              argsBetween(2, 2),
		ValidArgsFunction: e.completeIncidents,
		RunE: func(c *cobra.Command, args []string) error {
			seq, err := seqArg(c, args[1])
			if err != nil {
				return err
			}
			svc, id, err := e.readIncident(args[0])
			if err != nil {
				return err
			}
			r, err := svc.Receipt(e.ctx, id, seq)
			if err != nil {
				return err
			}
			b, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				return err
			}
			b = append(b, '\n')
			if out == "" {
				_, err = e.stdout.Write(b)
				return err
			}
			if err := writeNewFile(out, b); err != nil {
				return fmt.Errorf("receipt: %w", err)
			}
			fmt.Fprintf(e.stderr, "receipt of %s seq %d (log index %d, checkpoint of %d records) written to %s\n", incident.ShortID(id), seq, r.LogIndex, r.TreeSize, out)
			return nil
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "", "write to `FILE` instead of stdout (refuses to overwrite)")
	return c
}

func (e *env) verifyReceiptCommand() *cobra.Command {
	var keys []string
	c := &cobra.Command{
		Use:   "verify-receipt FILE",
		Short: "check a receipt offline: the entry's hash, its inclusion, the checkpoint's signature",
		Long:  "Check a receipt offline, without the ledger: the entry's hash recomputed from its fields, its inclusion in the checkpoint's Merkle tree, and the checkpoint's signature by a verifier key you trust (--key, the line 'ic key init' printed, or a file holding it). Exits 1 when anything does not check.",
		Example: `  ic verify-receipt approval-14.receipt.json --key "ic-alice+1a2b3c4d+AbC..."
  ic verify-receipt approval-14.receipt.json --key ./checkpoint.key.pub`,
		GroupID: "ledger",
		Args:    argsBetween(1, 1),
		RunE: func(c *cobra.Command, args []string) error {
			if len(keys) == 0 {
				return usageError{msg: "verify-receipt needs --key VERIFIER: the verifier key whose checkpoints you trust", cmd: c.CommandPath()}
			}
			data, err := safefile.Read(e.ctx, args[0], safefile.Receipt)
			if err != nil {
				return err
			}
			r, err := incident.CheckReceipt(data, keys)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "receipt verified: %s seq %d (%s by %s at %s) is record %d of a log of %d records whose root %x is signed by %s\n",
				incident.ShortID(r.Event.Incident), r.Event.Seq, r.Event.Type, termsafe.EscapeLine(r.Event.Actor), r.Event.Time, r.LogIndex, r.Checkpoint.Size, r.Checkpoint.Root[:8], strings.Join(r.Checkpoint.Signers, ", "))
			return nil
		},
	}
	c.Flags().StringSliceVar(&keys, "key", nil, "verifier `KEY` (or a file holding it) whose checkpoint signature is trusted (repeatable)")
	return c
}
