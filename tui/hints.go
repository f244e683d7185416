package tui

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// Inside the wizard a hint names the key that does it, not a command to
// run elsewhere: flows writes hints for the command line ("sign in again:
// mailgrant reauth NAME", "or use --device-code"), and keyHint turns them
// into the keys of the screens that show them (r, c, p, d).

// commandInHint matches a mailgrant command with its global flags and a
// profile name. It is compiled on first use, not at start: every mailgrant
// command links tui, and `mailgrant token` should not pay for it (issue 11).
var commandInHint = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`mailgrant(?: --[a-z-]+(?: (?:'[^']*'|[^-\s][^\s]*))?)* (reauth|status|rbac-script) [^\s;,)]+`)
})

// keyPhrases are what each command becomes.
var keyPhrases = map[string]string{
	"reauth":      "press r to sign in again",
	"status":      "press c to check again",
	"rbac-script": "press p for the PowerShell",
}

// keyHint rewrites the commands and flags a hint names into keys.
func keyHint(hint string) string {
	re := commandInHint()
	hint = re.ReplaceAllStringFunc(hint, func(m string) string {
		return keyPhrases[re.FindStringSubmatch(m)[1]]
	})
	r := strings.NewReplacer(
		"or use --device-code", "or press d for a device code",
		"use the device code sign-in (--device-code)", "press d for a device code",
		"(--device-code)", "(press d)",
	)
	return r.Replace(hint)
}

// expandHome replaces a leading ~ (alone or followed by a slash) with the
// home directory, as a shell would: paths typed into the wizard are not
// seen by one.
func expandHome(path string) string {
	if path != "~" && !strings.HasPrefix(path, "~/") && !strings.HasPrefix(path, "~"+string(filepath.Separator)) {
		return path
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return path
	}
	return filepath.Join(home, path[1:])
}
