package sandbox_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "modernc.org/sqlite" // the "sqlite" driver, to count rows from outside the store

	"github.com/ionbox/ionbox/internal/auth"
	"github.com/ionbox/ionbox/internal/sandbox"
	"github.com/ionbox/ionbox/internal/sqlite"
	"github.com/ionbox/ionbox/ion"
)

// t0 is the tests' clock: expiry times are computed from it.
var t0 = time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC)

// bundle is one test's world: real SQLite stores in a temporary directory,
// the real auth service, a production organization and a sandbox Service,
// all over a control store that can be told to fail (see failingControl).
type bundle struct {
	ctx     context.Context
	dir     string
	stores  *sqlite.Stores
	control *failingControl
	auth    *auth.Service
	svc     *sandbox.Service
	prod    ion.Organization
}

// setup builds a bundle; edit, if given, changes the sandbox Config first.
func setup(t testing.TB, edit ...func(*sandbox.Config)) *bundle {
	t.Helper()
	ctx := t.Context()
	b := &bundle{ctx: ctx, dir: t.TempDir()}
	var err error
	if b.stores, err = sqlite.Open(ctx, b.dir, sqlite.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.stores.Close() })
	b.control = &failingControl{ControlStore: b.stores.Control()}
	if b.auth, err = auth.New(auth.Config{Control: b.control, HashKey: bytes.Repeat([]byte{7}, 32)}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.control.EnsureEnvironment(ctx, ion.Environment{Name: ion.ProductionEnvironment, Kind: ion.EnvProduction}); err != nil {
		t.Fatal(err)
	}
	if b.prod, err = b.control.CreateOrganization(ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: "Acme", Domain: "acme.example", Tier: ion.TierEnterprise}); err != nil {
		t.Fatal(err)
	}
	cfg := sandbox.Config{Control: b.control, Stores: b.stores, APIKeys: b.auth, Now: func() time.Time { return t0 }}
	for _, e := range edit {
		e(&cfg)
	}
	if b.svc, err = sandbox.New(cfg); err != nil {
		t.Fatal(err)
	}
	return b
}

// manualApproval makes every request wait for Approve or Reject.
func manualApproval(c *sandbox.Config) { c.AutoApprove = []string{} }

// request is a valid request for the production organization.
func (b *bundle) request(name string) ion.SandboxRequest {
	return ion.SandboxRequest{
		OrganizationID:  b.prod.ID,
		Name:            name,
		Reason:          "Build the ERP integration",
		Integration:     "acme-erp",
		Shape:           ion.ShapeBlank,
		Members:         []ion.Member{{Name: "Ada Lovelace", Email: "ada@acme.example"}, {Name: "Bob", Email: "bob@acme.example"}},
		ServiceAccounts: []ion.ServiceAccount{{Name: "erp-sync"}, {Name: "ci"}},
		Features:        []string{"bulk-operations"},
	}
}

