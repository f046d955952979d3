package run

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/internal/guests"
)

// TestStrictWASI runs the strict-mode C guest (testdata/guests/c/strict.c) under --strict-wasi:
// its preopens are the --dir and --mount directories in flag order, whichever flag each came
// from, and every check passes; without the flag the same guest fails (one preopen "/", no
// rights enforced).
func TestStrictWASI(t *testing.T) {
	wasm := guests.Build(t, "c/strict")
	host := t.TempDir()
	store := newStore(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // a line of stdout
	}{
		{name: "mount then dir", args: []string{"--strict-wasi", "--mount", "/data=heap", "--dir", host + ":/host/dir", wasm, "/data", "/host/dir"},
			wantOut: "RESULT: PASS"},
		{name: "dir then mount", args: []string{"--strict-wasi", "--dir", host + ":/host/dir", "--mount", "/data=heap", wasm, "/host/dir", "/data"},
			wantOut: "RESULT: PASS"},
		{name: "the store and /tmp when asked", args: []string{"--strict-wasi", "--mount", "/tmp=heap", "--mount", "/=stable:" + filepath.Join(t.TempDir(), "s.store"), wasm, "/tmp", "/"},
			wantOut: "RESULT: PASS"},
		{name: "nothing mounted, no preopen", args: []string{"--strict-wasi", wasm, "/data", "/tmp"}, wantCode: 1,
			wantOut: "FAIL preopen fd 3: fd 3: errno 8, name , want /data"},
		{name: "default mode", args: []string{"--mount", "/data=heap", "--dir", host + ":/host/dir", wasm, "/data", "/host/dir"}, wantCode: 1,
			wantOut: "FAIL preopen fd 3: fd 3: errno 0, name /, want /data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range []string{"f.txt", "g.txt", "sub", "up", "in", "d2"} {
				os.RemoveAll(filepath.Join(host, f))
			}
			got := cli(t, store, tc.args...)
			if got.code != tc.wantCode || !strings.Contains(got.stdout, tc.wantOut) {
				t.Errorf("exit %d, want %d, and a line %q\nstdout:\n%s\nstderr:\n%s", got.code, tc.wantCode, tc.wantOut, got.stdout, got.stderr)
			}
		})
	}
}
