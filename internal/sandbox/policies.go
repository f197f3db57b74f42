package sandbox

import (
	"context"
	"fmt"

	"github.com/ionbox/ionbox/ion"
)

// SetFeatures replaces the preview flags of a running sandbox. Every
// replica reads a sandbox's flags from the control store (cached for at
// most a second), so the change takes effect without a restart.
// VALIDATION_ERROR naming features[i] for a flag that is not a declared
// preview flag; NOT_FOUND for an unknown sandbox; CONFLICT for an expired
// one.
func (s *Service) SetFeatures(ctx context.Context, name string, features []string) (ion.Sandbox, error) {
	features, err := checkFeatures(features)
	if err != nil {
		return ion.Sandbox{}, err
	}
	if _, err := s.usableSandbox(ctx, name, "change the features of"); err != nil {
		return ion.Sandbox{}, err
	}
	sb, err := s.cfg.Control.SetSandboxFeatures(ctx, name, features)
	if err != nil {
		return ion.Sandbox{}, fmt.Errorf("sandbox: set features of %q: %w", name, err)
	}
	return sb, nil
}

// SetRateLimitPolicy replaces a sandbox environment's RateLimitPolicy
// document (already checked by the caller; "" restores the sandbox
// defaults). NOT_FOUND for an unknown sandbox; CONFLICT for an expired one.
func (s *Service) SetRateLimitPolicy(ctx context.Context, name, policy string) (ion.Environment, error) {
	if _, err := s.usableSandbox(ctx, name, "change the rate limits of"); err != nil {
		return ion.Environment{}, err
	}
	env, err := s.cfg.Control.SetEnvironmentRateLimitPolicy(ctx, name, policy)
	if err != nil {
		return ion.Environment{}, fmt.Errorf("sandbox: set rate-limit policy of %q: %w", name, err)
	}
	return env, nil
}
