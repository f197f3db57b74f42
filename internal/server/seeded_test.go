package server

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

const requestSandboxMutation = `mutation ($input: RequestSandboxInput!) {
  requestSandbox(input: $input) {
    sandboxRequest { id name status shape size requestedBy sandbox { name shape state baseUrl graphqlUrl tokenUrl } }
    credentials { serviceAccount clientId clientSecret }
  }
}`

// requestSeeded asks for a seeded sandbox through production's GraphQL
// API as prod's admin and exchanges its service account's credential.
func requestSeeded(t *testing.T, b *bundle, prod credential, name string) sandboxCred {
	t.Helper()
	data := b.mustGQL(prod.token, requestSandboxMutation, map[string]any{"input": map[string]any{
		"name": name, "shape": "seeded", "reason": "onboarding", "integration": "erp",
		"members":         []map[string]string{{"name": "Ada", "email": "ada@" + prod.domain}},
		"serviceAccounts": []map[string]string{{"name": "erp-sync"}},
	}})
	req := dig(data, "requestSandbox", "sandboxRequest")
	if dig(req, "status") != "provisioned" || dig(req, "shape") != "seeded" || dig(req, "size") != "small" || dig(req, "requestedBy") != prod.email {
		t.Fatalf("requestSandbox answered %v", data)
	}
	sb := dig(req, "sandbox")
	if dig(sb, "name") != name || dig(sb, "state") != "active" || dig(sb, "graphqlUrl") != fmt.Sprint(dig(sb, "baseUrl"), "/graphql") {
		t.Fatalf("the request's sandbox is %v", sb)
	}
	creds, _ := dig(data, "requestSandbox", "credentials").([]any)
	if len(creds) != 1 || dig(creds[0], "serviceAccount") != "erp-sync" || !strings.HasPrefix(fmt.Sprint(dig(creds[0], "clientSecret")), "ion_sbx_") {
		t.Fatalf("credentials: %v", creds)
	}
	c := sandboxCred{name: name, baseURL: fmt.Sprint(dig(sb, "baseUrl")), tokenURL: fmt.Sprint(dig(sb, "tokenUrl")),
		clientID: fmt.Sprint(dig(creds[0], "clientId")), secret: fmt.Sprint(dig(creds[0], "clientSecret"))}
	c.token = b.exchange(c.tokenURL, c.clientID, c.secret)
	return c
}

const countsQuery = `{ parts(first: 1000) { totalCount edges { node { partNumber } } } runs(first: 1) { totalCount } }`

