package cli

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/ionbox/ionbox/client"
)

// SmokeCmd is `ionbox smoke`: the after-reset smoke test.
type SmokeCmd struct {
	IONFlags
}

// check is one line of a smoke or promote report.
type check struct {
	Name   string `json:"name"`
	Result string `json:"result"` // ok, FAIL or skipped
	Detail string `json:"detail"`
}

// checkList runs checks in order; once one fails the rest are skipped,
// because each depends on the one before.
type checkList struct {
	checks []check
	failed bool
}

func (l *checkList) run(name string, f func() (string, error)) {
	if l.failed {
		l.checks = append(l.checks, check{Name: name, Result: "skipped", Detail: "an earlier check failed"})
		return
	}
	detail, err := f()
	if err != nil {
		l.failed = true
		l.checks = append(l.checks, check{Name: name, Result: "FAIL", Detail: err.Error()})
		return
	}
	l.checks = append(l.checks, check{Name: name, Result: "ok", Detail: detail})
}

func (l *checkList) print(g *Globals, asJSON bool, extra map[string]any) error {
	if asJSON {
		out := map[string]any{"ok": !l.failed, "checks": l.checks}
		for k, v := range extra {
			out[k] = v
		}
		return printJSON(g.Stdout, out)
	}
	p := paletteFor(g.Stdout)
	rows := make([][]string, 0, len(l.checks))
	for _, c := range l.checks {
		rows = append(rows, []string{c.Name, p.result(c.Result), c.Detail})
	}
	return printTable(g.Stdout, []string{"CHECK", "RESULT", "DETAIL"}, rows)
}

// firstFailure is the first failed check, for the error message.
func (l *checkList) firstFailure() check {
	for _, c := range l.checks {
		if c.Result == "FAIL" {
			return c
		}
	}
	return check{}
}

func (c *SmokeCmd) Run(g *Globals) error {
	var l checkList
	cl, err := c.client()
	if err != nil {
		return err
	}
	ctx := g.Ctx
	l.run("currentUser", func() (string, error) {
		u, err := cl.CurrentUser(ctx)
		if err != nil {
			return "", err
		}
		env, _ := cl.Environment(ctx)
		return fmt.Sprintf("%s <%s> in %s, %s", u.Name, u.Email, u.Organization.Domain, env.Describe()), nil
	})
	l.run("list parts", func() (string, error) {
		page, err := cl.Parts(ctx, client.ListParams{First: 5})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d on the first page, %d in all", page.PageInfo.Count, page.PageInfo.TotalCount), nil
	})
	var loc struct {
		ID   int64  `json:"id"`
		Etag string `json:"_etag"`
		Name string `json:"name"`
	}
	name := "ionbox-smoke-" + randomHex(4)
	l.run("write", func() (string, error) {
		var out struct {
			CreateLocation struct{ Location *struct{ ID int64 } }
		}
		err := cl.Do(ctx, `mutation SmokeWrite($input: CreateLocationInput!) { createLocation(input: $input) { location { id } } }`,
			map[string]any{"input": map[string]any{"name": name}}, &out)
		if err != nil {
			return "", err
		}
		if out.CreateLocation.Location == nil {
			return "", errors.New("createLocation returned no location")
		}
		return fmt.Sprintf("location %d %q", out.CreateLocation.Location.ID, name), nil
	})
	readLocation := func(id int64) (bool, error) {
		var out struct {
			Location *struct {
				ID   int64  `json:"id"`
				Etag string `json:"_etag"`
				Name string `json:"name"`
			}
		}
		err := cl.Do(ctx, `query SmokeRead($id: ID!) { location(id: $id) { id _etag name } }`, map[string]any{"id": id}, &out)
		if errors.Is(err, client.ErrNotFound) || (err == nil && out.Location == nil) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		loc.ID, loc.Etag, loc.Name = out.Location.ID, out.Location.Etag, out.Location.Name
		return true, nil
	}
	l.run("read back", func() (string, error) {
		var found struct {
			Locations struct {
				Edges []struct{ Node struct{ ID int64 } }
			}
		}
		err := cl.Do(ctx, `query SmokeFind($f: LocationsInputFilters) { locations(filters: $f, first: 1) { edges { node { id } } } }`,
			map[string]any{"f": map[string]any{"name": map[string]any{"eq": name}}}, &found)
		if err != nil {
			return "", err
		}
		if len(found.Locations.Edges) != 1 {
			return "", fmt.Errorf("location %q not found by name after writing it", name)
		}
		ok, err := readLocation(found.Locations.Edges[0].Node.ID)
		if err != nil {
			return "", err
		}
		if !ok || loc.Name != name {
			return "", fmt.Errorf("location %d read back as %q, want %q", found.Locations.Edges[0].Node.ID, loc.Name, name)
		}
		return fmt.Sprintf("location %d %q", loc.ID, loc.Name), nil
	})
	l.run("clean up", func() (string, error) {
		if err := cl.Do(ctx, `mutation SmokeDelete($id: ID!, $etag: String!) { deleteLocation(id: $id, etag: $etag) { id } }`,
			map[string]any{"id": loc.ID, "etag": loc.Etag}, nil); err != nil {
			return "", err
		}
		ok, err := readLocation(loc.ID)
		if err != nil {
			return "", err
		}
		if ok {
			return "", fmt.Errorf("location %d still there after deleting it", loc.ID)
		}
		return fmt.Sprintf("location %d deleted", loc.ID), nil
	})
	if err := l.print(g, c.JSON, map[string]any{"baseUrl": cl.BaseURL()}); err != nil {
		return err
	}
	if l.failed {
		f := l.firstFailure()
		return fmt.Errorf("smoke failed at %s: %s", f.Name, f.Detail)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
