package scrub

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/ionbox/ionbox/ion"
)

// Plan applies a Policy under one secret key: it is the ion.ScrubPlan of
// one snapshot. Its methods are safe for concurrent use.
type Plan struct {
	policy *Policy
	key    []byte
	macs   sync.Pool // of hash.Hash (HMAC-SHA256 under key)
	// attrActions memoizes the attribute action by table, key and type:
	// matching the key against every glob is most of a row's cost, and an
	// organization has few distinct keys.
	attrActions sync.Map // attrKey → string
}

type attrKey struct{ table, key, typ string }

func (p *Plan) attributeAction(table, key, typ string) string {
	k := attrKey{table, key, typ}
	if act, ok := p.attrActions.Load(k); ok {
		return act.(string)
	}
	act := p.policy.Attributes.attributeAction(table, key, typ)
	p.attrActions.Store(k, act)
	return act
}

var _ ion.ScrubPlan = (*Plan)(nil)

// NeverCopied are the tenant tables a snapshot leaves behind whatever the
// policy says: webhook receivers hold shared secrets and URLs of production
// consumers, their deliveries hold production payloads, and idempotency
// records hold production answers. None of them is business data a sandbox
// needs, and copying them could send production events to a sandbox's
// receivers.
var NeverCopied = []string{
	"webhook_receivers", "webhook_subscriptions", "webhook_events", "webhook_deliveries",
	"idempotency_steps", "idempotency_responses",
}

// Omits implements ion.ScrubPlan.
func (p *Plan) Omits(table string) bool { return slices.Contains(NeverCopied, table) }

// NewPlan returns the plan of policy under a new random 32-byte key, which
// only the plan holds: pseudonyms cannot be recomputed once it is gone.
func NewPlan(policy *Policy) *Plan {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails (Go 1.24+)
	return NewPlanWithKey(policy, key)
}

// NewPlanWithKey is NewPlan with a given key, for tests that compare
// pseudonyms.
func NewPlanWithKey(policy *Policy, key []byte) *Plan {
	p := &Plan{policy: policy, key: append([]byte(nil), key...)}
	p.macs.New = func() any { return hmac.New(sha256.New, p.key) }
	return p
}

// Rule returns the rule of table.column; ok is false if the policy has
// none.
func (p *Plan) Rule(table, column string) (ion.ColumnRule, bool) {
	act, ok := p.policy.Tables[table][column]
	if !ok {
		return ion.ColumnRule{}, false
	}
	switch act {
	case ActKeep:
		return ion.ColumnRule{Keep: true}, true
	case ActCost:
		if p.policy.Costs == "keep" {
			return ion.ColumnRule{Keep: true}, true
		}
		return ion.ColumnRule{
			Scrub: func(any, string) any { return nil },
			Check: func(v any, _ string) bool { return v == nil },
		}, true
	case ActEmptyList:
		return ion.ColumnRule{
			Scrub: func(v any, _ string) any {
				if v == nil {
					return nil
				}
				return "[]"
			},
			Check: func(v any, _ string) bool { return v == nil || v == "[]" },
		}, true
	case ActAttributes:
		return ion.ColumnRule{
			Scrub: func(v any, _ string) any { return p.attributes(table, v) },
			Check: func(v any, _ string) bool { return p.checkAttributes(table, v) },
		}, true
	case ActFieldValue:
		return ion.ColumnRule{
			Aux:   "type",
			Scrub: func(v any, typ string) any { return p.fieldValue(v, typ) },
			Check: func(v any, typ string) bool { return p.checkFieldValue(v, typ) },
		}, true
	}
	return ion.ColumnRule{
		Scrub: func(v any, _ string) any { return p.value(act, v) },
		Check: func(v any, _ string) bool { return checkValue(act, v) },
	}, true
}

// value applies a value action to a column value (nil, string or other).
func (p *Plan) value(act string, v any) any {
	s, ok := v.(string)
	if !ok {
		return v // NULL stays NULL; a text column holds nothing else
	}
	return p.Pseudonym(act, s)
}

