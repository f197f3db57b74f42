package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/ionbox/ionbox/client"
)

// The integration developer's commands (token, seed chain, smoke, promote
// check) talk to an environment only through the Go SDK (module
// github.com/ionbox/ionbox/client), exactly as an integration would.

// IONFlags are an environment's base URL and a credential, from flags or
// environment variables: ION_BASE_URL, ION_CLIENT_ID, ION_CLIENT_SECRET,
// ION_TOKEN; with ION_ENV=sandbox (or --env sandbox) ION_SANDBOX_BASE_URL,
// ION_SANDBOX_CLIENT_ID, … instead, and with ION_ENV=prod ION_PROD_*, the
// conventions of client.FromEnv, so that one shell holds both
// environments' settings and one variable picks. A flag wins over any
// variable.
type IONFlags struct {
	Env          string `name:"env" env:"ION_ENV" help:"sandbox or prod: read ION_SANDBOX_* or ION_PROD_* instead of ION_* (default: ION_*)."`
	BaseURL      string `name:"base-url" help:"Environment base URL, e.g. http://127.0.0.1:8080 or …/sandboxes/NAME (default: $ION_BASE_URL, or $ION_SANDBOX_BASE_URL / $ION_PROD_BASE_URL with --env)."`
	ClientID     string `name:"client-id" help:"API key client id, with --client-secret (default: $ION_CLIENT_ID, or the --env prefixed one)."`
	ClientSecret string `name:"client-secret" help:"API key client secret, ion_prod_… or ion_sbx_… (default: $ION_CLIENT_SECRET, or the --env prefixed one)."`
	Token        string `name:"token" help:"A ready access token, instead of client credentials (default: $ION_TOKEN, or the --env prefixed one)."`
	JSON         bool   `name:"json" help:"Print JSON for scripts."`

	prefix string // the variables' prefix resolve used
}

// envPrefix is the variables' prefix for --env / ION_ENV.
func envPrefix(env string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(env)) {
	case "":
		return "ION_", nil
	case "sandbox", "sbx":
		return "ION_SANDBOX_", nil
	case "prod", "production":
		return "ION_PROD_", nil
	}
	return "", fmt.Errorf("--env / ION_ENV %q: want sandbox or prod (or unset, for ION_BASE_URL, ION_CLIENT_ID, …)", env)
}

// resolve fills what no flag gave from the environment variables.
func (f *IONFlags) resolve() error {
	prefix, err := envPrefix(f.Env)
	if err != nil {
		return err
	}
	f.prefix = prefix
	for _, v := range []struct {
		dst  *string
		name string
	}{{&f.BaseURL, "BASE_URL"}, {&f.ClientID, "CLIENT_ID"}, {&f.ClientSecret, "CLIENT_SECRET"}, {&f.Token, "TOKEN"}} {
		if *v.dst == "" {
			*v.dst = strings.TrimSpace(os.Getenv(prefix + v.name))
		}
	}
	return nil
}

// client builds an SDK client; errors name the missing flag and variable.
func (f *IONFlags) client() (*client.Client, error) {
	if err := f.resolve(); err != nil {
		return nil, err
	}
	p := f.prefix
	if f.BaseURL == "" {
		return nil, fmt.Errorf("no environment: set %sBASE_URL or --base-url", p)
	}
	cfg := client.Config{BaseURL: f.BaseURL, Token: f.Token}
	if f.Token == "" {
		if f.ClientID == "" || f.ClientSecret == "" {
			return nil, fmt.Errorf("no credential: set %sCLIENT_ID and %sCLIENT_SECRET (or --client-id and --client-secret), or %sTOKEN", p, p, p)
		}
		cfg.ClientID, cfg.ClientSecret = f.ClientID, f.ClientSecret
	}
	return client.New(cfg)
}

// printJSON writes v indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printTable writes aligned columns.
func printTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if header != nil {
		fmt.Fprintln(tw, strings.Join(header, "\t"))
	}
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// palette colours check results, only on a terminal and without NO_COLOR.
type palette struct{ on bool }

func paletteFor(w io.Writer) palette {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return palette{}
	}
	fi, err := f.Stat()
	return palette{on: err == nil && fi.Mode()&os.ModeCharDevice != 0}
}

// result colours a check result word. Padding is applied before colour
// codes so that tabwriter columns stay aligned.
func (p palette) result(word string) string {
	if !p.on {
		return word
	}
	switch word {
	case "ok", "created", "completed":
		return "\x1b[32m" + word + "\x1b[0m"
	case "FAIL":
		return "\x1b[31m" + word + "\x1b[0m"
	case "skipped":
		return "\x1b[33m" + word + "\x1b[0m"
	}
	return word
}

// TokenCmd is `ionbox token`.
type TokenCmd struct {
	IONFlags
}

func (c *TokenCmd) Run(g *Globals) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	tok, err := cl.AccessToken(g.Ctx)
	if err != nil {
		return err
	}
	if c.JSON {
		env, _ := cl.Environment(g.Ctx)
		return printJSON(g.Stdout, map[string]any{"accessToken": tok, "environment": env})
	}
	_, err = fmt.Fprintln(g.Stdout, tok)
	return err
}
