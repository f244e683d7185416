package flows

// Code names a failure: one of mailgrant's own codes below, or the code
// Microsoft sent (an AADSTS number, a token-endpoint error, a Graph error
// code). It is what `status --json` and `check-mailboxes --json` print, so
// the strings never change. Code that branches on a failure compares these
// constants or uses errors.Is with the Err sentinels, never string literals.
type Code string

// mailgrant's own codes.
const (
	// CodeCancelled: the user or the caller's context stopped the work.
	CodeCancelled Code = "cancelled"
	// CodeTimeout: a server or the browser did not answer in time.
	CodeTimeout Code = "timeout"
	// CodeNetwork: a request failed in transport.
	CodeNetwork Code = "network"
	// CodeDNS: a host name did not resolve.
	CodeDNS Code = "dns"
	// CodeProxy: the HTTPS proxy refused or failed the connection.
	CodeProxy Code = "proxy"
	// CodeError: anything not otherwise known; printed without the code.
	CodeError Code = "error"
	// CodeBadInput: an InputError (a field and its problem).
	CodeBadInput Code = "bad-input"
	// CodeBadResponse: a server's answer could not be read.
	CodeBadResponse Code = "bad-response"
	// CodeKeyring: the secrets store failed.
	CodeKeyring Code = "keyring"
	// CodeLock: the profile's lock file could not be taken.
	CodeLock Code = "lock"
	// CodeListener: no loopback port for the browser's redirect.
	CodeListener Code = "listener"
	// CodeNoCode: the redirect carried neither a code nor an error.
	CodeNoCode Code = "no-code"
	// CodeNoRefreshToken: Entra returned no refresh token.
	CodeNoRefreshToken Code = "no-refresh-token"
	// CodeNoSecret: the profile's secret is not in its store.
	CodeNoSecret Code = "no-secret"
	// CodeNoConsent: the admin-consent redirect did not confirm consent.
	CodeNoConsent Code = "no-consent"
	// CodeConsentPending: consent was given but tokens do not carry it yet.
	CodeConsentPending Code = "consent-pending"
	// CodeConsentMissing: a token lacks a required permission.
	CodeConsentMissing Code = "consent-missing"
	// CodeCertificateExpired: the profile's certificate is past its end date.
	CodeCertificateExpired Code = "certificate-expired"
	// CodePolicyUnrestricted: an application access policy lets the app
	// send as a mailbox outside its scope.
	CodePolicyUnrestricted Code = "policy-unrestricted"
	// CodeRBACUnrestricted: an Exchange RBAC scope lets the app send as a
	// mailbox outside its scope.
	CodeRBACUnrestricted Code = "rbac-unrestricted"
	// CodePending: an rbac profile waits for its Exchange role.
	CodePending Code = "pending"
	// CodeWrongAccountType: a personal account signed in where a work
	// account is needed, or the other way round.
	CodeWrongAccountType Code = "wrong-account-type"
	// CodeWrongAccount: another account signed in than the profile's.
	CodeWrongAccount Code = "wrong-account"
	// CodeNeedsMailReadWrite: the message needs a draft, so Mail.ReadWrite.
	CodeNeedsMailReadWrite Code = "needs-mail-readwrite"
	// CodeSharedMailboxUpload: a large attachment to a shared mailbox's
	// draft needs the app's own permission.
	CodeSharedMailboxUpload Code = "shared-mailbox-upload"
	// CodeUploadStalled: an upload session makes no progress.
	CodeUploadStalled Code = "upload-stalled"
	// CodeNoProfile: no profile of that name.
	CodeNoProfile Code = "no-profile"
	// CodeNoStore: neither the keyring nor another store can be used.
	CodeNoStore Code = "no-store"
)

// Microsoft's codes that mailgrant branches on (reference §3–§10).
const (
	// CodeAccessDenied: the sign-in was cancelled or consent declined (OAuth error).
	CodeAccessDenied Code = "access_denied"
	// CodeConsentDeclined: consent was declined (AADSTS65004).
	CodeConsentDeclined Code = "AADSTS65004"
	// CodeCertificateRejected: the certificate assertion failed signature
	// validation, so the certificate is not uploaded (AADSTS700027).
	CodeCertificateRejected Code = "AADSTS700027"
	// CodeExpiredToken: the device code expired (OAuth error).
	CodeExpiredToken Code = "expired_token"

	// CodeGraphAccessDenied: Graph denied access to the mailbox.
	CodeGraphAccessDenied Code = "ErrorAccessDenied"
	// CodeSendAsDenied: the user may not send as that address.
	CodeSendAsDenied Code = "ErrorSendAsDenied"
	// CodeInvalidAuthenticationToken: Graph refused the access token.
	CodeInvalidAuthenticationToken Code = "InvalidAuthenticationToken"
	// CodeUserNotFound: the directory has no such user.
	CodeUserNotFound Code = "Request_ResourceNotFound"
	// CodeResourceNotFound: the user or mailbox does not exist.
	CodeResourceNotFound Code = "ResourceNotFound"
	// CodeMailboxNotEnabled: the account has no Exchange Online mailbox.
	CodeMailboxNotEnabled Code = "MailboxNotEnabledForRESTAPI"
	// CodeMailboxNotSupported: the mailbox cannot be used through Graph.
	CodeMailboxNotSupported Code = "MailboxNotSupportedForRESTAPI"
	// CodeInvalidUser: the mailbox does not exist.
	CodeInvalidUser Code = "ErrorInvalidUser"
	// CodeItemNotFound: a draft, attachment or upload session is gone.
	CodeItemNotFound Code = "ErrorItemNotFound"
	// CodeMessageSizeExceeded: the message is larger than the tenant allows.
	CodeMessageSizeExceeded Code = "ErrorMessageSizeExceeded"
	// CodeRequestTooLarge: the request body is over Graph's 4 MB.
	CodeRequestTooLarge Code = "RequestEntityTooLarge"
	// CodeInvalidRecipients: the message has no valid recipient.
	CodeInvalidRecipients Code = "ErrorInvalidRecipients"
	// CodeMimeInvalidBase64: the MIME message was not valid base64.
	CodeMimeInvalidBase64 Code = "ErrorMimeContentInvalidBase64String"
	// CodeMimeConversionFailed: Exchange could not convert the MIME message.
	CodeMimeConversionFailed Code = "ErrorMimeContentConversionFailed"
	// CodeInvalidMime: the MIME message is invalid.
	CodeInvalidMime Code = "ErrorInvalidMimeContent"
)

// Sentinels for errors.Is: an *Error matches one of these when their codes
// are equal, however deeply it is wrapped.
var (
	// ErrCancelled matches any cancelled flow.
	ErrCancelled error = &Error{Code: CodeCancelled, Message: "cancelled", State: StateError}
	// ErrConsentPending matches consent not yet carried by tokens.
	ErrConsentPending error = &Error{Code: CodeConsentPending, Message: "the token does not carry the consented permissions yet", State: StateConsentMissing}
	// ErrKeyring matches a failure of the secrets store.
	ErrKeyring error = &Error{Code: CodeKeyring, Message: "the keyring failed", State: StateError}
)

// Is reports whether target is an *Error with the same, non-empty code, so
// errors.Is(err, ErrCancelled) holds for every cancelled flow, however it
// was wrapped.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && t.Code != "" && t.Code == e.Code
}
