// Command plainfields rewrites gqlgen's generated executor so that a field
// read straight from a struct field (no resolver, no method: obj.X) is
// resolved by the generated package's resolvePlainField (see
// internal/graphql/generated/plainfields.go) instead of graphql.ResolveField,
// and so that objects are written by objectOf (generated/objects.go).
// Both take the same arguments; resolvePlainField marshals the value at
// once when nothing can go wrong with it, without the field context,
// context value and middleware call that graphql.ResolveField makes for
// every field of every object. It runs after gqlgen in
// `go generate ./internal/graphql/...`:
//
//	go run ./internal/plainfields generated/generated.go
//
// It fails if the file has no such field, so that a gqlgen upgrade that
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
	// graphql.ResolveField and no middleware; group 1 is the call, group 2
	// the field context function.
	structField = regexp.MustCompile(`(?m)^func \(ec \*executionContext\) _\w+\(ctx context\.Context, field graphql\.CollectedField, obj \*[\w.\[\]]+\) \(ret graphql\.Marshaler\) \{\n\treturn (graphql\.ResolveField|resolvePlainField)\(\n\t\tctx,\n\t\tec\.OperationContext,\n\t\tfield,\n\t\tfunc\(ctx context\.Context, field graphql\.CollectedField\) \(\*graphql\.FieldContext, error\) \{\n\t\t\treturn ec\.(fieldContext_\w+)\(ctx, field\)\n\t\t\},\n\t\tfunc\(ctx context\.Context\) \(any, error\) \{\n\t\t\treturn obj\.\w+, nil\n\t\t\},\n\t\tnil,\n`)
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
		if !scalar[m[2]] {
			return fn
		}
		n++
		return strings.Replace(fn, m[1]+"(", "resolvePlainField(", 1)
	})
	if n == 0 {
		return fmt.Errorf("%s has no field read from a struct field by graphql.ResolveField: has gqlgen's generated code changed?", path)
	}
	// Objects: see generated/objects.go.
	objects := strings.Count(out, objectReturn)
	if objects == 0 && !strings.Contains(out, objectReturnTo) {
		return fmt.Errorf("%s has no %q ending an object's marshaling: has gqlgen's generated code changed?", path, strings.TrimSpace(objectReturn))
	}
	out = strings.ReplaceAll(out, objectReturn, objectReturnTo)
	formatted, err := format.Source([]byte(out))
	if err != nil {
		return err
	}
	return os.WriteFile(path, formatted, 0o644)
}
