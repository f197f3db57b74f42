package sqlite_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver, to inspect files from outside

	"github.com/ionbox/ionbox/internal/sqlite"
	"github.com/ionbox/ionbox/internal/storetest"
	"github.com/ionbox/ionbox/ion"
)

// opener opens stores in a temporary directory per test; a second call for
// the same test reopens the same directory, as storetest.Opener requires.
func opener(opts sqlite.Options) storetest.Opener {
	var mu sync.Mutex
	dirs := map[*testing.T]string{}
	return func(t *testing.T) ion.Stores {
		t.Helper()
		mu.Lock()
		dir, ok := dirs[t]
		if !ok {
			dir = t.TempDir()
			dirs[t] = dir
		}
		mu.Unlock()
		s, err := sqlite.Open(t.Context(), dir, opts)
		if err != nil {
			t.Fatalf("open stores in %s: %v", dir, err)
		}
		return s
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, opener(sqlite.Options{}))
}

// clock is an injectable Options.Now.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) now() time.Time               { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration)      { c.ns.Add(int64(d)) }
func (c *clock) options() sqlite.Options      { return sqlite.Options{Now: c.now, IdleTimeout: time.Hour} }
func (c *clock) withCap(n int) sqlite.Options { o := c.options(); o.MaxOpenTenants = n; return o }

type fixture struct {
	ctx    context.Context
	dir    string
	stores *sqlite.Stores
	org    ion.Organization
	ts     ion.TenantStore
}

