package assets

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"text/template"
)

// Every file in systemd/ is a unit template that PrintUnits renders:
// drop another unit there and `mailgrant print-units` shows it too.
//
//go:embed systemd/*
var systemdFiles embed.FS

// UnitData fills the unit templates in systemd/. Every value is quoted by
// the template functions, so a path with spaces, % or $ stays one word.
type UnitData struct {
	// Binary is the absolute path of the mailgrant binary.
	Binary string
	// Flags are the global flags in force (--sandbox, --cloud …), given
	// before the command.
	Flags []string
	// StatusArgs are the arguments of `status` (--alert-to ADDR …).
	StatusArgs []string
	// ConfigDir is the absolute config directory (MAILGRANT_CONFIG_DIR).
	ConfigDir string
	// User is the account the services run as.
	User string
	// AlertTo is where status alerts go; empty when none.
	AlertTo string
	// FileStore is true when a profile keeps its secrets in the encrypted
	// file, whose passphrase then comes from systemd credentials.
	FileStore bool
}

// Unit is one rendered unit file.
type Unit struct {
	// Name is the unit's file name, such as mailgrant-status.service.
	Name string
	// Text is the unit file.
	Text string
}

var unitFuncs = template.FuncMap{
	"exec": execLine,
	"env":  envAssignment,
	"path": unitWord,
}

// Units renders every unit template in systemd/, sorted by name.
func Units(d UnitData) ([]Unit, error) {
	names, err := fs.Glob(systemdFiles, "systemd/*")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []Unit
	for _, name := range names {
		raw, err := systemdFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		t, err := template.New(path.Base(name)).Funcs(unitFuncs).Option("missingkey=error").Parse(string(raw))
		if err != nil {
			return nil, fmt.Errorf("unit template %s: %w", name, err)
		}
		var b bytes.Buffer
		if err := t.Execute(&b, d); err != nil {
			return nil, fmt.Errorf("unit template %s: %w", name, err)
		}
		out = append(out, Unit{Name: path.Base(name), Text: b.String()})
	}
	return out, nil
}

// execLine joins words (strings or lists of strings) into an ExecStart=
// command line, each word quoted as systemd.service(5) reads it.
func execLine(parts ...any) string {
	var words []string
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			words = append(words, v)
		case []string:
			words = append(words, v...)
		}
	}
	for i, w := range words {
		words[i] = strings.ReplaceAll(unitWord(w), "$", "$$")
	}
	return strings.Join(words, " ")
}

// envAssignment is an Environment= value: "NAME=value", quoted.
func envAssignment(name, value string) string {
	return quoteUnit(name + "=" + value)
}

// unitWord is one word of a unit setting: as it is when it holds no space,
// quote or backslash, else double-quoted; % is doubled (systemd expands
// %-specifiers).
func unitWord(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"'\\;") {
		return strings.ReplaceAll(s, "%", "%%")
	}
	return quoteUnit(s)
}

// quoteUnit double-quotes s with C-style escapes, % doubled.
func quoteUnit(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%", "\n", `\n`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}
