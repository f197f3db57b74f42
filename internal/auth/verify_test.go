package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ionbox/ionbox/ion"
)

func TestAuthenticateRejectsHostileTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := b.newAccount(t, ion.ProductionEnvironment)
	now := b.clock.Now()
	real := b.token(t, b.prod, a)
	ours := currentKey(t, b.prod)
	kid := ours.kid
	claims := goodClaims(b.prod, a, now)
	header := goodHeader(kid)

	attacker, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&ours.private.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	pubJWK, err := json.Marshal(jose.JSONWebKey{Key: &ours.private.PublicKey, KeyID: kid, Algorithm: "ES256", Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	attackerJWK := map[string]any{}
	if b, err := json.Marshal(jose.JSONWebKey{Key: &attacker.PublicKey}); err == nil {
		_ = json.Unmarshal(b, &attackerJWK)
	}
	rsaSigned := func() string {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: rsaKey, KeyID: kid}},
			(&jose.SignerOptions{}).WithType("at+jwt"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := jwt.Signed(signer).Claims(claims).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()
	embeddedJWK := func() string {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: attacker},
			(&jose.SignerOptions{EmbedJWK: true}).WithType("at+jwt"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := jwt.Signed(signer).Claims(claims).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()
	parts := strings.Split(real, ".")
	var realClaims map[string]any
	if err := json.Unmarshal(mustB64Decode(t, parts[1]), &realClaims); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		token    string
		wantCode string
		wantMsg  string
	}{
		{"control: a correctly signed token", signES256(t, ours.private, header, claims), "", ""},
		{"control: typ application/at+jwt", signES256(t, ours.private, with(header, "typ", "application/at+JWT"), claims), "", ""},
		{"control: iat 30s ahead, within the skew", signES256(t, ours.private, header, with(claims, "iat", now.Add(30*time.Second).Unix())), "", ""},

		{"alg none, no signature", b64JSON(t, with(header, "alg", "none")) + "." + b64JSON(t, claims) + ".", ion.EINVALIDTOKEN,
			`Token algorithm "none" is not accepted. Access tokens are signed with ES256.`},
		{"alg None, no signature", b64JSON(t, with(header, "alg", "None")) + "." + b64JSON(t, claims) + ".", ion.EINVALIDTOKEN, ""},
		{"no alg", signES256(t, ours.private, with(header, "alg", nil), claims), ion.EINVALIDTOKEN,
			`Token algorithm "" is not accepted. Access tokens are signed with ES256.`},
		{"HS256 keyed with the public key PEM", signHS256(t, pubPEM, with(header, "alg", "HS256"), claims), ion.EINVALIDTOKEN,
			`Token algorithm "HS256" is not accepted. Access tokens are signed with ES256.`},
		{"HS256 keyed with the public JWK", signHS256(t, pubJWK, with(header, "alg", "HS256"), claims), ion.EINVALIDTOKEN, ""},
		{"HS256 keyed with the raw public point", signHS256(t, elliptic.MarshalCompressed(elliptic.P256(), ours.private.X, ours.private.Y), with(header, "alg", "HS256"), claims), ion.EINVALIDTOKEN, ""},
		{"HS512 with a guessed secret", signHS256(t, []byte("secret"), with(header, "alg", "HS512"), claims), ion.EINVALIDTOKEN, ""},
		{"RS256 with the attacker's key and our kid", rsaSigned, ion.EINVALIDTOKEN,
			`Token algorithm "RS256" is not accepted. Access tokens are signed with ES256.`},
		{"ES256 by the attacker under our kid", signES256(t, attacker, header, claims), ion.EINVALIDTOKEN, "Token signature is invalid."},
		{"ES256 by the attacker under an unknown kid", signES256(t, attacker, with(header, "kid", "attacker-key"), claims), ion.EINVALIDTOKEN,
			`Token key id "attacker-key" is not a signing key of this environment. Its keys are at ` + b.prod.JWKSURL() + "."},
		{"no kid", signES256(t, ours.private, with(header, "kid", nil), claims), ion.EINVALIDTOKEN,
			"Token has no key id (kid). Access tokens name one of the signing keys at " + b.prod.JWKSURL() + "."},
		{"jku pointing at the attacker", signES256(t, attacker, with(header, "jku", "https://evil.example/jwks.json"), claims), ion.EINVALIDTOKEN,
			`Token header "jku" is not accepted. Signing keys are published only at ` + b.prod.JWKSURL() + "."},
		{"jku even with our own signature", signES256(t, ours.private, with(header, "jku", b.prod.JWKSURL()), claims), ion.EINVALIDTOKEN, ""},
		{"x5u", signES256(t, attacker, with(header, "x5u", "https://evil.example/cert.pem"), claims), ion.EINVALIDTOKEN,
			`Token header "x5u" is not accepted. Signing keys are published only at ` + b.prod.JWKSURL() + "."},
		{"x5c", signES256(t, attacker, with(header, "x5c", []string{"MIIB"}), claims), ion.EINVALIDTOKEN,
			`Token header "x5c" is not accepted. Signing keys are published only at ` + b.prod.JWKSURL() + "."},
		{"embedded jwk, hand-made", signES256(t, attacker, with(header, "jwk", attackerJWK), claims), ion.EINVALIDTOKEN,
			`Token header "jwk" is not accepted. Signing keys are published only at ` + b.prod.JWKSURL() + "."},
		{"embedded jwk, by go-jose", embeddedJWK, ion.EINVALIDTOKEN, ""},
		{"crit", signES256(t, ours.private, with(header, "crit", []string{"b64"}, "b64", false), claims), ion.EINVALIDTOKEN,
			`Token header "crit" is not accepted. Access tokens use no critical extensions.`},
		{"typ JWT", signES256(t, ours.private, with(header, "typ", "JWT"), claims), ion.EINVALIDTOKEN,
			`Token type "JWT" is not accepted. Access tokens have typ "at+jwt".`},
		{"no typ", signES256(t, ours.private, with(header, "typ", nil), claims), ion.EINVALIDTOKEN,
			`Token type "" is not accepted. Access tokens have typ "at+jwt".`},
		{"unknown issuer", signES256(t, ours.private, header, with(claims, "iss", "https://auth.evil.example/realms/api-keys")), ion.EINVALIDTOKEN,
			`Token issuer "https://auth.evil.example/realms/api-keys" is not this environment's issuer "` + b.prod.IssuerURL() + `".`},
		{"no issuer", signES256(t, ours.private, header, with(claims, "iss", nil)), ion.EINVALIDTOKEN, ""},
		{"wrong audience", signES256(t, ours.private, header, with(claims, "aud", "https://api.buildwithion.com")), ion.EINVALIDTOKEN,
			`Token audience "https://api.buildwithion.com" does not include this environment's API "` + b.prodBase() + `".`},
		{"the sandbox's audience with production's issuer", signES256(t, ours.private, header, with(claims, "aud", b.sbxBase())), ion.EINVALIDTOKEN,
			`Token audience "` + b.sbxBase() + `" does not include this environment's API "` + b.prodBase() + `".`},
		{"no audience", signES256(t, ours.private, header, with(claims, "aud", nil)), ion.EINVALIDTOKEN,
			`Token audience (none) does not include this environment's API "` + b.prodBase() + `".`},
		{"audience list without ours", signES256(t, ours.private, header, with(claims, "aud", []string{"a", "b"})), ion.EINVALIDTOKEN, ""},
		{"no exp", signES256(t, ours.private, header, with(claims, "exp", nil)), ion.EINVALIDTOKEN, `Token has no "exp" claim.`},
		{"exp in the past", signES256(t, ours.private, header, with(claims, "exp", now.Add(-time.Second).Unix())), ion.ETOKENEXPIRED, "Token is expired."},
		{"exp now", signES256(t, ours.private, header, with(claims, "exp", now.Unix())), ion.ETOKENEXPIRED, "Token is expired."},
		{"iat 2 minutes ahead", signES256(t, ours.private, header, with(claims, "iat", now.Add(2*time.Minute).Unix())), ion.EINVALIDTOKEN,
			"Token issue time (iat) is in the future."},
		{"nbf 2 minutes ahead", signES256(t, ours.private, header, with(claims, "nbf", now.Add(2*time.Minute).Unix())), ion.EINVALIDTOKEN,
			"Token is not valid yet (nbf is in the future)."},
		{"no iat", signES256(t, ours.private, header, with(claims, "iat", nil)), ion.EINVALIDTOKEN, `Token has no "iat" claim.`},
		{"no client_id", signES256(t, ours.private, header, with(claims, "client_id", nil)), ion.EINVALIDTOKEN, `Token has no "client_id" claim.`},
		{"no jti", signES256(t, ours.private, header, with(claims, "jti", nil)), ion.EINVALIDTOKEN, `Token has no "jti" claim.`},
		{"org_id as a string", signES256(t, ours.private, header, with(claims, "org_id", "1")), ion.EINVALIDTOKEN,
			"Token claims are not well-formed JSON of the expected types."},
		{"env claim of another environment", signES256(t, ours.private, header, with(claims, "env", sandboxName)), ion.EINVALIDTOKEN,
			`Token env claim "acme-erp-dev" does not match its issuer's environment "production".`},
		{"client id of no key", signES256(t, ours.private, header, with(claims, "client_id", "9d5aeee2-da60-45ad-ab00-3e50a9ee32ff")), ion.EINVALIDTOKEN,
			"The API key this token was issued to (client id 9d5aeee2-da60-45ad-ab00-3e50a9ee32ff) no longer exists. Create a new API key and get a new token."},
		{"sub of another user", signES256(t, ours.private, header, with(claims, "sub", "999999")), ion.EINVALIDTOKEN,
			"Token claims do not match the API key it was issued to."},
		{"tampered payload: org_id changed", parts[0] + "." + b64JSON(t, with(realClaims, "org_id", a.org.ID+1)) + "." + parts[2], ion.EINVALIDTOKEN,
			"Token signature is invalid."},
		{"tampered payload: exp extended", parts[0] + "." + b64JSON(t, with(realClaims, "exp", now.Add(24*time.Hour).Unix())) + "." + parts[2], ion.EINVALIDTOKEN,
			"Token signature is invalid."},
		{"truncated signature", real[:len(real)-8], ion.EINVALIDTOKEN, "Token signature is invalid."},
		{"signature cut by one character", real[:len(real)-1], ion.EINVALIDTOKEN, "Token signature is invalid."},
		{"signature removed", parts[0] + "." + parts[1] + ".", ion.EINVALIDTOKEN, "Token signature is invalid."},
		{"signature of another token", parts[0] + "." + parts[1] + "." + strings.Split(b.token(t, b.prod, a), ".")[2], ion.EINVALIDTOKEN,
			"Token signature is invalid."},
		{"not a JWT", "hunter2", ion.EUNAUTHENTICATED,
			`Authorization header does not carry a JWT access token (expected three base64url segments separated by dots). Send "Authorization: Bearer <access token>"; get a token from ` + b.prod.TokenURL() + "."},
		{"two segments", parts[0] + "." + parts[1], ion.EUNAUTHENTICATED, ""},
		{"four segments", real + ".x", ion.EUNAUTHENTICATED, ""},
		{"header not JSON", b64([]byte("not json")) + "." + parts[1] + "." + parts[2], ion.EUNAUTHENTICATED,
			`Authorization header does not carry a JWT access token (its header is not base64url-encoded JSON). Send "Authorization: Bearer <access token>"; get a token from ` + b.prod.TokenURL() + "."},
		{"payload not base64url", parts[0] + ".%%%." + parts[2], ion.EUNAUTHENTICATED,
			`Authorization header does not carry a JWT access token (its payload is not base64url-encoded JSON). Send "Authorization: Bearer <access token>"; get a token from ` + b.prod.TokenURL() + "."},
		{"JWE-shaped", parts[0] + ".." + parts[1] + "." + parts[2] + ".x", ion.EUNAUTHENTICATED, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			actor, err := b.prod.Authenticate(authRequest("Bearer " + tt.token))
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if actor.User.ID != a.user.ID {
					t.Fatalf("actor = %+v", actor)
				}
				return
			}
			wantError(t, err, tt.wantCode, tt.wantMsg)
		})
	}
}

