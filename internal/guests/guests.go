package guests

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Install hints, printed when a toolchain is missing.
const (
	hintGo    = "install Go (https://go.dev/dl/) and put it on PATH"
	hintClang = "apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32 (or set WASI_SYSROOT to a wasi-libc sysroot, WASI_CC to a wasm-capable clang)"
	hintWat   = "apt-get install -y wabt"
)

// Build builds the guest name ("go/<name>", "c/<name>" or "wat/<name>", see the package doc) and
// returns the path of the .wasm file. The file is shared through the cache: callers must not
// modify or remove it. Build fails the test (t.Fatal) when the guest does not exist, its
// toolchain is missing or it does not compile; it never skips.
func Build(t testing.TB, name string) string {
	t.Helper()
	kind, base, ok := strings.Cut(name, "/")
	if !ok || base == "" || strings.ContainsAny(base, `/\`) {
		t.Fatalf("guests.Build(%q): name must be go/<name>, c/<name> or wat/<name>", name)
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatalf("guests.Build(%q): %v", name, err)
	}
	var path string
	switch kind {
	case "go":
		path, err = buildGo(filepath.Join(root, "testdata", "guests", "go", base))
	case "c":
		path, err = buildC(filepath.Join(root, "testdata", "guests", "c", base+".c"))
	case "wat":
		path, err = buildWat(filepath.Join(root, "testdata", "guests", "wat", base+".wat"))
	default:
		t.Fatalf("guests.Build(%q): unknown kind %q (want go, c or wat)", name, kind)
	}
	if err != nil {
		t.Fatalf("guests.Build(%q): %v", name, err)
	}
	return path
}

// StdlibTest builds the test binary of the Go standard-library package pkg (for example "os" or
// "io/fs") for GOOS=wasip1 GOARCH=wasm, as `go test -c` does, and returns its path. The binary is
// cached by Go version and package. It fails the test when Go is missing or the build fails.
func StdlibTest(t testing.TB, pkg string) string {
	t.Helper()
	path, err := buildStdlibTest(pkg)
	if err != nil {
		t.Fatalf("guests.StdlibTest(%q): %v", pkg, err)
	}
	return path
}

// GOROOT returns the GOROOT of the go command that builds guests (go env GOROOT). It fails the
// test when Go is missing.
func GOROOT(t testing.TB) string {
	t.Helper()
	tc, err := goToolchain()
	if err != nil {
		t.Fatalf("guests.GOROOT: %v", err)
	}
	return tc.goroot
}

// GoVersion returns the version of the go command that builds guests (go env GOVERSION, such as
// "go1.26.8"). It fails the test when Go is missing.
func GoVersion(t testing.TB) string {
	t.Helper()
	tc, err := goToolchain()
	if err != nil {
		t.Fatalf("guests.GoVersion: %v", err)
	}
	return tc.version
}

// ModuleVersion returns the version of module mod that wasmrun's go.mod selects (go list -m),
// such as "v1.12.0" for github.com/tetratelabs/wazero. It fails the test when Go is missing or
// mod is not a dependency.
func ModuleVersion(t testing.TB, mod string) string {
	t.Helper()
	tc, err := goToolchain()
	if err != nil {
		t.Fatalf("guests.ModuleVersion: %v", err)
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatalf("guests.ModuleVersion: %v", err)
	}
	cmd := exec.Command(tc.bin, "list", "-m", "-f", "{{.Version}}", mod)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("guests.ModuleVersion(%q): go list -m: %v", mod, err)
	}
	return strings.TrimSpace(string(out))
}

// RepoRoot returns the root directory of the wasmrun source tree (the directory holding go.mod),
// found from this source file's location.
func RepoRoot() (string, error) {
	_, file, _, ok := goruntime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate the source tree: runtime.Caller failed")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("cannot locate the source tree: %w", err)
	}
	return filepath.Clean(root), nil
}

// CacheDir returns the directory where built guests are cached: $WASMRUN_GUEST_CACHE if set, else
// wasmrun/guests under the user cache directory, else under the temporary directory. It creates
// the directory.
func CacheDir() (string, error) {
	dir := os.Getenv("WASMRUN_GUEST_CACHE")
	if dir == "" {
		if base, err := os.UserCacheDir(); err == nil {
			dir = filepath.Join(base, "wasmrun", "guests")
		} else {
			dir = filepath.Join(os.TempDir(), fmt.Sprintf("wasmrun-guests-%d", os.Getuid()))
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("guest cache: %w", err)
	}
	return dir, nil
}

// builds dedups concurrent builds of the same key inside one process. Across processes (go test
// runs packages in parallel) each builds into a private file and renames it into place, which is
// atomic, so a reader never sees a partial binary.
var builds sync.Map // key string -> *buildOnce

type buildOnce struct {
	once sync.Once
	path string
	err  error
}

// cached returns the cached file for (kind, key), running build(out) to make it if absent.
func cached(kind, key string, build func(out string) error) (string, error) {
	v, _ := builds.LoadOrStore(kind+"/"+key, &buildOnce{})
	b := v.(*buildOnce)
	b.once.Do(func() {
		dir, err := CacheDir()
		if err != nil {
			b.err = err
			return
		}
		path := filepath.Join(dir, kind+"-"+key+".wasm")
		if _, err := os.Stat(path); err == nil {
			b.path = path
			return
		}
		tmp, err := os.CreateTemp(dir, kind+"-*.partial")
		if err != nil {
			b.err = fmt.Errorf("guest cache: %w", err)
			return
		}
		tmp.Close()
		defer os.Remove(tmp.Name())
		if err := build(tmp.Name()); err != nil {
			b.err = err
			return
		}
		if err := os.Rename(tmp.Name(), path); err != nil {
			b.err = fmt.Errorf("guest cache: %w", err)
			return
		}
		b.path = path
	})
	return b.path, b.err
}

// hashKey hashes the toolchain identity, the command line and the source files.
func hashKey(toolchain string, args []string, files []string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%q\x00", toolchain, args)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.Base(f), len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}

// run runs a toolchain command and returns an error with its output when it fails.
func run(dir string, env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = env
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return nil
}

// toolchain facts, probed once per process.
type goTC struct {
	bin, version, goroot string
}

var (
	goOnce sync.Once
	goTool goTC
	goErr  error
)

func goToolchain() (goTC, error) {
	goOnce.Do(func() {
		bin, err := exec.LookPath("go")
		if err != nil {
			// go test puts GOROOT/bin first on PATH, but a test binary run directly may not have it.
			bin = filepath.Join(goruntime.GOROOT(), "bin", "go")
			if _, serr := os.Stat(bin); serr != nil {
				goErr = fmt.Errorf("the go command is not installed: %s", hintGo)
				return
			}
		}
		out, err := exec.Command(bin, "env", "GOVERSION", "GOROOT").Output()
		if err != nil {
			goErr = fmt.Errorf("%s env: %v: %s", bin, err, hintGo)
			return
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 2 {
			goErr = fmt.Errorf("%s env GOVERSION GOROOT: unexpected output %q", bin, out)
			return
		}
		goTool = goTC{bin: bin, version: lines[0], goroot: lines[1]}
	})
	return goTool, goErr
}

// wasipEnv is the environment for building GOOS=wasip1 GOARCH=wasm binaries.
func wasipEnv() []string {
	env := make([]string, 0, len(os.Environ())+3)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOOS", "GOARCH", "CGO_ENABLED", "GOFLAGS", "GOWASM":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
}

func buildGo(dir string) (string, error) {
	tc, err := goToolchain()
	if err != nil {
		return "", err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("no such Go guest: %w", err)
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() && (strings.HasSuffix(e.Name(), ".go") || e.Name() == "go.mod") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return "", fmt.Errorf("no Go files in %s", dir)
	}
	args := []string{"build", "-trimpath", "-o"}
	key, err := hashKey(tc.version, args, files)
	if err != nil {
		return "", err
	}
	return cached("go-"+filepath.Base(dir), key, func(out string) error {
		return run(dir, wasipEnv(), tc.bin, append(args, out, ".")...)
	})
}

func buildStdlibTest(pkg string) (string, error) {
	tc, err := goToolchain()
	if err != nil {
		return "", err
	}
	args := []string{"test", "-c", "-o"}
	h := sha256.Sum256([]byte(tc.version + "\x00" + tc.goroot + "\x00" + pkg + "\x00" + strings.Join(args, " ")))
	key := hex.EncodeToString(h[:])[:24]
	name := "stdlib-" + strings.ReplaceAll(pkg, "/", "_")
	return cached(name, key, func(out string) error {
		return run(os.TempDir(), wasipEnv(), tc.bin, append(args, out, pkg)...)
	})
}

// clang facts, probed once per process.
type clangTC struct {
	bin     string
	version string
	flags   []string // --target and, if needed, --sysroot
}

var (
	clangOnce sync.Once
	clangTool clangTC
	clangErr  error
)

func clangToolchain() (clangTC, error) {
	clangOnce.Do(func() {
		name := os.Getenv("WASI_CC")
		if name == "" {
			name = "clang"
		}
		bin, err := exec.LookPath(name)
		if err != nil {
			clangErr = fmt.Errorf("%s is not installed: %s", name, hintClang)
			return
		}
		ver, err := exec.Command(bin, "--version").Output()
		if err != nil {
			clangErr = fmt.Errorf("%s --version: %v: %s", bin, err, hintClang)
			return
		}
		probeDir, err := os.MkdirTemp("", "wasmrun-clang-probe-")
		if err != nil {
			clangErr = err
			return
		}
		defer os.RemoveAll(probeDir)
		src := filepath.Join(probeDir, "probe.c")
		probe := "#include <stdio.h>\n#include <dirent.h>\nint main(void){DIR *d = opendir(\".\"); puts(d ? \"ok\" : \"no\"); return 0;}\n"
		if err := os.WriteFile(src, []byte(probe), 0o644); err != nil {
			clangErr = err
			return
		}
		candidates := [][]string{{"--target=wasm32-wasi"}}
		for _, sr := range []string{os.Getenv("WASI_SYSROOT"), "/usr/share/wasi-sysroot", "/usr/lib/wasi-sysroot", "/opt/wasi-sdk/share/wasi-sysroot"} {
			if sr == "" {
				continue
			}
			if _, err := os.Stat(sr); err == nil {
				candidates = append(candidates, []string{"--target=wasm32-wasi", "--sysroot=" + sr})
			}
		}
		// An explicit WASI_SYSROOT wins over clang's default.
		if os.Getenv("WASI_SYSROOT") != "" && len(candidates) > 1 {
			candidates[0], candidates[1] = candidates[1], candidates[0]
		}
		var lastErr error
		for _, flags := range candidates {
			out := filepath.Join(probeDir, "probe.wasm")
			if lastErr = run(probeDir, nil, bin, append(append([]string{}, flags...), "-O2", "-o", out, src)...); lastErr == nil {
				clangTool = clangTC{bin: bin, version: strings.TrimSpace(string(ver)), flags: flags}
				return
			}
		}
		clangErr = fmt.Errorf("%s cannot build a wasm32-wasi program (no usable wasi-libc sysroot): %s\nlast attempt: %v", bin, hintClang, lastErr)
	})
	return clangTool, clangErr
}

func buildC(src string) (string, error) {
	if _, err := os.Stat(src); err != nil {
		return "", fmt.Errorf("no such C guest: %w", err)
	}
	tc, err := clangToolchain()
	if err != nil {
		return "", err
	}
	args := append(append([]string{}, tc.flags...), "-O2", "-Wall", "-Werror")
	key, err := hashKey(tc.version, args, []string{src})
	if err != nil {
		return "", err
	}
	base := strings.TrimSuffix(filepath.Base(src), ".c")
	return cached("c-"+base, key, func(out string) error {
		return run(filepath.Dir(src), nil, tc.bin, append(args, "-o", out, src)...)
	})
}

var (
	watOnce    sync.Once
	watBin     string
	watVersion string
	watErr     error
)

func buildWat(src string) (string, error) {
	if _, err := os.Stat(src); err != nil {
		return "", fmt.Errorf("no such WAT guest: %w", err)
	}
	watOnce.Do(func() {
		bin, err := exec.LookPath("wat2wasm")
		if err != nil {
			watErr = fmt.Errorf("wat2wasm is not installed: %s", hintWat)
			return
		}
		ver, err := exec.Command(bin, "--version").Output()
		if err != nil {
			watErr = fmt.Errorf("wat2wasm --version: %v: %s", err, hintWat)
			return
		}
		watBin, watVersion = bin, strings.TrimSpace(string(ver))
	})
	if watErr != nil {
		return "", watErr
	}
	key, err := hashKey(watVersion, nil, []string{src})
	if err != nil {
		return "", err
	}
	base := strings.TrimSuffix(filepath.Base(src), ".wat")
	return cached("wat-"+base, key, func(out string) error {
		return run(filepath.Dir(src), nil, watBin, src, "-o", out)
	})
}
