package flows

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// SafeText returns s made safe to print, log or draw: text that came from
// the network (an error_description, a Graph message, a display name) can
// carry terminal escape sequences (ESC [ 2J clears the screen, ESC ] 0 ; …
// BEL sets the window title) or bidi overrides that reorder what a reader
// sees. SafeText drops C0 and C1 control characters (ESC, BEL, DEL …),
// Unicode format characters (bidi overrides and isolates, zero-width
// characters) and invalid UTF-8; tabs, line breaks and other Unicode spaces
// become plain spaces. Printable Unicode is kept as it is.
func SafeText(s string) string {
	if isPlainASCII(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size <= 1:
			// Invalid UTF-8: a terminal may read it as a C1 control.
		case r == '\t' || r == '\n' || r == '\r' || (unicode.IsSpace(r) && r > 0x7f && r != 0x85):
			b.WriteByte(' ')
		case unicode.IsPrint(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isPlainASCII reports whether s is printable ASCII only, which needs no
// cleaning (the common case).
func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// safe makes every field of e that can carry text from the network safe to
// print (SafeText). Parsers of outside input call it before returning, so
// every front end gets clean text.
func (e *Error) safe() *Error {
	e.Code = Code(SafeText(string(e.Code)))
	e.Message = SafeText(e.Message)
	e.Hint = SafeText(e.Hint)
	e.Description = SafeText(e.Description)
	e.TraceID = SafeText(e.TraceID)
	e.CorrelationID = SafeText(e.CorrelationID)
	return e
}
