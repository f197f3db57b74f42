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
// the ION_* variables of the same names.
type IONFlags struct {
	BaseURL      string `name:"base-url" env:"ION_BASE_URL" help:"Environment base URL, e.g. http://127.0.0.1:8080 or …/sandboxes/NAME."`
	ClientID     string `name:"client-id" env:"ION_CLIENT_ID" help:"API key client id (with --client-secret)."`
	ClientSecret string `name:"client-secret" env:"ION_CLIENT_SECRET" help:"API key client secret (ion_prod_… or ion_sbx_…)."`
	Token        string `name:"token" env:"ION_TOKEN" help:"A ready access token, instead of client credentials."`
	JSON         bool   `name:"json" help:"Print JSON for scripts."`
}

// client builds an SDK client; errors name the missing flag and variable.
func (f *IONFlags) client() (*client.Client, error) {
	if f.BaseURL == "" {
		return nil, fmt.Errorf("no environment: set ION_BASE_URL or --base-url")
	}
	cfg := client.Config{BaseURL: f.BaseURL, Token: f.Token}
	if f.Token == "" {
		if f.ClientID == "" || f.ClientSecret == "" {
			return nil, fmt.Errorf("no credential: set ION_CLIENT_ID and ION_CLIENT_SECRET (or --client-id and --client-secret), or ION_TOKEN")
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
