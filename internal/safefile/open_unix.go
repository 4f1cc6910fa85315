//go:build unix

package safefile

import (
	"os"
	"syscall"
)

// openFlags opens without blocking: opening a named pipe with no writer
// would otherwise wait forever.
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK
