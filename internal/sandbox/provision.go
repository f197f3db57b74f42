package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// undoTimeout bounds the clean-up after a failed provisioning, which runs
// even when the caller's context is done.
const undoTimeout = 30 * time.Second

// provision makes the sandbox a pending request asks for. Its control
// records are made in one transaction (ion.ControlStore.Atomically): the
// sandbox and its environment (state provisioning), its own organization
// with its tenant store, a user per member and per service account and a
// key per service account. A blank sandbox is activated, and its request
// decided as provisioned with note, in the same transaction, so that it is
// all there or none of it is; a seeded or snapshot sandbox's data is
// filled in between, and a second transaction activates it. If a step
// fails, what the earlier ones made is removed again and the request stays
// pending.
//
// Either req is a stored request, which the caller has claimed and
// checked to be pending, or newReq is a checked request to store, pending,
// in the first transaction (an automatically approved one: one commit
// fewer); if that transaction fails, newReq is stored on its own
// afterwards, so that it stays pending there too. src is the request's
// organization, a production one.
func (s *Service) provision(ctx context.Context, req ion.SandboxRequest, newReq *ion.SandboxRequest, src ion.Organization, note string) (Result, error) {
	name := req.Name
	if newReq != nil {
		name = newReq.Name
	}
	p := &provisioning{Service: s, req: req, newReq: newReq}
	defer s.clearProgress(name)
	defer func() {
		if p.claimed {
			s.unclaim(p.req.ID)
		}
	}()
	res, err := p.run(ctx, src, note)
	if err != nil {
		if p.requestFailed {
			return Result{}, err // nothing was made
		}
		if uerr := p.undo(ctx); uerr != nil {
			err = fmt.Errorf("%w (removing the partly made sandbox also failed: %v)", err, uerr)
		}
		if newReq != nil && !p.recordsMade {
			// Rolled back with the records: store it on its own.
			if _, rerr := s.makeRequest(context.WithoutCancel(ctx), *newReq); rerr != nil {
				err = fmt.Errorf("%w (keeping the request pending also failed: %v)", err, rerr)
			}
		}
		return Result{}, fmt.Errorf("sandbox: provisioning %q: %w", name, err)
	}
	if s.cfg.OnProvisioned != nil {
		s.cfg.OnProvisioned(*res.Sandbox)
	}
	return res, nil
}

// provisioning is one run of provision and what it has made so far.
type provisioning struct {
	*Service
	req ion.SandboxRequest
	// newReq, if not nil, is stored as req in the first transaction.
	newReq *ion.SandboxRequest

	requestFailed  bool   // storing newReq failed
	claimed        bool   // newReq, stored, was claimed by provision
	recordsMade    bool   // the first transaction committed
	sandboxMade    bool   // the sandbox and its environment may exist
	tenantID       string // the sandbox organization's tenant, once made
	snapshotDetail string // what a snapshot copied, for the lifecycle log
}

func (p *provisioning) run(ctx context.Context, src ion.Organization, note string) (Result, error) {
	var res Result
	// A blank sandbox has no data to fill, so that one transaction makes
	// it whole; it returns to an empty tenant when reset
	// (ion.EmptyTenantState), so no baseline is saved.
	err := p.cfg.Control.Atomically(ctx, func(ctx context.Context) error {
		var err error
		if p.newReq != nil {
			if p.req, err = p.createRequest(ctx, *p.newReq); err != nil {
				p.requestFailed = true
				return err
			}
			// Once committed, Approve could see it while its data is
			// filled.
			p.claimed = p.claim(p.req.ID)
		}
		if res, err = p.makeRecords(ctx, src); err != nil || p.req.Shape != ion.ShapeBlank {
			return err
		}
		return p.activate(ctx, &res, note)
	})
	if err != nil {
		return res, err
	}
	p.recordsMade = true
	if p.req.Shape == ion.ShapeBlank {
		return res, nil
	}

	switch p.req.Shape {
	case ion.ShapeSnapshot:
		if err := p.fillSnapshot(ctx, src); err != nil {
			return Result{}, err
		}
		// The baseline that Reset returns to: the data as provisioned.
		if err := p.cfg.Stores.SaveTenantState(ctx, p.tenantID, baselineState); err != nil {
			return Result{}, fmt.Errorf("saving its baseline: %w", err)
		}
	case ion.ShapeSeeded:
		// Saves the baseline as it loads it.
		if err := p.loadSeedData(ctx, p.req.Size); err != nil {
			return Result{}, fmt.Errorf("seeding its data: %w", err)
		}
	}
	err = p.cfg.Control.Atomically(ctx, func(ctx context.Context) error { return p.activate(ctx, &res, note) })
	return res, err
}

