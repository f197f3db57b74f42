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

	ids := seedEveryType(t, b, a.token, canary)
	part, loc := ids["part"], ids["location"]

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

// seedEveryType creates one object of every ION type with canary in its
// text fields, as the credential tok, and returns their ids by type name.
func seedEveryType(t *testing.T, b *bundle, tok, canary string) map[string]int64 {
	t.Helper()
	mk := func(mutation, payload, _ string, input map[string]any) int64 {
		d := b.mustGQL(tok, fmt.Sprintf(`mutation($input: %s!) { %s(input: $input) { %s { id } } }`, inputType(mutation), mutation, payload), map[string]any{"input": input})
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
	proc := id(dig(b.mustGQL(tok, `mutation($t: String!) { createProcedure(title: $t) { procedure { id } } }`, map[string]any{"t": canary}), "createProcedure", "procedure", "id"))
	ids["procedure"] = proc
	ids["step"] = mk("createStep", "step", "", map[string]any{"procedureId": proc, "title": canary})
	mk("createStepField", "stepField", "", map[string]any{"stepId": ids["step"], "name": canary, "type": "STRING"})
	ids["run"] = mk("createRun", "run", "", map[string]any{"procedureId": proc, "title": canary, "partInventoryId": ids["partInventory"]})
	d := b.mustGQL(tok, `query($id: ID!) { run(id: $id) { steps { id fields { id } } } }`, map[string]any{"id": ids["run"]})
	ids["runStep"] = id(dig(d, "run", "steps", 0, "id"))
	ids["runStepField"] = id(dig(d, "run", "steps", 0, "fields", 0, "id"))
	ids["buildRequirement"] = mk("createBuildRequirement", "buildRequirement", "", map[string]any{"partId": child, "partInventoryId": ids["partInventory"], "quantityPerParentPartInventory": 2})
	ids["abomInstallation"] = mk("createAbomInstallation", "abomInstallation", "", map[string]any{"buildRequirementId": ids["buildRequirement"], "partInventoryId": childInv, "quantity": 1})
	ids["purchaseOrder"] = mk("createPurchaseOrder", "purchaseOrder", "", map[string]any{"supplierId": ids["supplier"]})
	ids["purchaseOrderLine"] = mk("createPurchaseOrderLine", "purchaseOrderLine", "", map[string]any{"purchaseOrderId": ids["purchaseOrder"], "partId": child, "quantity": 3})

	return ids
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

// TestIsolationMatrix seeds production (two organizations) and two sandboxes
// with every object type, each with its own canary, then tries every
// credential against every environment with every other owner's ids: no
// answer may carry another owner's canary or count another owner's objects,
// and a credential of another environment gets 401 ENVIRONMENT_MISMATCH.
func TestIsolationMatrix(t *testing.T) {
	t.Parallel()
	b := setup(t)
	pa, pb := b.newCredential("Alpha"), b.newCredential("Beta")
	sa, sb := b.newSandbox(pa.orgID, "alpha-dev"), b.newSandbox(pb.orgID, "beta-dev")
	type owner struct {
		name, base, token, canary string
		ids                       map[string]int64
	}
	owners := []*owner{
		{name: "production/alpha", base: b.url, token: pa.token, canary: "CANARY-PA-91"},
		{name: "production/beta", base: b.url, token: pb.token, canary: "CANARY-PB-92"},
		{name: "sandbox alpha-dev", base: sa.baseURL, token: sa.token, canary: "CANARY-SA-93"},
		{name: "sandbox beta-dev", base: sb.baseURL, token: sb.token, canary: "CANARY-SB-94"},
	}
	for _, o := range owners {
		o.ids = seedEveryType(t, b.at(o.base), o.token, o.canary)
	}
	selection := map[string]string{
		"part": "id partNumber description", "location": "id name", "unitOfMeasurement": "id type",
		"partInventory": "id serialNumber", "supplier": "id name", "issue": "id title", "team": "id name",
		"procedure": "id title", "step": "id title", "run": "id title", "runStep": "id title",
		"mbomItem": "id partId parentId", "buildRequirement": "id partId", "abomInstallation": "id partInventoryId",
		"purchaseOrder": "id status", "purchaseOrderLine": "id partId",
	}
	plural := map[string]string{
		"part": "parts", "location": "locations", "mbomItem": "mbomItems", "unitOfMeasurement": "unitsOfMeasurement",
		"partInventory": "partInventories", "supplier": "suppliers", "issue": "issues", "team": "teams",
		"procedure": "procedures", "step": "steps", "run": "runs", "runStep": "runSteps",
		"buildRequirement": "buildRequirements", "abomInstallation": "abomInstallations",
		"purchaseOrder": "purchaseOrders", "purchaseOrderLine": "purchaseOrderLines",
	}
	var lists strings.Builder
	lists.WriteString("{ currentUser { email organization { id } } ")
	for typ, sel := range selection {
		fmt.Fprintf(&lists, "%s { edges { node { %s } } pageInfo { totalCount } } ", plural[typ], sel)
	}
	lists.WriteString("}")
	foreign := func(me *owner, raw string) string {
		for _, o := range owners {
			if o != me && strings.Contains(raw, o.canary) {
				return o.name
			}
		}
		return ""
	}
	bases := []string{b.url, sa.baseURL, sb.baseURL}
	for _, me := range owners {
		for _, base := range bases {
			at := b.at(base)
			if base != me.base {
				r := at.gql(me.token, lists.String(), nil)
				if r.Status != 401 || r.code() != "ENVIRONMENT_MISMATCH" || foreign(me, r.Raw) != "" || strings.Contains(r.Raw, me.canary) {
					t.Errorf("%s credential at %s: HTTP %d %.300s; want 401 ENVIRONMENT_MISMATCH", me.name, base, r.Status, r.Raw)
				}
				continue
			}
			r := at.gql(me.token, lists.String(), nil)
			if r.Status != 200 || len(r.Errors) > 0 {
				t.Fatalf("%s lists: %s", me.name, r.Raw)
			}
			if who := foreign(me, r.Raw); who != "" {
				t.Errorf("%s lists contain %s's canary", me.name, who)
			}
			if got := dig(r.Data, "parts", "pageInfo", "totalCount"); got != float64(2) {
				t.Errorf("%s counts %v parts, want its own 2", me.name, got)
			}
			// Every other owner's ids, for every type: NOT_FOUND, or this
			// owner's own object that happens to have the same number.
			for _, other := range owners {
				if other == me {
					continue
				}
				for typ, v := range other.ids {
					sel, ok := selection[typ]
					if !ok {
						continue
					}
					r := at.gql(me.token, fmt.Sprintf(`query($id: ID!) { %s(id: $id) { %s } }`, typ, sel), map[string]any{"id": v})
					if who := foreign(me, r.Raw); who != "" {
						t.Errorf("%s reading %s %d (of %s) got %s's data: %s", me.name, typ, v, other.name, who, r.Raw)
					}
					if r.code() != "" && r.code() != "NOT_FOUND" {
						t.Errorf("%s reading %s %d: %s", me.name, typ, v, r.Raw)
					}
				}
			}
		}
	}
}
