package graphql

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ionbox/ionbox/ion"
)

// compatFixture builds data whose ids are the ones in ION-API.md §5's
// variables, so that every case there runs with exactly those variables:
// 301 locations, 30 parts (part 7 an assembly), 9876 inventories
// (inventories 1 and 2 at location 301, inventory 2 installed, inventory
// 9876 of part 7), procedure 12 with 100 steps of one BOOLEAN field each,
// 15 runs of it (run steps and fields up to 1500), build requirement 1 on
// inventory 9876, and purchase order 1.
type compatFixture struct {
	runStep1135  ion.RunStep
	field1462    ion.RunStepField
	inventory5   ion.PartInventory
	purchaseOrd1 ion.PurchaseOrder
}

func newCompatFixture(t *testing.T, b *bundle) compatFixture {
	t.Helper()
	ctx := t.Context()
	ts := b.ts
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 301; i++ {
		_, err := ts.CreateLocation(ctx, ion.Location{Name: fmt.Sprintf("Bin %d", i), Available: true})
		must(err)
	}
	for i := 1; i <= 30; i++ {
		_, err := ts.CreatePart(ctx, ion.Part{PartNumber: fmt.Sprintf("P-%d", i), Description: fmt.Sprintf("Part %d", i)})
		must(err)
	}
	loc301 := ion.ID(301)
	for i := 1; i <= 9875; i++ {
		inv := ion.PartInventory{PartID: 1, Quantity: 1}
		if i <= 2 {
			inv.LocationID = &loc301
		}
		_, err := ts.CreatePartInventory(ctx, inv)
		must(err)
	}
	parent, err := ts.CreatePartInventory(ctx, ion.PartInventory{PartID: 7, Quantity: 1})
	must(err)
	if parent.ID != 9876 {
		t.Fatalf("fixture: inventory id %d, want 9876", parent.ID)
	}
	req, err := ts.CreateBuildRequirement(ctx, ion.BuildRequirement{PartID: 1, PartInventoryID: parent.ID, QuantityPerParentPartInventory: 2})
	must(err)
	_, err = ts.CreateAbomInstallation(ctx, ion.AbomInstallation{BuildRequirementID: req.ID, PartInventoryID: 2, Quantity: 1})
	must(err)

	var proc ion.Procedure
	for i := 1; i <= 12; i++ {
		proc, err = ts.CreateProcedure(ctx, ion.Procedure{Title: fmt.Sprintf("Procedure %d", i), Type: ion.ProcBuild})
		must(err)
	}
	for i := 1; i <= 100; i++ {
		s, err := ts.CreateStep(ctx, ion.Step{ProcedureID: proc.ID, Position: int64(i), Title: fmt.Sprintf("Step %d", i)})
		must(err)
		_, err = ts.CreateStepField(ctx, ion.StepField{StepID: s.ID, Name: "OK?", Type: ion.FieldBoolean})
		must(err)
	}
	for i := 1; i <= 15; i++ {
		_, err := ts.CreateRun(ctx, ion.Run{ProcedureID: proc.ID})
		must(err)
	}
	var f compatFixture
	f.runStep1135, err = ts.RunStep(ctx, 1135)
	must(err)
	f.field1462, err = ts.RunStepField(ctx, 1462)
	must(err)
	f.inventory5, err = ts.PartInventory(ctx, 5)
	must(err)
	f.purchaseOrd1, err = ts.CreatePurchaseOrder(ctx, ion.PurchaseOrder{Status: ion.PODraft})
	must(err)
	return f
}

