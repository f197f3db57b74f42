package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/ionbox/ionbox/internal/server"
)

// devBundle is a running server with a production API key and a sandbox of
// the same organization.
type devBundle struct {
	url                  string
	prodID, prodSecret   string
	sbxURL, sbxName      string
	sbxID, sbxSecret     string
	adminToken, tokenURL string
}

func setup(t *testing.T) *devBundle {
	t.Helper()
	r, err := server.Start(context.Background(), server.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Stop(); err != nil {
			t.Errorf("stop server: %v", err)
		}
	})
	b := &devBundle{url: r.URL, adminToken: r.AdminToken}
	var org struct{ ID int64 }
	b.admin(t, "/admin/v1/organizations", map[string]string{"name": "Acme", "domain": "acme.example"}, &org)
	var user struct{ ID int64 }
	b.admin(t, fmt.Sprintf("/admin/v1/organizations/%d/users", org.ID), map[string]any{"name": "Ada Lovelace", "email": "ada@acme.example"}, &user)
	var key struct{ ClientID, ClientSecret, TokenURL string }
	b.admin(t, fmt.Sprintf("/admin/v1/organizations/%d/api-keys", org.ID), map[string]any{"userId": user.ID}, &key)
	b.prodID, b.prodSecret, b.tokenURL = key.ClientID, key.ClientSecret, key.TokenURL
	var sbx struct {
		Sandbox     struct{ Name, BaseURL string }
		Credentials []struct{ ClientID, ClientSecret string }
	}
	b.admin(t, "/admin/v1/sandbox-requests", map[string]any{
		"organizationId": org.ID, "name": "acme-erp-dev", "reason": "CLI tests", "integration": "erp", "shape": "blank",
		"members": []map[string]string{{"name": "Ada", "email": "ada@acme.example"}}, "serviceAccounts": []map[string]string{{"name": "erp-sync"}},
	}, &sbx)
	if len(sbx.Credentials) != 1 {
		t.Fatalf("sandbox request: %+v", sbx)
	}
	b.sbxURL, b.sbxName = sbx.Sandbox.BaseURL, sbx.Sandbox.Name
	b.sbxID, b.sbxSecret = sbx.Credentials[0].ClientID, sbx.Credentials[0].ClientSecret
	return b
}

func (b *devBundle) admin(t *testing.T, path string, body, out any) {
	t.Helper()
	j, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", b.url+path, bytes.NewReader(j))
	req.Header.Set("Authorization", "Bearer "+b.adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 || json.Unmarshal(raw, out) != nil {
		t.Fatalf("POST %s: HTTP %d: %s", path, resp.StatusCode, raw)
	}
}

// prodFlags and sbxFlags are the credential flags of each environment.
func (b *devBundle) prodFlags() []string {
	return []string{"--base-url", b.url, "--client-id", b.prodID, "--client-secret", b.prodSecret}
}

func (b *devBundle) sbxFlags() []string {
	return []string{"--base-url", b.sbxURL, "--client-id", b.sbxID, "--client-secret", b.sbxSecret}
}

// runInProcess parses args with the real CLI struct and runs the command.
func runInProcess(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var c CLI
	var out bytes.Buffer
	k, err := kong.New(&c, kong.Name("ionbox"), kong.Writers(&out, &out), kong.Exit(func(int) { t.Fatalf("kong exited on %v", args) }))
	if err != nil {
		t.Fatal(err)
	}
	kctx, err := k.Parse(args)
	if err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	err = kctx.Run(&Globals{Ctx: context.Background(), Stdout: &out, Stderr: &out})
	return out.String(), err
}

var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "ionbox-cli-test-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "ionbox")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/ionbox")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build ionbox: %v\n%s", err, out)
	}
	return bin, nil
})

