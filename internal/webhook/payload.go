package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/ionbox/ionbox/ion"
)

// Header names of a delivery.
const (
	HeaderSignature   = "x-ion-signature"
	HeaderEventID     = "x-ion-event-id"
	HeaderTestRun     = "X-Test-Run"
	HeaderEnvironment = "ION-Environment"
)

// Payload is the JSON body of a delivery (ION-API.md §6). Field order is
// the documented one.
type Payload struct {
	EventID        ion.ID          `json:"event_id"`
	SubscriptionID ion.ID          `json:"subscription_id"`
	ReceiverID     ion.ID          `json:"receiver_id"`
	Resource       string          `json:"resource"`
	Action         string          `json:"action"`
	ID             ion.ID          `json:"id"`
	Timestamp      string          `json:"timestamp"`
	Environment    string          `json:"environment"`
	Data           json.RawMessage `json:"data"`
}

// emptyData stands in for an event recorded without data, so that
// consumers can always read data.new, data.old and data.changed_fields.
var emptyData = json.RawMessage(`{"new":null,"old":null,"changed_fields":[]}`)

// Environment of a tenant, as deliveries name it.
type Environment struct {
	// Name is "production" or the sandbox's name.
	Name string
	// Sandbox is true for a sandbox environment.
	Sandbox bool
}

// Label is how a delivery's body and the ION-Environment header name the
// environment: "production" or "sandbox/<name>".
func (e Environment) Label() string {
	if e.Sandbox {
		return "sandbox/" + e.Name
	}
	return e.Name
}

// EnvironmentOf tells which environment a tenant store (see
// ion.TenantIDFor, "<env>-org-<id>") belongs to.
func EnvironmentOf(tenant string) Environment {
	env := tenant
	if i := strings.LastIndex(tenant, "-org-"); i > 0 {
		env = tenant[:i]
	}
	return Environment{Name: env, Sandbox: env != ion.ProductionEnvironment}
}

// WebhookID is the Standard Webhooks message id of a delivery: the same
// for every attempt of the delivery, different for every other delivery.
// It hashes the tenant and the delivery's id and creation time, because a
// sandbox reset rewinds the tenant's ids and a consumer deduplicating by
// webhook-id must not drop a later, different delivery that reuses an id.
func WebhookID(tenant string, d ion.WebhookDelivery) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%d", tenant, d.ID, d.CreatedAt.UnixNano())
	return "msg_" + hex.EncodeToString(h.Sum(nil)[:16])
}

// Body renders the JSON body of delivery d of tenant (ION-API.md §6): the
// bytes Sign signs and sends, and the one renderer of them, so that the
// delivery log (GraphQL's WebhookEvent.payload) shows exactly what was, or
// would be, sent.
func Body(tenant string, d ion.WebhookDelivery) ([]byte, error) {
	data := json.RawMessage(d.Event.Data)
	if len(bytes.TrimSpace(data)) == 0 {
		data = emptyData
	} else if !json.Valid(data) {
		return nil, fmt.Errorf("event %d of delivery %d: stored data is not valid JSON", d.Event.ID, d.ID)
	}
	body, err := json.Marshal(Payload{
		EventID: d.Event.ID, SubscriptionID: d.SubscriptionID, ReceiverID: d.ReceiverID,
		Resource: d.Event.Resource, Action: d.Event.Action, ID: d.Event.ObjectID,
		Timestamp:   d.Event.Timestamp.UTC().Format(time.RFC3339Nano),
		Environment: EnvironmentOf(tenant).Label(), Data: data,
	})
	if err != nil {
		return nil, fmt.Errorf("encode delivery %d: %w", d.ID, err)
	}
	return body, nil
}

// Signed is a rendered delivery: the exact body bytes and every header
// sent with them.
type Signed struct {
	Body    []byte
	Headers http.Header
}

// Sign renders delivery d for receiver r of tenant and signs it as sent at
// sentAt (the webhook-timestamp; use the wall clock, because consumers
// check it against theirs). The sink stream, the dispatcher and `ionbox
// listen` all sign through it, so a consumer's verification code cannot
// tell them apart.
//
// Signatures: x-ion-signature is the hex HMAC-SHA256 of the body keyed with
// the shared secret's bytes; webhook-signature is the Standard Webhooks
// "v1,<base64>" signature keyed with the same raw bytes (verify with
// standardwebhooks.NewWebhookRaw([]byte(secret)), not NewWebhook, which
// expects a base64 "whsec_" secret).
func Sign(tenant string, d ion.WebhookDelivery, r ion.WebhookReceiver, sentAt time.Time) (Signed, error) {
	env := EnvironmentOf(tenant)
	body, err := Body(tenant, d)
	if err != nil {
		return Signed{}, err
	}
	h := http.Header{}
	// Custom headers first, so that none can replace a signature or the
	// content type; headers that belong to the transport are left out.
	for _, kv := range r.Headers {
		if kv.Key == "" || reservedHeader(kv.Key) {
			continue
		}
		h.Add(kv.Key, kv.Value)
	}
	if env.Sandbox {
		h.Set(HeaderTestRun, "1")
		h.Set(HeaderEnvironment, env.Label())
	}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "ionbox-webhooks/1")
	h.Set(HeaderEventID, strconv.FormatInt(d.Event.ID, 10))
	h.Set(HeaderSignature, SignatureHex([]byte(r.SharedSecret), body))
	id := WebhookID(tenant, d)
	if err := SignStandard(h, []byte(r.SharedSecret), id, sentAt, body); err != nil {
		return Signed{}, err
	}
	return Signed{Body: body, Headers: h}, nil
}

// SignatureHex is x-ion-signature: the hex HMAC-SHA256 of body.
func SignatureHex(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// SignStandard sets webhook-id, webhook-timestamp and webhook-signature on
// h with the official Standard Webhooks library, keyed with secret's raw
// bytes.
func SignStandard(h http.Header, secret []byte, id string, at time.Time, body []byte) error {
	wh, err := standardwebhooks.NewWebhookRaw(secret)
	if err != nil {
		return fmt.Errorf("standard webhooks signer: %w", err)
	}
	sig, err := wh.Sign(id, at, body)
	if err != nil {
		return fmt.Errorf("sign delivery %s: %w", id, err)
	}
	h.Set(standardwebhooks.HeaderWebhookID, id)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(standardwebhooks.HeaderWebhookSignature, sig)
	return nil
}

// reservedHeader reports whether a custom header would interfere with the
// request itself or impersonate ionbox's own headers.
func reservedHeader(k string) bool {
	switch strings.ToLower(strings.TrimSpace(k)) {
	case "host", "content-length", "content-type", "transfer-encoding", "connection", "keep-alive",
		"upgrade", "te", "trailer", "proxy-connection", "proxy-authorization", "expect",
		"x-ion-signature", "x-ion-event-id", "webhook-id", "webhook-timestamp", "webhook-signature",
		"x-test-run", "ion-environment", "user-agent":
		return true
	}
	return false
}
