package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// WebhookSignatureHeader carries ION's signature of a webhook delivery.
const WebhookSignatureHeader = "x-ion-signature"

// SignWebhook is the hex HMAC-SHA256 of the raw body with the receiver's
// secret, as ION puts it in x-ion-signature.
func SignWebhook(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyWebhook reports whether signature (the x-ion-signature header) is
// the signature of the raw body, in constant time. Verify the bytes as
// received: re-encoded JSON does not match.
func VerifyWebhook(secret, body []byte, signature string) bool {
	got, err := hex.DecodeString(strings.TrimSpace(strings.TrimPrefix(signature, "sha256=")))
	if err != nil {
		return false
	}
	want, _ := hex.DecodeString(SignWebhook(secret, body))
	return hmac.Equal(got, want)
}