// runBinary runs the real binary with env (and no inherited ION_* variable);
// it returns stdout, stderr and the exit code.
func runBinary(t *testing.T, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ION_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// runReal runs the real binary (no ION_* variables) and returns its
// stdout, or an error with its stderr when it exits non-zero.
func runReal(t *testing.T, args ...string) (string, error) {
	t.Helper()
	stdout, stderr, code := runBinary(t, nil, args...)
	if code != 0 {
		return stdout, fmt.Errorf("exit %d: %s", code, stderr)
	}
	return stdout, nil
}

type seedReport struct {
	Objects []seedRow `json:"objects"`
}

func TestSeedChainIsIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	args := append([]string{"seed", "chain", "--count", "2", "--json"}, b.sbxFlags()...)
	out, err := runReal(t, args...)
	if err != nil {
		t.Fatalf("first seed chain: %v\n%s", err, out)
	}
	var first seedReport
	if err := json.Unmarshal([]byte(out), &first); err != nil {
		t.Fatalf("seed chain --json printed %s: %v", out, err)
	}
	// Per chain: 3 parts, 2 mBOM items, a location, 3 inventories, a
	// procedure, 2 steps, a field, a run, its steps, a build requirement
	// and an installation.
	if len(first.Objects) != 2*17 {
		t.Fatalf("first run reported %d objects, want 34:\n%s", len(first.Objects), out)
	}
	for _, r := range first.Objects {
		if r.Result != "created" && r.Result != "completed" {
			t.Fatalf("first run on an empty sandbox: %+v, want everything created", r)
		}
	}
	out, err = runReal(t, args...)
	if err != nil {
		t.Fatalf("second seed chain: %v\n%s", err, out)
	}
	var second seedReport
	if err := json.Unmarshal([]byte(out), &second); err != nil {
		t.Fatal(err)
	}
	if len(second.Objects) != len(first.Objects) {
		t.Fatalf("second run reported %d objects, first %d", len(second.Objects), len(first.Objects))
	}
	for i, r := range second.Objects {
		if r.Result != "found" || r.ID != first.Objects[i].ID || r.Object != first.Objects[i].Object {
			t.Fatalf("second run: %+v, want %+v found", r, first.Objects[i])
		}
	}
	// The table form lines up and names what it found.
	out, err = runReal(t, append([]string{"seed", "chain"}, b.sbxFlags()...)...)
	if err != nil || !regexp.MustCompile(`(?m)^SEED-1\s+installation\s+\d+\s+found$`).MatchString(out) {
		t.Fatalf("seed chain table: %v\n%s", err, out)
	}
}

