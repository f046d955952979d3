package run

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/stable"
)

// The test binary, guests and environment, set up by TestMain.
var (
	wasmrunBin string // bin/wasmrun built from this package
	guestDir   string // ../../runtime/testdata/*.wat built to NAME.wasm
	testHome   string // a temporary directory holding the default store and cache
)

// pythonWasm is CPython for WASI, fetched by testdata/fetch-python.sh.
const pythonWasm = "../../testdata/python/python.wasm"

// WASI preview1 errno values the test guests exit with.
const (
	wasiENOENT = 44
	wasiEROFS  = 69
)

// TestMain builds the real wasmrun binary with go build and the WAT guests of the runtime
// package with wat2wasm (both must work: there is no fallback), into a temporary directory.
func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "wasmrun-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	testHome = tmp
	wasmrunBin = filepath.Join(tmp, "wasmrun")
	if out, err := exec.Command("go", "build", "-o", wasmrunBin, "./wasmrun").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	guestDir = filepath.Join(tmp, "guests")
	if err := os.Mkdir(guestDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	wats, _ := filepath.Glob("../../runtime/testdata/*.wat")
	if len(wats) == 0 {
		fmt.Fprintln(os.Stderr, "no guests in ../../runtime/testdata")
		return 1
	}
	for _, wat := range wats {
		out := filepath.Join(guestDir, strings.TrimSuffix(filepath.Base(wat), ".wat")+".wasm")
		if b, err := exec.Command("wat2wasm", "--debug-names", wat, "-o", out).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "wat2wasm %s: %v\n%s(wat2wasm is in wabt: apt-get install wabt)\n", wat, err, b)
			return 1
		}
	}
	return m.Run()
}

// g returns the path of the test guest name.
func g(name string) string { return filepath.Join(guestDir, name+".wasm") }

// result is what one wasmrun process did.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs the binary with args, a store and a compilation cache of the test's own
// (unless args name others: later flags win), and returns its exit status and output.
func cli(t *testing.T, store string, args ...string) result {
	t.Helper()
	return cliIn(t, store, "", args...)
}

