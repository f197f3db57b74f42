package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ionbox/ionbox/internal/limit"
	"github.com/ionbox/ionbox/internal/sandbox"
	"github.com/ionbox/ionbox/ion"
)

// SandboxAdmin is the sandbox lifecycle as internal/sandbox provides it.
type SandboxAdmin interface {
	Request(ctx context.Context, r ion.SandboxRequest) (sandbox.Result, error)
	Approve(ctx context.Context, requestID ion.ID, note string) (sandbox.Result, error)
	Reject(ctx context.Context, requestID ion.ID, reason string) (ion.SandboxRequest, error)
	Delete(ctx context.Context, name string) error
	AddCredential(ctx context.Context, sandboxName, serviceAccount string) (sandbox.Credential, error)
	Reset(ctx context.Context, name, checkpoint string) (sandbox.ResetResult, error)
	CreateCheckpoint(ctx context.Context, sandboxName, name string) (ion.Checkpoint, error)
	Checkpoints(ctx context.Context, sandboxName string) ([]ion.Checkpoint, error)
	DeleteCheckpoint(ctx context.Context, sandboxName, name string) error
	Extend(ctx context.Context, name string, e sandbox.Extension) (ion.Sandbox, error)
	Events(ctx context.Context, name string) ([]ion.SandboxEvent, error)
	SetFeatures(ctx context.Context, name string, features []string) (ion.Sandbox, error)
	// Progress is how far a snapshot being provisioned by this process
	// has got; false if none is.
	Progress(name string) (ion.SnapshotProgress, bool)
}

func (s *Server) routeSandboxAdmin() {
	s.admin.HandleFunc("POST /admin/v1/sandbox-requests", s.requestSandbox)
	s.admin.HandleFunc("GET /admin/v1/sandbox-requests", s.listSandboxRequests)
	s.admin.HandleFunc("POST /admin/v1/sandbox-requests/{id}/approve", s.approveSandboxRequest)
	s.admin.HandleFunc("POST /admin/v1/sandbox-requests/{id}/reject", s.rejectSandboxRequest)
	s.admin.HandleFunc("GET /admin/v1/sandboxes", s.listSandboxes)
	s.admin.HandleFunc("GET /admin/v1/sandboxes/{name}", s.getSandbox)
	s.admin.HandleFunc("DELETE /admin/v1/sandboxes/{name}", s.deleteSandbox)
	s.admin.HandleFunc("POST /admin/v1/sandboxes/{name}/credentials", s.addSandboxCredential)
	s.admin.HandleFunc("POST /admin/v1/sandboxes/{name}/reset", s.resetSandbox)
	s.admin.HandleFunc("POST /admin/v1/sandboxes/{name}/checkpoints", s.createCheckpoint)
	s.admin.HandleFunc("GET /admin/v1/sandboxes/{name}/checkpoints", s.listCheckpoints)
	s.admin.HandleFunc("DELETE /admin/v1/sandboxes/{name}/checkpoints/{checkpoint}", s.deleteCheckpoint)
	s.admin.HandleFunc("POST /admin/v1/sandboxes/{name}/extend", s.extendSandbox)
	s.admin.HandleFunc("GET /admin/v1/sandboxes/{name}/events", s.sandboxEvents)
	if s.cfg.Stores != nil {
		s.admin.HandleFunc("GET /admin/v1/sandboxes/{name}/webhook-events", s.webhookEvents)
	}
}

type sandboxRequestJSON struct {
	ID              ion.ID               `json:"id"`
	OrganizationID  ion.ID               `json:"organizationId"`
	Name            string               `json:"name"`
	Reason          string               `json:"reason"`
	Integration     string               `json:"integration"`
	Shape           string               `json:"shape"`
	Size            string               `json:"size,omitempty"`
	Members         []ion.Member         `json:"members"`
	ServiceAccounts []ion.ServiceAccount `json:"serviceAccounts"`
	Features        []string             `json:"features"`
	TTLDays         *int                 `json:"ttlDays"`
	Status          string               `json:"status"`
	RequestedBy     string               `json:"requestedBy"`
	Note            string               `json:"note,omitempty"`
	CreatedAt       time.Time            `json:"createdAt"`
	DecidedAt       *time.Time           `json:"decidedAt"`
	RateLimit       *limit.Override      `json:"rateLimit"`
}

