package sandbox

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/url"
	"strings"
	"time"
)

// assertionSkew is the clock skew allowed on a client assertion's nbf/exp.
const assertionSkew = 5 * time.Minute

// assertionHeader is the JOSE header of a client assertion (reference §6).
type assertionHeader struct {
	Alg     string `json:"alg"`
	Typ     string `json:"typ"`
	X5t     string `json:"x5t"`
	X5tS256 string `json:"x5t#S256"`
}

// assertionClaims are the claims of a client assertion.
type assertionClaims struct {
	Aud audience `json:"aud"`
	Iss string   `json:"iss"`
	Sub string   `json:"sub"`
	Jti string   `json:"jti"`
	Exp *int64   `json:"exp"`
	Nbf *int64   `json:"nbf"`
	Iat *int64   `json:"iat"`
}

// audience is a JWT aud claim: one string or an array of strings.
type audience []string

// UnmarshalJSON accepts both forms of aud.
func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// verifyAssertion checks a certificate client assertion: a JWT signed RS256
// or PS256 by the key of a certificate uploaded to the app, found by its
// x5t#S256 (or SHA-1 x5t) thumbprint, for this client and this token
// endpoint, within its time range, and not seen before.
func (s *Server) verifyAssertion(tr tokenRequest, app App, assertionType, assertion string) *oauthError {
	if assertionType == "" {
		return missing("client_assertion_type")
	}
	if assertionType != jwtBearer {
		return oauthErr("invalid_request", 9002313, "Invalid request. The client_assertion_type must be '%s'.", jwtBearer)
	}
	if assertion == "" {
		return missing("client_assertion")
	}
	malformed := oauthErr("invalid_client", 50027, "JWT token is invalid or malformed.")
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return malformed
	}
	var hdr assertionHeader
	var claims assertionClaims
	hb, err1 := b64.DecodeString(parts[0])
	cb, err2 := b64.DecodeString(parts[1])
	sig, err3 := b64.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(cb, &claims) != nil {
		return malformed
	}
	if hdr.Alg != "RS256" && hdr.Alg != "PS256" {
		return oauthErr("invalid_client", 700027, "Client assertion failed signature validation. (Reason - The signing algorithm '%s' is not supported; use PS256 or RS256.)", safeText(hdr.Alg))
	}
	thumb, field := hdr.X5tS256, "x5t#S256"
	if thumb == "" {
		thumb, field = hdr.X5t, "x5t"
	}
	if thumb == "" {
		return oauthErr("invalid_client", 700027, "Client assertion failed signature validation. (Reason - The header has neither x5t#S256 nor x5t, so no key could be found.)")
	}
	certs, err := s.certificates(app.ClientID)
	if err != nil {
		return oauthErr("temporarily_unavailable", 90033, "A transient error has occurred. Please try again.")
	}
	var found *certRecord
	for i, c := range certs {
		if (field == "x5t#S256" && c.SHA256 == thumb) || (field == "x5t" && c.SHA1 == thumb) {
			found = &certs[i]
			break
		}
	}
	if found == nil {
		return oauthErr("invalid_client", 700027, "Client assertion failed signature validation. (Reason - The key was not found., Thumbprint of key used by client: '%s', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'.)", thumbprintHex(thumb), app.ClientID)
	}
	cert, err := found.parse()
	if err != nil {
		return malformed
	}
	now := s.now()
	if now.After(cert.NotAfter) {
		return oauthErr("invalid_client", 700027, "Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '%s', Found key 'Start=%s, End=%s']", thumbprintHex(thumb), cert.NotBefore.UTC().Format("01/02/2006 15:04:05"), cert.NotAfter.UTC().Format("01/02/2006 15:04:05"))
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return oauthErr("invalid_client", 700027, "Client assertion failed signature validation. (Reason - The certificate's key is not an RSA key.)")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if hdr.Alg == "RS256" {
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	} else {
		err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	}
	if err != nil {
		return oauthErr("invalid_client", 700027, "Client assertion failed signature validation. (Reason - The signature does not verify with the key of the certificate with thumbprint '%s'.)", thumbprintHex(thumb))
	}
	if !strings.EqualFold(claims.Iss, app.ClientID) || !strings.EqualFold(claims.Sub, app.ClientID) {
		return oauthErr("invalid_client", 700021, "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .")
	}
	if !s.audienceOK(tr, claims.Aud) {
		return oauthErr("invalid_client", 700023, "Client assertion audience claim does not match Realm issuer. The aud claim must be the token endpoint that was called, %s/%s/oauth2/v2.0/token.", s.baseURL(tr.r), TenantID)
	}
	if claims.Exp == nil {
		return oauthErr("invalid_client", 700024, "Client assertion is not within its valid time range: it has no exp claim.")
	}
	exp := time.Unix(*claims.Exp, 0)
	nbf := exp
	if claims.Nbf != nil {
		nbf = time.Unix(*claims.Nbf, 0)
	}
	if now.After(exp.Add(assertionSkew)) || (claims.Nbf != nil && nbf.After(now.Add(assertionSkew))) {
		return oauthErr("invalid_client", 700024, "Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .",
			now.UTC().Format("2006-01-02T15:04:05.0000000Z"), nbf.UTC().Format("2006-01-02T15:04:05.0000000Z"), exp.UTC().Format("2006-01-02T15:04:05.0000000Z"))
	}
	if claims.Jti == "" {
		return oauthErr("invalid_client", 50027, "JWT token is invalid or malformed: the client assertion has no jti claim.")
	}
	key := strings.ToLower(app.ClientID) + "|" + claims.Jti
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, seen := s.jtis[key]; seen {
		// The AADSTS number for a replayed assertion is not in Microsoft's
		// reference; 50013 (InvalidAssertion) is the documented catch-all.
		return oauthErr("invalid_client", 50013, "Assertion is invalid: the client assertion with jti '%s' was already used (replayed). Sign a new assertion for every request.", safeText(claims.Jti))
	}
	s.pruneLocked()
	s.jtis[key] = exp.Add(assertionSkew)
	return nil
}

