// Command inorderlists rewrites gqlgen's generated executor so that lists
// are marshaled by the generated package's marshalList, which marshals a
// list's elements in order, without a goroutine each, when the operation's
// ListOrder allows it (see internal/graphql/generated/lists.go). It runs
// after gqlgen in `go generate ./internal/graphql/...`:
//
//	go run ./internal/inorderlists generated/generated.go
//
// It fails if the file has no call to rewrite, so that a gqlgen upgrade that
// renames the function is noticed instead of silently losing the rewrite.
package main

import (
	"bytes"
	"fmt"
	"go/format"
	"os"
)

const (
	from = "graphql.MarshalSliceConcurrently("
	to   = "marshalList("
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: inorderlists generated.go")
		os.Exit(2)
	}
	if err := rewrite(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "inorderlists:", err)
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
		return fmt.Errorf("%s has no call of %s: has gqlgen's generated code changed?", path, from[:len(from)-1])
	}
	out, err := format.Source(bytes.ReplaceAll(src, []byte(from), []byte(to)))
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}
