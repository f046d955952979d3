package guests

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// wasmMagic is the start of every WebAssembly binary: "\0asm" and version 1.
var wasmMagic = []byte{0, 'a', 's', 'm', 1, 0, 0, 0}

func TestBuild(t *testing.T) {
	tests := []string{"c/fsops", "c/stdio", "c/sys", "go/fsops", "go/files", "wat/trap"}
	for _, name := range tests {
		t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
			path := Build(t, name)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, wasmMagic) {
				t.Fatalf("%s is not a wasm binary (starts %x)", path, b[:min(8, len(b))])
			}
			if again := Build(t, name); again != path {
				t.Errorf("second Build returned %s, want the cached %s", again, path)
			}
		})
	}
}

// fatalTB records a Fatal instead of failing the real test.
type fatalTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

// fatalOf runs fn with a fatalTB in its own goroutine and returns the Fatal message, or "".
func fatalOf(t *testing.T, fn func(tb testing.TB)) string {
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(tb)
	}()
	<-done
	return tb.msg
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name, want string
	}{
		{"nokind", "name must be"},
		{"go/", "name must be"},
		{"go/a/b", "name must be"},
		{"rust/x", "unknown kind"},
		{"c/no-such-guest", "no such C guest"},
		{"go/no-such-guest", "no such Go guest"},
		{"wat/no-such-guest", "no such WAT guest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := fatalOf(t, func(tb testing.TB) { Build(tb, tt.name) })
			if !strings.Contains(msg, tt.want) {
				t.Errorf("Build(%q) failed with %q, want it to mention %q", tt.name, msg, tt.want)
			}
		})
	}
}

func TestMissingClangHint(t *testing.T) {
	// With no clang on PATH the failure names the packages to install. The probe result is
	// cached per process, so reset it around the check.
	reset := func() { clangOnce = sync.Once{}; clangTool = clangTC{}; clangErr = nil }
	reset()
	t.Cleanup(reset)
	t.Setenv("WASI_CC", "clang-that-does-not-exist")
	msg := fatalOf(t, func(tb testing.TB) { Build(tb, "c/stdio") })
	if !strings.Contains(msg, "apt-get install") || !strings.Contains(msg, "wasi-libc") {
		t.Errorf("missing clang failed with %q, want the install hint", msg)
	}
}

func TestStdlibTest(t *testing.T) {
	path := StdlibTest(t, "io/fs")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, wasmMagic) {
		t.Fatalf("%s is not a wasm binary", path)
	}
	if _, err := os.Stat(GOROOT(t) + "/src/io/fs"); err != nil {
		t.Fatalf("GOROOT: %v", err)
	}
}

func TestModuleVersion(t *testing.T) {
	if v := ModuleVersion(t, "github.com/tetratelabs/wazero"); !strings.HasPrefix(v, "v1.") {
		t.Errorf("wazero version %q, want v1.x", v)
	}
	if v := GoVersion(t); !strings.HasPrefix(v, "go1.") {
		t.Errorf("Go version %q, want go1.x", v)
	}
}
