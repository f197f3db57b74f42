package sqlite_test

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ionbox/ionbox/internal/scrub"
	"github.com/ionbox/ionbox/internal/sqlite"
	"github.com/ionbox/ionbox/internal/storetest"
	"github.com/ionbox/ionbox/ion"
)

// TestSnapshotRawBytes is the privacy test at the level of files: after a
// snapshot of a tenant seeded with canaries in every field the policy
// scrubs, no byte sequence of any canary is in any file of the data
// directory other than the source tenant's own (the copy, its -wal and
// -shm once it has been used, temporary and spare files), while the copy
// passes SQLite's integrity and foreign key checks with the source's row
// counts.
func TestSnapshotRawBytes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	stores, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer stores.Close()
	const from, to = "production-org-1", "sbx-org-1"
	for _, id := range []string{from, to} {
		if err := stores.CreateTenant(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	src, err := stores.Tenant(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	canaries := storetest.SeedCanaries(t, ctx, src)
	// Free pages of the source hold canaries too: a copy of its pages
	// would carry them.
	victim, err := src.CreatePart(ctx, ion.Part{PartNumber: "deleted", Description: strings.Repeat(canaries[0]+" ", 200)})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.DeletePart(ctx, victim.ID, victim.Etag); err != nil {
		t.Fatal(err)
	}
	policy := scrub.DefaultPolicy()
	policy.Costs = "remove"
	if _, err := stores.SnapshotTenant(ctx, from, to, scrub.NewPlan(policy), nil); err != nil {
		t.Fatal(err)
	}
	// Use the copy, so that it has a -wal and -shm, and write to it.
	dst, err := stores.Tenant(ctx, to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dst.CreateLocation(ctx, ion.Location{Name: "after"}); err != nil {
		t.Fatal(err)
	}
	dump := storetest.DumpTenant(t, ctx, dst)
	if len(dump.Refs["parts"]) == 0 {
		t.Fatal("the copy has no parts")
	}
	if _, err := os.Stat(filepath.Join(dir, "tenants", to+".db-wal")); err != nil {
		t.Fatalf("the copy has no -wal while open and written: %v", err)
	}

	needles := [][]byte{[]byte("zqxcanary")}
	for _, c := range canaries {
		needles = append(needles, []byte(c[strings.LastIndex(c, "-")+1:])) // the random tail alone
	}
	var scanned, sourceHits int
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		isSource := strings.HasPrefix(d.Name(), from+".db")
		for _, n := range needles {
			if !bytes.Contains(data, n) {
				continue
			}
			if isSource {
				sourceHits++
			} else {
				t.Errorf("%s holds canary bytes %q", strings.TrimPrefix(path, dir), n)
			}
		}
		scanned++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sourceHits == 0 {
		t.Fatal("the source's files hold no canary: the scan cannot find one")
	}
	if scanned < 4 {
		t.Fatalf("scanned only %d files", scanned)
	}

	// The copy, opened as another process would.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "tenants", to+".db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var integrity string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check = %q, %v", integrity, err)
	}
	rows, err := db.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Error("the copy has rows whose foreign keys point nowhere")
	}
	rows.Close()
	var seqParts int64
	if err := db.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'parts'`).Scan(&seqParts); err != nil || seqParts < victim.ID {
		t.Errorf("the copy's parts sequence is %d (%v); want at least %d, the source's", seqParts, err, victim.ID)
	}
}
