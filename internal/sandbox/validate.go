package sandbox

import (
	"context"
	"fmt"
	"net/mail"
	"regexp"
	"strings"

	"github.com/ionbox/ionbox/internal/seed"
	"github.com/ionbox/ionbox/ion"
)

// Limits of one request. They keep provisioning a matter of milliseconds;
// more people and accounts can be added once the sandbox exists.
const (
	maxMembers         = 100
	maxServiceAccounts = 20
	maxTTLDays         = 3650 // ten years; beyond that a date is no longer an expiry
)

var (
	// serviceAccountName becomes the local part of the account's email.
	serviceAccountName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	featureName        = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
)

// serviceAccountDomain is where service accounts' emails live: under .invalid
// (RFC 2606), so that no mail can ever be sent to them and no person's
// address can be one of them.
const serviceAccountDomain = "service.ionbox.invalid"

// serviceAccountEmail is the email of service account name in sandbox.
func serviceAccountEmail(name, sandbox string) string {
	return name + "@" + sandbox + "." + serviceAccountDomain
}

// checkRequest normalizes r (trimming text, defaulting Shape and
// RequestedBy, dropping repeated features) and checks everything that can be
// checked before anything is written, answering VALIDATION_ERROR naming the
// field. It returns the production organization the request is for.
func (s *Service) checkRequest(ctx context.Context, r *ion.SandboxRequest) (ion.Organization, error) {
	r.Name = strings.TrimSpace(r.Name)
	r.Reason = strings.TrimSpace(r.Reason)
	r.Integration = strings.TrimSpace(r.Integration)
	r.RequestedBy = strings.TrimSpace(r.RequestedBy)
	if r.RequestedBy == "" {
		r.RequestedBy = "operator"
	}
	if r.Shape = strings.ToLower(strings.TrimSpace(r.Shape)); r.Shape == "" {
		r.Shape = ion.ShapeBlank
	}
	if err := ion.ValidateSandboxName(r.Name); err != nil {
		return ion.Organization{}, err
	}
	org, err := s.productionOrganization(ctx, r.OrganizationID)
	if err != nil {
		return ion.Organization{}, err
	}
	if err := checkProvisionable(r.Shape); err != nil {
		return ion.Organization{}, err
	}
	if err := checkSize(r); err != nil {
		return ion.Organization{}, err
	}
	if err := checkMembers(r.Members); err != nil {
		return ion.Organization{}, err
	}
	if err := checkServiceAccounts(r.ServiceAccounts); err != nil {
		return ion.Organization{}, err
	}
	if r.TTLDays != nil && (*r.TTLDays < 1 || *r.TTLDays > maxTTLDays) {
		return ion.Organization{}, ion.Invalid("ttlDays", "must be between 1 and %d days (got %d); leave it out for a sandbox that does not expire.", maxTTLDays, *r.TTLDays)
	}
	features, err := checkFeatures(r.Features)
	if err != nil {
		return ion.Organization{}, err
	}
	r.Features = features
	return org, nil
}

// productionOrganization returns organization id if it is a production one.
func (s *Service) productionOrganization(ctx context.Context, id ion.ID) (ion.Organization, error) {
	if id <= 0 {
		return ion.Organization{}, ion.Invalid("organizationId", "is required: the id of the production organization the sandbox is for.")
	}
	org, err := s.cfg.Control.Organization(ctx, id)
	if ion.ErrorCode(err) == ion.ENOTFOUND {
		return ion.Organization{}, ion.Invalid("organizationId", "organization %d not found.", id)
	} else if err != nil {
		return ion.Organization{}, fmt.Errorf("sandbox: organization %d: %w", id, err)
	}
	if org.Environment != ion.ProductionEnvironment {
		return ion.Organization{}, ion.Invalid("organizationId", "organization %d belongs to sandbox %q; sandboxes are made for production organizations.", id, org.Environment)
	}
	return org, nil
}

