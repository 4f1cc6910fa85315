package serve_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"golang.org/x/crypto/ssh"

	"github.com/icconsole/ic/cli"
)

// The tests here run the real ic binary (ic serve) and drive it with real
// SSH clients (golang.org/x/crypto/ssh) on 127.0.0.1.

// icBinary is the ic built once for these tests.
var icBinary string

// The tests run the ic binary, which go test's cache does not see; naming
// the command line's package here makes a change to it run them again.
var _ = cli.RunServed

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ic-serve-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	icBinary = filepath.Join(dir, "ic")
	build := exec.Command("go", "build", "-o", icBinary, "github.com/icconsole/ic")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building ic for the serve tests:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// patience bounds every wait for the server: a guard against a hang, not
// a measure of speed (a slow machine only makes the tests slower).
const patience = 60 * time.Second

// user is a key and the name it is granted as.
type user struct {
	name, role string
	signer     ssh.Signer
}

func newUser(t testing.TB, name, role string) user {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return user{name: name, role: role, signer: s}
}

func (u user) fingerprint() string { return ssh.FingerprintSHA256(u.signer.PublicKey()) }

// authorizedLine is the user's line in the authorized-keys file.
func (u user) authorizedLine() string {
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(u.signer.PublicKey()))) + " " + u.name
	if u.role != "" {
		line = "ic-role=" + u.role + " " + line
	}
	return line
}

// server is a running ic serve.
type server struct {
	t        testing.TB
	dir      string
	addr     string
	keysFile string
	cmd      *exec.Cmd
	exited   chan struct{}
	stderr   *syncBuffer
	hostKey  ssh.PublicKey
}

type serverOptions struct {
	args []string
	env  []string
}

func startServer(t testing.TB, users []user, o serverOptions) *server {
	t.Helper()
	dir := t.TempDir()
	s := &server{t: t, dir: dir, keysFile: filepath.Join(dir, "authorized_keys"), stderr: &syncBuffer{}, exited: make(chan struct{})}
	s.writeKeys(users)
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--authorized-keys", s.keysFile, "--host-key", filepath.Join(dir, "host_key")}, o.args...)
	s.cmd = exec.Command(icBinary, args...)
	s.cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir+"/config", "XDG_STATE_HOME="+dir+"/state",
		"IC_DB="+filepath.Join(dir, "ic.db"), "IC_CONFIG="+dir+"/config/config.yaml")
	s.cmd.Env = append(s.cmd.Env, o.env...)
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(patience):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})
	lines := bufio.NewScanner(out)
	found := make(chan string, 1)
	go func() {
		var seen []string
		for lines.Scan() {
			seen = append(seen, lines.Text())
			if addr, ok := strings.CutPrefix(lines.Text(), "ic serve: listening on "); ok {
				found <- addr
			}
		}
		found <- "exited: " + strings.Join(seen, "\n")
	}()
	select {
	case addr := <-found:
		if rest, bad := strings.CutPrefix(addr, "exited: "); bad {
			t.Fatalf("ic serve did not start:\n%s\n%s", rest, s.stderr)
		}
		s.addr = addr
	case <-time.After(patience):
		t.Fatalf("ic serve did not say where it listens:\n%s", s.stderr)
	}
	return s
}

func (s *server) writeKeys(users []user) {
	var b strings.Builder
	b.WriteString("# test keys\n")
	for _, u := range users {
		b.WriteString(u.authorizedLine() + "\n")
	}
	if err := os.WriteFile(s.keysFile, []byte(b.String()), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

// dial connects as u.
func (s *server) dial(u user) (*ssh.Client, error) {
	return ssh.Dial("tcp", s.addr, &ssh.ClientConfig{
		User: "anyone",
		Auth: []ssh.AuthMethod{ssh.PublicKeys(u.signer)},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			s.hostKey = key
			return nil
		},
		Timeout: patience,
	})
}

// result is how a served command ended.
type result struct {
	stdout, stderr string
	code           int
}

// run runs an ic command line as u, without a pty.
func (s *server) run(u user, stdin string, args ...string) result {
	s.t.Helper()
	c, err := s.dial(u)
	if err != nil {
		s.t.Fatalf("%s: %v", u.name, err)
	}
	defer c.Close()
	return runOn(s.t, c, stdin, args...)
}

func runOn(t testing.TB, c *ssh.Client, stdin string, args ...string) result {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var out, errb bytes.Buffer
	sess.Stdout, sess.Stderr, sess.Stdin = &out, &errb, strings.NewReader(stdin)
	r := result{}
	err = sess.Run(shellQuote(args))
	if ee, ok := err.(*ssh.ExitError); ok {
		r.code = ee.ExitStatus()
	} else if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	r.stdout, r.stderr = out.String(), errb.String()
	return r
}

// shellQuote joins args the way the server splits them back.
func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'"'"'`) + "'"
	}
	return strings.Join(q, " ")
}

