// Package serve is ic's console and commands served over SSH (ic serve),
// on charmbracelet/wish: several responders on one ledger, each known by
// their key. A session with a terminal gets the same console a local ic
// opens (package tui), one bubbletea program per session with its own
// size and colours; a session without one runs an ic command line (the
// caller's Run, the command tree of package cli) with the session's
// streams and exit status.
//
// Who is who comes from the authorized-keys file: the key's comment is
// the principal, its ic-role option the session role, and every entry a
// session writes records the principal as actor and session:SHA256:...
// as identity. What a role may do is enforced by the application layer
// (package incident), not here. One watcher follows the ledger for every
// console (hub.go), so the consoles see each other's entries within a
// second without each reading the ledger on a clock.
package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	gossh "golang.org/x/crypto/ssh"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/signers"
	"github.com/icconsole/ic/tui"
)

// Config is what a server needs.
type Config struct {
	// AuthorizedKeys is the authorized-keys file (keys.go); it is read
	// again whenever it changes.
	AuthorizedKeys string
	// HostKey is the server's host key file, created on first start.
	HostKey string
	// Service is the application layer over the served ledger.
	Service *incident.Service
	// Book is the book a console shows first ("" for the default).
	Book string
	// MaxSessionsPerKey limits the sessions one key has open at once (0:
	// no limit).
	MaxSessionsPerKey int
	// IdleTimeout ends a session whose client sent nothing for that long
	// (0: never).
	IdleTimeout time.Duration
	// DrainTimeout is how long a stopping server waits for its sessions
	// to end before it closes them.
	DrainTimeout time.Duration
	// WatchEvery is how often the watcher reads the ledger's size (0:
	// 100 ms); writes made through this server wake it at once.
	WatchEvery time.Duration
	// Run runs one ic command line for a session without a terminal and
	// returns its exit status.
	Run func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, s Session) int
	// Log receives what the server reports (sessions, refusals); nil:
	// nothing.
	Log io.Writer
}

// Session is who a served command runs as.
type Session struct {
	// Actor is the key's principal, identified by the session
	// (incident.ViaSession) with its session role.
	Actor incident.Actor
	// Key is the key the client authenticated with.
	Key gossh.PublicKey
	// Service is the served ledger, with this principal's drafts.
	Service *incident.Service
}

// Server is a running ic serve.
type Server struct {
	cfg    Config
	keys   *keyring
	host   gossh.Signer
	hostFP string
	// created says the host key was made at this start.
	created bool
	svc     *incident.Service
	hub     *hub
	writes  *writes
	ssh     *ssh.Server

	// work outlives a client that drops: an append a session started
	// finishes and is durable even when its client is gone. It ends when
	// the drain is over.
	work      context.Context
	stopWork  context.CancelFunc
	handlers  sync.WaitGroup
	logMu     sync.Mutex
	drainOnce sync.Once

	mu       sync.Mutex
	draining bool
}

// grantKey holds a connection's Grant in its context.
type grantKey struct{}

// New loads the host key (creating it if needed) and the authorized keys,
// and builds a server. Nothing listens until Serve.
func New(cfg Config) (*Server, error) {
	if cfg.Service == nil || cfg.Run == nil {
		return nil, errors.New("serve: a service and a command runner are needed")
	}
	if cfg.WatchEvery <= 0 {
		cfg.WatchEvery = 100 * time.Millisecond
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 10 * time.Second
	}
	keys, err := newKeyring(cfg.AuthorizedKeys)
	if err != nil {
		return nil, err
	}
	host, created, err := LoadOrCreateHostKey(cfg.HostKey)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, keys: keys, host: host, hostFP: signers.Fingerprint(host.PublicKey()), created: created}
	s.hub = newHub(nil, cfg.WatchEvery, s.logf)
	s.writes = newWrites(s.hub.nudge)
	s.svc = cfg.Service.WithWriteTracker(s.writes)
	s.hub.svc = s.svc
	s.work, s.stopWork = context.WithCancel(context.Background())
	s.ssh, err = wish.NewServer(
		func(srv *ssh.Server) error { srv.AddHostKey(host); return nil },
		wish.WithPublicKeyAuth(s.authenticate),
		wish.WithMiddleware(func(ssh.Handler) ssh.Handler { return s.session }),
	)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// HostKeyFingerprint is the host key's SHA256 fingerprint, which clients
// check on first connection.
func (s *Server) HostKeyFingerprint() string { return s.hostFP }

// HostKeyCreated reports whether the host key was created at this start.
func (s *Server) HostKeyCreated() bool { return s.created }

// Keys is how many keys the authorized-keys file grants now.
func (s *Server) Keys() int {
	g, _ := s.keys.current()
	return len(g)
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Log == nil {
		return
	}
	s.logMu.Lock()
	defer s.logMu.Unlock()
	fmt.Fprintf(s.cfg.Log, "ic serve: "+format+"\n", args...)
}

