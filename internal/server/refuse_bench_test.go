package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/ionbox/ionbox/internal/scrub"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ionbox/ionbox/internal/limit"
)

// BenchmarkRefusedSandboxRequest measures what turning one request of a
// sandbox flood away costs the server, in process (no network): the
// sandbox's credential has spent its burst, so every request is answered
// 429 before authentication, as in the noisy-neighbour benchmark's flood.
//
//	go test -run '^$' -bench RefusedSandboxRequest -benchmem ./internal/server/
func BenchmarkRefusedSandboxRequest(b *testing.B) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := Config{Store: "sqlite", DataDir: b.TempDir(), Logger: log,
		Limits: limit.Config{Sandbox: limit.Policy{RequestsPerSecond: 0.001, Burst: 1}}}
	stores, err := openStores(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer stores.Close()
	limiter, gate, closeLimits, err := newLimits(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer closeLimits()
	const adminToken = "0123456789abcdef0123456789abcdef"
	srv := httptest.NewUnstartedServer(nil)
	publicURL := "http://" + srv.Listener.Addr().String()
	hooks, err := newWebhookDelivery(cfg, stores, ctx.Done())
	if err != nil {
		b.Fatal(err)
	}
	h, err := assemble(ctx, stores, bytes.Repeat([]byte("k"), 32), publicURL, "", adminToken, log, limiter, gate, newSandboxLifecycle(nil, 0, log), scrub.DefaultPolicy(), nil, hooks)
	if err != nil {
		b.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	defer srv.Close()

	admin := func(path string, body, out any) {
		j, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", publicURL+path, bytes.NewReader(j))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil || resp.StatusCode >= 300 {
			b.Fatalf("%s: HTTP %d, %v", path, resp.StatusCode, err)
		}
	}
	var org struct{ ID int64 }
	admin("/admin/v1/organizations", map[string]string{"name": "Noisy", "domain": "noisy.example"}, &org)
	var p struct {
		Sandbox     struct{ BaseURL, TokenURL string }
		Credentials []struct{ ClientID, ClientSecret string }
	}
	admin("/admin/v1/sandbox-requests", map[string]any{"organizationId": org.ID, "name": "flood", "shape": "blank",
		"serviceAccounts": []map[string]string{{"name": "k6"}}}, &p)
	resp, err := http.PostForm(p.Sandbox.TokenURL, url.Values{"grant_type": {"client_credentials"},
		"client_id": {p.Credentials[0].ClientID}, "client_secret": {p.Credentials[0].ClientSecret}})
	if err != nil {
		b.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	body := `{"query":"{ currentUser { id } }"}`
	path := strings.TrimPrefix(p.Sandbox.BaseURL, publicURL) + "/graphql"
	serve := func() int {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	// The burst of 1, then a refusal that the server remembers, so that
	// the next ones are refused before authentication.
	for i, want := range []int{200, 429, 429} {
		if got := serve(); got != want {
			b.Fatalf("warm-up request %d: HTTP %d, want %d", i, got, want)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if code := serve(); code != http.StatusTooManyRequests {
			b.Fatal(fmt.Sprintf("HTTP %d, want 429", code))
		}
	}
}
