package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// Provisioning a large seeded sandbox takes minutes the first time (its
// seed data is built). While the request or approval call runs, the CLI
// polls the sandbox (GET /admin/v1/sandboxes/{name} shows "progress" while
// it provisions) and shows how far it has come on stderr: a bar that
// redraws itself on a terminal, plain lines otherwise (logs, CI, --json),
// so that stdout stays the call's answer alone.

// progressAfter is how long a call runs before progress is shown: quick
// provisioning (blank, seeded-small) prints nothing extra.
const progressAfter = time.Second

// progressPoll is how often the sandbox's progress is read.
const progressPoll = 500 * time.Millisecond

// withProgress runs call (which provisions sandbox name) and meanwhile
// shows the sandbox's provisioning progress on g.Stderr.
func (f *AdminFlags) withProgress(g *Globals, name string, call func(ctx context.Context) error) error {
	done := make(chan error, 1)
	go func() { done <- call(g.Ctx) }()
	p := newProgressPrinter(g.Stderr, isTerminal(g.Stderr) && !f.JSON)
	defer p.finish()
	wait := time.NewTimer(progressAfter)
	defer wait.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-wait.C:
		}
		var sb struct {
			State    string
			Progress *struct {
				Phase       string
				Done, Total int
			}
		}
		if err := f.call(g.Ctx, http.MethodGet, sandboxPath(name), nil, &sb); err == nil {
			switch {
			case sb.Progress != nil:
				p.show(sb.Progress.Phase, sb.Progress.Done, sb.Progress.Total)
			case sb.State == "provisioning":
				p.show("provisioning", 0, 0)
			}
		}
		wait.Reset(progressPoll)
	}
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressPrinter draws progress as a bar on a terminal, or as a line per
// phase and per tenth done otherwise.
type progressPrinter struct {
	w         io.Writer
	tty       bool
	drawn     bool   // a bar is on the terminal's current line
	lastPhase string // plain: the phase last printed
	lastTenth int    // plain: the tenth last printed in that phase
}

func newProgressPrinter(w io.Writer, tty bool) *progressPrinter {
	return &progressPrinter{w: w, tty: tty, lastTenth: -1}
}

const barWidth = 30

func (p *progressPrinter) show(phase string, done, total int) {
	pct := -1
	if total > 0 {
		pct = min(100, done*100/total)
	}
	if p.tty {
		line := phase + "…"
		if pct >= 0 {
			fill := pct * barWidth / 100
			line = fmt.Sprintf("[%s%s] %3d%% %s (%d/%d)", strings.Repeat("#", fill), strings.Repeat(".", barWidth-fill), pct, phase, done, total)
		}
		// \r and "erase line" redraw the bar in place.
		fmt.Fprintf(p.w, "\r\x1b[K%s", line)
		p.drawn = true
		return
	}
	tenth := max(pct/10, 0)
	if phase == p.lastPhase && tenth <= p.lastTenth {
		return
	}
	if phase != p.lastPhase {
		p.lastTenth = -1
	}
	p.lastPhase, p.lastTenth = phase, tenth
	if pct < 0 {
		fmt.Fprintf(p.w, "%s…\n", phase)
		return
	}
	fmt.Fprintf(p.w, "%s: %d%% (%d/%d)\n", phase, pct, done, total)
}

// finish ends a bar's line, so that what follows starts on its own.
func (p *progressPrinter) finish() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

// requestName finds the sandbox name of request id, for showing the
// progress of its approval.
func (f *AdminFlags) requestName(g *Globals, id int64) string {
	var list struct {
		SandboxRequests []struct {
			ID   int64
			Name string
		}
	}
	if err := f.call(g.Ctx, http.MethodGet, "/admin/v1/sandbox-requests", nil, &list); err != nil {
		return ""
	}
	for _, r := range list.SandboxRequests {
		if r.ID == id {
			return r.Name
		}
	}
	return ""
}

// provision posts body to path (a sandbox request or an approval), without
// the usual time limit, showing the progress of sandbox name meanwhile.
func (f *AdminFlags) provision(g *Globals, name, path string, body any) (json.RawMessage, error) {
	var raw json.RawMessage
	call := func(ctx context.Context) error {
		return f.callWithin(ctx, 0, http.MethodPost, path, body, &raw)
	}
	if name == "" {
		return raw, call(g.Ctx)
	}
	return raw, f.withProgress(g, name, call)
}
