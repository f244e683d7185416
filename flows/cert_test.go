package flows

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func keyPEM(t *testing.T, c *Certificate) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func TestCertificateFiles(t *testing.T) {
	now := time.Now()
	c, err := GenerateCertificate("t", 30*24*time.Hour, 2048, now)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := GenerateCertificate("o", 30*24*time.Hour, 2048, now)
	expired, _ := GenerateCertificate("e", 24*time.Hour, 2048, now.Add(-72*time.Hour))
	pfx, err := pkcs12.Modern.Encode(c.Key, c.Leaf, nil, "pfx-pass")
	if err != nil {
		t.Fatal(err)
	}
	good := append(c.CertPEM(), keyPEM(t, c)...)
	tests := []struct {
		name     string
		data     []byte
		password string
		field    string
		problem  string
	}{
		{name: "PEM with certificate and key", data: good},
		{name: "PFX with its password", data: pfx, password: "pfx-pass"},
		{name: "PFX with a wrong password", data: pfx, password: "nope", field: "certificate-password", problem: "wrong"},
		{name: "truncated PEM", data: good[:len(good)/3], field: "certificate-file", problem: "truncated"},
		{name: "certificate without key", data: c.CertPEM(), field: "certificate-file", problem: "no private key"},
		{name: "key without certificate", data: keyPEM(t, c), field: "certificate-file", problem: "no certificate"},
		{name: "key of another certificate", data: append(c.CertPEM(), keyPEM(t, other)...), field: "certificate-file", problem: "does not belong"},
		{name: "expired certificate", data: append(expired.CertPEM(), keyPEM(t, expired)...), field: "certificate-file", problem: "expired"},
		{name: "encrypted key", data: append(c.CertPEM(), pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}})...), field: "certificate-file", problem: "encrypted"},
		{name: "garbage", data: []byte("not a certificate at all"), field: "certificate-file", problem: "not a readable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadCertificateFile(writeFile(t, "c", tt.data), tt.password, now)
			if tt.field == "" {
				if err != nil || got.Thumbprint() != c.Thumbprint() {
					t.Fatalf("got %v, %v", got, err)
				}
				return
			}
			var ie *InputError
			if !errors.As(err, &ie) || ie.Field != tt.field || !strings.Contains(ie.Problem, tt.problem) || ie.Hint == "" {
				t.Fatalf("want %s: …%s… with a hint, got %v", tt.field, tt.problem, err)
			}
		})
	}
	if _, err := LoadCertificateFile(filepath.Join(t.TempDir(), "missing.pem"), "", now); err == nil {
		t.Fatal("a missing file was accepted")
	}
	if _, err := GenerateCertificate("t", 30*24*time.Hour, 1024, now); err == nil {
		t.Fatal("a 1024-bit key was generated")
	}
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	if err := CheckCertificateUsable(&Certificate{Leaf: c.Leaf, Key: weak}, now); err == nil {
		t.Fatal("a weak key was accepted")
	}
}

// TestAssertion checks the client assertion against reference §6.
func TestAssertion(t *testing.T) {
	now := time.Now()
	c, _ := GenerateCertificate("t", 30*24*time.Hour, 2048, now)
	aud := "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
	a1, err := c.Assertion("client-guid", aud, now)
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := c.Assertion("client-guid", aud, now)
	parts := strings.Split(a1, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", a1)
	}
	var hdr map[string]string
	raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
	_ = json.Unmarshal(raw, &hdr)
	if hdr["alg"] != "PS256" || hdr["x5t#S256"] != c.thumbprintS256() || hdr["typ"] != "JWT" {
		t.Errorf("header %v", hdr)
	}
	var claims map[string]any
	raw, _ = base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(raw, &claims)
	if claims["aud"] != aud || claims["iss"] != "client-guid" || claims["sub"] != "client-guid" {
		t.Errorf("claims %v", claims)
	}
	if exp := int64(claims["exp"].(float64)); exp <= now.Unix() || exp > now.Add(10*time.Minute).Unix() {
		t.Errorf("exp %d not within 10 minutes", exp)
	}
	var c2 map[string]any
	raw, _ = base64.RawURLEncoding.DecodeString(strings.Split(a2, ".")[1])
	_ = json.Unmarshal(raw, &c2)
	if claims["jti"] == c2["jti"] || !IsGUID(claims["jti"].(string)) {
		t.Errorf("jti not a unique GUID: %v %v", claims["jti"], c2["jti"])
	}
	stored, _ := c.StoredForm()
	back, err := ParseStoredCertificate(stored)
	if err != nil || back.Thumbprint() != c.Thumbprint() || !back.Key.Equal(c.Key) {
		t.Fatalf("stored form does not round-trip: %v", err)
	}
	if strings.Contains(c.String()+c.GoString(), "PRIVATE") {
		t.Fatal("String shows the key")
	}
}
