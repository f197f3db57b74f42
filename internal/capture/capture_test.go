package capture

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ionbox/ionbox/ion"
)

func TestFieldName(t *testing.T) {
	t.Parallel()
	for goName, want := range map[string]string{
		"ID":                             "id",
		"Etag":                           "_etag",
		"CreatedAt":                      "createdAt",
		"PartNumber":                     "partNumber",
		"RevisedFromID":                  "revisedFromId",
		"UpstreamStepIDs":                "upstreamStepIds",
		"OriginMBomItemID":               "originMbomItemId",
		"UnitOfMeasureID":                "unitOfMeasureId",
		"QuantityPerParentPartInventory": "quantityPerParentPartInventory",
	} {
		if got := FieldName(goName); got != want {
			t.Errorf("FieldName(%q) = %q, want %q", goName, got, want)
		}
	}
}

func TestDiff(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tt := "SERIAL"
	before, err := Of(ion.Part{Meta: ion.Meta{ID: 7, Etag: "a", CreatedAt: at, UpdatedAt: at}, PartNumber: "P-1", Revision: "A"})
	if err != nil {
		t.Fatal(err)
	}
	after, err := Of(&ion.Part{Meta: ion.Meta{ID: 7, Etag: "b", CreatedAt: at, UpdatedAt: at}, PartNumber: "P-1", Revision: "A", TrackingType: &tt})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		before, after  Object
		wantChanged    bool
		wantData       string
		wantNewPartNum bool
	}{
		{"create", nil, after, true, `"changed_fields":[],"new":`, true},
		{"delete", before, nil, true, `"changed_fields":[]`, false},
		{"update", before, after, true, `"old":{"_etag":"a","trackingType":null}`, true},
		{"unchanged", before, before, false, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, changed := Diff(tc.before, tc.after)
			if changed != tc.wantChanged {
				t.Fatalf("changed = %v, want %v", changed, tc.wantChanged)
			}
			if !changed {
				return
			}
			data, err := c.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]json.RawMessage
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			compact, _ := json.Marshal(doc) // keys sorted
			if !strings.Contains(string(compact), tc.wantData) {
				t.Errorf("data = %s, want it to contain %s", compact, tc.wantData)
			}
			if tc.wantNewPartNum && string(c.New["partNumber"]) != `"P-1"` {
				t.Errorf("new.partNumber = %s", c.New["partNumber"])
			}
		})
	}
	c, _ := Diff(before, after)
	if diff := cmp.Diff([]string{"_etag", "trackingType"}, c.ChangedFields); diff != "" {
		t.Errorf("changed fields (-want +got):\n%s", diff)
	}
}
