//go:build !unix

package cli

import (
	"os"
	"time"
)

// queryBackground is not available here: the console takes the dark
// background unless IC_THEME or the configuration says otherwise.
func queryBackground(in, out *os.File, timeout time.Duration) (dark, ok bool) { return false, false }
