package generated

// This file is written by hand; gqlgen writes only generated.go here.

import (
	"io"

	"github.com/99designs/gqlgen/graphql"
)

// gqlgen writes an object's fields with a map of the aliases written so
// far, to skip a repeated alias, and quotes each alias character by
// character; for a page of 50 parts with their inventory that was a
// twentieth of the request. Aliases are GraphQL names, which need no
// escaping, and the executor merges fields of the same alias before they
// get here, so generated.go returns objectOf(fields, out) for each object
// (`go generate` rewrites the returns, see ../internal/plainfields), which
// writes such objects directly and any other the way gqlgen does.

// objectOf is the marshaler of an object whose selected fields are fields
// and whose values out holds.
func objectOf(fields []graphql.CollectedField, out *graphql.FieldSet) graphql.Marshaler {
	return object{fields: fields, out: out}
}

type object struct {
	fields []graphql.CollectedField
	out    *graphql.FieldSet
}

var (
	openBrace  = []byte{'{'}
	closeBrace = []byte{'}'}
	quote      = []byte{'"'}
	nextField  = []byte{',', '"'}
	nameEnd    = []byte{'"', ':'}
)

func (o object) MarshalGQL(w io.Writer) {
	if len(o.fields) != len(o.out.Values) || !plainAliases(o.fields) {
		o.out.MarshalGQL(w)
		return
	}
	w.Write(openBrace)
	for i := range o.fields {
		if i == 0 {
			w.Write(quote)
		} else {
			w.Write(nextField)
		}
		io.WriteString(w, o.fields[i].Alias)
		w.Write(nameEnd)
		o.out.Values[i].MarshalGQL(w)
	}
	w.Write(closeBrace)
}

// plainAliases reports whether the aliases of fields are distinct names of
// letters, digits and underscores (what GraphQL allows), which gqlgen's
// writer would write unchanged and each once.
func plainAliases(fields []graphql.CollectedField) bool {
	if len(fields) > 32 {
		return false // not worth the quadratic check
	}
	for i, f := range fields {
		if f.Alias == "" {
			return false
		}
		for j := 0; j < len(f.Alias); j++ {
			c := f.Alias[j]
			if !(c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				return false
			}
		}
		for _, g := range fields[:i] {
			if g.Alias == f.Alias {
				return false
			}
		}
	}
	return true
}
