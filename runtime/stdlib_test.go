package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/internal/guests"
	"github.com/wasmrun/wasmrun/internal/peer"
	wasmrt "github.com/wasmrun/wasmrun/runtime"
	"github.com/wasmrun/wasmrun/vfs/hostfs"
	"github.com/wasmrun/wasmrun/vfs/readonly"
)

// stdlibPackages are the Go standard-library packages whose tests, compiled for wasip1, run
// under wasmrun and under wazero's own WASI in TestStdlib.
var stdlibPackages = []string{"os", "io/fs", "path/filepath", "io/ioutil"}

// testResult is one outcome of a `go test -test.v` run.
type testResult string

const (
	resultPass    testResult = "PASS"
	resultFail    testResult = "FAIL"
	resultSkip    testResult = "SKIP"
	resultMissing testResult = "not reported"
)

// resultLine matches the verdict lines of -test.v output, subtests included (indented).
var resultLine = regexp.MustCompile(`^\s*--- (PASS|FAIL|SKIP): (\S+) \(`)

// parseTestV returns every test's verdict in -test.v output.
func parseTestV(out string) map[string]testResult {
	res := map[string]testResult{}
	for _, l := range strings.Split(out, "\n") {
		if m := resultLine.FindStringSubmatch(l); m != nil {
			res[m[2]] = testResult(m[1])
		}
	}
	return res
}

// counts returns the number of passes, failures and skips.
func counts(res map[string]testResult) (pass, fail, skip int) {
	for _, r := range res {
		switch r {
		case resultPass:
			pass++
		case resultFail:
			fail++
		case resultSkip:
			skip++
		}
	}
	return
}

// stdlibRun is one run of a test binary.
type stdlibRun struct {
	code    int
	err     error
	out     string
	results map[string]testResult
	took    time.Duration
}

// finished reports whether the test binary ran to its end (printed its final PASS or FAIL)
// rather than crashing or being stopped.
func (r stdlibRun) finished() bool {
	return strings.HasSuffix(r.out, "\nPASS\n") || strings.HasSuffix(r.out, "\nFAIL\n")
}

func (r stdlibRun) summary() string {
	p, f, s := counts(r.results)
	return fmt.Sprintf("%d passed, %d failed, %d skipped (exit %d, %.1fs)", p, f, s, r.code, r.took.Seconds())
}

// stdlibArgs and stdlibEnv are the same for both runtimes: the package directory as the working
// directory (Go's wasip1 port takes it from $PWD), /tmp for t.TempDir.
func stdlibArgs(pkg string) []string {
	return []string{strings.ReplaceAll(pkg, "/", "_") + ".test", "-test.v", "-test.short", "-test.timeout=3m"}
}

func stdlibEnv(goroot, pkg string) []string {
	return []string{"PWD=" + filepath.ToSlash(filepath.Join(goroot, "src", pkg))}
}

