package auth

import (
	"fmt"
	"strings"

	"github.com/ionbox/ionbox/ion"
)

// Every message this package shows to an integration developer is built
// here, so that wording stays consistent and can be documented and tested
// word for word.

// OAuth error codes of the token endpoint (RFC 6749 §5.2).
const (
	oauthInvalidRequest       = "invalid_request"
	oauthUnauthorizedClient   = "unauthorized_client"
	oauthUnsupportedGrantType = "unsupported_grant_type"
	oauthServerError          = "server_error"
)

// msgInvalidClient is Keycloak's own description for any bad client
// credential. ION's clients and docs show it, so it is emulated exactly, and
// it deliberately does not say whether the client id or the secret was wrong.
const msgInvalidClient = "Invalid client or Invalid client credentials"

// Token endpoint: malformed requests (400 invalid_request) and the rest.
const (
	msgTokenMethod          = "The token endpoint accepts POST only. Send grant_type=client_credentials, client_id and client_secret as a form body."
	msgTokenContentType     = "Content-Type %q is not supported. Send the parameters as application/x-www-form-urlencoded or application/json."
	msgTokenBodyTooLarge    = "The request body is larger than %d bytes. Send only grant_type, client_id, client_secret and audience."
	msgTokenBodyUnreadable  = "The request body could not be read. Send grant_type, client_id and client_secret as a form body."
	msgTokenFormInvalid     = "The request body is not valid application/x-www-form-urlencoded. Send grant_type=client_credentials&client_id=…&client_secret=…."
	msgTokenJSONInvalid     = "The request body is not a JSON object. Send {\"grant_type\":\"client_credentials\",\"client_id\":\"…\",\"client_secret\":\"…\"}."
	msgTokenJSONNotString   = "Parameter %q must be a JSON string."
	msgTokenRepeated        = "Parameter %q is given more than once. Send each parameter once."
	msgTokenBasicInvalid    = "The Authorization header is not valid HTTP Basic credentials. Send \"Authorization: Basic base64(client_id:client_secret)\", or client_id and client_secret in the body."
	msgTokenTwoMethods      = "Client credentials are given both in the Authorization header and in the body, and they differ. Use one of the two."
	msgTokenNoGrantType     = "Missing grant_type. Send grant_type=client_credentials."
	msgTokenGrantType       = "Grant type %q is not supported. This endpoint supports grant_type=client_credentials only."
	msgTokenNoClientID      = "Missing client_id. Send client_id and client_secret in the body, or as HTTP Basic credentials."
	msgTokenNoClientSecret  = "Missing client_secret. Send client_id and client_secret in the body, or as HTTP Basic credentials."
	msgTokenServerError     = "The token could not be issued because of an internal error. Try again."
	msgEndpointMethodGET    = "This endpoint answers GET only."
	msgEndpointNotFound     = "Nothing is served at %s %s. The token endpoint is %s."
	msgAPIKeyNotFound       = "API key %q not found."
	msgAPIKeyUserInactive   = "user %d is deactivated. Activate the user before creating an API key that acts as them."
	msgIssuerBaseURL        = "auth: base URL %q of %s must be an absolute http or https URL without query or fragment"
	msgIssuerBaseURLChanged = "auth: %s already has an issuer at base URL %q; it cannot also be served at %q (Forget it first)"
)

// Authenticate: missing or malformed credentials (UNAUTHENTICATED).
const (
	msgAuthMissing   = "Authorization header is missing. Send \"Authorization: Bearer <access token>\"; get a token from %s."
	msgAuthScheme    = "Authorization scheme %q is not supported. Send \"Authorization: Bearer <access token>\"; get a token from %s."
	msgAuthEmpty     = "Authorization header has no token. Send \"Authorization: Bearer <access token>\"; get a token from %s."
	msgAuthMalformed = "Authorization header does not carry a JWT access token (%s). Send \"Authorization: Bearer <access token>\"; get a token from %s."

	detailSegments = "expected three base64url segments separated by dots"
	detailHeader   = "its header is not base64url-encoded JSON"
	detailPayload  = "its payload is not base64url-encoded JSON"
)

