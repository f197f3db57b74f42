package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/ionbox/ionbox/ion"
)

// Paths relative to an environment's base URL.
const (
	realmPath         = "/realms/api-keys"
	tokenPathSuffix   = "/protocol/openid-connect/token"
	certsPathSuffix   = "/protocol/openid-connect/certs"
	discoveryPathPart = "/.well-known/openid-configuration"
)

// Token details.
const (
	signingAlgorithm = jose.ES256
	tokenType        = "at+jwt" // RFC 9068 §2.1
	tokenScope       = "openid"
)

// How often an issuer re-reads its signing keys from the store, so that a
// rotation made by another replica is seen: before signing, at most every
// keyRefreshInterval; on a token with an unknown kid, at most every
// unknownKIDRefreshInterval (so that junk kids cannot hammer the store).
const (
	keyRefreshInterval        = time.Minute
	unknownKIDRefreshInterval = 5 * time.Second
)

// Issuer is one environment's OAuth authorization server: it issues access
// tokens for the environment's API keys, publishes its keys, and
// authenticates requests. Get one from Service.Issuer. It is safe for
// concurrent use.
type Issuer struct {
	svc       *Service
	env       ion.Environment
	baseURL   string // the API base and the tokens' audience
	issuerURL string

	keysMu         sync.RWMutex
	keys           []signingKey // newest first, including retired ones still published
	keysLoadedAt   time.Time
	unknownKIDSeen time.Time // last reload caused by an unknown kid

	rotateMu sync.Mutex
	cache    *tokenCache
	handler  http.Handler
}

// signingKey is a parsed ion.SigningKey.
type signingKey struct {
	kid       string
	private   *ecdsa.PrivateKey
	createdAt time.Time
	retiredAt *time.Time
}

// publishedAt reports whether tokens signed with k may still be valid at
// now: it is current, or retired less than one token lifetime ago.
func (k signingKey) publishedAt(now time.Time, ttl time.Duration) bool {
	return k.retiredAt == nil || now.Before(k.retiredAt.Add(ttl))
}

func newIssuer(s *Service, env ion.Environment, base string) *Issuer {
	i := &Issuer{
		svc:       s,
		env:       env,
		baseURL:   base,
		issuerURL: base + realmPath,
		cache:     newTokenCache(s.cfg.TokenCacheSize),
	}
	i.handler = i.routes()
	return i
}

// Environment returns the environment this issuer serves.
func (i *Issuer) Environment() ion.Environment { return i.env }

// BaseURL returns the environment's API base, the audience of its tokens.
func (i *Issuer) BaseURL() string { return i.baseURL }

// IssuerURL returns the issuer URL: BaseURL + "/realms/api-keys".
func (i *Issuer) IssuerURL() string { return i.issuerURL }

// TokenURL returns the token endpoint.
func (i *Issuer) TokenURL() string { return i.issuerURL + tokenPathSuffix }

// JWKSURL returns where the issuer's public keys are published.
func (i *Issuer) JWKSURL() string { return i.issuerURL + certsPathSuffix }

// Token is an issued access token.
type Token struct {
	AccessToken string
	ExpiresIn   int // seconds
	ExpiresAt   time.Time
}

