package cli

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/ionbox/ionbox/client"
)

// PromoteCmd groups promotion commands.
type PromoteCmd struct {
	Check PromoteCheckCmd `cmd:"" help:"Read-only checks against a target environment before any write."`
}

// PromoteCheckCmd is `ionbox promote check`: discover the target, exchange
// the credential, run currentUser and a list query. It never writes.
type PromoteCheckCmd struct {
	IONFlags
	Expect string `name:"expect" enum:"production,sandbox," default:"" help:"Fail unless the target is of this kind (production or sandbox)."`
}

func (c *PromoteCheckCmd) Run(g *Globals) error {
	if err := c.resolve(); err != nil {
		return err
	}
	if c.BaseURL == "" {
		return fmt.Errorf("no target: set --base-url or %sBASE_URL", c.prefix)
	}
	var l checkList
	var env *client.Environment
	var user *client.User
	l.run("discover", func() (string, error) {
		var err error
		env, err = client.Discover(g.Ctx, nil, c.BaseURL)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s is %s (state %s)", c.BaseURL, env.Describe(), env.State), nil
	})
	if c.Expect != "" {
		l.run("expected kind", func() (string, error) {
			if env.Kind != c.Expect {
				return "", fmt.Errorf("%s is %s, not %s; check --base-url", c.BaseURL, env.Describe(), c.Expect)
			}
			return env.Kind, nil
		})
	}
	var cl *client.Client
	l.run("credential", func() (string, error) {
		var err error
		if cl, err = c.client(); err != nil {
			return "", err
		}
		if _, err := cl.AccessToken(g.Ctx); err != nil {
			return "", err
		}
		if c.Token != "" {
			return "access token accepted for this environment", nil
		}
		return fmt.Sprintf("client %s exchanged for an access token", c.ClientID), nil
	})
	l.run("currentUser", func() (string, error) {
		var err error
		if user, err = cl.CurrentUser(g.Ctx); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s <%s>", user.Name, user.Email), nil
	})
	l.run("list parts", func() (string, error) {
		page, err := cl.Parts(g.Ctx, client.ListParams{First: 1})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d parts", page.PageInfo.TotalCount), nil
	})

	report := map[string]any{"baseUrl": c.BaseURL}
	var facts [][]string
	if env != nil {
		report["environment"] = env
		features := "none"
		if len(env.Features) > 0 {
			features = strings.Join(env.Features, ", ")
		}
		facts = append(facts, []string{"environment", env.Describe()}, []string{"kind", env.Kind},
			[]string{"features", features}, []string{"rate limits", rateLimits(env.RateLimit)})
	}
	if user != nil {
		report["organization"] = user.Organization
		facts = append([][]string{{"organization", fmt.Sprintf("%s (id %d)", user.Organization.Domain, user.Organization.ID)}}, facts...)
	}
	if c.JSON {
		if err := l.print(g, true, report); err != nil {
			return err
		}
	} else {
		if err := l.print(g, false, nil); err != nil {
			return err
		}
		if len(facts) > 0 {
			fmt.Fprintln(g.Stdout)
			if err := printTable(g.Stdout, nil, facts); err != nil {
				return err
			}
		}
	}
	if l.failed {
		f := l.firstFailure()
		return fmt.Errorf("promote check failed at %s: %s", f.Name, f.Detail)
	}
	return nil
}

// rateLimits renders the discovery document's rateLimit object.
func rateLimits(m map[string]any) string {
	if len(m) == 0 {
		return "not reported"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v, _ := json.Marshal(m[k])
		parts = append(parts, k+"="+string(v))
	}
	return strings.Join(parts, " ")
}
