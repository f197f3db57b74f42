package server

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// TestOrganizationIsolation creates one object of every type in organization
// A and checks that organization B can neither read, count, change nor
// delete any of them, and that every answer to B looks exactly like the
// answer for an id that does not exist.
func TestOrganizationIsolation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := b.newCredential("Alpha")
	other := b.newCredential("Beta")
	const canary = "CANARY-ALPHA-7f3e"

	mk := func(mutation, payload, _ string, input map[string]any) int64 {
		d := b.mustGQL(a.token, fmt.Sprintf(`mutation($input: %s!) { %s(input: $input) { %s { id } } }`, inputType(mutation), mutation, payload), map[string]any{"input": input})
		v := id(dig(d, mutation, payload, "id"))
		if v == 0 {
			t.Fatalf("%s returned no id: %v", mutation, d)
		}
		return v
	}
	part := mk("createPart", "part", "", map[string]any{"partNumber": canary + "-P", "description": canary, "trackingType": "SERIAL"})
	child := mk("createPart", "part", "", map[string]any{"partNumber": canary + "-C"})
	loc := mk("createLocation", "location", "", map[string]any{"name": canary})
	ids := map[string]int64{
		"part":              part,
		"location":          loc,
		"mbomItem":          mk("createMbomItem", "mbomItem", "", map[string]any{"partId": child, "parentId": part, "quantity": 2}),
		"unitOfMeasurement": mk("createUnitOfMeasurement", "unitOfMeasurement", "", map[string]any{"type": canary}),
		"partInventory":     mk("createPartInventory", "partInventory", "", map[string]any{"partId": part, "serialNumber": canary, "quantity": 1, "locationId": loc}),
		"supplier":          mk("createSupplier", "supplier", "", map[string]any{"name": canary}),
		"issue":             mk("createIssue", "issue", "", map[string]any{"title": canary}),
		"team":              mk("createTeam", "team", "", map[string]any{"name": canary}),
	}
	childInv := mk("createPartInventory", "partInventory", "", map[string]any{"partId": child, "quantity": 5})
	proc := id(dig(b.mustGQL(a.token, `mutation($t: String!) { createProcedure(title: $t) { procedure { id } } }`, map[string]any{"t": canary}), "createProcedure", "procedure", "id"))
	ids["procedure"] = proc
	ids["step"] = mk("createStep", "step", "", map[string]any{"procedureId": proc, "title": canary})
	mk("createStepField", "stepField", "", map[string]any{"stepId": ids["step"], "name": canary, "type": "STRING"})
	ids["run"] = mk("createRun", "run", "", map[string]any{"procedureId": proc, "title": canary, "partInventoryId": ids["partInventory"]})
	d := b.mustGQL(a.token, `query($id: ID!) { run(id: $id) { steps { id fields { id } } } }`, map[string]any{"id": ids["run"]})
	ids["runStep"] = id(dig(d, "run", "steps", 0, "id"))
	ids["runStepField"] = id(dig(d, "run", "steps", 0, "fields", 0, "id"))
	ids["buildRequirement"] = mk("createBuildRequirement", "buildRequirement", "", map[string]any{"partId": child, "partInventoryId": ids["partInventory"], "quantityPerParentPartInventory": 2})
	ids["abomInstallation"] = mk("createAbomInstallation", "abomInstallation", "", map[string]any{"buildRequirementId": ids["buildRequirement"], "partInventoryId": childInv, "quantity": 1})
	ids["purchaseOrder"] = mk("createPurchaseOrder", "purchaseOrder", "", map[string]any{"supplierId": ids["supplier"]})
	ids["purchaseOrderLine"] = mk("createPurchaseOrderLine", "purchaseOrderLine", "", map[string]any{"purchaseOrderId": ids["purchaseOrder"], "partId": child, "quantity": 3})

	plural := map[string]string{
		"part": "parts", "location": "locations", "mbomItem": "mbomItems", "unitOfMeasurement": "unitsOfMeasurement",
		"partInventory": "partInventories", "supplier": "suppliers", "issue": "issues", "team": "teams",
		"procedure": "procedures", "step": "steps", "run": "runs", "runStep": "runSteps",
		"buildRequirement": "buildRequirements", "abomInstallation": "abomInstallations",
		"purchaseOrder": "purchaseOrders", "purchaseOrderLine": "purchaseOrderLines",
	}
	idInMessage := regexp.MustCompile(`\d+`)
	for typ, v := range ids {
		if typ == "runStepField" {
			continue
		}
		// B asks for A's id and for an id that exists nowhere: the answers
		// must be the same but for the number.
		q := fmt.Sprintf(`query($id: ID!) { %s(id: $id) { id } }`, typ)
		got, missing := b.gql(other.token, q, map[string]any{"id": v}), b.gql(other.token, q, map[string]any{"id": 987654})
		if got.code() != "NOT_FOUND" || len(got.Errors) == 0 || len(missing.Errors) == 0 ||
			idInMessage.ReplaceAllString(got.Errors[0].Message, "N") != idInMessage.ReplaceAllString(missing.Errors[0].Message, "N") {
			t.Errorf("%s: B reading A's id %d answered %s; a missing id answers %s", typ, v, got.Raw, missing.Raw)
		}
		if strings.Contains(got.Raw, canary) {
			t.Errorf("%s: B's answer contains A's canary: %s", typ, got.Raw)
		}
		// A sees its own object.
		if r := b.gql(a.token, q, map[string]any{"id": v}); id(dig(r.Data, typ, "id")) != v {
			t.Errorf("%s: A cannot read its own id %d: %s", typ, v, r.Raw)
		}
		// Lists and counts.
		lq := fmt.Sprintf(`{ %s { edges { node { id } } pageInfo { totalCount count } } }`, plural[typ])
		if r := b.gql(other.token, lq, nil); dig(r.Data, plural[typ], "pageInfo", "totalCount") != float64(0) {
			t.Errorf("%s: B's list is not empty: %s", plural[typ], r.Raw)
		}
		if r := b.gql(a.token, lq, nil); dig(r.Data, plural[typ], "pageInfo", "totalCount") == float64(0) {
			t.Errorf("%s: A's list is empty: %s", plural[typ], r.Raw)
		}
	}
	// Changes and deletes with A's ids fail for B and change nothing.
	for _, m := range []struct{ name, query string }{
		{"updatePart", `mutation { updatePart(input: {id: %d, etag: "00000000000000000000000000000000", description: "pwned"}) { part { id } } }`},
		{"deletePart", `mutation { deletePart(id: %d, etag: "00000000000000000000000000000000") { id } }`},
		{"updateLocation", `mutation { updateLocation(input: {id: %d, etag: "00000000000000000000000000000000", name: "pwned"}) { location { id } } }`},
		{"deletePurchaseOrder", `mutation { deletePurchaseOrder(id: %d, etag: "00000000000000000000000000000000") { id } }`},
		{"cancelRun", `mutation { cancelRun(id: %d, etag: "00000000000000000000000000000000") { run { id } } }`},
	} {
		target := map[string]int64{"updatePart": part, "deletePart": part, "updateLocation": loc, "deletePurchaseOrder": ids["purchaseOrder"], "cancelRun": ids["run"]}[m.name]
		if r := b.gql(other.token, fmt.Sprintf(m.query, target), nil); r.code() != "NOT_FOUND" {
			t.Errorf("%s by B on A's id: got %s, want NOT_FOUND", m.name, r.Raw)
		}
	}
	if d := b.mustGQL(a.token, `query($id: ID!) { part(id: $id) { description } }`, map[string]any{"id": part}); dig(d, "part", "description") != canary {
		t.Errorf("A's part changed: %v", d)
	}
	// Users and API keys are scoped too.
	if r := b.gql(other.token, `{ users { edges { node { email } } pageInfo { totalCount } } }`, nil); strings.Contains(r.Raw, a.email) || dig(r.Data, "users", "pageInfo", "totalCount") != float64(1) {
		t.Errorf("B's users list: %s", r.Raw)
	}
	if r := b.gql(other.token, `{ apiKeys { edges { node { clientId } } } }`, nil); strings.Contains(r.Raw, a.clientID) {
		t.Errorf("B's apiKeys list shows A's key: %s", r.Raw)
	}
}

// inputType names the input of a create mutation as the vendor code does.
func inputType(mutation string) string {
	name := strings.TrimPrefix(mutation, "create")
	switch name {
	case "AbomInstallation":
		return "CreateABomInstallationInput"
	case "MbomItem":
		return "CreateMBomItemInput"
	}
	return "Create" + name + "Input"
}
