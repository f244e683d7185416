//go:build linux

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"golang.org/x/sys/unix"
)

// frameRuns is how many times each program starts in
// BenchmarkWizardFirstFrame.
const frameRuns = 15

// firstFrameMark is a word of the chooser's question that both programs
// draw ("What should the program be allowed to do?").
const firstFrameMark = "allowed"

// BenchmarkWizardFirstFrame compares how soon the wizard's first frame
// (the scenario chooser: no profiles yet) shows on an 80x24 pseudo-terminal,
// from exec, against a bare Bubble Tea program drawing the same question
// (tui/internal/bareframe). The two start alternately, frameRuns times each
// per iteration; the medians over all iterations are reported (wizard-ms,
// bare-ms, ratio), nothing is asserted.
// The goal (issue 11) is a ratio within 1.5. MAILGRANT_BENCH_BINARY names
// another mailgrant binary to measure instead of this tree's.
func BenchmarkWizardFirstFrame(b *testing.B) {
	requireKeyring(b) // without one the wizard's first screen is the keyring offer
	goTool, err := exec.LookPath("go")
	if err != nil {
		b.Skip("the go command is not on PATH")
	}
	dir := b.TempDir()
	mg, bare := filepath.Join(dir, "mailgrant"), filepath.Join(dir, "bareframe")
	builds := map[string]string{mg: ".", bare: "github.com/mailgrant/mailgrant/tui/internal/bareframe"}
	if other := os.Getenv("MAILGRANT_BENCH_BINARY"); other != "" {
		delete(builds, mg)
		mg = other
	}
	for bin, pkg := range builds {
		if out, err := exec.Command(goTool, "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			b.Fatalf("build %s: %v\n%s", pkg, err, out)
		}
	}
	mg, bare = installCopy(b, mg), installCopy(b, bare)
	env := append(os.Environ(), "TERM=xterm-256color", "MAILGRANT_CONFIG_DIR="+filepath.Join(dir, "config"),
		"MAILGRANT_SANDBOX=", "MAILGRANT_STORE=", "SSH_CONNECTION=", "SSH_CLIENT=", "SSH_TTY=")
	firstFrame(b, mg, env) // the wizard draws the chooser: fail here, not in the loop
	var wiz, min []time.Duration
	for b.Loop() {
		for range frameRuns {
			wiz = append(wiz, firstFrame(b, mg, env))
			min = append(min, firstFrame(b, bare, env))
		}
	}
	reportMedians(b, wiz, min, "wizard-ms", "bare-ms")
}

// firstFrame starts bin on a new 80x24 pseudo-terminal and returns the time
// from exec until firstFrameMark shows on the screen; then it ends the
// program.
func firstFrame(b *testing.B, bin string, env []string) time.Duration {
	b.Helper()
	ptm, pts := openPTY(b, 80, 24)
	defer ptm.Close()
	cmd := exec.Command(bin)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	pts.Close()
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	// The screen is read until the mark shows; a deadline on the terminal
	// ends the wait if it never does.
	if err := ptm.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		b.Fatal(err)
	}
	var screen bytes.Buffer
	buf := make([]byte, 4096)
	for {
		n, err := ptm.Read(buf)
		screen.Write(buf[:n])
		if strings.Contains(ansi.Strip(screen.String()), firstFrameMark) {
			return time.Since(start)
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				err = errors.New("no first frame in 20 s")
			}
			b.Fatalf("%s: %v; the screen so far:\n%q", filepath.Base(bin), err, ansi.Strip(screen.String()))
		}
	}
}

// openPTY opens a pseudo-terminal of cols x rows: the controlling side
// (non-blocking, so reads can have a deadline) and the terminal a program
// runs on.
func openPTY(b *testing.B, cols, rows uint16) (ptm, pts *os.File) {
	b.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		b.Skipf("no pseudo-terminals: %v", err)
	}
	ptm = os.NewFile(uintptr(fd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		b.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		b.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		b.Fatal(err)
	}
	pts, err = os.OpenFile("/dev/pts/"+strconv.FormatUint(uint64(n), 10), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		b.Fatal(err)
	}
	return ptm, pts
}
