package cli

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X
// github.com/icconsole/ic/cli.Version=..."; when empty, the module version
// from the build info is used.
var Version = ""

func versionString() string {
	v := Version
	info, ok := debug.ReadBuildInfo()
	if v == "" && ok && info.Main.Version != "" {
		v = info.Main.Version
	}
	if v == "" {
		v = "(devel)"
	}
	goVersion := ""
	if ok {
		goVersion = " " + info.GoVersion
	}
	return "ic " + v + goVersion
}

func (e *env) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "print the version of ic",
		Long:    "Print the version of ic and the Go it was built with.",
		Example: "  ic version",
		Args:    argsBetween(0, 0),
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(e.stdout, versionString())
			return err
		},
	}
}
