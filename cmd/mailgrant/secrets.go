package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/charmbracelet/x/term"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
	"github.com/mailgrant/mailgrant/tui"
)

// passphraseFileName is the passphrase file the printed script commands
// use when the admin has none yet: beside profiles.json.
const passphraseFileName = "passphrase"

// stores are the two places secrets can be, each opened on first use and
// then kept for the process: the keyring costs nothing to open, but the
// encrypted file needs its passphrase, asked only when a file profile is
// actually used.
type stores struct {
	mu      sync.Mutex
	keyring store.Secrets // nil until first used
	file    *store.File
	fileErr error // opening the file failed; not retried
	pass    store.Passphrase
	// noPrompt is set while the wizard's screens own the terminal: a
	// passphrase asked then would be typed into the screens (and the lock
	// held meanwhile would stall every profile), so a file not opened
	// before the screens is reported as having no passphrase instead.
	noPrompt bool
}

// secretsFor returns the store that holds profile p's secrets. Every command
// that reads or writes a profile's secrets goes through it, so that the store
// recorded in the profile is followed without flags (--store only chooses for
// new profiles).
func (a *app) secretsFor(p store.Profile) (store.Secrets, error) {
	return a.storeFor(p.SecretsStore())
}

// openProfile loads the named profile and opens the store that holds its
// secrets: what every command that uses a profile's secrets starts with.
func (a *app) openProfile(name string) (store.Profile, store.Secrets, error) {
	p, err := a.loadProfile(name)
	if err != nil {
		return p, nil, err
	}
	secrets, err := a.secretsFor(p)
	return p, secrets, err
}

// storeFor opens (once) and returns the keyring or the encrypted file.
func (a *app) storeFor(b store.Backend) (store.Secrets, error) {
	if b == store.BackendFile {
		f, err := a.fileStore()
		if err != nil {
			return nil, err
		}
		return f, nil
	}
	a.stores.mu.Lock()
	defer a.stores.mu.Unlock()
	if a.stores.keyring == nil {
		a.stores.keyring = a.openKeyring(0)
	}
	return a.stores.keyring, nil
}

// useKeyring replaces the keyring store (the wizard's has a longer timeout).
func (a *app) useKeyring(k store.Secrets) {
	a.stores.mu.Lock()
	defer a.stores.mu.Unlock()
	a.stores.keyring = k
}

// openedFile is the encrypted file if it is open, with its passphrase.
func (a *app) openedFile() (*store.File, store.Passphrase) {
	a.stores.mu.Lock()
	defer a.stores.mu.Unlock()
	return a.stores.file, a.stores.pass
}

// screensOwnTerminal is called with true while the wizard's screens run:
// no passphrase is asked then (see stores.noPrompt).
func (a *app) screensOwnTerminal(on bool) {
	a.stores.mu.Lock()
	defer a.stores.mu.Unlock()
	a.stores.noPrompt = on
}

// useFile makes f, opened with pass, the encrypted file store.
func (a *app) useFile(f *store.File, pass store.Passphrase) {
	a.stores.mu.Lock()
	defer a.stores.mu.Unlock()
	a.stores.file, a.stores.fileErr, a.stores.pass = f, nil, pass
}

// newBackend is where a new profile's secrets go.
func (a *app) newBackend() store.Backend {
	a.stores.mu.Lock()
	defer a.stores.mu.Unlock()
	return a.newStore
}

// setNewBackend changes where new profiles' secrets go (the wizard's offer
// of the encrypted file).
func (a *app) setNewBackend(b store.Backend) {
	a.stores.mu.Lock()
	defer a.stores.mu.Unlock()
	a.newStore = b
}

// secretsPath is the encrypted file.
func (a *app) secretsPath() string { return filepath.Join(a.dir, store.SecretsFile) }