// Pseudonym returns what act makes of s: s itself for keep, "" for remove,
// and "" for "" under every action.
func (p *Plan) Pseudonym(act, s string) string {
	if s == "" || act == ActKeep {
		return s
	}
	switch act {
	case ActRemove:
		return ""
	case ActName:
		h := p.mac(act, s)
		return givenNames[h[0]%byte(len(givenNames))] + " " + familyNames[h[1]%byte(len(familyNames))]
	case ActEmail:
		h := p.mac(act, s)
		return strings.ToLower(givenNames[h[0]%byte(len(givenNames))]+"."+familyNames[h[1]%byte(len(familyNames))]) +
			"." + hex.EncodeToString(h[2:10]) + "@example.invalid"
	case ActCompany:
		h := p.mac(act, s)
		return companyWords[h[0]%byte(len(companyWords))] + " " + companyNouns[h[1]%byte(len(companyNouns))] + " " +
			companySuffixes[h[2]%byte(len(companySuffixes))] + " " + hex.EncodeToString(h[3:5])
	}
	if doc, ok := jsonDocument(s); ok {
		return p.jsonText(doc)
	}
	return p.text(s)
}

// mac is HMAC-SHA256(key, act || 0 || s): the action is part of the input
// so that a name and an email of the same text are unrelated.
func (p *Plan) mac(act, s string) [32]byte {
	m := p.macs.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(act))
	m.Write([]byte{0})
	m.Write([]byte(s))
	var out [32]byte
	m.Sum(out[:0])
	p.macs.Put(m)
	return out
}

// maxTextWords caps placeholder text: a long text becomes 40 words.
const maxTextWords = 40

// text is placeholder text with as many words as s (1 to maxTextWords),
// chosen by the keyed hash of s, capitalised and ending in a full stop.
func (p *Plan) text(s string) string {
	n := min(max(len(strings.Fields(s)), 1), maxTextWords)
	h := p.mac(ActText, s)
	var b strings.Builder
	b.Grow(n * 8)
	block := h
	for i := range n {
		if i > 0 && i%32 == 0 {
			// More words than hash bytes: extend the hash by counter.
			var c [4]byte
			binary.BigEndian.PutUint32(c[:], uint32(i))
			block = sha256.Sum256(append(h[:], c[:]...))
		}
		w := loremWords[block[i%32]]
		if i == 0 {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		} else {
			b.WriteByte(' ')
			b.WriteString(w)
		}
	}
	b.WriteByte('.')
	return b.String()
}

var (
	emailPattern   = regexp.MustCompile(`^[a-z]+\.[a-z]+\.[0-9a-f]{16}@example\.invalid$`)
	companyPattern = regexp.MustCompile(`^(\S+) (\S+) (\S+) [0-9a-f]{4}$`)
)

// checkValue reports whether v is a value the action can produce.
func checkValue(act string, v any) bool {
	s, ok := v.(string)
	if !ok {
		return v == nil
	}
	if s == "" || act == ActKeep {
		return true
	}
	switch act {
	case ActRemove:
		return false
	case ActName:
		given, family, ok := strings.Cut(s, " ")
		return ok && givenSet[given] && familySet[family]
	case ActEmail:
		return emailPattern.MatchString(s)
	case ActCompany:
		m := companyPattern.FindStringSubmatch(s)
		return m != nil && companyWordSet[m[1]] && companyNounSet[m[2]] && companySuffixSet[m[3]]
	}
	if doc, ok := jsonDocument(s); ok {
		return checkJSONText(doc)
	}
	return checkText(s)
}

func checkText(s string) bool {
	body, ok := strings.CutSuffix(s, ".")
	if !ok || body == "" {
		return false
	}
	words := strings.Split(body, " ")
	if len(words) > maxTextWords {
		return false
	}
	first := []rune(words[0])
	first[0] = unicode.ToLower(first[0])
	words[0] = string(first)
	for _, w := range words {
		if !loremSet[w] {
			return false
		}
	}
	return true
}

// fieldValue scrubs a run step field's JSON value by the field's type.
func (p *Plan) fieldValue(v any, typ string) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	act := p.fieldAction(typ)
	switch act {
	case ActKeep:
		return s
	case ActRemove:
		return nil // no value
	}
	var str string
	if json.Unmarshal([]byte(s), &str) != nil {
		// Not a JSON string (a signoff's true, a null): nothing to hide.
		// Anything else is no value the API can have written; drop it.
		if s == "true" || s == "false" || s == "null" {
			return s
		}
		return nil
	}
	out, _ := json.Marshal(p.Pseudonym(act, str))
	return string(out)
}

