//go:build unix

package cli

import (
	"bytes"
	"os"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// queryBackground asks the terminal on in/out for its background colour:
// OSC 11, then a cursor-position request (DSR) that every terminal
// answers, so a terminal that does not know OSC 11 is known at once by
// its DSR answer alone. It gives up after timeout (a terminal that answers
// nothing) and reports ok=false; the terminal is left as it was found.
func queryBackground(in, out *os.File, timeout time.Duration) (dark, ok bool) {
	fd := int(in.Fd())
	state, err := term.MakeRaw(fd)
	if err != nil {
		return false, false
	}
	defer term.Restore(fd, state)
	if _, err := out.WriteString("\x1b]11;?\x1b\\\x1b[6n"); err != nil {
		return false, false
	}
	deadline := time.Now().Add(timeout)
	var got []byte
	buf := make([]byte, 256)
	for len(got) < 4096 {
		left := time.Until(deadline)
		if left <= 0 {
			return false, false
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(left.Milliseconds())+1)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return false, false
		}
		r, err := unix.Read(fd, buf)
		if err != nil || r <= 0 {
			return false, false
		}
		got = append(got, buf[:r]...)
		if dsrAnswered(got) {
			osc, _, _ := bytes.Cut(got, []byte("\x1b["))
			return darkFromOSC11(string(osc))
		}
	}
	return false, false
}

// dsrAnswered reports whether b ends with the answer to the cursor
// position request (ESC [ row ; col R), which comes after any OSC answer.
func dsrAnswered(b []byte) bool {
	i := bytes.LastIndex(b, []byte("\x1b["))
	if i < 0 || !bytes.HasSuffix(b, []byte("R")) {
		return false
	}
	for _, c := range b[i+2 : len(b)-1] {
		if (c < '0' || c > '9') && c != ';' {
			return false
		}
	}
	return true
}