// TestCompatibilityCases runs every query of ION-API.md §5 unchanged, with
// the variables shown there. Where a shown variable is a placeholder
// ("<_etag>", "…") or an etag of ION's, the case runs twice: as shown (a
// stale etag: CONFLICT, nothing written) and with the object's real etag.
func TestCompatibilityCases(t *testing.T) {
	b := setup(t)
	f := newCompatFixture(t, b)

	runsJSON := func(n int) string {
		var nodes []string
		for i := 1; i <= n; i++ {
			title := "Procedure 12"
			if i == 16 {
				title = "PN - SN - Proc"
			}
			nodes = append(nodes, fmt.Sprintf(`{"node":{"id":%d,"title":%q,"procedureId":12}}`, i, title))
		}
		return `{"runs":{"edges":[` + strings.Join(nodes, ",") + `]}}`
	}

	b.run(t, []scenario{{
		name:      "CreatePart",
		query:     `mutation CreatePart($input: CreatePartInput!) { createPart(input: $input) { part { id revision partNumber description } } }`,
		variables: `{"input": {"partNumber": "ion-12", "description": "Part for API docs.", "revision": "A", "trackingType": "SERIAL"}}`,
		wantJSON:  `{"createPart":{"part":{"id":31,"revision":"A","partNumber":"ion-12","description":"Part for API docs."}}}`,
	}, {
		name:      "GetParts",
		query:     `query GetParts($filters: PartsInputFilters, $first: Int) { parts(filters: $filters, first: $first) { edges { node { id partNumber description quantity } } } }`,
		variables: `{"filters": {"partNumber": {"eq": "ion-12"}}, "first": 10}`,
		wantJSON:  `{"parts":{"edges":[{"node":{"id":31,"partNumber":"ion-12","description":"Part for API docs.","quantity":0}}]}}`,
	}, {
		name:      "getPartInventories",
		query:     `query getPartInventories($filters: PartInventoriesInputFilters) { partInventories(filters: $filters) { edges { node { id partId quantityAvailable quantity part { partNumber description revision } } } } }`,
		variables: `{"filters": {"locationId": {"eq": 301}, "status": {"neq": "INSTALLED"}}}`,
		wantJSON:  `{"partInventories":{"edges":[{"node":{"id":1,"partId":1,"quantityAvailable":1,"quantity":1,"part":{"partNumber":"P-1","description":"Part 1","revision":"A"}}}]}}`,
	}, {
		name:      "UpdatePartInventory with the placeholder etag is a CONFLICT",
		query:     `mutation UpdatePartInventory($input: UpdatePartInventoryInput!) { updatePartInventory(input: $input) { partInventory { _etag id quantity } } }`,
		variables: `{"input": {"id": 5, "etag": "<_etag>", "quantity": "2.5"}}`,
		wantCode:  ion.ECONFLICT,
		wantJSON:  `{"updatePartInventory":null}`,
	}, {
		name:      "UpdatePartInventory",
		query:     `mutation UpdatePartInventory($input: UpdatePartInventoryInput!) { updatePartInventory(input: $input) { partInventory { _etag id quantity } } }`,
		variables: fmt.Sprintf(`{"input": {"id": 5, "etag": %q, "quantity": "2.5"}}`, f.inventory5.Etag),
		wantJSON:  `{"updatePartInventory":{"partInventory":{"_etag":"ETAG","id":5,"quantity":2.5}}}`,
	}, {
		name:      "CreateRun",
		query:     `mutation CreateRun($input: CreateRunInput!) { createRun(input: $input) { run { id title procedureId partInventoryId } } }`,
		variables: `{"input": {"title": "PN - SN - Proc", "procedureId": 12, "partInventoryId": 9876, "partId": 7}}`,
		wantJSON:  `{"createRun":{"run":{"id":16,"title":"PN - SN - Proc","procedureId":12,"partInventoryId":9876}}}`,
	}, {
		name:      "GetRuns",
		query:     `query GetRuns($filters: RunsInputFilters, $sort: [RunSortEnum]) { runs(sort: $sort, filters: $filters) { edges { node { id title procedureId } } } }`,
		variables: `{"filters": {"procedureId": {"eq": 12}}}`,
		wantJSON:  runsJSON(16),
	}, {
		name:      "GetRuns sorted",
		query:     `query GetRuns($filters: RunsInputFilters, $sort: [RunSortEnum]) { runs(sort: $sort, filters: $filters) { edges { node { id title procedureId } } } }`,
		variables: `{"filters": {"procedureId": {"eq": 12}, "title": {"eq": "PN - SN - Proc"}}, "sort": ["ID_DESC"]}`,
		wantJSON:  `{"runs":{"edges":[{"node":{"id":16,"title":"PN - SN - Proc","procedureId":12}}]}}`,
	}, {
		name:      "UpdateRunStep with the placeholder etag is a CONFLICT",
		query:     `mutation UpdateRunStep($input: UpdateRunStepInput!) { updateRunStep(input: $input) { runStep { id status title _etag } } }`,
		variables: `{"input": {"id": 1135, "status": "TODO", "etag": "…"}}`,
		wantCode:  ion.ECONFLICT,
	}, {
		name:      "UpdateRunStep",
		query:     `mutation UpdateRunStep($input: UpdateRunStepInput!) { updateRunStep(input: $input) { runStep { id status title _etag } } }`,
		variables: fmt.Sprintf(`{"input": {"id": 1135, "status": "TODO", "etag": %q}}`, f.runStep1135.Etag),
		wantJSON:  `{"updateRunStep":{"runStep":{"id":1135,"status":"TODO","title":"Step 35","_etag":"ETAG"}}}`,
	}, {
		name:     "updateRunStepFieldValue with ION's etag is a CONFLICT",
		query:    `mutation { updateRunStepFieldValue(input: {id: 1462, value: true, etag: "066b1eb08dab44d6925d7bbd899e92cf"}) { runStepField { id value } } }`,
		wantCode: ion.ECONFLICT,
	}, {
		name:     "updateRunStepFieldValue",
		query:    fmt.Sprintf(`mutation { updateRunStepFieldValue(input: {id: 1462, value: true, etag: %q}) { runStepField { id value } } }`, f.field1462.Etag),
		wantJSON: `{"updateRunStepFieldValue":{"runStepField":{"id":1462,"value":true}}}`,
	}, {
		name:      "CreateABomInstallation",
		query:     `mutation CreateABomInstallation($input: CreateABomInstallationInput!) { createAbomInstallation(input: $input) { abomInstallation { buildRequirementId partInventoryId quantity } } }`,
		variables: `{"input": {"buildRequirementId": 1, "partInventoryId": 3, "quantity": 1}}`,
		wantJSON:  `{"createAbomInstallation":{"abomInstallation":{"buildRequirementId":1,"partInventoryId":3,"quantity":1}}}`,
	}, {
		name:      "deletePurchaseOrder",
		query:     `mutation deletePurchaseOrder($id: ID!, $etag: String!) { deletePurchaseOrder(id: $id, etag: $etag) { id } }`,
		variables: fmt.Sprintf(`{"id": %d, "etag": %q}`, f.purchaseOrd1.ID, f.purchaseOrd1.Etag),
		wantJSON:  `{"deletePurchaseOrder":{"id":1}}`,
	}, {
		name:     "Me",
		query:    `query Me { currentUser { id name email organization { id domain } } }`,
		wantJSON: `{"currentUser":{"id":1,"name":"Ada Lovelace","email":"ada@acme.example","organization":{"id":1,"domain":"acme.example"}}}`,
	}, {
		name:     "me",
		query:    `query Me { me { id name email organization { id domain } } }`,
		wantJSON: `{"me":{"id":1,"name":"Ada Lovelace","email":"ada@acme.example","organization":{"id":1,"domain":"acme.example"}}}`,
	}, {
		name:     "me permissionGroups",
		query:    `{ me { id permissionGroups { name } } }`,
		wantJSON: `{"me":{"id":1,"permissionGroups":[{"name":"admin"}]}}`,
	}, {
		name:     "parts after ION's cursor",
		query:    `{ parts(first: 5, after: "YXJyYXljb25uZWN0aW9uOjE5") { edges { node { id } } pageInfo { endCursor hasNextPage totalCount count } } }`,
		wantJSON: `{"parts":{"edges":[{"node":{"id":21}},{"node":{"id":22}},{"node":{"id":23}},{"node":{"id":24}},{"node":{"id":25}}],"pageInfo":{"endCursor":"YXJyYXljb25uZWN0aW9uOjI0","hasNextPage":true,"totalCount":31,"count":5}}}`,
	}, {
		name:      "createProcedure with top-level arguments",
		query:     `mutation CreateProcedure($title: String!, $description: String, $exportControlled: Boolean, $type: Proceduretypeenum) { createProcedure(title: $title, description: $description, exportControlled: $exportControlled, type: $type) { procedure { id familyId } } }`,
		variables: `{"title": "Final inspection", "description": "Check it all", "exportControlled": false, "type": "INSPECTION"}`,
		wantJSON:  `{"createProcedure":{"procedure":{"id":13,"familyId":13}}}`,
	}})

	// The stale-etag attempts above wrote nothing.
	inv, err := b.ts.PartInventory(t.Context(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Quantity != 2.5 {
		t.Errorf("inventory 5 quantity %v, want 2.5 (from the one accepted update)", inv.Quantity)
	}
}
