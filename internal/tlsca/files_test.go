package tlsca

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		existing string // "" for no file before
		replace  bool
		mode     fs.FileMode
		wantErr  error
		want     string
	}{
		{name: "creates", mode: 0o644, want: "new"},
		{name: "creates without replacing", mode: 0o600, want: "new"},
		{name: "replaces", existing: "old", replace: true, mode: 0o600, want: "new"},
		// How two processes racing to create the CA are kept from
		// installing two different ones.
		{name: "refuses to replace", existing: "old", mode: 0o600, wantErr: fs.ErrExist, want: "old"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "f.pem")
			if tt.existing != "" {
				if err := os.WriteFile(path, []byte(tt.existing), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := writeFile(path, []byte("new"), tt.mode, tt.replace)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("writeFile: %v, want %v", err, tt.wantErr)
			}
			if got := string(readFile(t, path)); got != tt.want {
				t.Errorf("file holds %q, want %q", got, tt.want)
			}
			if tt.wantErr == nil {
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != tt.mode {
					t.Errorf("mode = %v, want %v", fi.Mode().Perm(), tt.mode)
				}
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Errorf("directory holds %d entries, want 1 (temporary file left behind?)", len(entries))
			}
		})
	}
}
