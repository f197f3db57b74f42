// Command plainfields rewrites gqlgen's generated executor so that a field
// read straight from a struct field (no resolver, no method: obj.X) first
// tries the generated package's marshalPlain (see
// internal/graphql/generated/plainfields.go), which marshals the value at
// once when nothing can go wrong with it, without the field context,
// context value, closures and middleware call that graphql.ResolveField
// makes for every field of every object; and so that objects are written by
// objectOf (generated/objects.go). It runs after gqlgen in
// `go generate ./internal/graphql/...`:
//
//	go run ./internal/plainfields generated/generated.go
//
// It fails if the file has nothing to rewrite, so that a gqlgen upgrade that
// changes the generated code is noticed instead of silently losing the
// rewrite.
package main

import (
	"fmt"
	"go/format"
	"os"
	"regexp"
	"strings"
)

var (
	// scalarContext is the field context function of a scalar field that
	// is neither a method nor a resolver.
	scalarContext = regexp.MustCompile(`(?m)^func \(ec \*executionContext\) (fieldContext_\w+)\(_ context\.Context, field graphql\.CollectedField\) \(fc \*graphql\.FieldContext, err error\) \{\n\treturn graphql\.NewScalarFieldContext\("\w+", field, false, false, "\w+"\)\n\}`)
	// structField is a field function that resolves obj.X with
	// graphql.ResolveField, no middleware and a marshal function. Groups:
	// 1 the signature, 2 the call, 3 the field context function, 4 obj.X,
	// 5 the marshal function, 6 whether the field is non-null.
	structField = regexp.MustCompile(`(?m)^(func \(ec \*executionContext\) _\w+\(ctx context\.Context, field graphql\.CollectedField, obj \*[\w.\[\]]+\) \(ret graphql\.Marshaler\) \{\n)` +
		`(\treturn graphql\.ResolveField\(\n\t\tctx,\n\t\tec\.OperationContext,\n\t\tfield,\n` +
		`\t\tfunc\(ctx context\.Context, field graphql\.CollectedField\) \(\*graphql\.FieldContext, error\) \{\n\t\t\treturn ec\.(fieldContext_\w+)\(ctx, field\)\n\t\t\},\n` +
		`\t\tfunc\(ctx context\.Context\) \(any, error\) \{\n\t\t\treturn (obj\.\w+), nil\n\t\t\},\n` +
		`\t\tnil,\n` +
		`\t\tfunc\(ctx context\.Context, selections ast\.SelectionSet, v [^)]+\) graphql\.Marshaler \{\n\t\t\treturn ec\.(marshal[^(\s]+)\(ctx, selections, v\)\n\t\t\},\n` +
		`\t\ttrue,\n\t\t(true|false),\n\t\)\n\})`)
)

// objectReturn ends the function that marshals an object; fields and out
// are its selected fields and their values.
const (
	objectReturn   = "\n\treturn out\n}\n"
	objectReturnTo = "\n\treturn objectOf(fields, out)\n}\n"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: plainfields generated.go")
		os.Exit(2)
	}
	if err := rewrite(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "plainfields:", err)
		os.Exit(1)
	}
}

func rewrite(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	src := string(raw)
	scalar := map[string]bool{}
	for _, m := range scalarContext.FindAllStringSubmatch(src, -1) {
		scalar[m[1]] = true
	}
	n := 0
	out := structField.ReplaceAllStringFunc(src, func(fn string) string {
		m := structField.FindStringSubmatch(fn)
		if !scalar[m[3]] {
			return fn
		}
		n++
		return m[1] + "\tif m, ok := marshalPlain(ctx, field, " + m[4] + ", " + m[6] + ", ec." + m[5] + "); ok {\n\t\treturn m\n\t}\n" + m[2]
	})
	if n == 0 && !strings.Contains(src, "marshalPlain(") {
		return fmt.Errorf("%s has no field read from a struct field by graphql.ResolveField: has gqlgen's generated code changed?", path)
	}
	// Objects: see generated/objects.go.
	if !strings.Contains(out, objectReturn) && !strings.Contains(out, objectReturnTo) {
		return fmt.Errorf("%s has no %q ending an object's marshaling: has gqlgen's generated code changed?", path, strings.TrimSpace(objectReturn))
	}
	out = strings.ReplaceAll(out, objectReturn, objectReturnTo)
	formatted, err := format.Source([]byte(out))
	if err != nil {
		return err
	}
	return os.WriteFile(path, formatted, 0o644)
}
