package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/ionbox/ionbox/internal/limit"
	"github.com/ionbox/ionbox/ion"
)

// Admin endpoints of environments' policies (issue 7): a sandbox's preview
// feature flags and any environment's rate-limit policy. Both are kept in
// the control store, which every replica reads (caching a sandbox for at
// most a second, production likewise), so a change takes effect on running
// servers without a restart.

func (s *Server) routePolicyAdmin() {
	s.admin.HandleFunc("GET /admin/v1/features", s.listFeatures)
	s.admin.HandleFunc("GET /admin/v1/environments/{name}/rate-limit", s.getRateLimit)
	s.admin.HandleFunc("PUT /admin/v1/environments/{name}/rate-limit", s.putRateLimit)
	if s.cfg.SandboxAdmin != nil && s.cfg.Sandboxes != nil {
		s.admin.HandleFunc("PUT /admin/v1/sandboxes/{name}/features", s.putSandboxFeatures)
	}
}

type featureJSON struct {
	Name        string   `json:"name"`
	Stage       string   `json:"stage"`
	Tiers       []string `json:"tiers"`
	Description string   `json:"description"`
}

// listFeatures lists the declared flags.
func (s *Server) listFeatures(w http.ResponseWriter, r *http.Request) {
	out := make([]featureJSON, 0, len(ion.Features))
	for _, f := range ion.Features {
		tiers := f.Tiers
		if tiers == nil {
			tiers = []string{}
		}
		out = append(out, featureJSON{Name: f.Name, Stage: f.Stage, Tiers: tiers, Description: f.Description})
	}
	writeJSON(w, http.StatusOK, map[string]any{"features": out})
}

// putSandboxFeatures replaces a sandbox's preview flags:
// {"features": ["bulk-operations"]}; [] turns them all off.
func (s *Server) putSandboxFeatures(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Features *[]string `json:"features"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeProblem(w, s.log, err)
		return
	}
	if in.Features == nil {
		writeProblem(w, s.log, ion.Invalid("features", "is required: the list of preview flags to turn on (e.g. [\"bulk-operations\"]), or [] to turn them all off."))
		return
	}
	name := r.PathValue("name")
	sb, err := s.cfg.SandboxAdmin.SetFeatures(r.Context(), name, *in.Features)
	if err != nil {
		writeProblem(w, s.log, s.sandboxError(name, err))
		return
	}
	s.cfg.Sandboxes.ForgetSandbox(name)
	writeJSON(w, http.StatusOK, s.toSandboxJSON(sb))
}

// rateLimitJSON is the answer of the rate-limit endpoints: the stored
// override (null for none) and the policy in effect.
type rateLimitJSON struct {
	Environment string          `json:"environment"`
	Override    *limit.Override `json:"override"`
	Effective   limit.Effective `json:"effective"`
}

func (s *Server) rateLimitOf(env ion.Environment) rateLimitJSON {
	out := rateLimitJSON{Environment: env.Name, Effective: s.cfg.Limiter.Effective(env)}
	if env.RateLimitPolicy != "" {
		if o, err := limit.ParseOverrideDoc(env.RateLimitPolicy); err == nil {
			out.Override = &o
		}
	}
	return out
}

func (s *Server) getRateLimit(w http.ResponseWriter, r *http.Request) {
	env, err := s.cfg.Control.Environment(r.Context(), r.PathValue("name"))
	if err != nil {
		writeProblem(w, s.log, fmt.Errorf("rate-limit policy: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, s.rateLimitOf(env))
}

// putRateLimit replaces an environment's rate-limit override: a JSON
// object with any of requestsPerSecond, burst, costPerSecond, costBurst;
// {} restores the kind's defaults.
func (s *Server) putRateLimit(w http.ResponseWriter, r *http.Request) {
	var in limit.Override
	if err := decodeBody(r, &in); err != nil {
		writeProblem(w, s.log, err)
		return
	}
	doc, err := rateLimitDoc(&in, "")
	if err != nil {
		writeProblem(w, s.log, err)
		return
	}
	name := r.PathValue("name")
	env, err := s.cfg.Control.SetEnvironmentRateLimitPolicy(r.Context(), name, doc)
	if err != nil {
		writeProblem(w, s.log, fmt.Errorf("rate-limit policy of %q: %w", name, err))
		return
	}
	if env.Kind == ion.EnvSandbox && s.cfg.Sandboxes != nil {
		s.cfg.Sandboxes.ForgetSandbox(name)
	} else {
		s.production.forget()
	}
	writeJSON(w, http.StatusOK, s.rateLimitOf(env))
}

// rateLimitDoc checks an override and returns it as the RateLimitPolicy
// document ("" for none); field prefixes the names in its errors.
func rateLimitDoc(o *limit.Override, field string) (string, error) {
	if o == nil || *o == (limit.Override{}) {
		return "", nil
	}
	b, err := json.Marshal(o)
	if err != nil {
		return "", fmt.Errorf("encode rate-limit policy: %w", err)
	}
	if _, err := limit.ParseOverrideDoc(string(b)); err != nil {
		if field == "" {
			field = "body"
		}
		return "", ion.Invalid(field, "requestsPerSecond, burst, costPerSecond and costBurst must be positive numbers (got %s).", b)
	}
	return string(b), nil
}
