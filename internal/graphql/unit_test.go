package graphql

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/ionbox/ionbox/internal/graphql/generated"
	"github.com/ionbox/ionbox/internal/graphql/model"
	"github.com/ionbox/ionbox/ion"
)

func testSchema(t *testing.T) *ast.Schema {
	t.Helper()
	return generated.NewExecutableSchema(generated.Config{Resolvers: &Resolver{}}).Schema()
}

func TestNormaliseEnumVariables(t *testing.T) {
	t.Parallel()
	schema := testSchema(t)
	doc, err := parser.ParseQuery(&ast.Source{Input: `query($input: UpdateRunStepInput!, $sort: [RunSortEnum], $one: [PartSortEnum], $t: Proceduretypeenum, $f: RunsInputFilters, $n: Int, $p: CreatePartInput) { __typename }`})
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]any{
		"input": map[string]any{"id": json.Number("1135"), "status": "in_progress", "title": "todo"},
		"sort":  []any{"id_desc", "Title_Asc", "not_a_value", nil},
		"one":   "part_number_asc",
		"t":     "Build",
		"f":     map[string]any{"status": map[string]any{"eq": "todo"}},
		"n":     json.Number("3"),
		"p":     map[string]any{"partNumber": "x", "trackingType": "serial", "attributes": []any{map[string]any{"key": "k"}}},
	}
	normaliseEnumVariables(schema, doc.Operations[0].VariableDefinitions, vars)
	want := map[string]any{
		"input": map[string]any{"id": json.Number("1135"), "status": "IN_PROGRESS", "title": "todo"}, // title is a String
		"sort":  []any{"ID_DESC", "TITLE_ASC", "not_a_value", nil},                                   // unknown values are left for the executor to refuse
		"one":   "PART_NUMBER_ASC",
		"t":     "BUILD",
		"f":     map[string]any{"status": map[string]any{"eq": "todo"}}, // filter values are strings, uppercased later
		"n":     json.Number("3"),
		"p":     map[string]any{"partNumber": "x", "trackingType": "SERIAL", "attributes": []any{map[string]any{"key": "k"}}},
	}
	if diff := cmp.Diff(want, vars); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestFiltersAndSort(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 4, 20, 10, 0, 0, 0, time.UTC)
	got := filtersFrom(&model.PartsInputFilters{
		ID:               &model.IDFilterInput{In: []int64{1, 2}},
		PartNumber:       &model.StringFilterInput{Ilike: ptr("%brkt%"), Neq: ptr("x")},
		Status:           &model.EnumFilterInput{Eq: ptr("released"), NotIn: []string{"archived"}},
		LeadTime:         &model.IntFilterInput{Gte: ptr(3)},
		Cost:             &model.FloatFilterInput{Lt: ptr(2.5)},
		IsLatestRevision: &model.BooleanFilterInput{Eq: ptr(true)},
		TrackingType:     &model.EnumFilterInput{IsNull: ptr(true)},
		CreatedAt:        &model.DateTimeFilterInput{Gt: &at},
	})
	want := []ion.Filter{
		{Field: "id", Op: ion.OpIn, Value: []any{int64(1), int64(2)}},
		{Field: "partNumber", Op: ion.OpNeq, Value: "x"},
		{Field: "partNumber", Op: ion.OpIlike, Value: "%brkt%"},
		{Field: "trackingType", Op: ion.OpIsNull, Value: true},
		{Field: "status", Op: ion.OpEq, Value: "RELEASED"},
		{Field: "status", Op: ion.OpNotIn, Value: []any{"ARCHIVED"}},
		{Field: "cost", Op: ion.OpLt, Value: 2.5},
		{Field: "leadTime", Op: ion.OpGte, Value: int64(3)},
		{Field: "isLatestRevision", Op: ion.OpEq, Value: true},
		{Field: "createdAt", Op: ion.OpGt, Value: at},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("filters (-want +got):\n%s", diff)
	}
	if got := filtersFrom((*model.PartsInputFilters)(nil)); got != nil {
		t.Errorf("nil filters: %v", got)
	}
	keys := sortFrom([]*string{ptr("PART_NUMBER_DESC"), nil, ptr("CREATED_ASC"), ptr("QUANTITY_AVAILABLE_ASC"), ptr("ID_ASC")})
	wantKeys := []ion.SortKey{{Field: "partNumber", Desc: true}, {Field: "createdAt"}, {Field: "quantityAvailable"}, {Field: "id"}}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Errorf("sort (-want +got):\n%s", diff)
	}
}

func TestSameNamedType(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		varType, expected string
		want              bool
	}{
		{"ID", "ID", true},
		{"Int", "ID", true},
		{"ID", "Int", true},
		{"String", "ID", false},
		{"RunCreateInput", "CreateRunInput", true},
		{"CreateRunInput", "RunCreateInput", false},
		{"PartCreateInput", "CreatePartInput", true},
		{"RunUpdateInput", "UpdateRunInput", true},
		{"RunUpdateInput", "CreateRunInput", false},
		{"String", "Decimal", true},
		{"Float", "Decimal", true},
		{"Boolean", "Decimal", false},
	} {
		if got := sameNamedType(c.varType, c.expected); got != c.want {
			t.Errorf("sameNamedType(%s, %s) = %v", c.varType, c.expected, got)
		}
	}
	list := &ast.Type{Elem: &ast.Type{NamedType: "Int", NonNull: true}}
	if !relaxedCompatible(list, &ast.Type{Elem: &ast.Type{NamedType: "ID", NonNull: true}}) {
		t.Error("[Int!] should stand for [ID!]")
	}
	if relaxedCompatible(&ast.Type{NamedType: "Int"}, &ast.Type{NamedType: "ID", NonNull: true}) {
		t.Error("a nullable Int cannot stand for ID!")
	}
}

