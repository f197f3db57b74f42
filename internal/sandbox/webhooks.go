package sandbox

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ionbox/ionbox/ion"
)

// announce records one webhook event about the sandbox itself (resource
// SANDBOX, action sandbox.reset or sandbox.dormant) in its tenant, for
// every subscription to SANDBOX: a reset is announced once, not as one
// event per restored row. details become the event's data.new, next to
// the sandbox's name. A failure is logged, not returned: what it announces
// has happened.
func (s *Service) announce(ctx context.Context, sb ion.Sandbox, action string, details map[string]any) {
	ctx = context.WithoutCancel(ctx)
	err := func() error {
		ts, err := s.cfg.Stores.Tenant(ctx, ion.TenantIDFor(sb.Name, sb.OrganizationID))
		if err != nil {
			return err
		}
		obj := map[string]any{"sandbox": sb.Name}
		for k, v := range details {
			obj[k] = v
		}
		data, err := json.Marshal(map[string]any{"new": obj, "old": nil, "changed_fields": []string{}})
		if err != nil {
			return err
		}
		_, err = ts.RecordWebhookEvent(ctx, ion.WebhookEvent{Resource: ion.ResourceSandbox, Action: action, Timestamp: s.cfg.Now().UTC(), Data: data})
		return err
	}()
	if err != nil && s.cfg.OnLogError != nil {
		s.cfg.OnLogError(fmt.Errorf("sandbox: webhook event %s of %q: %w", action, sb.Name, err))
	}
}
