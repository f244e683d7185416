package envsecret

import (
	"os"
	"testing"
)

func TestTakeUnsetsAndKeeps(t *testing.T) {
	t.Setenv(ClientSecret, "s3cret")
	t.Setenv(Passphrase, "")
	t.Setenv(CertificatePassword, "pfx")
	Take()
	for _, name := range Names {
		if v, ok := os.LookupEnv(name); ok {
			t.Errorf("%s is still in the environment (%q)", name, v)
		}
	}
	if v, ok := Lookup(ClientSecret); !ok || v != "s3cret" {
		t.Errorf("Lookup(ClientSecret) = %q, %v", v, ok)
	}
	if v, ok := Lookup(Passphrase); !ok || v != "" {
		t.Errorf("set but empty: Lookup(Passphrase) = %q, %v; want \"\", true", v, ok)
	}
	if Get(CertificatePassword) != "pfx" {
		t.Error("the certificate password was lost")
	}
}
