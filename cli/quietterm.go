package cli

// Linked into every ic binary so that no command queries the terminal at
// start-up; see the package's doc for why it must be a module of its own.
import _ "early.invalid/quietterm"
