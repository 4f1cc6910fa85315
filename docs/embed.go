// Package docs holds the runbook books shipped inside the ic binary.
package docs

import (
	"embed"
	"io/fs"
)

//go:embed runbooks
var embedded embed.FS

// Runbooks returns the shipped books, one folder per book.
func Runbooks() fs.FS {
	sub, err := fs.Sub(embedded, "runbooks")
	if err != nil {
		panic(err) // the embed directive above guarantees the folder
	}
	return sub
}