func mustB64Decode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAuthorizationHeaderForms(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := b.newAccount(t, ion.ProductionEnvironment)
	tok := b.token(t, b.prod, a)
	tokenURL := b.prod.TokenURL()

	tests := []struct {
		name          string
		authorization string
		wantCode      string
		wantMsg       string
	}{
		{"Bearer", "Bearer " + tok, "", ""},
		{"bearer, lower case", "bearer " + tok, "", ""},
		{"BEARER with extra spaces", "BEARER   " + tok + " ", "", ""},
		{"Token, as ION's docs show", "Token " + tok, "", ""},
		{"token, lower case", "token " + tok, "", ""},
		{"bare token, as ION's vendor scripts send", tok, "", ""},
		{"missing", "", ion.EUNAUTHENTICATED,
			`Authorization header is missing. Send "Authorization: Bearer <access token>"; get a token from ` + tokenURL + "."},
		{"Bearer without a token", "Bearer", ion.EUNAUTHENTICATED,
			`Authorization header has no token. Send "Authorization: Bearer <access token>"; get a token from ` + tokenURL + "."},
		{"Basic", basicAuth(a.key.ClientID, a.secret), ion.EUNAUTHENTICATED,
			`Authorization scheme "Basic" is not supported. Send "Authorization: Bearer <access token>"; get a token from ` + tokenURL + "."},
		{"bare garbage", "garbage", ion.EUNAUTHENTICATED, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			actor, err := b.prod.Authenticate(authRequest(tt.authorization))
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if actor.User.ID != a.user.ID || actor.ClientID != a.key.ClientID {
					t.Fatalf("actor = %+v", actor)
				}
				return
			}
			wantError(t, err, tt.wantCode, tt.wantMsg)
		})
	}
}