// audienceOK accepts an aud that is the token endpoint of this tenant on the
// host that was called, as Entra does: an assertion made out to
// login.microsoftonline.com is refused by any other server (a proxy or a test
// tenant reached through MAILGRANT_LOGIN_HOST).
func (s *Server) audienceOK(tr tokenRequest, aud audience) bool {
	var hosts []string
	if u, err := url.Parse(s.baseURL(tr.r)); err == nil {
		hosts = append(hosts, strings.ToLower(u.Host))
	}
	hosts = append(hosts, strings.ToLower(tr.r.Host))
	for _, a := range aud {
		u, err := url.Parse(a)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
			continue
		}
		host := strings.ToLower(u.Host)
		if u.Scheme == "http" {
			if h, _, err := net.SplitHostPort(host); err != nil || (h != "127.0.0.1" && h != "localhost") {
				continue
			}
		}
		hostOK := false
		for _, h := range hosts {
			if host == h {
				hostOK = true
			}
		}
		segs := strings.Split(strings.Trim(u.Path, "/"), "/")
		if !hostOK || len(segs) != 4 || !strings.EqualFold(strings.Join(segs[1:], "/"), "oauth2/v2.0/token") {
			continue
		}
		k := resolveTenant(segs[0])
		sameTenant := k == tr.kind ||
			(k == tenantOwn && tr.kind == tenantOrganizations) || (k == tenantOrganizations && tr.kind == tenantOwn)
		if sameTenant {
			return true
		}
	}
	return false
}

// thumbprintHex shows a base64url thumbprint the way Entra's messages do:
// upper-case hex.
func thumbprintHex(t string) string {
	b, err := b64.DecodeString(t)
	if err != nil || len(b) > 64 {
		return safeText(t)
	}
	return strings.ToUpper(hex.EncodeToString(b))
}
