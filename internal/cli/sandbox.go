package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ionbox/ionbox/internal/scrub"
)

// SandboxCmd groups the operator's sandbox commands: one verb per admin API
// call (CONTROL-API.md).
type SandboxCmd struct {
	Request          SandboxRequestCmd          `cmd:"" help:"Request a sandbox for a production organization (blank and seeded sandboxes are provisioned at once)."`
	Requests         SandboxRequestsCmd         `cmd:"" help:"List sandbox requests, newest first."`
	Approve          SandboxApproveCmd          `cmd:"" help:"Approve a pending sandbox request and provision it."`
	Reject           SandboxRejectCmd           `cmd:"" help:"Reject a pending sandbox request."`
	List             SandboxListCmd             `cmd:"" help:"List sandboxes."`
	Show             SandboxShowCmd             `cmd:"" help:"Show one sandbox."`
	Reset            SandboxResetCmd            `cmd:"" help:"Reset a sandbox to its baseline or a checkpoint."`
	Checkpoint       SandboxCheckpointCmd       `cmd:"" help:"Save the sandbox's current data as a named checkpoint."`
	Checkpoints      SandboxCheckpointsCmd      `cmd:"" help:"List a sandbox's checkpoints, oldest first."`
	DeleteCheckpoint SandboxDeleteCheckpointCmd `cmd:"" name:"delete-checkpoint" help:"Delete a checkpoint of a sandbox."`
	Extend           SandboxExtendCmd           `cmd:"" help:"Extend a sandbox's life, or pin it so it never expires."`
	Credentials      SandboxCredentialsCmd      `cmd:"" help:"Create a credential for a service account of a sandbox (the secret is shown once)."`
	Events           SandboxEventsCmd           `cmd:"" help:"Show a sandbox's lifecycle log (it outlives the sandbox)."`
	Delete           SandboxDeleteCmd           `cmd:"" help:"Delete a sandbox and all its data."`
	ScrubPolicy      ScrubPolicyCmd             `cmd:"" name:"scrub-policy" help:"Print the default scrub policy of snapshot sandboxes (to start a --scrub-policy file from)."`
}

// ScrubPolicyCmd is `ionbox sandbox scrub-policy`.
type ScrubPolicyCmd struct{}

func (c *ScrubPolicyCmd) Run(g *Globals) error {
	_, err := g.Stdout.Write(scrub.DefaultPolicyYAML())
	return err
}

type sandboxRow struct {
	Name, State, Shape, BaseURL string
	ExpiresAt                   *string
}

func (r sandboxRow) cells() []string {
	exp := "-"
	if r.ExpiresAt != nil {
		exp = *r.ExpiresAt
	}
	return []string{r.Name, r.State, r.Shape, r.BaseURL, exp}
}

var sandboxHeader = []string{"NAME", "STATE", "SHAPE", "BASE URL", "EXPIRES"}

// printResult prints a sandbox request's outcome: the sandbox and, once,
// its credentials.
func (f *AdminFlags) printResult(g *Globals, raw json.RawMessage) error {
	var res struct {
		ID          int64
		Status      string
		Sandbox     *sandboxRow
		Credentials []struct{ ServiceAccount, ClientID, ClientSecret string }
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return err
	}
	if f.JSON {
		return f.print(g, raw, nil, nil)
	}
	fmt.Fprintf(g.Stdout, "request %d: %s\n", res.ID, res.Status)
	if res.Sandbox != nil {
		if err := f.print(g, raw, sandboxHeader, [][]string{res.Sandbox.cells()}); err != nil {
			return err
		}
	}
	for _, c := range res.Credentials {
		fmt.Fprintf(g.Stdout, "service account %s: ION_CLIENT_ID=%s ION_CLIENT_SECRET=%s\n", c.ServiceAccount, c.ClientID, c.ClientSecret)
	}
	if len(res.Credentials) > 0 {
		fmt.Fprintln(g.Stderr, "Secrets are shown once; they are stored only as hashes.")
	}
	return nil
}