// TestAliasInputsMatch keeps each alias input type identical to its
// canonical type, field for field.
func TestAliasInputsMatch(t *testing.T) {
	t.Parallel()
	schema := testSchema(t)
	for alias, canonical := range inputAliases {
		a, c := schema.Types[alias], schema.Types[canonical]
		if a == nil || c == nil || a.Kind != ast.InputObject || c.Kind != ast.InputObject {
			t.Fatalf("%s or %s is not an input type", alias, canonical)
		}
		describe := func(d *ast.Definition) []string {
			var out []string
			for _, f := range d.Fields {
				out = append(out, f.Name+": "+f.Type.String())
			}
			return out
		}
		if diff := cmp.Diff(describe(c), describe(a)); diff != "" {
			t.Errorf("%s differs from %s (-canonical +alias):\n%s", alias, canonical, diff)
		}
	}
}

// TestSchemaConventions checks the contract's naming rules on the schema.
func TestSchemaConventions(t *testing.T) {
	t.Parallel()
	schema := testSchema(t)
	// The SDL served at /schema.graphql is the schema.
	if _, err := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: SchemaSDL()}); err != nil {
		t.Fatalf("SchemaSDL does not load: %v", err)
	}
	var names []string
	for name, def := range schema.Types {
		if def.Kind != ast.Object || def.BuiltIn || strings.HasPrefix(name, "__") {
			continue
		}
		names = append(names, name)
		if def.Fields.ForName("id") != nil && def.Fields.ForName("createdAt") != nil && def.Fields.ForName("_etag") == nil {
			t.Errorf("mutable type %s has no _etag", name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		def := schema.Types[name]
		for _, f := range def.Fields {
			// Every list of a domain object at the root is a connection
			// with Relay arguments, filters and sort.
			if name != "Query" || !strings.HasSuffix(f.Type.Name(), "Connection") {
				continue
			}
			for _, arg := range []string{"first", "after", "last", "before", "filters", "sort"} {
				if f.Arguments.ForName(arg) == nil {
					t.Errorf("Query.%s lacks %s", f.Name, arg)
				}
			}
		}
	}
	for _, name := range []string{"parts", "part", "mbomItems", "mbomItem", "locations", "location", "unitsOfMeasurement", "unitOfMeasurement",
		"partInventories", "partInventory", "procedures", "procedure", "steps", "step", "runs", "run", "runSteps", "runStep", "runStepField",
		"buildRequirements", "abomInstallations", "issues", "issue", "suppliers", "supplier", "purchaseOrders", "purchaseOrder",
		"purchaseOrderLines", "purchaseOrderLine", "users", "user", "teams", "team", "apiKeys", "currentUser", "me"} {
		if schema.Query.Fields.ForName(name) == nil {
			t.Errorf("Query.%s is missing", name)
		}
	}
}

// TestWriteResponses: the response is written exactly as json.Marshal writes
// it, although the data is copied rather than re-encoded.
func TestWriteResponses(t *testing.T) {
	t.Parallel()
	// Characters that json.Marshal escapes, as the executor writes them:
	// unescaped.
	data := json.RawMessage(`{"parts":{"edges":[{"node":{"description":"<b>Nuts & bolts</b>","note":"a` + "\u2028b\u2029c" + `","id":1}}]}}`)
	plain := json.RawMessage(`{"currentUser":{"id":7}}`)
	errs := gqlerror.List{codedError(ion.ENOTFOUND, "part 9 not found.")}
	ext := map[string]any{"cost": 3}
	for _, tc := range []struct {
		name      string
		responses []*response
		batch     bool
	}{
		{"data", []*response{{Data: plain}}, false},
		{"escaped data", []*response{{Data: data}}, false},
		{"line separators only", []*response{{Data: json.RawMessage("{\"note\":\"a\u2028b\u2029c\"}")}}, false},
		{"errors only", []*response{{Errors: errs}}, false},
		{"errors and data", []*response{{Errors: errs, Data: json.RawMessage(`null`)}}, false},
		{"extensions only", []*response{{Extensions: ext}}, false},
		{"everything", []*response{{Errors: errs, Data: data, Extensions: ext}}, false},
		{"errors and extensions", []*response{{Errors: errs, Extensions: ext}}, false},
		{"empty", []*response{{}}, false},
		{"batch", []*response{{Data: data}, {Errors: errs}, {Data: plain, Extensions: ext}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var v any = tc.responses[0]
			if tc.batch {
				v = tc.responses
			}
			want, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			writeResponses(w, tc.responses, tc.batch)
			if got := w.Body.String(); got != string(want) {
				t.Errorf("got  %s\nwant %s", got, want)
			}
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json; charset=utf-8" {
				t.Errorf("HTTP %d, Content-Type %q", w.Code, w.Header().Get("Content-Type"))
			}
		})
	}
}
