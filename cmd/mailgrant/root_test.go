package main

import (
	"bytes"
	"strings"
	"testing"
)

// runTree executes args on the tree newRootCmd builds for treeArgs and
// returns what it printed and its exit status.
func runTree(treeArgs, args []string) (string, int) {
	var out bytes.Buffer
	root := newRootCmd(&streams{in: strings.NewReader(""), out: &out, err: &out}, nil, treeArgs)
	root.SetArgs(args)
	code := reportError(&out, root.Execute())
	return out.String(), code
}

// A command line that names a command builds that command alone, and the
// command behaves as it does in the whole tree: same help, same refusal of a
// bad flag or a missing argument.
func TestRootBuildsOnlyTheNamedCommand(t *testing.T) {
	full := newRootCmd(&streams{in: strings.NewReader(""), out: &bytes.Buffer{}, err: &bytes.Buffer{}}, nil, nil)
	if len(full.Commands()) < 10 {
		t.Fatalf("the whole tree has %d commands", len(full.Commands()))
	}
	for _, c := range full.Commands() {
		name := c.Name()
		lazy := newRootCmd(&streams{in: strings.NewReader(""), out: &bytes.Buffer{}, err: &bytes.Buffer{}}, nil, []string{name, "x"})
		if got := lazy.Commands(); len(got) != 1 || got[0].Name() != name {
			var names []string
			for _, g := range got {
				names = append(names, g.Name())
			}
			t.Errorf("mailgrant %s built %v, want only %s", name, names, name)
			continue
		}
		for _, args := range [][]string{{name, "--help"}, {name, "--no-such-flag"}, {name, "--cloud", "mars"}} {
			want, wantCode := runTree(nil, args)
			got, gotCode := runTree(args, args)
			if got != want || gotCode != wantCode {
				t.Errorf("mailgrant %s: alone it prints (exit %d)\n%s\nin the whole tree (exit %d)\n%s", strings.Join(args, " "), gotCode, got, wantCode, want)
			}
		}
	}
	// Anything else builds every command: the help lists them all.
	for _, args := range [][]string{{"--help"}, {"help"}, {"--sandbox", "token", "--help"}, {"tokn"}} {
		root := newRootCmd(&streams{in: strings.NewReader(""), out: &bytes.Buffer{}, err: &bytes.Buffer{}}, nil, args)
		if len(root.Commands()) != len(full.Commands()) {
			t.Errorf("mailgrant %s built %d commands, want all %d", strings.Join(args, " "), len(root.Commands()), len(full.Commands()))
		}
	}
}

// A mistyped command is refused with the command it was probably meant to
// be, as cobra suggests for subcommands.
func TestUnknownCommandSuggestion(t *testing.T) {
	out, code := runTree([]string{"--sandbox", "tokn", "p"}, []string{"--sandbox", "tokn", "p"})
	if code != exitUsage || !strings.Contains(out, `unknown command "tokn"`) || !strings.Contains(out, "did you mean token?") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	out, code = runTree([]string{"xyzzy"}, []string{"xyzzy"})
	if code != exitUsage || strings.Contains(out, "did you mean") {
		t.Fatalf("exit %d, want no suggestion:\n%s", code, out)
	}
}
