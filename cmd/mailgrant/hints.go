package main

import (
	"strings"

	"github.com/mailgrant/mailgrant/flows"
)

// commandLine is how the admin runs mailgrant with the global flags now in
// force (--sandbox, --config-dir, --cloud, --store file), so every command
// mailgrant prints works when pasted. It is the one place such a prefix is
// built; app.commandPrefix and the wizard use it.
func commandLine(o globalOptions) string {
	parts := []string{"mailgrant"}
	if o.sandbox || sandboxFromEnv() {
		parts = append(parts, "--sandbox")
	}
	if o.configDir != "" {
		parts = append(parts, "--config-dir", shellQuote(o.configDir))
	}
	if o.cloud != "" && o.cloud != "global" {
		parts = append(parts, "--cloud", o.cloud)
	}
	if o.store == "file" {
		parts = append(parts, "--store", "file")
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell when it holds anything but plain
// path characters.
func shellQuote(s string) string {
	plain := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+,:@%=", r))
	}) < 0
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// withProfile makes an error's hint runnable: the commands it names get the
// flags in force and the profile's name (flows writes them as
// "mailgrant VERB PROFILE").
func (a *app) withProfile(err error, name string) error {
	if err == nil {
		return nil
	}
	c := *flows.AsError(err)
	c.Hint = flows.FillCommands(c.Hint, a.commandPrefix(), name)
	c.Message = flows.FillCommands(c.Message, a.commandPrefix(), name)
	return withProfile(&c, name)
}
