package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ionbox/ionbox/client"
)

// TestHandlerVerifiesSignature posts deliveries over real HTTP to the
// consumer's handler: only the one signed with the receiver's secret over
// the exact bytes is accepted.
func TestHandlerVerifiesSignature(t *testing.T) {
	t.Parallel()
	secret := []byte("whsec")
	srv := httptest.NewServer(handler(secret))
	t.Cleanup(srv.Close)
	body := `{"event_id":123456,"resource":"PART","action":"CREATE","id":1}`
	for _, tc := range []struct {
		name string
		body string
		sig  string
		want int
	}{
		{"signed", body, client.SignWebhook(secret, []byte(body)), 200},
		{"signed, sha256= prefix", body, "sha256=" + client.SignWebhook(secret, []byte(body)), 200},
		{"wrong secret", body, client.SignWebhook([]byte("other"), []byte(body)), 401},
		{"body changed after signing", body + " ", client.SignWebhook(secret, []byte(body)), 401},
		{"unsigned", body, "", 401},
		{"signed but not JSON", "nope", client.SignWebhook(secret, []byte("nope")), 400},
	} {
		req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(tc.body))
		req.Header.Set("x-ion-signature", tc.sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
}