func TestAuthenticateActor(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := b.newAccount(t, sandboxName)
	actor, err := b.sbx.Authenticate(authRequest("Bearer " + b.token(t, b.sbx, a)))
	if err != nil {
		t.Fatal(err)
	}
	want := ion.Actor{Environment: sandboxName, Organization: a.org, User: a.user, ClientID: a.key.ClientID}
	if actor.Environment != want.Environment || actor.Organization.ID != want.Organization.ID ||
		actor.Organization.Domain != want.Organization.Domain || actor.User.ID != want.User.ID ||
		actor.User.Email != want.User.Email || !actor.User.Active || actor.ClientID != want.ClientID {
		t.Errorf("actor = %+v\nwant %+v", actor, want)
	}
}

// Disabling a key, deactivating its user or deleting it stops its tokens at
// once, even though verified tokens are cached.
func TestRevocationTakesEffectAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	t.Run("disable and enable the key", func(t *testing.T) {
		t.Parallel()
		a := b.newAccount(t, ion.ProductionEnvironment)
		tok := b.token(t, b.prod, a)
		if _, err := b.prod.AuthenticateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		off, on := false, true
		k, _, err := b.svc.UpdateAPIKey(ctx, a.org.ID, a.key.ClientID, a.key.Etag, &off, false)
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.prod.AuthenticateToken(ctx, tok)
		wantError(t, err, ion.EINVALIDTOKEN, "The API key this token was issued to (client id "+a.key.ClientID+") is disabled. Enable it, or use another API key.")
		if _, _, err := b.svc.UpdateAPIKey(ctx, a.org.ID, a.key.ClientID, k.Etag, &on, false); err != nil {
			t.Fatal(err)
		}
		if _, err := b.prod.AuthenticateToken(ctx, tok); err != nil {
			t.Fatalf("after enabling again: %v", err)
		}
	})
	t.Run("deactivate the user", func(t *testing.T) {
		t.Parallel()
		a := b.newAccount(t, ion.ProductionEnvironment)
		tok := b.token(t, b.prod, a)
		if _, err := b.prod.AuthenticateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := b.control.SetUserActive(ctx, a.org.ID, a.user.ID, false); err != nil {
			t.Fatal(err)
		}
		_, err := b.prod.AuthenticateToken(ctx, tok)
		wantError(t, err, ion.EINVALIDTOKEN, "The user this token acts as (id "+jsonNumberString(a.user.ID)+") is deactivated.")
	})
	t.Run("delete the key", func(t *testing.T) {
		t.Parallel()
		a := b.newAccount(t, ion.ProductionEnvironment)
		tok := b.token(t, b.prod, a)
		if _, err := b.prod.AuthenticateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.DeleteAPIKey(ctx, a.org.ID, a.key.ClientID, a.key.Etag); err != nil {
			t.Fatal(err)
		}
		_, err := b.prod.AuthenticateToken(ctx, tok)
		wantError(t, err, ion.EINVALIDTOKEN, "")
	})
}

