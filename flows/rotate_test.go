package flows_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

func TestParseSecretExpiry(t *testing.T) {
	now := time.Date(2026, 11, 28, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "", want: ""},
		{in: " 2027-11-30 ", want: "2027-11-30"},
		{in: "2026-11-28", want: "2026-11-28"}, // today: the portal's date, still valid
		{in: "2026-11-27", wantErr: "is in the past"},
		{in: "31/12/2027", wantErr: "is not a date"},
		{in: "2027-02-30", wantErr: "is not a date"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := flows.ParseSecretExpiry(tt.in, now)
			var ie *flows.InputError
			switch {
			case tt.wantErr != "":
				if !errors.As(err, &ie) || ie.Field != "secret-expires" || !strings.Contains(ie.Problem, tt.wantErr) || ie.Hint == "" {
					t.Fatalf("err = %v, want secret-expires %q with a hint", err, tt.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case tt.want == "" && got != nil:
				t.Fatalf("got %v, want none", got)
			case tt.want != "" && (got == nil || got.Format(time.DateOnly) != tt.want || got.Location() != time.UTC):
				t.Fatalf("got %v, want %s UTC", got, tt.want)
			}
		})
	}
}

func TestWritePendingCertificate(t *testing.T) {
	now := time.Now()
	c, err := flows.GenerateCertificate("test", 24*time.Hour, 2048, now)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "new.pem")

	// A new file is written; a second write of a new rotation is refused.
	if already, err := flows.WritePendingCertificate(path, c, false, false); err != nil || already {
		t.Fatalf("first write: already %v, %v", already, err)
	}
	if _, err := flows.WritePendingCertificate(path, c, false, false); err == nil {
		t.Fatal("an existing file was replaced without force")
	}
	// A resumed rotation finds its own certificate there.
	if already, err := flows.WritePendingCertificate(path, c, true, false); err != nil || !already {
		t.Fatalf("resumed: already %v, %v", already, err)
	}
	// But not someone else's file.
	if err := os.WriteFile(path, []byte("other"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := flows.WritePendingCertificate(path, c, true, false); err == nil {
		t.Fatal("a resumed rotation replaced another file")
	}
}

func TestSaveEditedKeepsTheGrant(t *testing.T) {
	dir := t.TempDir()
	p := store.Profile{Name: "p", Scenario: store.SendAsAny, Permissions: []string{"Mail.Send"}, LastState: "authorized", Credential: store.CredentialSecret}
	if err := store.UpdateProfiles(dir, func(ps *store.Profiles) error { ps.Put(p); return nil }); err != nil {
		t.Fatal(err)
	}
	e := p
	e.From, e.ReplyTo = "noreply@contoso.com", "help@contoso.com"
	e.Permissions = []string{"Mail.Send", "Files.Read.All"} // not an edit that needs nothing: ignored
	saved, err := flows.SaveEdited(dir, e)
	if err != nil {
		t.Fatal(err)
	}
	ps, _ := store.LoadProfiles(dir)
	got, _ := ps.Get("p")
	if got.From != e.From || got.ReplyTo != e.ReplyTo || len(got.Permissions) != 1 || got.LastState != "authorized" || saved.From != e.From {
		t.Errorf("stored %+v", got)
	}
	if _, err := flows.SaveEdited(dir, store.Profile{Name: "gone"}); err == nil {
		t.Error("a deleted profile was saved")
	}
}