// issuer returns the sandbox's issuer at the base URL the router gives it.
func (b *bundle) issuer(t testing.TB, name string) *auth.Issuer {
	t.Helper()
	env, err := b.control.Environment(b.ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := b.auth.Issuer(b.ctx, env, "http://x/sandboxes/"+name)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

// rowCounts counts the rows of every control table, read from the file as
// another process would see it.
func (b *bundle) rowCounts(t *testing.T) map[string]int {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(b.dir, "control.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string]int{}
	for _, table := range []string{"environments", "organizations", "users", "api_keys", "signing_keys", "sandboxes", "sandbox_requests"} {
		var n int
		if err := db.QueryRowContext(b.ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}

// tenantFiles lists the files under tenants/.
func (b *bundle) tenantFiles(t *testing.T) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(b.dir, "tenants", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	return names
}

// failingControl is the real control store, except that the method named
// failOn fails on its call number failAt (counting from 1), or, with
// cancel set, cancels the caller's context and lets the call go through.
type failingControl struct {
	ion.ControlStore

	mu     sync.Mutex
	failOn string
	failAt int
	cancel context.CancelFunc
	calls  map[string]int
}

var errInjected = errors.New("injected failure")

// injectedFailure is a failure of a provisioning step: the call-th call
// of method fails, or with cancel, cancels the caller's context there.
type injectedFailure struct {
	method string
	call   int
	cancel bool
}

func (f injectedFailure) String() string {
	name := f.method + "#" + strconv.Itoa(f.call)
	if f.cancel {
		name += " cancelled"
	}
	return name
}

// inject arms f in b's control store and returns the context to provision
// with.
func (f injectedFailure) inject(t *testing.T, b *bundle) context.Context {
	ctx, cancel := context.WithCancel(b.ctx)
	t.Cleanup(cancel)
	var cancelAt context.CancelFunc
	if f.cancel {
		cancelAt = cancel
	}
	b.control.failNext(f.method, f.call, cancelAt)
	return ctx
}

func (f *failingControl) failNext(method string, n int, cancel context.CancelFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failOn, f.failAt, f.cancel, f.calls = method, n, cancel, map[string]int{}
}

func (f *failingControl) check(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failOn != method {
		return nil
	}
	f.calls[method]++
	if f.calls[method] != f.failAt {
		return nil
	}
	f.failOn = ""
	if f.cancel != nil {
		f.cancel()
		return nil
	}
	return errInjected
}

func (f *failingControl) CreateSandboxRequest(ctx context.Context, r ion.SandboxRequest) (ion.SandboxRequest, error) {
	if err := f.check("CreateSandboxRequest"); err != nil {
		return ion.SandboxRequest{}, err
	}
	return f.ControlStore.CreateSandboxRequest(ctx, r)
}

func (f *failingControl) CreateSandbox(ctx context.Context, s ion.Sandbox) (ion.Sandbox, error) {
	if err := f.check("CreateSandbox"); err != nil {
		return ion.Sandbox{}, err
	}
	return f.ControlStore.CreateSandbox(ctx, s)
}

func (f *failingControl) CreateOrganization(ctx context.Context, o ion.Organization) (ion.Organization, error) {
	if err := f.check("CreateOrganization"); err != nil {
		return ion.Organization{}, err
	}
	return f.ControlStore.CreateOrganization(ctx, o)
}

func (f *failingControl) SetSandboxOrganization(ctx context.Context, name string, orgID ion.ID) error {
	if err := f.check("SetSandboxOrganization"); err != nil {
		return err
	}
	return f.ControlStore.SetSandboxOrganization(ctx, name, orgID)
}

func (f *failingControl) CreateUser(ctx context.Context, u ion.User) (ion.User, error) {
	if err := f.check("CreateUser"); err != nil {
		return ion.User{}, err
	}
	return f.ControlStore.CreateUser(ctx, u)
}

func (f *failingControl) CreateAPIKey(ctx context.Context, k ion.APIKey) (ion.APIKey, error) {
	if err := f.check("CreateAPIKey"); err != nil {
		return ion.APIKey{}, err
	}
	return f.ControlStore.CreateAPIKey(ctx, k)
}

func (f *failingControl) AddSigningKey(ctx context.Context, k ion.SigningKey) error {
	if err := f.check("AddSigningKey"); err != nil {
		return err
	}
	return f.ControlStore.AddSigningKey(ctx, k)
}

func (f *failingControl) SetSandboxState(ctx context.Context, name, state string) error {
	if err := f.check("SetSandboxState"); err != nil {
		return err
	}
	return f.ControlStore.SetSandboxState(ctx, name, state)
}

func (f *failingControl) DecideSandboxRequest(ctx context.Context, id ion.ID, status, note string) (ion.SandboxRequest, error) {
	if err := f.check("DecideSandboxRequest"); err != nil {
		return ion.SandboxRequest{}, err
	}
	return f.ControlStore.DecideSandboxRequest(ctx, id, status, note)
}

func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// wantErr checks err's code and, for a VALIDATION_ERROR, that its message
// names field first and contains every fragment.
func wantErr(t *testing.T, err error, code, field string, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	if got := ion.ErrorCode(err); got != code {
		t.Fatalf("got error code %s (%v), want %s", got, err, code)
	}
	msg := ion.ErrorMessage(err)
	if field != "" && !strings.HasPrefix(msg, field+": ") {
		t.Fatalf("error message %q does not name field %q", msg, field)
	}
	for _, f := range fragments {
		if !strings.Contains(msg, f) {
			t.Fatalf("error message %q does not contain %q", msg, f)
		}
	}
}

func same[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("%s differs (-want +got):\n%s", what, diff)
	}
}

func ptr[T any](v T) *T { return &v }
