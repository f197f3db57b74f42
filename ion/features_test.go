package ion

import (
	"slices"
	"strings"
	"testing"
)

func TestEnabledFeatures(t *testing.T) {
	t.Parallel()
	saved := Features
	t.Cleanup(func() { Features = saved })
	// A fuller declaration than today's, to exercise every stage.
	Features = []Feature{
		{Name: "bulk-operations", Stage: StagePreview},
		{Name: "webhooks", Stage: StageGA, Tiers: []string{TierStandard, TierEnterprise}},
		{Name: "audit-log", Stage: StageBeta, Tiers: []string{TierEnterprise}},
	}
	cases := []struct {
		name    string
		tier    string
		sandbox []string
		want    []string
	}{
		{"standard production", TierStandard, nil, []string{"webhooks"}},
		{"enterprise production", TierEnterprise, nil, []string{"audit-log", "webhooks"}},
		{"sandbox with a preview flag", TierStandard, []string{"bulk-operations"}, []string{"bulk-operations", "webhooks"}},
		{"a sandbox cannot choose a tier flag", TierStandard, []string{"audit-log"}, []string{"webhooks"}},
		{"unknown names are ignored", TierStandard, []string{"dark-mode"}, []string{"webhooks"}},
		{"unknown tier", "gold", nil, []string{}},
	}
	for _, c := range cases {
		if got := EnabledFeatures(c.tier, c.sandbox); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	fs := FeatureSet{Environment: "acme-dev", Sandbox: true, Tier: TierStandard}
	if err := fs.Require("audit-log"); ErrorCode(err) != EFEATUREDISABLED || !strings.Contains(err.Error(), `"audit-log" is not part of the standard tier`) {
		t.Errorf("beta flag of another tier: %v", err)
	}
	if _, err := ValidateSandboxFeatures("features", []string{"bulk-operations", "webhooks"}); ErrorCode(err) != EVALIDATION || !strings.HasPrefix(err.Error(), "features[1]: ") {
		t.Errorf("choosing a ga flag: %v", err)
	}
}

func TestRequireNamesTheFlagAndTheWayToGetIt(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		fs   FeatureSet
		want []string // "" for no error
	}{
		{"on", FeatureSet{On: []string{FeatureBulkOperations}}, nil},
		{"production", FeatureSet{Environment: ProductionEnvironment, Tier: TierStandard}, []string{`"bulk-operations"`, "preview", `"features": ["bulk-operations"]`}},
		{"sandbox", FeatureSet{Environment: "acme-dev", Sandbox: true}, []string{`"bulk-operations"`, `sandbox "acme-dev"`, "PUT /admin/v1/sandboxes/acme-dev/features"}},
	}
	for _, c := range cases {
		err := c.fs.Require(FeatureBulkOperations)
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if ErrorCode(err) != EFEATUREDISABLED {
			t.Fatalf("%s: %v, want FEATURE_DISABLED", c.name, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", c.name, err, w)
			}
		}
	}
}

func TestApplyAdjustment(t *testing.T) {
	t.Parallel()
	serial := TrackingSerial
	loc := ID(7)
	base := PartInventory{Quantity: 10, QuantityInstalled: 2, QuantityScrapped: 1}
	f := func(v float64) *float64 { return &v }
	cases := []struct {
		name      string
		inv       PartInventory
		tracking  *string
		a         InventoryAdjustment
		wantQty   float64
		wantScrap float64
		wantField string
	}{
		{"recount", base, nil, InventoryAdjustment{Quantity: f(4)}, 4, 1, ""},
		{"scrap what is available", base, nil, InventoryAdjustment{ScrapQuantity: f(7)}, 10, 8, ""},
		{"scrap more than available", base, nil, InventoryAdjustment{ScrapQuantity: f(7.5)}, 0, 0, "scrapQuantity"},
		{"scrap after the recount", base, nil, InventoryAdjustment{Quantity: f(5), ScrapQuantity: f(2)}, 5, 3, ""},
		{"recount below what is used, then scrap", base, nil, InventoryAdjustment{Quantity: f(3), ScrapQuantity: f(1)}, 0, 0, "scrapQuantity"},
		{"serial quantity 2", PartInventory{SerialNumber: new("SN")}, &serial, InventoryAdjustment{Quantity: f(2)}, 0, 0, "quantity"},
		{"transfer only", base, nil, InventoryAdjustment{LocationID: &loc}, 10, 1, ""},
	}
	for _, c := range cases {
		got, err := ApplyAdjustment(c.inv, c.tracking, c.a)
		if c.wantField != "" {
			if ErrorCode(err) != EVALIDATION || !strings.HasPrefix(err.Error(), c.wantField+": ") {
				t.Errorf("%s: %v, want VALIDATION_ERROR naming %s", c.name, err, c.wantField)
			}
			continue
		}
		if err != nil || got.Quantity != c.wantQty || got.QuantityScrapped != c.wantScrap {
			t.Errorf("%s: %+v, %v; want quantity %v scrapped %v", c.name, got, err, c.wantQty, c.wantScrap)
		}
	}
	if err := InRow("adjustments[2]", StaleEtag("part inventory", 5)); ErrorCode(err) != ECONFLICT || !strings.HasPrefix(err.Error(), "adjustments[2]: Etag mismatch") {
		t.Errorf("InRow on a conflict: %v", err)
	}
}
