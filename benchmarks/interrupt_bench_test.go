package benchmarks

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/internal/guests"
	wasmrt "github.com/wasmrun/wasmrun/runtime"
)

// cpuPython is a pure-Python CPU-bound loop: no host call while it runs.
const cpuPython = `
def f(n):
    s = 0
    for i in range(n):
        s += i * i % 7
    return s
print(f(3_000_000))
`

// BenchmarkInterruptChecks measures what wazero's interrupt checks (Options.Interrupt) cost
// CPU-bound guests: python.wasm running a pure-Python loop, and a Go guest counting primes
// (testdata/guests/go/cpuloop), each run with a context that can end (the default compiles the
// checks in, so that a deadline stops the guest) and with context.Background() (no checks).
// The ratio of the two is the figure RATIONALE.md ("Stopping a guest that computes") gives.
func BenchmarkInterruptChecks(b *testing.B) {
	root, err := guests.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	python := filepath.Join(root, "testdata", "python", "python.wasm")
	pyWasm, err := os.ReadFile(python)
	if err != nil {
		if os.Getenv("CI") == "true" {
			b.Fatalf("%v (make python)", err)
		}
		b.Skipf("%v (make python)", err)
	}
	goWasm, err := os.ReadFile(guests.Build(b, "go/cpuloop"))
	if err != nil {
		b.Fatal(err)
	}
	cache, err := guests.CacheDir()
	if err != nil {
		b.Fatal(err)
	}
	for _, g := range []struct {
		name string
		wasm []byte
		args []string
		want string
	}{
		{"python", pyWasm, []string{"python", "-c", cpuPython}, "5999999\n"},
		{"go", goWasm, []string{"cpuloop", "2000000"}, "148933\n"},
	} {
		for _, checks := range []bool{false, true} {
			name := g.name + "/no-checks"
			if checks {
				name = g.name + "/checks"
			}
			b.Run(name, func(b *testing.B) {
				ctx := context.Background()
				r, err := wasmrt.New(ctx, wasmrt.Options{
					Store:    filepath.Join(b.TempDir(), "bench.store"),
					CacheDir: filepath.Join(cache, "wazero"),
				})
				if err != nil {
					b.Fatal(err)
				}
				defer r.Close(ctx)
				m, err := r.Compile(ctx, g.wasm)
				if err != nil {
					b.Fatal(err)
				}
				runCtx := ctx
				if checks {
					var cancel context.CancelFunc
					runCtx, cancel = context.WithCancel(ctx)
					defer cancel()
				}
				var out bytes.Buffer
				run := func() {
					out.Reset()
					code, err := r.Run(runCtx, m, wasmrt.RunConfig{Args: g.args, Stdout: &out})
					if code != 0 || err != nil || out.String() != g.want {
						b.Fatalf("%s: %d, %v, %q; want %q", strings.Join(g.args, " "), code, err, out.String(), g.want)
					}
				}
				run() // compiles the variant, outside the timing
				b.ResetTimer()
				for b.Loop() {
					run()
				}
			})
		}
	}
}
