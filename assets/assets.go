// Package assets holds the text mailgrant embeds: the page the browser shows
// after a sign-in, scenario help, and the templates of generated scripts.
//
//	page := assets.ResultPage(assets.Result{Outcome: assets.Succeeded, Heading: "Signed in", Next: "Return to the terminal."})
package assets

import (
	"bytes"
	"embed"
	"html/template"
	"sync"
)

//go:embed result.html
var files embed.FS

// resultTmpl is parsed on first use, not in init: most runs of mailgrant
// never show a result page.
var resultTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.ParseFS(files, "result.html"))
})

// Outcome is what a result page reports.
type Outcome int

// The outcomes of a result page; each looks different (colour, label and
// heading), not only by a glyph.
const (
	// Succeeded: the browser's part is done.
	Succeeded Outcome = iota
	// Failed: the sign-in or consent did not complete.
	Failed
	// Ignored: the request was not the one mailgrant waits for; the real
	// sign-in is still waiting.
	Ignored
)

// Result is what the browser's result page says. Every field is text and is
// HTML-escaped.
type Result struct {
	// Outcome chooses the label and colours.
	Outcome Outcome
	// Heading is the page's one-line summary, in sentence case.
	Heading string
	// Subject names the profile and account, such as "profile work-mail
	// (adele@contoso.com)"; it goes into the title. Empty when unknown.
	Subject string
	// Lines are paragraphs explaining what happened.
	Lines []string
	// Code is the error code to look up, on failure.
	Code string
	// Next says what to do now; it always sends the reader back to the terminal.
	Next string
}

// ResultPage renders the page the browser shows when it comes back to
// mailgrant's loopback listener.
func ResultPage(r Result) []byte {
	data := struct {
		Result
		Class, Kind string
	}{Result: r}
	switch r.Outcome {
	case Succeeded:
		data.Class, data.Kind = "ok", "✓ Done in the browser"
	case Failed:
		data.Class, data.Kind = "fail", "✗ Stopped"
	default:
		data.Class, data.Kind = "wait", "! Still waiting"
	}
	var b bytes.Buffer
	if err := resultTmpl().Execute(&b, data); err != nil {
		return []byte(template.HTMLEscapeString(r.Heading + ". " + r.Next))
	}
	return b.Bytes()
}