func toSandboxRequestJSON(r ion.SandboxRequest) sandboxRequestJSON {
	nonNil := func(v []string) []string {
		if v == nil {
			return []string{}
		}
		return v
	}
	members, accounts := r.Members, r.ServiceAccounts
	if members == nil {
		members = []ion.Member{}
	}
	if accounts == nil {
		accounts = []ion.ServiceAccount{}
	}
	return sandboxRequestJSON{
		ID: r.ID, OrganizationID: r.OrganizationID, Name: r.Name, Reason: r.Reason, Integration: r.Integration,
		Shape: r.Shape, Size: r.Size, Members: members, ServiceAccounts: accounts, Features: nonNil(r.Features), TTLDays: r.TTLDays,
		Status: r.Status, RequestedBy: r.RequestedBy, Note: r.Note, CreatedAt: r.CreatedAt, DecidedAt: r.DecidedAt,
		RateLimit: overrideOf(r.RateLimitPolicy),
	}
}

// overrideOf is a stored RateLimitPolicy document as JSON (nil for none).
func overrideOf(doc string) *limit.Override {
	if doc == "" {
		return nil
	}
	o, err := limit.ParseOverrideDoc(doc)
	if err != nil {
		return nil
	}
	return &o
}

type sandboxJSON struct {
	Name           string     `json:"name"`
	OrganizationID ion.ID     `json:"organizationId"`
	Shape          string     `json:"shape"`
	State          string     `json:"state"`
	BaseURL        string     `json:"baseUrl"`
	GraphQLURL     string     `json:"graphqlUrl"`
	TokenURL       string     `json:"tokenUrl"`
	CreatedAt      time.Time  `json:"createdAt"`
	LastActivityAt time.Time  `json:"lastActivityAt"`
	ExpiresAt      *time.Time `json:"expiresAt"`
	Pinned         bool       `json:"pinned"`
	Features       []string   `json:"features"`
	// Progress is the running snapshot's progress while the sandbox is
	// provisioning (on the replica that provisions it).
	Progress *ion.SnapshotProgress `json:"progress,omitempty"`
}

func (s *Server) toSandboxJSON(sb ion.Sandbox) sandboxJSON {
	base := s.cfg.Sandboxes.SandboxBaseURL(sb.Name)
	env := Environment{BaseURL: base}
	features := sb.Features
	if features == nil {
		features = []string{}
	}
	out := sandboxJSON{
		Name: sb.Name, OrganizationID: sb.SourceOrganizationID, Shape: sb.Shape, State: sb.State,
		BaseURL: base, GraphQLURL: base + "/graphql", TokenURL: env.TokenURL(),
		CreatedAt: sb.CreatedAt, LastActivityAt: sb.LastActivityAt, ExpiresAt: sb.ExpiresAt,
		Pinned: sb.Pinned, Features: features,
	}
	if sb.State == ion.SandboxProvisioning {
		if p, ok := s.cfg.SandboxAdmin.Progress(sb.Name); ok {
			out.Progress = &p
		}
	}
	return out
}

type credentialJSON struct {
	ServiceAccount string `json:"serviceAccount"`
	ClientID       string `json:"clientId"`
	ClientSecret   string `json:"clientSecret"`
}

// resultJSON is a request with, once provisioned, its sandbox and the
// service accounts' credentials (shown this once).
func (s *Server) resultJSON(res sandbox.Result) map[string]any {
	out := map[string]any{}
	req := toSandboxRequestJSON(res.Request)
	out["id"], out["status"], out["request"] = req.ID, req.Status, req
	if res.Sandbox != nil {
		out["sandbox"] = s.toSandboxJSON(*res.Sandbox)
		creds := make([]credentialJSON, 0, len(res.Credentials))
		for _, c := range res.Credentials {
			creds = append(creds, credentialJSON{ServiceAccount: c.ServiceAccount, ClientID: c.ClientID, ClientSecret: c.ClientSecret})
		}
		out["credentials"] = creds
	}
	return out
}

