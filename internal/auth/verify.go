package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ionbox/ionbox/ion"
)

// Header parameters that point at or carry a key. A verifier that followed
// them would let the token choose its own key; ionbox only ever uses its
// own published keys, so a token carrying one is rejected outright.
var keyReferenceHeaders = []string{"jku", "x5u", "x5c", "jwk"}

// Authenticate checks the request's access token and returns the actor it
// acts as. The token comes from the Authorization header as "Bearer <t>",
// "Token <t>" (scheme case-insensitive) or the bare "<t>" that ION's vendor
// scripts send. Errors are *ion.Error: UNAUTHENTICATED (missing or
// malformed), TOKEN_EXPIRED, ENVIRONMENT_MISMATCH (a token of another ionbox
// environment) or INVALID_TOKEN (anything else), except store failures.
func (i *Issuer) Authenticate(r *http.Request) (ion.Actor, error) {
	raw, err := i.tokenFromHeader(r.Header.Get("Authorization"))
	if err != nil {
		return ion.Actor{}, err
	}
	return i.AuthenticateToken(r.Context(), raw)
}

// tokenFromHeader takes the token out of an Authorization header value.
func (i *Issuer) tokenFromHeader(h string) (string, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return "", ion.Errorf(ion.EUNAUTHENTICATED, msgAuthMissing, i.TokenURL())
	}
	scheme, rest := h, ""
	if n := strings.IndexAny(h, " \t"); n >= 0 {
		scheme, rest = h[:n], strings.TrimSpace(h[n+1:])
	}
	switch {
	case strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "Token"):
		if rest == "" {
			return "", ion.Errorf(ion.EUNAUTHENTICATED, msgAuthEmpty, i.TokenURL())
		}
		return rest, nil
	case rest == "":
		// The bare token of ION's vendor scripts.
		return h, nil
	default:
		return "", ion.Errorf(ion.EUNAUTHENTICATED, msgAuthScheme, scheme, i.TokenURL())
	}
}

// AuthenticateToken is Authenticate for a token already taken out of its
// header.
func (i *Issuer) AuthenticateToken(ctx context.Context, raw string) (ion.Actor, error) {
	if raw == "" {
		return ion.Actor{}, ion.Errorf(ion.EUNAUTHENTICATED, msgAuthMissing, i.TokenURL())
	}
	now := i.svc.cfg.Now()
	sum := sha256.Sum256([]byte(raw))
	v, ok := i.cache.get(sum, now)
	if !ok {
		var err error
		if v, err = i.verify(ctx, raw, now); err != nil {
			return ion.Actor{}, err
		}
	}
	// Always re-read the key, user and organization, even for a cached
	// token: disabling a key or deactivating a user takes effect at once.
	actor, err := i.principal(ctx, v)
	if err != nil {
		return ion.Actor{}, err
	}
	if !ok {
		i.cache.put(sum, v, now)
	}
	return actor, nil
}

// verifiedToken is what a verified token says, all that is needed to
// resolve its actor.
type verifiedToken struct {
	expiresAt time.Time
	clientID  string
	orgID     ion.ID
	userID    ion.ID
}

// compactToken is a JWS compact serialization split into its parts, with
// the header and payload decoded but nothing verified.
type compactToken struct {
	raw     string
	header  map[string]json.RawMessage
	payload map[string]json.RawMessage
}

// stringParam returns a string member of a header or payload; ok is false
// when it is absent, and s is "" when it is not a string.
func stringParam(m map[string]json.RawMessage, name string) (s string, ok bool) {
	v, ok := m[name]
	if !ok {
		return "", false
	}
	_ = json.Unmarshal(v, &s)
	return s, true
}

// splitToken decodes a token's header and payload. Its errors are
// UNAUTHENTICATED: the credential is not a JWT at all.
func (i *Issuer) splitToken(raw string) (compactToken, error) {
	malformed := func(detail string) error {
		return ion.Errorf(ion.EUNAUTHENTICATED, msgAuthMalformed, detail, i.TokenURL())
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return compactToken{}, malformed(detailSegments)
	}
	t := compactToken{raw: raw}
	if b, err := base64.RawURLEncoding.DecodeString(parts[0]); err != nil || json.Unmarshal(b, &t.header) != nil || t.header == nil {
		return compactToken{}, malformed(detailHeader)
	}
	if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err != nil || json.Unmarshal(b, &t.payload) != nil || t.payload == nil {
		return compactToken{}, malformed(detailPayload)
	}
	return t, nil
}

