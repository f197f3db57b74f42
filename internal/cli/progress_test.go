package cli

import (
	"bytes"
	"testing"
)

func TestProgressPrinter(t *testing.T) {
	t.Parallel()
	type step struct {
		phase       string
		done, total int
	}
	steps := []step{
		{"provisioning", 0, 0},
		{"building seed data", 0, 200},
		{"building seed data", 5, 200},
		{"building seed data", 40, 200},
		{"building seed data", 41, 200},
		{"building seed data", 200, 200},
		{"loading seed data", 0, 0},
	}
	for _, tc := range []struct {
		name string
		tty  bool
		want string
	}{
		{"plain lines: one per phase and per tenth", false,
			"provisioning…\nbuilding seed data: 0% (0/200)\nbuilding seed data: 20% (40/200)\nbuilding seed data: 100% (200/200)\nloading seed data…\n"},
		{"a bar redrawn in place on a terminal", true,
			"\r\x1b[Kprovisioning…" +
				"\r\x1b[K[..............................]   0% building seed data (0/200)" +
				"\r\x1b[K[..............................]   2% building seed data (5/200)" +
				"\r\x1b[K[######........................]  20% building seed data (40/200)" +
				"\r\x1b[K[######........................]  20% building seed data (41/200)" +
				"\r\x1b[K[##############################] 100% building seed data (200/200)" +
				"\r\x1b[Kloading seed data…\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			p := newProgressPrinter(&out, tc.tty)
			for _, s := range steps {
				p.show(s.phase, s.done, s.total)
			}
			p.finish()
			if got := out.String(); got != tc.want {
				t.Fatalf("printed %q\nwant    %q", got, tc.want)
			}
		})
	}
	if isTerminal(&bytes.Buffer{}) {
		t.Fatal("a buffer counts as a terminal")
	}
}
