package serve_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"golang.org/x/crypto/ssh"
)

// BenchmarkServeLoad is the bounded loopback load test of ic serve: 20
// consoles, each writing 50 notes the way a person does (n, the text,
// enter, then waiting to see it), while every console shows the timeline
// and a script reads it with 'ic timeline --json'. It fails when a note
// is lost or doubled or the ledger does not verify, and reports:
//
//	p50-ms, p99-ms   keypress (enter) to the note on each other console's screen
//	unseen           (note, other console) pairs never drawn (scrolled past between frames)
//	notes/s          notes committed per second over the run
//	rss-KB/session   the server's resident memory per open console
//
// It takes about a minute; run it alone, once:
//
//	go test ./serve -run '^$' -bench ServeLoad -benchtime 1x
//
// (scripts/load-serve does that). The figures depend on the machine.
func BenchmarkServeLoad(b *testing.B) {
	sessions, notes := 20, 50
	if v, err := strconv.Atoi(os.Getenv("IC_LOAD_SESSIONS")); err == nil && v > 1 {
		sessions = v
	}
	if v, err := strconv.Atoi(os.Getenv("IC_LOAD_NOTES")); err == nil && v > 0 {
		notes = v
	}
	for n := 0; n < b.N; n++ {
		runLoad(b, sessions, notes)
	}
}

