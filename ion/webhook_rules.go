package ion

import (
	"net/url"
	"strings"
)

// CheckWebhookURL checks a receiver URL as it is saved: an absolute http
// or https URL with a host and without credentials. Whether its address
// may be reached is decided at connect time (the SSRF guard), not here.
func CheckWebhookURL(raw string) error {
	if raw == "" {
		return Invalid("url", "is required; give the https URL that should receive events.")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Invalid("url", "%q is not a valid URL: %v.", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Invalid("url", "%q must start with https:// (or http://).", raw)
	}
	if u.Host == "" || u.Hostname() == "" {
		return Invalid("url", "%q has no host.", raw)
	}
	if u.User != nil {
		return Invalid("url", "must not carry a user or password; use a custom header for credentials.")
	}
	if u.Fragment != "" {
		return Invalid("url", "must not have a #fragment.")
	}
	return nil
}

// reservedWebhookHeaders are set by the delivery itself; a custom header
// may not replace them.
var reservedWebhookHeaders = []string{
	"content-type", "content-length", "host", "connection", "transfer-encoding", "user-agent",
	"x-ion-signature", "x-ion-event-id", "x-test-run", "ion-environment",
	"webhook-id", "webhook-timestamp", "webhook-signature",
}

// CheckWebhookHeaders checks a receiver's custom headers: token names,
// values without line breaks, no duplicate or reserved names.
func CheckWebhookHeaders(headers []WebhookHeader) error {
	seen := map[string]bool{}
	for i, h := range headers {
		key := strings.TrimSpace(h.Key)
		if key == "" || strings.IndexFunc(key, func(r rune) bool { return !isTokenRune(r) }) >= 0 {
			return Invalid("headers", "header %d: %q is not a valid header name (letters, digits and !#$%%&'*+-.^_`|~ only).", i+1, h.Key)
		}
		if strings.ContainsAny(h.Value, "\r\n\x00") {
			return Invalid("headers", "header %q: the value must not contain line breaks.", key)
		}
		lower := strings.ToLower(key)
		for _, r := range reservedWebhookHeaders {
			if lower == r {
				return Invalid("headers", "header %q is set by every delivery and cannot be replaced.", key)
			}
		}
		if seen[lower] {
			return Invalid("headers", "header %q is given twice.", key)
		}
		seen[lower] = true
		headers[i].Key = key
	}
	return nil
}

func isTokenRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("!#$%&'*+-.^_`|~", r)
}

// NormalizeWebhookSubscription canonicalizes the resource (plural and any
// case accepted) and checks the action.
func NormalizeWebhookSubscription(s *WebhookSubscription) error {
	r, ok := CanonicalResource(s.Resource)
	if !ok {
		return Invalid("resource", "%q is not a webhook resource; use one of: %s.", s.Resource, strings.Join(WebhookResources, ", "))
	}
	s.Resource = r
	a, err := CheckEnum("action", s.Action, ActionCreate, ActionUpdate, ActionDelete)
	if err != nil {
		return err
	}
	s.Action = a
	if s.ReceiverID <= 0 {
		return Invalid("receiverId", "is required.")
	}
	return nil
}

// NormalizeWebhookEvent checks a synthetic event: a known resource, an
// action (CREATE, UPDATE, DELETE, or a sandbox event such as
// "sandbox.reset"), and Data, which defaults to {}.
func NormalizeWebhookEvent(ev *WebhookEvent) error {
	r, ok := CanonicalResource(ev.Resource)
	if !ok {
		return Invalid("resource", "%q is not a webhook resource; use one of: %s.", ev.Resource, strings.Join(WebhookResources, ", "))
	}
	ev.Resource = r
	switch a := strings.ToUpper(strings.TrimSpace(ev.Action)); a {
	case ActionCreate, ActionUpdate, ActionDelete:
		ev.Action = a
	default:
		if !strings.HasPrefix(ev.Action, "sandbox.") {
			return Invalid("action", "%q is not a webhook action; use CREATE, UPDATE or DELETE.", ev.Action)
		}
	}
	if len(ev.Data) == 0 {
		ev.Data = []byte("{}")
	}
	return nil
}
