package tui

import (
	"os"
	"testing"
	"time"
)

// TestMain pins the local time zone, so screens that show dates with their
// zone read the same on every machine (the goldens say UTC).
func TestMain(m *testing.M) {
	time.Local = time.UTC
	os.Exit(m.Run())
}