func (s *Server) requestSandbox(w http.ResponseWriter, r *http.Request) {
	var in struct {
		OrganizationID  ion.ID               `json:"organizationId"`
		Name            string               `json:"name"`
		Reason          string               `json:"reason"`
		Integration     string               `json:"integration"`
		Shape           string               `json:"shape"`
		Size            string               `json:"size"`
		Members         []ion.Member         `json:"members"`
		ServiceAccounts []ion.ServiceAccount `json:"serviceAccounts"`
		Features        []string             `json:"features"`
		TTLDays         *int                 `json:"ttlDays"`
		RateLimit       *limit.Override      `json:"rateLimit"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeProblem(w, s.log, err)
		return
	}
	rateLimit, err := rateLimitDoc(in.RateLimit, "rateLimit")
	if err != nil {
		writeProblem(w, s.log, err)
		return
	}
	if in.Shape == "" {
		in.Shape = ion.ShapeBlank
	}
	res, err := s.cfg.SandboxAdmin.Request(r.Context(), ion.SandboxRequest{
		OrganizationID: in.OrganizationID, Name: strings.TrimSpace(in.Name), Reason: in.Reason, Integration: in.Integration,
		Shape: in.Shape, Size: in.Size, Members: in.Members, ServiceAccounts: in.ServiceAccounts, Features: in.Features, TTLDays: in.TTLDays,
		RequestedBy: "operator", RateLimitPolicy: rateLimit,
	})
	if err != nil {
		writeProblem(w, s.log, fmt.Errorf("request sandbox: %w", err))
		return
	}
	writeJSON(w, http.StatusCreated, s.resultJSON(res))
}

func (s *Server) listSandboxRequests(w http.ResponseWriter, r *http.Request) {
	reqs, err := s.cfg.Control.SandboxRequests(r.Context(), 0)
	if err != nil {
		writeProblem(w, s.log, fmt.Errorf("list sandbox requests: %w", err))
		return
	}
	out := make([]sandboxRequestJSON, 0, len(reqs))
	for _, q := range reqs {
		out = append(out, toSandboxRequestJSON(q))
	}
	writeJSON(w, http.StatusOK, map[string]any{"sandboxRequests": out})
}

func requestID(r *http.Request) (ion.ID, error) {
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, ion.Invalid("id", "must be a positive integer sandbox request id (got %q).", raw)
	}
	return id, nil
}

func (s *Server) approveSandboxRequest(w http.ResponseWriter, r *http.Request) {
	id, err := requestID(r)
	if err != nil {
		writeProblem(w, s.log, err)
		return
	}
	var in struct {
		Note string `json:"note"`
	}
	if r.ContentLength != 0 {
		if err := decodeBody(r, &in); err != nil {
			writeProblem(w, s.log, err)
			return
		}
	}
	res, err := s.cfg.SandboxAdmin.Approve(r.Context(), id, in.Note)
	if err != nil {
		writeProblem(w, s.log, fmt.Errorf("approve sandbox request: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, s.resultJSON(res))
}

func (s *Server) rejectSandboxRequest(w http.ResponseWriter, r *http.Request) {
	id, err := requestID(r)
	if err != nil {
		writeProblem(w, s.log, err)
		return
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 {
		if err := decodeBody(r, &in); err != nil {
			writeProblem(w, s.log, err)
			return
		}
	}
	req, err := s.cfg.SandboxAdmin.Reject(r.Context(), id, in.Reason)
	if err != nil {
		writeProblem(w, s.log, fmt.Errorf("reject sandbox request: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, toSandboxRequestJSON(req))
}

func (s *Server) listSandboxes(w http.ResponseWriter, r *http.Request) {
	list, err := s.cfg.Control.Sandboxes(r.Context(), 0)
	if err != nil {
		writeProblem(w, s.log, fmt.Errorf("list sandboxes: %w", err))
		return
	}
	out := make([]sandboxJSON, 0, len(list))
	for _, sb := range list {
		out = append(out, s.toSandboxJSON(sb))
	}
	writeJSON(w, http.StatusOK, map[string]any{"sandboxes": out})
}

func (s *Server) getSandbox(w http.ResponseWriter, r *http.Request) {
	sb, err := s.cfg.Control.Sandbox(r.Context(), r.PathValue("name"))
	if err != nil {
		writeProblem(w, s.log, s.sandboxError(r.PathValue("name"), err))
		return
	}
	writeJSON(w, http.StatusOK, s.toSandboxJSON(sb))
}

func (s *Server) deleteSandbox(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.cfg.SandboxAdmin.Delete(r.Context(), name); err != nil {
		writeProblem(w, s.log, s.sandboxError(name, err))
		return
	}
	s.cfg.Sandboxes.ForgetSandbox(name)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) addSandboxCredential(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ServiceAccount string `json:"serviceAccount"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeProblem(w, s.log, err)
		return
	}
	c, err := s.cfg.SandboxAdmin.AddCredential(r.Context(), r.PathValue("name"), in.ServiceAccount)
	if err != nil {
		writeProblem(w, s.log, s.sandboxError(r.PathValue("name"), err))
		return
	}
	writeJSON(w, http.StatusCreated, credentialJSON{ServiceAccount: c.ServiceAccount, ClientID: c.ClientID, ClientSecret: c.ClientSecret})
}

