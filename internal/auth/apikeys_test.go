package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ionbox/ionbox/ion"
)

func TestCreateAPIKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		env        string
		wantPrefix string
	}{
		{ion.ProductionEnvironment, "ion_prod_"},
		{sandboxName, "ion_sbx_"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			t.Parallel()
			a := b.newAccount(t, tt.env)
			if _, err := uuid.Parse(a.key.ClientID); err != nil {
				t.Errorf("client id %q is not a UUID: %v", a.key.ClientID, err)
			}
			rest, ok := strings.CutPrefix(a.secret, tt.wantPrefix)
			if !ok || len(rest) != 43 || strings.ContainsAny(rest, "+/=") {
				t.Errorf("secret %q: want %s + 43 base64url characters", a.secret, tt.wantPrefix)
			}
			stored, err := b.control.APIKeyByClientID(b.ctx, a.key.ClientID)
			if err != nil {
				t.Fatal(err)
			}
			m := hmac.New(sha256.New, b.hashKey)
			m.Write([]byte(a.secret))
			if !hmac.Equal(stored.SecretHash, m.Sum(nil)) {
				t.Errorf("stored hash is not HMAC-SHA256(HashKey, secret)")
			}
			if want := tt.wantPrefix + "…" + a.secret[len(a.secret)-4:]; stored.SecretHint != want {
				t.Errorf("hint = %q, want %q", stored.SecretHint, want)
			}
			if !stored.Enabled || stored.UserID != a.user.ID || stored.OrganizationID != a.org.ID || stored.Environment != tt.env {
				t.Errorf("stored key = %+v", stored)
			}
		})
	}
}

func TestCreateAPIKeyRejects(t *testing.T) {
	t.Parallel()
	b := setup(t)
	prod := b.newAccount(t, ion.ProductionEnvironment)
	inactive := b.newAccount(t, ion.ProductionEnvironment)
	if _, err := b.control.SetUserActive(b.ctx, inactive.org.ID, inactive.user.ID, false); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		env      string
		org, usr ion.ID
		wantCode string
	}{
		{"an organization of another environment", sandboxName, prod.org.ID, prod.user.ID, ion.ENOTFOUND},
		{"a user of another organization", ion.ProductionEnvironment, prod.org.ID, inactive.user.ID, ion.ENOTFOUND},
		{"a deactivated user", ion.ProductionEnvironment, inactive.org.ID, inactive.user.ID, ion.EVALIDATION},
		{"an unknown environment", "no-such-sandbox", prod.org.ID, prod.user.ID, ion.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, secret, err := b.svc.CreateAPIKey(b.ctx, tt.env, tt.org, tt.usr)
			wantError(t, err, tt.wantCode, "")
			if secret != "" {
				t.Errorf("a secret came back with the error")
			}
		})
	}
}

func TestUpdateAndDeleteAPIKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := b.newAccount(t, sandboxName)
	other := b.newAccount(t, sandboxName)
	notFound := `API key "` + a.key.ClientID + `" not found.`

	// Another organization's key answers like a missing one.
	off := false
	_, _, err := b.svc.UpdateAPIKey(b.ctx, other.org.ID, a.key.ClientID, a.key.Etag, &off, true)
	wantError(t, err, ion.ENOTFOUND, notFound)
	_, err = b.svc.DeleteAPIKey(b.ctx, other.org.ID, a.key.ClientID, a.key.Etag)
	wantError(t, err, ion.ENOTFOUND, notFound)
	_, _, err = b.svc.UpdateAPIKey(b.ctx, a.org.ID, "9d5aeee2-da60-45ad-ab00-3e50a9ee32ff", a.key.Etag, &off, false)
	wantError(t, err, ion.ENOTFOUND, `API key "9d5aeee2-da60-45ad-ab00-3e50a9ee32ff" not found.`)
	if _, err := b.sbx.ClientCredentialsToken(b.ctx, a.key.ClientID, a.secret); err != nil {
		t.Fatalf("the key was changed by another organization: %v", err)
	}

	// Regenerate: the old secret stops working, the new one works.
	k, secret, err := b.svc.UpdateAPIKey(b.ctx, a.org.ID, a.key.ClientID, a.key.Etag, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "ion_sbx_") || secret == a.secret || k.Etag == a.key.Etag || !k.Enabled {
		t.Errorf("regenerate: key %+v, secret %q", k, secret)
	}
	_, err = b.sbx.ClientCredentialsToken(b.ctx, a.key.ClientID, a.secret)
	wantError(t, err, ion.EUNAUTHENTICATED, "Invalid client or Invalid client credentials")
	if _, err := b.sbx.ClientCredentialsToken(b.ctx, a.key.ClientID, secret); err != nil {
		t.Errorf("new secret: %v", err)
	}

	// Without regenerate no secret comes back; a stale etag is a conflict.
	k2, secret2, err := b.svc.UpdateAPIKey(b.ctx, a.org.ID, a.key.ClientID, k.Etag, &off, false)
	if err != nil || secret2 != "" || k2.Enabled {
		t.Fatalf("disable: %+v %q %v", k2, secret2, err)
	}
	_, _, err = b.svc.UpdateAPIKey(b.ctx, a.org.ID, a.key.ClientID, k.Etag, nil, false)
	wantError(t, err, ion.ECONFLICT, "")

	deleted, err := b.svc.DeleteAPIKey(b.ctx, a.org.ID, a.key.ClientID, k2.Etag)
	if err != nil || deleted.ClientID != a.key.ClientID {
		t.Fatalf("delete: %+v %v", deleted, err)
	}
	_, err = b.sbx.ClientCredentialsToken(b.ctx, a.key.ClientID, secret)
	wantError(t, err, ion.EUNAUTHENTICATED, "Invalid client or Invalid client credentials")
}

