package graphql

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ionbox/ionbox/ion"
)

// These tests walk each area of the schema through HTTP, as an integration
// would: create, read with nested relations, update, delete.

func TestProceduresAndRuns(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.run(t, []scenario{{
		name:     "createProcedure",
		query:    `mutation { createProcedure(title: "Build widget", type: BUILD) { procedure { id title type status version exportControlled } } }`,
		wantJSON: `{"createProcedure":{"procedure":{"id":1,"title":"Build widget","type":"BUILD","status":"DRAFT","version":1,"exportControlled":false}}}`,
	}, {
		name:      "createStep with Slate content",
		query:     `mutation($input: CreateStepInput!) { createStep(input: $input) { step { id title position slateContent content } } }`,
		variables: `{"input": {"procedureId": 1, "title": "Mount", "position": 1, "slateContent": [{"type": "p", "children": [{"text": "Mount it"}]}], "leadTime": 5}}`,
		wantJSON:  `{"createStep":{"step":{"id":1,"title":"Mount","position":1,"slateContent":[{"type":"p","children":[{"text":"Mount it"}]}],"content":"[{\"children\":[{\"text\":\"Mount it\"}],\"type\":\"p\"}]"}}}`,
	}, {
		name:      "createStep nested, downstream of step 1",
		query:     `mutation($input: CreateStepInput!) { createStep(input: $input) { step { id parentId upstreamStepIds slateContent } } }`,
		variables: `{"input": {"procedureId": 1, "parentId": 1, "title": "Torque", "content": "plain text", "position": 2, "upstreamStepIds": ["1"]}}`,
		wantJSON:  `{"createStep":{"step":{"id":2,"parentId":1,"upstreamStepIds":[1],"slateContent":null}}}`,
	}, {
		name:      "createStepField",
		query:     `mutation($input: CreateStepFieldInput!) { createStepField(input: $input) { stepField { id name type required options unit } } }`,
		variables: `{"input": {"stepId": 2, "name": "Result", "type": "select", "required": true, "options": ["PASS", "FAIL"]}}`,
		wantJSON:  `{"createStepField":{"stepField":{"id":1,"name":"Result","type":"SELECT","required":true,"options":["PASS","FAIL"],"unit":null}}}`,
	}, {
		name:     "procedure with steps and fields",
		query:    `{ procedure(id: 1) { familyId steps { id title parentId parent { id } steps { id } fields { name step { id } } procedure { id } } } }`,
		wantJSON: `{"procedure":{"familyId":1,"steps":[{"id":1,"title":"Mount","parentId":null,"parent":null,"steps":[{"id":2}],"fields":[],"procedure":{"id":1}},{"id":2,"title":"Torque","parentId":1,"parent":{"id":1},"steps":[],"fields":[{"name":"Result","step":{"id":2}}],"procedure":{"id":1}}]}}`,
	}, {
		name:     "steps filtered by title (StepsFilters) and stepFields",
		query:    `{ steps(filters: {title: {eq: "Torque"}}, sort: [ID_ASC]) { edges { node { id } } } stepFields(filters: {stepId: {eq: 2}}) { totalCount } }`,
		wantJSON: `{"steps":{"edges":[{"node":{"id":2}}]},"stepFields":{"totalCount":1}}`,
	}, {
		name:     "createRun copies steps and fields",
		query:    `mutation { createRun(input: {procedureId: 1}) { run { id title status procedure { title } steps { id title status parentId upstreamStepIds fields { id name type value } } } } }`,
		wantJSON: `{"createRun":{"run":{"id":1,"title":"Build widget","status":"TODO","procedure":{"title":"Build widget"},"steps":[{"id":1,"title":"Mount","status":"TODO","parentId":null,"upstreamStepIds":[],"fields":[]},{"id":2,"title":"Torque","status":"TODO","parentId":1,"upstreamStepIds":[1],"fields":[{"id":1,"name":"Result","type":"SELECT","value":null}]}]}}}`,
	}})

	field, err := b.ts.RunStepField(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	step2, err := b.ts.RunStep(t.Context(), 2)
	if err != nil {
		t.Fatal(err)
	}
	b.run(t, []scenario{{
		name:        "a field value outside the options",
		query:       `mutation($i: UpdateRunStepFieldValueInput!) { updateRunStepFieldValue(input: $i) { runStepField { value } } }`,
		variables:   fmt.Sprintf(`{"i": {"id": 1, "value": "MAYBE", "etag": %q}}`, field.Etag),
		wantCode:    ion.EVALIDATION,
		wantMessage: "value",
	}, {
		name:      "a field value",
		query:     `mutation($i: UpdateRunStepFieldValueInput!) { updateRunStepFieldValue(input: $i) { runStepField { id value runStep { id run { id } } } } }`,
		variables: fmt.Sprintf(`{"i": {"id": 1, "value": "PASS", "_etag": %q}}`, field.Etag),
		wantJSON:  `{"updateRunStepFieldValue":{"runStepField":{"id":1,"value":"PASS","runStep":{"id":2,"run":{"id":1}}}}}`,
	}, {
		name:        "a step cannot start before its upstream step is complete",
		query:       `mutation($i: UpdateRunStepInput!) { updateRunStep(input: $i) { runStep { status } } }`,
		variables:   fmt.Sprintf(`{"i": {"id": 2, "status": "IN_PROGRESS", "etag": %q}}`, step2.Etag),
		wantCode:    ion.EVALIDATION,
		wantMessage: "",
	}, {
		name:      "createRunStep answers with step",
		query:     `mutation CreateRunStep($input: CreateRunStepInput!) { createRunStep(input: $input) { step { id title content createdById status _etag } } }`,
		variables: `{"input": {"title": "title", "runId": 1, "content": "..."}}`,
		wantJSON:  `{"createRunStep":{"step":{"id":3,"title":"title","content":"...","createdById":null,"status":"TODO","_etag":"ETAG"}}}`,
	}, {
		name:      "createRunStepField",
		query:     `mutation CreateRunStepField($input: CreateRunStepFieldInput!) { createRunStepField(input: $input) { runStepField { id name type value _etag } } }`,
		variables: `{"input": {"runStepId": 3, "name": "name", "type": "STRING", "required": true}}`,
		wantJSON:  `{"createRunStepField":{"runStepField":{"id":2,"name":"name","type":"STRING","value":null,"_etag":"ETAG"}}}`,
	}, {
		name:     "runSteps and runStepFields",
		query:    `{ runSteps(filters: {runId: {eq: 1}, status: {eq: "todo"}}) { totalCount } runStepFields(filters: {runStepId: {in: [2, 3]}}) { edges { node { id value } } } runStep(id: 2) { steps { id } entityId } }`,
		wantJSON: `{"runSteps":{"totalCount":3},"runStepFields":{"edges":[{"node":{"id":1,"value":"PASS"}},{"node":{"id":2,"value":null}}]},"runStep":{"steps":[],"entityId":null}}`,
	}})
	// The scenarios above that need variables with fixture ids:
	r := b.post(`mutation CreateRunStep($input: CreateRunStepInput!) { createRunStep(input: $input) { step { id } } }`, map[string]any{"input": map[string]any{"title": "x", "runId": 99}})
	if r.code() != ion.EVALIDATION && r.code() != ion.ENOTFOUND {
		t.Errorf("createRunStep on a missing run: %s", r.raw)
	}

	run, err := b.ts.Run(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	data := b.mustData(`mutation($id: ID!, $e: String!) { cancelRun(id: $id, etag: $e) { run { id status _etag } } }`, map[string]any{"id": 1, "e": run.Etag})
	canceled := data["cancelRun"].(map[string]any)["run"].(map[string]any)
	if canceled["status"] != "CANCELED" {
		t.Errorf("cancelRun: %v", canceled)
	}
	data = b.mustData(`mutation($id: ID!, $e: String!) { archiveRun(id: $id, etag: $e) { run { id archived } } }`, map[string]any{"id": 1, "e": canceled["_etag"]})
	if fmt.Sprint(data) != "map[archiveRun:map[run:map[archived:true id:1]]]" {
		t.Errorf("archiveRun: %v", data)
	}
	b.run(t, []scenario{{
		name:     "runs filtered by archived and status",
		query:    `{ runs(filters: {archived: {eq: true}, status: {in: ["canceled"]}}) { edges { node { id status archived } } } }`,
		wantJSON: `{"runs":{"edges":[{"node":{"id":1,"status":"CANCELED","archived":true}}]}}`,
	}})
}

func TestABom(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	for _, p := range []ion.Part{
		{PartNumber: "ASSY", Description: "Assembly", TrackingType: ptr(ion.TrackingSerial)},
		{PartNumber: "BOLT", Description: "Bolt", TrackingType: ptr(ion.TrackingSerial)},
		{PartNumber: "WASHER", Description: "Washer"},
	} {
		if _, err := b.ts.CreatePart(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, inv := range []ion.PartInventory{
		{PartID: 1, SerialNumber: ptr("A-1"), Quantity: 1},
		{PartID: 2, SerialNumber: ptr("B-1"), Quantity: 1},
		{PartID: 2, SerialNumber: ptr("B-2"), Quantity: 1},
	} {
		if _, err := b.ts.CreatePartInventory(ctx, inv); err != nil {
			t.Fatal(err)
		}
	}
	b.run(t, []scenario{{
		name:      "createMbomItem",
		query:     `mutation($input: CreateMBomItemInput!) { createMbomItem(input: $input) { mbomItem { id partId parentId quantity part { partNumber } parent { partNumber } } } }`,
		variables: `{"input": {"partId": 2, "parentId": 1, "quantity": "2"}}`,
		wantJSON:  `{"createMbomItem":{"mbomItem":{"id":1,"partId":2,"parentId":1,"quantity":2,"part":{"partNumber":"BOLT"},"parent":{"partNumber":"ASSY"}}}}`,
	}, {
		name:        "an mBOM cycle",
		query:       `mutation($input: CreateMBomItemInput!) { createMbomItem(input: $input) { mbomItem { id } } }`,
		variables:   `{"input": {"partId": 1, "parentId": 2, "quantity": 1}}`,
		wantCode:    ion.EVALIDATION,
		wantMessage: "",
	}, {
		name:     "createMbomSubstitute",
		query:    `mutation { createMbomSubstitute(input: {mbomItemId: 1, partId: 3}) { mbomSubstitute { id part { partNumber } mbomItem { id } } } }`,
		wantJSON: `{"createMbomSubstitute":{"mbomSubstitute":{"id":1,"part":{"partNumber":"WASHER"},"mbomItem":{"id":1}}}}`,
	}, {
		name:     "MBOMItems as ION's docs query them, and the part's mbom",
		query:    `query MBOMItems($filters: MBomItemsInputFilters) { mbomItems(filters: $filters) { edges { node { id partId parentId quantity } } } part(id: 1) { mbom { part { partNumber } substitutes { part { partNumber } } } } }`,
		wantJSON: `{"mbomItems":{"edges":[{"node":{"id":1,"partId":2,"parentId":1,"quantity":2}}]},"part":{"mbom":[{"part":{"partNumber":"BOLT"},"substitutes":[{"part":{"partNumber":"WASHER"}}]}]}}`,
	}, {
		name:        "madeOnAssembly is not modelled",
		query:       `mutation { createBuildRequirement(input: {partId: 2, partInventoryId: 1, quantityPerParentPartInventory: 2, madeOnAssembly: true}) { buildRequirement { id } } }`,
		wantCode:    ion.EVALIDATION,
		wantMessage: "madeOnAssembly:",
	}, {
		name:      "CreateBuildRequirement as ION's docs send it",
		query:     `mutation CreateBuildRequirement($input: CreateBuildRequirementInput!) { createBuildRequirement(input: $input) { buildRequirement { fixedQuantityPerBuildRequirement id madeOnAssembly originMbomItemId partId partInventories { id } quantityPerParentPartInventory } } }`,
		variables: `{"input": {"partId": 2, "partInventoryId": 1, "quantityPerParentPartInventory": 2, "madeOnAssembly": false, "originMbomItemId": 1}}`,
		wantJSON:  `{"createBuildRequirement":{"buildRequirement":{"fixedQuantityPerBuildRequirement":null,"id":1,"madeOnAssembly":false,"originMbomItemId":1,"partId":2,"partInventories":[],"quantityPerParentPartInventory":2}}}`,
	}, {
		name:     "install two bolts",
		query:    `mutation { a: createAbomInstallation(input: {buildRequirementId: 1, partInventoryId: 2}) { abomInstallation { id quantity } } b: createAbomInstallation(input: {buildRequirementId: 1, partInventoryId: 3, quantity: "1"}) { abomInstallation { id installedPartInventory { status installed } } } }`,
		wantJSON: `{"a":{"abomInstallation":{"id":1,"quantity":1}},"b":{"abomInstallation":{"id":2,"installedPartInventory":{"status":"INSTALLED","installed":true}}}}`,
	}, {
		name:     "the same unit twice",
		query:    `mutation { createAbomInstallation(input: {buildRequirementId: 1, partInventoryId: 2}) { abomInstallation { id } } }`,
		wantCode: ion.EVALIDATION,
	}, {
		name:      "the aBOM as ION's docs read it",
		query:     `query($id: ID!) { partInventory(id: $id) { buildRequirements { id part { partNumber } quantity installations { id installedPartInventory { id serialNumber part { partNumber } } } } } }`,
		variables: `{"id": 1}`,
		wantJSON:  `{"partInventory":{"buildRequirements":[{"id":1,"part":{"partNumber":"BOLT"},"quantity":2,"installations":[{"id":1,"installedPartInventory":{"id":2,"serialNumber":"B-1","part":{"partNumber":"BOLT"}}},{"id":2,"installedPartInventory":{"id":3,"serialNumber":"B-2","part":{"partNumber":"BOLT"}}}]}]}}`,
	}, {
		name:     "the aBOM as the vendor's export reads it",
		query:    `query ($after: String) { partInventories(first: 50, after: $after) { edges { node { part { partNumber description } serialNumber lotNumber buildRequirements { abomInstallations { quantity partInventory { part { partNumber description } serialNumber lotNumber } } } } } pageInfo { endCursor hasNextPage } } }`,
		wantJSON: `{"partInventories":{"edges":[{"node":{"part":{"partNumber":"ASSY","description":"Assembly"},"serialNumber":"A-1","lotNumber":null,"buildRequirements":[{"abomInstallations":[{"quantity":1,"partInventory":{"part":{"partNumber":"BOLT","description":"Bolt"},"serialNumber":"B-1","lotNumber":null}},{"quantity":1,"partInventory":{"part":{"partNumber":"BOLT","description":"Bolt"},"serialNumber":"B-2","lotNumber":null}}]}]}},{"node":{"part":{"partNumber":"BOLT","description":"Bolt"},"serialNumber":"B-1","lotNumber":null,"buildRequirements":[]}},{"node":{"part":{"partNumber":"BOLT","description":"Bolt"},"serialNumber":"B-2","lotNumber":null,"buildRequirements":[]}}],"pageInfo":{"endCursor":"YXJyYXljb25uZWN0aW9uOjI=","hasNextPage":false}}}`,
	}, {
		name:     "requirement relations and the child's installations",
		query:    `{ buildRequirement(id: 1) { partInventory { serialNumber } originMbomItem { id } partInventories { serialNumber } } partInventory(id: 2) { abomInstallations { buildRequirement { id } } } abomInstallations(filters: {buildRequirementId: {eq: 1}}) { totalCount } buildRequirements { totalCount } abomInstallation(id: 2) { buildRequirementReferenceDesignatorId partInventory { id } } }`,
		wantJSON: `{"buildRequirement":{"partInventory":{"serialNumber":"A-1"},"originMbomItem":{"id":1},"partInventories":[{"serialNumber":"B-1"},{"serialNumber":"B-2"}]},"partInventory":{"abomInstallations":[{"buildRequirement":{"id":1}}]},"abomInstallations":{"totalCount":2},"buildRequirements":{"totalCount":1},"abomInstallation":{"buildRequirementReferenceDesignatorId":null,"partInventory":{"id":3}}}`,
	}})

	inst, err := b.ts.AbomInstallation(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	item, err := b.ts.MBomItem(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	b.run(t, []scenario{{
		name:      "deleteAbomInstallation uninstalls",
		query:     `mutation($id: ID!, $etag: String!) { deleteAbomInstallation(id: $id, etag: $etag) { id } }`,
		variables: fmt.Sprintf(`{"id": 2, "etag": %q}`, inst.Etag),
		wantJSON:  `{"deleteAbomInstallation":{"id":2}}`,
	}, {
		name:     "the uninstalled unit",
		query:    `{ partInventory(id: 3) { status installed abomInstallations { id } } }`,
		wantJSON: `{"partInventory":{"status":"AVAILABLE","installed":false,"abomInstallations":[]}}`,
	}, {
		name:      "an mBOM item used by a requirement cannot be deleted",
		query:     `mutation($id: ID!, $etag: String!) { deleteMbomItem(id: $id, etag: $etag) { id } }`,
		variables: fmt.Sprintf(`{"id": 1, "etag": %q}`, item.Etag),
		wantCode:  ion.ECONFLICT,
	}, {
		name:      "updateMbomItem",
		query:     `mutation($i: UpdateMBomItemInput!) { updateMbomItem(input: $i) { mbomItem { quantity } } }`,
		variables: fmt.Sprintf(`{"i": {"id": 1, "_etag": %q, "quantity": 3}}`, item.Etag),
		wantJSON:  `{"updateMbomItem":{"mbomItem":{"quantity":3}}}`,
	}})
}

func TestPartsInventoryAndLocations(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.run(t, []scenario{{
		name:     "createLocation and createUnitOfMeasurement",
		query:    `mutation { a: createLocation(input: {name: "Shelf"}) { location { id name available entityId } } b: createLocation(input: {name: "Quarantine", available: false}) { location { id available } } c: createUnitOfMeasurement(input: {type: "each"}) { unitOfMeasurement { id type } } }`,
		wantJSON: `{"a":{"location":{"id":1,"name":"Shelf","available":true,"entityId":null}},"b":{"location":{"id":2,"available":false}},"c":{"unitOfMeasurement":{"id":1,"type":"each"}}}`,
	}, {
		name:      "CreatePartInventory as ION's importer sends it",
		query:     `mutation CreatePartInventory($input: CreatePartInventoryInput!) { createPartInventory(input: $input) { partInventory { id _etag lotNumber serialNumber part { partNumber } } } }`,
		variables: `{"input": {"partId": 1, "serialNumber": "SN-1", "lotNumber": null, "quantity": 1, "locationId": 1, "unitOfMeasureId": 1, "cost": 10.5}}`,
		wantCode:  ion.EVALIDATION,
	}, {
		name:     "createPart, then the importer's inventory",
		query:    `mutation { createPart(input: {partNumber: "SERIAL-1", trackingType: SERIAL, cost: "12.25", leadTime: 3, attributes: [{key: "Color", type: "string", value: "red"}]}) { part { id cost leadTime attributes { key type value Etag } } } }`,
		wantJSON: `{"createPart":{"part":{"id":1,"cost":12.25,"leadTime":3,"attributes":[{"key":"Color","type":"string","value":"red","Etag":"ETAG"}]}}}`,
	}, {
		name:      "CreatePartInventory",
		query:     `mutation CreatePartInventory($input: CreatePartInventoryInput!) { createPartInventory(input: $input) { partInventory { id _etag lotNumber serialNumber part { partNumber } location { name } unitOfMeasure { type } cost status received kitted createdById } } }`,
		variables: `{"input": {"partId": 1, "serialNumber": "SN-1", "lotNumber": null, "quantity": 1, "locationId": 1, "unitOfMeasureId": 1, "cost": 10.5}}`,
		wantJSON:  `{"createPartInventory":{"partInventory":{"id":1,"_etag":"ETAG","lotNumber":null,"serialNumber":"SN-1","part":{"partNumber":"SERIAL-1"},"location":{"name":"Shelf"},"unitOfMeasure":{"type":"each"},"cost":10.5,"status":"AVAILABLE","received":true,"kitted":false,"createdById":null}}}`,
	}, {
		name:        "serial-tracked quantity 2",
		query:       `mutation { createPartInventory(input: {partId: 1, serialNumber: "SN-2", quantity: 2}) { partInventory { id } } }`,
		wantCode:    ion.EVALIDATION,
		wantMessage: "quantity",
	}, {
		name:     "part relations",
		query:    `{ part(id: 1) { quantity partsInventory { serialNumber } partInventories { id } runs { id } revisedFrom { id } } location(id: 1) { partInventories { id } } unitsOfMeasurement(sort: [TYPE_ASC]) { edges { node { type } } } unitOfMeasurement(id: 1) { type } }`,
		wantJSON: `{"part":{"quantity":1,"partsInventory":[{"serialNumber":"SN-1"}],"partInventories":[{"id":1}],"runs":[],"revisedFrom":null},"location":{"partInventories":[{"id":1}]},"unitsOfMeasurement":{"edges":[{"node":{"type":"each"}}]},"unitOfMeasurement":{"type":"each"}}`,
	}, {
		name:     "createPartRevision",
		query:    `mutation { createPartRevision(input: {partId: 1}) { part { id partNumber revision revisedFromId revisedFrom { revision } } } }`,
		wantJSON: `{"createPartRevision":{"part":{"id":2,"partNumber":"SERIAL-1","revision":"B","revisedFromId":1,"revisedFrom":{"revision":"A"}}}}`,
	}, {
		name:     "isLatestRevision",
		query:    `{ parts(filters: {isLatestRevision: {eq: true}}) { edges { node { id revision } } } }`,
		wantJSON: `{"parts":{"edges":[{"node":{"id":2,"revision":"B"}}]}}`,
	}, {
		name:        "a revision with digits",
		query:       `mutation { createPartRevision(input: {partId: 1, revision: "C1"}) { part { id } } }`,
		wantCode:    ion.EVALIDATION,
		wantMessage: "revision",
	}, {
		name:        "a duplicate part number and revision",
		query:       `mutation { createPart(input: {partNumber: "SERIAL-1"}) { part { id } } }`,
		wantCode:    ion.EVALIDATION,
		wantMessage: "partNumber",
	}})
	loc, _ := b.ts.Location(t.Context(), 2)
	uom, _ := b.ts.UnitOfMeasurement(t.Context(), 1)
	b.run(t, []scenario{{
		name:      "updateLocation, updateUnitOfMeasurement",
		query:     `mutation($l: String!, $u: String!) { updateLocation(input: {id: 2, etag: $l, name: "Hold"}) { location { name available } } updateUnitOfMeasurement(input: {id: 1, _etag: $u, type: "ea"}) { unitOfMeasurement { type } } }`,
		variables: fmt.Sprintf(`{"l": %q, "u": %q}`, loc.Etag, uom.Etag),
		wantJSON:  `{"updateLocation":{"location":{"name":"Hold","available":false}},"updateUnitOfMeasurement":{"unitOfMeasurement":{"type":"ea"}}}`,
	}})
	loc, _ = b.ts.Location(t.Context(), 2)
	b.run(t, []scenario{{
		name:      "DeleteLocation as ION's scripts send it",
		query:     `mutation DeleteLocation($id: ID!, $etag: String!) { deleteLocation(id: $id, etag: $etag) { id } }`,
		variables: fmt.Sprintf(`{"id": "2", "etag": %q}`, loc.Etag),
		wantJSON:  `{"deleteLocation":{"id":2}}`,
	}, {
		name:     "GetLocations as ION's scripts send it",
		query:    `query GetLocations($filters: LocationsInputFilters, $sort: [LocationSortEnum]) { locations(sort: $sort, filters: $filters) { edges { node { id name _etag } } } }`,
		wantJSON: `{"locations":{"edges":[{"node":{"id":1,"name":"Shelf","_etag":"ETAG"}}]}}`,
	}})
}

func TestPurchasingAndIssues(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, err := b.ts.CreatePart(t.Context(), ion.Part{PartNumber: "RESISTOR"}); err != nil {
		t.Fatal(err)
	}
	// Inventory 1, for the issue; the purchase order line's is inventory 2.
	if _, err := b.ts.CreatePartInventory(t.Context(), ion.PartInventory{PartID: 1, Quantity: 5}); err != nil {
		t.Fatal(err)
	}
	b.run(t, []scenario{{
		name:     "createSupplier with attributes",
		query:    `mutation { createSupplier(input: {name: "Acme Bolts", attributes: [{key: "W9", type: "file", value: "w9.pdf"}]}) { supplier { id name } } }`,
		wantJSON: `{"createSupplier":{"supplier":{"id":1,"name":"Acme Bolts"}}}`,
	}, {
		name:      "suppliers as the vendor's script reads them",
		query:     `query ($filters: SuppliersInputFilters, $first: Int, $after: String) { suppliers(filters: $filters, first: $first, after: $after) { edges { node { id name Attributes { key value type } attributes { key } } } pageInfo { hasNextPage endCursor } } }`,
		variables: `{"filters": {"name": {"eq": "Acme Bolts"}}, "first": 100}`,
		wantJSON:  `{"suppliers":{"edges":[{"node":{"id":1,"name":"Acme Bolts","Attributes":[{"key":"W9","value":"w9.pdf","type":"file"}],"attributes":[{"key":"W9"}]}}],"pageInfo":{"hasNextPage":false,"endCursor":"YXJyYXljb25uZWN0aW9uOjA="}}}`,
	}, {
		name:      "createPurchaseOrder defaults to DRAFT",
		query:     `mutation createPO($input: CreatePurchaseOrderInput!) { createPurchaseOrder(input: $input) { purchaseOrder { id _etag status supplier { name } } } }`,
		variables: `{"input": {"supplierId": 1}}`,
		wantJSON:  `{"createPurchaseOrder":{"purchaseOrder":{"id":1,"_etag":"ETAG","status":"DRAFT","supplier":{"name":"Acme Bolts"}}}}`,
	}, {
		name:      "a line creates ON_ORDER inventory",
		query:     `mutation($i: CreatePurchaseOrderLineInput!) { createPurchaseOrderLine(input: $i) { purchaseOrderLine { id quantity needDate description part { partNumber } purchaseOrder { id } partInventories { quantity status received purchaseOrderLine { id } } } } }`,
		variables: `{"i": {"purchaseOrderId": 1, "partId": 1, "quantity": "25", "needDate": "2026-05-01", "description": "resistors"}}`,
		wantJSON:  `{"createPurchaseOrderLine":{"purchaseOrderLine":{"id":1,"quantity":25,"needDate":"2026-05-01T00:00:00Z","description":"resistors","part":{"partNumber":"RESISTOR"},"purchaseOrder":{"id":1},"partInventories":[{"quantity":25,"status":"ON_ORDER","received":false,"purchaseOrderLine":{"id":1}}]}}}`,
	}, {
		name:      "PurchaseOrders as the vendor's script reads them",
		query:     `query PurchaseOrders($f: PurchaseOrdersInputFilters) { purchaseOrders(filters: $f) { edges { node { id _etag status lines { id } purchaseOrderLines { id } } } } purchaseOrderLines(filters: {purchaseOrderId: {eq: 1}}) { totalCount } }`,
		variables: `{"f": {"status": {"eq": "draft"}}}`,
		wantJSON:  `{"purchaseOrders":{"edges":[{"node":{"id":1,"_etag":"ETAG","status":"DRAFT","lines":[{"id":1}],"purchaseOrderLines":[{"id":1}]}}]},"purchaseOrderLines":{"totalCount":1}}`,
	}, {
		name:      "CreateIssue as the vendor's bulk script sends it",
		query:     `mutation CreateIssue($input: CreateIssueInput!) { createIssue(input: $input) { issue { id causeCondition } } }`,
		variables: `{"input": {"partInventoryId": 1, "title": "Scratched", "causeCondition": [{"children": [{"type": "p", "children": [{"text": "scratched"}]}]}], "attributes": [{"key": "Defect Code", "value": "D-7"}]}}`,
		wantJSON:  `{"createIssue":{"issue":{"id":1,"causeCondition":[{"children":[{"children":[{"text":"scratched"}],"type":"p"}]}]}}}`,
	}, {
		name:     "Issues as the vendor's script reads them",
		query:    `query Issues { issues { edges { node { id status attributes { Etag key value } partInventory { id } run { id } runStep { id } expectedCondition } } } }`,
		wantJSON: `{"issues":{"edges":[{"node":{"id":1,"status":"PENDING","attributes":[{"Etag":"ETAG","key":"Defect Code","value":"D-7"}],"partInventory":{"id":1},"run":null,"runStep":null,"expectedCondition":null}}]}}`,
	}})
	po, _ := b.ts.PurchaseOrder(t.Context(), 1)
	line, _ := b.ts.PurchaseOrderLine(t.Context(), 1)
	issue, _ := b.ts.Issue(t.Context(), 1)
	sup, _ := b.ts.Supplier(t.Context(), 1)
	b.run(t, []scenario{{
		name:      "updates",
		query:     `mutation($po: String!, $line: String!, $issue: String!, $sup: String!) { updatePurchaseOrder(input: {id: 1, etag: $po, status: ORDERED}) { purchaseOrder { status } } updatePurchaseOrderLine(input: {id: 1, etag: $line, quantity: 30}) { purchaseOrderLine { quantity } } updateIssue(input: {id: 1, etag: $issue, disposition: "Rework"}) { issue { disposition } } updateSupplier(input: {id: 1, etag: $sup, name: "Acme Fasteners"}) { supplier { name } } }`,
		variables: fmt.Sprintf(`{"po": %q, "line": %q, "issue": %q, "sup": %q}`, po.Etag, line.Etag, issue.Etag, sup.Etag),
		wantJSON:  `{"updatePurchaseOrder":{"purchaseOrder":{"status":"ORDERED"}},"updatePurchaseOrderLine":{"purchaseOrderLine":{"quantity":30}},"updateIssue":{"issue":{"disposition":"Rework"}},"updateSupplier":{"supplier":{"name":"Acme Fasteners"}}}`,
	}, {
		name:      "PurchaseOrderLine as the vendor's script reads it",
		query:     `query PurchaseOrderLine($id: ID!) { purchaseOrderLine(id: $id) { _etag purchaseOrder { id _etag status } } }`,
		variables: `{"id": 1}`,
		wantJSON:  `{"purchaseOrderLine":{"_etag":"ETAG","purchaseOrder":{"id":1,"_etag":"ETAG","status":"ORDERED"}}}`,
	}})
	issue, _ = b.ts.Issue(t.Context(), 1)
	b.run(t, []scenario{{
		name:      "deleteIssue",
		query:     `mutation($id: ID!, $etag: String!) { deleteIssue(id: $id, etag: $etag) { id } }`,
		variables: fmt.Sprintf(`{"id": 1, "etag": %q}`, issue.Etag),
		wantJSON:  `{"deleteIssue":{"id":1}}`,
	}, {
		name:     "issue(id) after delete",
		query:    `{ issue(id: 1) { id } }`,
		wantCode: ion.ENOTFOUND,
		wantJSON: `{"issue":null}`,
	}})
}

func TestUsersTeamsAndAPIKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	if _, err := b.stores.Control().CreateUser(ctx, ion.User{OrganizationID: b.actor.Organization.ID, Name: "Grace Hopper", Email: "grace@acme.example", Active: true, Roles: []string{"operator"}}); err != nil {
		t.Fatal(err)
	}
	b.run(t, []scenario{{
		name:     "createTeam",
		query:    `mutation { createTeam(input: {name: "Line 1", userIds: [1, "2"]}) { team { id name userIds users { email } } } }`,
		wantJSON: `{"createTeam":{"team":{"id":1,"name":"Line 1","userIds":[1,2],"users":[{"email":"ada@acme.example"},{"email":"grace@acme.example"}]}}}`,
	}, {
		name:      "users as the vendor's script reads them",
		query:     `query($filters: UserInputFilters, $sort: [UserSortEnum]) { users(sort: $sort, filters: $filters) { edges { node { id name organizationId active roles { name } teams { name } organization { name domain } } } } }`,
		variables: `{"filters": {"email": {"eq": "grace@acme.example"}}, "sort": ["NAME_ASC"]}`,
		wantJSON:  `{"users":{"edges":[{"node":{"id":2,"name":"Grace Hopper","organizationId":1,"active":true,"roles":[{"name":"operator"}],"teams":[{"name":"Line 1"}],"organization":{"name":"Acme","domain":"acme.example"}}}]}}`,
	}, {
		name:     "user and teams",
		query:    `{ user(id: 2) { email } teams(filters: {name: {eq: "Line 1"}}) { totalCount } team(id: 1) { name } }`,
		wantJSON: `{"user":{"email":"grace@acme.example"},"teams":{"totalCount":1},"team":{"name":"Line 1"}}`,
	}})

	// API keys: created for the current user, secret shown once.
	data := b.mustData(`mutation CreateAPIKey { createApiKey { apikey { clientId clientSecret enabled user { email } } } }`, nil)
	key := data["createApiKey"].(map[string]any)["apikey"].(map[string]any)
	clientID, _ := key["clientId"].(string)
	secret, _ := key["clientSecret"].(string)
	if len(clientID) != 36 || !strings.HasPrefix(secret, "ion_") || key["enabled"] != true {
		t.Fatalf("createApiKey: %v", key)
	}
	data = b.mustData(`query APIKeys { apiKeys { edges { node { clientId clientSecret id _etag } } } }`, nil)
	if got := fmt.Sprint(normalize(data)); got != fmt.Sprintf("map[apiKeys:map[edges:[map[node:map[_etag:ETAG clientId:%s clientSecret:<nil> id:1]]]]]", clientID) {
		t.Errorf("apiKeys: %s", got)
	}
	// ION's documented example updates without an etag.
	data = b.mustData(`mutation UpdateAPIKey($input: APIKeyInput!) { updateApiKey(input: $input) { apikey { clientId clientSecret enabled _etag } } }`,
		map[string]any{"input": map[string]any{"clientId": clientID, "enabled": false, "regenerateSecret": false}})
	updated := data["updateApiKey"].(map[string]any)["apikey"].(map[string]any)
	if updated["enabled"] != false || updated["clientSecret"] != nil {
		t.Errorf("updateApiKey: %v", updated)
	}
	data = b.mustData(`mutation UpdateAPIKey($input: APIKeyInput!) { updateApiKey(input: $input) { apikey { clientSecret _etag } } }`,
		map[string]any{"input": map[string]any{"clientId": clientID, "etag": updated["_etag"], "regenerateSecret": true}})
	regenerated := data["updateApiKey"].(map[string]any)["apikey"].(map[string]any)
	if s, _ := regenerated["clientSecret"].(string); s == "" || s == secret {
		t.Errorf("regenerated secret %v", regenerated)
	}
	r := b.post(`mutation DeleteAPIKey($input: APIKeyInput!) { deleteApiKey(input: $input) { apikey { clientId } } }`,
		map[string]any{"input": map[string]any{"clientId": clientID}})
	if r.code() != ion.EVALIDATION {
		t.Errorf("deleteApiKey without an etag: %s", r.raw)
	}
	data = b.mustData(`mutation DeleteAPIKey($input: APIKeyInput!) { deleteApiKey(input: $input) { apikey { clientId } } }`,
		map[string]any{"input": map[string]any{"clientId": clientID, "_etag": regenerated["_etag"]}})
	if got := fmt.Sprint(data); got != fmt.Sprintf("map[deleteApiKey:map[apikey:map[clientId:%s]]]", clientID) {
		t.Errorf("deleteApiKey: %s", got)
	}

	// Another organization's key answers like a missing one.
	other, err := b.stores.Control().CreateOrganization(ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: "Other", Domain: "other.example", Tier: ion.TierStandard})
	if err != nil {
		t.Fatal(err)
	}
	otherUser, err := b.stores.Control().CreateUser(ctx, ion.User{OrganizationID: other.ID, Name: "Eve", Email: "eve@other.example", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := b.stores.Control().APIKeys(ctx, other.ID, ion.ListOptions{Limit: 1})
	if err != nil || keys.TotalCount != 0 {
		t.Fatalf("other org keys %v %v", keys, err)
	}
	otherKey, err := b.stores.Control().CreateAPIKey(ctx, ion.APIKey{ClientID: "7c2c7bd5-3f2e-4d8e-9a55-8e1f6f0b0a11", OrganizationID: other.ID, UserID: otherUser.ID, Environment: ion.ProductionEnvironment, Enabled: true, SecretHash: []byte("x"), SecretHint: "ion_prod_…abcd"})
	if err != nil {
		t.Fatal(err)
	}
	r = b.post(`mutation($input: APIKeyInput!) { updateApiKey(input: $input) { apikey { clientId } } }`,
		map[string]any{"input": map[string]any{"clientId": otherKey.ClientID, "enabled": false}})
	if r.code() != ion.ENOTFOUND {
		t.Errorf("another organization's key: %s", r.raw)
	}
	r = b.post(`mutation($input: APIKeyInput!) { deleteApiKey(input: $input) { apikey { clientId } } }`,
		map[string]any{"input": map[string]any{"clientId": otherKey.ClientID, "etag": otherKey.Etag}})
	if r.code() != ion.ENOTFOUND {
		t.Errorf("deleting another organization's key: %s", r.raw)
	}
}