// checkProvisionable refuses shapes that this version cannot make.
func checkProvisionable(shape string) error {
	switch shape {
	case ion.ShapeBlank, ion.ShapeSeeded, ion.ShapeSnapshot:
		return nil
	}
	return ion.Invalid("shape", "%q is not a sandbox shape; use %q (or, once available, %q or %q).", shape, ion.ShapeBlank, ion.ShapeSeeded, ion.ShapeSnapshot)
}

// checkSize normalizes the size of a seeded request (default small) and
// refuses one on another shape, which has no seed data to size.
func checkSize(r *ion.SandboxRequest) error {
	if r.Shape != ion.ShapeSeeded {
		if strings.TrimSpace(r.Size) != "" {
			return ion.Invalid("size", "applies to %q sandboxes only; leave it out for a %q one.", ion.ShapeSeeded, r.Shape)
		}
		r.Size = ""
		return nil
	}
	size, err := seed.ParseSize(r.Size)
	r.Size = size
	return err
}

func checkMembers(members []ion.Member) error {
	if len(members) > maxMembers {
		return ion.Invalid("members", "at most %d members can be listed in a request (got %d).", maxMembers, len(members))
	}
	seen := map[string]int{}
	for i := range members {
		m := &members[i]
		m.Name, m.Email = strings.TrimSpace(m.Name), strings.TrimSpace(m.Email)
		field := fmt.Sprintf("members[%d]", i)
		if m.Name == "" {
			return ion.Invalid(field+".name", "is required.")
		}
		if addr, err := mail.ParseAddress(m.Email); err != nil || addr.Name != "" || addr.Address != m.Email {
			return ion.Invalid(field+".email", "%q is not an email address; use one such as \"ada@example.com\".", m.Email)
		}
		lower := strings.ToLower(m.Email)
		if strings.HasSuffix(lower, "."+serviceAccountDomain) || strings.HasSuffix(lower, "@"+serviceAccountDomain) {
			return ion.Invalid(field+".email", "%q is under %s, which is kept for service accounts; list it under serviceAccounts instead.", m.Email, serviceAccountDomain)
		}
		if j, dup := seen[lower]; dup {
			return ion.Invalid(field+".email", "%q is also members[%d]'s email; each member needs their own.", m.Email, j)
		}
		seen[lower] = i
	}
	return nil
}

func checkServiceAccounts(accounts []ion.ServiceAccount) error {
	if len(accounts) > maxServiceAccounts {
		return ion.Invalid("serviceAccounts", "at most %d service accounts can be listed in a request (got %d); add more later as credentials.", maxServiceAccounts, len(accounts))
	}
	seen := map[string]int{}
	for i := range accounts {
		a := &accounts[i]
		a.Name = strings.TrimSpace(a.Name)
		field := fmt.Sprintf("serviceAccounts[%d].name", i)
		if err := checkServiceAccountName(field, a.Name); err != nil {
			return err
		}
		if j, dup := seen[a.Name]; dup {
			return ion.Invalid(field, "%q is also serviceAccounts[%d]'s name; service account names must be unique.", a.Name, j)
		}
		seen[a.Name] = i
	}
	return nil
}

func checkServiceAccountName(field, name string) error {
	if !serviceAccountName.MatchString(name) {
		return ion.Invalid(field, "%q is not a valid service account name: use 1-63 lowercase letters, digits and hyphens, starting with a letter or digit (e.g. \"erp-sync\").", name)
	}
	return nil
}

// checkFeatures checks that each flag is a declared preview flag and drops
// repeats (a flag is on or off), keeping the order of first mention.
func checkFeatures(features []string) ([]string, error) {
	for i, f := range features {
		if f = strings.TrimSpace(f); !featureName.MatchString(f) {
			return nil, ion.Invalid(fmt.Sprintf("features[%d]", i), "%q is not a feature flag name; flags are kebab-case, e.g. \"bulk-operations\".", f)
		}
	}
	return ion.ValidateSandboxFeatures("features", features)
}
