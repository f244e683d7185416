package flows

import "testing"

// TestAssertionAudienceIsTheEndpointCalled: issue 11 item 6. With the login
// host overridden, the client assertion is made out to the overriding host's
// token endpoint, the one the request goes to (as MSAL does).
func TestAssertionAudienceIsTheEndpointCalled(t *testing.T) {
	for _, tc := range []struct {
		opts EnvOptions
		want string
	}{
		{EnvOptions{}, "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"},
		{EnvOptions{Cloud: "usgov"}, "https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/v2.0/token"},
		{EnvOptions{LoginHost: "https://login-proxy.contoso.com"}, "https://login-proxy.contoso.com/contoso.onmicrosoft.com/oauth2/v2.0/token"},
	} {
		env, err := NewEnv(tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := env.assertionAudience("contoso.onmicrosoft.com"); got != tc.want {
			t.Errorf("%+v: aud = %s, want %s", tc.opts, got, tc.want)
		}
	}
}
