package ion

import (
	"strconv"
	"time"
)

// Environment kinds.
const (
	EnvProduction = "production"
	EnvSandbox    = "sandbox"
)

// ProductionEnvironment is the name of the one production environment.
const ProductionEnvironment = "production"

// Environment is production or one sandbox: its own base URL, issuer, keys
// and data.
type Environment struct {
	Name      string // "production" or the sandbox's DNS-label name
	Kind      string // EnvProduction or EnvSandbox
	State     string // active, provisioning, dormant, resetting, expired
	CreatedAt time.Time
	// WebhookMode is where the environment's webhooks go: WebhookLive
	// (production's default) or WebhookSink (sandboxes' default).
	WebhookMode string
	// RateLimitPolicy and FeaturePolicy are JSON documents that override
	// the defaults of the environment's kind; "" means the defaults.
	RateLimitPolicy string
	FeaturePolicy   string
}

// Webhook modes of an environment.
const (
	WebhookLive = "live"
	WebhookSink = "sink"
)

// DefaultWebhookMode is where an environment of the given kind sends its
// webhooks unless told otherwise: nothing a sandbox does may reach a real
// consumer by default.
func DefaultWebhookMode(kind string) string {
	if kind == EnvSandbox {
		return WebhookSink
	}
	return WebhookLive
}

// Organization tiers.
const (
	TierStandard   = "standard"
	TierEnterprise = "enterprise"
)

// Organization is one customer's account inside an environment. Its data
// lives in its own tenant store.
type Organization struct {
	ID          ID
	Environment string
	Name        string
	Domain      string
	Tier        string
	CreatedAt   time.Time
}

// TenantID names the tenant store that holds an organization's data.
func (o Organization) TenantID() string { return TenantIDFor(o.Environment, o.ID) }

// TenantIDFor names the tenant store of organization orgID in environment env.
func TenantIDFor(env string, orgID ID) string {
	return env + "-org-" + strconv.FormatInt(orgID, 10)
}

// User is a person or service account of an organization.
type User struct {
	Meta
	OrganizationID ID
	Name           string
	Email          string
	Active         bool
	Roles          []string
	ServiceAccount bool
}

// APIKey is a client-credentials pair that acts as the user who made it. The
// secret is never stored, only SecretHash (a keyed hash).
type APIKey struct {
	Meta
	ClientID       string // a UUID
	OrganizationID ID
	UserID         ID
	Environment    string
	Enabled        bool
	SecretHash     []byte
	SecretHint     string // the secret's kind prefix and last 4 characters, for display
}

// SigningKey is one of an environment's token signing keys. Old keys stay
// published until RetiredAt plus the longest token lifetime has passed.
type SigningKey struct {
	KID         string
	Environment string
	Algorithm   string
	PrivateJWK  []byte // JSON Web Key with the private part
	CreatedAt   time.Time
	RetiredAt   *time.Time
}
