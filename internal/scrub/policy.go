package scrub

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
)

// defaultPolicy is policy.v1.yaml, the policy a snapshot uses unless the
// server is given another file. Its comments document every decision.
//
//go:embed policy.v1.yaml
var defaultPolicy []byte

// DefaultPolicyYAML returns the text of the default policy (to start an
// override from).
func DefaultPolicyYAML() []byte { return slices.Clone(defaultPolicy) }

// Column actions (see policy.v1.yaml).
const (
	ActKeep       = "keep"
	ActText       = "text"
	ActName       = "name"
	ActEmail      = "email"
	ActCompany    = "company"
	ActRemove     = "remove"
	ActEmptyList  = "empty-list"
	ActAttributes = "attributes"
	ActFieldValue = "field-value"
	ActCost       = "cost"
)

// valueActions are the actions for one value (an attribute's, a field's).
var valueActions = []string{ActKeep, ActText, ActName, ActEmail, ActCompany, ActRemove}

var columnActions = append(slices.Clone(valueActions), ActEmptyList, ActAttributes, ActFieldValue, ActCost)

// Policy is a parsed scrub policy file.
type Policy struct {
	Version     int                          `yaml:"version"`
	Costs       string                       `yaml:"costs"`
	Tables      map[string]map[string]string `yaml:"tables"`
	FieldValues map[string]string            `yaml:"fieldValues"`
	Attributes  AttributePolicy              `yaml:"attributes"`
}

// AttributePolicy says which custom attribute values are sensitive.
type AttributePolicy struct {
	Rules       []AttributeRule   `yaml:"rules"`
	RemoveLinks bool              `yaml:"removeLinks"`
	Default     string            `yaml:"default"`
	Tables      map[string]string `yaml:"tables"`
}

// AttributeRule applies Action to the attributes whose key matches one of
// Keys (case-insensitive path.Match globs) or whose type is one of Types.
type AttributeRule struct {
	Action string   `yaml:"action"`
	Keys   []string `yaml:"keys"`
	Types  []string `yaml:"types"`
}

// DefaultPolicy returns the embedded policy.v1.yaml.
func DefaultPolicy() *Policy {
	p, err := ParsePolicy(defaultPolicy)
	if err != nil {
		panic(fmt.Sprintf("scrub: the embedded policy.v1.yaml is invalid: %v", err)) // fixed at compile time; a test parses it
	}
	return p
}

// LoadPolicy reads and checks a policy file.
func LoadPolicy(file string) (*Policy, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("scrub policy: %w", err)
	}
	p, err := ParsePolicy(data)
	if err != nil {
		return nil, fmt.Errorf("scrub policy %s: %w", file, err)
	}
	return p, nil
}

// ParsePolicy parses and checks a policy. Unknown fields, unknown actions
// and a version other than 1 are errors that say what to fix.
func ParsePolicy(data []byte) (*Policy, error) {
	var p Policy
	if err := yaml.UnmarshalWithOptions(data, &p, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("not a valid policy: %w", err)
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

func (p *Policy) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if p.Version != 1 {
		bad("version is %d; this ionbox reads version 1", p.Version)
	}
	if p.Costs != "keep" && p.Costs != "remove" {
		bad("costs is %q; use keep or remove", p.Costs)
	}
	if len(p.Tables) == 0 {
		bad("tables is empty; give an action for every text column of every table")
	}
	for _, t := range sortedKeys(p.Tables) {
		for _, c := range sortedKeys(p.Tables[t]) {
			if a := p.Tables[t][c]; !slices.Contains(columnActions, a) {
				bad("tables.%s.%s is %q; use one of %s", t, c, a, strings.Join(columnActions, ", "))
			}
		}
	}
	for _, k := range sortedKeys(p.FieldValues) {
		if a := p.FieldValues[k]; !slices.Contains(valueActions, a) {
			bad("fieldValues.%s is %q; use one of %s", k, a, strings.Join(valueActions, ", "))
		}
	}
	if _, ok := p.FieldValues["default"]; !ok {
		bad("fieldValues.default is missing; say what happens to field types not listed (e.g. keep)")
	}
	a := p.Attributes
	if !slices.Contains(valueActions, a.Default) {
		bad("attributes.default is %q; use one of %s", a.Default, strings.Join(valueActions, ", "))
	}
	for i, r := range a.Rules {
		if !slices.Contains(valueActions, r.Action) {
			bad("attributes.rules[%d].action is %q; use one of %s", i, r.Action, strings.Join(valueActions, ", "))
		}
		if len(r.Keys) == 0 && len(r.Types) == 0 {
			bad("attributes.rules[%d] has neither keys nor types, so it matches nothing", i)
		}
		for _, k := range r.Keys {
			if _, err := path.Match(strings.ToLower(k), ""); err != nil {
				bad("attributes.rules[%d].keys: %q is not a valid glob pattern", i, k)
			}
		}
	}
	for _, t := range sortedKeys(a.Tables) {
		if act := a.Tables[t]; !slices.Contains(valueActions, act) {
			bad("attributes.tables.%s is %q; use one of %s", t, act, strings.Join(valueActions, ", "))
		}
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// attributeAction is the action for an attribute of table with key and typ.
func (a *AttributePolicy) attributeAction(table, key, typ string) string {
	lk, ut := strings.ToLower(key), strings.ToUpper(typ)
	for _, r := range a.Rules {
		for _, t := range r.Types {
			if strings.ToUpper(t) == ut {
				return r.Action
			}
		}
		for _, k := range r.Keys {
			if ok, _ := path.Match(strings.ToLower(k), lk); ok {
				return r.Action
			}
		}
	}
	if act, ok := a.Tables[table]; ok {
		return act
	}
	return a.Default
}