func TestSmokePasses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, flags := range [][]string{b.prodFlags(), b.sbxFlags()} {
		out, err := runInProcess(t, append([]string{"smoke"}, flags...)...)
		if err != nil {
			t.Fatalf("smoke: %v\n%s", err, out)
		}
		for _, name := range []string{"currentUser", "list parts", "write", "read back", "clean up"} {
			if !regexp.MustCompile(`(?m)^` + name + `\s+ok\s+\S`).MatchString(out) {
				t.Fatalf("smoke output has no passing %q line:\n%s", name, out)
			}
		}
	}
	// With the real binary and the environment variables: exit 0.
	stdout, stderr, code := runBinary(t, map[string]string{"ION_BASE_URL": b.url, "ION_CLIENT_ID": b.prodID, "ION_CLIENT_SECRET": b.prodSecret}, "smoke", "--json")
	if code != 0 || !strings.Contains(stdout, `"ok": true`) {
		t.Fatalf("ionbox smoke --json: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestSmokeFailsWithBadCredential(t *testing.T) {
	t.Parallel()
	b := setup(t)
	stdout, stderr, code := runBinary(t, map[string]string{"ION_BASE_URL": b.url, "ION_CLIENT_ID": b.prodID, "ION_CLIENT_SECRET": "ion_prod_not-the-secret"}, "smoke")
	const want = "ionbox: smoke failed at currentUser: ion unauthorized_client (HTTP 401): Invalid client or Invalid client credentials\n"
	if code != 1 || stderr != want {
		t.Fatalf("exit %d, stderr %q\nwant exit 1, stderr %q", code, stderr, want)
	}
	if !regexp.MustCompile(`(?m)^currentUser\s+FAIL\s+`).MatchString(stdout) || !regexp.MustCompile(`(?m)^clean up\s+skipped\s+`).MatchString(stdout) {
		t.Fatalf("smoke printed:\n%s", stdout)
	}
}

func TestPromoteCheck(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Production credentials against production: every check passes and
	// the report names organization, kind, features and rate limits.
	out, err := runReal(t, append([]string{"promote", "check", "--expect", "production"}, b.prodFlags()...)...)
	if err != nil {
		t.Fatalf("promote check: %v\n%s", err, out)
	}
	for _, re := range []string{`(?m)^discover\s+ok\s`, `(?m)^expected kind\s+ok\s+production$`, `(?m)^credential\s+ok\s`, `(?m)^currentUser\s+ok\s+Ada Lovelace <ada@acme\.example>$`,
		`(?m)^list parts\s+ok\s`, `(?m)^organization\s+acme\.example \(id 1\)$`, `(?m)^kind\s+production$`, `(?m)^features\s+none$`, `(?m)^rate limits\s+\S`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Fatalf("promote check output does not match %s:\n%s", re, out)
		}
	}

	// Sandbox credentials against production: refused before anything is
	// sent, with the SDK's message, exit 1 from the real binary.
	_, stderr, code := runBinary(t, map[string]string{"ION_BASE_URL": b.url, "ION_CLIENT_ID": b.sbxID, "ION_CLIENT_SECRET": b.sbxSecret},
		"promote", "check", "--expect", "production")
	want := fmt.Sprintf("ionbox: promote check failed at credential: ion ENVIRONMENT_MISMATCH: This client secret is a sandbox secret (ion_sbx_…); %s is environment \"production\". Use production credentials.\n", b.url)
	if code != 1 || stderr != want {
		t.Fatalf("exit %d, stderr %q\nwant exit 1, stderr %q", code, stderr, want)
	}

	// The sandbox's URL is not what --expect production asks for.
	_, stderr, code = runBinary(t, nil, append([]string{"promote", "check", "--expect", "production"}, b.sbxFlags()...)...)
	want = fmt.Sprintf("ionbox: promote check failed at expected kind: %s is sandbox %q, not production; check --base-url\n", b.sbxURL, b.sbxName)
	if code != 1 || stderr != want {
		t.Fatalf("exit %d, stderr %q\nwant exit 1, stderr %q", code, stderr, want)
	}

	// --json for scripts.
	out, err = runInProcess(t, append([]string{"promote", "check", "--json"}, b.sbxFlags()...)...)
	var rep struct {
		OK          bool
		Environment struct{ Kind, Name string }
	}
	if err != nil || json.Unmarshal([]byte(out), &rep) != nil || !rep.OK || rep.Environment.Kind != "sandbox" || rep.Environment.Name != b.sbxName {
		t.Fatalf("promote check --json: %v\n%s", err, out)
	}
}

func TestToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	out, err := runInProcess(t, append([]string{"token"}, b.sbxFlags()...)...)
	tok := strings.TrimSpace(out)
	if err != nil || strings.Count(tok, ".") != 2 {
		t.Fatalf("token printed %q: %v", out, err)
	}
	// The printed token works as ION_TOKEN.
	if out, err := runInProcess(t, "smoke", "--base-url", b.sbxURL, "--token", tok); err != nil {
		t.Fatalf("smoke with the printed token: %v\n%s", err, out)
	}
	// Missing credentials name the variables.
	_, stderr, code := runBinary(t, map[string]string{"ION_BASE_URL": b.url}, "token")
	if code != 1 || !strings.Contains(stderr, "set ION_CLIENT_ID and ION_CLIENT_SECRET (or --client-id and --client-secret), or ION_TOKEN") {
		t.Fatalf("token without credentials: exit %d, %s", code, stderr)
	}
}

