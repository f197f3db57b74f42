package ion

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Feature flag stages.
const (
	// StageGA: generally available to the tiers listed.
	StageGA = "ga"
	// StageBeta: on for the tiers listed; may still change.
	StageBeta = "beta"
	// StagePreview: off everywhere unless a sandbox turns it on (at request
	// time or later through the admin API), so that integration developers
	// can rehearse a feature before it reaches production.
	StagePreview = "preview"
)

// EFEATUREDISABLED answers a call to a part of the schema whose feature
// flag is off for the caller.
const EFEATUREDISABLED = "FEATURE_DISABLED"

// Feature is one feature flag.
type Feature struct {
	// Name is kebab-case, e.g. "bulk-operations".
	Name string
	// Stage is StageGA, StageBeta or StagePreview.
	Stage string
	// Tiers are the organization tiers that get the flag in production and
	// in their sandboxes; a preview flag's tiers are empty.
	Tiers []string
	// Description says what the flag gates, for /.well-known and the admin
	// API.
	Description string
}

// FeatureBulkOperations gates adjustPartInventories and cancelRuns.
const FeatureBulkOperations = "bulk-operations"

// Features is every feature flag: the one place flags are declared.
var Features = []Feature{
	{
		Name:        FeatureBulkOperations,
		Stage:       StagePreview,
		Description: "bulk inventory adjustment (adjustPartInventories) and mass run cancellation (cancelRuns), all-or-nothing, with dry runs",
	},
}

// LookupFeature returns the declared flag name.
func LookupFeature(name string) (Feature, bool) {
	for _, f := range Features {
		if f.Name == name {
			return f, true
		}
	}
	return Feature{}, false
}

// ValidateSandboxFeatures checks the flags a sandbox asks for and returns
// them without repeats, in the order of first mention: each must be a
// declared preview flag (a ga or beta flag comes with the organization's
// tier and cannot be chosen). VALIDATION_ERROR naming field[i] otherwise.
func ValidateSandboxFeatures(field string, names []string) ([]string, error) {
	out := make([]string, 0, len(names))
	for i, n := range names {
		n = strings.TrimSpace(n)
		f, ok := LookupFeature(n)
		switch {
		case !ok:
			return nil, Invalid(fmt.Sprintf("%s[%d]", field, i), "%q is not a feature flag; choose from the preview flags %s.", n, quoteList(PreviewFeatures()))
		case f.Stage != StagePreview:
			return nil, Invalid(fmt.Sprintf("%s[%d]", field, i), "%q is a %s flag: it comes with the organization's tier (%s) and cannot be chosen; only preview flags can (%s).",
				n, f.Stage, strings.Join(f.Tiers, ", "), quoteList(PreviewFeatures()))
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// PreviewFeatures lists the preview flags' names.
func PreviewFeatures() []string {
	var out []string
	for _, f := range Features {
		if f.Stage == StagePreview {
			out = append(out, f.Name)
		}
	}
	return out
}

func quoteList(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// EnabledFeatures is the rule of which flags are on: the ga and beta
// flags of the organization's tier, plus, in a sandbox, the preview flags
// it chose (sandboxFeatures; nil in production). Unknown names and
// non-preview names in sandboxFeatures are ignored, so that a flag removed
// from Features turns off everywhere. The result is sorted by name.
func EnabledFeatures(tier string, sandboxFeatures []string) []string {
	out := []string{}
	for _, f := range Features {
		on := f.Stage != StagePreview && slices.Contains(f.Tiers, tier)
		if f.Stage == StagePreview && slices.Contains(sandboxFeatures, f.Name) {
			on = true
		}
		if on {
			out = append(out, f.Name)
		}
	}
	slices.Sort(out)
	return out
}

// FeatureSet is the flags on for one request.
type FeatureSet struct {
	// Environment names where the request runs, for messages.
	Environment string
	// Sandbox is true in a sandbox environment.
	Sandbox bool
	// Tier is the caller's organization's tier.
	Tier string
	// On are the flags that are on, sorted.
	On []string
}

// Enabled reports whether flag name is on.
func (s FeatureSet) Enabled(name string) bool { return slices.Contains(s.On, name) }

// Require answers nil when flag name is on, else FEATURE_DISABLED with a
// message naming the flag and how to get it.
func (s FeatureSet) Require(name string) error {
	if s.Enabled(name) {
		return nil
	}
	f, ok := LookupFeature(name)
	if !ok {
		return Errorf(EFEATUREDISABLED, "The feature %q is not available.", name)
	}
	switch {
	case f.Stage == StagePreview && s.Sandbox:
		return Errorf(EFEATUREDISABLED,
			"The feature %q is off in sandbox %q. It is a preview feature: turn it on for this sandbox through the admin API (PUT /admin/v1/sandboxes/%s/features with {\"features\": [%q]}) or request a sandbox with \"features\": [%q].",
			name, s.Environment, s.Environment, name, name)
	case f.Stage == StagePreview:
		return Errorf(EFEATUREDISABLED,
			"The feature %q is in preview and not available in production. Rehearse it in a sandbox requested with \"features\": [%q].", name, name)
	}
	return Errorf(EFEATUREDISABLED,
		"The feature %q is not part of the %s tier; it is available to the %s tier(s). Ask your ION administrator to change your organization's tier.",
		name, s.Tier, strings.Join(f.Tiers, ", "))
}

type featuresKey struct{}

// WithFeatures returns a context carrying the request's feature set.
func WithFeatures(ctx context.Context, s FeatureSet) context.Context {
	return context.WithValue(ctx, featuresKey{}, s)
}

// FeaturesFrom returns the feature set carried by ctx; without one, every
// flag is off.
func FeaturesFrom(ctx context.Context) FeatureSet {
	s, _ := ctx.Value(featuresKey{}).(FeatureSet)
	return s
}

// PolicyStore changes an environment's policies while it runs; every
// replica reads them from the control store, so a change takes effect
// without a restart. It is part of the control store.
type PolicyStore interface {
	// SetSandboxFeatures replaces the preview flags chosen for sandbox name
	// (already checked with ValidateSandboxFeatures) and returns the
	// sandbox. NOT_FOUND for an unknown sandbox.
	SetSandboxFeatures(ctx context.Context, name string, features []string) (Sandbox, error)
	// SetEnvironmentRateLimitPolicy replaces environment name's
	// RateLimitPolicy document ("" restores its kind's defaults) and
	// returns the environment. NOT_FOUND for an unknown environment.
	SetEnvironmentRateLimitPolicy(ctx context.Context, name, policy string) (Environment, error)
}
