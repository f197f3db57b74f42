package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ionbox/ionbox/internal/server"
)

// CLI is the whole command line of ionbox.
type CLI struct {
	Serve   ServeCmd   `cmd:"" help:"Run the ionbox server (production environment, admin API)."`
	Org     OrgCmd     `cmd:"" help:"Manage production organizations through the admin API."`
	User    UserCmd    `cmd:"" help:"Manage users of an organization through the admin API."`
	Apikey  ApikeyCmd  `cmd:"" name:"apikey" help:"Create API keys (client credentials) through the admin API."`
	Sandbox SandboxCmd `cmd:"" help:"Request, approve, reset, checkpoint, extend and delete sandboxes through the admin API."`

	Token   TokenCmd   `cmd:"" help:"Print an access token for ION_BASE_URL and the configured credentials."`
	Seed    SeedCmd    `cmd:"" help:"Seed test data in the configured environment."`
	Smoke   SmokeCmd   `cmd:"" help:"Smoke test: read, write, read back, clean up; exit 0 only if all pass."`
	Promote PromoteCmd `cmd:"" help:"Read-only checks before promoting an integration to another environment."`
	Listen  ListenCmd  `cmd:"" help:"Stream a sandbox's webhook sink to a local receiver, signed as live deliveries are."`
}

// Globals are handed to every command's Run.
type Globals struct {
	Ctx    context.Context
	Stdout io.Writer
	Stderr io.Writer
}

// ServeCmd is `ionbox serve`.
type ServeCmd struct {
	Addr          string `default:"127.0.0.1:8080" env:"IONBOX_ADDR" help:"Listen address."`
	Data          string `default:"./ionbox-data" env:"IONBOX_DATA" help:"Data directory (SQLite files, admin token)."`
	Store         string `default:"sqlite" env:"IONBOX_STORE" help:"Store: sqlite (embedded, in --data) or a postgres:// URL shared by replicas."`
	StoreSchema   string `name:"store-schema" env:"IONBOX_STORE_SCHEMA" help:"Prefix of the PostgreSQL schemas (default ion_)."`
	HashKey       string `name:"hash-key" env:"IONBOX_HASH_KEY" help:"Hex key for hashing client secrets, >= 64 hex digits (default: generated into <data>/hash.key); replicas must share it."`
	PublicURL     string `name:"public-url" env:"IONBOX_PUBLIC_URL" help:"Base URL clients use for production (default http://<addr>)."`
	SandboxDomain string `name:"sandbox-domain" env:"IONBOX_SANDBOX_DOMAIN" help:"Also serve sandbox NAME at host NAME.<domain> (default: path-based sandbox URLs only)."`
	AdminToken    string `name:"admin-token" env:"IONBOX_ADMIN_TOKEN" help:"Admin API token (default: generated once into <data>/admin-token)."`
	TLSCert       string `name:"tls-cert" env:"IONBOX_TLS_CERT" help:"Serve HTTPS with this certificate (PEM; with --tls-key)."`
	TLSKey        string `name:"tls-key" env:"IONBOX_TLS_KEY" help:"Private key (PEM) for --tls-cert."`
	TLSSelfSigned bool   `name:"tls-self-signed" env:"IONBOX_TLS_SELF_SIGNED" help:"Serve HTTPS with a local CA made once in <data>/tls; its CA file is logged."`
	Redis         string `name:"redis" env:"IONBOX_REDIS" help:"Share rate limits across replicas through this Redis (redis://host:port/db); default: in-process limits."`
	ScrubPolicy   string `name:"scrub-policy" env:"IONBOX_SCRUB_POLICY" help:"Scrub policy file for snapshot sandboxes (default: the embedded policy.v1.yaml; print it with ionbox sandbox scrub-policy)."`

	AllowPrivateWebhooks bool `name:"allow-private-webhooks" env:"IONBOX_ALLOW_PRIVATE_WEBHOOKS" help:"Allow webhook receivers on loopback and private addresses (local development and tests); default: public addresses only."`
}

