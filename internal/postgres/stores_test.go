package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ionbox/ionbox/internal/postgres"
	"github.com/ionbox/ionbox/ion"
)

// fixture is one deployment under its own schema prefix, with production,
// an organization and its tenant.
type fixture struct {
	ctx    context.Context
	url    string
	prefix string
	db     *pgx.Conn // for looking at schemas from outside
	stores *postgres.Stores
	org    ion.Organization
	ts     ion.TenantStore
}

func setup(t *testing.T, opts postgres.Options) *fixture {
	t.Helper()
	f := &fixture{ctx: t.Context(), url: testURL(t)}
	f.prefix = newPrefix(t, f.url)
	opts.Schema = f.prefix
	f.stores = f.open(t, opts)
	conn, err := pgx.Connect(f.ctx, f.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	f.db = conn
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

// open opens another Stores (a replica) on the fixture's schemas.
func (f *fixture) open(t *testing.T, opts postgres.Options) *postgres.Stores {
	t.Helper()
	opts.Schema = f.prefix
	if opts.MaxConns == 0 {
		opts.MaxConns = 4
	}
	if opts.ControlConns == 0 {
		opts.ControlConns = 2
	}
	s, err := postgres.Open(f.ctx, f.url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (f *fixture) schemaExists(t *testing.T, name string) bool {
	t.Helper()
	var ok bool
	if err := f.db.QueryRow(f.ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// readySpares lists the spare schemas ready to be claimed.
func (f *fixture) readySpares(t *testing.T) []string {
	t.Helper()
	rows, err := f.db.Query(f.ctx, `SELECT name FROM `+pgx.Identifier{f.prefix + "control", "spare_schemas"}.Sanitize()+` WHERE ready ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// must fails the test on a non-nil error and otherwise returns the value:
// part := must(ts.CreatePart(ctx, p))(t).
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func TestSpareSchemas(t *testing.T) {
	t.Parallel()
	f := setup(t, postgres.Options{SpareSchemas: 2})
	waitFor(t, "two ready spares", func() bool { return len(f.readySpares(t)) == 2 })
	spares := f.readySpares(t)

	start := time.Now()
	if err := f.stores.CreateTenant(f.ctx, "blank-1"); err != nil {
		t.Fatal(err)
	}
	t.Logf("creating a tenant from a spare took %v", time.Since(start))
	schema := f.prefix + "t_blank-1"
	if !f.schemaExists(t, schema) {
		t.Fatalf("schema %s does not exist after CreateTenant", schema)
	}
	// Exactly one spare was renamed; it is no longer listed.
	var gone []string
	for _, s := range spares {
		if !f.schemaExists(t, s) {
			gone = append(gone, s)
		}
	}
	if len(gone) != 1 {
		t.Fatalf("spares renamed: %v, want exactly one of %v", gone, spares)
	}
	for _, s := range f.readySpares(t) {
		if s == gone[0] {
			t.Fatalf("claimed spare %s is still listed", s)
		}
	}
	ts := must(f.stores.Tenant(f.ctx, "blank-1"))(t)
	if n := must(ts.Parts(f.ctx, ion.ListOptions{}))(t).TotalCount; n != 0 {
		t.Fatalf("new tenant has %d parts, want 0", n)
	}
	// The pool refills in the background.
	waitFor(t, "the spare pool to refill", func() bool { return len(f.readySpares(t)) == 2 })
}

func TestNoSparesStillCreates(t *testing.T) {
	t.Parallel()
	f := setup(t, postgres.Options{SpareSchemas: -1})
	start := time.Now()
	if err := f.stores.CreateTenant(f.ctx, "made-on-demand"); err != nil {
		t.Fatal(err)
	}
	t.Logf("creating a tenant without a spare took %v", time.Since(start))
	must(f.stores.Tenant(f.ctx, "made-on-demand"))(t)
	if s := f.readySpares(t); len(s) != 0 {
		t.Fatalf("spares %v kept with SpareSchemas < 0", s)
	}
}

func TestAbandonedSparesAreDropped(t *testing.T) {
	t.Parallel()
	f := setup(t, postgres.Options{SpareSchemas: -1})
	// A process died while making this spare, long ago.
	name := f.prefix + "spare_deadbeef"
	if _, err := f.db.Exec(f.ctx, `CREATE SCHEMA `+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(f.ctx, `INSERT INTO `+pgx.Identifier{f.prefix + "control", "spare_schemas"}.Sanitize()+
		` (name, ready, created_at) VALUES ($1, false, $2)`, name, time.Now().Add(-time.Hour).UnixMicro()); err != nil {
		t.Fatal(err)
	}
	f.open(t, postgres.Options{SpareSchemas: -1})
	waitFor(t, "the abandoned spare to be dropped", func() bool { return !f.schemaExists(t, name) })
}

func TestDeleteTenantDropsSchema(t *testing.T) {
	t.Parallel()
	f := setup(t, postgres.Options{})
	schema := f.prefix + "t_" + f.org.TenantID()
	must(f.ts.CreatePart(f.ctx, ion.Part{PartNumber: "doomed"}))(t)
	if !f.schemaExists(t, schema) {
		t.Fatalf("tenant schema %s does not exist", schema)
	}
	if err := f.stores.DeleteTenant(f.ctx, f.org.TenantID()); err != nil {
		t.Fatal(err)
	}
	if f.schemaExists(t, schema) {
		t.Fatalf("tenant schema %s still exists after DeleteTenant", schema)
	}
	// Another replica sees it gone too.
	other := f.open(t, postgres.Options{SpareSchemas: -1})
	if _, err := other.Tenant(f.ctx, f.org.TenantID()); ion.ErrorCode(err) != ion.ENOTFOUND {
		t.Fatalf("Tenant after DeleteTenant on another replica: %v, want NOT_FOUND", err)
	}
}

func TestIDsArePerTenant(t *testing.T) {
	t.Parallel()
	f := setup(t, postgres.Options{})
	other := must(f.stores.Control().CreateOrganization(f.ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: "Beta"}))(t)
	tsB := must(f.stores.Tenant(f.ctx, other.TenantID()))(t)
	for _, ts := range []ion.TenantStore{f.ts, tsB} {
		p := must(ts.CreatePart(f.ctx, ion.Part{PartNumber: "first"}))(t)
		q := must(ts.CreatePart(f.ctx, ion.Part{PartNumber: "second"}))(t)
		if p.ID != 1 || q.ID != 2 {
			t.Fatalf("part ids %d, %d, want 1, 2 in every tenant", p.ID, q.ID)
		}
	}
}

func TestLongTenantIDs(t *testing.T) {
	t.Parallel()
	f := setup(t, postgres.Options{})
	// Two ids too long for a schema name that differ only at the end.
	long := strings.Repeat("x", 127)
	a, b := long+"a", long+"b"
	for _, id := range []string{a, b} {
		if err := f.stores.CreateTenant(f.ctx, id); err != nil {
			t.Fatalf("create tenant %.10s…: %v", id, err)
		}
	}
	tsA, tsB := must(f.stores.Tenant(f.ctx, a))(t), must(f.stores.Tenant(f.ctx, b))(t)
	must(tsA.CreatePart(f.ctx, ion.Part{PartNumber: "only-in-a"}))(t)
	if n := must(tsB.Parts(f.ctx, ion.ListOptions{}))(t).TotalCount; n != 0 {
		t.Fatalf("tenant b sees %d parts of tenant a", n)
	}
	if err := f.stores.CreateTenant(f.ctx, b); ion.ErrorCode(err) != ion.ECONFLICT {
		t.Fatalf("creating tenant b again: %v, want CONFLICT", err)
	}
}

// TestConcurrentInstallsAcrossReplicas installs from two Stores on one
// database at once: the requirement's quantity is never exceeded and a
// unit is never installed twice.
func TestConcurrentInstallsAcrossReplicas(t *testing.T) {
	t.Parallel()
	f := setup(t, postgres.Options{})
	replica := f.open(t, postgres.Options{SpareSchemas: -1})
	tsB := must(replica.Tenant(f.ctx, f.org.TenantID()))(t)
	stores := []ion.TenantStore{f.ts, tsB}
	ctx := f.ctx

	asm := must(f.ts.CreatePart(ctx, ion.Part{PartNumber: "asm"}))(t)
	child := must(f.ts.CreatePart(ctx, ion.Part{PartNumber: "child"}))(t)
	parent := must(f.ts.CreatePartInventory(ctx, ion.PartInventory{PartID: asm.ID, Quantity: 1}))(t)
	req := must(f.ts.CreateBuildRequirement(ctx, ion.BuildRequirement{PartInventoryID: parent.ID, PartID: child.ID, QuantityPerParentPartInventory: 3}))(t)

	// Over-install: 12 units race for a requirement of 3.
	const units = 12
	var kids []ion.PartInventory
	for range units {
		kids = append(kids, must(f.ts.CreatePartInventory(ctx, ion.PartInventory{PartID: child.ID, Quantity: 1}))(t))
	}
	results := make([]error, units)
	var wg sync.WaitGroup
	for i, k := range kids {
		wg.Go(func() {
			_, results[i] = stores[i%2].CreateAbomInstallation(ctx, ion.AbomInstallation{BuildRequirementID: req.ID, PartInventoryID: k.ID, Quantity: 1})
		})
	}
	wg.Wait()
	installed := 0
	for i, err := range results {
		switch {
		case err == nil:
			installed++
		case ion.ErrorCode(err) == ion.EVALIDATION && strings.HasPrefix(ion.ErrorMessage(err), "quantity: "):
		default:
			t.Fatalf("install %d: %v, want success or VALIDATION_ERROR on quantity", i, err)
		}
	}
	page := must(tsB.AbomInstallations(ctx, ion.ListOptions{Limit: 100, Filters: []ion.Filter{{Field: "buildRequirementId", Op: ion.OpEq, Value: req.ID}}}))(t)
	if installed != 3 || page.TotalCount != 3 {
		t.Fatalf("%d installs acknowledged, %d stored, want 3 and 3", installed, page.TotalCount)
	}

	// Double install: one unit races into six requirements.
	unit := must(f.ts.CreatePartInventory(ctx, ion.PartInventory{PartID: child.ID, Quantity: 1}))(t)
	const reqs = 6
	results = make([]error, reqs)
	var targets []ion.BuildRequirement
	for range reqs {
		p := must(f.ts.CreatePartInventory(ctx, ion.PartInventory{PartID: asm.ID, Quantity: 1}))(t)
		targets = append(targets, must(f.ts.CreateBuildRequirement(ctx, ion.BuildRequirement{PartInventoryID: p.ID, PartID: child.ID, QuantityPerParentPartInventory: 1}))(t))
	}
	for i, r := range targets {
		wg.Go(func() {
			_, results[i] = stores[i%2].CreateAbomInstallation(ctx, ion.AbomInstallation{BuildRequirementID: r.ID, PartInventoryID: unit.ID, Quantity: 1})
		})
	}
	wg.Wait()
	installed = 0
	for i, err := range results {
		switch {
		case err == nil:
			installed++
		case ion.ErrorCode(err) == ion.EVALIDATION && strings.HasPrefix(ion.ErrorMessage(err), "partInventoryId: "):
		default:
			t.Fatalf("install %d: %v, want success or VALIDATION_ERROR on partInventoryId", i, err)
		}
	}
	if installed != 1 {
		t.Fatalf("the unit was installed %d times, want once", installed)
	}
	if got := must(tsB.PartInventory(ctx, unit.ID))(t); got.Status != ion.InvInstalled || got.QuantityInstalled != 1 {
		t.Fatalf("unit after the race = %+v, want INSTALLED with 1 installed", got)
	}
}

// TestConcurrentOrganizationsAcrossReplicas creates organizations from two
// Stores at once: each gets its tenant, and a domain goes to one only.
func TestConcurrentOrganizationsAcrossReplicas(t *testing.T) {
	t.Parallel()
	f := setup(t, postgres.Options{})
	replica := f.open(t, postgres.Options{})
	controls := []ion.ControlStore{f.stores.Control(), replica.Control()}
	const n = 8
	orgs := make([]ion.Organization, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			orgs[i], errs[i] = controls[i%2].CreateOrganization(f.ctx, ion.Organization{Environment: ion.ProductionEnvironment,
				Name: fmt.Sprint("Org ", i), Domain: "same.example"})
		})
	}
	wg.Wait()
	made := 0
	for i, err := range errs {
		switch {
		case err == nil:
			made++
			must(replica.Tenant(f.ctx, orgs[i].TenantID()))(t)
		case ion.ErrorCode(err) == ion.EVALIDATION && strings.HasPrefix(ion.ErrorMessage(err), "domain: "):
		default:
			t.Fatalf("create organization %d: %v", i, err)
		}
	}
	if made != 1 {
		t.Fatalf("%d organizations got domain same.example, want 1", made)
	}
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	for _, c := range []struct {
		opts  postgres.Options
		field string
	}{
		{postgres.Options{Schema: "Bad-Prefix"}, "Options.Schema"},
		{postgres.Options{Schema: "much_too_long_a_schema_prefix"}, "Options.Schema"},
		{postgres.Options{MaxConns: -1}, "Options.MaxConns"},
		{postgres.Options{ControlConns: -1}, "Options.ControlConns"},
	} {
		_, err := postgres.Open(t.Context(), url, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("Open(%+v) = %v, want an error naming %s", c.opts, err, c.field)
		}
	}
}

func TestClosedStoresRefuse(t *testing.T) {
	t.Parallel()
	f := setup(t, postgres.Options{})
	if err := f.stores.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.stores.Tenant(f.ctx, f.org.TenantID()); err == nil {
		t.Fatal("Tenant on closed stores succeeded")
	}
	if _, err := f.ts.CreatePart(f.ctx, ion.Part{PartNumber: "late"}); err == nil {
		t.Fatal("CreatePart on closed stores succeeded")
	}
	if err := f.stores.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestLegacyTenantSchemaIsMigrated: a tenant schema without (or behind)
// the tenant migrations is brought up to date on first use.
func TestLegacyTenantSchemaIsMigrated(t *testing.T) {
	t.Parallel()
	f := setup(t, postgres.Options{})
	if _, err := f.db.Exec(f.ctx, `CREATE SCHEMA `+pgx.Identifier{f.prefix + "t_legacy"}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	ts := must(f.stores.Tenant(f.ctx, "legacy"))(t)
	p := must(ts.CreatePart(f.ctx, ion.Part{PartNumber: "after-upgrade"}))(t)
	if p.ID != 1 {
		t.Fatalf("first part id %d, want 1", p.ID)
	}
}

// BenchmarkCreateTenant measures creating a blank tenant with a spare
// schema ready (a rename) and without one (the tenant migration's DDL).
func BenchmarkCreateTenant(b *testing.B) {
	url := os.Getenv("ION_TEST_POSTGRES_URL")
	if url == "" {
		b.Skip("ION_TEST_POSTGRES_URL is not set")
	}
	for _, c := range []struct {
		name   string
		spares int
	}{{"spare", 1}, {"migrate", -1}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := b.Context()
			var rnd [4]byte
			_, _ = rand.Read(rnd[:])
			prefix := "ib_" + hex.EncodeToString(rnd[:]) + "_"
			b.Cleanup(func() { dropSchemas(b, url, prefix) })
			s, err := postgres.Open(ctx, url, postgres.Options{Schema: prefix, SpareSchemas: c.spares})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close(ctx)
			ready := func() int {
				var n int
				_ = conn.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{prefix + "control", "spare_schemas"}.Sanitize()+` WHERE ready`).Scan(&n)
				return n
			}
			for i := 0; b.Loop(); i++ {
				if c.spares > 0 {
					b.StopTimer()
					for ready() == 0 {
						time.Sleep(5 * time.Millisecond)
					}
					b.StartTimer()
				}
				if err := s.CreateTenant(ctx, fmt.Sprint("bench-", i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSparePoolBurst drains the pool with more creations than it holds:
// the ones that find it empty still succeed (making their own spare),
// and the pool then refills to its
// size, made by concurrent makers that do not overshoot it.
func TestSparePoolBurst(t *testing.T) {
	t.Parallel()
	f := setup(t, postgres.Options{SpareSchemas: 3})
	waitFor(t, "three ready spares", func() bool { return len(f.readySpares(t)) == 3 })
	for i := range 6 {
		id := fmt.Sprintf("burst-%d", i)
		if err := f.stores.CreateTenant(f.ctx, id); err != nil {
			t.Fatalf("create tenant %s: %v", id, err)
		}
		if n := must(must(f.stores.Tenant(f.ctx, id))(t).Parts(f.ctx, ion.ListOptions{}))(t).TotalCount; n != 0 {
			t.Fatalf("tenant %s has %d parts, want 0", id, n)
		}
	}
	waitFor(t, "the spare pool to refill", func() bool { return len(f.readySpares(t)) >= 3 })
	// Let any maker still running finish: the pool holds exactly its size.
	if err := f.stores.Close(); err != nil {
		t.Fatal(err)
	}
	if s := f.readySpares(t); len(s) != 3 {
		t.Fatalf("after refilling the pool holds %d spares %v, want 3", len(s), s)
	}
}

// Two replicas reset the same seeded tenant (its baseline kept as a
// template and a time) at once, many times, while one of them replaces the
// template: every restore succeeds and the tenant ends as it was loaded.
func TestTemplateStateRestoresAcrossReplicas(t *testing.T) {
	t.Parallel()
	f := setup(t, postgres.Options{})
	replica := f.open(t, postgres.Options{})
	if err := f.stores.CreateTenant(f.ctx, "src"); err != nil {
		t.Fatal(err)
	}
	src := must(f.stores.Tenant(f.ctx, "src"))(t)
	for i := range 5 {
		must(src.CreatePart(f.ctx, ion.Part{PartNumber: fmt.Sprint("P-", i)}))(t)
	}
	if err := f.stores.SaveTenantTemplate(f.ctx, "src", "tpl"); err != nil {
		t.Fatal(err)
	}
	if err := f.stores.CreateTenant(f.ctx, "sb"); err != nil {
		t.Fatal(err)
	}
	if err := replica.LoadTenantTemplateAsState(f.ctx, "sb", "tpl", time.Now(), "baseline"); err != nil {
		t.Fatal(err)
	}
	ts := must(f.stores.Tenant(f.ctx, "sb"))(t)
	loaded := must(ts.Parts(f.ctx, ion.ListOptions{Limit: 10}))(t)

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for r, stores := range []*postgres.Stores{f.stores, replica} {
		wg.Go(func() {
			for i := range 6 {
				if _, err := ts.CreatePart(f.ctx, ion.Part{PartNumber: fmt.Sprintf("W-%d-%d", r, i)}); err != nil {
					errs <- err
				}
				if err := stores.RestoreTenantState(f.ctx, "sb", "baseline"); err != nil {
					errs <- fmt.Errorf("replica %d restore %d: %w", r, i, err)
				}
			}
		})
	}
	wg.Go(func() {
		if _, err := src.CreatePart(f.ctx, ion.Part{PartNumber: "LATER"}); err != nil {
			errs <- err
		}
		if err := f.stores.SaveTenantTemplate(f.ctx, "src", "tpl"); err != nil {
			errs <- fmt.Errorf("replace the template: %w", err)
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := replica.RestoreTenantState(f.ctx, "sb", "baseline"); err != nil {
		t.Fatal(err)
	}
	got := must(ts.Parts(f.ctx, ion.ListOptions{Limit: 10}))(t)
	if !reflect.DeepEqual(got, loaded) {
		t.Fatalf("after the resets the tenant has %+v, want %+v as loaded", got, loaded)
	}
}

// Principal answers in one round trip what APIKeyByClientID, User and
// Organization answer one by one, found or not.
func TestPrincipalMatchesTheReads(t *testing.T) {
	t.Parallel()
	f := setup(t, postgres.Options{SpareSchemas: -1})
	c := f.stores.Control()
	other := must(c.CreateOrganization(f.ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: "Beta"}))(t)
	user := must(c.CreateUser(f.ctx, ion.User{OrganizationID: f.org.ID, Name: "CI", Email: "ci@acme.example", Active: true}))(t)
	key := must(c.CreateAPIKey(f.ctx, ion.APIKey{ClientID: uuid.NewString(), OrganizationID: f.org.ID, UserID: user.ID,
		Environment: ion.ProductionEnvironment, Enabled: true, SecretHash: []byte("hash")}))(t)
	for _, tc := range []struct {
		name          string
		client        string
		org, user     ion.ID
		wantKey       string // error code, "" for found
		wantUser      string
		wantOrganizat string
	}{
		{"all found", key.ClientID, f.org.ID, user.ID, "", "", ""},
		{"unknown client", "no-such-client", f.org.ID, user.ID, ion.ENOTFOUND, "", ""},
		{"user of another organization", key.ClientID, other.ID, user.ID, "", ion.ENOTFOUND, ""},
		{"unknown user and organization", key.ClientID, 999, 999, "", ion.ENOTFOUND, ion.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := c.(ion.PrincipalReader).Principal(f.ctx, tc.client, tc.org, tc.user)
			k, kerr := c.APIKeyByClientID(f.ctx, tc.client)
			u, uerr := c.User(f.ctx, tc.org, tc.user)
			o, oerr := c.Organization(f.ctx, tc.org)
			for _, got := range []struct {
				what      string
				got, want any
				err, rerr error
				code      string
			}{
				{"key", p.Key, k, p.KeyErr, kerr, tc.wantKey},
				{"user", p.User, u, p.UserErr, uerr, tc.wantUser},
				{"organization", p.Organization, o, p.OrganizationErr, oerr, tc.wantOrganizat},
			} {
				if ion.ErrorCode(got.err) != got.code || (got.err == nil) != (got.rerr == nil) {
					t.Errorf("%s: error %v, want code %q (its own read: %v)", got.what, got.err, got.code, got.rerr)
				}
				if got.err != nil && got.err.Error() != got.rerr.Error() {
					t.Errorf("%s: error %q, its own read says %q", got.what, got.err, got.rerr)
				}
				if !reflect.DeepEqual(got.got, got.want) {
					t.Errorf("%s = %+v, its own read = %+v", got.what, got.got, got.want)
				}
			}
		})
	}
}