func setup(t *testing.T, opts sqlite.Options) fixture {
	t.Helper()
	f := fixture{ctx: t.Context(), dir: t.TempDir()}
	var err error
	if f.stores, err = sqlite.Open(f.ctx, f.dir, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.stores.Close() })
	c := f.stores.Control()
	if _, err := c.EnsureEnvironment(f.ctx, ion.Environment{Name: ion.ProductionEnvironment, Kind: ion.EnvProduction}); err != nil {
		t.Fatal(err)
	}
	if f.org, err = c.CreateOrganization(f.ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if f.ts, err = f.stores.Tenant(f.ctx, f.org.TenantID()); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFilesWhereExpected(t *testing.T) {
	t.Parallel()
	f := setup(t, sqlite.Options{})
	for _, name := range []string{"control.db", "templates/tenant.db", "tenants/production-org-1.db"} {
		if _, err := os.Stat(filepath.Join(f.dir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if f.org.TenantID() != "production-org-1" {
		t.Fatalf("tenant id %q", f.org.TenantID())
	}
	// Asking for a tenant that was never created creates nothing.
	if _, err := f.stores.Tenant(f.ctx, "production-org-99"); ion.ErrorCode(err) != ion.ENOTFOUND {
		t.Fatalf("unknown tenant: %v, want NOT_FOUND", err)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "tenants", "production-org-99.db")); !os.IsNotExist(err) {
		t.Fatalf("looking up an unknown tenant created its file (%v)", err)
	}
	entries, err := os.ReadDir(filepath.Join(f.dir, "tenants"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestWALAndForeignKeys(t *testing.T) {
	t.Parallel()
	f := setup(t, sqlite.Options{})
	if _, err := f.ts.CreatePart(f.ctx, ion.Part{PartNumber: "p"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"control.db", "tenants/production-org-1.db"} {
		db, err := sql.Open("sqlite", filepath.Join(f.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var mode string
		if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if mode != "wal" {
			t.Errorf("%s journal mode %q, want wal", name, mode)
		}
	}
	// The template is a single self-contained file, already in WAL mode so
	// that its copies need no switch.
	template := filepath.Join(f.dir, "templates", "tenant.db")
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(template + suffix); !os.IsNotExist(err) {
			t.Fatalf("template%s exists (%v); the template must be one file", suffix, err)
		}
	}
	db, err := sql.Open("sqlite", template)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("template journal mode %q (%v), want wal", mode, err)
	}
}

func TestIdleTenantsCloseAndReopen(t *testing.T) {
	t.Parallel()
	clk := newClock()
	f := setup(t, clk.options())
	p, err := f.ts.CreatePart(f.ctx, ion.Part{PartNumber: "kept"})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.stores.OpenTenants(); n != 1 {
		t.Fatalf("%d open tenants, want 1", n)
	}
	clk.advance(59 * time.Minute)
	if n := f.stores.CloseIdleTenants(time.Hour); n != 0 {
		t.Fatalf("closed %d tenants used 59 minutes ago, want 0", n)
	}
	clk.advance(2 * time.Minute)
	if n := f.stores.CloseIdleTenants(time.Hour); n != 1 || f.stores.OpenTenants() != 0 {
		t.Fatalf("closed %d idle tenants (%d still open), want 1 (0)", n, f.stores.OpenTenants())
	}
	// The handle the caller kept reopens the file on its next use.
	got, err := f.ts.Part(f.ctx, p.ID)
	if err != nil || got.Etag != p.Etag {
		t.Fatalf("part after reopen = %+v, %v", got, err)
	}
	if n := f.stores.OpenTenants(); n != 1 {
		t.Fatalf("%d open tenants after reuse, want 1", n)
	}
}

func TestJanitorClosesIdleTenants(t *testing.T) {
	t.Parallel()
	f := setup(t, sqlite.Options{IdleTimeout: 20 * time.Millisecond})
	if _, err := f.ts.CreatePart(f.ctx, ion.Part{PartNumber: "p"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for f.stores.OpenTenants() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the janitor did not close the idle tenant within 10s")
		}
		time.Sleep(5 * time.Millisecond) // polling for the janitor, not waiting for a fixed time
	}
	if page, err := f.ts.Parts(f.ctx, ion.ListOptions{}); err != nil || page.TotalCount != 1 {
		t.Fatalf("parts after the janitor closed the file: %+v, %v", page, err)
	}
}

func TestMaxOpenTenants(t *testing.T) {
	t.Parallel()
	clk := newClock()
	f := setup(t, clk.withCap(2))
	for i := range 4 {
		org, err := f.stores.Control().CreateOrganization(f.ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: fmt.Sprint("org ", i)})
		if err != nil {
			t.Fatal(err)
		}
		clk.advance(time.Second)
		ts, err := f.stores.Tenant(f.ctx, org.TenantID())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.CreatePart(f.ctx, ion.Part{PartNumber: "p"}); err != nil {
			t.Fatal(err)
		}
		if n := f.stores.OpenTenants(); n > 2 {
			t.Fatalf("%d open tenants, want at most 2", n)
		}
	}
	// The first tenant was closed to make room and reopens on use.
	if page, err := f.ts.Parts(f.ctx, ion.ListOptions{}); err != nil || page.TotalCount != 0 {
		t.Fatalf("first tenant: %+v, %v", page, err)
	}
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	for field, opts := range map[string]sqlite.Options{
		"IdleTimeout":    {IdleTimeout: -time.Second},
		"MaxOpenTenants": {MaxOpenTenants: -1},
		"ReadConns":      {ReadConns: -1},
		"BusyTimeout":    {BusyTimeout: time.Microsecond},
	} {
		_, err := sqlite.Open(t.Context(), t.TempDir(), opts)
		if err == nil || !strings.Contains(err.Error(), "Options."+field) {
			t.Errorf("Open with bad %s: %v, want an error naming it", field, err)
		}
	}
	if _, err := sqlite.Open(t.Context(), "", sqlite.Options{}); err == nil {
		t.Error("Open without a directory succeeded")
	}
}

func TestOrphanTenantFileIsReplaced(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A crash between writing a tenant file and committing its
	// organization leaves a file for an id nobody owns.
	if err := os.MkdirAll(filepath.Join(dir, "tenants"), 0o750); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"production-org-1.db", "production-org-1.db-wal", ".production-org-2.tmp-0123"} {
		if err := os.WriteFile(filepath.Join(dir, "tenants", name), []byte("left over"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	stores, err := sqlite.Open(t.Context(), dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer stores.Close()
	c := stores.Control()
	if _, err := c.EnsureEnvironment(t.Context(), ion.Environment{Name: ion.ProductionEnvironment, Kind: ion.EnvProduction}); err != nil {
		t.Fatal(err)
	}
	org, err := c.CreateOrganization(t.Context(), ion.Organization{Environment: ion.ProductionEnvironment, Name: "Acme"})
	if err != nil || org.TenantID() != "production-org-1" {
		t.Fatalf("organization %+v, %v", org, err)
	}
	ts, err := stores.Tenant(t.Context(), org.TenantID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.CreatePart(t.Context(), ion.Part{PartNumber: "p"}); err != nil {
		t.Fatalf("the replaced tenant file does not work: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tenants", ".production-org-2.tmp-0123")); !os.IsNotExist(err) {
		t.Fatalf("Open kept a temporary file a dead process left (%v)", err)
	}
}

func TestClosedStoresRefuse(t *testing.T) {
	t.Parallel()
	f := setup(t, sqlite.Options{})
	if err := f.stores.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ts.Parts(f.ctx, ion.ListOptions{}); err == nil {
		t.Fatal("a tenant store answered after Close")
	}
	if _, err := f.stores.Tenant(f.ctx, f.org.TenantID()); err == nil {
		t.Fatal("Tenant answered after Close")
	}
	if err := f.stores.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestSurvivesKill writes from a child process, kills it with SIGKILL in
// the middle of its writes, and checks that every write it acknowledged is
// in the files.
func TestSurvivesKill(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "IONBOX_CRASH_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	var acked []ion.ID
	lines := bufio.NewScanner(out)
	for len(acked) < 200 && lines.Scan() {
		if id, ok := strings.CutPrefix(lines.Text(), "acked "); ok {
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			acked = append(acked, n)
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if len(acked) < 200 {
		t.Fatalf("the writer acknowledged only %d writes before it stopped", len(acked))
	}

	stores, err := sqlite.Open(t.Context(), dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer stores.Close()
	ts, err := stores.Tenant(t.Context(), "production-org-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range acked {
		if _, err := ts.PartInventory(t.Context(), id); err != nil {
			t.Fatalf("acknowledged inventory %d lost: %v", id, err)
		}
	}
}

// TestMain runs the test binary as TestSurvivesKill's child when asked to.
func TestMain(m *testing.M) {
	if dir := os.Getenv("IONBOX_CRASH_DIR"); dir != "" {
		if err := writeUntilKilled(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// writeUntilKilled is the child process of TestSurvivesKill: it writes
// until it is killed, printing each acknowledged id.
func writeUntilKilled(dir string) error {
	ctx := context.Background()
	stores, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		return err
	}
	c := stores.Control()
	if _, err := c.EnsureEnvironment(ctx, ion.Environment{Name: ion.ProductionEnvironment, Kind: ion.EnvProduction}); err != nil {
		return err
	}
	org, err := c.CreateOrganization(ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: "Acme"})
	if err != nil {
		return err
	}
	ts, err := stores.Tenant(ctx, org.TenantID())
	if err != nil {
		return err
	}
	part, err := ts.CreatePart(ctx, ion.Part{PartNumber: "p"})
	if err != nil {
		return err
	}
	w := bufio.NewWriter(os.Stdout)
	for {
		inv, err := ts.CreatePartInventory(ctx, ion.PartInventory{PartID: part.ID, Quantity: 1})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "acked %d\n", inv.ID)
		if err := w.Flush(); err != nil {
			return err // the parent is gone
		}
	}
}
