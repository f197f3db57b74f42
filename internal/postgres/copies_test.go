package postgres

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// storeCopies are files whose code is the same in both stores: they use
// only what each store package names alike (tx, entity, queryer, the
// list helpers), and what differs lives in a file of each package
// (webhooks_dialect.go). Other files of the two stores still differ in
// small ways (notNull lists, casts) and are not copies yet. The SQLite store's file is the source; the
// PostgreSQL store's is generated from it, so a change made on one side
// only fails TestStoreCopies instead of drifting.
var storeCopies = []string{"bulk.go", "idempotency.go", "issues.go", "locations.go", "policies.go", "webhooks.go"}

var updateCopies = flag.Bool("update-copies", false, "rewrite the PostgreSQL store's copies of internal/sqlite files")

func copyOf(name string, src []byte) string {
	return "// Code generated from internal/sqlite/" + name + " by `go test ./internal/postgres -run TestStoreCopies -update-copies`; DO NOT EDIT.\n\n" +
		strings.Replace(string(src), "package sqlite\n", "package postgres\n", 1)
}

func TestStoreCopies(t *testing.T) {
	t.Parallel()
	for _, name := range storeCopies {
		src, err := os.ReadFile(filepath.Join("..", "sqlite", name))
		if err != nil {
			t.Fatal(err)
		}
		want := copyOf(name, src)
		if *updateCopies {
			if err := os.WriteFile(name, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("internal/postgres/%s is not the copy of internal/sqlite/%s: change the SQLite file (dialect differences go in webhooks_dialect.go or similar), then run go test ./internal/postgres -run TestStoreCopies -update-copies", name, name)
		}
	}
}