// TestIONEnvSelectsTheVariables runs the real binary with both
// environments' variables set (and decoy unprefixed ones): ION_ENV, or
// --env, picks which set every developer command reads.
func TestIONEnvSelectsTheVariables(t *testing.T) {
	t.Parallel()
	b := setup(t)
	both := map[string]string{
		"ION_SANDBOX_BASE_URL": b.sbxURL, "ION_SANDBOX_CLIENT_ID": b.sbxID, "ION_SANDBOX_CLIENT_SECRET": b.sbxSecret,
		"ION_PROD_BASE_URL": b.url, "ION_PROD_CLIENT_ID": b.prodID, "ION_PROD_CLIENT_SECRET": b.prodSecret,
		// Decoys: with ION_ENV set, the unprefixed names are ignored.
		"ION_BASE_URL": "http://127.0.0.1:1", "ION_CLIENT_ID": "decoy", "ION_CLIENT_SECRET": "ion_prod_decoy",
	}
	with := func(extra map[string]string, drop ...string) map[string]string {
		m := map[string]string{}
		for k, v := range both {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		for _, k := range drop {
			delete(m, k)
		}
		return m
	}
	for _, tc := range []struct {
		name       string
		env        map[string]string
		args       []string
		wantCode   int
		wantStdout string // a regexp
		wantStderr string // exact
	}{
		{"token with ION_ENV=sandbox", with(map[string]string{"ION_ENV": "sandbox"}), []string{"token", "--json"}, 0, `"kind": "sandbox"`, ""},
		{"token with ION_ENV=prod", with(map[string]string{"ION_ENV": "prod"}), []string{"token", "--json"}, 0, `"kind": "production"`, ""},
		{"--env wins over ION_ENV", with(map[string]string{"ION_ENV": "sandbox"}), []string{"token", "--json", "--env", "prod"}, 0, `"kind": "production"`, ""},
		{"smoke with ION_ENV=sandbox", with(map[string]string{"ION_ENV": "sandbox"}), []string{"smoke"}, 0, `(?m)^clean up\s+ok\s`, ""},
		{"seed chain with ION_ENV=sandbox", with(map[string]string{"ION_ENV": "sandbox"}), []string{"seed", "chain"}, 0, `(?m)^SEED-1\s+installation\s+\d+\s+(created|found)$`, ""},
		{"promote check with ION_ENV=prod", with(map[string]string{"ION_ENV": "prod"}), []string{"promote", "check", "--expect", "production"}, 0, `(?m)^kind\s+production$`, ""},
		{"a flag wins over the variables", with(map[string]string{"ION_ENV": "prod"}), []string{"promote", "check", "--base-url", b.sbxURL, "--client-id", b.sbxID, "--client-secret", b.sbxSecret}, 0, `(?m)^kind\s+sandbox$`, ""},
		{"missing prefixed variable", with(map[string]string{"ION_ENV": "sandbox"}, "ION_SANDBOX_CLIENT_SECRET"), []string{"smoke"}, 1, ``,
			"ionbox: no credential: set ION_SANDBOX_CLIENT_ID and ION_SANDBOX_CLIENT_SECRET (or --client-id and --client-secret), or ION_SANDBOX_TOKEN\n"},
		{"missing prefixed base URL", with(map[string]string{"ION_ENV": "prod"}, "ION_PROD_BASE_URL"), []string{"token"}, 1, ``,
			"ionbox: no environment: set ION_PROD_BASE_URL or --base-url\n"},
		{"unknown ION_ENV", with(map[string]string{"ION_ENV": "staging"}), []string{"token"}, 1, ``,
			"ionbox: --env / ION_ENV \"staging\": want sandbox or prod (or unset, for ION_BASE_URL, ION_CLIENT_ID, …)\n"},
	} {
		stdout, stderr, code := runBinary(t, tc.env, tc.args...)
		if code != tc.wantCode || !regexp.MustCompile(tc.wantStdout).MatchString(stdout) || (tc.wantStderr != "" && stderr != tc.wantStderr) {
			t.Errorf("%s: exit %d\nstdout:\n%s\nstderr: %q\nwant exit %d, stdout matching %s, stderr %q", tc.name, code, stdout, stderr, tc.wantCode, tc.wantStdout, tc.wantStderr)
		}
	}
}
