// Command ic is the incident console: a terminal console for declaring and
// running incidents, walking runbooks, keeping a tamper-evident timeline and
// checking Ethereum sync-committee signatures. With no arguments in a
// terminal it opens the full-screen console; every action is also a
// subcommand (package cli). Run "ic help" for the list.
package main

import (
	"os"

	"github.com/icconsole/ic/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
