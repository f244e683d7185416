package sandbox

import (
	"regexp"
	"strings"
	"testing"
)

// The consent page for application Mail.Send says what it grants: sending
// as every mailbox, not only as one user.
func TestConsentPageWarnsOfEveryMailbox(t *testing.T) {
	s := startServer(t, Options{})
	page := get(t, consentURL(s, "organizations", DaemonApp, "xyz"))
	if !strings.Contains(page.Body, "could send mail as every mailbox in the organization") {
		t.Fatalf("the consent page does not say the app could send as every mailbox:\n%s", page.Body)
	}
}

// On a phone, inputs of 16px or more keep iOS from zooming, and radios and
// buttons are targets of at least 24px (WCAG 2.2 target size).
func TestPagesAreUsableOnAPhone(t *testing.T) {
	s := startServer(t, Options{})
	for _, url := range []string{consentURL(s, "organizations", DaemonApp, "xyz"), s.URL() + "/devicelogin"} {
		body := get(t, url).Body
		for _, rule := range []*regexp.Regexp{
			regexp.MustCompile(`input\{[^}]*font-size:16px`),
			regexp.MustCompile(`input\[type=radio\]\{[^}]*width:24px;height:24px`),
			regexp.MustCompile(`button\{[^}]*min-height:44px`),
			regexp.MustCompile(`input\[type=text\]\{[^}]*min-height:44px`),
		} {
			if !rule.MatchString(body) {
				t.Errorf("%s: no %s", url, rule)
			}
		}
	}
}
