// Command fakebrowser stands in for a web browser in tests. Installed as
// xdg-open (and open) first on PATH, it is what github.com/pkg/browser runs:
// it fetches the URL, following redirects (to http://localhost:PORT and
// http://127.0.0.1:PORT too), and when the page is a sandbox sign-in, device
// sign-in or admin consent form (marked data-sandbox-form) it submits it,
// then follows the redirect chain to its end. Auto-posting forms
// (response_mode=form_post, marked data-sandbox-autopost) are submitted too.
//
//	MAILGRANT_FAKE_BROWSER_USER    the account to pick (default: the checked one)
//	MAILGRANT_FAKE_BROWSER_ACTION  accept (default) or cancel
//	MAILGRANT_FAKE_BROWSER_LOG     file to append each visited URL to, one a line;
//	                               the names (never the values) of the MAILGRANT_*
//	                               variables it inherited go to the same path + ".env"
//
// It exits 1 when the first request cannot be made at all, else 0 (whatever
// the later pages say), and gives up after 20 seconds, because pkg/browser
// waits for it to exit.
//
//	fakebrowser URL
package main

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run visits args[0] and returns the exit status.
func run(args []string) int {
	if len(args) == 0 || args[0] == "" {
		fmt.Fprintln(os.Stderr, "usage: fakebrowser URL")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b := newBrowser(os.Getenv("MAILGRANT_FAKE_BROWSER_LOG"))
	b.logEnv()
	start, err := url.Parse(args[0])
	if err != nil || (start.Scheme != "http" && start.Scheme != "https") {
		fmt.Fprintf(os.Stderr, "fakebrowser: not an http(s) URL: %q\n", args[0])
		return 1
	}
	page, err := b.do(ctx, http.MethodGet, start.String(), nil)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fakebrowser: %v\n", err)
		return 1
	}
	user := os.Getenv("MAILGRANT_FAKE_BROWSER_USER")
	action := os.Getenv("MAILGRANT_FAKE_BROWSER_ACTION")
	if action == "" {
		action = "accept"
	}
	// A few forms at most: sign-in, then perhaps an auto-posting response.
	for i := 0; i < 5; i++ {
		f, ok := findForm(page.body)
		if !ok {
			break
		}
		vals := url.Values{}
		for _, h := range f.hidden {
			vals.Add(h[0], h[1])
		}
		if !f.autopost {
			u := user
			if u == "" {
				u = f.checkedUser
			}
			if u != "" {
				vals.Set("user", u)
			}
			vals.Set("action", action)
		}
		target, err := page.url.Parse(f.action)
		if err != nil {
			fmt.Fprintf(os.Stderr, "fakebrowser: bad form action %q\n", f.action)
			break
		}
		page, err = b.do(ctx, http.MethodPost, target.String(), vals)
		if err != nil {
			fmt.Fprintf(os.Stderr, "fakebrowser: %v\n", err)
			break
		}
	}
	return 0
}

// browser is an HTTP client with cookies that logs every URL it visits.
type browser struct {
	client  *http.Client
	logPath string
	mu      sync.Mutex
}

// page is a fetched page: its final URL and body.
type page struct {
	url  *url.URL
	body string
}

func newBrowser(logPath string) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{logPath: logPath}
	b.client = &http.Client{
		Jar: jar,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			b.log(req.URL.String())
			if len(via) >= 10 {
				return fmt.Errorf("stopped after 10 redirects")
			}
			return nil
		},
	}
	return b
}

// log appends one visited URL to the log file, if any.
func (b *browser) log(u string) {
	if b.logPath == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	f, err := os.OpenFile(b.logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintln(f, u)
}

// logEnv appends the names of the MAILGRANT_* variables this process
// inherited to the log path + ".env", so tests can check that no secret
// reached the browser. Values are never written.
func (b *browser) logEnv() {
	if b.logPath == "" {
		return
	}
	var names []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "MAILGRANT_") {
			names = append(names, name)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	f, err := os.OpenFile(b.logPath+".env", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintln(f, strings.Join(names, "\n"))
}

// do makes a GET (form nil) or a form POST and reads the final page.
func (b *browser) do(ctx context.Context, method, target string, form url.Values) (page, error) {
	b.log(target)
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return page{}, err
	}
	req.Header.Set("User-Agent", "mailgrant-fakebrowser/1")
	req.Header.Set("Accept", "text/html,*/*")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return page{}, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return page{url: resp.Request.URL, body: string(data)}, nil
}

// form is a sandbox form found on a page.
type form struct {
	action      string
	autopost    bool
	hidden      [][2]string
	checkedUser string
}

var (
	formTag  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputTag = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	attrRe   = regexp.MustCompile(`(?s)([a-zA-Z_:][-a-zA-Z0-9_:.#]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?`)
)

// attrs parses a tag's attributes; bare attributes get the value "".
func attrs(s string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRe.FindAllStringSubmatch(s, -1) {
		name := strings.ToLower(m[1])
		if _, dup := out[name]; dup {
			continue
		}
		out[name] = html.UnescapeString(m[2] + m[3] + m[4])
	}
	return out
}

// findForm returns the first form marked data-sandbox-form (other than the
// device code entry form, which needs a code typed in) or
// data-sandbox-autopost.
func findForm(body string) (form, bool) {
	for _, m := range formTag.FindAllStringSubmatch(body, -1) {
		fa := attrs(m[1])
		kind, marked := fa["data-sandbox-form"]
		_, auto := fa["data-sandbox-autopost"]
		if (!marked || kind == "devicecode") && !auto {
			continue
		}
		f := form{action: fa["action"], autopost: auto && !marked}
		for _, in := range inputTag.FindAllStringSubmatch(m[2], -1) {
			ia := attrs(in[1])
			switch strings.ToLower(ia["type"]) {
			case "hidden":
				f.hidden = append(f.hidden, [2]string{ia["name"], ia["value"]})
			case "radio":
				if _, checked := ia["checked"]; checked && ia["name"] == "user" && f.checkedUser == "" {
					f.checkedUser = ia["value"]
				}
			}
		}
		return f, true
	}
	return form{}, false
}
