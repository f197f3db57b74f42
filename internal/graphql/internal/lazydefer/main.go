// Command lazydefer rewrites gqlgen's generated executor so that an object
// whose selected fields have no @defer makes no deferred group: gqlgen
// makes one for every object it marshals (with the object's full path, a
// field set and a map), which for a page of 50 parts with their inventory
// was a twentieth of the server's CPU, though only @defer ever uses it. The
// generated package's newDeferredGroup (see generated/deferred.go) makes
// the group only when a field is deferred. It runs after gqlgen in
// `go generate ./internal/graphql/...`:
//
//	go run ./internal/lazydefer generated/generated.go
//
// It fails if the file has no call to rewrite, so that a gqlgen upgrade that
// changes the generated code is noticed instead of silently losing the
// rewrite.
package main

import (
	"bytes"
	"fmt"
	"go/format"
	"os"
)

const (
	from = "deferred := graphql.NewDeferredGroup(ctx)"
	to   = "deferred := newDeferredGroup(ctx, fields)"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: lazydefer generated.go")
		os.Exit(2)
	}
	if err := rewrite(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "lazydefer:", err)
		os.Exit(1)
	}
}

func rewrite(path string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	n := bytes.Count(src, []byte(from))
	if n == 0 && !bytes.Contains(src, []byte(to)) {
		return fmt.Errorf("%s has no %q: has gqlgen's generated code changed?", path, from)
	}
	out, err := format.Source(bytes.ReplaceAll(src, []byte(from), []byte(to)))
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}