// A cached token still expires on time.
func TestCachedTokenExpires(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := b.newAccount(t, ion.ProductionEnvironment)
	tok := b.token(t, b.prod, a)
	if _, err := b.prod.AuthenticateToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if n := b.prod.cache.len(); n != 1 {
		t.Fatalf("cache holds %d tokens, want 1", n)
	}
	b.clock.Advance(time.Hour - time.Second)
	if _, err := b.prod.AuthenticateToken(context.Background(), tok); err != nil {
		t.Fatalf("one second before expiry: %v", err)
	}
	b.clock.Advance(time.Second)
	_, err := b.prod.AuthenticateToken(context.Background(), tok)
	wantError(t, err, ion.ETOKENEXPIRED, "Token is expired.")
	if n := b.prod.cache.len(); n != 0 {
		t.Errorf("cache holds %d tokens after expiry, want 0", n)
	}
}

func TestTokenCacheIsBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newTokenCache(3)
	for i := range 10 {
		c.put([32]byte{byte(i)}, verifiedToken{expiresAt: now.Add(time.Hour)}, now)
		if n := c.len(); n > 3 {
			t.Fatalf("after %d puts the cache holds %d entries", i+1, n)
		}
	}
	if _, ok := c.get([32]byte{9}, now); !ok {
		t.Errorf("the newest entry is missing")
	}
	// Expired entries go first.
	c = newTokenCache(3)
	c.put([32]byte{1}, verifiedToken{expiresAt: now.Add(time.Minute)}, now)
	c.put([32]byte{2}, verifiedToken{expiresAt: now.Add(time.Hour)}, now)
	c.put([32]byte{3}, verifiedToken{expiresAt: now.Add(time.Hour)}, now)
	later := now.Add(2 * time.Minute)
	c.put([32]byte{4}, verifiedToken{expiresAt: later.Add(time.Hour)}, later)
	for _, k := range []byte{2, 3, 4} {
		if _, ok := c.get([32]byte{k}, later); !ok {
			t.Errorf("entry %d was dropped, but an expired one was there to drop", k)
		}
	}
}
