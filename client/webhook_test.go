package client

import "testing"

func TestVerifyWebhook(t *testing.T) {
	t.Parallel()
	secret, body := []byte("s3cret"), []byte(`{"event_id":"e1","resource":"PART","action":"CREATE"}`)
	sig := SignWebhook(secret, body)
	for _, tc := range []struct {
		name string
		body []byte
		sig  string
		want bool
	}{
		{"valid", body, sig, true},
		{"valid with sha256= prefix", body, "sha256=" + sig, true},
		{"body changed", append([]byte(" "), body...), sig, false},
		{"not hex", body, "zz", false},
		{"empty", body, "", false},
	} {
		if got := VerifyWebhook(secret, tc.body, tc.sig); got != tc.want {
			t.Errorf("%s: VerifyWebhook = %v, want %v", tc.name, got, tc.want)
		}
	}
}