// declare opens an incident as u and returns its short id.
func (s *server) declare(u user, title string) string {
	s.t.Helper()
	r := s.run(u, "", "incident", "open", "--title", title, "--sev", "SEV-2", "--json")
	if r.code != 0 {
		s.t.Fatalf("declare: %+v", r)
	}
	var st struct {
		ShortID string `json:"short_id"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.ShortID == "" {
		s.t.Fatalf("declare printed %q: %v", r.stdout, err)
	}
	return st.ShortID
}

// timeline is an incident's entries as ic timeline --json prints them.
type timelineEntry struct {
	Seq      int64           `json:"seq"`
	Actor    string          `json:"actor"`
	Identity string          `json:"identity"`
	Type     string          `json:"type"`
	Payload  json.RawMessage `json:"payload"`
}

func (s *server) timeline(u user, id string) []timelineEntry {
	s.t.Helper()
	r := s.run(u, "", "timeline", id, "--json")
	if r.code != 0 {
		s.t.Fatalf("timeline: %+v", r)
	}
	var out []timelineEntry
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var e timelineEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			s.t.Fatalf("timeline line %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

// console is a session with a pty: the served console.
type console struct {
	t      testing.TB
	client *ssh.Client
	sess   *ssh.Session
	in     io.WriteCloser
	screen *syncBuffer
}

func (s *server) console(u user, w, h int) *console {
	s.t.Helper()
	c, err := s.dial(u)
	if err != nil {
		s.t.Fatalf("%s: %v", u.name, err)
	}
	return openConsole(s.t, c, w, h)
}

func openConsole(t testing.TB, c *ssh.Client, w, h int) *console {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm-256color", h, w, ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	in, err := sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	con := &console{t: t, client: c, sess: sess, in: in, screen: &syncBuffer{}}
	sess.Stdout, sess.Stderr = con.screen, con.screen
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return con
}

// waitFor waits until the console has drawn text (escape sequences
// removed), or fails after patience.
func (c *console) waitFor(text string) {
	c.t.Helper()
	if !c.screen.waitFor(text, patience) {
		c.t.Fatalf("the console never showed %q; it showed:\n%s", text, c.screen.tail(3000))
	}
}

// note writes a note the way a person does: n, then (once the note line
// is open) the text, then enter. Keys sent in one packet reach the
// console as one key press, so n goes alone.
func (c *console) note(text string) {
	c.t.Helper()
	mark := c.screen.len()
	c.typeText("n")
	if !c.screen.waitForAfter(mark, "note>", patience) {
		c.t.Fatalf("the note line did not open:\n%s", c.screen.tail(2000))
	}
	c.typeText(text)
	c.typeText("\r")
}

func (c *console) typeText(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.in, s); err != nil {
		c.t.Fatal(err)
	}
}

// syncBuffer is a buffer written by one goroutine and read by others.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// plain is what was written, escape sequences removed.
func (b *syncBuffer) plain() string { return ansi.Strip(b.String()) }

func (b *syncBuffer) tail(n int) string {
	s := b.plain()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}

func (b *syncBuffer) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Len()
}

func (b *syncBuffer) waitFor(text string, d time.Duration) bool { return b.waitForAfter(0, text, d) }

// waitForAfter waits until text is drawn after the first mark bytes.
func (b *syncBuffer) waitForAfter(mark int, text string, d time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		b.mu.Lock()
		if strings.Contains(ansi.Strip(b.b.String()[mark:]), text) {
			b.mu.Unlock()
			return true
		}
		ch := make(chan struct{})
		b.changed = ch
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// runLocal runs a local ic on the server's ledger (after it stopped).
func runLocal(s *server, args ...string) (string, error) {
	cmd := exec.Command(icBinary, args...)
	cmd.Env = append(os.Environ(), "HOME="+s.dir, "XDG_CONFIG_HOME="+s.dir+"/config", "XDG_STATE_HOME="+s.dir+"/state",
		"IC_DB="+filepath.Join(s.dir, "ic.db"), "IC_CONFIG="+s.dir+"/config/config.yaml", "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// cutConn is a client connection that goes dead after left bytes sent.
type cutConn struct {
	net.Conn
	mu   sync.Mutex
	left int
}

func (c *cutConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.left <= 0 {
		c.Conn.Close()
		return 0, io.ErrClosedPipe
	}
	if len(p) > c.left {
		n, _ := c.Conn.Write(p[:c.left])
		c.left = 0
		c.Conn.Close()
		return n, io.ErrClosedPipe
	}
	c.left -= len(p)
	return c.Conn.Write(p)
}

// dialOver runs the SSH handshake as u over conn.
func dialOver(conn net.Conn, u user) (*ssh.Client, error) {
	_ = conn.SetDeadline(time.Now().Add(patience))
	cc, chans, reqs, err := ssh.NewClientConn(conn, "test", &ssh.ClientConfig{
		User: "anyone", Auth: []ssh.AuthMethod{ssh.PublicKeys(u.signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	})
	if err != nil {
		return nil, err
	}
	return ssh.NewClient(cc, chans, reqs), nil
}

// openQuiet opens a console, or nil when the connection is already cut.
func openQuiet(c *ssh.Client, w, h int) io.Writer {
	sess, err := c.NewSession()
	if err != nil {
		return nil
	}
	if sess.RequestPty("xterm", h, w, ssh.TerminalModes{}) != nil {
		return nil
	}
	in, err := sess.StdinPipe()
	if err != nil || sess.Shell() != nil {
		return nil
	}
	return in
}