// authenticate admits a key the authorized-keys file grants.
func (s *Server) authenticate(ctx ssh.Context, key ssh.PublicKey) bool {
	g, ok, err := s.keys.lookup(key)
	if err != nil {
		s.logf("refusing %s from %s: %v", signers.Fingerprint(key), ctx.RemoteAddr(), err)
		return false
	}
	if !ok {
		s.logf("refusing key %s from %s: not in %s", signers.Fingerprint(key), ctx.RemoteAddr(), s.cfg.AuthorizedKeys)
		return false
	}
	ctx.SetValue(grantKey{}, g)
	return true
}

// Serve accepts sessions on ln until ctx ends, then drains: every console
// is told the server is stopping, sessions get DrainTimeout to end, the
// writes in flight finish, and Serve returns nil once every entry a
// session was told was recorded is committed (durable: the ledger syncs
// each commit).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	watchCtx, stopWatch := context.WithCancel(s.work)
	defer stopWatch()
	go s.hub.watch(watchCtx, s.cfg.IdleTimeout)
	errc := make(chan error, 1)
	go func() { errc <- s.ssh.Serve(ln) }()
	select {
	case err := <-errc:
		if !errors.Is(err, ssh.ErrServerClosed) {
			s.drain()
			return err
		}
	case <-ctx.Done():
	}
	s.drain()
	return nil
}

// drain stops the server: no new connections, a notice to every console,
// then the sessions end (closed after DrainTimeout), then the writes in
// flight finish.
func (s *Server) drain() {
	s.drainOnce.Do(func() {
		s.mu.Lock()
		s.draining = true
		s.mu.Unlock()
		deadline := time.Now().Add(s.cfg.DrainTimeout)
		// The listener closes; open connections stay until their
		// sessions end (a Shutdown whose context is already done closes
		// the listeners and returns without waiting).
		closed, cancel := context.WithCancel(context.Background())
		cancel()
		_ = s.ssh.Shutdown(closed)
		n := s.hub.count()
		s.logf("stopping: %d session(s) open, waiting up to %s", n, s.cfg.DrainTimeout)
		s.hub.noticeAll("ic serve is stopping: you will be disconnected; what you typed is kept as a draft")
		// Consoles get a moment to show the notice, then end; commands
		// run to their end.
		time.Sleep(min(time.Second, s.cfg.DrainTimeout/4))
		s.hub.each(func(p *person) {
			if p.console {
				p.stop("ic serve stopped: reconnect when it is back (what you typed is kept as a draft)")
			}
		})
		done := make(chan struct{})
		go func() { s.handlers.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Until(deadline)):
			s.logf("sessions still open after %s: closing them", s.cfg.DrainTimeout)
			s.hub.each(func(p *person) { p.end() })
			<-done
		}
		wctx, cancel := context.WithDeadline(context.Background(), deadline.Add(s.cfg.DrainTimeout))
		if !s.writes.wait(wctx) {
			s.logf("writes still in flight after the drain: they are cancelled, and only what was committed is on the timeline")
		}
		cancel()
		s.stopWork()
		_ = s.ssh.Close()
		s.logf("stopped: every entry acknowledged to a session is committed")
	})
}

// session handles one SSH session: a console with a pty, a command
// without.
func (s *Server) session(sess ssh.Session) {
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		fmt.Fprintln(sess.Stderr(), "ic serve is stopping: try again when it is back")
		_ = sess.Exit(1)
		return
	}
	s.handlers.Add(1) // under mu: never after the drain started waiting
	s.mu.Unlock()
	defer s.handlers.Done()
	g, ok := sess.Context().Value(grantKey{}).(Grant)
	if !ok {
		_ = sess.Exit(1)
		return
	}
	// The file may have changed between the handshake and now.
	if now, still, err := s.keys.lookup(g.Key); err != nil || !still || now.Role != g.Role || now.Principal != g.Principal {
		fmt.Fprintln(sess.Stderr(), "ic serve: your key's grant changed since you connected: connect again")
		_ = sess.Exit(1)
		return
	}
	pty, winCh, isPty := sess.Pty()
	p, err := s.hub.join(g, isPty, func() { _ = sess.Close() }, s.cfg.MaxSessionsPerKey)
	if err != nil {
		s.logf("%v", err)
		fmt.Fprintln(sess.Stderr(), err)
		_ = sess.Exit(1)
		return
	}
	defer s.hub.leave(p)
	actor := incident.Actor{Name: g.Principal, Via: incident.ViaSession, Key: g.Fingerprint, SessionRole: g.Role}
	svc := s.svc.WithDraftOwner(g.Principal)
	kind := "command"
	if isPty {
		kind = "console"
	}
	s.logf("%s %s (%s, key %s) from %s", kind, g.Principal, g.Role, g.Fingerprint, sess.RemoteAddr())
	in := &inputClock{r: sess, p: p}
	if isPty {
		s.console(sess, p, svc, actor, in, pty, winCh)
		return
	}
	s.command(sess, p, svc, actor, in)
}