func cliIn(t *testing.T, store, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(wasmrunBin, args...)
	cmd.Env = testEnv(store)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("wasmrun %q: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return result{code, stdout.String(), stderr.String()}
}

// testEnv is the environment of a wasmrun process: the default store is store (a fresh one
// in the test's directory if empty), and the cache is shared by the tests of this run.
func testEnv(store string) []string {
	return append(os.Environ(),
		"WASMRUN_STORE="+store,
		"WASMRUN_CACHE_DIR="+filepath.Join(testHome, "cache"),
		"WASMRUN_TEST_HOST_VAR=from the host",
	)
}

func newStore(t *testing.T) string { return filepath.Join(t.TempDir(), "test.store") }

// TestCommandLine covers wasmrun's own errors, its help and version, and exit statuses.
func TestCommandLine(t *testing.T) {
	text := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(text, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string // substrings
		wantStderr []string // substrings
	}{
		{name: "bad flag", args: []string{"--nope", g("echo")}, wantCode: 2,
			wantStderr: []string{"wasmrun: flag provided but not defined: --nope", "wasmrun --help"}},
		{name: "no module", args: nil, wantCode: 2, wantStderr: []string{"wasmrun: no module to run"}},
		{name: "missing module", args: []string{"nonexistent.wasm"}, wantCode: 2,
			wantStderr: []string{"wasmrun: ", "nonexistent.wasm", "no such file"}},
		{name: "not wasm", args: []string{text}, wantCode: 2,
			wantStderr: []string{"wasmrun: " + text + ": not a WebAssembly module"}},
		{name: "directory", args: []string{t.TempDir()}, wantCode: 2, wantStderr: []string{"wasmrun: ", "directory"}},
		{name: "bad size", args: []string{"--tmp-size", "12Q", g("echo")}, wantCode: 2,
			wantStderr: []string{"wasmrun: ", "bad size \"12Q\""}},
		{name: "bad max-fds", args: []string{"--max-fds", "3", g("echo")}, wantCode: 2,
			wantStderr: []string{"--max-fds must be at least 4"}},
		{name: "max-fds", args: []string{"--max-fds", "4", "--dir", filepath.Dir(text) + ":/d", g("cat"), "d/notes.txt"},
			wantCode: 33}, // EMFILE
		{name: "max-fds fits", args: []string{"--max-fds", "5", "--dir", filepath.Dir(text) + ":/d", g("cat"), "d/notes.txt"},
			wantStdout: []string{"hello\n"}},
		{name: "max-memory", args: []string{"--max-memory", "1M", g("bigmem")}, wantCode: 2,
			wantStderr: []string{"wasmrun: ", "bigmem.wasm", "memory"}},
		{name: "max-memory fits", args: []string{"--max-memory", "2M", g("bigmem")}},
		{name: "bad max-memory", args: []string{"--max-memory", "100", g("echo")}, wantCode: 2,
			wantStderr: []string{"--max-memory 100: want a multiple of 64K"}},
		{name: "bad mount", args: []string{"--mount", "/x=floppy", g("echo")}, wantCode: 2,
			wantStderr: []string{`unknown kind "floppy"`}},
		{name: "bad dir", args: []string{"--dir", "x::rel", g("echo")}, wantCode: 2,
			wantStderr: []string{`the guest path "rel" is not absolute`}},
		{name: "missing host dir", args: []string{"--dir", "/nonexistent/dir:/d", g("echo")}, wantCode: 2,
			wantStderr: []string{"wasmrun: ", "/nonexistent/dir"}},
		{name: "not a command", args: []string{g("nostart")}, wantCode: 2, wantStderr: []string{"_start"}},
		{name: "missing import", args: []string{g("noimport")}, wantCode: 2, wantStderr: []string{"wasmrun: ", "env"}},
		{name: "version", args: []string{"--version"},
			wantStdout: []string{"wasmrun ", "wazero v1.12.0", "go1."}},
		{name: "help", args: []string{"--help"}, wantStdout: []string{
			"Usage:\n  wasmrun [flags] MODULE.wasm [ARGS...]",
			"--dir HOST[:GUEST][:ro]", "--mount GUEST=KIND[:ARG][:ro]", "--env KEY[=VALUE]",
			"--store FILE", "--tmp-size BYTES\n", "(default 1G)", "--timeout DURATION",
			"--cache-dir DIR", "--no-cache", "--commit-interval DURATION", "(default 5s)",
			"--cache-size BYTES", "(default " + formatSize(stable.DefaultCacheBytes) + ")", "--store-quota BYTES", "--lock-timeout DURATION",
			"(default 1s)", "--max-fds N", "(default 1024)", "--max-memory BYTES", "(default 4G)",
			"--debug-info", "--trace FILE|-\n", "--stats\n", "--version", "-h, --help", "Exit status",
		}},
		{name: "h", args: []string{"-h"}, wantStdout: []string{"Usage:"}},
		{name: "unusable cache dir", args: []string{"--cache-dir", text + "/cache", g("echo")}, wantCode: 2,
			wantStderr: []string{"wasmrun: compilation cache " + text + "/cache"}},
		{name: "no cache", args: []string{"--no-cache", g("exit")}, wantCode: 3},
		{name: "exit 0", args: []string{g("echo")}, wantStdout: []string{"arg: echo.wasm\n"}},
		{name: "proc_exit", args: []string{g("exit")}, wantCode: 3},
		{name: "trap", args: []string{g("trap")}, wantCode: 134,
			wantStderr: []string{"wasmrun: " + g("trap") + ": wasm trap", "unreachable", "crash"}},
		{name: "timeout", args: []string{"--timeout", "200ms", g("loop")}, wantCode: 124,
			wantStderr: []string{"wasmrun: " + g("loop") + ": timed out after 200ms"}},
		{name: "flags after the module go to the guest", args: []string{g("echo"), "--version", "-h"},
			wantStdout: []string{"arg: echo.wasm\narg: --version\narg: -h\n"}},
		{name: "double dash", args: []string{"--", g("echo"), "x"}, wantStdout: []string{"arg: echo.wasm\narg: x\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := cli(t, newStore(t), tc.args...)
			if got.code != tc.wantCode {
				t.Errorf("exit status %d, want %d\nstderr: %s", got.code, tc.wantCode, got.stderr)
			}
			for _, s := range tc.wantStdout {
				if !strings.Contains(got.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, got.stdout)
				}
			}
			for _, s := range tc.wantStderr {
				if !strings.Contains(got.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, got.stderr)
				}
			}
			if len(tc.wantStderr) == 0 && got.stderr != "" {
				t.Errorf("unexpected stderr:\n%s", got.stderr)
			}
		})
	}
}

