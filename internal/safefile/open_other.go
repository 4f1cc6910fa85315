//go:build !unix

package safefile

import "os"

// openFlags: there are no blocking named pipes to open by path here.
const openFlags = os.O_RDONLY