// inputClock notes when the client last sent something (the idle limit).
type inputClock struct {
	r io.Reader
	p *person
}

func (c *inputClock) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if n > 0 {
		c.p.touch()
	}
	return n, err
}

// console runs the full-screen console for one session: its own
// bubbletea program, sized by the client's pty and coloured for its
// terminal, reading the ledger only when the watcher says it moved.
// What is on the note line when the session ends (the client dropped,
// the server stopped) is kept as the principal's draft.
func (s *Server) console(sess ssh.Session, p *person, svc *incident.Service, actor incident.Actor, in io.Reader, pty ssh.Pty, winCh <-chan ssh.Window) {
	opts := tui.Options{
		Context: s.work,
		Catalog: svc.Books(),
		Service: svc,
		Theme:   sessionTheme(pty.Term, sess.Environ()),
		Actor:   actor,
		Book:    s.cfg.Book,
		Live:    true,
		Opened:  func(id string) { s.hub.setIncident(s.work, p, id) },
		// Approvals made here are proven by the key the session logged in with.
		SessionKey: sess.PublicKey(),
	}
	var err error
	if opts.Draft, err = svc.Drafts().Read(); err != nil {
		s.logf("%s: %v", actor.Name, err)
	}
	prog := tea.NewProgram(tui.New(opts), tea.WithInput(in), tea.WithOutput(sess), tea.WithAltScreen(),
		tea.WithoutSignalHandler(), tea.WithContext(s.work))
	s.hub.attach(p, prog)
	go func() {
		prog.Send(tea.WindowSizeMsg{Width: pty.Window.Width, Height: pty.Window.Height})
		for {
			select {
			case <-sess.Context().Done():
				// The client is gone: the program ends, and what was
				// typed is kept below.
				prog.Quit()
				return
			case w, ok := <-winCh:
				if !ok {
					// The window channel may close before the session's
					// context ends: keep waiting for the end, or the
					// program would never be told to quit.
					winCh = nil
					continue
				}
				prog.Send(tea.WindowSizeMsg{Width: w.Width, Height: w.Height})
			}
		}
	}()
	final, err := prog.Run()
	if m, ok := final.(tui.Model); ok {
		if id, text := m.Draft(); text != "" {
			if err := svc.DraftFor(id).Save(text); err != nil {
				s.logf("%s: keeping the draft: %v", actor.Name, err)
			}
		}
	}
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		s.logf("%s: console: %v", actor.Name, err)
	}
	if why := p.reason(); why != "" {
		fmt.Fprintf(sess.Stderr(), "ic serve: %s\r\n", why)
	}
	_ = sess.Exit(0)
}

// command runs one ic command line for a session without a terminal, as
// the key's principal, with the session's streams and exit status.
func (s *Server) command(sess ssh.Session, p *person, svc *incident.Service, actor incident.Actor, in io.Reader) {
	args := sess.Command()
	if len(args) == 0 {
		fmt.Fprintln(sess.Stderr(), "ic serve: no terminal and no command: 'ssh -t' for the console, or 'ssh HOST -- COMMAND ARGS' ('ssh HOST -- help' lists them)")
		_ = sess.Exit(2)
		return
	}
	// The command stops when its client goes, or when the drain gives up.
	ctx, cancel := context.WithCancel(s.work)
	defer cancel()
	go func() {
		select {
		case <-sess.Context().Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	code := s.cfg.Run(ctx, args, &cutStdin{r: in, gone: sess.Context().Done()}, sess, sess.Stderr(), Session{Actor: actor, Key: sess.PublicKey(), Service: svc})
	if why := p.reason(); why != "" {
		fmt.Fprintf(sess.Stderr(), "ic serve: %s\n", why)
	}
	_ = sess.Exit(code)
}

// cutStdin tells the end of a command's input from a lost connection: both
// reach the channel as an end of file, but a lost connection also ends the
// session's context at once. Text cut off with its connection must not
// become an entry.
type cutStdin struct {
	r    io.Reader
	gone <-chan struct{}
}

// lostGrace is how long an end of input waits to learn whether the
// connection went with it.
const lostGrace = 50 * time.Millisecond

func (c *cutStdin) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if errors.Is(err, io.EOF) {
		select {
		case <-c.gone:
			return n, errors.New("the connection was lost before the end of the input: nothing was recorded")
		case <-time.After(lostGrace):
		}
	}
	return n, err
}
