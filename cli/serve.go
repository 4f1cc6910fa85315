package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/spf13/cobra"

	"github.com/icconsole/ic/serve"
)

// serveFlags are the options of ic serve.
type serveFlags struct {
	listen, authorizedKeys, hostKey string
	maxPerKey                       int
	idle, drain                     time.Duration
}

func (e *env) serveCommand() *cobra.Command {
	var sf serveFlags
	c := &cobra.Command{
		Use:   "serve",
		Short: "serve the console and the commands over SSH to the keys in an authorized-keys file",
		Long: `Serve this ledger and these books over SSH, so several responders work on one incident, each known by their key.

'ssh -p 2222 HOST' opens the same console a local ic does; 'ssh -p 2222 HOST -- COMMAND ARGS' runs an ic command (timeline, note, --json included) for scripts. Only the keys in the authorized-keys file get in (OpenSSH format); the key's comment is the principal every entry records as its actor, with identity session:SHA256:..., and the option ic-role=observer|responder|approver its session role (default responder): an observer reads only, only an approver approves a two-party step. The file is read again when it changes: a key is granted or revoked by editing it.

The host key is created on first start (mode 0600) and its fingerprint printed. SIGTERM or SIGINT drains: every console is told, sessions end (what was typed is kept as a draft), and ic serve exits 0 once every entry a session was told was recorded is committed.`,
		Example: `  ic serve --listen :2222 --authorized-keys /etc/ic/authorized_keys
  ssh -p 2222 ic-host                        # the console
  ssh -p 2222 ic-host -- timeline INC-7f3a9c --json`,
		GroupID: "ledger",
		Args:    argsBetween(0, 0),
		RunE: func(c *cobra.Command, _ []string) error {
			return e.serve(sf)
		},
	}
	f := c.Flags()
	f.StringVar(&sf.listen, "listen", ":2222", "`ADDR` to listen on (host:port)")
	f.StringVar(&sf.authorizedKeys, "authorized-keys", "", "authorized-keys `FILE`: who may connect, as whom, with which role (default: authorized_keys beside the configuration)")
	f.StringVar(&sf.hostKey, "host-key", "", "host key `FILE`, created if missing (default: ssh_host_ed25519_key beside the configuration)")
	f.IntVar(&sf.maxPerKey, "max-sessions-per-key", 4, "sessions one key may have open at once (0: no limit)")
	f.DurationVar(&sf.idle, "idle-timeout", 30*time.Minute, "close a session whose client sent nothing for this long (0: never)")
	f.DurationVar(&sf.drain, "drain-timeout", 10*time.Second, "on SIGTERM, how long sessions get to end before they are closed")
	return c
}

// serve runs ic serve until a signal ends it.
func (e *env) serve(sf serveFlags) error {
	dir := ""
	if p, err := configPath(); err == nil {
		dir = filepath.Dir(p)
	}
	if sf.authorizedKeys == "" {
		sf.authorizedKeys = filepath.Join(dir, "authorized_keys")
	}
	if sf.hostKey == "" {
		sf.hostKey = filepath.Join(dir, "ssh_host_ed25519_key")
	}
	svc, err := e.service()
	if err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	// Every session draws with its own renderer; the process's default
	// one (which bubbles' defaults use) is told once never to ask the
	// server's own terminal anything.
	lipgloss.SetColorProfile(termenv.Ascii)
	lipgloss.SetHasDarkBackground(true)
	srv, err := serve.New(serve.Config{
		AuthorizedKeys:    sf.authorizedKeys,
		HostKey:           sf.hostKey,
		Service:           svc,
		Book:              cfg.Book,
		MaxSessionsPerKey: sf.maxPerKey,
		IdleTimeout:       sf.idle,
		DrainTimeout:      sf.drain,
		Run:               RunServed,
		Log:               e.stderr,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", sf.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (another ic serve, or sshd, on that port?)", sf.listen, err)
	}
	how := "loaded from"
	if srv.HostKeyCreated() {
		how = "created at"
	}
	fmt.Fprintf(e.stdout, "ic serve: host key %s (%s %s)\n", srv.HostKeyFingerprint(), how, sf.hostKey)
	fmt.Fprintf(e.stdout, "ic serve: %d key(s) from %s\n", srv.Keys(), sf.authorizedKeys)
	fmt.Fprintf(e.stdout, "ic serve: ledger %s\n", svc.LedgerPath())
	fmt.Fprintf(e.stdout, "ic serve: listening on %s\n", ln.Addr())
	if f, ok := e.stdout.(interface{ Sync() error }); ok {
		_ = f.Sync()
	}
	return srv.Serve(e.ctx, ln)
}

// RunServed runs one ic command line for a served session (serve.Config's
// Run): the session's streams and context, its principal as the actor,
// the server's ledger and books. It returns the exit status.
func RunServed(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, s serve.Session) int {
	out := &checkedWriter{w: stdout}
	e := &env{ctx: ctx, stdin: stdin, stdout: out, stderr: stderr, session: &s, svc: s.Service, catalog: s.Service.Books()}
	root := e.rootCommand()
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error { return e.servedAllows(c) }
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(out)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err != nil && isCobraUsageError(err) {
		err = usageError{msg: oneLineSuggestion(err.Error())}
	}
	e.close()
	if err == nil && out.err != nil {
		err = fmt.Errorf("writing the output: %w", out.err)
	}
	return exitCode(err, nil, stderr)
}

// servedFlags are the options a served session may not set: they would
// name another ledger, other books, someone else, or a file on the server.
var servedFlags = []string{"actor", "db", "runbooks", "checkpoint-dir", "allowed-signers", "output", "key-file"}

// servedOff are the commands a served session may not run, and why: each
// reads or writes a file on the server, or would serve again.
var servedOff = map[string]string{
	"evidence":       "it reads a file on the server: attach evidence with a local ic on the ledger's host, or note its sha256",
	"backup":         "it writes a file on the server: back up on the ledger's host",
	"restore":        "it replaces the served ledger: restore on the ledger's host, with the server stopped",
	"key":            "it makes a key on the server",
	"checkpoint":     "it signs with the server's checkpoint key: sign on the ledger's host",
	"verify-receipt": "it reads a file on the server: check receipts with a local ic",
	"synccheck":      "it reads files or calls beacons from the server: run it with a local ic",
	"config":         "it is the server's configuration",
	"serve":          "a served session does not serve",
	"completion":     "completion scripts are for a local ic",
	"runbook lint":   "it reads a folder on the server: lint with a local ic",
}

// servedAllows refuses what a served session may not do.
func (e *env) servedAllows(c *cobra.Command) error {
	for _, name := range servedFlags {
		if f := c.Flags().Lookup(name); f != nil && f.Changed {
			if name == "actor" {
				return usageError{msg: fmt.Sprintf("--actor is not accepted in a served session: you are %s, known by your key %s", e.session.Actor.Name, e.session.Actor.Key), cmd: c.CommandPath()}
			}
			return usageError{msg: fmt.Sprintf("--%s is not accepted in a served session: the server's ledger, books and files are used", name), cmd: c.CommandPath()}
		}
	}
	path := strings.TrimPrefix(c.CommandPath(), "ic ")
	for _, p := range []string{path, strings.Fields(path)[0]} {
		if why, off := servedOff[p]; off {
			return usageError{msg: fmt.Sprintf("'ic %s' is not available in a served session: %s", p, why), cmd: c.CommandPath()}
		}
	}
	return nil
}