func TestRequestSandboxThroughGraphQL(t *testing.T) {
	t.Parallel()
	b := setup(t)
	prod := b.newCredential("Acme")
	sb := requestSeeded(t, b, prod, "acme-demo")

	// The sandbox holds the demo factory.
	s := b.at(sb.baseURL)
	data := s.mustGQL(sb.token, countsQuery, nil)
	parts, runs := dig(data, "parts", "totalCount").(float64), dig(data, "runs", "totalCount").(float64)
	if parts < 20 || runs < 20 {
		t.Fatalf("the seeded sandbox has %v parts and %v runs; want the demo factory", parts, runs)
	}

	// The organization's admin lists its requests and sandboxes; another
	// organization sees none of them.
	lists := `{ sandboxRequests { name status size sandbox { name } } sandboxes { name shape state } }`
	data = b.mustGQL(prod.token, lists, nil)
	if reqs, _ := data["sandboxRequests"].([]any); len(reqs) != 1 || dig(reqs[0], "name") != "acme-demo" || dig(reqs[0], "sandbox", "name") != "acme-demo" {
		t.Fatalf("sandboxRequests: %v", data["sandboxRequests"])
	}
	if sbs, _ := data["sandboxes"].([]any); len(sbs) != 1 || dig(sbs[0], "shape") != "seeded" || dig(sbs[0], "state") != "active" {
		t.Fatalf("sandboxes: %v", data["sandboxes"])
	}
	other := b.newCredential("Other")
	data = b.mustGQL(other.token, lists, nil)
	if reqs, _ := data["sandboxRequests"].([]any); len(reqs) != 0 {
		t.Fatalf("another organization sees requests %v", reqs)
	}
	if sbs, _ := data["sandboxes"].([]any); len(sbs) != 0 {
		t.Fatalf("another organization sees sandboxes %v", sbs)
	}

	// resetSandbox, inside the sandbox, by its admins.
	createPart(t, s, sb.token, "MINE-1")
	reset := s.mustGQL(sb.token, `mutation { resetSandbox { resetTo durationMs sandbox { name state } } }`, nil)
	if dig(reset, "resetSandbox", "resetTo") != "baseline" || dig(reset, "resetSandbox", "sandbox", "state") != "active" {
		t.Fatalf("resetSandbox answered %v", reset)
	}
	if got := s.mustGQL(sb.token, countsQuery, nil); dig(got, "parts", "totalCount") != parts {
		t.Fatalf("after resetSandbox %v parts, want the %v of the baseline", dig(got, "parts", "totalCount"), parts)
	}
	var events struct {
		Events []struct{ Kind, Actor string }
	}
	b.admin("GET", "/admin/v1/sandboxes/acme-demo/events", nil, &events)
	last := events.Events[len(events.Events)-1]
	if last.Kind != ion.EventReset || !strings.HasPrefix(last.Actor, "erp-sync@") {
		t.Fatalf("last lifecycle event %+v, want a reset by the service account", last)
	}

	// Refusals: each names what to do instead.
	noAdmin := b.newCredential("Plain")
	var user struct{ ID int64 }
	b.admin("POST", fmt.Sprintf("/admin/v1/organizations/%d/users", noAdmin.orgID), map[string]any{"name": "Viewer", "email": "viewer@plain.example", "roles": []string{}}, &user)
	var key struct{ ClientID, ClientSecret, TokenURL string }
	b.admin("POST", fmt.Sprintf("/admin/v1/organizations/%d/api-keys", noAdmin.orgID), map[string]any{"userId": user.ID}, &key)
	viewer := b.exchange(key.TokenURL, key.ClientID, key.ClientSecret)
	seeded := map[string]any{"input": map[string]any{"name": "x-one", "shape": "seeded"}}
	for _, tc := range []struct {
		name     string
		at       *bundle
		token    string
		query    string
		vars     map[string]any
		wantCode string
		wantText string
	}{
		{"not an admin", b, viewer, requestSandboxMutation, seeded, ion.EFORBIDDEN, "admin"},
		{"not an admin lists", b, viewer, `{ sandboxes { name } }`, nil, ion.EFORBIDDEN, "admin"},
		{"from inside a sandbox", s, sb.token, requestSandboxMutation, seeded, ion.EFORBIDDEN, "production"},
		{"reset in production", b, prod.token, `mutation { resetSandbox { resetTo } }`, nil, ion.EFORBIDDEN, "sandbox's base URL"},
		{"unknown checkpoint", s, sb.token, `mutation { resetSandbox(checkpoint: "nope") { resetTo } }`, nil, ion.ENOTFOUND, "nope"},
		{"unknown size", b, prod.token, requestSandboxMutation, map[string]any{"input": map[string]any{"name": "x-two", "shape": "seeded", "size": "huge"}}, ion.EVALIDATION, "size"},
		{"taken name", b, prod.token, requestSandboxMutation, map[string]any{"input": map[string]any{"name": "acme-demo"}}, ion.EVALIDATION, "name"},
		// A GraphQL operation cannot wait minutes for the large seed
		// data's first build: it starts in the background instead.
		{"large before its seed data is built", b, prod.token, requestSandboxMutation,
			map[string]any{"input": map[string]any{"name": "x-large", "shape": "seeded", "size": "large"}}, ion.ECONFLICT, "being built"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.at.gql(tc.token, tc.query, tc.vars)
			if r.code() != tc.wantCode || !strings.Contains(r.Raw, tc.wantText) {
				t.Fatalf("answered %s, want code %s mentioning %q", r.Raw, tc.wantCode, tc.wantText)
			}
		})
	}
}

