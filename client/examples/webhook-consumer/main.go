// Command webhook-consumer receives ION webhook deliveries and accepts only
// those whose x-ion-signature is the hex HMAC-SHA256 of the raw body with
// the receiver's secret (ION_WEBHOOK_SECRET).
//
//	ION_WEBHOOK_SECRET=… go run ./examples/webhook-consumer -addr 127.0.0.1:9000
package main

import (
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"os"

	"github.com/ionbox/ionbox/client"
)

// event is the delivery body (ION-API.md §6).
type event struct {
	EventID     int64  `json:"event_id"`
	Resource    string `json:"resource"`
	Action      string `json:"action"`
	ID          any    `json:"id"`
	Environment string `json:"environment"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "listen address")
	flag.Parse()
	secret := os.Getenv("ION_WEBHOOK_SECRET")
	if secret == "" {
		log.Fatal("ION_WEBHOOK_SECRET is not set (the receiver's shared secret)")
	}
	http.Handle("POST /", handler([]byte(secret)))
	log.Printf("listening on http://%s", *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}

func handler(secret []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Verify the bytes as received, before decoding anything.
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		if !client.VerifyWebhook(secret, body, r.Header.Get(client.WebhookSignatureHeader)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var e event
		if err := json.Unmarshal(body, &e); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		// Deliveries are at least once: deduplicate by the webhook-id header
		// (the same for every attempt of one delivery) in real code.
		log.Printf("event %d: %s %s id=%v env=%s test-run=%q", e.EventID, e.Resource, e.Action, e.ID, e.Environment, r.Header.Get("X-Test-Run"))
		w.WriteHeader(http.StatusOK)
	})
}
