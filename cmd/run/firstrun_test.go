package run

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// freshEnv is the environment of a new account: this process's, without any of wasmrun's
// variables, with HOME and XDG_DATA_HOME as given ("" leaves the variable out), and the tests'
// compilation cache (so that python.wasm compiles once for the whole test run).
func freshEnv(home, xdgData string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "WASMRUN_STORE", "HOME", "XDG_DATA_HOME":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+home, "WASMRUN_CACHE_DIR="+filepath.Join(testHome, "cache"))
	if xdgData != "" {
		env = append(env, "XDG_DATA_HOME="+xdgData)
	}
	return env
}

// TestFirstRunDefaultStore runs python.wasm the way a new user does, with no --store and no
// $WASMRUN_STORE, on an account whose data directory does not exist yet: the default store
// and its directories are created, and what the first run writes, the second reads.
func TestFirstRunDefaultStore(t *testing.T) {
	py, err := filepath.Abs(python(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		xdg       bool   // set XDG_DATA_HOME to an empty directory
		wantStore string // relative to HOME, or to XDG_DATA_HOME
	}{
		{name: "HOME", wantStore: ".local/share/wasmrun/default.store"},
		{name: "XDG_DATA_HOME", xdg: true, wantStore: "wasmrun/default.store"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			base, xdg := home, ""
			if tc.xdg {
				xdg = t.TempDir()
				base = xdg
			}
			steps := []struct{ code, want string }{
				{"open('/first.txt', 'w').write('kept'); print(1)", "1\n"},
				{"print(open('/first.txt').read())", "kept\n"},
			}
			for _, s := range steps {
				cmd := exec.Command(wasmrunBin, py, "-c", s.code)
				cmd.Env = freshEnv(home, xdg)
				cmd.Dir = home
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Run(); err != nil || stdout.String() != s.want {
					t.Fatalf("%s: %v, stdout %q, stderr %q; want %q", s.code, err, stdout.String(), stderr.String(), s.want)
				}
			}
			if _, err := os.Stat(filepath.Join(base, tc.wantStore)); err != nil {
				t.Errorf("the default store: %v", err)
			}
		})
	}
}

// unprivileged prepares cmd to run as a user that file permissions apply to: as nobody when
// the tests run as root (as in CI), whose permission checks would pass anyway. The binary and
// the guest are copied to a directory nobody can read, and their copies returned.
func unprivileged(t *testing.T, dir string) (bin, guest string, prepare func(*exec.Cmd)) {
	t.Helper()
	if os.Geteuid() != 0 {
		return wasmrunBin, g("echo"), func(*exec.Cmd) {}
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	for p := filepath.Dir(dir); p != "/"; p = filepath.Dir(p) {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(p, st.Mode().Perm()|0o011); err != nil {
				t.Fatal(err)
			}
		}
	}
	copyFile := func(src, dst string, mode fs.FileMode) {
		b, err := os.ReadFile(src)
		if err == nil {
			err = os.WriteFile(dst, b, mode)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	bin, guest = filepath.Join(dir, "wasmrun"), filepath.Join(dir, "echo.wasm")
	copyFile(wasmrunBin, bin, 0o755)
	copyFile(g("echo"), guest, 0o644)
	return bin, guest, func(cmd *exec.Cmd) {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
}

// TestStoreCreateErrors checks that a store that cannot be created or written is reported with
// what is wrong (never an internal temporary file), that a store that cannot be written says
// how it can be read, and that nothing is left behind.
func TestStoreCreateErrors(t *testing.T) {
	dir := t.TempDir()
	bin, echo, prepare := unprivileged(t, dir)
	readOnlyDir := filepath.Join(dir, "ro-dir")
	if err := os.Mkdir(readOnlyDir, 0o555); err != nil {
		t.Fatal(err)
	}
	readOnlyStore := filepath.Join(dir, "ro.store")
	if got := cli(t, readOnlyStore, g("echo")); got.code != 0 {
		t.Fatalf("creating %s: %d %s", readOnlyStore, got.code, got.stderr)
	}
	if err := os.Chmod(readOnlyStore, 0o444); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		store string
		want  []string // substrings of stderr
	}{
		{name: "missing directory", store: filepath.Join(dir, "no", "such", "s.store"),
			want: []string{"create store " + filepath.Join(dir, "no", "such", "s.store"), "directory " + filepath.Join(dir, "no", "such"), "no such file or directory"}},
		{name: "read-only directory", store: filepath.Join(readOnlyDir, "s.store"),
			want: []string{"create store " + filepath.Join(readOnlyDir, "s.store"), "cannot create a file in " + readOnlyDir, "permission denied"}},
		{name: "proc", store: "/proc/s.store",
			want: []string{"create store /proc/s.store", "/proc does not allow new files"}},
		{name: "below a file", store: filepath.Join(file, "s.store"),
			want: []string{filepath.Join(file, "s.store"), "not a directory"}},
		{name: "read-only store", store: readOnlyStore,
			want: []string{readOnlyStore, "permission denied", "--mount /=stable:" + readOnlyStore + ":ro", "wasmrun fs ls"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, "--no-cache", "--store", tc.store, echo, "hi")
			prepare(cmd)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitUsage {
				t.Fatalf("got %v, stderr %q; want exit status 2", err, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q does not say %q", stderr.String(), w)
				}
			}
			if strings.Contains(stderr.String(), ".new-") {
				t.Errorf("stderr %q names a temporary file", stderr.String())
			}
		})
	}
	// The read-only store can be read the way the message says.
	cmd := exec.Command(bin, "--no-cache", "--mount", "/=stable:"+readOnlyStore+":ro", echo, "read")
	prepare(cmd)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "arg: read\n") {
		t.Errorf("--mount /=stable:%s:ro: %v, %q", readOnlyStore, err, out)
	}
	entries, _ := os.ReadDir(readOnlyDir)
	for _, e := range entries {
		t.Errorf("left in %s: %s", readOnlyDir, e.Name())
	}
}

// TestNoStoreOnEarlyFailure checks that a run that fails before the guest starts leaves no
// new store file behind.
func TestNoStoreOnEarlyFailure(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.wasm")
	if err := os.WriteFile(bad, []byte("\x00asm\x01\x00\x00\x00\x01"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
	}{
		{name: "missing --dir", args: []string{"--dir", filepath.Join(dir, "missing") + ":/data", g("echo")}},
		{name: "--dir a file", args: []string{"--dir", file + ":/data", g("echo")}},
		{name: "bad --mount", args: []string{"--mount", "/x=nosuchkind", g("echo")}},
		{name: "bad flag", args: []string{"--tmp-size", "lots", g("echo")}},
		{name: "module that does not compile", args: []string{bad}},
		{name: "missing module", args: []string{filepath.Join(dir, "missing.wasm")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := filepath.Join(t.TempDir(), "new.store")
			got := cli(t, store, tc.args...)
			if got.code != exitUsage {
				t.Errorf("exit status %d, want 2; stderr %q", got.code, got.stderr)
			}
			entries, _ := os.ReadDir(filepath.Dir(store))
			for _, e := range entries {
				t.Errorf("left behind: %s (stderr %q)", e.Name(), got.stderr)
			}
		})
	}
}