// checkHeader enforces the shape of ionbox's own tokens before any
// cryptography runs: ES256 only, no key references, typ at+jwt, a kid.
func (i *Issuer) checkHeader(t compactToken) (kid string, err error) {
	if alg, _ := stringParam(t.header, "alg"); alg != string(signingAlgorithm) {
		return "", ion.Errorf(ion.EINVALIDTOKEN, msgTokenAlgorithm, alg)
	}
	for _, name := range keyReferenceHeaders {
		if _, ok := t.header[name]; ok {
			return "", ion.Errorf(ion.EINVALIDTOKEN, msgTokenKeyHeader, name, i.JWKSURL())
		}
	}
	if _, ok := t.header["crit"]; ok {
		return "", ion.Errorf(ion.EINVALIDTOKEN, msgTokenCrit)
	}
	// RFC 9068 §4: "at+jwt"; media type names compare case-insensitively
	// and may carry the "application/" prefix (RFC 7515 §4.1.9).
	typ, _ := stringParam(t.header, "typ")
	if lt := strings.ToLower(typ); lt != tokenType && lt != "application/"+tokenType {
		return "", ion.Errorf(ion.EINVALIDTOKEN, msgTokenType, typ)
	}
	kid, _ = stringParam(t.header, "kid")
	if kid == "" {
		return "", ion.Errorf(ion.EINVALIDTOKEN, msgTokenNoKID, i.JWKSURL())
	}
	return kid, nil
}

// verify checks a token completely, except for the live state of its key
// and user (see principal).
func (i *Issuer) verify(ctx context.Context, raw string, now time.Time) (verifiedToken, error) {
	t, err := i.splitToken(raw)
	if err != nil {
		return verifiedToken{}, err
	}
	kid, err := i.checkHeader(t)
	if err != nil {
		return verifiedToken{}, err
	}
	if iss, _ := stringParam(t.payload, "iss"); iss != i.issuerURL {
		return verifiedToken{}, i.foreignToken(ctx, t, iss, kid)
	}
	key, ok := i.verificationKey(ctx, kid)
	if !ok {
		return verifiedToken{}, ion.Errorf(ion.EINVALIDTOKEN, msgTokenUnknownKID, kid, i.JWKSURL())
	}
	payload, ok := verifiedPayload(raw, key)
	if !ok {
		return verifiedToken{}, ion.Errorf(ion.EINVALIDTOKEN, msgTokenSignature)
	}
	var c accessClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return verifiedToken{}, ion.Errorf(ion.EINVALIDTOKEN, msgTokenClaims)
	}
	return i.checkClaims(c, now)
}

// checkClaims checks the claims of a token whose signature verified.
func (i *Issuer) checkClaims(c accessClaims, now time.Time) (verifiedToken, error) {
	skew := i.svc.cfg.ClockSkew
	switch {
	case c.Issuer != i.issuerURL:
		return verifiedToken{}, ion.Errorf(ion.EINVALIDTOKEN, msgTokenIssuer, c.Issuer, i.issuerURL)
	case !c.Audience.Contains(i.baseURL):
		return verifiedToken{}, ion.Errorf(ion.EINVALIDTOKEN, msgTokenAudience, quoteList(c.Audience), i.baseURL)
	case c.Expiry == nil:
		return verifiedToken{}, ion.Errorf(ion.EINVALIDTOKEN, msgTokenNoClaim, "exp")
	case !now.Before(c.Expiry.Time()):
		// No leeway: ionbox is both issuer and verifier, on one clock.
		return verifiedToken{}, ion.Errorf(ion.ETOKENEXPIRED, msgTokenExpired)
	case c.IssuedAt == nil:
		return verifiedToken{}, ion.Errorf(ion.EINVALIDTOKEN, msgTokenNoClaim, "iat")
	case c.IssuedAt.Time().After(now.Add(skew)):
		return verifiedToken{}, ion.Errorf(ion.EINVALIDTOKEN, msgTokenFutureIAT)
	case c.NotBefore != nil && c.NotBefore.Time().After(now.Add(skew)):
		return verifiedToken{}, ion.Errorf(ion.EINVALIDTOKEN, msgTokenFutureNBF)
	case c.Env != i.env.Name:
		return verifiedToken{}, ion.Errorf(ion.EINVALIDTOKEN, msgTokenEnvClaim, c.Env, i.env.Name)
	case c.ClientID == "":
		return verifiedToken{}, ion.Errorf(ion.EINVALIDTOKEN, msgTokenNoClaim, "client_id")
	case c.OrgID == nil:
		return verifiedToken{}, ion.Errorf(ion.EINVALIDTOKEN, msgTokenNoClaim, "org_id")
	case c.ID == "":
		return verifiedToken{}, ion.Errorf(ion.EINVALIDTOKEN, msgTokenNoClaim, "jti")
	}
	userID, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil {
		return verifiedToken{}, ion.Errorf(ion.EINVALIDTOKEN, msgTokenNoClaim, "sub")
	}
	return verifiedToken{
		expiresAt: c.Expiry.Time(),
		clientID:  c.ClientID,
		orgID:     *c.OrgID,
		userID:    userID,
	}, nil
}