func TestEnv(t *testing.T) {
	got := cli(t, newStore(t), "--env", "A=1", "--env", "B=x=y", "--env", "WASMRUN_TEST_HOST_VAR",
		"--env", "WASMRUN_TEST_UNSET_VAR", g("echo"), "arg")
	want := "arg: echo.wasm\narg: arg\nenv: A=1\nenv: B=x=y\nenv: WASMRUN_TEST_HOST_VAR=from the host\n"
	if got.code != 0 || got.stdout != want {
		t.Errorf("got %d, stdout %q; want 0, %q\nstderr: %s", got.code, got.stdout, want, got.stderr)
	}
}

func TestStdin(t *testing.T) {
	in := strings.Repeat("through stdin\n", 5000)
	got := cliIn(t, newStore(t), in, g("cat"))
	if got.code != 0 || got.stdout != in {
		t.Errorf("got %d, %d bytes of stdout; want 0, %d bytes\nstderr: %s", got.code, len(got.stdout), len(in), got.stderr)
	}
}

// TestStore checks that "/" persists from one process to the next and /tmp does not.
func TestStore(t *testing.T) {
	store := newStore(t)
	for _, w := range [][]string{{"kept", "in the store"}, {"tmp/gone", "in memory"}} {
		if got := cli(t, store, g("write"), w[0], w[1]); got.code != 0 {
			t.Fatalf("write %s: %d\n%s", w[0], got.code, got.stderr)
		}
	}
	if got := cli(t, store, g("cat"), "kept"); got.code != 0 || got.stdout != "in the store" {
		t.Errorf("cat kept: %d, %q\n%s", got.code, got.stdout, got.stderr)
	}
	if got := cli(t, store, g("cat"), "tmp/gone"); got.code != wasiENOENT {
		t.Errorf("cat tmp/gone: %d, %q; want ENOENT (%d)", got.code, got.stdout, wasiENOENT)
	}
	// --store overrides $WASMRUN_STORE.
	other := newStore(t)
	if got := cli(t, store, "--store", other, g("cat"), "kept"); got.code != wasiENOENT {
		t.Errorf("cat kept in another store: %d, %q; want ENOENT", got.code, got.stdout)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("--store %s was not created: %v", other, err)
	}
}

func TestStoreErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("not a store\n", 1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	got := cli(t, text, g("echo"))
	if got.code != 2 || !strings.Contains(got.stderr, "wasmrun: ") || !strings.Contains(got.stderr, text) {
		t.Errorf("a text file as the store: %d, stderr %q; want 2 and a message naming %s", got.code, got.stderr, text)
	}

	// A store in use by another wasmrun: the second one fails after --lock-timeout.
	store := newStore(t)
	first := exec.Command(wasmrunBin, g("cat")) // copies stdin until it closes
	first.Env = testEnv(store)
	in, err := first.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := first.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer first.Wait()
	defer in.Close()
	// Once the guest echoes a line, the first wasmrun holds the store.
	io.WriteString(in, "ping\n")
	buf := make([]byte, 5)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "ping\n" {
		t.Fatalf("first wasmrun: %q, %v", buf, err)
	}
	start := time.Now()
	got = cli(t, store, "--lock-timeout", "100ms", g("echo"))
	if got.code != 2 || !strings.Contains(got.stderr, store) || !strings.Contains(got.stderr, "in use by another process") {
		t.Errorf("a store in use: %d, stderr %q; want 2 and a message naming %s", got.code, got.stderr, store)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the second wasmrun took %v to give up", d)
	}
}

