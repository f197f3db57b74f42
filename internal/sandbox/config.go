package sandbox

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// Config configures a Service. Fields without a stated default are required.
type Config struct {
	// Control stores sandbox requests, sandboxes, environments,
	// organizations and users.
	Control ion.ControlStore
	// Stores creates and removes the tenant stores of sandbox
	// organizations.
	Stores ion.Stores
	// APIKeys makes the service accounts' API keys. If it also has a
	// Forget(envName string) method (as *auth.Service does), Delete calls it
	// so that a deleted sandbox's issuer is not kept in memory.
	APIKeys ion.APIKeyService
	// Now is the clock that expiry times are computed from. Default:
	// time.Now.
	Now func() time.Time
	// AutoApprove lists the shapes whose requests are approved, and so
	// provisioned, as soon as they are made. Default (nil): {"blank"}; an
	// empty, non-nil slice approves nothing automatically.
	AutoApprove []string
}

func (c *Config) validate() error {
	switch {
	case c.Control == nil:
		return errors.New("sandbox: Config.Control is required")
	case c.Stores == nil:
		return errors.New("sandbox: Config.Stores is required")
	case c.APIKeys == nil:
		return errors.New("sandbox: Config.APIKeys is required")
	}
	for i, shape := range c.AutoApprove {
		if !slices.Contains(shapes, shape) {
			return fmt.Errorf("sandbox: Config.AutoApprove[%d] is %q; use one of %q", i, shape, shapes)
		}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.AutoApprove == nil {
		c.AutoApprove = []string{ion.ShapeBlank}
	}
	c.AutoApprove = slices.Clone(c.AutoApprove)
	return nil
}

var shapes = []string{ion.ShapeBlank, ion.ShapeSeeded, ion.ShapeSnapshot}
