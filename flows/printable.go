package flows

import (
	"strings"
	"unicode"
)

// Printable strips control characters (and the Unicode bidi and format
// controls that can reorder a terminal line) from text that came from the
// network or a file, before it reaches a terminal or a log line. Tabs and
// newlines become spaces.
func Printable(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, s)
}
