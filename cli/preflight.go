package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/icconsole/ic/incident"
)

// needCommands says which command records an entry type, for the close
// preflight (the console names its keys instead).
var needCommands = map[string]string{
	(incident.Evidence{}).Kind():        "ic evidence %s FILE",
	(incident.Verification{}).Kind():    "ic synccheck ... --incident %s",
	(incident.RestartCriteria{}).Kind(): "ic restart-criteria %s TEXT",
	(incident.PostmortemLink{}).Kind():  "ic postmortem %s URL",
	(incident.StatusUpdate{}).Kind():    "ic update %s TEXT",
	(incident.RoleAssignment{}).Kind():  "ic role %s ROLE NAME",
	(incident.Deviation{}).Kind():       "ic deviation %s TEXT",
}

func (e *env) incidentPreflight() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "preflight ID",
		Short: "say what closing an incident still needs, and the command for each",
		Long: "Say whether the incident may move to its book's closing state now and, if not, what the policy still needs, in plain words, " +
			"each with the command that records it (the console's T shows the same with its keys). Exits 0 either way.",
		Example:           "  ic incident preflight INC-7f3a9c\n  ic incident preflight INC-7f3a9c --json",
		Args:              argsBetween(1, 1),
		ValidArgsFunction: e.completeIncidents,
		RunE: func(c *cobra.Command, args []string) error {
			svc, id, err := e.incident(args[0])
			if err != nil {
				return err
			}
			plan, err := svc.ClosePreflight(e.ctx, id)
			if err != nil {
				return err
			}
			if asJSON {
				return e.printJSON(plan)
			}
			short := incident.ShortID(id)
			w := e.stdout
			switch {
			case plan.Closed:
				_, err = fmt.Fprintf(w, "%s is %s: closed\n", short, plan.State)
				return err
			case plan.Ready():
				_, err = fmt.Fprintf(w, "%s (%s) may close now: ic incident state %s %s --reason TEXT\n", short, plan.Severity, short, plan.Closing)
				return err
			}
			fmt.Fprintf(w, "%s (%s, %s) cannot close yet.\n", short, plan.Severity, plan.State)
			if !plan.Direct {
				fmt.Fprintf(w, "  the policy moves %s only to %s before %s\n", plan.State, strings.Join(plan.Next, ", "), plan.Closing)
			}
			for _, need := range plan.Needs {
				var ways []string
				for _, kind := range need.Kinds {
					way := incident.KindWords(kind)
					if cmd, ok := needCommands[kind]; ok {
						way += " (" + fmt.Sprintf(cmd, short) + ")"
					}
					ways = append(ways, way)
				}
				fmt.Fprintf(w, "  no %s yet: %s\n", need.Requirement, strings.Join(ways, ", or "))
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}
