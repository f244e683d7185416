package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// initBudgetMS is what every package's init together may take at start, in
// milliseconds of wall clock (issue 11: go-runewidth v0.0.27 alone took 18 ms
// building tables in init, on every `mailgrant token`).
const initBudgetMS = 2.0

// ownInitAllocs is how many allocations the init of mailgrant's own
// packages may make together (57 now). Allocations, unlike clock time, are
// the same on every start, so this catches work moved into init that the
// time budget lets through: the sandbox's data built at start (issue 11:
// 2,700 allocations; only `--sandbox` needs it) or its page templates
// parsed there (about 1,000).
const ownInitAllocs = 200

// ownPackages is the prefix of mailgrant's own packages.
const ownPackages = "github.com/mailgrant/mailgrant"

// initRun is one start of the binary: each package's init clock time, and
// its allocations.
type initRun struct {
	total  float64
	pkgs   map[string]float64
	allocs map[string]int
}

// parseInitTrace reads GODEBUG=inittrace=1 output:
//
//	init github.com/mattn/go-runewidth @1.3 ms, 22 ms clock, 18776 bytes, 44 allocs
func parseInitTrace(out []byte) (initRun, error) {
	r := initRun{pkgs: map[string]float64{}, allocs: map[string]int{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 7 || f[0] != "init" || f[6] != "clock," {
			continue
		}
		ms, err := strconv.ParseFloat(f[4], 64)
		if err != nil {
			return r, fmt.Errorf("bad inittrace line %q: %w", sc.Text(), err)
		}
		if f[5] == "us" { // not printed by current Go, but cheap to accept
			ms /= 1000
		}
		r.pkgs[f[1]] += ms
		r.total += ms
		if len(f) >= 11 && f[10] == "allocs" {
			n, err := strconv.Atoi(f[9])
			if err != nil {
				return r, fmt.Errorf("bad inittrace line %q: %w", sc.Text(), err)
			}
			r.allocs[f[1]] += n
		}
	}
	if len(r.pkgs) == 0 {
		return r, fmt.Errorf("no inittrace lines in %q", out)
	}
	return r, nil
}

// TestInitTime builds mailgrant and starts it with GODEBUG=inittrace=1: all
// package init together must stay under initBudgetMS, so a dependency that
// starts doing work at init (tables, templates, regexps) fails here. The
// fastest of several starts counts, so a busy machine does not fail it.
func TestInitTime(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	bin := filepath.Join(t.TempDir(), "mailgrant")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var best initRun
	for i := range 15 {
		cmd := exec.Command(bin, "version")
		cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("mailgrant version: %v\n%s", err, stderr.String())
		}
		r, err := parseInitTrace(stderr.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 || r.total < best.total {
			best = r
		}
	}
	t.Logf("package init: %.2f ms (fastest of 15 starts)", best.total)
	own, ownList := 0, ""
	for pkg, n := range best.allocs {
		if pkg == ownPackages || strings.HasPrefix(pkg, ownPackages+"/") {
			own += n
			ownList += fmt.Sprintf("\n  %5d allocs  %s", n, pkg)
		}
	}
	if own > ownInitAllocs {
		t.Errorf("mailgrant's own packages allocate %d times in init, over the budget of %d: build such data on first use (sync.OnceValue):%s", own, ownInitAllocs, ownList)
	}
	if best.total <= initBudgetMS {
		return
	}
	names := make([]string, 0, len(best.pkgs))
	for n := range best.pkgs {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return best.pkgs[names[i]] > best.pkgs[names[j]] })
	var top strings.Builder
	for _, n := range names[:min(8, len(names))] {
		fmt.Fprintf(&top, "\n  %6.3f ms  %s", best.pkgs[n], n)
	}
	t.Errorf("package init takes %.2f ms, over the %.1f ms budget; the slowest:%s", best.total, initBudgetMS, top.String())
}

func TestParseInitTrace(t *testing.T) {
	out := []byte("init runtime @0.010 ms, 0.045 ms clock, 0 bytes, 0 allocs\n" +
		"init github.com/mattn/go-runewidth @1.3 ms, 22 ms clock, 18776 bytes, 44 allocs\n" +
		"unrelated line\n")
	r, err := parseInitTrace(out)
	if err != nil || len(r.pkgs) != 2 || math.Abs(r.total-22.045) > 1e-9 || r.pkgs["github.com/mattn/go-runewidth"] != 22 || r.allocs["github.com/mattn/go-runewidth"] != 44 {
		t.Fatalf("parseInitTrace = %+v, %v", r, err)
	}
}