// accessClaims are the claims of an access token (RFC 9068 §2.2 plus ION's
// org_id and env).
type accessClaims struct {
	Issuer    string           `json:"iss"`
	Audience  jwt.Audience     `json:"aud"`
	Subject   string           `json:"sub"`
	ClientID  string           `json:"client_id"`
	OrgID     *int64           `json:"org_id"`
	Env       string           `json:"env"`
	Expiry    *jwt.NumericDate `json:"exp"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	NotBefore *jwt.NumericDate `json:"nbf,omitempty"`
	ID        string           `json:"jti"`
	Scope     string           `json:"scope,omitempty"`
}

// ClientCredentialsToken checks a client id and secret and issues an access
// token for the key's user. Errors are *ion.Error: UNAUTHENTICATED with
// Keycloak's "Invalid client or Invalid client credentials" for unknown,
// wrong, disabled or deactivated credentials, and ENVIRONMENT_MISMATCH for
// credentials of another environment. The token endpoint answers both with
// 401 unauthorized_client and the error's message.
func (i *Issuer) ClientCredentialsToken(ctx context.Context, clientID, clientSecret string) (Token, error) {
	invalid := ion.Errorf(ion.EUNAUTHENTICATED, msgInvalidClient)
	control := i.svc.cfg.Control

	key, err := control.APIKeyByClientID(ctx, clientID)
	found := err == nil
	if err != nil && ion.ErrorCode(err) != ion.ENOTFOUND {
		return Token{}, fmt.Errorf("auth: looking up client %q: %w", clientID, err)
	}

	// A secret of the other kind is surely from another environment. The
	// check comes before anything that tells a right secret from a wrong
	// one, so it reveals nothing about this environment's keys.
	if otherKind, ok := i.otherKindPrefix(clientSecret); ok {
		from := labelSomeSandbox
		if otherKind == ion.EnvProduction {
			from = fmt.Sprintf(labelProductionFm, ion.ProductionEnvironment)
		}
		if found && key.Environment != i.env.Name {
			if e, err := i.svc.environment(ctx, key.Environment); err == nil && e.Kind == otherKind {
				from = envLabel(e)
			}
		}
		return Token{}, mismatchError(credClientSecret, from, i.env)
	}
	if !found {
		// Spend the same hashing work as for a known client, so that
		// timing does not tell which client ids exist.
		_ = i.svc.secretMatches(clientSecret, nil)
		return Token{}, invalid
	}
	if key.Environment != i.env.Name {
		// Client ids are random UUIDs, so naming the environment of one
		// that someone already holds leaks nothing guessable, and it is
		// the most useful answer to the commonest mistake.
		return Token{}, mismatchError(credClientID, i.svc.labelOf(ctx, key.Environment), i.env)
	}
	if !i.svc.secretMatches(clientSecret, key.SecretHash) || !key.Enabled {
		return Token{}, invalid
	}
	user, err := control.User(ctx, key.OrganizationID, key.UserID)
	switch {
	case ion.ErrorCode(err) == ion.ENOTFOUND:
		return Token{}, invalid
	case err != nil:
		return Token{}, fmt.Errorf("auth: looking up user %d: %w", key.UserID, err)
	case !user.Active:
		return Token{}, invalid
	}
	return i.issue(ctx, key)
}

// otherKindPrefix reports whether secret carries the prefix of the other
// environment kind, and which kind that is.
func (i *Issuer) otherKindPrefix(secret string) (string, bool) {
	switch {
	case i.env.Kind == ion.EnvSandbox && strings.HasPrefix(secret, SecretPrefixProduction):
		return ion.EnvProduction, true
	case i.env.Kind == ion.EnvProduction && strings.HasPrefix(secret, SecretPrefixSandbox):
		return ion.EnvSandbox, true
	}
	return "", false
}

// issue signs an access token for key.
func (i *Issuer) issue(ctx context.Context, key ion.APIKey) (Token, error) {
	sk, err := i.currentSigningKey(ctx)
	if err != nil {
		return Token{}, err
	}
	now := i.svc.cfg.Now()
	exp := now.Add(i.svc.cfg.TokenTTL)
	orgID := key.OrganizationID
	claims := accessClaims{
		Issuer:    i.issuerURL,
		Audience:  jwt.Audience{i.baseURL},
		Subject:   strconv.FormatInt(key.UserID, 10),
		ClientID:  key.ClientID,
		OrgID:     &orgID,
		Env:       i.env.Name,
		Expiry:    jwt.NewNumericDate(exp),
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ID:        uuid.NewString(),
		Scope:     tokenScope,
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: signingAlgorithm, Key: jose.JSONWebKey{Key: sk.private, KeyID: sk.kid, Algorithm: string(signingAlgorithm)}},
		(&jose.SignerOptions{}).WithType(tokenType),
	)
	if err != nil {
		return Token{}, fmt.Errorf("auth: signer: %w", err)
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return Token{}, fmt.Errorf("auth: signing token: %w", err)
	}
	return Token{
		AccessToken: raw,
		ExpiresIn:   int(i.svc.cfg.TokenTTL / time.Second),
		ExpiresAt:   claims.Expiry.Time(),
	}, nil
}

// currentSigningKey returns the key new tokens are signed with: a key that
// is not retired.
func (i *Issuer) currentSigningKey(ctx context.Context) (signingKey, error) {
	now := i.svc.cfg.Now()
	i.keysMu.RLock()
	stale := now.Sub(i.keysLoadedAt) >= keyRefreshInterval
	k, ok := i.unretiredKeyLocked()
	i.keysMu.RUnlock()
	if ok && !stale {
		return k, nil
	}
	if err := i.reloadKeys(ctx, true); err != nil {
		if ok {
			// The store is unavailable but the key we have is good.
			return k, nil
		}
		return signingKey{}, err
	}
	i.keysMu.RLock()
	defer i.keysMu.RUnlock()
	if k, ok := i.unretiredKeyLocked(); ok {
		return k, nil
	}
	return signingKey{}, fmt.Errorf("auth: %s has no current signing key", envLabel(i.env))
}

func (i *Issuer) unretiredKeyLocked() (signingKey, bool) {
	for _, k := range i.keys {
		if k.retiredAt == nil {
			return k, true
		}
	}
	return signingKey{}, false
}

// verificationKey returns the published key kid, re-reading the store (at
// most every unknownKIDRefreshInterval) when it is not known, since another
// replica may have rotated.
func (i *Issuer) verificationKey(ctx context.Context, kid string) (signingKey, bool) {
	now := i.svc.cfg.Now()
	if k, ok := i.publishedKey(kid, now); ok {
		return k, true
	}
	i.keysMu.Lock()
	due := i.unknownKIDSeen.IsZero() || now.Sub(i.unknownKIDSeen) >= unknownKIDRefreshInterval
	if due {
		i.unknownKIDSeen = now
	}
	i.keysMu.Unlock()
	if !due {
		return signingKey{}, false
	}
	if err := i.reloadKeys(ctx, false); err != nil {
		i.svc.cfg.Logger.Error("auth: reloading signing keys", "environment", i.env.Name, "err", err)
		return signingKey{}, false
	}
	return i.publishedKey(kid, now)
}

func (i *Issuer) publishedKey(kid string, now time.Time) (signingKey, bool) {
	i.keysMu.RLock()
	defer i.keysMu.RUnlock()
	for _, k := range i.keys {
		if k.kid == kid && k.publishedAt(now, i.svc.cfg.TokenTTL) {
			return k, true
		}
	}
	return signingKey{}, false
}

// publishedKeys returns the keys of the JWKS: every key tokens signed with
// may still be valid.
func (i *Issuer) publishedKeys() []signingKey {
	now := i.svc.cfg.Now()
	i.keysMu.RLock()
	defer i.keysMu.RUnlock()
	var out []signingKey
	for _, k := range i.keys {
		if k.publishedAt(now, i.svc.cfg.TokenTTL) {
			out = append(out, k)
		}
	}
	return out
}

// RotateSigningKey adds a new signing key and retires the current one(s).
// New tokens are signed with the new key at once; tokens signed with a
// retired key keep verifying, and the key stays in the JWKS, until it was
// retired one token lifetime ago.
func (i *Issuer) RotateSigningKey(ctx context.Context) error {
	i.rotateMu.Lock()
	defer i.rotateMu.Unlock()
	// Read the store, not our copy: another replica may have rotated.
	stored, err := i.svc.cfg.Control.SigningKeys(ctx, i.env.Name)
	if err != nil {
		return fmt.Errorf("auth: rotate signing key of %s: %w", envLabel(i.env), err)
	}
	// Add before retiring, so that there is always a key to sign with.
	fresh, err := i.addSigningKey(ctx)
	if err != nil {
		return fmt.Errorf("auth: rotate signing key of %s: %w", envLabel(i.env), err)
	}
	now := i.svc.cfg.Now()
	for _, k := range stored {
		if k.RetiredAt == nil && k.KID != fresh {
			if err := i.svc.cfg.Control.RetireSigningKey(ctx, i.env.Name, k.KID, now); err != nil {
				return fmt.Errorf("auth: retire signing key %q of %s: %w", k.KID, envLabel(i.env), err)
			}
		}
	}
	// Cached verifications stay valid: a retired key verifies as long as
	// any token it signed can live.
	return i.reloadKeys(ctx, false)
}

// CreateSigningKey stores a new signing key for environment env, which the
// caller has just made (sandbox provisioning, in its control transaction),
// so that the first token its issuer signs does not wait for a key to be
// made and stored. It does not look for a key already stored: a new
// environment has none, and the look would cost provisioning a round trip.
func (s *Service) CreateSigningKey(ctx context.Context, env string) error {
	_, err := s.addSigningKey(ctx, env)
	if err != nil {
		return fmt.Errorf("auth: signing key of %q: %w", env, err)
	}
	return nil
}

// reloadKeys reads the environment's signing keys from the store; with
// create, it adds one when none is current.
func (i *Issuer) reloadKeys(ctx context.Context, create bool) error {
	stored, err := i.svc.cfg.Control.SigningKeys(ctx, i.env.Name)
	if err != nil {
		return err
	}
	keys, err := i.svc.parseSigningKeys(stored)
	if err != nil {
		return err
	}
	if create && !slices.ContainsFunc(keys, func(k signingKey) bool { return k.retiredAt == nil }) {
		if _, err := i.addSigningKey(ctx); err != nil {
			return err
		}
		return i.reloadKeys(ctx, false)
	}
	i.keysMu.Lock()
	defer i.keysMu.Unlock()
	i.keys = keys
	i.keysLoadedAt = i.svc.cfg.Now()
	return nil
}

// addSigningKey makes and stores a new ES256 key and returns its kid.
func (i *Issuer) addSigningKey(ctx context.Context) (string, error) {
	return i.svc.addSigningKey(ctx, i.env.Name)
}

// addSigningKey makes and stores a new ES256 key of environment env and
// returns its kid.
func (s *Service) addSigningKey(ctx context.Context, env string) (string, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", fmt.Errorf("generating signing key: %w", err)
	}
	var id [12]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", fmt.Errorf("generating key id: %w", err)
	}
	kid := base64.RawURLEncoding.EncodeToString(id[:])
	jwk, err := json.Marshal(jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(signingAlgorithm), Use: "sig"})
	if err != nil {
		return "", fmt.Errorf("encoding signing key: %w", err)
	}
	if jwk, err = s.sealKey(kid, jwk); err != nil {
		return "", err
	}
	err = s.cfg.Control.AddSigningKey(ctx, ion.SigningKey{
		KID:         kid,
		Environment: env,
		Algorithm:   string(signingAlgorithm),
		PrivateJWK:  jwk,
		CreatedAt:   s.cfg.Now(),
	})
	if err != nil {
		return "", fmt.Errorf("storing signing key: %w", err)
	}
	return kid, nil
}

// parseSigningKeys opens and decodes stored keys, newest first.
func (s *Service) parseSigningKeys(stored []ion.SigningKey) ([]signingKey, error) {
	keys := make([]signingKey, 0, len(stored))
	for _, k := range stored {
		if k.Algorithm != string(signingAlgorithm) {
			return nil, fmt.Errorf("signing key %q has algorithm %q; only %s is supported", k.KID, k.Algorithm, signingAlgorithm)
		}
		plain, err := s.openKey(k.KID, k.PrivateJWK)
		if err != nil {
			return nil, err
		}
		var jwk jose.JSONWebKey
		if err := json.Unmarshal(plain, &jwk); err != nil {
			return nil, fmt.Errorf("signing key %q: %w", k.KID, err)
		}
		priv, ok := jwk.Key.(*ecdsa.PrivateKey)
		if !ok || priv.Curve != elliptic.P256() {
			return nil, fmt.Errorf("signing key %q is not a P-256 private key", k.KID)
		}
		keys = append(keys, signingKey{kid: k.KID, private: priv, createdAt: k.CreatedAt, retiredAt: k.RetiredAt})
	}
	slices.SortStableFunc(keys, func(a, b signingKey) int { return b.createdAt.Compare(a.createdAt) })
	return keys, nil
}
