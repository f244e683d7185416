package assets

import (
	"strings"
	"testing"
)

func TestResultPageEscapes(t *testing.T) {
	page := string(ResultPage(Result{Outcome: Failed, Heading: "<script>x</script>", Subject: "<i>p</i>", Lines: []string{`a "quoted" & <b>bold</b> detail`}, Code: "<u>", Next: "<a>"}))
	for _, raw := range []string{"<script>x", "<b>bold", "<i>p", "<u>", "<a>"} {
		if strings.Contains(page, raw) {
			t.Fatalf("%s not escaped:\n%s", raw, page)
		}
	}
}

// TestResultPagesDiffer: success, failure and "still waiting" differ in
// their label and colours, not only by a glyph; each names the profile in
// the title and supports dark mode.
func TestResultPagesDiffer(t *testing.T) {
	kinds := map[Outcome]string{Succeeded: `class="ok"`, Failed: `class="fail"`, Ignored: `class="wait"`}
	labels := map[Outcome]string{Succeeded: "Done in the browser", Failed: "Stopped", Ignored: "Still waiting"}
	for o, class := range kinds {
		page := string(ResultPage(Result{Outcome: o, Heading: "Heading", Subject: "profile p", Next: "Return to the terminal."}))
		if !strings.Contains(page, class) || !strings.Contains(page, labels[o]) {
			t.Errorf("outcome %d: want %s and %q", o, class, labels[o])
		}
		if !strings.Contains(page, "<title>Heading — profile p · mailgrant</title>") {
			t.Errorf("outcome %d: title does not name the profile:\n%s", o, page)
		}
		if !strings.Contains(page, "prefers-color-scheme: dark") {
			t.Error("no dark mode")
		}
	}
}

func TestRBACScript(t *testing.T) {
	r := RBACScript{Profile: "p", AppID: "app-id", Name: "mailgrant p", Mailboxes: []string{"a@contoso.com", "o'brien@contoso.com"}, InScope: []string{"a@contoso.com"}, OutOfScope: "x@contoso.com", Command: "mailgrant"}
	s := RenderRBACScript(r, false)
	for _, want := range []string{
		`New-ServicePrincipal -AppId $AppId -ObjectId $ObjectId`,
		`New-ManagementScope -Name "$Name scope" -RecipientRestrictionFilter 'PrimarySmtpAddress -eq ''a@contoso.com'' -or PrimarySmtpAddress -eq ''o''''brien@contoso.com'''`,
		`New-ManagementRoleAssignment -App $AppId -Role "Application Mail.Send" -CustomResourceScope "$Name scope"`,
		`Test-ServicePrincipalAuthorization -Identity $AppId -Resource 'x@contoso.com'`,
		"30 minutes to 2 hours",
		"mailgrant status p",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("RBAC script lacks %q:\n%s", want, s)
		}
	}
	r.Group = "Sales Senders"
	if s := RenderRBACScript(r, false); !strings.Contains(s, `MemberOfGroup -eq '$GroupDN'`) || !strings.Contains(s, `Get-Group -Identity 'Sales Senders'`) {
		t.Errorf("group scope:\n%s", s)
	}
	legacy := RenderRBACScript(r, true)
	for _, want := range []string{"New-ApplicationAccessPolicy -AppId $AppId -PolicyScopeGroupId $Group -AccessRight RestrictAccess", "Test-ApplicationAccessPolicy", "more than an hour"} {
		if !strings.Contains(legacy, want) {
			t.Errorf("legacy script lacks %q:\n%s", want, legacy)
		}
	}
}

// TestRBACScriptQuotesValues: a $ in an address must not expand in
// PowerShell (it would run as code).
func TestRBACScriptQuotesValues(t *testing.T) {
	r := RBACScript{Profile: "p", AppID: "id", Name: "n", Group: "$(Remove-Item x)", InScope: []string{"$ops@contoso.com"}, Command: "mailgrant"}
	for _, legacy := range []bool{false, true} {
		s := RenderRBACScript(r, legacy)
		if strings.Contains(s, `"$(Remove-Item x)"`) || strings.Contains(s, `"$ops@contoso.com"`) || !strings.Contains(s, `'$ops@contoso.com'`) {
			t.Errorf("values not single-quoted (legacy %v):\n%s", legacy, s)
		}
	}
}

func TestRegistrationRendersEveryField(t *testing.T) {
	s := RenderRegistration(Registration{
		ScenarioTitle: "send as one user", Portal: "https://portal.azure.com", AppName: "mailgrant p",
		AccountTypes: "single tenant", Platform: "Mobile and desktop applications", RedirectURI: "http://localhost",
		PermissionType: "delegated", Permissions: []Permission{{Name: "Mail.Send", Type: "Delegated", ID: "e383f46e-2787-4529-855e-0e479a3ffac0"}},
		Consent: "the user consents", PublicClientFlows: "Yes",
	})
	for _, want := range []string{"Redirect URI:             http://localhost", "Mail.Send", "e383f46e-2787-4529-855e-0e479a3ffac0", "Allow public client flows: Yes", "the user consents"} {
		if !strings.Contains(s, want) {
			t.Errorf("registration lacks %q:\n%s", want, s)
		}
	}
	if s := RenderRegistration(Registration{PermissionType: "application"}); !strings.Contains(s, "(none in Entra)") {
		t.Errorf("an empty permission list is not explained:\n%s", s)
	}
}