func (c *ServeCmd) Run(g *Globals) error {
	server.TuneRuntime()
	return server.Run(g.Ctx, server.Config{
		Addr: c.Addr, DataDir: c.Data, Store: c.Store, PublicURL: c.PublicURL, AdminToken: c.AdminToken,
		StoreSchema: c.StoreSchema, HashKey: c.HashKey,
		SandboxDomain: c.SandboxDomain, TLSCert: c.TLSCert, TLSKey: c.TLSKey, TLSSelfSigned: c.TLSSelfSigned,
		Redis: c.Redis, ScrubPolicy: c.ScrubPolicy, AllowPrivateWebhooks: c.AllowPrivateWebhooks,
	})
}

// AdminFlags locate a running server's admin API.
type AdminFlags struct {
	URL        string `name:"url" default:"http://127.0.0.1:8080" env:"IONBOX_URL" help:"ionbox server URL."`
	AdminToken string `name:"admin-token" env:"IONBOX_ADMIN_TOKEN" help:"Admin token (default: read from <data>/admin-token)."`
	Data       string `default:"./ionbox-data" env:"IONBOX_DATA" help:"Data directory whose admin-token file to read."`
	JSON       bool   `name:"json" help:"Print the raw JSON answer."`
}

func (f *AdminFlags) token() (string, error) {
	if f.AdminToken != "" {
		return f.AdminToken, nil
	}
	path := filepath.Join(f.Data, "admin-token")
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("no admin token: set IONBOX_ADMIN_TOKEN or --admin-token, or point --data at the server's data directory (%v)", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// call sends one admin API request and decodes the answer into out.
func (f *AdminFlags) call(ctx context.Context, method, path string, body, out any) error {
	return f.callWithin(ctx, 30*time.Second, method, path, body, out)
}

// callWithin is call with its own time limit (0: none but ctx's), for calls
// that may take minutes, such as provisioning a large seeded sandbox.
func (f *AdminFlags) callWithin(ctx context.Context, limit time.Duration, method, path string, body, out any) error {
	token, err := f.token()
	if err != nil {
		return err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(f.URL, "/")+path, rd)
	if err != nil {
		return fmt.Errorf("bad --url %q: %w", f.URL, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach ionbox at %s (is `ionbox serve` running? set IONBOX_URL): %w", f.URL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 10<<20))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		var p struct {
			Detail string `json:"detail"`
			Code   string `json:"code"`
		}
		if json.Unmarshal(raw, &p) == nil && p.Detail != "" {
			return fmt.Errorf("%s %s: %s (%s)", method, path, p.Detail, p.Code)
		}
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(raw))
	}
	if out == nil {
		return nil
	}
	if raw2, ok := out.(*json.RawMessage); ok {
		*raw2 = raw
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode answer of %s %s: %w", method, path, err)
	}
	return nil
}

// print writes either the raw JSON or a table of rows.
func (f *AdminFlags) print(g *Globals, raw json.RawMessage, header []string, rows [][]string) error {
	if f.JSON {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		enc := json.NewEncoder(g.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// OrgCmd groups organization commands.
type OrgCmd struct {
	Create OrgCreateCmd `cmd:"" help:"Create a production organization."`
	List   OrgListCmd   `cmd:"" help:"List production organizations."`
}

type OrgCreateCmd struct {
	AdminFlags
	Name   string `required:"" help:"Organization name."`
	Domain string `required:"" help:"Organization domain, e.g. acme.example."`
	Tier   string `default:"standard" enum:"standard,enterprise" help:"Tier: standard or enterprise."`
}

func (c *OrgCreateCmd) Run(g *Globals) error {
	var raw json.RawMessage
	if err := c.call(g.Ctx, http.MethodPost, "/admin/v1/organizations", map[string]string{"name": c.Name, "domain": c.Domain, "tier": c.Tier}, &raw); err != nil {
		return err
	}
	var o struct {
		ID                 int64
		Name, Domain, Tier string
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return err
	}
	return c.print(g, raw, []string{"ID", "NAME", "DOMAIN", "TIER"}, [][]string{{fmt.Sprint(o.ID), o.Name, o.Domain, o.Tier}})
}

type OrgListCmd struct{ AdminFlags }

func (c *OrgListCmd) Run(g *Globals) error {
	var raw json.RawMessage
	if err := c.call(g.Ctx, http.MethodGet, "/admin/v1/organizations", nil, &raw); err != nil {
		return err
	}
	var list struct {
		Organizations []struct {
			ID                 int64
			Name, Domain, Tier string
		}
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return err
	}
	rows := [][]string{}
	for _, o := range list.Organizations {
		rows = append(rows, []string{fmt.Sprint(o.ID), o.Name, o.Domain, o.Tier})
	}
	return c.print(g, raw, []string{"ID", "NAME", "DOMAIN", "TIER"}, rows)
}

// UserCmd groups user commands.
type UserCmd struct {
	Create UserCreateCmd `cmd:"" help:"Create a user in an organization."`
}

type UserCreateCmd struct {
	AdminFlags
	Org   int64    `required:"" help:"Organization id."`
	Name  string   `required:"" help:"User name."`
	Email string   `required:"" help:"User email."`
	Roles []string `default:"admin" help:"Roles (comma-separated)."`
}

func (c *UserCreateCmd) Run(g *Globals) error {
	var raw json.RawMessage
	path := fmt.Sprintf("/admin/v1/organizations/%d/users", c.Org)
	if err := c.call(g.Ctx, http.MethodPost, path, map[string]any{"name": c.Name, "email": c.Email, "roles": c.Roles}, &raw); err != nil {
		return err
	}
	var u struct {
		ID          int64
		Name, Email string
		Roles       []string
	}
	if err := json.Unmarshal(raw, &u); err != nil {
		return err
	}
	return c.print(g, raw, []string{"ID", "NAME", "EMAIL", "ROLES"}, [][]string{{fmt.Sprint(u.ID), u.Name, u.Email, strings.Join(u.Roles, ",")}})
}

// ApikeyCmd groups API key commands.
type ApikeyCmd struct {
	Create ApikeyCreateCmd `cmd:"" help:"Create an API key that acts as a user; the secret is shown once."`
}

type ApikeyCreateCmd struct {
	AdminFlags
	Org    int64 `required:"" help:"Organization id."`
	User   int64 `required:"" help:"User id the key acts as."`
	Export bool  `name:"export" help:"Print export lines for the shell instead: ION_PROD_BASE_URL, ION_PROD_CLIENT_ID and ION_PROD_CLIENT_SECRET (the names ION_ENV=prod reads), for eval \"$(ionbox apikey create … --export)\"."`
}

func (c *ApikeyCreateCmd) Run(g *Globals) error {
	var raw json.RawMessage
	path := fmt.Sprintf("/admin/v1/organizations/%d/api-keys", c.Org)
	if err := c.call(g.Ctx, http.MethodPost, path, map[string]any{"userId": c.User}, &raw); err != nil {
		return err
	}
	var k struct {
		ClientID, ClientSecret, Environment, TokenURL string
	}
	if err := json.Unmarshal(raw, &k); err != nil {
		return err
	}
	if c.JSON {
		return c.print(g, raw, nil, nil)
	}
	if c.Export {
		// The key's environment base URL is its token URL's base.
		base := strings.TrimSuffix(k.TokenURL, "/realms/api-keys/protocol/openid-connect/token")
		fmt.Fprintf(g.Stdout, "export ION_PROD_BASE_URL=%s\nexport ION_PROD_CLIENT_ID=%s\nexport ION_PROD_CLIENT_SECRET=%s\n",
			shellQuote(base), shellQuote(k.ClientID), shellQuote(k.ClientSecret))
		fmt.Fprintf(g.Stderr, "The secret is shown once; it is stored only as a hash. Environment: %s.\n", k.Environment)
		return nil
	}
	fmt.Fprintf(g.Stdout, "ION_CLIENT_ID=%s\nION_CLIENT_SECRET=%s\nION_TOKEN_URL=%s\n", k.ClientID, k.ClientSecret, k.TokenURL)
	fmt.Fprintf(g.Stderr, "The secret is shown once; it is stored only as a hash. Environment: %s.\n", k.Environment)
	return nil
}
