package flows

import (
	"fmt"
	"io"
	"net/url"

	"github.com/pkg/browser"
)

// Browser opens a URL for the admin.
type Browser interface {
	Open(url string) error
}

// SystemBrowser opens URLs with the desktop's browser (xdg-open, open,
// rundll32) through pkg/browser.
type SystemBrowser struct{}

func init() {
	// pkg/browser copies the launcher's output to os.Stdout, which would
	// scribble over the terminal UI.
	browser.Stdout = io.Discard
	browser.Stderr = io.Discard
}

// Open starts the browser on an http or https URL. It returns when the
// launcher exits; the URL is always shown as well, for when none opens.
func (SystemBrowser) Open(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("refusing to open %q: not an http(s) URL", raw)
	}
	if err := browser.OpenURL(u.String()); err != nil {
		return err
	}
	return nil
}

// NoBrowser opens nothing (--no-browser, or no display): the URL is shown.
type NoBrowser struct{}

// Open does nothing.
func (NoBrowser) Open(string) error { return nil }
