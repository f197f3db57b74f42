package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/ionbox/ionbox/ion"
)

func (s *Server) routeAdmin() {
	s.admin.HandleFunc("POST /admin/v1/organizations", s.createOrganization)
	s.admin.HandleFunc("GET /admin/v1/organizations", s.listOrganizations)
	s.admin.HandleFunc("GET /admin/v1/organizations/{orgId}", s.getOrganization)
	s.admin.HandleFunc("POST /admin/v1/organizations/{orgId}/users", s.createUser)
	s.admin.HandleFunc("GET /admin/v1/organizations/{orgId}/users", s.listUsers)
	s.admin.HandleFunc("POST /admin/v1/organizations/{orgId}/api-keys", s.createAPIKey)
	s.admin.HandleFunc("/admin/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, s.log, ion.Errorf(ion.ENOTFOUND, "No admin endpoint %s %s. See CONTROL-API.md for the admin API.", r.Method, r.URL.Path))
	})
}

type organizationJSON struct {
	ID        ion.ID    `json:"id"`
	Name      string    `json:"name"`
	Domain    string    `json:"domain"`
	Tier      string    `json:"tier"`
	CreatedAt time.Time `json:"createdAt"`
}

func toOrganizationJSON(o ion.Organization) organizationJSON {
	return organizationJSON{ID: o.ID, Name: o.Name, Domain: o.Domain, Tier: o.Tier, CreatedAt: o.CreatedAt}
}

type userJSON struct {
	ID             ion.ID   `json:"id"`
	OrganizationID ion.ID   `json:"organizationId"`
	Name           string   `json:"name"`
	Email          string   `json:"email"`
	Roles          []string `json:"roles"`
	Active         bool     `json:"active"`
}

func toUserJSON(u ion.User) userJSON {
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	return userJSON{ID: u.ID, OrganizationID: u.OrganizationID, Name: u.Name, Email: u.Email, Roles: roles, Active: u.Active}
}

// decodeBody reads one JSON object into v, refusing unknown fields and
// trailing data so that a typo never passes silently.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			return ion.Errorf(ion.EBODYTOOLARGE, "The request body is larger than %d bytes.", tooLarge.Limit)
		case errors.Is(err, io.EOF):
			return ion.Errorf(ion.EBADREQUEST, "The request body is empty; send a JSON object.")
		}
		return ion.Errorf(ion.EBADREQUEST, "The request body is not valid JSON for this endpoint: %v.", err)
	}
	if dec.More() {
		return ion.Errorf(ion.EBADREQUEST, "The request body has data after the JSON object; send exactly one object.")
	}
	return nil
}