type SandboxRequestCmd struct {
	AdminFlags
	Org            int64    `required:"" help:"Production organization id."`
	Name           string   `required:"" help:"Sandbox name (a DNS label, e.g. acme-erp-dev)."`
	Reason         string   `help:"Why the sandbox is needed."`
	Integration    string   `help:"The integration being built."`
	Shape          string   `default:"blank" enum:"blank,seeded,snapshot" help:"Data shape."`
	Size           string   `enum:",small,large" default:"" help:"Size of a seeded sandbox's data: small (default) or large (at least 1,000,000 rows; minutes the first time, with progress shown)."`
	Member         []string `help:"Member as name:email (repeatable)."`
	ServiceAccount []string `name:"service-account" help:"Service account name (repeatable); each gets a credential."`
	Feature        []string `help:"Preview feature flag to turn on (repeatable)."`
	TTLDays        int      `name:"ttl-days" help:"Hard end after this many days (0: none)."`
	Export         bool     `name:"export" help:"Print export lines for the shell instead: ION_SANDBOX_BASE_URL and the first service account's ION_SANDBOX_CLIENT_ID and ION_SANDBOX_CLIENT_SECRET, for eval \"$(ionbox sandbox request … --export)\"."`
}

func (c *SandboxRequestCmd) Run(g *Globals) error {
	members := []map[string]string{}
	for _, m := range c.Member {
		name, email, ok := strings.Cut(m, ":")
		if !ok {
			return fmt.Errorf("--member %q: write it as name:email, e.g. \"Ada Lovelace:ada@acme.example\"", m)
		}
		members = append(members, map[string]string{"name": name, "email": email})
	}
	accounts := []map[string]string{}
	for _, a := range c.ServiceAccount {
		accounts = append(accounts, map[string]string{"name": a})
	}
	body := map[string]any{
		"organizationId": c.Org, "name": c.Name, "reason": c.Reason, "integration": c.Integration, "shape": c.Shape,
		"members": members, "serviceAccounts": accounts, "features": c.Feature,
	}
	if c.TTLDays > 0 {
		body["ttlDays"] = c.TTLDays
	}
	if c.Size != "" {
		body["size"] = c.Size
	}
	raw, err := c.provision(g, c.Name, "/admin/v1/sandbox-requests", body)
	if err != nil {
		return err
	}
	if c.Export {
		return printSandboxExports(g, raw)
	}
	return c.printResult(g, raw)
}

