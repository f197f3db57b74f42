package scrub

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Custom attribute lists are the most common scrubbed value (a snapshot
// reads and writes one per part, inventory unit, run, ...), and
// encoding/json's reflection was most of a snapshot's CPU time. The stores
// write them in one shape, [{"key":"…","type":"…","value":"…"}, …], which
// parseAttributes reads directly; anything else (escapes, other fields,
// spacing) goes through encoding/json.

// parseAttributes decodes a JSON attribute list; ok is false if s is not
// one.
func parseAttributes(s string) (attrs []attribute, ok bool) {
	if a, ok := fastAttributes(s); ok {
		return a, true
	}
	if json.Unmarshal([]byte(s), &attrs) != nil {
		return nil, false
	}
	return attrs, true
}

// fastAttributes reads the stores' own shape without escapes; ok is false
// for anything else.
func fastAttributes(s string) ([]attribute, bool) {
	if strings.IndexByte(s, '\\') >= 0 || len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, false
	}
	rest := s[1 : len(s)-1]
	var out []attribute
	for rest != "" {
		if len(out) > 0 {
			if rest[0] != ',' {
				return nil, false
			}
			rest = rest[1:]
		}
		var a attribute
		var ok bool
		if rest, ok = strings.CutPrefix(rest, `{"key":"`); !ok {
			return nil, false
		}
		if a.Key, rest, ok = strings.Cut(rest, `","type":"`); !ok {
			return nil, false
		}
		if a.Type, rest, ok = strings.Cut(rest, `","value":"`); !ok {
			return nil, false
		}
		if a.Value, rest, ok = strings.Cut(rest, `"}`); !ok {
			return nil, false
		}
		if strings.ContainsAny(a.Key, `"`) || strings.ContainsAny(a.Type, `"`) || strings.ContainsAny(a.Value, `"`) {
			return nil, false
		}
		out = append(out, a)
	}
	return out, true
}

// encodeAttributes is the JSON list of attrs, in the stores' shape.
func encodeAttributes(attrs []attribute) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, a := range attrs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"key":`)
		writeJSONString(&b, a.Key)
		b.WriteString(`,"type":`)
		writeJSONString(&b, a.Type)
		b.WriteString(`,"value":`)
		writeJSONString(&b, a.Value)
		b.WriteByte('}')
	}
	b.WriteByte(']')
	return b.String()
}

func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
			i++
		case c < 0x20:
			const hex = "0123456789abcdef"
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
			i++
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b.WriteString(`\ufffd`)
			} else {
				b.WriteString(s[i : i+n])
			}
			i += n
		}
	}
	b.WriteByte('"')
}