// fileStore opens the encrypted file the first time it is needed. Its key
// comes from the systemd credential, MAILGRANT_PASSPHRASE_FILE or
// MAILGRANT_PASSPHRASE (store.LookupPassphrase), else a prompt when there is
// a terminal: asked twice when the file does not exist yet.
func (a *app) fileStore() (*store.File, error) {
	a.stores.mu.Lock()
	defer a.stores.mu.Unlock()
	if a.stores.file != nil || a.stores.fileErr != nil {
		return a.stores.file, a.stores.fileErr
	}
	a.stores.file, a.stores.fileErr = a.openFile()
	return a.stores.file, a.stores.fileErr
}

func (a *app) openFile() (*store.File, error) {
	path := a.secretsPath()
	pass, ok, err := store.LookupPassphrase()
	if err != nil {
		return nil, err
	}
	if !ok {
		if pass, err = a.promptPassphrase(path); err != nil {
			return nil, err
		}
	}
	f, err := a.deps().File(path, pass.Value)
	if err != nil {
		return nil, err
	}
	a.stores.pass = pass
	return f, nil
}

// minNewPassphrase is the shortest passphrase accepted for a new encrypted
// file: anyone with the file can try passphrases offline.
const minNewPassphrase = 12

// promptPassphrase asks at the terminal, twice for a new file.
func (a *app) promptPassphrase(path string) (store.Passphrase, error) {
	f, ok := a.io.in.(interface{ Fd() uintptr })
	if !ok || !isTerminal(a.io.in) || a.stores.noPrompt {
		return store.Passphrase{}, store.NoPassphraseError(path)
	}
	w := a.io.err
	read := func(prompt string) (string, error) {
		fmt.Fprint(w, prompt)
		b, err := term.ReadPassword(f.Fd())
		fmt.Fprintln(w)
		if err != nil {
			return "", fmt.Errorf("read the passphrase: %w", err)
		}
		return string(b), nil
	}
	pass, err := read("Passphrase for " + path + ": ")
	if err != nil {
		return store.Passphrase{}, err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if len([]rune(pass)) < minNewPassphrase {
			return store.Passphrase{}, &flows.InputError{Field: "passphrase", Problem: fmt.Sprintf("a new encrypted file needs a passphrase of at least %d characters; nothing was stored", minNewPassphrase), Hint: "run the command again with a longer passphrase (a few random words work well)"}
		}
		again, err := read("The file is new; the passphrase again: ")
		if err != nil {
			return store.Passphrase{}, err
		}
		if again != pass {
			return store.Passphrase{}, &flows.InputError{Field: "passphrase", Problem: "the two passphrases differ; nothing was stored", Hint: "run the command again and type the same passphrase twice"}
		}
	}
	return store.Passphrase{Value: pass, Source: store.FromPrompt}, nil
}

// profileSecrets is the store.Secrets the wizard gets: each call goes to
// the store the named profile records in profiles.json, or for a profile
// not saved yet, to the store chosen for new profiles. It also tells
// flows.Save where a profile's secrets went (store.Located), so the saved
// profile records exactly that.
type profileSecrets struct{ a *app }

var (
	_ store.Secrets = profileSecrets{}
	_ store.Located = profileSecrets{}
)

// BackendFor is the store the profile records, or newStore for a new one.
func (s profileSecrets) BackendFor(name string) store.Backend {
	if ps, err := store.LoadProfiles(s.a.dir); err == nil {
		if p, ok := ps.Get(name); ok {
			return p.SecretsStore()
		}
	}
	return s.a.newBackend()
}

func (s profileSecrets) route(name string) (store.Secrets, error) {
	ps, err := store.LoadProfiles(s.a.dir)
	if err != nil {
		return nil, err
	}
	if p, ok := ps.Get(name); ok {
		return s.a.secretsFor(p)
	}
	return s.a.storeFor(s.a.newBackend())
}

// Get reads the secret from the profile's store.
func (s profileSecrets) Get(profile string, kind store.Kind) (string, error) {
	sec, err := s.route(profile)
	if err != nil {
		return "", err
	}
	return sec.Get(profile, kind)
}

