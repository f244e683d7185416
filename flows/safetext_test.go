package flows

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func TestSafeText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"evil\x1b[2J", "evil[2J"},
		{"\x1b]0;PWNED\x07\x1b[1A\x1b[2K\x1b[32m✓ Saved", "]0;PWNED[1A[2K[32m✓ Saved"},
		{"C1 \u009b31m CSI", "C1 31m CSI"},
		{"del\x7f", "del"},
		{"bidi \u202egnp.exe\u202c and \u2067isolate\u2069", "bidi gnp.exe and isolate"},
		{"line\nbreak\ttab\r", "line break tab "},
		{"no\u00a0break", "no break"},
		{"Grüße, 日本語 — ok ✓", "Grüße, 日本語 — ok ✓"},
		{"bad \xff utf8", "bad  utf8"},
	} {
		if got := SafeText(tc.in); got != tc.want {
			t.Errorf("SafeText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestParsedErrorsAreSafe: the reproduction of issue 11 item 2. An error
// redirect, a token-endpoint body and a Graph body carrying escape sequences
// come out of their parsers with no control character in any field.
func TestParsedErrorsAreSafe(t *testing.T) {
	evil := "\x1b]0;PWNED\x07\x1b[1A\x1b[2K\x1b[32m✓ Saved: everything is fine\u202e"
	q := url.Values{"state": {"s"}, "error": {"evil\x1b[2J"}, "error_description": {evil}}
	js, _ := json.Marshal(evil)
	body := []byte(`{"error":"evil\u001b[2J","error_description":` + string(js) + `,"trace_id":"\u001b[31m","correlation_id":"\u0007"}`)
	graph := []byte(`{"error":{"code":"Evil\u001b[2J","message":` + string(js) + `,"innerError":{"request-id":"\u001b[0m"}}}`)
	for name, e := range map[string]*Error{
		"redirect": ParseRedirectError(q),
		"entra":    ParseEntraError(400, body),
		"graph":    ParseGraphError(403, graph),
	} {
		for _, f := range []string{string(e.Code), e.Message, e.Hint, e.Description, e.TraceID, e.CorrelationID, e.Error()} {
			if strings.ContainsAny(f, "\x1b\x07\u202e") {
				t.Errorf("%s: field %q keeps a control character", name, f)
			}
		}
		if !strings.Contains(e.Error()+e.Description, "everything is fine") {
			t.Errorf("%s: the readable text was lost: %+v", name, e)
		}
	}
}
