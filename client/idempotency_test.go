package client

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// losingProxy forwards everything to the real server; the first mutation's
// answer is read from the server (so the server has handled it) and then
// thrown away with the connection, as a network failure after the commit
// would.
type losingProxy struct {
	target string
	mu     sync.Mutex
	// mutations records each forwarded mutation's Idempotency-Key and the
	// server's Idempotent-Replayed header.
	keys, replayed []string
}

func (p *losingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if strings.HasSuffix(r.URL.Path, "/graphql") && strings.Contains(string(body), "mutation") {
		p.mu.Lock()
		p.keys = append(p.keys, r.Header.Get("Idempotency-Key"))
		p.replayed = append(p.replayed, resp.Header.Get("Idempotent-Replayed"))
		first := len(p.keys) == 1
		p.mu.Unlock()
		if first {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)
}

// TestRealIdempotentRetryThroughLostAnswer: the server commits a mutation
// but its answer never reaches the SDK; the SDK retries with the same
// Idempotency-Key and gets the first execution's result, and the mutation
// ran once.
func TestRealIdempotentRetryThroughLostAnswer(t *testing.T) {
	t.Parallel()
	tn := newRealTenant(t)
	ctx := context.Background()
	base := strings.TrimPrefix(tn.sbxURL, realURL)
	proxy := &losingProxy{target: realURL}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)

	clk := NewFakeClock(time.Now())
	// No kept-alive connections: Go's transport would itself resend a
	// request with an Idempotency-Key that failed on a reused connection;
	// this test is about the SDK's retry.
	c, err := New(Config{BaseURL: srv.URL + base, ClientID: tn.sbxID, ClientSecret: tn.sbxSecret},
		WithClock(clk), WithHTTPClient(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}))
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.CreatePart(ctx, CreatePartInput{PartNumber: "ONCE-1", Description: "lost answer"})
	if err != nil {
		t.Fatalf("create through a lost answer: %v", err)
	}
	proxy.mu.Lock()
	keys, replayed := proxy.keys, proxy.replayed
	proxy.mu.Unlock()
	if len(keys) != 2 || keys[0] == "" || keys[0] != keys[1] {
		t.Fatalf("mutation requests carried keys %q, want the same key twice", keys)
	}
	if replayed[0] != "" || replayed[1] != "true" {
		t.Fatalf("Idempotent-Replayed headers %q, want the retry replayed", replayed)
	}
	if len(clk.SleepLog()) != 1 {
		t.Fatalf("the SDK slept %v, want one backoff before its retry", clk.SleepLog())
	}
	// It ran once: one part, the one the SDK returned.
	direct, _ := New(Config{BaseURL: tn.sbxURL, ClientID: tn.sbxID, ClientSecret: tn.sbxSecret})
	page, err := direct.Parts(ctx, ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if page.PageInfo.TotalCount != 1 || page.Nodes[0].ID != p.ID || page.Nodes[0].PartNumber != "ONCE-1" {
		t.Fatalf("parts after the retry: %+v (SDK returned %+v), want exactly the one part", page, p)
	}
}