// printSandboxExports prints a provisioned sandbox's base URL and first
// credential as shell export lines (the ION_SANDBOX_* names that ION_ENV=sandbox
// reads), so that eval puts them in the shell and nothing else is printed.
func printSandboxExports(g *Globals, raw json.RawMessage) error {
	var res struct {
		Status      string
		Sandbox     *sandboxRow
		Credentials []struct{ ServiceAccount, ClientID, ClientSecret string }
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return err
	}
	if res.Sandbox == nil {
		return fmt.Errorf("--export: the request is %s, so there is no sandbox to export yet; approve it (ionbox sandbox approve), then use ionbox sandbox credentials", res.Status)
	}
	if len(res.Credentials) == 0 {
		return fmt.Errorf("--export: the request has no service account, so there is no credential to export; add --service-account NAME")
	}
	k := res.Credentials[0]
	fmt.Fprintf(g.Stdout, "export ION_SANDBOX_BASE_URL=%s\nexport ION_SANDBOX_CLIENT_ID=%s\nexport ION_SANDBOX_CLIENT_SECRET=%s\n",
		shellQuote(res.Sandbox.BaseURL), shellQuote(k.ClientID), shellQuote(k.ClientSecret))
	fmt.Fprintf(g.Stderr, "Sandbox %s: service account %s's secret is shown once; it is stored only as a hash.\n", res.Sandbox.Name, k.ServiceAccount)
	return nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

type SandboxApproveCmd struct {
	AdminFlags
	ID   int64  `arg:"" help:"Sandbox request id."`
	Note string `help:"Approver's note."`
}

// Run approves the request and, while a long provisioning runs (a
// snapshot copies a whole organization; a large seeded sandbox builds its
// data the first time), shows its progress (see withProgress).
func (c *SandboxApproveCmd) Run(g *Globals) error {
	raw, err := c.provision(g, c.requestName(g, c.ID), fmt.Sprintf("/admin/v1/sandbox-requests/%d/approve", c.ID), map[string]string{"note": c.Note})
	if err != nil {
		return err
	}
	return c.printResult(g, raw)
}

type SandboxRejectCmd struct {
	AdminFlags
	ID     int64  `arg:"" help:"Sandbox request id."`
	Reason string `help:"Why it is rejected."`
}

func (c *SandboxRejectCmd) Run(g *Globals) error {
	var raw json.RawMessage
	if err := c.call(g.Ctx, http.MethodPost, fmt.Sprintf("/admin/v1/sandbox-requests/%d/reject", c.ID), map[string]string{"reason": c.Reason}, &raw); err != nil {
		return err
	}
	var r struct {
		ID     int64
		Status string
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	return c.print(g, raw, []string{"ID", "STATUS"}, [][]string{{fmt.Sprint(r.ID), r.Status}})
}

type SandboxListCmd struct{ AdminFlags }

func (c *SandboxListCmd) Run(g *Globals) error {
	var raw json.RawMessage
	if err := c.call(g.Ctx, http.MethodGet, "/admin/v1/sandboxes", nil, &raw); err != nil {
		return err
	}
	var list struct{ Sandboxes []sandboxRow }
	if err := json.Unmarshal(raw, &list); err != nil {
		return err
	}
	rows := [][]string{}
	for _, s := range list.Sandboxes {
		rows = append(rows, s.cells())
	}
	return c.print(g, raw, sandboxHeader, rows)
}

// sandboxPath is the admin path of sandbox name, escaped.
func sandboxPath(name string, rest ...string) string {
	return "/admin/v1/sandboxes/" + url.PathEscape(name) + strings.Join(rest, "")
}

type SandboxShowCmd struct {
	AdminFlags
	Name string `arg:"" help:"Sandbox name."`
}

func (c *SandboxShowCmd) Run(g *Globals) error {
	var raw json.RawMessage
	if err := c.call(g.Ctx, http.MethodGet, sandboxPath(c.Name), nil, &raw); err != nil {
		return err
	}
	var s sandboxRow
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	return c.print(g, raw, sandboxHeader, [][]string{s.cells()})
}

type SandboxResetCmd struct {
	AdminFlags
	Name       string `arg:"" help:"Sandbox name."`
	Checkpoint string `help:"Checkpoint to reset to (default: the baseline)."`
}

func (c *SandboxResetCmd) Run(g *Globals) error {
	body := map[string]any{}
	if c.Checkpoint != "" {
		body["checkpoint"] = c.Checkpoint
	}
	var raw json.RawMessage
	if err := c.call(g.Ctx, http.MethodPost, sandboxPath(c.Name, "/reset"), body, &raw); err != nil {
		return err
	}
	var r struct {
		Name, State, ResetTo string
		DurationMs           float64
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	return c.print(g, raw, []string{"NAME", "STATE", "RESET TO", "MS"}, [][]string{{r.Name, r.State, r.ResetTo, fmt.Sprint(r.DurationMs)}})
}

type SandboxCheckpointCmd struct {
	AdminFlags
	Sandbox string `arg:"" help:"Sandbox name."`
	Name    string `arg:"" help:"Checkpoint name."`
}

func (c *SandboxCheckpointCmd) Run(g *Globals) error {
	var raw json.RawMessage
	if err := c.call(g.Ctx, http.MethodPost, sandboxPath(c.Sandbox, "/checkpoints"), map[string]string{"name": c.Name}, &raw); err != nil {
		return err
	}
	var r struct{ Name, CreatedAt string }
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	return c.print(g, raw, []string{"CHECKPOINT", "CREATED"}, [][]string{{r.Name, r.CreatedAt}})
}

type SandboxExtendCmd struct {
	AdminFlags
	Name   string `arg:"" help:"Sandbox name."`
	Days   int    `help:"Days to add to a sandbox with a hard end."`
	Pinned bool   `help:"Pin the sandbox so it never expires."`
}

func (c *SandboxExtendCmd) Run(g *Globals) error {
	body := map[string]any{}
	if c.Days > 0 {
		body["days"] = c.Days
	}
	if c.Pinned {
		body["pinned"] = true
	}
	var raw json.RawMessage
	if err := c.call(g.Ctx, http.MethodPost, sandboxPath(c.Name, "/extend"), body, &raw); err != nil {
		return err
	}
	var s sandboxRow
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	return c.print(g, raw, sandboxHeader, [][]string{s.cells()})
}

type SandboxCredentialsCmd struct {
	AdminFlags
	Name           string `arg:"" help:"Sandbox name."`
	ServiceAccount string `name:"service-account" required:"" help:"Service account (created if new)."`
}

func (c *SandboxCredentialsCmd) Run(g *Globals) error {
	var raw json.RawMessage
	if err := c.call(g.Ctx, http.MethodPost, sandboxPath(c.Name, "/credentials"), map[string]string{"serviceAccount": c.ServiceAccount}, &raw); err != nil {
		return err
	}
	if c.JSON {
		return c.print(g, raw, nil, nil)
	}
	var k struct{ ServiceAccount, ClientID, ClientSecret string }
	if err := json.Unmarshal(raw, &k); err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "ION_CLIENT_ID=%s\nION_CLIENT_SECRET=%s\n", k.ClientID, k.ClientSecret)
	fmt.Fprintln(g.Stderr, "The secret is shown once; it is stored only as a hash.")
	return nil
}

type SandboxDeleteCmd struct {
	AdminFlags
	Name string `arg:"" help:"Sandbox name."`
}

func (c *SandboxDeleteCmd) Run(g *Globals) error {
	if err := c.call(g.Ctx, http.MethodDelete, sandboxPath(c.Name), nil, nil); err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "deleted %s\n", c.Name)
	return nil
}

type SandboxRequestsCmd struct{ AdminFlags }

func (c *SandboxRequestsCmd) Run(g *Globals) error {
	var raw json.RawMessage
	if err := c.call(g.Ctx, http.MethodGet, "/admin/v1/sandbox-requests", nil, &raw); err != nil {
		return err
	}
	var list struct {
		SandboxRequests []struct {
			ID                                     int64
			OrganizationID                         int64
			Name, Shape, Size, Status, RequestedBy string
		}
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return err
	}
	rows := [][]string{}
	for _, r := range list.SandboxRequests {
		shape := r.Shape
		if r.Size != "" {
			shape += " (" + r.Size + ")"
		}
		rows = append(rows, []string{fmt.Sprint(r.ID), fmt.Sprint(r.OrganizationID), r.Name, shape, r.Status, r.RequestedBy})
	}
	return c.print(g, raw, []string{"ID", "ORG", "NAME", "SHAPE", "STATUS", "REQUESTED BY"}, rows)
}

type SandboxCheckpointsCmd struct {
	AdminFlags
	Sandbox string `arg:"" help:"Sandbox name."`
}

func (c *SandboxCheckpointsCmd) Run(g *Globals) error {
	var raw json.RawMessage
	if err := c.call(g.Ctx, http.MethodGet, sandboxPath(c.Sandbox, "/checkpoints"), nil, &raw); err != nil {
		return err
	}
	var list struct {
		Checkpoints []struct{ Name, CreatedAt string }
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return err
	}
	rows := [][]string{}
	for _, cp := range list.Checkpoints {
		rows = append(rows, []string{cp.Name, cp.CreatedAt})
	}
	return c.print(g, raw, []string{"CHECKPOINT", "CREATED"}, rows)
}

type SandboxDeleteCheckpointCmd struct {
	AdminFlags
	Sandbox string `arg:"" help:"Sandbox name."`
	Name    string `arg:"" help:"Checkpoint name."`
}

func (c *SandboxDeleteCheckpointCmd) Run(g *Globals) error {
	if err := c.call(g.Ctx, http.MethodDelete, sandboxPath(c.Sandbox, "/checkpoints/", url.PathEscape(c.Name)), nil, nil); err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "deleted checkpoint %s of %s\n", c.Name, c.Sandbox)
	return nil
}

type SandboxEventsCmd struct {
	AdminFlags
	Sandbox string `arg:"" help:"Sandbox name."`
}

func (c *SandboxEventsCmd) Run(g *Globals) error {
	var raw json.RawMessage
	if err := c.call(g.Ctx, http.MethodGet, sandboxPath(c.Sandbox, "/events"), nil, &raw); err != nil {
		return err
	}
	var list struct {
		Events []struct{ Kind, Actor, Detail, At string }
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return err
	}
	rows := [][]string{}
	for _, e := range list.Events {
		rows = append(rows, []string{e.At, e.Kind, e.Actor, e.Detail})
	}
	return c.print(g, raw, []string{"AT", "KIND", "ACTOR", "DETAIL"}, rows)
}