// foreignToken explains a token whose issuer is not this environment's.
// If another ionbox environment really signed it, the answer is
// ENVIRONMENT_MISMATCH naming both environments; a token that only claims
// to come from one, or from an issuer nobody here knows, is INVALID_TOKEN.
func (i *Issuer) foreignToken(ctx context.Context, t compactToken, iss, kid string) error {
	unknown := ion.Errorf(ion.EINVALIDTOKEN, msgTokenIssuer, iss, i.issuerURL)
	if other, ok := i.svc.issuerByURL(iss); ok && other != i {
		key, ok := other.verificationKey(ctx, kid)
		if !ok || !signatureVerifies(t.raw, key) {
			return ion.Errorf(ion.EINVALIDTOKEN, msgTokenSignature)
		}
		return mismatchError(credToken, envLabel(other.env), i.env)
	}
	// The issuer of another environment may not be loaded yet (issuers
	// are created on first use, so after a restart). Its signing keys are
	// in the store under the environment the token names.
	envName, _ := stringParam(t.payload, "env")
	if envName == "" || envName == i.env.Name {
		return unknown
	}
	env, err := i.svc.cfg.Control.Environment(ctx, envName)
	if err != nil {
		return unknown
	}
	stored, err := i.svc.cfg.Control.SigningKeys(ctx, envName)
	if err != nil {
		return unknown
	}
	keys, err := i.svc.parseSigningKeys(stored)
	if err != nil {
		return unknown
	}
	for _, k := range keys {
		if k.kid == kid && signatureVerifies(t.raw, k) {
			return mismatchError(credToken, envLabel(env), i.env)
		}
	}
	return unknown
}

// verifiedPayload returns the payload of raw if it is an ES256 JWS signed
// by k. Any failure, whatever go-jose calls it, is a bad signature.
func verifiedPayload(raw string, k signingKey) ([]byte, bool) {
	sig, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{signingAlgorithm})
	if err != nil {
		return nil, false
	}
	payload, err := sig.Verify(&k.private.PublicKey)
	if err != nil {
		return nil, false
	}
	return payload, true
}

// signatureVerifies reports whether raw is an ES256 JWS signed by k.
func signatureVerifies(raw string, k signingKey) bool {
	_, ok := verifiedPayload(raw, k)
	return ok
}

// readPrincipal reads the API key with clientID, user userID of
// organization orgID and organization orgID: in one go if the control
// store can (ion.PrincipalReader), else one after another.
func (s *Service) readPrincipal(ctx context.Context, clientID string, orgID, userID ion.ID) ion.Principal {
	control := s.cfg.Control
	if r, ok := control.(ion.PrincipalReader); ok {
		return r.Principal(ctx, clientID, orgID, userID)
	}
	var p ion.Principal
	p.Key, p.KeyErr = control.APIKeyByClientID(ctx, clientID)
	p.User, p.UserErr = control.User(ctx, orgID, userID)
	p.Organization, p.OrganizationErr = control.Organization(ctx, orgID)
	return p
}

// principal resolves a verified token to its actor from the live state of
// its API key, user and organization.
func (i *Issuer) principal(ctx context.Context, v verifiedToken) (ion.Actor, error) {
	p := i.svc.readPrincipal(ctx, v.clientID, v.orgID, v.userID)
	key, err := p.Key, p.KeyErr
	switch {
	case ion.ErrorCode(err) == ion.ENOTFOUND:
		return ion.Actor{}, ion.Errorf(ion.EINVALIDTOKEN, msgTokenKeyGone, v.clientID)
	case err != nil:
		return ion.Actor{}, fmt.Errorf("auth: looking up API key %q: %w", v.clientID, err)
	case key.Environment != i.env.Name || key.OrganizationID != v.orgID || key.UserID != v.userID:
		return ion.Actor{}, ion.Errorf(ion.EINVALIDTOKEN, msgTokenKeyMismatch)
	case !key.Enabled:
		return ion.Actor{}, ion.Errorf(ion.EINVALIDTOKEN, msgTokenKeyDisabled, v.clientID)
	}
	user, err := p.User, p.UserErr
	switch {
	case ion.ErrorCode(err) == ion.ENOTFOUND:
		return ion.Actor{}, ion.Errorf(ion.EINVALIDTOKEN, msgTokenUserGone, v.userID)
	case err != nil:
		return ion.Actor{}, fmt.Errorf("auth: looking up user %d: %w", v.userID, err)
	case !user.Active:
		return ion.Actor{}, ion.Errorf(ion.EINVALIDTOKEN, msgTokenUserInactive, v.userID)
	}
	org, err := p.Organization, p.OrganizationErr
	switch {
	case ion.ErrorCode(err) == ion.ENOTFOUND:
		return ion.Actor{}, ion.Errorf(ion.EINVALIDTOKEN, msgTokenOrganizationGone, v.orgID)
	case err != nil:
		return ion.Actor{}, fmt.Errorf("auth: looking up organization %d: %w", v.orgID, err)
	}
	return ion.Actor{Environment: i.env.Name, Organization: org, User: user, ClientID: key.ClientID}, nil
}
