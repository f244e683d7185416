package flows

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// MinRSABits is the smallest RSA key mailgrant generates or accepts.
const MinRSABits = 2048

// Certificate is an app registration's certificate credential: the public
// certificate (uploaded to Entra) and its RSA private key (kept in the
// keyring). Its String method never shows the key.
type Certificate struct {
	// Leaf is the public certificate.
	Leaf *x509.Certificate
	// Key is the private key.
	Key *rsa.PrivateKey
}

// String describes the certificate without its key.
func (c *Certificate) String() string {
	if c == nil || c.Leaf == nil {
		return "<no certificate>"
	}
	return fmt.Sprintf("certificate %s (thumbprint %s, expires %s)", c.Leaf.Subject.CommonName, c.Thumbprint(), c.Leaf.NotAfter.Format(time.DateOnly))
}

// GoString hides the key from %#v.
func (c *Certificate) GoString() string { return c.String() }

// Thumbprint is the SHA-1 thumbprint in upper-case hex, as the Entra portal
// shows it under Certificates & secrets.
func (c *Certificate) Thumbprint() string {
	sum := sha1.Sum(c.Leaf.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// thumbprintS256 is the base64url SHA-256 thumbprint for the x5t#S256 header.
func (c *Certificate) thumbprintS256() string {
	sum := sha256.Sum256(c.Leaf.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// CertPEM is the public certificate, for upload to the app registration.
func (c *Certificate) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Leaf.Raw})
}

// StoredForm is what the keyring keeps (kind certificate-key): the PKCS#8
// private key followed by the certificate, as PEM.
func (c *Certificate) StoredForm() (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		return "", fmt.Errorf("encode the private key: %w", err)
	}
	var b bytes.Buffer
	_ = pem.Encode(&b, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	b.Write(c.CertPEM())
	return b.String(), nil
}

// GenerateCertificate makes a self-signed certificate with a new RSA key.
func GenerateCertificate(commonName string, validity time.Duration, bits int, now time.Time) (*Certificate, error) {
	if bits < MinRSABits {
		return nil, &InputError{Field: "key-size", Problem: fmt.Sprintf("%d bits is too small", bits), Hint: fmt.Sprintf("use at least %d", MinRSABits)}
	}
	if validity < 24*time.Hour || validity > 3*366*24*time.Hour {
		return nil, &InputError{Field: "validity", Problem: "must be between 1 day and 3 years", Hint: "for example 365 days"}
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("generate RSA key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-5 * time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Certificate{Leaf: leaf, Key: key}, nil
}

// LoadCertificateFile reads a PEM file (certificate and private key) or a
// PFX/PKCS#12 file (with password) and checks it can be used.
func LoadCertificateFile(path, password string, now time.Time) (*Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &InputError{Field: "certificate-file", Problem: fmt.Sprintf("cannot read %s: %v", path, errors.Unwrap(err)), Hint: "give the path of a .pem or .pfx file"}
	}
	var c *Certificate
	if bytes.Contains(data, []byte("-----BEGIN")) {
		c, err = ParsePEMCertificate(data)
	} else {
		c, err = ParsePFX(data, password)
	}
	if err != nil {
		return nil, err
	}
	return c, CheckCertificateUsable(c, now)
}

// ParsePEMCertificate reads a certificate and its private key from PEM.
func ParsePEMCertificate(data []byte) (*Certificate, error) {
	const field = "certificate-file"
	var c Certificate
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch block.Type {
		case "CERTIFICATE":
			if c.Leaf != nil {
				continue // a chain: the first certificate is the leaf
			}
			leaf, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, &InputError{Field: field, Problem: "the certificate cannot be parsed: " + err.Error(), Hint: "export the certificate again as PEM"}
			}
			c.Leaf = leaf
		case "PRIVATE KEY", "RSA PRIVATE KEY":
			key, err := parseRSAKey(block)
			if err != nil {
				return nil, &InputError{Field: field, Problem: err.Error(), Hint: "use an unencrypted RSA key in PEM (PKCS#8 or PKCS#1), or a PFX file"}
			}
			c.Key = key
		case "ENCRYPTED PRIVATE KEY":
			return nil, &InputError{Field: field, Problem: "the private key is encrypted", Hint: "give a PFX file with its password, or decrypt the key: openssl pkcs8 -in key.pem -out plain.pem"}
		}
	}
	switch {
	case c.Leaf == nil && c.Key == nil:
		return nil, &InputError{Field: field, Problem: "no PEM certificate or key found (the file may be truncated)", Hint: "the file must contain -----BEGIN CERTIFICATE----- and -----BEGIN PRIVATE KEY----- blocks"}
	case c.Leaf == nil:
		return nil, &InputError{Field: field, Problem: "the file has a private key but no certificate", Hint: "append the certificate (PEM) to the file"}
	case c.Key == nil:
		return nil, &InputError{Field: field, Problem: "the file has a certificate but no private key", Hint: "mailgrant needs the private key to sign; append it (PEM) or use a PFX file"}
	}
	return &c, matchKey(&c)
}

