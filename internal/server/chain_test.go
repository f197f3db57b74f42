package server

import (
	"testing"
)

// TestFullChain walks a new user's whole path over real HTTP: a part with a
// two-level mBOM, a location, serial and lot inventory, a procedure with
// steps and fields, a run whose steps complete in order, a build requirement
// and an installation, checking the derived statuses at each step.
func TestFullChain(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.newCredential("Chain")
	runChain(t, b, c.token)
}

func runChain(t *testing.T, b *bundle, tok string) {
	t.Helper()
	createPart := func(pn, tracking string) int64 {
		d := b.mustGQL(tok, `mutation CreatePart($input: CreatePartInput!) { createPart(input: $input) { part { id revision partNumber trackingType } } }`,
			map[string]any{"input": map[string]any{"partNumber": pn, "description": pn + " for the chain test", "trackingType": tracking}})
		if got := dig(d, "createPart", "part", "revision"); got != "A" {
			t.Fatalf("new part revision = %v, want A", got)
		}
		return id(dig(d, "createPart", "part", "id"))
	}
	assy := createPart("ASSY-100", "SERIAL")
	sub := createPart("SUB-200", "serial") // enum in any case
	bolt := createPart("BOLT-300", "LOT")

	mbom := func(part, parent int64, qty any) gqlResult {
		return b.gql(tok, `mutation($input: CreateMBomItemInput!) { createMbomItem(input: $input) { mbomItem { id partId parentId quantity } } }`,
			map[string]any{"input": map[string]any{"partId": part, "parentId": parent, "quantity": qty}})
	}
	if r := mbom(sub, assy, 1); r.code() != "" {
		t.Fatalf("mBOM level 1: %s", r.Raw)
	}
	if r := mbom(bolt, sub, 4); r.code() != "" {
		t.Fatalf("mBOM level 2: %s", r.Raw)
	}
	if r := mbom(assy, bolt, 1); r.code() != "VALIDATION_ERROR" {
		t.Fatalf("mBOM cycle: got %s, want VALIDATION_ERROR", r.Raw)
	}
	if r := mbom(bolt, assy, 0); r.code() != "VALIDATION_ERROR" {
		t.Fatalf("mBOM zero quantity: got %s, want VALIDATION_ERROR", r.Raw)
	}
	d := b.mustGQL(tok, `query($f: MBomItemsInputFilters) { mbomItems(filters: $f) { edges { node { partId quantity } } pageInfo { totalCount } } }`,
		map[string]any{"f": map[string]any{"parentId": map[string]any{"eq": sub}}})
	if got := dig(d, "mbomItems", "pageInfo", "totalCount"); got != float64(1) {
		t.Fatalf("mbom items under SUB-200: totalCount %v, want 1", got)
	}

	loc := id(dig(b.mustGQL(tok, `mutation CreateLocation($input: CreateLocationInput!) { createLocation(input: $input) { location { id name } } }`,
		map[string]any{"input": map[string]any{"name": "Bay 1"}}), "createLocation", "location", "id"))

	inv := func(part int64, serial, lot any, qty float64) gqlResult {
		return b.gql(tok, `mutation CreatePartInventory($input: CreatePartInventoryInput!) { createPartInventory(input: $input) { partInventory { id _etag status quantity serialNumber lotNumber } } }`,
			map[string]any{"input": map[string]any{"partId": part, "serialNumber": serial, "lotNumber": lot, "quantity": qty, "locationId": loc}})
	}
	mustInv := func(part int64, serial, lot any, qty float64) int64 {
		r := inv(part, serial, lot, qty)
		if r.code() != "" {
			t.Fatalf("create inventory: %s", r.Raw)
		}
		if got := dig(r.Data, "createPartInventory", "partInventory", "status"); got != "AVAILABLE" {
			t.Fatalf("new inventory status = %v, want AVAILABLE", got)
		}
		return id(dig(r.Data, "createPartInventory", "partInventory", "id"))
	}
	assyInv := mustInv(assy, "SN-1", nil, 1)
	subA := mustInv(sub, "SN-A", nil, 1)
	subB := mustInv(sub, "SN-B", nil, 1)
	mustInv(bolt, nil, "L-1", 10)
	for name, r := range map[string]gqlResult{
		"serial missing":   inv(sub, nil, nil, 1),
		"serial duplicate": inv(sub, "SN-A", nil, 1),
		"serial qty 2":     inv(sub, "SN-C", nil, 2),
		"lot missing":      inv(bolt, nil, nil, 3),
		"negative":         inv(bolt, nil, "L-2", -1),
	} {
		if r.code() != "VALIDATION_ERROR" {
			t.Errorf("%s: got %s, want VALIDATION_ERROR", name, r.Raw)
		}
	}

	proc := id(dig(b.mustGQL(tok, `mutation CreateProcedure($title: String!, $description: String, $exportControlled: Boolean, $type: Proceduretypeenum) { createProcedure(title: $title, description: $description, exportControlled: $exportControlled, type: $type) { procedure { id } } }`,
		map[string]any{"title": "Assemble ASSY-100", "description": "two steps", "exportControlled": false, "type": "build"}), "createProcedure", "procedure", "id"))
	step := func(title string, upstream []int64) int64 {
		in := map[string]any{"procedureId": proc, "title": title}
		if upstream != nil {
			in["upstreamStepIds"] = upstream
		}
		return id(dig(b.mustGQL(tok, `mutation($input: CreateStepInput!) { createStep(input: $input) { step { id } } }`,
			map[string]any{"input": in}), "createStep", "step", "id"))
	}
	s1 := step("Fit sub-assembly", nil)
	step("Torque bolts", []int64{s1})
	b.mustGQL(tok, `mutation($input: CreateStepFieldInput!) { createStepField(input: $input) { stepField { id } } }`,
		map[string]any{"input": map[string]any{"stepId": s1, "name": "Torque", "type": "NUMBER", "required": true}})

	d = b.mustGQL(tok, `mutation CreateRun($input: CreateRunInput!) { createRun(input: $input) { run { id title procedureId partInventoryId status steps { id title status _etag fields { id name type _etag } } } } }`,
		map[string]any{"input": map[string]any{"title": "ASSY-100 SN-1 build", "procedureId": proc, "partInventoryId": assyInv}})
	run := dig(d, "createRun", "run")
	runID := id(dig(run, "id"))
	if got := dig(run, "status"); got != "TODO" {
		t.Fatalf("new run status = %v, want TODO", got)
	}
	if got := dig(run, "steps", 1, "title"); got != "Torque bolts" {
		t.Fatalf("run steps not copied from the procedure: %v", dig(run, "steps"))
	}
	if got := dig(run, "steps", 0, "fields", 0, "name"); got != "Torque" {
		t.Fatalf("run step fields not copied: %v", dig(run, "steps", 0))
	}
	invStatus := func(id int64) any {
		return dig(b.mustGQL(tok, `query($id: ID!) { partInventory(id: $id) { status } }`, map[string]any{"id": id}), "partInventory", "status")
	}
	if got := invStatus(assyInv); got != "WIP" {
		t.Fatalf("inventory in an open run: status %v, want WIP", got)
	}

	rs1, rs2 := id(dig(run, "steps", 0, "id")), id(dig(run, "steps", 1, "id"))
	etag1, etag2 := dig(run, "steps", 0, "_etag").(string), dig(run, "steps", 1, "_etag").(string)
	updateStep := func(id int64, status, etag string) gqlResult {
		return b.gql(tok, `mutation UpdateRunStep($input: UpdateRunStepInput!) { updateRunStep(input: $input) { runStep { id status title _etag } } }`,
			map[string]any{"input": map[string]any{"id": id, "status": status, "etag": etag}})
	}
	if r := updateStep(rs2, "IN_PROGRESS", etag2); r.code() != "VALIDATION_ERROR" {
		t.Fatalf("starting a step before its upstream step completed: got %s, want VALIDATION_ERROR", r.Raw)
	}
	runStatus := func() any {
		return dig(b.mustGQL(tok, `query($id: ID!) { run(id: $id) { status } }`, map[string]any{"id": runID}), "run", "status")
	}
	r := updateStep(rs1, "in_progress", etag1)
	if r.code() != "" {
		t.Fatalf("start step 1: %s", r.Raw)
	}
	etag1 = dig(r.Data, "updateRunStep", "runStep", "_etag").(string)
	if got := runStatus(); got != "IN_PROGRESS" {
		t.Fatalf("run status after a step started = %v, want IN_PROGRESS", got)
	}

	field := dig(run, "steps", 0, "fields", 0)
	fieldID, fieldEtag := id(dig(field, "id")), dig(field, "_etag").(string)
	setValue := func(v any, etag string) gqlResult {
		return b.gql(tok, `mutation($input: UpdateRunStepFieldValueInput!) { updateRunStepFieldValue(input: $input) { runStepField { id value _etag } } }`,
			map[string]any{"input": map[string]any{"id": fieldID, "value": v, "etag": etag}})
	}
	if r := setValue("abc", fieldEtag); r.code() != "VALIDATION_ERROR" {
		t.Fatalf("text into a NUMBER field: got %s, want VALIDATION_ERROR", r.Raw)
	}
	if r := setValue(12.5, fieldEtag); r.code() != "" || dig(r.Data, "updateRunStepFieldValue", "runStepField", "value") != 12.5 {
		t.Fatalf("number into a NUMBER field: %s", r.Raw)
	}

	r = updateStep(rs1, "COMPLETE", etag1)
	if r.code() != "" {
		t.Fatalf("complete step 1: %s", r.Raw)
	}
	r = updateStep(rs2, "IN_PROGRESS", etag2)
	if r.code() != "" {
		t.Fatalf("start step 2 after step 1 completed: %s", r.Raw)
	}
	etag2 = dig(r.Data, "updateRunStep", "runStep", "_etag").(string)
	if r := updateStep(rs2, "COMPLETE", etag2); r.code() != "" {
		t.Fatalf("complete step 2: %s", r.Raw)
	}
	if got := runStatus(); got != "COMPLETE" {
		t.Fatalf("run status with every step complete = %v, want COMPLETE", got)
	}
	if got := invStatus(assyInv); got != "AVAILABLE" {
		t.Fatalf("inventory after its run completed: status %v, want AVAILABLE", got)
	}

	br := id(dig(b.mustGQL(tok, `mutation CreateBuildRequirement($input: CreateBuildRequirementInput!) { createBuildRequirement(input: $input) { buildRequirement { id partId quantityPerParentPartInventory } } }`,
		map[string]any{"input": map[string]any{"partId": sub, "partInventoryId": assyInv, "quantityPerParentPartInventory": 1}}), "createBuildRequirement", "buildRequirement", "id"))
	install := func(child int64) gqlResult {
		return b.gql(tok, `mutation CreateABomInstallation($input: CreateABomInstallationInput!) { createAbomInstallation(input: $input) { abomInstallation { id _etag buildRequirementId partInventoryId quantity } } }`,
			map[string]any{"input": map[string]any{"buildRequirementId": br, "partInventoryId": child, "quantity": 1}})
	}
	r = install(subA)
	if r.code() != "" {
		t.Fatalf("install SN-A: %s", r.Raw)
	}
	inst := dig(r.Data, "createAbomInstallation", "abomInstallation")
	if got := invStatus(subA); got != "INSTALLED" {
		t.Fatalf("installed unit status = %v, want INSTALLED", got)
	}
	if r := install(subA); r.code() != "VALIDATION_ERROR" && r.code() != "CONFLICT" {
		t.Fatalf("installing the same unit twice: got %s, want an error", r.Raw)
	}
	if r := install(subB); r.code() != "VALIDATION_ERROR" {
		t.Fatalf("installing more than required: got %s, want VALIDATION_ERROR", r.Raw)
	}
	d = b.mustGQL(tok, `query($id: ID!) { partInventory(id: $id) { buildRequirements { abomInstallations { quantity partInventory { serialNumber } } installations { installedPartInventory { serialNumber } } } } }`,
		map[string]any{"id": assyInv})
	if got := dig(d, "partInventory", "buildRequirements", 0, "abomInstallations", 0, "partInventory", "serialNumber"); got != "SN-A" {
		t.Fatalf("as-built tree: %v", d)
	}
	if r := b.gql(tok, `mutation($id: ID!, $etag: String!) { deleteAbomInstallation(id: $id, etag: $etag) { id } }`,
		map[string]any{"id": id(dig(inst, "id")), "etag": dig(inst, "_etag")}); r.code() != "" {
		t.Fatalf("delete installation: %s", r.Raw)
	}
	if got := invStatus(subA); got != "AVAILABLE" {
		t.Fatalf("uninstalled unit status = %v, want AVAILABLE", got)
	}
}
