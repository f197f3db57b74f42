package ion

import "testing"

func TestCheckWebhookURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url     string
		wantErr bool
	}{
		{"https://hooks.example/in", false},
		{"http://127.0.0.1:3000/hook", false}, // reachability is the SSRF guard's call, at connect time
		{"", true},
		{"hooks.example/in", true},
		{"ftp://hooks.example/", true},
		{"https:///path", true},
		{"https://user:pw@hooks.example/", true},
		{"https://hooks.example/#x", true},
		{"https://hooks .example/", true},
	}
	for _, tc := range tests {
		err := CheckWebhookURL(tc.url)
		if (err != nil) != tc.wantErr {
			t.Errorf("CheckWebhookURL(%q) = %v, want error %v", tc.url, err, tc.wantErr)
		}
		if err != nil && ErrorCode(err) != EVALIDATION {
			t.Errorf("CheckWebhookURL(%q) code %s, want VALIDATION_ERROR", tc.url, ErrorCode(err))
		}
	}
}

func TestCheckWebhookHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		headers []WebhookHeader
		wantErr bool
	}{
		{"none", nil, false},
		{"custom", []WebhookHeader{{Key: "X-Team", Value: "erp"}, {Key: "Authorization", Value: "Bearer x"}}, false},
		{"empty name", []WebhookHeader{{Key: " ", Value: "x"}}, true},
		{"space in name", []WebhookHeader{{Key: "X Team", Value: "x"}}, true},
		{"line break in value", []WebhookHeader{{Key: "X-A", Value: "a\nInjected: 1"}}, true},
		{"duplicate in any case", []WebhookHeader{{Key: "X-A", Value: "1"}, {Key: "x-a", Value: "2"}}, true},
		{"signature", []WebhookHeader{{Key: "X-Ion-Signature", Value: "forged"}}, true},
		{"standard webhooks id", []WebhookHeader{{Key: "webhook-id", Value: "x"}}, true},
		{"content type", []WebhookHeader{{Key: "Content-Type", Value: "text/plain"}}, true},
	}
	for _, tc := range tests {
		if err := CheckWebhookHeaders(tc.headers); (err != nil) != tc.wantErr {
			t.Errorf("%s: CheckWebhookHeaders = %v, want error %v", tc.name, err, tc.wantErr)
		}
	}
}

func TestNormalizeWebhookEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in                  WebhookEvent
		wantRes, wantAction string
		wantErr             bool
	}{
		{WebhookEvent{Resource: "runs", Action: "update"}, ResourceRun, ActionUpdate, false},
		{WebhookEvent{Resource: "PART_INVENTORIES", Action: "CREATE"}, ResourcePartInventory, ActionCreate, false},
		{WebhookEvent{Resource: "SANDBOX", Action: EventSandboxReset}, ResourceSandbox, EventSandboxReset, false},
		{WebhookEvent{Resource: "WIDGET", Action: "CREATE"}, "", "", true},
		{WebhookEvent{Resource: "RUN", Action: "UPSERT"}, "", "", true},
	}
	for _, tc := range tests {
		ev := tc.in
		err := NormalizeWebhookEvent(&ev)
		if (err != nil) != tc.wantErr {
			t.Fatalf("NormalizeWebhookEvent(%+v) = %v, want error %v", tc.in, err, tc.wantErr)
		}
		if err == nil && (ev.Resource != tc.wantRes || ev.Action != tc.wantAction || string(ev.Data) != "{}") {
			t.Errorf("NormalizeWebhookEvent(%+v) = %+v", tc.in, ev)
		}
	}
}