func TestDir(t *testing.T) {
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "f.txt"), []byte("host file"), 0o644); err != nil {
		t.Fatal(err)
	}
	store := newStore(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{name: "HOST:GUEST", args: []string{"--dir", host + ":/data", g("cat"), "data/f.txt"}, wantOut: "host file"},
		{name: "HOST::GUEST", args: []string{"--dir", host + "::/data", g("cat"), "data/f.txt"}, wantOut: "host file"},
		{name: "HOST", args: []string{"--dir", host, g("cat"), strings.TrimPrefix(host, "/") + "/f.txt"}, wantOut: "host file"},
		{name: "mount host:", args: []string{"--mount", "/m=host:" + host, g("cat"), "m/f.txt"}, wantOut: "host file"},
		{name: "write", args: []string{"--dir", host + ":/data", g("write"), "data/new.txt", "from the guest"}},
		{name: "read only", args: []string{"--dir", host + ":/data:ro", g("write"), "data/ro.txt", "x"}, wantCode: wasiEROFS},
		{name: "escape", args: []string{"--dir", host + ":/data", g("cat"), "data/../data/../../etc/passwd"}, wantCode: wasiENOENT},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := cli(t, store, tc.args...)
			if got.code != tc.wantCode || got.stdout != tc.wantOut {
				t.Errorf("got %d, %q; want %d, %q\nstderr: %s", got.code, got.stdout, tc.wantCode, tc.wantOut, got.stderr)
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(host, "new.txt")); err != nil || string(b) != "from the guest" {
		t.Errorf("new.txt on the host: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(host, "ro.txt")); err == nil {
		t.Error("a read-only --dir was written")
	}
}

func TestMount(t *testing.T) {
	dir := t.TempDir()
	store := newStore(t)
	other := filepath.Join(dir, "other.store")
	steps := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{name: "heap write", args: []string{"--mount", "/scratch=heap", g("write"), "scratch/x", "1"}},
		{name: "heap is empty next time", args: []string{"--mount", "/scratch=heap", g("cat"), "scratch/x"}, wantCode: wasiENOENT},
		{name: "heap size", args: []string{"--mount", "/scratch=heap:4K", g("write"), "scratch/x", strings.Repeat("y", 10000)}, wantCode: 51},
		{name: "stable write", args: []string{"--mount", "/other=stable:" + other, g("write"), "other/x", "in other"}},
		{name: "stable read", args: []string{"--mount", "/other=stable:" + other, g("cat"), "other/x"}, wantOut: "in other"},
		{name: "stable read only", args: []string{"--mount", "/other=stable:" + other + ":ro", g("write"), "other/y", "no"}, wantCode: wasiEROFS},
		{name: "not in the root store", args: []string{g("cat"), "other/x"}, wantCode: wasiENOENT},
		{name: "tmp replaced", args: []string{"--mount", "/tmp=stable:" + other, g("cat"), "tmp/x"}, wantOut: "in other"},
		{name: "root replaced", args: []string{"--mount", "/=heap", g("write"), "nowhere", "lost"}},
		{name: "root replaced, nothing kept", args: []string{g("cat"), "nowhere"}, wantCode: wasiENOENT},
	}
	for _, s := range steps {
		got := cli(t, store, s.args...)
		if got.code != s.wantCode || got.stdout != s.wantOut {
			t.Errorf("%s: got %d, %q; want %d, %q\nstderr: %s", s.name, got.code, got.stdout, s.wantCode, s.wantOut, got.stderr)
		}
	}
}

