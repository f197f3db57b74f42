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

// provision makes the sandbox a pending request asks for, in a handful of
// small transactions: the sandbox and its environment (state
// provisioning), its own organization with its tenant store, the
// organization on the sandbox record, a user per member and per service
// account, a key per service account, the state active, and finally the
// request decided as provisioned with note. If a step fails, what the
// earlier ones made is removed again and the request stays pending. The
// caller has claimed the request and checked that it is pending and that
// src, its organization, is a production one.
func (s *Service) provision(ctx context.Context, req ion.SandboxRequest, src ion.Organization, note string) (Result, error) {
	p := &provisioning{Service: s, req: req}
	defer s.clearProgress(req.Name)
	res, err := p.run(ctx, src, note)
	if err != nil {
		if uerr := p.undo(ctx); uerr != nil {
			err = fmt.Errorf("%w (removing the partly made sandbox also failed: %v)", err, uerr)
		}
		return Result{}, fmt.Errorf("sandbox: provisioning %q: %w", req.Name, err)
	}
	return res, nil
}

// provisioning is one run of provision and what it has made so far.
type provisioning struct {
	*Service
	req ion.SandboxRequest

	sandboxMade    bool   // the sandbox and its environment exist
	tenantID       string // the sandbox organization's tenant, once made
	snapshotDetail string // what a snapshot copied, for the lifecycle log
}

func (p *provisioning) run(ctx context.Context, src ion.Organization, note string) (Result, error) {
	name := p.req.Name
	control := p.cfg.Control
	sb, err := control.CreateSandbox(ctx, ion.Sandbox{
		Name:                 name,
		RequestID:            p.req.ID,
		SourceOrganizationID: src.ID,
		Shape:                p.req.Shape,
		State:                ion.SandboxProvisioning,
		Features:             p.req.Features,
		ExpiresAt:            expiry(p.cfg.Now(), p.req.TTLDays),
	})
	if err != nil {
		return Result{}, fmt.Errorf("creating its environment: %w", err)
	}
	p.sandboxMade = true
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
	if err := control.SetSandboxOrganization(ctx, name, org.ID); err != nil {
		return Result{}, fmt.Errorf("recording its organization: %w", err)
	}
	sb.OrganizationID = org.ID
	if p.req.Shape == ion.ShapeSnapshot {
		if err := p.fillSnapshot(ctx, src); err != nil {
			return Result{}, err
		}
	}

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
	for _, u := range accounts {
		key, secret, err := p.cfg.APIKeys.CreateAPIKey(ctx, name, org.ID, u.ID)
		if err != nil {
			return Result{}, fmt.Errorf("making the API key of service account %q: %w", u.Name, err)
		}
		creds = append(creds, Credential{ServiceAccount: u.Name, ClientID: key.ClientID, ClientSecret: secret})
	}

	if p.req.Shape == ion.ShapeSeeded {
		if err := p.loadSeedData(ctx, p.req.Size); err != nil {
			return Result{}, fmt.Errorf("seeding its data: %w", err)
		}
	}
	// The baseline that Reset returns to: the data as provisioned (a
	// seeded sandbox's was saved as it was loaded).
	if p.req.Shape != ion.ShapeSeeded {
		if err := p.cfg.Stores.SaveTenantState(ctx, p.tenantID, baselineState); err != nil {
			return Result{}, fmt.Errorf("saving its baseline: %w", err)
		}
	}
	if err := control.SetSandboxState(ctx, name, ion.SandboxActive); err != nil {
		return Result{}, fmt.Errorf("activating it: %w", err)
	}
	sb.State = ion.SandboxActive
	decided, err := control.DecideSandboxRequest(ctx, p.req.ID, ion.RequestProvisioned, note)
	if err != nil {
		return Result{}, fmt.Errorf("marking request %d provisioned: %w", p.req.ID, err)
	}
	detail := note
	if p.snapshotDetail != "" {
		detail = strings.TrimPrefix(note+"; "+p.snapshotDetail, "; ")
	}
	p.record(ctx, name, ion.EventApproved, actorOperator, detail)
	return Result{Request: decided, Sandbox: &sb, Credentials: creds}, nil
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