// Set writes the secret to the profile's store.
func (s profileSecrets) Set(profile string, kind store.Kind, value string) error {
	sec, err := s.route(profile)
	if err != nil {
		return err
	}
	return sec.Set(profile, kind, value)
}

// Delete removes the secret from the profile's store.
func (s profileSecrets) Delete(profile string, kind store.Kind) error {
	sec, err := s.route(profile)
	if err != nil {
		return err
	}
	return sec.Delete(profile, kind)
}

// unavailable is a store that could not be opened (the encrypted file
// without its passphrase): every call says why, so that status reports the
// profile as an error and goes on with the others.
type unavailable struct{ err error }

func (u unavailable) Get(string, store.Kind) (string, error) { return "", u.err }
func (u unavailable) Set(string, store.Kind, string) error   { return u.err }
func (u unavailable) Delete(string, store.Kind) error        { return u.err }

// secretsOrUnavailable is secretsFor for commands that report per profile.
func (a *app) secretsOrUnavailable(p store.Profile) store.Secrets {
	sec, err := a.secretsFor(p)
	if err != nil {
		return unavailable{err: err}
	}
	return sec
}

// storeDescription says where a profile's secrets are, for messages: the
// keyring service or the file's path.
func (a *app) storeDescription(b store.Backend) string {
	if b == store.BackendFile {
		return "the encrypted file " + a.secretsPath()
	}
	return "the OS keyring, service " + store.ServiceName(a.opts.sandbox)
}

// scriptPrefix starts the command a script or cron job on this machine
// runs: commandPrefix, plus --config-dir when the directory came from
// MAILGRANT_CONFIG_DIR (a cron job would not have it), plus, for a file
// profile, the passphrase file before it. prepare, when set, is a command to
// run once before (it creates that file from what is typed), and note says so.
func (a *app) scriptPrefix(p store.Profile) (prefix, prepare, note string) {
	prefix = a.commandPrefix()
	if a.opts.configDir == "" {
		if env := os.Getenv("MAILGRANT_CONFIG_DIR"); env != "" {
			prefix += " --config-dir " + shellQuote(env)
		}
	}
	if p.SecretsStore() != store.BackendFile {
		return prefix, "", ""
	}
	a.stores.mu.Lock()
	pass := a.stores.pass
	a.stores.mu.Unlock()
	path := filepath.Join(a.dir, passphraseFileName)
	if pass.Source == store.FromFile {
		path = pass.Path
	}
	prefix = store.PassphraseFileEnv + "=" + shellQuote(path) + " " + prefix
	if pass.Source != store.FromFile {
		prepare = "(umask 077; cat > " + shellQuote(path) + ")"
		note = "save the passphrase where scripts read it, readable by you alone (type it, then Enter and Ctrl-D)"
	}
	return prefix, prepare, note
}

// printScriptCommand prints the command scripts and cron jobs on this
// machine run to get a token for p.
func (a *app) printScriptCommand(p store.Profile) {
	w := a.io.err
	prefix, prepare, note := a.scriptPrefix(p)
	fmt.Fprintln(w, "Scripts and cron jobs on this machine get an access token with:")
	if prepare != "" {
		fmt.Fprintf(w, "  once, %s:\n    %s\n", note, prepare)
	}
	fmt.Fprintf(w, "  %s token %s\n", prefix, p.Name)
}

// saveStore is where the named profile's secrets are saved: the store it
// records, or for a new profile the one chosen for new profiles (a.secrets
// routes the same way when flows.Save writes).
func (a *app) saveStore(name string) (store.Secrets, error) {
	return profileSecrets{a: a}.route(name)
}

// saveStoreBackend is the backend saveStore uses.
func (a *app) saveStoreBackend(name string) store.Backend {
	return profileSecrets{a: a}.BackendFor(name)
}

// scriptHint is scriptPrefix for the wizard's done screen.
func (a *app) scriptHint(p store.Profile) tui.ScriptHint {
	prefix, prepare, note := a.scriptPrefix(p)
	return tui.ScriptHint{Prefix: prefix, Prepare: prepare, PrepareNote: note}
}
