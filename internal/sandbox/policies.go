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