func (p *Plan) checkFieldValue(v any, typ string) bool {
	s, ok := v.(string)
	if !ok {
		return v == nil
	}
	act := p.fieldAction(typ)
	switch act {
	case ActKeep:
		return true
	case ActRemove:
		return false
	}
	var str string
	if json.Unmarshal([]byte(s), &str) != nil {
		return s == "true" || s == "false" || s == "null"
	}
	return checkValue(act, str)
}

func (p *Plan) fieldAction(typ string) string {
	if act, ok := p.policy.FieldValues[strings.ToUpper(typ)]; ok {
		return act
	}
	return p.policy.FieldValues["default"]
}

// attribute is ion.Attribute as the stores encode it.
type attribute struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

// attributes scrubs a JSON list of custom attributes of a row of table.
// A value that is not such a list cannot be checked, so it becomes '[]'.
func (p *Plan) attributes(table string, v any) any {
	s, ok := v.(string)
	if !ok || s == "[]" {
		return v
	}
	attrs, ok := parseAttributes(s)
	if !ok {
		return "[]"
	}
	if len(attrs) == 0 {
		return s
	}
	for i, a := range attrs {
		attrs[i].Value = p.attributeValue(table, a)
	}
	return encodeAttributes(attrs)
}

func (p *Plan) attributeValue(table string, a attribute) string {
	act := p.attributeAction(table, a.Key, a.Type)
	if act == ActKeep && p.policy.Attributes.RemoveLinks && looksLikeLink(a.Value) {
		return ""
	}
	return p.Pseudonym(act, a.Value)
}

func (p *Plan) checkAttributes(table string, v any) bool {
	s, ok := v.(string)
	if !ok {
		return v == nil
	}
	if s == "[]" {
		return true
	}
	attrs, ok := parseAttributes(s)
	if !ok {
		return false
	}
	for _, a := range attrs {
		act := p.attributeAction(table, a.Key, a.Type)
		if act == ActKeep {
			if p.policy.Attributes.RemoveLinks && looksLikeLink(a.Value) {
				return false
			}
			continue
		}
		if !checkValue(act, a.Value) {
			return false
		}
	}
	return true
}

var (
	linkPattern      = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://\S`)
	emailLikePattern = regexp.MustCompile(`\S@\S+\.\S`)
)

// looksLikeLink reports whether a kept value holds a URL or an email
// address, which removeLinks drops whatever the key says.
func looksLikeLink(s string) bool {
	return linkPattern.MatchString(s) || emailLikePattern.MatchString(s) || strings.HasPrefix(strings.ToLower(s), "www.")
}

// Rich text is stored as JSON (issue conditions hold Slate documents:
// [{"type":"paragraph","children":[{"text":"…"}]}]). Replacing it with
// plain words would break clients that parse it, so text in a JSON
// document keeps its structure: every string value is replaced except those
// under "type", which name node kinds, and numbers, booleans and keys stay.

// jsonDocument parses s if it is a JSON object or array.
func jsonDocument(s string) (any, bool) {
	if s[0] != '[' && s[0] != '{' {
		return nil, false
	}
	var doc any
	if json.Unmarshal([]byte(s), &doc) != nil {
		return nil, false
	}
	return doc, true
}

func (p *Plan) jsonText(doc any) string {
	var walk func(v any, key string) any
	walk = func(v any, key string) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e, k)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e, key)
			}
		case string:
			if key != "type" {
				return p.Pseudonym(ActText, x)
			}
		}
		return v
	}
	out, _ := json.Marshal(walk(doc, ""))
	return string(out)
}

func checkJSONText(doc any) bool {
	var walk func(v any, key string) bool
	walk = func(v any, key string) bool {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if !walk(e, k) {
					return false
				}
			}
		case []any:
			for _, e := range x {
				if !walk(e, key) {
					return false
				}
			}
		case string:
			return key == "type" || x == "" || checkText(x)
		}
		return true
	}
	return walk(doc, "")
}