// Authenticate: a well-formed token that is not valid here (INVALID_TOKEN),
// except msgTokenExpired (TOKEN_EXPIRED), worded as ION documents it.
const (
	msgTokenExpired          = "Token is expired."
	msgTokenAlgorithm        = "Token algorithm %q is not accepted. Access tokens are signed with ES256."
	msgTokenKeyHeader        = "Token header %q is not accepted. Signing keys are published only at %s."
	msgTokenCrit             = "Token header \"crit\" is not accepted. Access tokens use no critical extensions."
	msgTokenType             = "Token type %q is not accepted. Access tokens have typ \"at+jwt\"."
	msgTokenNoKID            = "Token has no key id (kid). Access tokens name one of the signing keys at %s."
	msgTokenUnknownKID       = "Token key id %q is not a signing key of this environment. Its keys are at %s."
	msgTokenSignature        = "Token signature is invalid."
	msgTokenClaims           = "Token claims are not well-formed JSON of the expected types."
	msgTokenIssuer           = "Token issuer %q is not this environment's issuer %q."
	msgTokenAudience         = "Token audience %s does not include this environment's API %q."
	msgTokenNoClaim          = "Token has no %q claim."
	msgTokenFutureIAT        = "Token issue time (iat) is in the future."
	msgTokenFutureNBF        = "Token is not valid yet (nbf is in the future)."
	msgTokenEnvClaim         = "Token env claim %q does not match its issuer's environment %q."
	msgTokenKeyGone          = "The API key this token was issued to (client id %s) no longer exists. Create a new API key and get a new token."
	msgTokenKeyDisabled      = "The API key this token was issued to (client id %s) is disabled. Enable it, or use another API key."
	msgTokenKeyMismatch      = "Token claims do not match the API key it was issued to."
	msgTokenUserGone         = "The user this token acts as (id %d) no longer exists."
	msgTokenUserInactive     = "The user this token acts as (id %d) is deactivated."
	msgTokenOrganizationGone = "The organization of this token (id %d) no longer exists."
)

// Environment mismatch, at the token endpoint and in Authenticate. The
// template names the credential, where it came from, where it was used, and
// the fix:
//
//	This token was issued by environment "production"; this is sandbox "acme-erp-dev". Use this sandbox's credentials.
//	This token was issued by sandbox "acme-erp-dev"; this is environment "production". Use production credentials.
//	This client secret was issued by environment "production"; this is sandbox "acme-erp-dev". Use this sandbox's credentials.
//	This client secret was issued by a sandbox; this is environment "production". Use production credentials.
//	This client id was issued by sandbox "other"; this is sandbox "acme-erp-dev". Use this sandbox's credentials.
const (
	msgMismatch       = "This %s was issued by %s; this is %s. %s"
	fixAtProduction   = "Use production credentials."
	fixAtSandbox      = "Use this sandbox's credentials."
	credToken         = "token"
	credClientSecret  = "client secret"
	credClientID      = "client id"
	labelSomeSandbox  = "a sandbox"
	labelProductionFm = "environment %q"
	labelSandboxFm    = "sandbox %q"
)

// envLabel names an environment the way every message does:
// `environment "production"` or `sandbox "acme-erp-dev"`.
func envLabel(env ion.Environment) string {
	if env.Kind == ion.EnvProduction {
		return fmt.Sprintf(labelProductionFm, env.Name)
	}
	return fmt.Sprintf(labelSandboxFm, env.Name)
}

// mismatchError is the ENVIRONMENT_MISMATCH error for credential cred
// issued by fromLabel (see envLabel) and presented to environment here.
func mismatchError(cred, fromLabel string, here ion.Environment) *ion.Error {
	fix := fixAtSandbox
	if here.Kind == ion.EnvProduction {
		fix = fixAtProduction
	}
	return ion.Errorf(ion.EENVMISMATCH, msgMismatch, cred, fromLabel, envLabel(here), fix)
}

// quoteList formats an audience claim for a message.
func quoteList(values []string) string {
	if len(values) == 0 {
		return "(none)"
	}
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}