// TestTrace checks --trace: one line per WASI call, with the decoded path and the errno, to
// standard error with "-" and to a file otherwise.
func TestTrace(t *testing.T) {
	// To standard error, the guest's stdout untouched.
	got := cli(t, newStore(t), "--trace", "-", g("write"), "dir/missing", "x")
	if got.code != wasiENOENT || got.stdout != "" {
		t.Errorf("write into a missing directory: %d, stdout %q; want %d and nothing", got.code, got.stdout, wasiENOENT)
	}
	for _, want := range []string{
		"args_sizes_get() = count 3, size ",
		`path_open(fd=3, dirflags=SYMLINK_FOLLOW, path="dir/missing", oflags=CREAT|TRUNC, fs_rights_base=ALL, fs_rights_inheriting=ALL, fdflags=0) = -1 ENOENT` + "\n",
		"proc_exit(code=44)\n",
	} {
		if !strings.Contains(got.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, got.stderr)
		}
	}

	// To a file, the guest's stderr untouched; a run without --trace writes none.
	file := filepath.Join(t.TempDir(), "trace.txt")
	store := newStore(t)
	got = cli(t, store, "--trace", file, g("write"), "f", "hello")
	if got.code != 0 || got.stderr != "" {
		t.Errorf("write f: %d, stderr %q; want 0 and nothing", got.code, got.stderr)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	want := []string{
		`path_open(fd=3, dirflags=SYMLINK_FOLLOW, path="f", oflags=CREAT|TRUNC, fs_rights_base=ALL, fs_rights_inheriting=ALL, fdflags=0) = fd 4`,
		"fd_write(fd=4, iovs=[0x",
	}
	if len(lines) != 4 || lines[2] != want[0] || !strings.HasPrefix(lines[3], want[1]) || !strings.HasSuffix(lines[3], " = 5") {
		t.Errorf("trace file:\n%s\nwant 4 lines: args_sizes_get, args_get, then\n%s\n%s...) = 5", b, want[0], want[1])
	}

	// A trace file that cannot be created is wasmrun's error, before anything runs.
	got = cli(t, store, "--trace", filepath.Join(t.TempDir(), "no", "such", "dir"), g("write"), "g", "x")
	if got.code != exitUsage || !strings.Contains(got.stderr, "wasmrun: --trace: ") {
		t.Errorf("unwritable trace file: %d, %q; want %d and a --trace error", got.code, got.stderr, exitUsage)
	}
	if got := cli(t, store, g("cat"), "g"); got.code != wasiENOENT {
		t.Errorf("the guest ran although its trace file could not be created: cat g: %d", got.code)
	}
}