// No client secret, nor its random part, is anywhere in the data directory:
// not in the database, its WAL, or any other file.
func TestSecretsAreNotStored(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var secrets []string
	for _, env := range []string{ion.ProductionEnvironment, ion.ProductionEnvironment, sandboxName, sandboxName} {
		a := b.newAccount(t, env)
		secrets = append(secrets, a.secret)
		_, regenerated, err := b.svc.UpdateAPIKey(b.ctx, a.org.ID, a.key.ClientID, a.key.Etag, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, regenerated)
		// A token exchange must not leave the secret behind either.
		iss := b.prod
		if env == sandboxName {
			iss = b.sbx
		}
		if _, err := iss.ClientCredentialsToken(b.ctx, a.key.ClientID, regenerated); err != nil {
			t.Fatal(err)
		}
	}
	files := 0
	err := filepath.WalkDir(b.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, s := range secrets {
			// The random part alone, in case a store dropped the prefix.
			random := strings.TrimPrefix(strings.TrimPrefix(s, SecretPrefixProduction), SecretPrefixSandbox)
			if len(random) != 43 {
				t.Fatalf("secret %q has an unexpected shape", s)
			}
			if bytes.Contains(data, []byte(s)) || bytes.Contains(data, []byte(random)) {
				t.Errorf("%s contains a client secret in plain text", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("the data directory is empty; the test reads nothing")
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"no store", Config{HashKey: b.hashKey}, "Config.Control"},
		{"no hash key", Config{Control: b.control}, "Config.HashKey"},
		{"short hash key", Config{Control: b.control, HashKey: b.hashKey[:31]}, "Config.HashKey"},
		{"negative TTL", Config{Control: b.control, HashKey: b.hashKey, TokenTTL: -1}, "Config.TokenTTL"},
		{"negative skew", Config{Control: b.control, HashKey: b.hashKey, ClockSkew: -1}, "Config.ClockSkew"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New: %v, want an error naming %s", err, tt.wantErr)
			}
		})
	}
	svc, err := New(Config{Control: b.control, HashKey: b.hashKey})
	if err != nil {
		t.Fatal(err)
	}
	if c := svc.cfg; c.TokenTTL.Seconds() != 3600 || c.ClockSkew.Seconds() != 60 || c.TokenCacheSize != 10000 || c.Now == nil || c.Logger == nil {
		t.Errorf("defaults: %+v", c)
	}
}

func TestIssuerArguments(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name    string
		env     ion.Environment
		base    string
		wantErr string
	}{
		{"relative base URL", ion.Environment{Name: "x1", Kind: ion.EnvSandbox}, "/sandboxes/x1", "absolute"},
		{"base URL with a query", ion.Environment{Name: "x2", Kind: ion.EnvSandbox}, "http://h/?a=b", "absolute"},
		{"no kind", ion.Environment{Name: "x3"}, "http://h/sandboxes/x3", "Kind"},
		{"no name", ion.Environment{Kind: ion.EnvSandbox}, "http://h/sandboxes/x4", "Name"},
		{"production at a second base URL", b.prodEnv, "http://other.example", "already has an issuer"},
		{"the sandbox registered as production", ion.Environment{Name: sandboxName, Kind: ion.EnvProduction}, b.sbxBase(), "Kind"},
		{"another environment at the sandbox's base URL", ion.Environment{Name: "x5", Kind: ion.EnvSandbox}, b.sbxBase(), "already used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := b.svc.Issuer(b.ctx, tt.env, tt.base)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Issuer: %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
