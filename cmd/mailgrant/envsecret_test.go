package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/flows/sandbox/sandboxtest"
	"github.com/mailgrant/mailgrant/store/envsecret"
)

// TestBrowserInheritsNoSecrets: issue 11 item 3. A mailgrant process given
// the client secret, the passphrase and the PFX password in its environment
// uses them, yet the browser it launches (the stand-in xdg-open, recording
// the names of the variables it inherited) has none of them.
func TestBrowserInheritsNoSecrets(t *testing.T) {
	env(t, "mailgrant-sandbox")
	log := sandboxtest.InstallFakeBrowser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := mailgrantProcess(ctx, t, "--sandbox", "--store", "file", "setup", "--non-interactive", "--profile", "env-web", "--client-id", sandbox.WebApp.ClientID)
	cmd.Env = append(cmd.Env,
		envsecret.ClientSecret+"="+sandbox.WebApp.Secret,
		envsecret.Passphrase+"=correct horse battery staple",
		envsecret.CertificatePassword+"=pfx-password",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("setup: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "encrypted file") {
		t.Fatalf("the passphrase from the environment was not used:\n%s", out)
	}
	names, err := os.ReadFile(log + ".env")
	if err != nil {
		t.Fatalf("the browser never ran: %v\n%s", err, out)
	}
	if !strings.Contains(string(names), "MAILGRANT_FAKE_BROWSER_LOG") {
		t.Fatalf("the browser's environment was not recorded: %q", names)
	}
	for _, name := range envsecret.Names {
		if strings.Contains(string(names), name) {
			t.Errorf("the browser inherited %s", name)
		}
	}
}
