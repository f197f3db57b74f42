package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/ionbox/ionbox/internal/scrub"
)

// SandboxCmd groups the operator's sandbox commands: one verb per admin API
// call (CONTROL-API.md).
type SandboxCmd struct {
	Request     SandboxRequestCmd     `cmd:"" help:"Request a sandbox for a production organization (blank sandboxes are provisioned at once)."`
	Approve     SandboxApproveCmd     `cmd:"" help:"Approve a pending sandbox request and provision it."`
	Reject      SandboxRejectCmd      `cmd:"" help:"Reject a pending sandbox request."`
	List        SandboxListCmd        `cmd:"" help:"List sandboxes."`
	Show        SandboxShowCmd        `cmd:"" help:"Show one sandbox."`
	Reset       SandboxResetCmd       `cmd:"" help:"Reset a sandbox to its baseline or a checkpoint."`
	Checkpoint  SandboxCheckpointCmd  `cmd:"" help:"Save the sandbox's current data as a named checkpoint."`
	Extend      SandboxExtendCmd      `cmd:"" help:"Extend a sandbox's life, or pin it so it never expires."`
	Credentials SandboxCredentialsCmd `cmd:"" help:"Create a credential for a service account of a sandbox (the secret is shown once)."`
	Delete      SandboxDeleteCmd      `cmd:"" help:"Delete a sandbox and all its data."`
	ScrubPolicy ScrubPolicyCmd        `cmd:"" name:"scrub-policy" help:"Print the default scrub policy of snapshot sandboxes (to start a --scrub-policy file from)."`
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
	var raw json.RawMessage
	if err := c.call(g.Ctx, http.MethodPost, "/admin/v1/sandbox-requests", body, &raw); err != nil {
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

// Run approves the request and, for a snapshot (which copies a whole
// organization), shows the copy's progress while the call runs: a bar on a
// terminal, a line per phase and tenth otherwise.
func (c *SandboxApproveCmd) Run(g *Globals) error {
	type answer struct {
		raw json.RawMessage
		err error
	}
	done := make(chan answer, 1)
	go func() {
		var raw json.RawMessage
		err := c.call(g.Ctx, http.MethodPost, fmt.Sprintf("/admin/v1/sandbox-requests/%d/approve", c.ID), map[string]string{"note": c.Note}, &raw)
		done <- answer{raw, err}
	}()
	var a answer
	if name := c.snapshotName(g); name != "" && !c.JSON {
		c.watchProgress(g, name, func() bool {
			select {
			case a = <-done:
				return true
			default:
				return false
			}
		})
	} else {
		a = <-done
	}
	if a.err != nil {
		return a.err
	}
	return c.printResult(g, a.raw)
}

// snapshotName is the name of request c.ID if it is a pending snapshot
// request, else "".
func (c *SandboxApproveCmd) snapshotName(g *Globals) string {
	var list struct {
		SandboxRequests []struct {
			ID                  int64
			Name, Shape, Status string
		}
	}
	if c.call(g.Ctx, http.MethodGet, "/admin/v1/sandbox-requests", nil, &list) != nil {
		return "" // the approval itself will say what is wrong
	}
	for _, r := range list.SandboxRequests {
		if r.ID == c.ID && r.Shape == "snapshot" && r.Status == "pending" {
			return r.Name
		}
	}
	return ""
}

// progressPoll is how often approve asks how far a snapshot has got.
const progressPoll = 200 * time.Millisecond

// watchProgress shows sandbox name's snapshot progress on stderr until
// finished reports true.
func (c *SandboxApproveCmd) watchProgress(g *Globals, name string, finished func() bool) {
	tty := isTerminal(g.Stderr)
	tick := time.NewTicker(progressPoll)
	defer tick.Stop()
	var last progressLine
	shown := false
	for !finished() {
		select {
		case <-tick.C:
		case <-g.Ctx.Done():
			return
		}
		var sb struct{ Progress *snapshotProgress }
		// Total is 0 until the store has counted the rows.
		if c.call(g.Ctx, http.MethodGet, sandboxPath(name), nil, &sb) != nil || sb.Progress == nil || sb.Progress.Total == 0 {
			continue
		}
		p := *sb.Progress
		if tty {
			fmt.Fprint(g.Stderr, "\r"+progressBar(p, 30))
			shown = true
			continue
		}
		if l := lineOf(p); l != last {
			fmt.Fprintln(g.Stderr, plainProgress(p))
			last = l
		}
	}
	if shown {
		fmt.Fprintln(g.Stderr)
	}
}

// snapshotProgress is the admin API's progress of a snapshot.
type snapshotProgress struct {
	Phase       string
	Done, Total int64
}

// progressLine is what a plain progress line stands for: a phase and a
// tenth of it, so that a log gets at most eleven lines per phase.
type progressLine struct {
	phase string
	tenth int64
}

func lineOf(p snapshotProgress) progressLine {
	if p.Total <= 0 {
		return progressLine{p.Phase, 0}
	}
	return progressLine{p.Phase, p.Done * 10 / p.Total}
}

func percent(p snapshotProgress) int64 {
	if p.Total <= 0 {
		return 0
	}
	return min(p.Done*100/p.Total, 100)
}

// plainProgress is one line for a log: "snapshot copying: 450000/1000000 rows (45%)".
func plainProgress(p snapshotProgress) string {
	return fmt.Sprintf("snapshot %s: %d/%d rows (%d%%)", p.Phase, p.Done, p.Total, percent(p))
}

// progressBar is a terminal bar of width cells:
// "copying   [#############.................]  45%  450000/1000000 rows".
func progressBar(p snapshotProgress, width int) string {
	filled := int(percent(p)) * width / 100
	return fmt.Sprintf("%-9s [%s%s] %3d%%  %d/%d rows", p.Phase, strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		percent(p), p.Done, p.Total)
}

// isTerminal reports whether w is a character device (a terminal), where
// a bar redrawn with \r reads well; elsewhere plain lines do.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
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