// sandboxError turns a NOT_FOUND about the sandbox itself into
// SANDBOX_NOT_FOUND with a message that says what to do.
func (s *Server) sandboxError(name string, err error) error {
	if ion.ErrorCode(err) == ion.ENOTFOUND {
		return s.unknownSandbox(name)
	}
	return err
}

// knownSandbox answers SANDBOX_NOT_FOUND and returns false unless the
// sandbox the path names exists, so that a later NOT_FOUND (a checkpoint)
// keeps its own message.
func (s *Server) knownSandbox(w http.ResponseWriter, r *http.Request) (string, bool) {
	name := r.PathValue("name")
	if _, err := s.cfg.Control.Sandbox(r.Context(), name); err != nil {
		writeProblem(w, s.log, s.sandboxError(name, err))
		return "", false
	}
	return name, true
}

// decodeOptionalBody decodes a JSON body if the request has one.
func decodeOptionalBody(r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	return decodeBody(r, v)
}

func (s *Server) resetSandbox(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Checkpoint string `json:"checkpoint"`
	}
	if err := decodeOptionalBody(r, &in); err != nil {
		writeProblem(w, s.log, err)
		return
	}
	name, ok := s.knownSandbox(w, r)
	if !ok {
		return
	}
	res, err := s.cfg.SandboxAdmin.Reset(r.Context(), name, in.Checkpoint)
	// This replica serves the new state at once; others within their
	// cache's second.
	s.cfg.Sandboxes.ForgetSandbox(name)
	if err != nil {
		writeProblem(w, s.log, fmt.Errorf("reset sandbox: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name": res.Sandbox.Name, "state": res.Sandbox.State, "resetTo": res.ResetTo,
		"durationMs": float64(res.Duration.Microseconds()) / 1000,
	})
}

func (s *Server) createCheckpoint(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeProblem(w, s.log, err)
		return
	}
	name, ok := s.knownSandbox(w, r)
	if !ok {
		return
	}
	cp, err := s.cfg.SandboxAdmin.CreateCheckpoint(r.Context(), name, in.Name)
	if err != nil {
		writeProblem(w, s.log, fmt.Errorf("create checkpoint: %w", err))
		return
	}
	writeJSON(w, http.StatusCreated, cp)
}

func (s *Server) listCheckpoints(w http.ResponseWriter, r *http.Request) {
	name, ok := s.knownSandbox(w, r)
	if !ok {
		return
	}
	cps, err := s.cfg.SandboxAdmin.Checkpoints(r.Context(), name)
	if err != nil {
		writeProblem(w, s.log, s.sandboxError(name, err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"checkpoints": cps})
}

func (s *Server) deleteCheckpoint(w http.ResponseWriter, r *http.Request) {
	name, ok := s.knownSandbox(w, r)
	if !ok {
		return
	}
	if err := s.cfg.SandboxAdmin.DeleteCheckpoint(r.Context(), name, r.PathValue("checkpoint")); err != nil {
		writeProblem(w, s.log, fmt.Errorf("delete checkpoint: %w", err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) extendSandbox(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Days   *int  `json:"days"`
		Pinned *bool `json:"pinned"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeProblem(w, s.log, err)
		return
	}
	name := r.PathValue("name")
	sb, err := s.cfg.SandboxAdmin.Extend(r.Context(), name, sandbox.Extension{Days: in.Days, Pinned: in.Pinned})
	if err != nil {
		writeProblem(w, s.log, s.sandboxError(name, err))
		return
	}
	s.cfg.Sandboxes.ForgetSandbox(name)
	writeJSON(w, http.StatusOK, s.toSandboxJSON(sb))
}

type sandboxEventJSON struct {
	Kind   string    `json:"kind"`
	Actor  string    `json:"actor"`
	Detail string    `json:"detail"`
	At     time.Time `json:"at"`
}

// sandboxEvents is the lifecycle log of a name, which outlives the
// sandbox: a deleted sandbox's log can still be read.
func (s *Server) sandboxEvents(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	events, err := s.cfg.SandboxAdmin.Events(r.Context(), name)
	if err != nil {
		writeProblem(w, s.log, fmt.Errorf("sandbox events: %w", err))
		return
	}
	if len(events) == 0 {
		if _, ok := s.knownSandbox(w, r); !ok {
			return
		}
	}
	out := make([]sandboxEventJSON, 0, len(events))
	for _, e := range events {
		out = append(out, sandboxEventJSON{Kind: e.Kind, Actor: e.Actor, Detail: e.Detail, At: e.At})
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out})
}
