package graphql

import (
	"context"
	"slices"
	"time"

	"github.com/ionbox/ionbox/internal/graphql/model"
	"github.com/ionbox/ionbox/ion"
)

// Sandboxes is the sandbox lifecycle behind ionbox's GraphQL additions
// (requestSandbox, sandboxRequests, sandboxes, resetSandbox). internal/server
// provides it over internal/sandbox and the sandbox router.
type Sandboxes interface {
	// RequestSandbox records r and, if its shape is approved on arrival,
	// provisions it: the request as it stands, its sandbox once
	// provisioned, and the service accounts' credentials (secrets shown
	// only here).
	RequestSandbox(ctx context.Context, r ion.SandboxRequest) (ion.SandboxRequest, *ion.Sandbox, []model.SandboxCredential, error)
	// ResetSandbox resets sandbox name to its baseline or checkpoint and
	// says what it reset to and how long it took.
	ResetSandbox(ctx context.Context, name, checkpoint string) (ion.Sandbox, string, time.Duration, error)
	// SandboxURLs gives sandbox name's base URL and token URL.
	SandboxURLs(name string) (baseURL, tokenURL string)
}

// adminRole is the role that may manage the organization's sandboxes.
const adminRole = "admin"

// productionAdmin returns the actor if it is an admin of a production
// organization; FORBIDDEN otherwise, saying where to go instead.
func (r *Resolver) productionAdmin(ctx context.Context) (ion.Actor, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return a, err
	}
	if r.sandboxes == nil {
		return a, ion.Errorf(ion.EFORBIDDEN, "Sandboxes cannot be requested through this server's API; ask the operator.")
	}
	if a.Environment != ion.ProductionEnvironment {
		return a, ion.Errorf(ion.EFORBIDDEN, "Sandboxes are requested and listed in production; this is sandbox %q. Use production's API with production credentials.", a.Environment)
	}
	if !slices.Contains(a.User.Roles, adminRole) {
		return a, ion.Errorf(ion.EFORBIDDEN, "Only an admin of organization %q can request or list its sandboxes; ask one of them.", a.Organization.Name)
	}
	return a, nil
}

// sandboxAdmin returns the actor if it is an admin of a sandbox's own
// organization; FORBIDDEN otherwise.
func (r *Resolver) sandboxAdmin(ctx context.Context) (ion.Actor, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return a, err
	}
	if r.sandboxes == nil {
		return a, ion.Errorf(ion.EFORBIDDEN, "Sandboxes cannot be reset through this server's API; ask the operator.")
	}
	if a.Environment == ion.ProductionEnvironment {
		return a, ion.Errorf(ion.EFORBIDDEN, "resetSandbox resets the sandbox it is sent to; production cannot be reset. Send it to the sandbox's base URL with its credentials.")
	}
	if !slices.Contains(a.User.Roles, adminRole) {
		return a, ion.Errorf(ion.EFORBIDDEN, "Only an admin of sandbox %q can reset it.", a.Environment)
	}
	return a, nil
}

// ownSandbox answers NOT_FOUND for a sandbox of another organization, as
// for a missing one.
func (r *Resolver) ownSandbox(ctx context.Context, a ion.Actor, name string) (*ion.Sandbox, error) {
	sb, err := r.stores.Control().Sandbox(ctx, name)
	if ion.ErrorCode(err) == ion.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if sb.SourceOrganizationID != a.Organization.ID {
		return nil, nil
	}
	return &sb, nil
}
