package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wasmrt "github.com/wasmrun/wasmrun/runtime"
)

// customSection encodes a custom section named name with data after the name (sizes below
// 128 bytes each, one-byte LEB128s).
func customSection(name string, data []byte) []byte {
	content := append(append([]byte{byte(len(name))}, name...), data...)
	return append([]byte{0, byte(len(content))}, content...)
}

func TestCompileFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	echo := guest(t, "echo")
	debug := customSection(".debug_info", bytes.Repeat([]byte{7}, 100))
	tests := []struct {
		name       string
		path       string
		wantErr    error    // errors.Is target
		wantInErr  []string // the error message contains one of these
		wantStdout string
	}{
		{name: "module", path: write("echo.wasm", echo), wantStdout: "arg: x\n"},
		{name: "trailing debug sections", path: write("debug.wasm", append(bytes.Clone(echo), debug...)),
			wantStdout: "arg: x\n"},
		// wazero rejects a custom section whose name is not UTF-8: so must CompileFile.
		{name: "malformed trailing section", path: write("bad.wasm", append(bytes.Clone(echo), customSection("\xff", nil)...)),
			wantInErr: []string{"UTF-8"}},
		{name: "truncated trailing section", path: write("trunc.wasm", append(bytes.Clone(echo), debug[:50]...)),
			wantInErr: []string{"name[.debug_info]: EOF", "invalid section length"}}, // without and with DWARF
		{name: "text", path: write("notes.txt", []byte("(module)\n")), wantErr: wasmrt.ErrNotWasm},
		{name: "empty", path: write("empty.wasm", nil), wantErr: wasmrt.ErrNotWasm},
		{name: "missing", path: filepath.Join(dir, "nonexistent.wasm"), wantErr: fs.ErrNotExist},
		{name: "directory", path: dir, wantInErr: []string{"directory"}},
		{name: "not a command", path: write("nostart.wasm", guest(t, "nostart")), wantInErr: []string{"_start"}},
	}
	for _, debugInfo := range []bool{false, true} {
		r := newRuntime(t, wasmrt.Options{DebugInfo: debugInfo})
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s/DebugInfo=%v", tc.name, debugInfo), func(t *testing.T) {
				ctx := context.Background()
				m, err := r.CompileFile(ctx, tc.path)
				switch {
				case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				case tc.wantInErr != nil && (err == nil || !containsAny(err.Error(), tc.wantInErr)):
					t.Fatalf("err %v, want one containing one of %q", err, tc.wantInErr)
				case tc.wantErr == nil && tc.wantInErr == nil && err != nil:
					t.Fatal(err)
				}
				if err != nil {
					return
				}
				var stdout bytes.Buffer
				code, err := r.Run(ctx, m, wasmrt.RunConfig{Args: []string{"x"}, Stdout: &stdout})
				if code != 0 || err != nil || stdout.String() != tc.wantStdout {
					t.Errorf("Run: %d, %v, stdout %q; want 0, nil, %q", code, err, stdout.String(), tc.wantStdout)
				}
			})
		}
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestCompileFileMemo checks that CompileFile and Compile share the memo: the same bytes, with
// or without trailing debug sections, big enough to be hashed on two cores or not, are one
// *Module.
func TestCompileFileMemo(t *testing.T) {
	// A module of more than parallelMin bytes: echo with a 2 MiB custom section first (one
	// that is not at the end is kept, so it is hashed).
	echo := guest(t, "echo")
	pad := make([]byte, 2<<20)
	size := uint32(4 + len(pad)) // name length, "pad", pad
	big := append(bytes.Clone(echo[:8]), 0)
	for ; size >= 0x80; size >>= 7 {
		big = append(big, byte(size)|0x80)
	}
	big = append(append(big, byte(size), 3, 'p', 'a', 'd'), pad...)
	big = append(big, echo[8:]...)
	dir := t.TempDir()
	r := newRuntime(t, wasmrt.Options{})
	for name, wasm := range map[string][]byte{"small": echo, "big": big} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(dir, name+".wasm")
			if err := os.WriteFile(file, append(bytes.Clone(wasm), customSection(".debug_line", []byte{1, 2, 3})...), 0o644); err != nil {
				t.Fatal(err)
			}
			m1, err := r.CompileFile(context.Background(), file)
			if err != nil {
				t.Fatal(err)
			}
			m2, err := r.Compile(context.Background(), wasm)
			if err != nil {
				t.Fatal(err)
			}
			if m1 != m2 {
				t.Error("CompileFile and Compile of the same module gave two *Module")
			}
			var stdout bytes.Buffer
			if code, err := r.Run(context.Background(), m1, wasmrt.RunConfig{Args: []string{"x"}, Stdout: &stdout}); code != 0 || err != nil || stdout.String() != "arg: x\n" {
				t.Errorf("Run: %d, %v, %q", code, err, stdout.String())
			}
		})
	}
}

// TestCompileFileChanged rewrites a module in place, with the same size and modification time,
// between runs that share the on-disk compilation cache, and on one Runtime: each run must
// execute the module as it is now, never the machine code of its earlier version. A change
// to the debug sections only changes no machine code, and reuses the compiled module.
func TestCompileFileChanged(t *testing.T) {
	exit3 := append(guest(t, "exit"), customSection(".debug_info", []byte("version 1"))...)
	// exit.wat calls proc_exit(3): i32.const 3 (0x41 0x03) then call 0 (0x10 0x00).
	if bytes.Count(exit3, []byte{0x41, 0x03, 0x10, 0x00}) != 1 {
		t.Fatal("exit.wasm does not contain i32.const 3; call 0 exactly once")
	}
	exit4 := bytes.Replace(exit3, []byte{0x41, 0x03, 0x10, 0x00}, []byte{0x41, 0x04, 0x10, 0x00}, 1)
	exit4debug := bytes.Replace(exit4, []byte("version 1"), []byte("version 2"), 1)

	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	file := filepath.Join(dir, "prog.wasm")
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	put := func(b []byte) {
		t.Helper()
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE, 0o644) // in place: same inode
		if err == nil {
			_, err = f.WriteAt(b, 0)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err == nil {
			err = os.Chtimes(file, mtime, mtime)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	runFile := func(r *wasmrt.Runtime, want int) *wasmrt.Module {
		t.Helper()
		m, err := r.CompileFile(context.Background(), file)
		if err != nil {
			t.Fatal(err)
		}
		if code, err := r.Run(context.Background(), m, args("prog")); code != want || err != nil {
			t.Fatalf("Run: %d, %v; want %d, nil", code, err, want)
		}
		return m
	}

	put(exit3)
	r1 := newRuntime(t, wasmrt.Options{CacheDir: cache})
	runFile(r1, 3)
	if err := r1.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	put(exit4)
	r2 := newRuntime(t, wasmrt.Options{CacheDir: cache})
	m4 := runFile(r2, 4) // a new process, the cache holding exit3's code
	put(exit4debug)
	if m := runFile(r2, 4); m != m4 {
		t.Error("a change in the debug sections only compiled the module again")
	}
	put(exit3)
	runFile(r2, 3) // the same Runtime, after a change
}
