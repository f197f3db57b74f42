package graphql

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// introspectionQuery is graphql-js's getIntrospectionQuery(), what GraphiQL,
// Apollo and codegen tools send.
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }`

// nested returns a parts query whose deepest field is at depth.
func nested(depth int) string {
	// parts(1) edges(2) node(3), then mbom/part pairs, then id.
	inner := "id"
	for d := depth - 1; d > 3; d-- {
		if (d-3)%2 == 1 {
			inner = "mbom { " + inner + " }"
		} else {
			inner = "part { " + inner + " }"
		}
	}
	return "{ parts(first: 1) { edges { node { " + inner + " } } } }"
}

// TestLimitsBeforeResolvers checks every operation limit, and that a request
// over one never reaches a resolver: the store is never even opened.
func TestLimitsBeforeResolvers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	aliases := func(n int) string {
		var sb strings.Builder
		sb.WriteString("{ ")
		for i := range n {
			fmt.Fprintf(&sb, "a%d: parts(first: 1) { totalCount } ", i)
		}
		sb.WriteString("}")
		return sb.String()
	}
	for _, c := range []struct {
		name, query, variables string
		wantCode, wantMessage  string
	}{
		{"depth 12 is allowed", nested(12), "", "", ""},
		{"depth 13", nested(13), "", ion.EQUERYTOODEEP, "Query depth 13 is over the limit of 12"},
		{"15 aliases are allowed", aliases(15), "", "", ""},
		{"16 aliases", aliases(16), "", ion.ETOOMANYALIASES, "Query uses 16 aliases; the limit is 15"},
		{"page size literal", `{ parts(first: 1001) { totalCount } }`, "", ion.EPAGETOOLARGE, "first: 1001 is over the page size limit of 1000"},
		{"page size variable", `query($n: Int) { parts(last: $n) { totalCount } }`, `{"n": 5000}`, ion.EPAGETOOLARGE, "last: 5000 is over the page size limit of 1000"},
		{"negative page size variable", `query($n: Int) { parts(first: $n) { totalCount } }`, `{"n": -3}`, ion.EVALIDATION, "first: must not be negative (got -3)"},
		{"complexity", `{ parts { edges { node { mbom { part { mbom { part { partsInventory { id } } } } } } } } }`, "", ion.EQUERYTOOCOMPLEX, "over the limit of 1000000"},
		{"complexity through fragments", `query { parts { edges { node { ...P } } } } fragment P on Part { mbom { part { mbom { part { runs { id } } } } } }`, "", ion.EQUERYTOOCOMPLEX, "over the limit of 1000000"},
		{"the vendor's aBOM export stays within limits", `query ($after: String) { partInventories(first: 50, after: $after) { edges { node { part { partNumber description } serialNumber lotNumber buildRequirements { abomInstallations { quantity partInventory { part { partNumber description } serialNumber lotNumber } } } } } pageInfo { endCursor hasNextPage } } }`, "", "", ""},
		{"introspection is exempt", introspectionQuery, "", "", ""},
		{"huge string in a variable", `mutation($input: CreatePartInput!) { createPart(input: $input) { part { id } } }`,
			`{"input": {"partNumber": "P-1", "description": "` + strings.Repeat("x", 70000) + `"}}`, ion.EVALIDATION,
			"$input.description: the value is 70000 bytes long; the limit for one value is 65536 bytes"},
		{"huge string literal", `mutation { createPart(input: {partNumber: "` + strings.Repeat("y", 66000) + `"}) { part { id } } }`, "", ion.EVALIDATION,
			"createPart(input).partNumber: the value is 66000 bytes long"},
		{"a long string within the limit is fine", `query($f: PartsInputFilters) { parts(filters: $f) { totalCount } }`,
			`{"f": {"partNumber": {"eq": "` + strings.Repeat("z", 60000) + `"}}}`, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var vars any
			if c.variables != "" {
				vars = decodeJSON(t, c.variables)
			}
			b.stores.calls()
			saved := b.t
			b.t = t
			r := b.post(c.query, vars)
			b.t = saved
			if r.status != http.StatusOK || r.code() != c.wantCode {
				t.Fatalf("status %d code %q, want 200 %q: %s", r.status, r.code(), c.wantCode, r.raw)
			}
			if c.wantCode == "" {
				return
			}
			if !strings.Contains(r.Errors[0].Message, c.wantMessage) {
				t.Errorf("message %q, want it to contain %q", r.Errors[0].Message, c.wantMessage)
			}
			if strings.Contains(string(r.raw), `"data"`) {
				t.Errorf("answer %s has data; nothing ran, so it must have none", r.raw)
			}
			if calls := b.stores.calls(); len(calls) != 0 {
				t.Errorf("store calls %v: a request over a limit reached a resolver", calls)
			}
		})
	}
}

func TestIntrospection(t *testing.T) {
	t.Parallel()
	b := setup(t)
	data := b.mustData(introspectionQuery, nil)
	schema := data["__schema"].(map[string]any)
	names := map[string]bool{}
	for _, ty := range schema["types"].([]any) {
		names[ty.(map[string]any)["name"].(string)] = true
	}
	for _, want := range []string{"Part", "PartsInputFilters", "RunsInputFilters", "PartInventoriesInputFilters", "ProceduresInputFilters",
		"LocationsInputFilters", "SuppliersInputFilters", "PurchaseOrdersInputFilters", "UserInputFilters", "StepsFilters",
		"MBomItemsInputFilters", "IssuesInputFilters", "UnitsOfMeasurementInputFilters", "TeamsInputFilters",
		"PurchaseOrderLinesInputFilters", "RunStepsInputFilters", "BuildRequirementsInputFilters", "AbomInstallationsInputFilters",
		"RunSortEnum", "PartSortEnum", "PartInventorySortEnum", "LocationSortEnum", "UserSortEnum", "StepSortEnum",
		"UnitOfMeasurementSortEnum", "Proceduretypeenum", "CreateABomInstallationInput", "RunCreateInput", "PartCreateInput",
		"RunUpdateInput", "GenericScalar", "DateTime", "Decimal", "APIKeyInput"} {
		if !names[want] {
			t.Errorf("type %s missing from introspection", want)
		}
	}
	typeData := b.mustData(`{ __type(name: "Part") { fields { name } } }`, nil)
	if !strings.Contains(fmt.Sprint(typeData), "_etag") {
		t.Errorf("__type(Part) lacks _etag: %v", typeData)
	}
}

func TestBodyAndBatchLimits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	huge := `{"query": "{ currentUser { id } }", "variables": {"x": "` + strings.Repeat("a", DefaultMaxBodyBytes) + `"}}`
	r := b.postRaw("application/json", []byte(huge))
	if r.status != http.StatusRequestEntityTooLarge || r.code() != ion.EBODYTOOLARGE {
		t.Errorf("huge body: status %d code %q, want 413 %s", r.status, r.code(), ion.EBODYTOOLARGE)
	}
	// A huge string in a mutation: refused before anything is written.
	hugeMutation := fmt.Sprintf(`{"query": "mutation($p: String!) { createPart(input: {partNumber: $p}) { part { id } } }", "variables": {"p": %q}}`, strings.Repeat("x", DefaultMaxBodyBytes+10))
	r = b.postRaw("application/json", []byte(hugeMutation))
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("huge string: status %d, want 413", r.status)
	}

	ops := make([]string, 11)
	for i := range ops {
		ops[i] = `{"query": "{ currentUser { id } }"}`
	}
	r = b.postRaw("application/json", []byte("["+strings.Join(ops, ",")+"]"))
	if r.status != http.StatusBadRequest || r.code() != ion.EBATCHTOOLARGE || !strings.Contains(r.Errors[0].Message, "11 operations; the limit is 10") {
		t.Errorf("batch of 11: status %d body %s", r.status, r.raw)
	}
	if calls := b.stores.calls(); calls["Tenant"] != 0 || calls["CreatePart"] != 0 {
		t.Errorf("store calls %v after refused requests", calls)
	}
}

// TestTimeout: a store call that ignores its context still cannot hold the
// request past the timeout.
func TestTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{limits: Limits{Timeout: 150 * time.Millisecond}})
	release := make(chan struct{})
	exited := make(chan struct{}, 1)
	b.stores.setHook(func(ctx context.Context, method string) error {
		<-release // ignores ctx on purpose
		select {
		case exited <- struct{}{}:
		default:
		}
		return nil
	})
	start := time.Now()
	r := b.post(`{ parts { edges { node { id } } } }`, nil)
	elapsed := time.Since(start)
	close(release)
	// The abandoned execution finishes before the store is closed.
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the blocked store call never returned")
	}
	if r.status != http.StatusGatewayTimeout || r.code() != ion.ETIMEOUT {
		t.Fatalf("status %d code %q, want 504 TIMEOUT: %s", r.status, r.code(), r.raw)
	}
	if !strings.Contains(r.Errors[0].Message, "longer than 150ms") {
		t.Errorf("message %q does not name the limit", r.Errors[0].Message)
	}
	if elapsed > 2*time.Second {
		t.Errorf("answered after %v; want about the 150ms timeout", elapsed)
	}
}

func TestLimitsValidate(t *testing.T) {
	t.Parallel()
	if _, err := NewHandler(Config{}); err == nil || !strings.Contains(err.Error(), "Stores") {
		t.Errorf("NewHandler without stores: %v", err)
	}
	if err := (Limits{MaxDepth: -1}).validate(); err == nil || !strings.Contains(err.Error(), "MaxDepth") {
		t.Errorf("negative MaxDepth: %v", err)
	}
	l := Limits{}.withDefaults()
	if l.MaxDepth != 12 || l.MaxAliases != 15 || l.MaxPageSize != 1000 || l.MaxBodyBytes != 1<<20 || l.MaxBatch != 10 || l.Timeout != 30*time.Second || l.MaxComplexity != DefaultMaxComplexity {
		t.Errorf("defaults %+v", l)
	}
}
