package cli

import (
	"bytes"
	"testing"
)

func TestSnapshotProgressRendering(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		p          snapshotProgress
		bar, plain string
		tenth      int64
	}{
		{"start", snapshotProgress{"copying", 0, 1000000}, "copying   [..........]   0%  0/1000000 rows", "snapshot copying: 0/1000000 rows (0%)", 0},
		{"midway", snapshotProgress{"copying", 450000, 1000000}, "copying   [####......]  45%  450000/1000000 rows", "snapshot copying: 450000/1000000 rows (45%)", 4},
		{"verified", snapshotProgress{"verifying", 1000000, 1000000}, "verifying [##########] 100%  1000000/1000000 rows", "snapshot verifying: 1000000/1000000 rows (100%)", 10},
		{"empty organization", snapshotProgress{"copying", 0, 0}, "copying   [..........]   0%  0/0 rows", "snapshot copying: 0/0 rows (0%)", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := progressBar(c.p, 10); got != c.bar {
				t.Errorf("bar = %q; want %q", got, c.bar)
			}
			if got := plainProgress(c.p); got != c.plain {
				t.Errorf("plain = %q; want %q", got, c.plain)
			}
			if got := lineOf(c.p); got.tenth != c.tenth || got.phase != c.p.Phase {
				t.Errorf("line = %+v; want tenth %d", got, c.tenth)
			}
		})
	}
	if isTerminal(&bytes.Buffer{}) {
		t.Error("a buffer counts as a terminal")
	}
}