func runLoad(b *testing.B, sessions, notes int) {
	users := make([]user, sessions)
	for i := range users {
		users[i] = newUser(b, fmt.Sprintf("u%02d", i), "")
	}
	reader := newUser(b, "reader", "observer")
	s := startServer(b, append(users, reader), serverOptions{args: []string{"--max-sessions-per-key", "2", "--idle-timeout", "0"}})
	id := s.declare(users[0], "load test")
	rss0 := rssKB(b, s.cmd.Process.Pid)

	screens := make([]*loadScreen, sessions)
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.dial(u)
			if err != nil {
				b.Error(err)
				return
			}
			screens[i] = openLoadScreen(b, c, i)
		}()
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	for _, sc := range screens {
		if !sc.waitText(id, patience) {
			b.Fatalf("console %d never showed %s", sc.who, id)
		}
	}
	time.Sleep(time.Second) // settled: first frames drawn
	rssIdle := rssKB(b, s.cmd.Process.Pid)

	// A script reads the timeline all along.
	stopReading := make(chan struct{})
	readerDone := make(chan int)
	go func() {
		reads := 0
		c, err := s.dial(reader)
		if err != nil {
			readerDone <- 0
			return
		}
		defer c.Close()
		for {
			select {
			case <-stopReading:
				readerDone <- reads
				return
			default:
			}
			if r := runOn(b, c, "", "timeline", id, "--json"); r.code == 0 {
				reads++
			}
		}
	}()

	sent := make([][]time.Time, sessions) // [writer][note]: when enter was pressed
	start := time.Now()
	b.ResetTimer()
	for i, sc := range screens {
		sent[i] = make([]time.Time, notes)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < notes; j++ {
				mark := sc.prompts()
				sc.write("n")
				if !sc.waitPrompt(mark, patience) {
					b.Errorf("console %d: the note line did not open for note %d", i, j)
					return
				}
				sc.write(marker(i, j))
				time.Sleep(5 * time.Millisecond) // the text and enter as two key presses
				closed := sc.closes()
				sent[i][j] = time.Now()
				sc.write("\r")
				if !sc.waitClosed(closed, patience) {
					b.Errorf("console %d: the note line did not close after note %d", i, j)
					return
				}
				if !sc.waitSeen(i, j, patience) {
					sc.mu.Lock()
					tail := ansi.Strip(string(sc.texts[max(0, len(sc.texts)-4000):]))
					sc.mu.Unlock()
					b.Errorf("console %d never showed its own note %d; its screen ended with:\n%s", i, j, tail)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	// Every console gets a moment to draw the last notes.
	deadline := time.Now().Add(10 * time.Second)
	for _, sc := range screens {
		for i := range screens {
			sc.waitSeen(i, notes-1, time.Until(deadline))
		}
	}
	close(stopReading)
	reads := <-readerDone
	rssLoaded := rssKB(b, s.cmd.Process.Pid)

	var lat []float64
	unseen := 0
	for w := range screens {
		for j := 0; j < notes; j++ {
			for r, sc := range screens {
				if r == w {
					continue
				}
				at, ok := sc.seenAt(w, j)
				if !ok || sent[w][j].IsZero() {
					unseen++
					continue
				}
				lat = append(lat, float64(at.Sub(sent[w][j]).Microseconds())/1000)
			}
		}
	}
	for _, sc := range screens {
		sc.client.Close()
	}

	// The ledger: every note once, the chain and the log whole.
	entries := s.timeline(reader, id)
	count := map[string]int{}
	for _, e := range entries {
		if e.Type == "note" {
			if m := markerRE.Find(e.Payload); m != nil {
				count[string(m)]++
			}
		}
	}
	lost, dup := 0, 0
	for w := range screens {
		for j := 0; j < notes; j++ {
			if sent[w][j].IsZero() {
				continue // never typed: the harness said why above
			}
			switch count[marker(w, j)] {
			case 0:
				lost++
			case 1:
			default:
				dup++
			}
		}
	}
	if r := s.run(reader, "", "verify", "--full"); r.code != 0 {
		b.Errorf("verify after the load: %+v", r)
	}
	if lost > 0 || dup > 0 {
		b.Errorf("%d notes lost, %d doubled", lost, dup)
	}
	slices.Sort(lat)
	b.ReportMetric(percentile(lat, 0.50), "p50-ms")
	b.ReportMetric(percentile(lat, 0.99), "p99-ms")
	b.ReportMetric(float64(unseen), "unseen")
	b.ReportMetric(float64(lost), "lost")
	b.ReportMetric(float64(dup), "doubled")
	b.ReportMetric(float64(sessions*notes)/elapsed.Seconds(), "notes/s")
	b.ReportMetric(float64(rssIdle-rss0)/float64(sessions), "rss-KB/session")
	b.ReportMetric(float64(rssLoaded-rss0)/float64(sessions), "rss-KB/session-after")
	b.Logf("%d consoles x %d notes in %s: p50 %.1f ms, p99 %.1f ms over %d (note, screen) pairs, %d unseen; %d timeline reads; server RSS %d KB before, %d KB with %d consoles open, %d KB after the load",
		sessions, notes, elapsed.Round(time.Millisecond), percentile(lat, 0.5), percentile(lat, 0.99), len(lat), unseen, reads, rss0, rssIdle, sessions, rssLoaded)
}

func marker(w, j int) string { return fmt.Sprintf("M%02dx%02dy", w, j) }

var markerRE = regexp.MustCompile(`M(\d\d)x(\d\d)y`)

// rowRE is a note's marker on a timeline row ("... u07 (session) M07x12y"),
// not on the note line where it is typed.
var rowRE = regexp.MustCompile(`\(session\) +M(\d\d)x(\d\d)y`)

// closedNote is the note line when nothing is being typed.
const closedNote = "n or : writes a note"

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// rssKB is a process's resident memory (Linux /proc).
func rssKB(b *testing.B, pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Logf("no memory figure: %v", err)
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

// loadScreen is one console of the load test: what it drew is scanned as
// it arrives for the notes' markers and the note prompt, with the time
// each marker first appeared.
type loadScreen struct {
	who    int
	client *ssh.Client
	in     io.Writer

	mu      sync.Mutex
	seen    map[[2]int]time.Time
	prompt  int
	closed  int
	texts   []byte // the last bytes, for waitText
	changed chan struct{}
}

func openLoadScreen(b *testing.B, c *ssh.Client, who int) *loadScreen {
	sess, err := c.NewSession()
	if err != nil {
		b.Fatal(err)
	}
	if err := sess.RequestPty("xterm-256color", 60, 200, ssh.TerminalModes{}); err != nil {
		b.Fatal(err)
	}
	in, err := sess.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := sess.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		b.Fatal(err)
	}
	sc := &loadScreen{who: who, client: c, in: in, seen: map[[2]int]time.Time{}, changed: make(chan struct{})}
	go sc.read(out)
	return sc
}

func (sc *loadScreen) read(r io.Reader) {
	buf := make([]byte, 32<<10)
	var carry []byte
	for {
		n, err := r.Read(buf)
		now := time.Now()
		if n > 0 {
			chunk := append(carry, buf[:n]...)
			sc.mu.Lock()
			for _, m := range rowRE.FindAllSubmatch(chunk, -1) {
				w, _ := strconv.Atoi(string(m[1]))
				j, _ := strconv.Atoi(string(m[2]))
				if _, ok := sc.seen[[2]int{w, j}]; !ok {
					sc.seen[[2]int{w, j}] = now
				}
			}
			sc.prompt += bytes.Count(buf[:n], []byte("note>")) + crossing(carry, buf[:n], "note>")
			sc.closed += bytes.Count(buf[:n], []byte(closedNote)) + crossing(carry, buf[:n], closedNote)
			sc.texts = append(sc.texts, buf[:n]...)
			if len(sc.texts) > 64<<10 {
				sc.texts = append([]byte(nil), sc.texts[len(sc.texts)-32<<10:]...)
			}
			close(sc.changed)
			sc.changed = make(chan struct{})
			sc.mu.Unlock()
			// Keep a row's tail so a marker cut between reads is still
			// found (a marker already counted is not counted twice).
			keep := min(len(chunk), 64)
			carry = append([]byte(nil), chunk[len(chunk)-keep:]...)
		}
		if err != nil {
			return
		}
	}
}

// crossing counts pat cut between the end of a and the start of b.
func crossing(a, b []byte, pat string) int {
	if len(a) == 0 {
		return 0
	}
	joined := append(append([]byte(nil), a...), b[:min(len(b), len(pat)-1)]...)
	return bytes.Count(joined, []byte(pat)) - bytes.Count(a, []byte(pat))
}

func (sc *loadScreen) write(s string) { _, _ = io.WriteString(sc.in, s) }

func (sc *loadScreen) prompts() int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.prompt
}

func (sc *loadScreen) closes() int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.closed
}

func (sc *loadScreen) waitClosed(mark int, d time.Duration) bool {
	return sc.wait(d, func() bool { return sc.closed > mark })
}

func (sc *loadScreen) seenAt(w, j int) (time.Time, bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	t, ok := sc.seen[[2]int{w, j}]
	return t, ok
}

// wait waits until cond holds (checked under mu) or d passes.
func (sc *loadScreen) wait(d time.Duration, cond func() bool) bool {
	timeout := time.After(d)
	for {
		sc.mu.Lock()
		ok, ch := cond(), sc.changed
		sc.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-timeout:
			return false
		}
	}
}

func (sc *loadScreen) waitPrompt(mark int, d time.Duration) bool {
	return sc.wait(d, func() bool { return sc.prompt > mark })
}

func (sc *loadScreen) waitSeen(w, j int, d time.Duration) bool {
	return sc.wait(d, func() bool { _, ok := sc.seen[[2]int{w, j}]; return ok })
}

func (sc *loadScreen) waitText(text string, d time.Duration) bool {
	return sc.wait(d, func() bool { return bytes.Contains(sc.texts, []byte(text)) })
}
