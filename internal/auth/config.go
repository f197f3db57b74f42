package auth

import (
	"errors"
	"log/slog"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// Config configures a Service. Fields without a stated default are required.
type Config struct {
	// Control stores environments, organizations, users, API keys (hashed)
	// and signing keys.
	Control ion.ControlStore
	// HashKey is the server secret under which client secrets are hashed
	// (HMAC-SHA256) and signing keys' private parts sealed (AES-256-GCM,
	// seal.go). At least 32 bytes. Changing it invalidates every existing
	// client secret and leaves the stored signing keys unreadable.
	HashKey []byte
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// TokenTTL is the lifetime of an access token, and how long a retired
	// signing key stays published. Default: 1h (expires_in 3600).
	TokenTTL time.Duration
	// ClockSkew is how far in the future a token's iat or nbf may be.
	// Default: 60s.
	ClockSkew time.Duration
	// TokenCacheSize bounds the number of verified tokens kept per
	// environment so that a request does not pay a signature check every
	// time. Default: 10000.
	TokenCacheSize int
	// Logger receives internal errors of the HTTP endpoints (never
	// credentials). Default: slog.Default().
	Logger *slog.Logger
}

// Minimum length of Config.HashKey.
const minHashKeyBytes = 32

func (c *Config) validate() error {
	switch {
	case c.Control == nil:
		return errors.New("auth: Config.Control is required")
	case len(c.HashKey) < minHashKeyBytes:
		return errors.New("auth: Config.HashKey must be at least 32 bytes")
	case c.TokenTTL < 0:
		return errors.New("auth: Config.TokenTTL must not be negative")
	case c.TokenTTL != 0 && c.TokenTTL < time.Second:
		return errors.New("auth: Config.TokenTTL must be at least 1s")
	case c.ClockSkew < 0:
		return errors.New("auth: Config.ClockSkew must not be negative")
	case c.TokenCacheSize < 0:
		return errors.New("auth: Config.TokenCacheSize must not be negative")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.TokenTTL == 0 {
		c.TokenTTL = time.Hour
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = 60 * time.Second
	}
	if c.TokenCacheSize == 0 {
		c.TokenCacheSize = 10000
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	// Own copy: the caller may reuse its slice.
	c.HashKey = append([]byte(nil), c.HashKey...)
	return nil
}