// runStdlibWasmrun runs the test binary under wasmrun: "/" a fresh stable store, /tmp the heap,
// GOROOT mounted read-only from the host at its own path (read-only so that a bug can never
// damage the host GOROOT the test binaries read their test data from).
func runStdlibWasmrun(t *testing.T, wasm []byte, goroot, pkg string) stdlibRun {
	ctx := context.Background()
	r, err := wasmrt.New(ctx, wasmrt.Options{
		Store:    filepath.Join(t.TempDir(), "root.store"),
		CacheDir: sharedCacheDir(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := r.Close(ctx); err != nil {
			t.Error("Close:", err)
		}
	}()
	host, err := hostfs.New(goroot)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Mount(filepath.ToSlash(goroot), readonly.New(host)); err != nil {
		t.Fatal(err)
	}
	m, err := r.Compile(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	start := time.Now()
	code, err := r.Run(ctx, m, wasmrt.RunConfig{
		Args: stdlibArgs(pkg), Env: stdlibEnv(goroot, pkg), Stdout: &out, Stderr: &out,
	})
	return stdlibRun{code: code, err: err, out: out.String(), results: parseTestV(out.String()), took: time.Since(start)}
}

// runStdlibPeer runs the test binary under wazero's WASI: "/" an empty host directory, /tmp
// another, GOROOT mounted read-only at its own path.
func runStdlibPeer(t *testing.T, wasm []byte, goroot, pkg string) stdlibRun {
	ctx := context.Background()
	p, err := peer.New(ctx, peer.Options{CacheDir: sharedCacheDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	m, err := p.Compile(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	start := time.Now()
	code, err := p.Run(ctx, m, peer.Config{
		Args: stdlibArgs(pkg), Env: stdlibEnv(goroot, pkg), Stdout: &out, Stderr: &out,
		Mounts: []peer.Mount{
			{HostDir: t.TempDir(), GuestPath: "/"},
			{HostDir: goroot, GuestPath: filepath.ToSlash(goroot), ReadOnly: true},
			{HostDir: t.TempDir(), GuestPath: "/tmp"},
		},
	})
	return stdlibRun{code: code, err: err, out: out.String(), results: parseTestV(out.String()), took: time.Since(start)}
}

// TestStdlib runs the tests of os, io/fs, path/filepath and io/ioutil, compiled with GOOS=wasip1
// GOARCH=wasm, under wasmrun and under wazero's built-in WASI, and requires wasmrun to pass every
// test wazero passes. The counts go to the test log and to testdata/stdlib/results.md
// (git-ignored) for the README; with WASMRUN_STDLIB_OUT=dir set, the full -test.v outputs of
// both runs are written there too.
func TestStdlib(t *testing.T) {
	goroot := guests.GOROOT(t)
	type row struct {
		pkg            string
		wasmrun, peer  stdlibRun
		regressions    []string
		wasmrunGains   int
		reportedFailed bool
	}
	rows := make([]*row, len(stdlibPackages))
	t.Run("pkg", func(t *testing.T) {
		for i, pkg := range stdlibPackages {
			rw := &row{pkg: pkg}
			rows[i] = rw
			t.Run(strings.ReplaceAll(pkg, "/", "_"), func(t *testing.T) {
				t.Parallel()
				wasm, err := os.ReadFile(guests.StdlibTest(t, pkg))
				if err != nil {
					t.Fatal(err)
				}
				rw.peer = runStdlibPeer(t, wasm, goroot, pkg)
				rw.wasmrun = runStdlibWasmrun(t, wasm, goroot, pkg)
				if dir := os.Getenv("WASMRUN_STDLIB_OUT"); dir != "" {
					// Keep the full -test.v outputs for a closer look.
					base := filepath.Join(dir, strings.ReplaceAll(pkg, "/", "_"))
					if err := errors.Join(os.MkdirAll(dir, 0o755),
						os.WriteFile(base+".wasmrun.txt", []byte(rw.wasmrun.out), 0o644),
						os.WriteFile(base+".wazero.txt", []byte(rw.peer.out), 0o644)); err != nil {
						t.Log(err)
					}
				}
				t.Logf("wazero:  %s", rw.peer.summary())
				t.Logf("wasmrun: %s", rw.wasmrun.summary())

				if rw.peer.err != nil || len(rw.peer.results) == 0 {
					t.Fatalf("the harness is broken: wazero ran %s with error %v and %d results\n%s",
						pkg, rw.peer.err, len(rw.peer.results), quote(tail(rw.peer.out, 40)))
				}
				if rw.wasmrun.err != nil || !rw.wasmrun.finished() {
					t.Errorf("wasmrun: the test binary did not run to its end (exit %d, error %v); output tail:\n%s",
						rw.wasmrun.code, rw.wasmrun.err, quote(tail(rw.wasmrun.out, 40)))
				}
				for name, res := range rw.peer.results {
					got, ok := rw.wasmrun.results[name]
					if !ok {
						got = resultMissing
					}
					if res == resultPass && got != resultPass {
						rw.regressions = append(rw.regressions, fmt.Sprintf("%s: wazero PASS, wasmrun %s", name, got))
					}
					if res != resultPass && got == resultPass {
						rw.wasmrunGains++
					}
				}
				slices.Sort(rw.regressions)
				if len(rw.regressions) > 0 {
					t.Errorf("%d tests pass under wazero but not under wasmrun:\n  %s",
						len(rw.regressions), strings.Join(rw.regressions, "\n  "))
					for _, name := range rw.regressions[:min(5, len(rw.regressions))] {
						name, _, _ = strings.Cut(name, ":")
						t.Logf("wasmrun output of %s:\n%s", name, testOutput(rw.wasmrun.out, name))
					}
				}
				// What wasmrun fails, for the log; failures wazero shares are not regressions.
				var fails []string
				for name, res := range rw.wasmrun.results {
					if res == resultFail {
						fails = append(fails, name+" (wazero "+string(orMissing(rw.peer.results, name))+")")
					}
				}
				slices.Sort(fails)
				if len(fails) > 0 {
					t.Logf("failing under wasmrun: %s", strings.Join(fails, ", "))
				}
			})
		}
	})

	var md strings.Builder
	fmt.Fprintf(&md, "Go %s standard-library tests (GOOS=wasip1 GOARCH=wasm, -test.short), wasmrun vs wazero %s's built-in WASI.\n",
		strings.TrimPrefix(guests.GoVersion(t), "go"), guests.ModuleVersion(t, "github.com/tetratelabs/wazero"))
	fmt.Fprintf(&md, "Generated by `go test ./runtime -run TestStdlib` on %s.\n\n", time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&md, "| package | wasmrun pass / fail / skip | wazero pass / fail / skip | passed only by wasmrun | passed only by wazero |\n")
	fmt.Fprintf(&md, "|---|---|---|---|---|\n")
	for _, rw := range rows {
		if rw == nil || rw.peer.results == nil {
			continue
		}
		wp, wf, ws := counts(rw.wasmrun.results)
		pp, pf, ps := counts(rw.peer.results)
		fmt.Fprintf(&md, "| %s | %d / %d / %d | %d / %d / %d | %d | %d |\n", rw.pkg, wp, wf, ws, pp, pf, ps, rw.wasmrunGains, len(rw.regressions))
	}
	t.Logf("\n%s", md.String())
	if root, err := guests.RepoRoot(); err == nil {
		dir := filepath.Join(root, "testdata", "stdlib")
		if err := os.MkdirAll(dir, 0o755); err == nil {
			err = os.WriteFile(filepath.Join(dir, "results.md"), []byte(md.String()), 0o644)
		}
		if err != nil {
			t.Logf("writing the results: %v", err)
		}
	}
}

func orMissing(m map[string]testResult, name string) testResult {
	if r, ok := m[name]; ok {
		return r
	}
	return resultMissing
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// testOutput returns the lines of -test.v output between "=== RUN   name" and its verdict, at
// most 30.
func testOutput(out, name string) string {
	var b []string
	in := false
	for _, l := range strings.Split(out, "\n") {
		trim := strings.TrimSpace(l)
		switch {
		case trim == "=== RUN   "+name || trim == "=== CONT  "+name:
			in = true
		case resultLine.MatchString(l) && strings.Contains(l, " "+name+" "):
			if in {
				b = append(b, l)
			}
			in = false
		}
		if in && len(b) < 30 {
			b = append(b, l)
		}
	}
	return quote(strings.Join(b, "\n"))
}

// quote prefixes every line of guest output with "| ", so that its "--- FAIL" lines are not
// mistaken for this test's own by tools that read go test's output.
func quote(s string) string {
	return "| " + strings.ReplaceAll(s, "\n", "\n| ")
}
