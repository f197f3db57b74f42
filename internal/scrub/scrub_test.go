package scrub

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestDefaultPolicyParses(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	if p.Version != 1 || p.Costs != "keep" {
		t.Fatalf("version %d, costs %q", p.Version, p.Costs)
	}
}

// TestPolicyCoversTheTenantSchema reads both stores' tenant migrations and
// checks that the default policy names exactly their tables' text columns
// (plus cost): every text column has a decision, and no rule is stale.
func TestPolicyCoversTheTenantSchema(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	table := regexp.MustCompile(`(?s)CREATE TABLE (\w+) \((.*?)\n\)`)
	column := regexp.MustCompile(`(?m)^\s+(\w+)\s+(TEXT|DOUBLE PRECISION|REAL)\b(.*)$`)
	for _, dir := range []string{"../sqlite/migrations/tenant", "../postgres/migrations/tenant"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no migrations in %s (%v)", dir, err)
		}
		var all []byte
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		file, sql := dir, all
		seen := map[string]bool{}
		for _, m := range table.FindAllStringSubmatch(string(sql), -1) {
			if slices.Contains(NeverCopied, m[1]) {
				continue // never copied, so no column needs a rule
			}
			for _, c := range column.FindAllStringSubmatch(m[2], -1) {
				name := m[1] + "." + c[1]
				act, ok := p.Tables[m[1]][c[1]]
				if strings.Contains(c[3], "GENERATED") {
					continue
				}
				if c[2] == "TEXT" && !ok {
					t.Errorf("%s: text column %s has no action in policy.v1.yaml", file, name)
				}
				if c[2] != "TEXT" && ok && act != ActCost {
					t.Errorf("%s: number column %s has action %q; only cost applies to numbers", file, name, act)
				}
				seen[name] = true
			}
		}
		for tb, cols := range p.Tables {
			for c := range cols {
				if !seen[tb+"."+c] {
					t.Errorf("policy.v1.yaml has a rule for %s.%s, which %s does not have", tb, c, file)
				}
			}
		}
	}
}

func TestParsePolicyErrors(t *testing.T) {
	t.Parallel()
	base := string(defaultPolicy)
	cases := []struct {
		name, from, to, want string
	}{
		{"version", "version: 1", "version: 2", "version is 2"},
		{"costs", "\ncosts: keep\n", "\ncosts: hide\n", `costs is "hide"`},
		{"column action", "description: text        # free text; may", "description: scramble  # free text; may", `tables.parts.description is "scramble"`},
		{"unknown field", "\ncosts: keep\n", "\ncosts: keep\ncolour: red\n", "colour"},
		{"attribute action", "default: keep\n  # Tables", "default: shred\n  # Tables", `attributes.default is "shred"`},
		{"field default", "  default: keep              # NUMBER", "  other: keep              # NUMBER", "fieldValues.default is missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(base, c.from) {
				t.Fatalf("the default policy has no %q to change", c.from)
			}
			_, err := ParsePolicy([]byte(strings.Replace(base, c.from, c.to, 1)))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v; want one containing %q", err, c.want)
			}
		})
	}
}