// TestStats checks --stats: after the guest's output and the final commit, one block per mount
// in mount order (/, /tmp, then the --dir mounts and the --mount ones), with what the guest did
// to each.
func TestStats(t *testing.T) {
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "in.txt"), []byte("from the host"), 0o644); err != nil {
		t.Fatal(err)
	}
	store := newStore(t)
	got := cli(t, store, "--stats", "--mount", "/data=heap", "--dir", host+":/host:ro",
		g("write"), "data/out.txt", "hello")
	if got.code != 0 {
		t.Fatalf("exit %d\n%s", got.code, got.stderr)
	}
	blocks := regexp.MustCompile(`(?m)^(/\S*)\n`).FindAllStringSubmatch(got.stderr, -1)
	var paths []string
	for _, b := range blocks {
		paths = append(paths, b[1])
	}
	if strings.Join(paths, " ") != "/ /tmp /host /data" {
		t.Fatalf("blocks for %q, want / /tmp /host /data:\n%s", paths, got.stderr)
	}
	block := func(path string) string {
		_, rest, _ := strings.Cut(got.stderr, "\n"+path+"\n")
		if path == "/" {
			_, rest, _ = strings.Cut(got.stderr, "/\n")
		}
		if i := strings.Index(rest, "\n/"); i >= 0 {
			rest = rest[:i]
		}
		return rest
	}
	for _, tc := range []struct {
		path string
		want []*regexp.Regexp
	}{
		// The store: the mount points created, the exit commit timed.
		{"/", []*regexp.Regexp{regexp.MustCompile(`ops +.*\bcreate [1-9]`),
			regexp.MustCompile(`\n  commit +[1-9]\d*, p50 \S+, p90 \S+, p99 \S+, max \S+`)}},
		{"/tmp", []*regexp.Regexp{regexp.MustCompile(`ops +none`), regexp.MustCompile(`bytes +read 0 B, written 0 B`)}},
		// The guest's file: created, opened once, written once with its 5 bytes. (The walk
		// needs no stat since Lookup reports the type; a guest may still stat.)
		{"/data", []*regexp.Regexp{regexp.MustCompile(`ops +lookup \d+ \(1 failed\), (stat \d+, )?create 1, open 1, close 1, write 1\b`),
			regexp.MustCompile(`bytes +read 0 B, written 5 B`)}},
		{"/host", []*regexp.Regexp{regexp.MustCompile(`ops +none`)}},
	} {
		b := block(tc.path)
		for _, re := range tc.want {
			if !re.MatchString(b) {
				t.Errorf("%s: block lacks %v:\n%s", tc.path, re, b)
			}
		}
	}

	// A guest that reads: the bytes it read are counted on its mount, none are written. (cat
	// asks for every right, so it opens for writing too: a read-only mount would be EROFS.)
	got = cli(t, store, "--stats", "--dir", host+":/host", g("cat"), "host/in.txt")
	if got.code != 0 || got.stdout != "from the host" {
		t.Fatalf("cat: %d, %q\n%s", got.code, got.stdout, got.stderr)
	}
	if b := got.stderr[strings.Index(got.stderr, "\n/host\n"):]; !regexp.MustCompile(`read [1-9]\d*\b.*bytes +read 13 B, written 0 B`).MatchString(strings.ReplaceAll(b, "\n", " ")) {
		t.Errorf("/host block after a read of 13 bytes:\n%s", b)
	}
	// Without --stats, nothing is printed.
	if got := cli(t, store, "--dir", host+":/host", g("cat"), "host/in.txt"); got.code != 0 || got.stderr != "" {
		t.Errorf("without --stats: %d, stderr %q; want 0 and nothing", got.code, got.stderr)
	}
}

// TestInterrupt checks that SIGINT and SIGTERM stop a running guest, and that what it wrote is
// committed before wasmrun exits: with --timeout, wazero's interrupt checks stop the guest;
// without, the guest computes on, and wasmrun commits under it and exits after a grace period.
func TestInterrupt(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		for _, timeout := range []string{"", "1h"} {
			name := sig.String() + "/no timeout"
			wantStderr := "(committed while the guest was still computing)"
			args := []string{"--commit-interval", "1h"}
			if timeout != "" {
				name = sig.String() + "/timeout " + timeout
				wantStderr = ": stopped by " + map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[sig] + "\n"
				args = append(args, "--timeout", timeout)
			}
			t.Run(name, func(t *testing.T) {
				store := newStore(t)
				data := "before " + name
				cmd := exec.Command(wasmrunBin, append(args, g("write"), "f", data, "loop")...)
				cmd.Env = testEnv(store)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 8)
				if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "looping\n" {
					t.Fatalf("guest output %q, %v", buf, err)
				}
				cmd.Process.Signal(sig)
				err = waitTimeout(t, cmd, 10*time.Second)
				ee, ok := err.(*exec.ExitError)
				if !ok || ee.ExitCode() != 128+int(sig) {
					t.Errorf("wasmrun: %v, want exit status %d\nstderr: %s", err, 128+int(sig), stderr.String())
				}
				if !strings.Contains(stderr.String(), wantStderr) {
					t.Errorf("stderr lacks %q:\n%s", wantStderr, stderr.String())
				}
				if got := cli(t, store, g("cat"), "f"); got.code != 0 || got.stdout != data {
					t.Errorf("after the signal: cat f: %d, %q\n%s", got.code, got.stdout, got.stderr)
				}
			})
		}
	}

	// A guest that only computes (loop.wat spins and never calls the host), without --timeout:
	// SIGINT still ends wasmrun, within the grace period and a commit.
	t.Run("computing guest", func(t *testing.T) {
		store := newStore(t)
		cmd := exec.Command(wasmrunBin, g("loop"))
		cmd.Env = testEnv(store)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // let it start spinning
		start := time.Now()
		cmd.Process.Signal(syscall.SIGINT)
		err := waitTimeout(t, cmd, 10*time.Second)
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
			t.Errorf("wasmrun: %v, want exit status 130\nstderr: %s", err, stderr.String())
		}
		if took := time.Since(start); took < interruptGrace || took > 5*time.Second {
			t.Errorf("exited %v after SIGINT, want about the %v grace period", took, interruptGrace)
		}
		if want := "wasmrun: " + g("loop") + ": stopped by SIGINT (committed while the guest was still computing)"; !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	})

	// A guest blocked reading stdin is stopped too.
	cmd := exec.Command(wasmrunBin, g("cat"))
	cmd.Env = testEnv(newStore(t))
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(in, "ping\n")
	buf := make([]byte, 5)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "ping\n" {
		t.Fatalf("guest output %q, %v", buf, err)
	}
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
			t.Errorf("wasmrun blocked on stdin, then SIGINT: %v, want exit status 130", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Error("wasmrun blocked on stdin did not stop on SIGINT")
	}
}

