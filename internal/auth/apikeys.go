package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/ionbox/ionbox/ion"
)

// Client secret prefixes. They carry the environment kind so that people
// and secret scanners can tell production secrets from sandbox ones, and so
// that the token endpoint can explain a secret used in the wrong place.
const (
	SecretPrefixProduction = "ion_prod_"
	SecretPrefixSandbox    = "ion_sbx_"
)

// secretRandomBytes is the entropy of a client secret (256 bits).
const secretRandomBytes = 32

// secretPrefix returns the secret prefix of an environment kind.
func secretPrefix(kind string) string {
	if kind == ion.EnvProduction {
		return SecretPrefixProduction
	}
	return SecretPrefixSandbox
}

// newSecret returns a fresh client secret for an environment of kind, and
// its display hint: the prefix and the last four characters.
func newSecret(kind string) (secret, hint string, err error) {
	var b [secretRandomBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("auth: reading random bytes: %w", err)
	}
	prefix := secretPrefix(kind)
	secret = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, prefix + "…" + secret[len(secret)-4:], nil
}

// hashSecret is the only form in which a client secret is stored: keyed, so
// that a copy of the control database alone does not allow an offline
// guessing attack.
func (s *Service) hashSecret(secret string) []byte {
	m := hmac.New(sha256.New, s.cfg.HashKey)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// secretMatches compares a presented secret with a stored hash in constant
// time.
func (s *Service) secretMatches(secret string, stored []byte) bool {
	return hmac.Equal(s.hashSecret(secret), stored)
}

// CreateAPIKey makes a key that acts as user userID of organization orgID in
// environment env, and returns it with its secret (the only time the secret
// is available). NOT_FOUND for an unknown environment, organization or user,
// or an organization of another environment; VALIDATION_ERROR (userId) for a
// deactivated user.
func (s *Service) CreateAPIKey(ctx context.Context, env string, orgID, userID ion.ID) (ion.APIKey, string, error) {
	e, err := s.cfg.Control.Environment(ctx, env)
	if err != nil {
		return ion.APIKey{}, "", fmt.Errorf("auth: create API key: %w", err)
	}
	org, err := s.cfg.Control.Organization(ctx, orgID)
	if err != nil {
		return ion.APIKey{}, "", fmt.Errorf("auth: create API key: %w", err)
	}
	user, err := s.cfg.Control.User(ctx, orgID, userID)
	if err != nil {
		return ion.APIKey{}, "", fmt.Errorf("auth: create API key: %w", err)
	}
	return s.CreateAPIKeyFor(ctx, e, org, user)
}

// CreateAPIKeyFor is CreateAPIKey for records the caller has just made or
// read (sandbox provisioning, which makes a sandbox's service accounts in
// one control transaction): it checks them as CreateAPIKey checks the
// stored ones, instead of reading them again, which costs a provisioning
// three round trips to the store per service account.
func (s *Service) CreateAPIKeyFor(ctx context.Context, env ion.Environment, org ion.Organization, user ion.User) (ion.APIKey, string, error) {
	if org.Environment != env.Name {
		// Another environment's organization is not visible from here.
		return ion.APIKey{}, "", ion.NotFound("Organization", org.ID)
	}
	if user.OrganizationID != org.ID {
		return ion.APIKey{}, "", ion.NotFound("User", user.ID)
	}
	if !user.Active {
		return ion.APIKey{}, "", ion.Invalid("userId", msgAPIKeyUserInactive, user.ID)
	}
	secret, hint, err := newSecret(env.Kind)
	if err != nil {
		return ion.APIKey{}, "", err
	}
	key, err := s.cfg.Control.CreateAPIKey(ctx, ion.APIKey{
		ClientID:       uuid.NewString(),
		OrganizationID: org.ID,
		UserID:         user.ID,
		Environment:    env.Name,
		Enabled:        true,
		SecretHash:     s.hashSecret(secret),
		SecretHint:     hint,
	})
	if err != nil {
		return ion.APIKey{}, "", fmt.Errorf("auth: create API key: %w", err)
	}
	return key, secret, nil
}

// UpdateAPIKey enables or disables a key of organization orgID and, with
// regenerate, replaces its secret (returned once; "" otherwise). Tokens
// already issued stay valid while the key is enabled; disabling a key stops
// them at once. NOT_FOUND for an unknown key or a key of another
// organization; CONFLICT for a stale etag.
func (s *Service) UpdateAPIKey(ctx context.Context, orgID ion.ID, clientID, etag string, enabled *bool, regenerate bool) (ion.APIKey, string, error) {
	key, err := s.orgKey(ctx, orgID, clientID)
	if err != nil {
		return ion.APIKey{}, "", err
	}
	var secret, hint string
	var hash []byte
	if regenerate {
		e, err := s.environment(ctx, key.Environment)
		if err != nil {
			return ion.APIKey{}, "", fmt.Errorf("auth: update API key: %w", err)
		}
		if secret, hint, err = newSecret(e.Kind); err != nil {
			return ion.APIKey{}, "", err
		}
		hash = s.hashSecret(secret)
	}
	updated, err := s.cfg.Control.UpdateAPIKey(ctx, clientID, etag, enabled, hash, hint)
	if err != nil {
		return ion.APIKey{}, "", fmt.Errorf("auth: update API key: %w", err)
	}
	return updated, secret, nil
}

// DeleteAPIKey deletes a key of organization orgID and returns it as it was.
// Its tokens stop working at once. NOT_FOUND for an unknown key or a key of
// another organization; CONFLICT for a stale etag.
func (s *Service) DeleteAPIKey(ctx context.Context, orgID ion.ID, clientID, etag string) (ion.APIKey, error) {
	key, err := s.orgKey(ctx, orgID, clientID)
	if err != nil {
		return ion.APIKey{}, err
	}
	if err := s.cfg.Control.DeleteAPIKey(ctx, clientID, etag); err != nil {
		return ion.APIKey{}, fmt.Errorf("auth: delete API key: %w", err)
	}
	return key, nil
}

// orgKey returns the key clientID if it belongs to organization orgID.
// Another organization's key answers exactly like a missing one.
func (s *Service) orgKey(ctx context.Context, orgID ion.ID, clientID string) (ion.APIKey, error) {
	notFound := ion.Errorf(ion.ENOTFOUND, msgAPIKeyNotFound, clientID)
	if strings.TrimSpace(clientID) == "" {
		return ion.APIKey{}, notFound
	}
	key, err := s.cfg.Control.APIKeyByClientID(ctx, clientID)
	switch {
	case ion.ErrorCode(err) == ion.ENOTFOUND:
		return ion.APIKey{}, notFound
	case err != nil:
		return ion.APIKey{}, fmt.Errorf("auth: API key %q: %w", clientID, err)
	case key.OrganizationID != orgID:
		return ion.APIKey{}, notFound
	}
	return key, nil
}
