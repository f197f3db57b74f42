package sandbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// Service runs the sandbox lifecycle. It is safe for concurrent use.
type Service struct {
	cfg Config

	// provisioning holds the requests being provisioned by this process,
	// so that a second approval of the same request answers CONFLICT at
	// once instead of racing the first. (Across processes the store's
	// unique names keep a request from being provisioned twice.)
	mu           sync.Mutex
	provisioning map[ion.ID]bool
	progress     map[string]ion.SnapshotProgress // of snapshots running here, by sandbox name

	seeding // seed templates and provisioning progress (seeded.go)
}

// Credential is a service account's API key. ClientSecret is returned only
// by the call that made the key.
type Credential struct {
	ServiceAccount, ClientID, ClientSecret string
}

// Result is a sandbox request as it now stands and, once it is provisioned,
// its sandbox and one credential per service account (secrets appear only
// here, once).
type Result struct {
	Request     ion.SandboxRequest
	Sandbox     *ion.Sandbox
	Credentials []Credential
}

// New returns a Service. See Config for defaults.
func New(cfg Config) (*Service, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, provisioning: map[ion.ID]bool{}, progress: map[string]ion.SnapshotProgress{}}, nil
}

// autoNote is the note of a request approved on arrival.
const autoNote = "auto-approved"

// Request records a sandbox request for a production organization. A
// request whose shape is in Config.AutoApprove is provisioned at once and
// comes back provisioned, with Sandbox and Credentials; any other comes back
// pending, for Approve or Reject. Shape defaults to blank and RequestedBy to
// "operator".
//
// VALIDATION_ERROR naming the field for: a name that is not a DNS label,
// is reserved, or is taken by an environment or a pending request;
// organizationId not a production organization; a shape other than blank
// or snapshot (seeded cannot be provisioned yet); a member without a name
// or a valid email, or two with one email; a service account name outside
// [a-z0-9][a-z0-9-]{0,62}, or repeated; ttlDays below 1; a feature that is
// not kebab-case. If provisioning fails, the request stays pending and the
// error says why.
func (s *Service) Request(ctx context.Context, r ion.SandboxRequest) (Result, error) {
	src, err := s.checkRequest(ctx, &r)
	if err != nil {
		return Result{}, err
	}
	if slices.Contains(s.cfg.AutoApprove, r.Shape) {
		// The request is made in the transaction that makes the sandbox's
		// records, which no other call can see, and so approve, before
		// it commits.
		return s.provision(ctx, ion.SandboxRequest{}, &r, src, autoNote)
	}
	req, err := s.makeRequest(ctx, r)
	if err != nil {
		return Result{}, err
	}
	return Result{Request: req}, nil
}

// makeRequest stores request r, pending, and records it in the lifecycle
// log, in one transaction.
func (s *Service) makeRequest(ctx context.Context, r ion.SandboxRequest) (ion.SandboxRequest, error) {
	var req ion.SandboxRequest
	err := s.cfg.Control.Atomically(ctx, func(ctx context.Context) error {
		var err error
		req, err = s.createRequest(ctx, r)
		return err
	})
	return req, err
}

// createRequest stores request r, pending, and records it in the
// lifecycle log.
func (s *Service) createRequest(ctx context.Context, r ion.SandboxRequest) (ion.SandboxRequest, error) {
	req, err := s.cfg.Control.CreateSandboxRequest(ctx, r)
	if err != nil {
		return ion.SandboxRequest{}, fmt.Errorf("sandbox: request %q: %w", r.Name, err)
	}
	s.record(ctx, req.Name, ion.EventRequested, req.RequestedBy, fmt.Sprintf("request %d, shape %s", req.ID, req.Shape))
	return req, nil
}

