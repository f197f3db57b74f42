package sandbox

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ionbox/ionbox/internal/scrub"
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
	// so that a deleted sandbox's issuer is not kept in memory; if it has a
	// CreateSigningKey(ctx, envName) error method (as *auth.Service does),
	// provisioning calls it so that the sandbox's first token is signed
	// with a key made beforehand; if it has CreateAPIKeyFor (as
	// *auth.Service does), provisioning makes the service accounts' keys
	// with it, from the records it has just made.
	APIKeys ion.APIKeyService
	// Now is the clock that expiry times are computed from. Default:
	// time.Now.
	Now func() time.Time
	// AutoApprove lists the shapes whose requests are approved, and so
	// provisioned, as soon as they are made. Default (nil): {"blank",
	// "seeded"} (neither holds anyone's data); an empty, non-nil slice
	// approves nothing automatically.
	AutoApprove []string
	// DormantAfterDays is how many days without an authenticated request
	// make a sandbox dormant (see Service.Sweep). Default: 30.
	DormantAfterDays int
	// ExpireAfterDormantDays is how many days a sandbox stays dormant
	// before it expires, unless extended or pinned. Default: 14.
	ExpireAfterDormantDays int
	// ScrubPolicy is what snapshot sandboxes scrub. Default: the embedded
	// internal/scrub policy.v1.yaml.
	ScrubPolicy *scrub.Policy
	// OnLogError receives the errors of writing the lifecycle log, which
	// do not fail the action they record. Default: they are dropped.
	OnLogError func(error)
	// OnProvisioned, if set, is called with each sandbox this service has
	// provisioned, once it is active and before the call that provisioned
	// it returns, so that a server can warm, in the background, what the
	// sandbox's first requests need. It must not block.
	OnProvisioned func(sb ion.Sandbox)
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
	switch {
	case c.DormantAfterDays < 0:
		return fmt.Errorf("sandbox: Config.DormantAfterDays must not be negative (got %d); leave it 0 for the default of 30", c.DormantAfterDays)
	case c.ExpireAfterDormantDays < 0:
		return fmt.Errorf("sandbox: Config.ExpireAfterDormantDays must not be negative (got %d); leave it 0 for the default of 14", c.ExpireAfterDormantDays)
	}
	if c.DormantAfterDays == 0 {
		c.DormantAfterDays = 30
	}
	if c.ExpireAfterDormantDays == 0 {
		c.ExpireAfterDormantDays = 14
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ScrubPolicy == nil {
		c.ScrubPolicy = scrub.DefaultPolicy()
	}
	if c.AutoApprove == nil {
		c.AutoApprove = []string{ion.ShapeBlank, ion.ShapeSeeded}
	}
	c.AutoApprove = slices.Clone(c.AutoApprove)
	return nil
}

var shapes = []string{ion.ShapeBlank, ion.ShapeSeeded, ion.ShapeSnapshot}
