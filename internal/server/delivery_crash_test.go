package server

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestWebhooksSurviveKill9 kills the real server with SIGKILL three times
// while clients commit changes and deliveries are in flight, restarts it
// over the same data directory each time, and checks that every change the
// API acknowledged reached the receiver at least once, and that repeated
// deliveries of one change carry one webhook-id (so receivers can dedupe).
func TestWebhooksSurviveKill9(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	rcv := newHookReceiver(t, "crash-secret", func(n int, w http.ResponseWriter) {
		// Answer slowly enough that a kill often lands mid-delivery.
		time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond)
		w.WriteHeader(200)
	})
	p := startProcess(t, dataDir, "--allow-private-webhooks")
	token, err := os.ReadFile(filepath.Join(dataDir, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{t: t, url: p.url, adminToken: strings.TrimSpace(string(token)), dataDir: dataDir, client: http.DefaultClient}
	c := b.newCredential("Crashy")
	tok := "Bearer " + c.token
	rid := b.createReceiver(tok, rcv.srv.URL, "crash-secret", nil)
	b.subscribe(tok, rid, "PART", "CREATE")

	var (
		mu    sync.Mutex
		acked []int64
	)
	const rounds = 3
	for round := range rounds {
		if round > 0 {
			p = startProcess(t, dataDir, "--allow-private-webhooks")
			b.url = p.url
		}
		tk := b.exchange(p.url+"/realms/api-keys/protocol/openid-connect/token", c.clientID, c.secret)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		roundAcked := 0
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ctx.Err() == nil; n++ {
					r, err := tryGQL(p.url, tk, `mutation($input: CreatePartInput!) { createPart(input: $input) { part { id } } }`,
						map[string]any{"input": map[string]any{"partNumber": fmt.Sprintf("CR-%d-%d-%d", round, w, n)}})
					if rl, ok := errors.AsType[rateLimitedError](err); ok {
						select {
						case <-ctx.Done():
						case <-time.After(rl.retryAfter):
						}
						continue
					}
					if err != nil {
						return // the server is gone
					}
					if v := id(dig(r, "createPart", "part", "id")); v > 0 {
						mu.Lock()
						acked = append(acked, v)
						roundAcked++
						mu.Unlock()
					}
				}
			}()
		}
		// Kill once this round has committed some changes and the
		// receiver is busy with them.
		deadline := time.Now().Add(30 * time.Second)
		for {
			mu.Lock()
			n := roundAcked
			mu.Unlock()
			if n >= 60 || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = p.cmd.Wait()
		cancel()
		wg.Wait()
		if roundAcked < 60 {
			t.Fatalf("round %d: only %d changes acknowledged", round, roundAcked)
		}
	}

	// The last restart must deliver whatever the kills left pending,
	// including what the killed processes had claimed (after their 30 s
	// lease).
	startProcess(t, dataDir, "--allow-private-webhooks")
	deadline := time.Now().Add(90 * time.Second)
	for {
		byPart := map[int64]map[string]bool{}
		for _, d := range rcv.deliveries() {
			if !d.verified {
				t.Fatalf("a delivery did not verify: %v", d.header)
			}
			part := int64(d.payload["id"].(float64))
			if byPart[part] == nil {
				byPart[part] = map[string]bool{}
			}
			byPart[part][d.header.Get("webhook-id")] = true
		}
		missing := 0
		for _, a := range acked {
			if len(byPart[a]) == 0 {
				missing++
			}
		}
		if missing == 0 {
			total := len(rcv.deliveries())
			for part, ids := range byPart {
				if len(ids) != 1 {
					t.Fatalf("part %d was delivered under %d webhook-ids; receivers could not dedupe", part, len(ids))
				}
			}
			t.Logf("%d acknowledged changes over %d kills: all delivered (%d requests, %d repeats deduplicable by webhook-id)",
				len(acked), rounds, total, total-len(byPart))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged changes never delivered after kill -9 and restart", missing, len(acked))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
