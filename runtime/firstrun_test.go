package runtime_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	wasmrt "github.com/wasmrun/wasmrun/runtime"
)

// TestDefaultStoreFreshAccount runs New with no store on an account whose data directory does
// not exist yet (HOME, or XDG_DATA_HOME, an empty directory; no $WASMRUN_STORE): the default
// store and its directories are created, and what one Runtime writes the next one reads.
func TestDefaultStoreFreshAccount(t *testing.T) {
	tests := []struct {
		name      string
		xdg       bool
		wantStore string // relative to HOME, or to XDG_DATA_HOME
	}{
		{name: "HOME", wantStore: ".local/share/wasmrun/default.store"},
		{name: "XDG_DATA_HOME", xdg: true, wantStore: "wasmrun/default.store"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			base := home
			t.Setenv("HOME", home)
			t.Setenv("XDG_DATA_HOME", "")
			if tc.xdg {
				base = t.TempDir()
				t.Setenv("XDG_DATA_HOME", base)
			}
			t.Setenv(wasmrt.EnvStore, "")
			os.Unsetenv(wasmrt.EnvStore)
			ctx := context.Background()
			for i, want := range []string{"", "kept"} {
				r, err := wasmrt.New(ctx, wasmrt.Options{NoCache: true})
				if err != nil {
					t.Fatalf("New, run %d: %v", i+1, err)
				}
				fsys := r.FS()
				if i == 0 {
					err = fsys.WriteFile("kept.txt", []byte("kept"), 0o644)
				} else {
					var b []byte
					b, err = fsys.ReadFile("kept.txt")
					if string(b) != want {
						t.Errorf("run %d read %q, want %q", i+1, b, want)
					}
				}
				if err != nil {
					t.Errorf("run %d: %v", i+1, err)
				}
				if err := r.Close(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := os.Stat(filepath.Join(base, tc.wantStore)); err != nil {
				t.Errorf("the default store: %v", err)
			}
		})
	}
}
