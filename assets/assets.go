// Package assets holds the text mailgrant embeds: the page the browser shows
// after a sign-in, scenario help, and the templates of generated scripts.
//
//	page := assets.ResultPage(true, "mailgrant is authorized", "You can close this tab.")
package assets

import (
	"bytes"
	"embed"
	"html/template"
)

//go:embed result.html
var files embed.FS

var resultTmpl = template.Must(template.ParseFS(files, "result.html"))

// ResultPage renders the page the browser shows when it comes back to
// mailgrant's loopback listener. Title and detail are HTML-escaped.
func ResultPage(ok bool, title, detail string) []byte {
	var b bytes.Buffer
	data := struct {
		OK            bool
		Title, Detail string
	}{OK: ok, Title: title, Detail: detail}
	if err := resultTmpl.Execute(&b, data); err != nil {
		return []byte(template.HTMLEscapeString(title + ": " + detail))
	}
	return b.Bytes()
}
