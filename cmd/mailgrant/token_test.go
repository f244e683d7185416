package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailgrant/mailgrant/store"
)

// `mailgrant token` connects to the session bus before it reads its profile
// (store.WarmKeyring); when there is no bus the admin still gets the
// keyring's error naming the bus, with its hint, and exit 1.
func TestTokenWithoutSessionBus(t *testing.T) {
	dir := t.TempDir()
	ps := &store.Profiles{Version: store.SchemaVersion, List: []store.Profile{{
		Name: "daemon", Scenario: store.SendAsAny, Cloud: "global", Tenant: "contoso.onmicrosoft.com",
		ClientID: "5a4db0c5-0001-4a00-8000-000000000001", Account: "adele@contoso.com",
		Permissions: []string{"Mail.Send"}, Credential: store.CredentialSecret, Store: store.BackendKeyring,
	}}}
	if err := store.SaveProfiles(dir, ps); err != nil {
		t.Fatal(err)
	}
	bus := "unix:path=" + filepath.Join(t.TempDir(), "no-bus")
	r := child(t, "", []string{"DBUS_SESSION_BUS_ADDRESS", "MAILGRANT_SANDBOX", "MAILGRANT_STORE"},
		[]string{"MAILGRANT_CONFIG_DIR=" + dir, "DBUS_SESSION_BUS_ADDRESS=" + bus}, "token", "daemon")
	if r.code != exitFailure || r.stdout != "" || !strings.Contains(r.stderr, "cannot connect to the D-Bus session bus at "+bus) || !strings.Contains(r.stderr, "hint:") {
		t.Fatalf("token without a bus: exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
