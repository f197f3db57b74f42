package graphql

import (
	"embed"
	"io/fs"
	"slices"
	"strings"
)

//go:embed schema/*.graphqls
var schemaFiles embed.FS

// SchemaSDL returns the schema in GraphQL SDL, as served at
// {base}/schema.graphql: the schema files, in name order.
func SchemaSDL() string {
	names, err := fs.Glob(schemaFiles, "schema/*.graphqls")
	if err != nil {
		panic(err) // the pattern is a constant
	}
	slices.Sort(names)
	var b strings.Builder
	for _, name := range names {
		data, err := schemaFiles.ReadFile(name)
		if err != nil {
			panic(err) // embedded files are always readable
		}
		b.Write(data)
		b.WriteString("\n")
	}
	return b.String()
}
