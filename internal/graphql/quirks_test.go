package graphql

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ionbox/ionbox/ion"
)

// TestEmulatedQuirks covers what ION's clients send that a strict GraphQL
// server would refuse: enum values in any case, ids as strings or numbers in
// ID or Int variables, decimal strings, the docs' input type names, and
// _etag for etag.
func TestEmulatedQuirks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	loc, err := b.ts.CreateLocation(ctx, ion.Location{Name: "Dock", Available: true})
	if err != nil {
		t.Fatal(err)
	}
	proc, err := b.ts.CreateProcedure(ctx, ion.Procedure{Title: "Assemble", Type: ion.ProcBuild})
	if err != nil {
		t.Fatal(err)
	}
	step, err := b.ts.CreateStep(ctx, ion.Step{ProcedureID: proc.ID, Position: 1, Title: "Only step"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.ts.CreateStepField(ctx, ion.StepField{StepID: step.ID, Name: "Torque", Type: ion.FieldNumber}); err != nil {
		t.Fatal(err)
	}
	run, err := b.ts.CreateRun(ctx, ion.Run{ProcedureID: proc.ID})
	if err != nil {
		t.Fatal(err)
	}
	runSteps, err := b.ts.RunSteps(ctx, ion.ListOptions{Limit: 10})
	if err != nil || len(runSteps.Items) != 1 {
		t.Fatalf("run steps %v %v", runSteps, err)
	}
	rs := runSteps.Items[0]

	b.run(t, []scenario{{
		name:      "enum input in lower case",
		query:     `mutation($input: CreatePartInput!) { createPart(input: $input) { part { id trackingType partType status } } }`,
		variables: `{"input": {"partNumber": "Q-1", "trackingType": "serial", "partType": "Tool", "status": "released"}}`,
		wantJSON:  `{"createPart":{"part":{"id":1,"trackingType":"SERIAL","partType":"TOOL","status":"RELEASED"}}}`,
	}, {
		name:      "alias input type PartCreateInput",
		query:     `mutation($input: PartCreateInput!) { createPart(input: $input) { part { id partNumber revision } } }`,
		variables: `{"input": {"partNumber": "Q-2", "revision": "B"}}`,
		wantJSON:  `{"createPart":{"part":{"id":2,"partNumber":"Q-2","revision":"B"}}}`,
	}, {
		name:      "enum values in a sort list, any case",
		query:     `query($s: [PartSortEnum]) { parts(sort: $s) { edges { node { id } } } }`,
		variables: `{"s": ["part_number_desc", "Id_Asc"]}`,
		wantJSON:  `{"parts":{"edges":[{"node":{"id":2}},{"node":{"id":1}}]}}`,
	}, {
		name:      "a single enum where a list is wanted",
		query:     `query($s: [PartSortEnum]) { parts(sort: $s) { edges { node { id } } } }`,
		variables: `{"s": "id_desc"}`,
		wantJSON:  `{"parts":{"edges":[{"node":{"id":2}},{"node":{"id":1}}]}}`,
	}, {
		name:      "enum-valued filter in lower case",
		query:     `query($f: PartsInputFilters) { parts(filters: $f) { edges { node { id } } } }`,
		variables: `{"f": {"trackingType": {"eq": "serial"}, "partType": {"in": ["tool", "part"]}}}`,
		wantJSON:  `{"parts":{"edges":[{"node":{"id":1}}]}}`,
	}, {
		name:      "ids in filters as numbers and strings",
		query:     `query($f: PartsInputFilters) { parts(filters: $f) { edges { node { id } } } }`,
		variables: `{"f": {"id": {"in": [1, "2"]}}}`,
		wantJSON:  `{"parts":{"edges":[{"node":{"id":1}},{"node":{"id":2}}]}}`,
	}, {
		name:      "Int variable for an id",
		query:     `query($id: Int!) { part(id: $id) { id } }`,
		variables: `{"id": 1}`,
		wantJSON:  `{"part":{"id":1}}`,
	}, {
		name:      "Int variable for an id, given as a string",
		query:     `query($id: Int!) { part(id: $id) { id } }`,
		variables: `{"id": "2"}`,
		wantJSON:  `{"part":{"id":2}}`,
	}, {
		name:      "ID variable given as a string",
		query:     `query($id: ID!) { part(id: $id) { id } }`,
		variables: `{"id": "1"}`,
		wantJSON:  `{"part":{"id":1}}`,
	}, {
		name:      "ID variable given as a number",
		query:     `query($id: ID!) { part(id: $id) { id } }`,
		variables: `{"id": 2}`,
		wantJSON:  `{"part":{"id":2}}`,
	}, {
		name:     "string id literal",
		query:    `{ part(id: "2") { id partNumber } }`,
		wantJSON: `{"part":{"id":2,"partNumber":"Q-2"}}`,
	}, {
		name:      "ID variable in an Int position",
		query:     `query($n: ID) { parts(first: $n) { pageInfo { count } } }`,
		variables: `{"n": "1"}`,
		wantJSON:  `{"parts":{"pageInfo":{"count":1}}}`,
	}, {
		name:        "a malformed id",
		query:       `query($id: ID!) { part(id: $id) { id } }`,
		variables:   `{"id": "forty-two"}`,
		wantCode:    ion.EVALIDATION,
		wantMessage: `id: An ID must be an integer such as 42 or "42" (got "forty-two").`,
	}, {
		name:        "Int and String stay distinct",
		query:       `query($id: String!) { part(id: $id) { id } }`,
		variables:   `{"id": "1"}`,
		wantCode:    "GRAPHQL_VALIDATION_FAILED",
		wantMessage: `Variable "$id" of type "String!" used in position expecting type "ID!"`,
	}, {
		name:      "decimal string quantity and lower-case enum status together",
		query:     `mutation($input: CreatePartInventoryInput!) { createPartInventory(input: $input) { partInventory { id quantity cost status } } }`,
		variables: fmt.Sprintf(`{"input": {"partId": "2", "quantity": " 2.50 ", "cost": "1e1", "locationId": %d}}`, loc.ID),
		wantJSON:  `{"createPartInventory":{"partInventory":{"id":1,"quantity":2.5,"cost":10,"status":"AVAILABLE"}}}`,
	}, {
		name:      "Float variable where a Decimal is wanted",
		query:     `mutation($q: Float!, $e: String!) { updatePartInventory(input: {id: 1, etag: $e, quantity: $q}) { partInventory { quantity } } }`,
		variables: `{"q": 3, "e": "stale"}`,
		wantCode:  ion.ECONFLICT,
	}, {
		name:        "a decimal that is not a number",
		query:       `mutation($input: CreatePartInventoryInput!) { createPartInventory(input: $input) { partInventory { id } } }`,
		variables:   `{"input": {"partId": 2, "quantity": "1,5"}}`,
		wantCode:    ion.EVALIDATION,
		wantMessage: `input.quantity: A decimal must be a number such as 2.5 or a decimal string such as "2.5" (got "1,5").`,
	}, {
		name:        "NaN is not a decimal",
		query:       `mutation($input: CreatePartInventoryInput!) { createPartInventory(input: $input) { partInventory { id } } }`,
		variables:   `{"input": {"partId": 2, "quantity": "NaN"}}`,
		wantCode:    ion.EVALIDATION,
		wantMessage: "input.quantity:",
	}, {
		name:        "a negative quantity",
		query:       `mutation($input: CreatePartInventoryInput!) { createPartInventory(input: $input) { partInventory { id } } }`,
		variables:   `{"input": {"partId": 2, "quantity": "-1"}}`,
		wantCode:    ion.EVALIDATION,
		wantMessage: "quantity",
	}, {
		name:      "run step status in lower case, etag as _etag",
		query:     `mutation($input: UpdateRunStepInput!) { updateRunStep(input: $input) { runStep { id status } } }`,
		variables: fmt.Sprintf(`{"input": {"id": %d, "status": "in_progress", "_etag": %q}}`, rs.ID, rs.Etag),
		wantJSON:  fmt.Sprintf(`{"updateRunStep":{"runStep":{"id":%d,"status":"IN_PROGRESS"}}}`, rs.ID),
	}, {
		name:        "no etag at all",
		query:       `mutation($input: UpdateRunStepInput!) { updateRunStep(input: $input) { runStep { id } } }`,
		variables:   fmt.Sprintf(`{"input": {"id": %d, "status": "COMPLETE"}}`, rs.ID),
		wantCode:    ion.EVALIDATION,
		wantMessage: "etag: is required; send the object's current _etag.",
	}, {
		name:        "etag and _etag that differ",
		query:       `mutation($input: UpdateRunStepInput!) { updateRunStep(input: $input) { runStep { id } } }`,
		variables:   fmt.Sprintf(`{"input": {"id": %d, "status": "COMPLETE", "etag": "a", "_etag": "b"}}`, rs.ID),
		wantCode:    ion.EVALIDATION,
		wantMessage: "etag and _etag differ",
	}, {
		name:      "alias input type RunCreateInput with a procedure type in any case",
		query:     `mutation($input: RunCreateInput!) { createRun(input: $input) { run { id status procedure { type } } } }`,
		variables: fmt.Sprintf(`{"input": {"procedureId": "%d", "title": "Second"}}`, proc.ID),
		wantJSON:  `{"createRun":{"run":{"id":2,"status":"TODO","procedure":{"type":"BUILD"}}}}`,
	}, {
		name:      "createProcedure with a lower-case type and an input object",
		query:     `mutation($t: Proceduretypeenum) { createProcedure(type: $t, input: {title: "From input", type: TEST}) { procedure { title type status } } }`,
		variables: `{"t": "maintenance"}`,
		wantJSON:  `{"createProcedure":{"procedure":{"title":"From input","type":"MAINTENANCE","status":"DRAFT"}}}`,
	}, {
		name:        "createProcedure without a title",
		query:       `mutation { createProcedure(description: "no title") { procedure { id } } }`,
		wantCode:    ion.EVALIDATION,
		wantMessage: "title: is required",
	}})

	// The run step's update changed the run's derived status and etag.
	run, err = b.ts.Run(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	b.run(t, []scenario{{
		name:      "alias input type RunCreateInput",
		query:     `mutation($input: RunCreateInput!) { createRun(input: $input) { run { title } } }`,
		variables: fmt.Sprintf(`{"input": {"procedureId": %d, "title": "Third"}}`, proc.ID),
		wantJSON:  `{"createRun":{"run":{"title":"Third"}}}`,
	}, {
		name:        "alias input type RunUpdateInput as the docs send it",
		query:       `mutation UpdateRunStatus($input: RunUpdateInput!) { updateRun(input: $input) { run { id status startedAt completedAt } } }`,
		variables:   fmt.Sprintf(`{"input": {"id": %d, "_etag": %q, "status": "complete"}}`, run.ID, run.Etag),
		wantCode:    ion.EVALIDATION,
		wantMessage: "status: a run's status is derived from its steps",
	}, {
		name:      "RunUpdateInput with the run's current status",
		query:     `mutation UpdateRunStatus($input: RunUpdateInput!) { updateRun(input: $input) { run { id title status } } }`,
		variables: fmt.Sprintf(`{"input": {"id": %d, "_etag": %q, "status": "in_progress", "title": "Renamed"}}`, run.ID, run.Etag),
		wantJSON:  fmt.Sprintf(`{"updateRun":{"run":{"id":%d,"title":"Renamed","status":"IN_PROGRESS"}}}`, run.ID),
	}})
}

// TestStaleEtagWritesNothing: a CONFLICT leaves the object as it was.
func TestStaleEtagWritesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p, err := b.ts.CreatePart(t.Context(), ion.Part{PartNumber: "E-1", Description: "before"})
	if err != nil {
		t.Fatal(err)
	}
	stale := p.Etag
	r := b.post(`mutation($i: UpdatePartInput!) { updatePart(input: $i) { part { description _etag } } }`,
		map[string]any{"i": map[string]any{"id": p.ID, "etag": stale, "description": "first"}})
	if r.code() != "" {
		t.Fatalf("first update: %s", r.raw)
	}
	r = b.post(`mutation($i: UpdatePartInput!) { updatePart(input: $i) { part { description } } }`,
		map[string]any{"i": map[string]any{"id": p.ID, "etag": stale, "description": "second"}})
	if r.code() != ion.ECONFLICT || !strings.Contains(r.Errors[0].Message, "_etag") {
		t.Fatalf("stale update: %s", r.raw)
	}
	r = b.post(`mutation($id: ID!, $e: String!) { deletePart(id: $id, etag: $e) { id } }`, map[string]any{"id": p.ID, "e": stale})
	if r.code() != ion.ECONFLICT {
		t.Fatalf("stale delete: %s", r.raw)
	}
	got, err := b.ts.Part(t.Context(), p.ID)
	if err != nil || got.Description != "first" {
		t.Fatalf("after stale writes: %+v %v, want description \"first\"", got, err)
	}
	// trackingType: null makes the part untracked; absent leaves it.
	tracked, err := b.ts.CreatePart(t.Context(), ion.Part{PartNumber: "E-2", TrackingType: ptr(ion.TrackingLot)})
	if err != nil {
		t.Fatal(err)
	}
	data := b.mustData(`mutation($i: UpdatePartInput!) { updatePart(input: $i) { part { trackingType _etag } } }`,
		map[string]any{"i": map[string]any{"id": tracked.ID, "etag": tracked.Etag, "description": "still lot"}})
	part := data["updatePart"].(map[string]any)["part"].(map[string]any)
	if part["trackingType"] != "LOT" {
		t.Errorf("absent trackingType changed it: %v", part)
	}
	data = b.mustData(`mutation($i: UpdatePartInput!) { updatePart(input: $i) { part { trackingType } } }`,
		map[string]any{"i": map[string]any{"id": tracked.ID, "etag": part["_etag"], "trackingType": nil}})
	if got := data["updatePart"].(map[string]any)["part"].(map[string]any)["trackingType"]; got != nil {
		t.Errorf("trackingType: null left %v", got)
	}
}

// TestLoadersBatch: "part" on 50 inventories is one store call; "steps" on
// many runs another.
func TestLoadersBatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	for i := range 50 {
		p, err := b.ts.CreatePart(ctx, ion.Part{PartNumber: fmt.Sprintf("L-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.ts.CreatePartInventory(ctx, ion.PartInventory{PartID: p.ID, Quantity: 1}); err != nil {
			t.Fatal(err)
		}
	}
	proc, _ := b.ts.CreateProcedure(ctx, ion.Procedure{Title: "P"})
	for i := range 3 {
		if _, err := b.ts.CreateStep(ctx, ion.Step{ProcedureID: proc.ID, Position: int64(i + 1), Title: "S"}); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 {
		if _, err := b.ts.CreateRun(ctx, ion.Run{ProcedureID: proc.ID}); err != nil {
			t.Fatal(err)
		}
	}
	b.stores.calls()
	data := b.mustData(`{ partInventories(first: 50) { edges { node { id part { partNumber } } } } }`, nil)
	if n := len(data["partInventories"].(map[string]any)["edges"].([]any)); n != 50 {
		t.Fatalf("%d inventories", n)
	}
	if calls := b.stores.calls(); calls["PartInventories"] != 1 || calls["Parts"] != 1 || calls["Tenant"] != 1 {
		t.Errorf("store calls %v, want one PartInventories, one Parts, one Tenant", calls)
	}
	data = b.mustData(`{ runs { edges { node { steps { id position } } } } }`, nil)
	if calls := b.stores.calls(); calls["RunSteps"] != 1 {
		t.Errorf("store calls %v, want one RunSteps for 20 runs", calls)
	}
	first := data["runs"].(map[string]any)["edges"].([]any)[0].(map[string]any)["node"].(map[string]any)["steps"].([]any)
	if len(first) != 3 {
		t.Errorf("run 1 steps %v", first)
	}
}

// TestMutationFieldsSeeEarlierWrites: each root field of a mutation starts
// with empty loaders, so a later field never shows data cached before an
// earlier one wrote.
func TestMutationFieldsSeeEarlierWrites(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p, err := b.ts.CreatePart(t.Context(), ion.Part{PartNumber: "M-1", Description: "old"})
	if err != nil {
		t.Fatal(err)
	}
	data := b.mustData(`mutation($id: ID!, $e: String!) {
		a: createPartInventory(input: {partId: $id}) { partInventory { part { description } } }
		b: updatePart(input: {id: $id, etag: $e, description: "new"}) { part { description } }
		c: createPartInventory(input: {partId: $id}) { partInventory { part { description } } }
	}`, map[string]any{"id": p.ID, "e": p.Etag})
	got := fmt.Sprint(data["a"], data["b"], data["c"])
	if want := "map[partInventory:map[part:map[description:old]]] map[part:map[description:new]] map[partInventory:map[part:map[description:new]]]"; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

// TestInternalErrors: a store failure or a panic is "Internal error." to the
// client, with the details in the log only.
func TestInternalErrors(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	var mu syncWriter
	mu.w = &log
	b := setup(t, setupOptions{log: &mu})
	b.stores.setHook(func(ctx context.Context, method string) error {
		if method == "PartInventories" {
			panic("index out of range in the disk")
		}
		return errors.New("disk on fire at /var/secret/path")
	})
	r := b.post(`{ currentUser { id } parts { totalCount } }`, nil)
	if r.code() != ion.EINTERNAL || r.Errors[0].Message != "Internal error." {
		t.Fatalf("store failure: %s", r.raw)
	}
	if strings.Contains(string(r.raw), "disk on fire") {
		t.Errorf("the answer leaks the internal error: %s", r.raw)
	}
	if r.Data != nil {
		t.Errorf("data %v, want null: parts is non-null, so its error nulls the whole answer", r.Data)
	}
	r = b.post(`{ partInventories { totalCount } }`, nil)
	if r.code() != ion.EINTERNAL || r.Errors[0].Message != "Internal error." {
		t.Fatalf("panic: %s", r.raw)
	}
	logged := mu.String()
	if !strings.Contains(logged, "disk on fire") || !strings.Contains(logged, "index out of range in the disk") {
		t.Errorf("log lacks the internal errors:\n%s", logged)
	}
}
