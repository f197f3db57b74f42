package main

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ionbox/ionbox/client"
)

func TestHandlerVerifiesSignature(t *testing.T) {
	t.Parallel()
	secret := []byte("whsec")
	body := `{"event_id":123456,"resource":"PART","action":"CREATE","id":1}`
	for _, tc := range []struct {
		name string
		sig  string
		want int
	}{
		{"signed", client.SignWebhook(secret, []byte(body)), 200},
		{"wrong secret", client.SignWebhook([]byte("other"), []byte(body)), 401},
		{"unsigned", "", 401},
	} {
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.Header.Set("x-ion-signature", tc.sig)
		rec := httptest.NewRecorder()
		handler(secret).ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, rec.Code, tc.want)
		}
	}
}
