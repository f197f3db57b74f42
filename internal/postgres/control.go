package postgres

import (
	"context"
	"errors"
	"github.com/ionbox/ionbox/internal/sqlcol"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ionbox/ionbox/ion"
)

// ControlStore is the PostgreSQL implementation of ion.ControlStore, kept
// in the control schema.
type ControlStore struct {
	db     *database
	stores *Stores
}

var _ ion.ControlStore = (*ControlStore)(nil)

// Environment names become part of tenant ids and so of schema names:
// DNS labels.
var environmentNamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Atomically runs fn's control store calls in one transaction (see
// ion.ControlStore).
func (c *ControlStore) Atomically(ctx context.Context, fn func(ctx context.Context) error) error {
	return c.db.atomically(ctx, "control transaction", fn)
}

// EnsureEnvironment creates env if it does not exist and returns the stored
// one. State defaults to "active" and CreatedAt to now.
func (c *ControlStore) EnsureEnvironment(ctx context.Context, env ion.Environment) (ion.Environment, error) {
	if !environmentNamePattern.MatchString(env.Name) {
		return ion.Environment{}, ion.Invalid("name", "%q is not a valid environment name; use lowercase letters, digits and '-' (a DNS label), e.g. \"production\" or \"acme-erp-dev\".", env.Name)
	}
	kind := strings.ToLower(env.Kind)
	if kind != ion.EnvProduction && kind != ion.EnvSandbox {
		return ion.Environment{}, ion.Invalid("kind", "%q is not an environment kind; use %q or %q.", env.Kind, ion.EnvProduction, ion.EnvSandbox)
	}
	if env.State == "" {
		env.State = "active"
	}
	var out ion.Environment
	err := c.db.update(ctx, "ensure environment", func(tx *tx) error {
		created := tx.now
		if !env.CreatedAt.IsZero() {
			created = env.CreatedAt
		}
		if env.WebhookMode == "" {
			env.WebhookMode = ion.DefaultWebhookMode(kind)
		}
		if _, err := tx.exec(`INSERT INTO environments (name, kind, state, created_at, webhook_mode, rate_limit_policy, feature_policy) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
			env.Name, kind, env.State, sqlcol.ToMicros(created), env.WebhookMode, env.RateLimitPolicy, env.FeaturePolicy); err != nil {
			return err
		}
		var err error
		out, err = getEnvironment(ctx, tx, env.Name)
		return err
	})
	return out, err
}

// Environment returns the environment named name. NOT_FOUND if there is none.
func (c *ControlStore) Environment(ctx context.Context, name string) (ion.Environment, error) {
	env, err := getEnvironment(ctx, c.db.reader(ctx), name)
	return env, wrapErr("environment", err)
}

const environmentSQL = `SELECT name, kind, state, created_at, webhook_mode, rate_limit_policy, feature_policy FROM environments WHERE name = ?`

func getEnvironment(ctx context.Context, q queryer, name string) (ion.Environment, error) {
	return scanEnvironment(q.QueryRowContext(ctx, environmentSQL, name), name)
}

func scanEnvironment(r pgx.Row, name string) (ion.Environment, error) {
	var env ion.Environment
	err := r.Scan(&env.Name, &env.Kind, &env.State, sqlcol.Micros{Dst: &env.CreatedAt}, &env.WebhookMode, &env.RateLimitPolicy, &env.FeaturePolicy)
	if errors.Is(err, pgx.ErrNoRows) {
		return env, ion.Errorf(ion.ENOTFOUND, "environment %q not found.", name)
	}
	return env, err
}

// queueEnvironment queues getEnvironment's read into b (see tx.pipeline).
func queueEnvironment(b *pgx.Batch, name string, out *ion.Environment, errp *error) {
	queue(b, environmentSQL, name).QueryRow(func(r pgx.Row) error {
		*out, *errp = scanEnvironment(r, name)
		return nil
	})
}

var organizations = newEntity(entity[ion.Organization]{
	kind:    "organization",
	plural:  "organizations",
	table:   "organizations",
	columns: "t.id, t.environment, t.name, t.domain, t.tier, t.created_at",
	fields:  map[string]column{},
	scan: func(sc scanner) (o ion.Organization, err error) {
		err = sc.Scan(&o.ID, &o.Environment, &o.Name, &o.Domain, &o.Tier, sqlcol.Micros{Dst: &o.CreatedAt})
		return o, err
	},
})

// CreateOrganization creates the organization and its tenant schema in
// one step: if either fails, neither exists. Tier defaults to standard.
func (c *ControlStore) CreateOrganization(ctx context.Context, o ion.Organization) (ion.Organization, error) {
	o.Name = strings.TrimSpace(o.Name)
	o.Domain = strings.ToLower(strings.TrimSpace(o.Domain))
	if o.Name == "" {
		return ion.Organization{}, ion.Invalid("name", "is required.")
	}
	if o.Tier = strings.ToLower(o.Tier); o.Tier == "" {
		o.Tier = ion.TierStandard
	}
	if o.Tier != ion.TierStandard && o.Tier != ion.TierEnterprise {
		return ion.Organization{}, ion.Invalid("tier", "%q is not a tier; use %q or %q.", o.Tier, ion.TierStandard, ion.TierEnterprise)
	}
	// The tenant schema is a spare renamed inside the transaction that
	// inserts the organization (DDL is transactional), so that both exist
	// or neither does.
	var out ion.Organization
	err := c.stores.withSpare(ctx, func() error {
		return c.db.update(ctx, "create organization", func(tx *tx) error {
			b := &pgx.Batch{}
			var env ion.Environment
			var envErr, domainErr error
			var other ion.ID
			queueEnvironment(b, o.Environment, &env, &envErr)
			if o.Domain != "" {
				queue(b, `SELECT id FROM organizations WHERE environment = ? AND lower(domain) = lower(?)`, o.Environment, o.Domain).
					QueryRow(func(r pgx.Row) error { domainErr = r.Scan(&other); return nil })
			} else {
				domainErr = pgx.ErrNoRows
			}
			queue(b, `INSERT INTO organizations AS t (environment, name, domain, tier, created_at) VALUES (?, ?, ?, ?, ?) RETURNING `+organizations.columns,
				o.Environment, o.Name, o.Domain, o.Tier, tx.nowMicros()).
				QueryRow(func(r pgx.Row) (err error) { out, err = organizations.scan(r); return err })
			err := tx.pipeline(b)
			switch {
			case ion.ErrorCode(envErr) == ion.ENOTFOUND:
				return ion.Invalid("environment", "environment %q not found; create it with EnsureEnvironment first.", o.Environment)
			case envErr != nil:
				return envErr
			case domainErr == nil:
				return ion.Invalid("domain", "%q is already used by organization %d in environment %q; choose another domain.", o.Domain, other, o.Environment)
			case !errors.Is(domainErr, pgx.ErrNoRows):
				return domainErr
			case err != nil:
				return err
			}
			// The id is new, so a schema of that name can only be one that
			// CreateTenant made on its own: replace it.
			return c.stores.placeTenant(tx, out.TenantID(), true)
		})
	})
	if err != nil {
		return ion.Organization{}, err
	}
	return out, nil
}

// Organization returns organization id. NOT_FOUND if there is none.
func (c *ControlStore) Organization(ctx context.Context, id ion.ID) (ion.Organization, error) {
	o, err := organizations.get(ctx, c.db.reader(ctx), id)
	return o, wrapErr("organization", err)
}

// Organizations lists the organizations of environment env by id.
func (c *ControlStore) Organizations(ctx context.Context, env string) ([]ion.Organization, error) {
	out, err := organizations.all(ctx, c.db.reader(ctx), "t.environment = ?", env)
	if out == nil {
		out = []ion.Organization{}
	}
	return out, wrapErr("organizations", err)
}

var users = newEntity(entity[ion.User]{
	kind:    "user",
	plural:  "users",
	table:   "users",
	columns: sqlcol.MetaCols + ", t.organization_id, t.name, t.email, t.active, t.roles, t.service_account",
	fields: map[string]column{
		"name":           {"t.name", kindText},
		"email":          {"t.email", kindText},
		"active":         {"t.active", kindBool},
		"serviceAccount": {"t.service_account", kindBool},
		"organizationId": {"t.organization_id", kindInt},
	},
	scan: func(sc scanner) (u ion.User, err error) {
		err = sc.Scan(append(sqlcol.MetaDest(&u.Meta), &u.OrganizationID, &u.Name, &u.Email, &u.Active, sqlcol.JSONList[string]{Dst: &u.Roles}, &u.ServiceAccount)...)
		return u, err
	},
})

// CreateUser creates a user of an organization. Email is required and
// unique within the organization, ignoring case.
func (c *ControlStore) CreateUser(ctx context.Context, u ion.User) (ion.User, error) {
	u.Email = strings.TrimSpace(u.Email)
	u.Name = strings.TrimSpace(u.Name)
	if u.Email == "" || !strings.Contains(u.Email, "@") {
		return ion.User{}, ion.Invalid("email", "%q is not an email address; use one such as \"ada@example.com\".", u.Email)
	}
	var out ion.User
	err := c.db.update(ctx, "create user", func(tx *tx) error {
		b := &pgx.Batch{}
		var org ion.Organization
		var orgErr, emailErr error
		var other ion.ID
		organizations.queueGet(b, u.OrganizationID, &org, &orgErr)
		queue(b, `SELECT id FROM users WHERE organization_id = ? AND lower(email) = lower(?)`, u.OrganizationID, u.Email).
			QueryRow(func(r pgx.Row) error { emailErr = r.Scan(&other); return nil })
		queue(b, `INSERT INTO users AS t (organization_id, name, email, active, roles, service_account, etag, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+users.columns,
			u.OrganizationID, u.Name, u.Email, u.Active, sqlcol.EncodeList(u.Roles), u.ServiceAccount, ion.NewEtag(), tx.nowMicros(), tx.nowMicros()).
			QueryRow(func(r pgx.Row) (err error) { out, err = users.scan(r); return err })
		err := tx.pipeline(b)
		switch {
		case orgErr != nil:
			return asInvalidRef("organizationId", orgErr)
		case emailErr == nil:
			return ion.Invalid("email", "%q is already used by user %d of this organization.", u.Email, other)
		case !errors.Is(emailErr, pgx.ErrNoRows):
			return emailErr
		}
		return err
	})
	return out, err
}

// User returns user id of organization orgID. NOT_FOUND for a user of
// another organization.
func (c *ControlStore) User(ctx context.Context, orgID, id ion.ID) (ion.User, error) {
	u, err := orgUser(ctx, c.db.reader(ctx), orgID, id)
	return u, wrapErr("user", err)
}

func orgUser(ctx context.Context, q queryer, orgID, id ion.ID) (ion.User, error) {
	u, err := users.get(ctx, q, id)
	if err == nil && u.OrganizationID != orgID {
		return ion.User{}, ion.NotFound("user", id)
	}
	return u, err
}

// Users lists the users of organization orgID.
func (c *ControlStore) Users(ctx context.Context, orgID ion.ID, opts ion.ListOptions) (ion.Page[ion.User], error) {
	var page ion.Page[ion.User]
	err := c.db.view(ctx, "users", func(q queryer) (err error) {
		page, err = users.list(ctx, q, opts, []string{"t.organization_id = ?"}, []any{orgID})
		return err
	})
	return page, err
}

// SetUserActive activates or deactivates a user; a deactivated user's API
// keys stop working (the auth layer checks Active).
func (c *ControlStore) SetUserActive(ctx context.Context, orgID, id ion.ID, active bool) (ion.User, error) {
	var out ion.User
	err := c.db.update(ctx, "set user active", func(tx *tx) error {
		if _, err := orgUser(ctx, tx, orgID, id); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE users SET active = ?, etag = ?, updated_at = ? WHERE id = ?`, active, ion.NewEtag(), tx.nowMicros(), id); err != nil {
			return err
		}
		var err error
		out, err = users.get(ctx, tx, id)
		return err
	})
	return out, err
}

var apiKeys = newEntity(entity[ion.APIKey]{
	kind:    "API key",
	plural:  "API keys",
	table:   "api_keys",
	columns: sqlcol.MetaCols + ", t.client_id, t.organization_id, t.user_id, t.environment, t.enabled, t.secret_hash, t.secret_hint",
	fields: map[string]column{
		"clientId":    {"t.client_id", kindText},
		"userId":      {"t.user_id", kindInt},
		"enabled":     {"t.enabled", kindBool},
		"environment": {"t.environment", kindText},
	},
	scan: func(sc scanner) (k ion.APIKey, err error) {
		err = sc.Scan(append(sqlcol.MetaDest(&k.Meta), &k.ClientID, &k.OrganizationID, &k.UserID, &k.Environment, &k.Enabled, &k.SecretHash, &k.SecretHint)...)
		return k, err
	},
})

// CreateAPIKey stores a key. ClientID must be a UUID not used before; the
// user must belong to the organization; Environment defaults to the
// organization's and must equal it.
func (c *ControlStore) CreateAPIKey(ctx context.Context, k ion.APIKey) (ion.APIKey, error) {
	if _, err := uuid.Parse(k.ClientID); err != nil {
		return ion.APIKey{}, ion.Invalid("clientId", "%q is not a UUID.", k.ClientID)
	}
	if len(k.SecretHash) == 0 {
		return ion.APIKey{}, ion.Invalid("secretHash", "is required; store the keyed hash of the secret, never the secret.")
	}
	var out ion.APIKey
	err := c.db.update(ctx, "create API key", func(tx *tx) error {
		b := &pgx.Batch{}
		var org ion.Organization
		var user ion.User
		var orgErr, userErr, keyErr error
		organizations.queueGet(b, k.OrganizationID, &org, &orgErr)
		users.queueGet(b, k.UserID, &user, &userErr)
		queue(b, "SELECT t.id FROM api_keys t WHERE t.client_id = ?", k.ClientID).
			QueryRow(func(r pgx.Row) error { var id ion.ID; keyErr = r.Scan(&id); return nil })
		// Environment defaults to the organization's.
		queue(b, `INSERT INTO api_keys AS t (client_id, organization_id, user_id, environment, enabled, secret_hash, secret_hint, etag, created_at, updated_at)
			VALUES (?, ?, ?, coalesce(nullif(?, ''), (SELECT environment FROM organizations WHERE id = ?)), ?, ?, ?, ?, ?, ?) RETURNING `+apiKeys.columns,
			k.ClientID, k.OrganizationID, k.UserID, k.Environment, k.OrganizationID, k.Enabled, k.SecretHash, k.SecretHint, ion.NewEtag(), tx.nowMicros(), tx.nowMicros()).
			QueryRow(func(r pgx.Row) (err error) { out, err = apiKeys.scan(r); return err })
		err := tx.pipeline(b)
		if userErr == nil && user.OrganizationID != k.OrganizationID {
			userErr = ion.NotFound("user", k.UserID)
		}
		switch {
		case orgErr != nil:
			return asInvalidRef("organizationId", orgErr)
		case k.Environment != "" && k.Environment != org.Environment:
			return ion.Invalid("environment", "is %q but organization %d belongs to environment %q.", k.Environment, org.ID, org.Environment)
		case userErr != nil:
			return asInvalidRef("userId", userErr)
		case keyErr == nil:
			return ion.Errorf(ion.ECONFLICT, "API key %q already exists.", k.ClientID)
		case !errors.Is(keyErr, pgx.ErrNoRows):
			return keyErr
		}
		return err
	})
	return out, err
}

// APIKeyByClientID returns the key with the given client id. NOT_FOUND if
// there is none.
func (c *ControlStore) APIKeyByClientID(ctx context.Context, clientID string) (ion.APIKey, error) {
	k, err := apiKeyByClientID(ctx, c.db.reader(ctx), clientID)
	return k, wrapErr("API key", err)
}

var _ ion.PrincipalReader = (*ControlStore)(nil)

// Principal reads the API key with clientID, user userID of organization
// orgID and organization orgID in one round trip (a pgx batch) rather than
// three: what every authenticated request checks.
func (c *ControlStore) Principal(ctx context.Context, clientID string, orgID, userID ion.ID) ion.Principal {
	var p ion.Principal
	b := &pgx.Batch{}
	p.KeyErr = pgx.ErrNoRows
	queue(b, "SELECT "+apiKeys.columns+" FROM api_keys t WHERE t.client_id = ?", clientID).QueryRow(func(r pgx.Row) error {
		p.Key, p.KeyErr = apiKeys.scan(r)
		return nil
	})
	users.queueGet(b, userID, &p.User, &p.UserErr)
	organizations.queueGet(b, orgID, &p.Organization, &p.OrganizationErr)
	if err := c.db.sendRead(ctx, b); err != nil {
		err = wrapErr("principal", err)
		return ion.Principal{KeyErr: err, UserErr: err, OrganizationErr: err}
	}
	if errors.Is(p.KeyErr, pgx.ErrNoRows) {
		p.KeyErr = ion.Errorf(ion.ENOTFOUND, "API key %q not found.", clientID)
	}
	if p.UserErr == nil && p.User.OrganizationID != orgID {
		p.User, p.UserErr = ion.User{}, ion.NotFound("user", userID)
	}
	p.KeyErr = wrapErr("API key", p.KeyErr)
	p.UserErr = wrapErr("user", p.UserErr)
	p.OrganizationErr = wrapErr("organization", p.OrganizationErr)
	return p
}

func apiKeyByClientID(ctx context.Context, q queryer, clientID string) (ion.APIKey, error) {
	k, err := apiKeys.scan(q.QueryRowContext(ctx, "SELECT "+apiKeys.columns+" FROM api_keys t WHERE t.client_id = ?", clientID))
	if errors.Is(err, pgx.ErrNoRows) {
		return k, ion.Errorf(ion.ENOTFOUND, "API key %q not found.", clientID)
	}
	return k, err
}

// APIKeys lists the keys of organization orgID.
func (c *ControlStore) APIKeys(ctx context.Context, orgID ion.ID, opts ion.ListOptions) (ion.Page[ion.APIKey], error) {
	var page ion.Page[ion.APIKey]
	err := c.db.view(ctx, "API keys", func(q queryer) (err error) {
		page, err = apiKeys.list(ctx, q, opts, []string{"t.organization_id = ?"}, []any{orgID})
		return err
	})
	return page, err
}

// UpdateAPIKey changes Enabled and, when newSecretHash is not nil, the
// secret hash and hint. CONFLICT for a stale etag.
func (c *ControlStore) UpdateAPIKey(ctx context.Context, clientID, etag string, enabled *bool, newSecretHash []byte, newHint string) (ion.APIKey, error) {
	var out ion.APIKey
	err := c.db.update(ctx, "update API key", func(tx *tx) error {
		k, err := apiKeyByClientID(ctx, tx, clientID)
		if err != nil {
			return err
		}
		if err := ion.CheckEtag("API key", k.Meta, etag); err != nil {
			return err
		}
		if enabled != nil {
			k.Enabled = *enabled
		}
		if newSecretHash != nil {
			if len(newSecretHash) == 0 {
				return ion.Invalid("secretHash", "must not be empty.")
			}
			k.SecretHash, k.SecretHint = newSecretHash, newHint
		}
		if _, err := tx.exec(`UPDATE api_keys SET enabled = ?, secret_hash = ?, secret_hint = ?, etag = ?, updated_at = ? WHERE id = ?`,
			k.Enabled, k.SecretHash, k.SecretHint, ion.NewEtag(), tx.nowMicros(), k.ID); err != nil {
			return err
		}
		out, err = apiKeys.get(ctx, tx, k.ID)
		return err
	})
	return out, err
}

// DeleteAPIKey deletes a key. CONFLICT for a stale etag.
func (c *ControlStore) DeleteAPIKey(ctx context.Context, clientID, etag string) error {
	return c.db.update(ctx, "delete API key", func(tx *tx) error {
		k, err := apiKeyByClientID(ctx, tx, clientID)
		if err != nil {
			return err
		}
		if err := ion.CheckEtag("API key", k.Meta, etag); err != nil {
			return err
		}
		_, err = tx.exec(`DELETE FROM api_keys WHERE id = ?`, k.ID)
		return err
	})
}

// AddSigningKey stores a signing key of an existing environment. CreatedAt
// defaults to now; a kid already used in the environment is a CONFLICT.
func (c *ControlStore) AddSigningKey(ctx context.Context, k ion.SigningKey) error {
	switch {
	case strings.TrimSpace(k.KID) == "":
		return ion.Invalid("kid", "is required.")
	case k.Algorithm == "":
		return ion.Invalid("algorithm", "is required, e.g. \"ES256\".")
	case len(k.PrivateJWK) == 0:
		return ion.Invalid("privateJwk", "is required.")
	}
	return c.db.write(ctx, "add signing key", func(b *pgx.Batch, now time.Time) func() error {
		created := now
		if !k.CreatedAt.IsZero() {
			created = k.CreatedAt
		}
		var env ion.Environment
		var envErr, countErr error
		var n int
		queueEnvironment(b, k.Environment, &env, &envErr)
		queue(b, `SELECT count(*) FROM signing_keys WHERE environment = ? AND kid = ?`, k.Environment, k.KID).
			QueryRow(func(r pgx.Row) error { countErr = r.Scan(&n); return nil })
		queue(b, `INSERT INTO signing_keys (environment, kid, algorithm, private_jwk, created_at, retired_at) VALUES (?, ?, ?, ?, ?, ?)`,
			k.Environment, k.KID, k.Algorithm, k.PrivateJWK, sqlcol.ToMicros(created), sqlcol.NullMicros(k.RetiredAt))
		return func() error {
			switch {
			case envErr != nil:
				return asInvalidRef("environment", envErr)
			case countErr != nil:
				return countErr
			case n > 0:
				return ion.Errorf(ion.ECONFLICT, "signing key %q already exists in environment %q.", k.KID, k.Environment)
			}
			return nil
		}
	})
}

// SigningKeys lists the keys of environment env, newest first.
func (c *ControlStore) SigningKeys(ctx context.Context, env string) ([]ion.SigningKey, error) {
	rows, err := c.db.reader(ctx).QueryContext(ctx, `SELECT kid, environment, algorithm, private_jwk, created_at, retired_at
		FROM signing_keys WHERE environment = ? ORDER BY created_at DESC, seq DESC`, env)
	if err != nil {
		return nil, wrapErr("signing keys", err)
	}
	defer rows.Close()
	out := []ion.SigningKey{}
	for rows.Next() {
		var k ion.SigningKey
		if err := rows.Scan(&k.KID, &k.Environment, &k.Algorithm, &k.PrivateJWK, sqlcol.Micros{Dst: &k.CreatedAt}, sqlcol.Micros{Dst: &k.RetiredAt}); err != nil {
			return nil, wrapErr("signing keys", err)
		}
		out = append(out, k)
	}
	return out, wrapErr("signing keys", rows.Err())
}

// RetireSigningKey sets the time a key stops signing. NOT_FOUND for an
// unknown key.
func (c *ControlStore) RetireSigningKey(ctx context.Context, env, kid string, at time.Time) error {
	return c.db.update(ctx, "retire signing key", func(tx *tx) error {
		res, err := tx.exec(`UPDATE signing_keys SET retired_at = ? WHERE environment = ? AND kid = ?`, sqlcol.ToMicros(at), env, kid)
		if err != nil {
			return err
		}
		if res.RowsAffected() == 0 {
			return ion.Errorf(ion.ENOTFOUND, "signing key %q not found in environment %q.", kid, env)
		}
		return nil
	})
}

// asInvalidRef turns the NOT_FOUND of a referenced object into the
// VALIDATION_ERROR of the field that references it: "locationId: location
// 99 not found."
func asInvalidRef(field string, err error) error {
	if ion.ErrorCode(err) == ion.ENOTFOUND {
		return ion.Invalid(field, "%s", ion.ErrorMessage(err))
	}
	return err
}
