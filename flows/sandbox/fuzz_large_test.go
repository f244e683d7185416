package sandbox

import (
	"fmt"
	"testing"
)

// FuzzParseContentRange feeds arbitrary Content-Range headers of upload
// chunks: an accepted one is well ordered and prints back the same.
func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-3932159/9437184", "bytes 5-4/10", "bytes 0-9/10", "bytes */10", "bytes 0-1/1", "bytes -1-2/3", "bytes 00-1/2", "bytes 0-99999999999999999999/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		a, b, n, ok := ParseContentRange(h)
		if !ok {
			return
		}
		if a < 0 || a > b || b >= n {
			t.Fatalf("%q gave %d-%d/%d", h, a, b, n)
		}
		if again, _, _, ok2 := ParseContentRange(fmt.Sprintf("bytes %d-%d/%d", a, b, n)); !ok2 || again != a {
			t.Fatalf("%q does not round-trip", h)
		}
	})
}
