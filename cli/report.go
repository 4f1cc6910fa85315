package cli

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/icconsole/ic/incident"
)

// report is what a command that reads one incident found: the value --json
// prints, the text otherwise, and whether it means exit 1.
type report struct {
	value any
	text  func(w io.Writer)
	fail  bool
}

// incidentReport completes c as a command that reads one incident (opened
// read-only) and prints a report: one argument, the incident's id
// completed from the ledger, --json.
func (e *env) incidentReport(c *cobra.Command, build func(svc *incident.Service, id string) (report, error)) *cobra.Command {
	var asJSON bool
	c.Args = argsBetween(1, 1)
	c.ValidArgsFunction = e.completeIncidents
	c.RunE = func(_ *cobra.Command, args []string) error {
		svc, id, err := e.readIncident(args[0])
		if err != nil {
			return err
		}
		r, err := build(svc, id)
		if err != nil {
			return err
		}
		if asJSON {
			if err := e.printJSON(r.value); err != nil {
				return err
			}
		} else {
			r.text(e.stdout)
		}
		if r.fail {
			return errSilent
		}
		return nil
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}
