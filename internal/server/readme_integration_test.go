package server

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeSection returns the text of the README section titled title, up to
// the next section.
func readmeSection(t *testing.T, title string) string {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	start := strings.Index(s, "\n## "+title+"\n")
	if start < 0 {
		t.Fatalf("README has no section %q", title)
	}
	s = s[start+1:]
	if end := strings.Index(s[3:], "\n## "); end >= 0 {
		s = s[:end+3]
	}
	return s
}

// fencedBlocks returns the bodies of the section's ``` blocks of language lang.
func fencedBlocks(section, lang string) []string {
	re := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```")
	var out []string
	for _, m := range re.FindAllStringSubmatch(section, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestBuildAnIntegrationReadme runs the README's "Build an integration"
// walk-through: the real binary serves (as block 1 says), then every other
// sh block runs in one bash session in the server's directory, with the
// default URL replaced by the server's actual one. Each block's exit status
// and key output lines are checked.
func TestBuildAnIntegrationReadme(t *testing.T) {
	t.Parallel()
	section := readmeSection(t, "Build an integration")
	blocks := fencedBlocks(section, "sh")
	texts := fencedBlocks(section, "text")
	if len(blocks) != 6 || len(texts) != 1 {
		t.Fatalf("the section has %d sh blocks and %d text blocks, want 6 and 1; update this test with the README", len(blocks), len(texts))
	}
	if !strings.Contains(blocks[0], "./ionbox serve") {
		t.Fatalf("block 1 should start the server:\n%s", blocks[0])
	}

	work := t.TempDir()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bin, filepath.Join(work, "ionbox")); err != nil {
		t.Fatal(err)
	}
	p := startProcess(t, filepath.Join(work, "ionbox-data"))
	const defaultURL = "http://127.0.0.1:8080"

	// The shell's environment: no ION_* or IONBOX_* from the test's own,
	// and the admin commands pointed at this server (their default is
	// the README's URL).
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ION_") && !strings.HasPrefix(kv, "IONBOX_") {
			env = append(env, kv)
		}
	}
	env = append(env, "IONBOX_URL="+p.url, "NO_COLOR=1")

	run := func(i int) (stdout, stderr string, code int) {
		t.Helper()
		script := strings.ReplaceAll(blocks[i], defaultURL, p.url)
		// Variables exported by earlier blocks carry over, as in one shell.
		cmd := exec.Command("bash", "-c", "set -eo pipefail\n[ -f .env.sh ] && source .env.sh\n"+script+
			"\nexport -p | grep -E '^declare -x ION_' > .env.sh || true\n")
		cmd.Dir, cmd.Env = work, env
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}
	exported := func() string {
		b, _ := os.ReadFile(filepath.Join(work, ".env.sh"))
		return string(b)
	}
	mismatch := strings.ReplaceAll(strings.TrimSpace(texts[0]), defaultURL, p.url)
	mismatchLines := strings.Split(mismatch, "\n")

	for _, tc := range []struct {
		block      int
		wantStdout []string // regexps
		wantEnv    []string // regexps over the exported ION_* variables
		wantStderr string   // exact, when not empty
	}{
		{1, []string{`(?m)^1\s+Acme\s+acme\.example\s+standard$`, `(?m)^1\s+Ada Lovelace\s+ada@acme\.example\s+admin$`},
			[]string{`ION_PROD_BASE_URL="` + regexp.QuoteMeta(p.url) + `"`, `ION_PROD_CLIENT_ID="[0-9a-f-]{36}"`, `ION_PROD_CLIENT_SECRET="ion_prod_\S+"`}, ""},
		{2, nil, []string{`ION_SANDBOX_BASE_URL="` + regexp.QuoteMeta(p.url) + `/sandboxes/acme-erp-dev"`, `ION_SANDBOX_CLIENT_ID="\S+"`, `ION_SANDBOX_CLIENT_SECRET="ion_sbx_\S+"`}, ""},
		{3, []string{`(?m)^SEED-2\s+installation\s+\d+\s+(created|completed)$`, `(?m)^SEED-2\s+installation\s+\d+\s+found$`,
			`(?m)^currentUser\s+ok\s`, `(?m)^write\s+ok\s`, `(?m)^read back\s+ok\s`, `(?m)^clean up\s+ok\s`}, []string{`ION_ENV="sandbox"`}, ""},
		{4, []string{`(?m)^discover\s+ok\s`, `(?m)^expected kind\s+ok\s+production$`, `(?m)^credential\s+ok\s`, `(?m)^currentUser\s+ok\s+Ada Lovelace <ada@acme\.example>$`,
			`(?m)^organization\s+acme\.example \(id 1\)$`, `(?m)^kind\s+production$`, `(?m)^rate limits\s+\S`}, nil, ""},
		{5, []string{`(?m)^` + regexp.QuoteMeta(mismatchLines[1]) + `$`}, nil, mismatchLines[0] + "\n"},
	} {
		stdout, stderr, code := run(tc.block)
		if code != 0 {
			t.Fatalf("block %d exited %d:\n%s\nstdout:\n%s\nstderr:\n%s", tc.block+1, code, blocks[tc.block], stdout, stderr)
		}
		for _, re := range tc.wantStdout {
			if !regexp.MustCompile(re).MatchString(stdout) {
				t.Fatalf("block %d: stdout does not match %s:\n%s\nstderr:\n%s", tc.block+1, re, stdout, stderr)
			}
		}
		for _, re := range tc.wantEnv {
			if !regexp.MustCompile(re).MatchString(exported()) {
				t.Fatalf("block %d: exported variables do not match %s:\n%s", tc.block+1, re, exported())
			}
		}
		if tc.wantStderr != "" && stderr != tc.wantStderr {
			t.Fatalf("block %d: stderr %q\nwant %q (the README's text block)", tc.block+1, stderr, tc.wantStderr)
		}
	}
}