// Approve provisions a pending request and marks it provisioned with note.
// NOT_FOUND for an unknown request; CONFLICT if it is not pending or is
// being provisioned right now; VALIDATION_ERROR on shape for a shape that
// cannot be provisioned yet. If provisioning fails, nothing of the sandbox
// is left and the request stays pending, so that it can be approved again.
func (s *Service) Approve(ctx context.Context, requestID ion.ID, note string) (Result, error) {
	if !s.claim(requestID) {
		return Result{}, beingProvisioned(requestID)
	}
	defer s.unclaim(requestID)
	req, err := s.cfg.Control.SandboxRequest(ctx, requestID)
	if err != nil {
		return Result{}, fmt.Errorf("sandbox: approve request %d: %w", requestID, err)
	}
	if req.Status != ion.RequestPending {
		return Result{}, ion.Errorf(ion.ECONFLICT, "Sandbox request %d is already %s; only a pending request can be approved.", requestID, req.Status)
	}
	// It was checked when it was made, but what this version can provision
	// or the organization may have changed since.
	if err := checkProvisionable(req.Shape); err != nil {
		return Result{}, err
	}
	src, err := s.productionOrganization(ctx, req.OrganizationID)
	if err != nil {
		return Result{}, err
	}
	return s.provision(ctx, req, nil, src, strings.TrimSpace(note))
}

// Reject marks a pending request rejected, with reason as its note, and
// frees its name. NOT_FOUND for an unknown request; CONFLICT if it is not
// pending (or is being provisioned right now).
func (s *Service) Reject(ctx context.Context, requestID ion.ID, reason string) (ion.SandboxRequest, error) {
	if !s.claim(requestID) {
		return ion.SandboxRequest{}, beingProvisioned(requestID)
	}
	defer s.unclaim(requestID)
	req, err := s.cfg.Control.DecideSandboxRequest(ctx, requestID, ion.RequestRejected, strings.TrimSpace(reason))
	if err != nil {
		return ion.SandboxRequest{}, fmt.Errorf("sandbox: reject request %d: %w", requestID, err)
	}
	s.record(ctx, req.Name, ion.EventRejected, actorOperator, req.Note)
	return req, nil
}

// Delete removes a sandbox and everything it holds: its environment,
// organizations, users, API keys (their tokens stop working), signing keys
// and tenant files. Its request stays, as history, and its name becomes
// free. NOT_FOUND for an unknown sandbox.
func (s *Service) Delete(ctx context.Context, name string) error {
	return s.deleteSandbox(ctx, name, actorOperator, "")
}