// makeRecords makes the sandbox's control records, in state provisioning:
// the sandbox and its environment, its organization and tenant, its
// members and service accounts, and a key per service account, whose
// secrets res carries.
func (p *provisioning) makeRecords(ctx context.Context, src ion.Organization) (Result, error) {
	name := p.req.Name
	control := p.cfg.Control
	p.sandboxMade = true // undo tolerates a sandbox that is not there
	state := ion.SandboxProvisioning
	if p.req.Shape == ion.ShapeBlank {
		// Made whole in this one transaction, so nobody ever sees it
		// provisioning: made active, it needs no update to activate.
		state = ion.SandboxActive
	}
	sb, err := control.CreateSandbox(ctx, ion.Sandbox{
		Name:                 name,
		RequestID:            p.req.ID,
		SourceOrganizationID: src.ID,
		Shape:                p.req.Shape,
		State:                state,
		Features:             p.req.Features,
		ExpiresAt:            expiry(p.cfg.Now(), p.req.TTLDays),
	})
	if err != nil {
		return Result{}, fmt.Errorf("creating its environment: %w", err)
	}
	// Its issuer's signing key, made now rather than on its first token.
	if k, ok := p.cfg.APIKeys.(interface {
		CreateSigningKey(ctx context.Context, env string) error
	}); ok {
		// Nothing is read back: it may go with the next statement.
		if err := k.CreateSigningKey(ion.Deferrable(ctx), name); err != nil {
			return Result{}, fmt.Errorf("making its signing key: %w", err)
		}
	}
	if p.req.RateLimitPolicy != "" {
		if _, err := control.SetEnvironmentRateLimitPolicy(ctx, name, p.req.RateLimitPolicy); err != nil {
			return Result{}, fmt.Errorf("setting its rate-limit policy: %w", err)
		}
	}

	// The sandbox's own organization mirrors the production one, so that
	// currentUser { organization { domain } } answers alike in both.
	org, err := control.CreateOrganization(ctx, ion.Organization{Environment: name, Name: src.Name, Domain: src.Domain, Tier: src.Tier})
	if err != nil {
		return Result{}, fmt.Errorf("creating its organization: %w", err)
	}
	p.tenantID = org.TenantID()
	if err := control.SetSandboxOrganization(ion.Deferrable(ctx), name, org.ID); err != nil {
		return Result{}, fmt.Errorf("recording its organization: %w", err)
	}
	sb.OrganizationID = org.ID

	for i, m := range p.req.Members {
		_, err := control.CreateUser(ctx, ion.User{OrganizationID: org.ID, Name: m.Name, Email: m.Email, Active: true, Roles: []string{"admin"}})
		if err != nil {
			return Result{}, fmt.Errorf("adding member %d (%s): %w", i, m.Email, err)
		}
	}
	accounts := make([]ion.User, 0, len(p.req.ServiceAccounts))
	for _, a := range p.req.ServiceAccounts {
		u, err := control.CreateUser(ctx, serviceAccountUser(org.ID, a.Name, name))
		if err != nil {
			return Result{}, fmt.Errorf("adding service account %q: %w", a.Name, err)
		}
		accounts = append(accounts, u)
	}
	creds := make([]Credential, 0, len(accounts))
	env := ion.Environment{Name: name, Kind: ion.EnvSandbox}
	for _, u := range accounts {
		var key ion.APIKey
		var secret string
		if k, ok := p.cfg.APIKeys.(keysFor); ok {
			key, secret, err = k.CreateAPIKeyFor(ctx, env, org, u)
		} else {
			key, secret, err = p.cfg.APIKeys.CreateAPIKey(ctx, name, org.ID, u.ID)
		}
		if err != nil {
			return Result{}, fmt.Errorf("making the API key of service account %q: %w", u.Name, err)
		}
		creds = append(creds, Credential{ServiceAccount: u.Name, ClientID: key.ClientID, ClientSecret: secret})
	}
	return Result{Sandbox: &sb, Credentials: creds}, nil
}

// keysFor is what *auth.Service adds to ion.APIKeyService: a key made for
// records the caller has just made, without reading them again.
type keysFor interface {
	CreateAPIKeyFor(ctx context.Context, env ion.Environment, org ion.Organization, user ion.User) (ion.APIKey, string, error)
}

// activate makes the sandbox active (unless it was made so), marks its
// request provisioned with note and records the approval in the lifecycle
// log.
func (p *provisioning) activate(ctx context.Context, res *Result, note string) error {
	name := p.req.Name
	if res.Sandbox.State != ion.SandboxActive {
		if err := p.cfg.Control.SetSandboxState(ctx, name, ion.SandboxActive); err != nil {
			return fmt.Errorf("activating it: %w", err)
		}
		res.Sandbox.State = ion.SandboxActive
	}
	decided, err := p.cfg.Control.DecideSandboxRequest(ctx, p.req.ID, ion.RequestProvisioned, note)
	if err != nil {
		return fmt.Errorf("marking request %d provisioned: %w", p.req.ID, err)
	}
	res.Request = decided
	detail := note
	if p.snapshotDetail != "" {
		detail = strings.TrimPrefix(note+"; "+p.snapshotDetail, "; ")
	}
	p.record(ctx, name, ion.EventApproved, actorOperator, detail)
	return nil
}

// undo removes what run made. It runs to the end even if ctx is done.
func (p *provisioning) undo(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	var errs []error
	if p.sandboxMade {
		// Removes the organization, users and keys along with it.
		if err := p.cfg.Control.DeleteSandbox(ctx, p.req.Name); err != nil && ion.ErrorCode(err) != ion.ENOTFOUND {
			errs = append(errs, err)
		}
		p.forgetIssuer(p.req.Name)
	}
	if p.tenantID != "" {
		if err := p.cfg.Stores.DeleteTenant(ctx, p.tenantID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