func (s *Server) createOrganization(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name   string `json:"name"`
		Domain string `json:"domain"`
		Tier   string `json:"tier"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeProblem(w, s.log, err)
		return
	}
	in.Name, in.Domain = strings.TrimSpace(in.Name), strings.ToLower(strings.TrimSpace(in.Domain))
	if in.Tier == "" {
		in.Tier = ion.TierStandard
	}
	switch {
	case in.Name == "":
		writeProblem(w, s.log, ion.Invalid("name", "is required, e.g. \"Acme Rockets\"."))
		return
	case in.Domain == "" || strings.ContainsAny(in.Domain, " /@") || !strings.Contains(in.Domain, "."):
		writeProblem(w, s.log, ion.Invalid("domain", "must be a domain name such as \"acme.example\" (got %q).", in.Domain))
		return
	case in.Tier != ion.TierStandard && in.Tier != ion.TierEnterprise:
		writeProblem(w, s.log, ion.Invalid("tier", "must be %q or %q (got %q).", ion.TierStandard, ion.TierEnterprise, in.Tier))
		return
	}
	org, err := s.cfg.Control.CreateOrganization(r.Context(), ion.Organization{
		Environment: s.cfg.Production.Env.Name, Name: in.Name, Domain: in.Domain, Tier: in.Tier,
	})
	if err != nil {
		writeProblem(w, s.log, fmt.Errorf("create organization: %w", err))
		return
	}
	writeJSON(w, http.StatusCreated, toOrganizationJSON(org))
}

func (s *Server) listOrganizations(w http.ResponseWriter, r *http.Request) {
	orgs, err := s.cfg.Control.Organizations(r.Context(), s.cfg.Production.Env.Name)
	if err != nil {
		writeProblem(w, s.log, fmt.Errorf("list organizations: %w", err))
		return
	}
	out := make([]organizationJSON, 0, len(orgs))
	for _, o := range orgs {
		out = append(out, toOrganizationJSON(o))
	}
	writeJSON(w, http.StatusOK, map[string]any{"organizations": out})
}

// organization resolves the {orgId} path value to a production organization.
func (s *Server) organization(r *http.Request) (ion.Organization, error) {
	raw := r.PathValue("orgId")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return ion.Organization{}, ion.Invalid("orgId", "must be a positive integer organization id (got %q).", raw)
	}
	org, err := s.cfg.Control.Organization(r.Context(), id)
	if err != nil {
		return ion.Organization{}, err
	}
	if org.Environment != s.cfg.Production.Env.Name {
		return ion.Organization{}, ion.NotFound("Organization", id)
	}
	return org, nil
}

func (s *Server) getOrganization(w http.ResponseWriter, r *http.Request) {
	org, err := s.organization(r)
	if err != nil {
		writeProblem(w, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, toOrganizationJSON(org))
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	org, err := s.organization(r)
	if err != nil {
		writeProblem(w, s.log, err)
		return
	}
	var in struct {
		Name  string   `json:"name"`
		Email string   `json:"email"`
		Roles []string `json:"roles"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeProblem(w, s.log, err)
		return
	}
	in.Name, in.Email = strings.TrimSpace(in.Name), strings.ToLower(strings.TrimSpace(in.Email))
	if in.Name == "" {
		writeProblem(w, s.log, ion.Invalid("name", "is required, e.g. \"Ada Lovelace\"."))
		return
	}
	if addr, err := mail.ParseAddress(in.Email); err != nil || addr.Address != in.Email {
		writeProblem(w, s.log, ion.Invalid("email", "must be an email address such as \"ada@acme.example\" (got %q).", in.Email))
		return
	}
	if in.Roles == nil {
		in.Roles = []string{"admin"}
	}
	u, err := s.cfg.Control.CreateUser(r.Context(), ion.User{
		OrganizationID: org.ID, Name: in.Name, Email: in.Email, Roles: in.Roles, Active: true,
	})
	if err != nil {
		writeProblem(w, s.log, fmt.Errorf("create user: %w", err))
		return
	}
	writeJSON(w, http.StatusCreated, toUserJSON(u))
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	org, err := s.organization(r)
	if err != nil {
		writeProblem(w, s.log, err)
		return
	}
	page, err := s.cfg.Control.Users(r.Context(), org.ID, ion.ListOptions{Limit: 1000})
	if err != nil {
		writeProblem(w, s.log, fmt.Errorf("list users: %w", err))
		return
	}
	out := make([]userJSON, 0, len(page.Items))
	for _, u := range page.Items {
		out = append(out, toUserJSON(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) {
	org, err := s.organization(r)
	if err != nil {
		writeProblem(w, s.log, err)
		return
	}
	var in struct {
		UserID ion.ID `json:"userId"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeProblem(w, s.log, err)
		return
	}
	if in.UserID <= 0 {
		writeProblem(w, s.log, ion.Invalid("userId", "is required: the id of the user the key acts as (see POST /admin/v1/organizations/%d/users).", org.ID))
		return
	}
	if _, err := s.cfg.Control.User(r.Context(), org.ID, in.UserID); err != nil {
		if ion.ErrorCode(err) == ion.ENOTFOUND {
			err = ion.Invalid("userId", "user %d is not a user of organization %d.", in.UserID, org.ID)
		}
		writeProblem(w, s.log, err)
		return
	}
	key, secret, err := s.cfg.APIKeys.CreateAPIKey(r.Context(), org.Environment, org.ID, in.UserID)
	if err != nil {
		writeProblem(w, s.log, fmt.Errorf("create api key: %w", err))
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"clientId":     key.ClientID,
		"clientSecret": secret,
		"environment":  org.Environment,
		"tokenUrl":     s.cfg.Production.TokenURL(),
		"graphqlUrl":   s.cfg.Production.BaseURL + "/graphql",
	})
}
