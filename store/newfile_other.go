//go:build !unix

package store

// oNoFollow: O_EXCL alone refuses an existing link here.
const oNoFollow = 0
