package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// SchemaVersion is the version of profiles.json this build writes. A file with
// a newer version is refused rather than rewritten, so nothing is lost when an
// older mailgrant meets a newer file.
//
// Version 2 added each profile's "store" (keyring or file): an older
// mailgrant would drop it when rewriting the file, and then look for a file
// profile's secrets in the keyring. Version 1 files are read as keyring
// profiles and written back as version 2.
const SchemaVersion = 2

// ProfilesFile is the name of the profile file inside the config directory.
const ProfilesFile = "profiles.json"

// Profiles is the content of profiles.json.
type Profiles struct {
	// Version is the schema version; see SchemaVersion.
	Version int `json:"version"`
	// List holds the profiles sorted by name.
	List []Profile `json:"profiles"`
}

// Get returns the named profile.
func (p *Profiles) Get(name string) (Profile, bool) {
	for _, pr := range p.List {
		if pr.Name == name {
			return pr, true
		}
	}
	return Profile{}, false
}

// Put adds the profile or replaces the one with the same name.
func (p *Profiles) Put(pr Profile) {
	for i := range p.List {
		if p.List[i].Name == pr.Name {
			p.List[i] = pr
			return
		}
	}
	p.List = append(p.List, pr)
	sort.Slice(p.List, func(i, j int) bool { return p.List[i].Name < p.List[j].Name })
}

// Remove deletes the named profile and reports whether it existed.
func (p *Profiles) Remove(name string) bool {
	for i := range p.List {
		if p.List[i].Name == name {
			p.List = append(p.List[:i], p.List[i+1:]...)
			return true
		}
	}
	return false
}

// DefaultDir returns the config directory: MAILGRANT_CONFIG_DIR, else the
// user config directory's mailgrant folder. Sandbox profiles live in a
// sandbox sub-folder so they never mix with real ones.
func DefaultDir(override string, sandbox bool) (string, error) {
	dir := override
	if dir == "" {
		dir = os.Getenv("MAILGRANT_CONFIG_DIR")
	}
	if dir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("no config directory: %w (set MAILGRANT_CONFIG_DIR or pass --config-dir)", err)
		}
		dir = filepath.Join(base, "mailgrant")
	}
	if sandbox {
		dir = filepath.Join(dir, "sandbox")
	}
	return dir, nil
}

// CorruptError reports a profiles.json that cannot be read. The file is left
// as it is.
type CorruptError struct {
	// Path is the file that could not be read.
	Path string
	// Reason says what is wrong with it.
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("%s: %s", e.Path, e.Reason)
}

// Hint says what the user can do about it.
func (e *CorruptError) Hint() string {
	return "fix or move the file aside (your secrets stay in the keyring), then run mailgrant again"
}

// LoadProfiles reads profiles.json from dir. A missing file is an empty list.
func LoadProfiles(dir string) (*Profiles, error) {
	path := filepath.Join(dir, ProfilesFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Profiles{Version: SchemaVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read profiles: %w", err)
	}
	return ParseProfiles(path, data)
}

// ParseProfiles decodes the content of a profiles file; path is only used in
// errors.
func ParseProfiles(path string, data []byte) (*Profiles, error) {
	var p Profiles
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, &CorruptError{Path: path, Reason: "not valid JSON: " + err.Error()}
	}
	switch {
	case p.Version == 0:
		return nil, &CorruptError{Path: path, Reason: "no schema version"}
	case p.Version > SchemaVersion:
		return nil, &CorruptError{Path: path, Reason: fmt.Sprintf("written by a newer mailgrant (schema %d; this one reads %d): upgrade mailgrant", p.Version, SchemaVersion)}
	}
	seen := map[string]bool{}
	for i, pr := range p.List {
		if err := ValidateName(pr.Name); err != nil {
			return nil, &CorruptError{Path: path, Reason: fmt.Sprintf("profile %d: %v", i+1, err)}
		}
		if seen[pr.Name] {
			return nil, &CorruptError{Path: path, Reason: fmt.Sprintf("profile %q appears twice", pr.Name)}
		}
		seen[pr.Name] = true
		if !pr.Scenario.Valid() {
			return nil, &CorruptError{Path: path, Reason: fmt.Sprintf("profile %q: unknown scenario %q", pr.Name, pr.Scenario)}
		}
		if pr.Store != "" && !pr.Store.Valid() {
			return nil, &CorruptError{Path: path, Reason: fmt.Sprintf("profile %q: unknown store %q (keyring or file)", pr.Name, pr.Store)}
		}
	}
	p.Version = SchemaVersion
	return &p, nil
}

// ValidateName checks a profile name: 1 to 64 letters, digits, '.', '_' or
// '-', starting with a letter or digit.
func ValidateName(name string) error {
	if name == "" {
		return errors.New("profile name is empty")
	}
	if len(name) > 64 {
		return errors.New("profile name is longer than 64 characters")
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			i > 0 && (r == '.' || r == '_' || r == '-')
		if !ok {
			return fmt.Errorf("profile name %q: use letters, digits, '.', '_' or '-', starting with a letter or digit", name)
		}
	}
	return nil
}

// SaveProfiles writes profiles.json atomically (a temporary file in the same
// directory, synced, then renamed) with mode 0600.
func SaveProfiles(dir string, p *Profiles) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create config directory: %w", err)
	}
	p.Version = SchemaVersion
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("encode profiles: %w", err)
	}
	data = append(data, '\n')
	tmp, err := os.CreateTemp(dir, ".profiles-*.tmp")
	if err != nil {
		return fmt.Errorf("write profiles: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write profiles: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write profiles: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write profiles: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write profiles: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, ProfilesFile)); err != nil {
		return fmt.Errorf("write profiles: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the rename durable; best effort
		d.Close()
	}
	return nil
}

// UpdateProfiles loads profiles.json, applies fn and saves the result, holding
// an exclusive lock on the directory so concurrent mailgrant processes do not
// lose each other's changes. If fn returns an error nothing is written.
func UpdateProfiles(dir string, fn func(*Profiles) error) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create config directory: %w", err)
	}
	unlock, err := lockFile(filepath.Join(dir, ".profiles.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	p, err := LoadProfiles(dir)
	if err != nil {
		return err
	}
	if err := fn(p); err != nil {
		return err
	}
	return SaveProfiles(dir, p)
}
