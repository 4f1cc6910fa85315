// Package hangtest guards tests of code that once blocked forever (a
// named pipe read, a device with no end): the test fails after a generous
// delay rather than hanging, and passing never depends on the delay.
package hangtest

import (
	"testing"
	"time"
)

// Limit is how long f may run before the test fails.
const Limit = 60 * time.Second

// NoHang runs f and fails the test when it has not returned within Limit,
// saying what would have hung.
func NoHang(t testing.TB, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(Limit):
		t.Fatalf("still running after %s: %s", Limit, what)
	}
}
