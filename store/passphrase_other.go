//go:build !unix

package store

import (
	"io/fs"
	"os"
)

// openNoFollow opens path for reading.
func openNoFollow(path string) (*os.File, error) { return os.Open(path) }

// isSymlinkError is false: Windows does not report links this way.
func isSymlinkError(error) bool { return false }

// fileOwner is not known here (Windows uses ACLs).
func fileOwner(fs.FileInfo) (int, bool) { return 0, false }