// ParsePFX reads a PKCS#12 (.pfx/.p12) file.
func ParsePFX(data []byte, password string) (*Certificate, error) {
	const field = "certificate-file"
	key, leaf, _, err := pkcs12.DecodeChain(data, password)
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return nil, &InputError{Field: "certificate-password", Problem: "the PFX password is wrong", Hint: "give the password the file was exported with (MAILGRANT_CERTIFICATE_PASSWORD)"}
	}
	if err != nil {
		return nil, &InputError{Field: field, Problem: "not a readable PEM or PFX file: " + err.Error(), Hint: "export the certificate with its private key as .pfx, or as PEM"}
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, &InputError{Field: field, Problem: fmt.Sprintf("the key is %T, not RSA", key), Hint: "Entra certificate credentials here must use RSA keys"}
	}
	c := &Certificate{Leaf: leaf, Key: rsaKey}
	return c, matchKey(c)
}

// ParseStoredCertificate reads the keyring's StoredForm.
func ParseStoredCertificate(s string) (*Certificate, error) {
	c, err := ParsePEMCertificate([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("the certificate kept in the keyring is damaged: %w", err)
	}
	return c, nil
}

func parseRSAKey(block *pem.Block) (*rsa.PrivateKey, error) {
	if block.Type == "RSA PRIVATE KEY" {
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("the RSA private key cannot be parsed")
		}
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("the private key cannot be parsed")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the key is %T, not RSA", k)
	}
	return rk, nil
}

// matchKey checks the private key belongs to the certificate.
func matchKey(c *Certificate) error {
	pub, ok := c.Leaf.PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(&c.Key.PublicKey) {
		return &InputError{Field: "certificate-file", Problem: "the private key does not belong to the certificate", Hint: "use the key the certificate was issued for"}
	}
	return nil
}

// CheckCertificateUsable refuses an expired, not-yet-valid or weak certificate.
func CheckCertificateUsable(c *Certificate, now time.Time) error {
	switch {
	case now.After(c.Leaf.NotAfter):
		return &InputError{Field: "certificate-file", Problem: "the certificate expired on " + c.Leaf.NotAfter.Format(time.DateOnly), Hint: "create a new one with --new-certificate, upload it, and use it"}
	case now.Before(c.Leaf.NotBefore):
		return &InputError{Field: "certificate-file", Problem: "the certificate is not valid before " + c.Leaf.NotBefore.Format(time.DateOnly), Hint: "check this machine's clock"}
	case c.Key.N.BitLen() < MinRSABits:
		return &InputError{Field: "certificate-file", Problem: fmt.Sprintf("the RSA key has %d bits", c.Key.N.BitLen()), Hint: fmt.Sprintf("use a key of at least %d bits", MinRSABits)}
	}
	return nil
}

// Assertion builds the signed client assertion of reference §6: PS256 with
// an x5t#S256 header, aud = the token endpoint, iss = sub = the client id, a
// unique jti and a five-minute lifetime.
func (c *Certificate) Assertion(clientID, audience string, now time.Time) (string, error) {
	header := map[string]string{"alg": "PS256", "typ": "JWT", "x5t#S256": c.thumbprintS256()}
	claims := map[string]any{
		"aud": audience,
		"iss": clientID,
		"sub": clientID,
		"jti": newGUID(),
		"nbf": now.Unix(),
		"iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(),
	}
	h, _ := json.Marshal(header)
	p, _ := json.Marshal(claims)
	signing := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPSS(rand.Reader, c.Key, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	if err != nil {
		return "", fmt.Errorf("sign the client assertion: %w", err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// newGUID returns a random (version 4) GUID.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