// waitTimeout waits for cmd, and kills it and fails the test if it takes longer than d.
func waitTimeout(t *testing.T, cmd *exec.Cmd, d time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		cmd.Process.Kill()
		t.Fatalf("%v did not exit within %v", cmd.Args, d)
		return nil
	}
}

// python returns the path of python.wasm. It is fetched by testdata/fetch-python.sh: CI
// (CI=true) must have it, a developer may run without.
func python(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(pythonWasm); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing in CI: run testdata/fetch-python.sh (make python): %v", pythonWasm, err)
		}
		t.Skipf("%s is missing: run testdata/fetch-python.sh (make python) to run the python.wasm tests", pythonWasm)
	}
	return pythonWasm
}

func TestPython(t *testing.T) {
	py := python(t)
	store := newStore(t)
	steps := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{name: "print", args: []string{py, "-c", "print(1+1)"}, wantOut: "2\n"},
		{name: "argv", args: []string{py, "-c", "import sys; print(sys.argv)", "a", "b"}, wantOut: "['-c', 'a', 'b']\n"},
		{name: "env", args: []string{"--env", "GREETING=hi", py, "-c", "import os; print(os.environ['GREETING'])"}, wantOut: "hi\n"},
		{name: "exit code", args: []string{py, "-c", "import sys; sys.exit(5)"}, wantCode: 5},
		{name: "exception", args: []string{py, "-c", "1/0"}, wantCode: 1, wantErr: "ZeroDivisionError"},
		{name: "write data and tmp", args: []string{py, "-c", `
import os
os.makedirs('/data', exist_ok=True)
with open('/data/x', 'w') as f:
    f.write('persisted by python')
with open('/tmp/t', 'w') as f:
    f.write('scratch')
print(sorted(os.listdir('/tmp')))
`}, wantOut: "['t']\n"},
		{name: "read back", args: []string{py, "-c", `
import os
print(open('/data/x').read())
print(os.listdir('/tmp'))
`}, wantOut: "persisted by python\n[]\n"},
	}
	for _, s := range steps {
		got := cli(t, store, s.args...)
		if got.code != s.wantCode || got.stdout != s.wantOut || !strings.Contains(got.stderr, s.wantErr) {
			t.Errorf("%s: got %d, %q, stderr %q; want %d, %q, stderr with %q",
				s.name, got.code, got.stdout, got.stderr, s.wantCode, s.wantOut, s.wantErr)
		}
	}
}

// TestUnusableDefaultCache checks that wasmrun runs without a compilation cache when the
// default cache directory cannot be created (a read-only or missing home).
func TestUnusableDefaultCache(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(wasmrunBin, g("exit"))
	cmd.Env = append(testEnv(newStore(t)), "WASMRUN_CACHE_DIR="+filepath.Join(file, "cache"))
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 || len(out) != 0 {
		t.Errorf("got %v, output %q; want exit status 3 and no output", err, out)
	}
}