// TestPseudonyms: deterministic under one key, different under another,
// never the input, and accepted by Check; the empty string and NULL stay.
func TestPseudonyms(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	a, a2, b := NewPlanWithKey(p, []byte("key-a")), NewPlanWithKey(p, []byte("key-a")), NewPlanWithKey(p, []byte("key-b"))
	inputs := []string{"Jane Doe", "jane@initech.example", "Initech GmbH", "The unit was dropped by Bob near line 4.", "qz"}
	for _, act := range []string{ActName, ActEmail, ActCompany, ActText} {
		for _, in := range inputs {
			got := a.Pseudonym(act, in)
			if got != a2.Pseudonym(act, in) {
				t.Errorf("%s(%q) differs under the same key", act, in)
			}
			if got == b.Pseudonym(act, in) {
				t.Errorf("%s(%q) = %q under two keys", act, in, got)
			}
			if strings.Contains(got, in) || got == "" {
				t.Errorf("%s(%q) = %q", act, in, got)
			}
			if !checkValue(act, got) {
				t.Errorf("Check refuses %s pseudonym %q", act, got)
			}
			if checkValue(act, in) && act != ActText {
				t.Errorf("Check accepts the source value %q as a %s pseudonym", in, act)
			}
		}
		if a.Pseudonym(act, "") != "" {
			t.Errorf("%s of the empty string is not empty", act)
		}
	}
	if !checkText(a.Pseudonym(ActText, strings.Repeat("word ", 100))) || len(strings.Fields(a.Pseudonym(ActText, strings.Repeat("word ", 100)))) != maxTextWords {
		t.Error("long text is not capped at maxTextWords words")
	}
	// Emails stay distinct for distinct inputs (uniqueness holds).
	seen := map[string]bool{}
	for i := range 20000 {
		e := a.Pseudonym(ActEmail, "user"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+itoa(i))
		if seen[e] {
			t.Fatalf("two emails became %q", e)
		}
		seen[e] = true
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestColumnRules runs the rules the stores apply, on values they hold.
func TestColumnRules(t *testing.T) {
	t.Parallel()
	p := NewPlan(DefaultPolicy())
	attrs := `[{"key":"contactEmail","type":"STRING","value":"jane@initech.example"},{"key":"Buyer Name","type":"STRING","value":"Jane Doe"},` +
		`{"key":"drawing","type":"FILE","value":"s3://bucket/x.pdf"},{"key":"color","type":"STRING","value":"blue"},` +
		`{"key":"ref","type":"STRING","value":"see https://intranet/x"},{"key":"terms","type":"STRING","value":"net 30"}]`
	cases := []struct {
		name, table, column string
		in                  any
		aux                 string
		keep                []string // substrings that must survive
		gone                []string // substrings that must not
	}{
		{"part attributes", "parts", "attributes", attrs, "", []string{`"blue"`, `"net 30"`, `"contactEmail"`}, []string{"jane", "Jane", "s3://", "https://"}},
		{"supplier attributes: all sensitive", "suppliers", "attributes", attrs, "", []string{`"contactEmail"`, `"color"`}, []string{"net 30", "jane", `"blue"`}},
		{"signoff", "run_step_fields", "value", `"Jane Doe"`, "SIGNOFF", nil, []string{"Jane"}},
		{"signoff true", "run_step_fields", "value", `true`, "SIGNOFF", []string{"true"}, nil},
		{"string field", "run_step_fields", "value", `"dropped by Bob"`, "STRING", nil, []string{"Bob"}},
		{"number field", "run_step_fields", "value", `42.5`, "NUMBER", []string{"42.5"}, nil},
		{"team members", "teams", "user_ids", `[1,2]`, "", []string{"[]"}, []string{"1"}},
		{"issue cause", "issues", "cause_condition", "Bob dropped it", "", nil, []string{"Bob"}},
		{"supplier name", "suppliers", "name", "Initech GmbH", "", nil, []string{"Initech"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r, ok := p.Rule(c.table, c.column)
			if !ok || r.Keep {
				t.Fatalf("no scrub rule for %s.%s", c.table, c.column)
			}
			out := r.Scrub(c.in, c.aux)
			s, _ := out.(string)
			for _, k := range c.keep {
				if !strings.Contains(s, k) {
					t.Errorf("%v lost %q", out, k)
				}
			}
			for _, g := range c.gone {
				if strings.Contains(s, g) {
					t.Errorf("%v still holds %q", out, g)
				}
			}
			if !r.Check(out, c.aux) {
				t.Errorf("Check refuses the rule's own output %v", out)
			}
			if r.Scrub(nil, c.aux) != nil {
				t.Error("NULL did not stay NULL")
			}
		})
	}
	// A FILE_ATTACHMENT value is removed, and the raw source fails Check.
	r, _ := p.Rule("run_step_fields", "value")
	if r.Scrub(`"file-7"`, "FILE_ATTACHMENT") != nil || r.Check(`"file-7"`, "FILE_ATTACHMENT") {
		t.Error("a file attachment id survived")
	}
	ra, _ := p.Rule("parts", "attributes")
	if ra.Check(attrs, "") {
		t.Error("Check accepts unscrubbed attributes")
	}
	if !bytes.Contains(DefaultPolicyYAML(), []byte("version: 1")) {
		t.Error("DefaultPolicyYAML is not the policy file")
	}
}

// TestAttributeJSON: the fast reader agrees with encoding/json, falls back
// for what it does not read, and what encodeAttributes writes is JSON that
// decodes to the same list.
func TestAttributeJSON(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`[]`,
		`[{"key":"a","type":"STRING","value":"x"}]`,
		`[{"key":"a","type":"STRING","value":"x"},{"key":"b","type":"","value":""}]`,
		`[{"key":"q","type":"STRING","value":"say \"hi\"\n\\ é"}]`,
		`[{"type":"STRING","key":"reordered","value":"v"}]`,
		`[ {"key":"spaced","type":"STRING","value":"v"} ]`,
		`[{"key":"ü<&>","type":"STRING","value":"日本"}]`,
	} {
		var want []attribute
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		got, ok := parseAttributes(in)
		if !ok || len(got) != len(want) {
			t.Fatalf("parseAttributes(%s) = %v, %v; want %v", in, got, ok, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("parseAttributes(%s)[%d] = %v; want %v", in, i, got[i], want[i])
			}
		}
		var round []attribute
		if enc := encodeAttributes(got); json.Unmarshal([]byte(enc), &round) != nil || len(round) != len(want) {
			t.Errorf("encodeAttributes wrote %s", enc)
		}
	}
	for _, bad := range []string{`nope`, `[{"key":1}]`, `{"key":"a"}`} {
		if _, ok := parseAttributes(bad); ok && bad != `[{"key":1}]` {
			t.Errorf("parseAttributes(%s) ok", bad)
		}
	}
}

// TestRichText: a Slate document keeps its structure and node types; its
// text is replaced.
func TestRichText(t *testing.T) {
	t.Parallel()
	p := NewPlan(DefaultPolicy())
	in := `[{"type":"paragraph","children":[{"text":"Bob dropped it","bold":true},{"type":"link","url":"https://intranet/x","children":[{"text":"photo"}]}]}]`
	r, _ := p.Rule("issues", "cause_condition")
	out, _ := r.Scrub(in, "").(string)
	var doc []map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc) != 1 || doc[0]["type"] != "paragraph" {
		t.Fatalf("scrubbed rich text %s lost its structure (%v)", out, err)
	}
	for _, gone := range []string{"Bob", "https://", "photo"} {
		if strings.Contains(out, gone) {
			t.Errorf("%s still holds %q", out, gone)
		}
	}
	if !strings.Contains(out, `"bold":true`) || !strings.Contains(out, `"type":"link"`) {
		t.Errorf("%s lost its marks or node types", out)
	}
	if !r.Check(out, "") || r.Check(in, "") {
		t.Error("Check does not tell scrubbed rich text from the source")
	}
}