// Readers and writers hammer a seeded sandbox while it is reset again and
// again, through resetSandbox and the admin API: every answer is a whole
// state, the baseline's parts with some of the writers' after them, or a
// 503 while a reset runs; never a mix of two states.
func TestSeededSandboxResetWhileBusy(t *testing.T) {
	t.Parallel()
	b := setup(t)
	prod := b.newCredential("Acme")
	sb := requestSeeded(t, b, prod, "acme-busy")
	s := b.at(sb.baseURL)
	baseline := s.mustGQL(sb.token, countsQuery, nil)
	var want []string
	for _, e := range dig(baseline, "parts", "edges").([]any) {
		want = append(want, fmt.Sprint(dig(e, "node", "partNumber")))
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads, writes, busy atomic.Int64
	check := func(r gqlResult) bool {
		switch {
		case r.Status == http.StatusServiceUnavailable && r.code() == ion.ESANDBOXBUSY:
			busy.Add(1)
			return true
		case r.Status != 200 || len(r.Errors) > 0:
			t.Errorf("during resets: HTTP %d %s", r.Status, r.Raw)
			return false
		}
		return true
	}
	// Readers and writers together stay under the sandbox's rate limit.
	for w := range 2 {
		wg.Go(func() {
			pace := time.NewTicker(40 * time.Millisecond)
			defer pace.Stop()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-pace.C:
				}
				r := s.gql(sb.token, `mutation ($pn: String!) { createPart(input: {partNumber: $pn}) { part { id } } }`,
					map[string]any{"pn": fmt.Sprintf("ZZ-W%d-%d", w, i)})
				if !check(r) {
					return
				}
				writes.Add(1)
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			pace := time.NewTicker(40 * time.Millisecond)
			defer pace.Stop()
			for {
				select {
				case <-stop:
					return
				case <-pace.C:
				}
				r := s.gql(sb.token, countsQuery, nil)
				if !check(r) {
					return
				}
				if r.Status != 200 {
					continue
				}
				edges, _ := dig(r.Data, "parts", "edges").([]any)
				if total := dig(r.Data, "parts", "totalCount"); total != float64(len(edges)) || len(edges) < len(want) {
					t.Errorf("a read saw %d parts counted as %v; want one whole state with the %d of the baseline", len(edges), total, len(want))
					return
				}
				for i, pn := range want {
					if got := dig(edges[i], "node", "partNumber"); got != pn {
						t.Errorf("a read saw part %d as %v, want the baseline's %s", i, got, pn)
						return
					}
				}
				for _, e := range edges[len(want):] {
					if pn := fmt.Sprint(dig(e, "node", "partNumber")); !strings.HasPrefix(pn, "ZZ-W") {
						t.Errorf("a read saw part %s after the baseline's, which no writer made", pn)
						return
					}
				}
				if dig(r.Data, "runs", "totalCount") != dig(baseline, "runs", "totalCount") {
					t.Errorf("a read saw %v runs, want the baseline's %v", dig(r.Data, "runs", "totalCount"), dig(baseline, "runs", "totalCount"))
					return
				}
				reads.Add(1)
			}
		})
	}
	pace := time.NewTicker(100 * time.Millisecond)
	defer pace.Stop()
	for i := range 10 {
		<-pace.C
		if i%2 == 0 {
			if status := b.admin("POST", "/admin/v1/sandboxes/acme-busy/reset", nil, &struct{}{}); status != 200 {
				t.Fatalf("reset %d: HTTP %d", i, status)
			}
			continue
		}
		// The sandbox's own admin resets it; a 503 means an admin reset
		// still runs, and the next round goes on.
		if r := s.gql(sb.token, `mutation { resetSandbox { resetTo } }`, nil); !check(r) {
			break
		}
	}
	close(stop)
	wg.Wait()
	if reads.Load() < 5 || writes.Load() < 5 {
		t.Fatalf("%d reads and %d writes succeeded during the resets (%d answered busy); want at least 5 of each", reads.Load(), writes.Load(), busy.Load())
	}
	b.admin("POST", "/admin/v1/sandboxes/acme-busy/reset", nil, &struct{}{})
	if got := s.mustGQL(sb.token, countsQuery, nil); dig(got, "parts", "totalCount") != float64(len(want)) {
		t.Fatalf("after the last reset %v parts, want the baseline's %d", dig(got, "parts", "totalCount"), len(want))
	}
}