// deleteSandbox is Delete, logged with actor and detail.
func (s *Service) deleteSandbox(ctx context.Context, name, actor, detail string) error {
	sb, err := s.cfg.Control.Sandbox(ctx, name)
	if err != nil {
		return fmt.Errorf("sandbox: delete %q: %w", name, err)
	}
	orgs, err := s.cfg.Control.Organizations(ctx, name)
	if err != nil {
		return fmt.Errorf("sandbox: delete %q: %w", name, err)
	}
	tenants := make([]string, 0, len(orgs)+1)
	if sb.OrganizationID != 0 {
		tenants = append(tenants, ion.TenantIDFor(name, sb.OrganizationID))
	}
	for _, o := range orgs {
		if id := o.TenantID(); !slices.Contains(tenants, id) {
			tenants = append(tenants, id)
		}
	}
	if err := s.cfg.Control.DeleteSandbox(ctx, name); err != nil {
		return fmt.Errorf("sandbox: delete %q: %w", name, err)
	}
	s.forgetIssuer(name)
	s.record(ctx, name, ion.EventDeleted, actor, detail)
	// The records are gone, so the sandbox is; files that cannot be
	// removed now are unreachable, and a later organization with the same
	// id replaces them.
	var errs []error
	for _, id := range tenants {
		if err := s.cfg.Stores.DeleteTenant(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sandbox: delete %q: removing its data: %w", name, err)
	}
	return nil
}

// AddCredential makes a new API key for service account serviceAccount of
// a sandbox, creating the account if it does not exist yet, and returns it
// with its secret (the only time the secret is shown). VALIDATION_ERROR
// naming serviceAccount for an invalid name or a deactivated account;
// NOT_FOUND for an unknown sandbox; CONFLICT while the sandbox is being
// provisioned or once it has expired.
func (s *Service) AddCredential(ctx context.Context, sandbox, serviceAccount string) (Credential, error) {
	serviceAccount = strings.TrimSpace(serviceAccount)
	if err := checkServiceAccountName("serviceAccount", serviceAccount); err != nil {
		return Credential{}, err
	}
	sb, err := s.cfg.Control.Sandbox(ctx, sandbox)
	if err != nil {
		return Credential{}, fmt.Errorf("sandbox: add credential to %q: %w", sandbox, err)
	}
	switch {
	case sb.State == ion.SandboxProvisioning || sb.OrganizationID == 0:
		return Credential{}, ion.Errorf(ion.ECONFLICT, "Sandbox %q is still being provisioned; add credentials once it is active.", sandbox)
	case sb.State == ion.SandboxExpired:
		return Credential{}, ion.Errorf(ion.ECONFLICT, "Sandbox %q has expired and its credentials are revoked; request a new sandbox.", sandbox)
	}
	user, err := s.serviceAccountUser(ctx, sb, serviceAccount)
	if err != nil {
		return Credential{}, fmt.Errorf("sandbox: add credential to %q: %w", sandbox, err)
	}
	key, secret, err := s.cfg.APIKeys.CreateAPIKey(ctx, sb.Name, sb.OrganizationID, user.ID)
	if err != nil {
		return Credential{}, fmt.Errorf("sandbox: add credential to %q: %w", sandbox, err)
	}
	return Credential{ServiceAccount: serviceAccount, ClientID: key.ClientID, ClientSecret: secret}, nil
}

// serviceAccountUser returns the user of service account name in sb,
// creating it if there is none.
func (s *Service) serviceAccountUser(ctx context.Context, sb ion.Sandbox, name string) (ion.User, error) {
	email := serviceAccountEmail(name, sb.Name)
	find := func() (ion.User, bool, error) {
		page, err := s.cfg.Control.Users(ctx, sb.OrganizationID, ion.ListOptions{
			Filters: []ion.Filter{{Field: "email", Op: ion.OpEq, Value: email}}, Limit: 1,
		})
		if err != nil || len(page.Items) == 0 {
			return ion.User{}, false, err
		}
		u := page.Items[0]
		if !u.Active {
			return ion.User{}, false, ion.Invalid("serviceAccount", "service account %q of sandbox %q is deactivated; use another name.", name, sb.Name)
		}
		return u, true, nil
	}
	if u, found, err := find(); found || err != nil {
		return u, err
	}
	u, err := s.cfg.Control.CreateUser(ctx, serviceAccountUser(sb.OrganizationID, name, sb.Name))
	if ion.ErrorCode(err) == ion.EVALIDATION {
		// Another call made the same account meanwhile: use it.
		if u, found, ferr := find(); found || ferr != nil {
			return u, ferr
		}
	}
	return u, err
}

// serviceAccountUser is the user of a service account. Service accounts
// get the admin role as members do: a sandbox is there for the integration
// to exercise the whole API.
func serviceAccountUser(orgID ion.ID, name, sandbox string) ion.User {
	return ion.User{
		OrganizationID: orgID,
		Name:           name,
		Email:          serviceAccountEmail(name, sandbox),
		Active:         true,
		Roles:          []string{"admin"},
		ServiceAccount: true,
	}
}

// forgetIssuer drops a cached issuer of env, if the API key service keeps
// them (auth.Service does).
func (s *Service) forgetIssuer(env string) {
	if f, ok := s.cfg.APIKeys.(interface{ Forget(envName string) }); ok {
		f.Forget(env)
	}
}

// claim marks request id as being provisioned or decided by this process;
// false if it already is.
func (s *Service) claim(id ion.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.provisioning[id] {
		return false
	}
	s.provisioning[id] = true
	return true
}

func (s *Service) unclaim(id ion.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.provisioning, id)
}

func beingProvisioned(id ion.ID) error {
	return ion.Errorf(ion.ECONFLICT, "Sandbox request %d is being provisioned right now; wait for that to finish.", id)
}

// expiry is when a sandbox made now with ttlDays expires; nil for none.
func expiry(now time.Time, ttlDays *int) *time.Time {
	if ttlDays == nil {
		return nil
	}
	t := now.UTC().AddDate(0, 0, *ttlDays).Truncate(time.Microsecond)
	return &t
}
