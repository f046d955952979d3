package runtime_test

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

// pythonWasm returns the bytes of testdata/python/python.wasm (CPython 3.12 for WASI). When the
// file is missing the test fails under CI (CI=true) and is skipped elsewhere, with the command
// that fetches it.
func pythonWasm(t *testing.T) []byte {
	t.Helper()
	root, err := guests.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "testdata", "python", "python.wasm")
	b, err := os.ReadFile(path)
	if err != nil {
		const hint = "fetch it with testdata/fetch-python.sh (or make python)"
		if os.Getenv("CI") == "true" {
			t.Fatalf("python.wasm is required in CI: %v; %s", err, hint)
		}
		t.Skipf("python.wasm is missing (%v); %s", err, hint)
	}
	return b
}

// pythonScript reads testdata/python/NAME.
func pythonScript(t *testing.T, name string) string {
	t.Helper()
	root, err := guests.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "testdata", "python", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// runPython runs `python -c script args...` on r and returns the exit code and the output.
func runPython(t *testing.T, r *wasmrt.Runtime, wasm []byte, script string, args ...string) (int, string, string) {
	t.Helper()
	ctx := context.Background()
	m, err := r.Compile(ctx, wasm)
	if err != nil {
		t.Fatal("Compile python.wasm:", err)
	}
	var stdout, stderr bytes.Buffer
	code, err := r.Run(ctx, m, wasmrt.RunConfig{
		Args:   append([]string{"python", "-c", script}, args...),
		Stdout: &stdout,
		Stderr: &stderr,
	})
	if err != nil {
		t.Fatalf("Run python: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	return code, stdout.String(), stderr.String()
}

func newPythonRuntime(t *testing.T, store string) *wasmrt.Runtime {
	t.Helper()
	r, err := wasmrt.New(context.Background(), wasmrt.Options{Store: store, CacheDir: sharedCacheDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPythonFiles runs testdata/python/files.py (os, shutil, zipfile, json, sqlite3, tempfile)
// with its working directory on each kind of mount and a second directory on another mount.
func TestPythonFiles(t *testing.T) {
	wasm := pythonWasm(t)
	script := pythonScript(t, "files.py")
	for _, k := range mountKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			r := newPythonRuntime(t, filepath.Join(t.TempDir(), "root.store"))
			defer func() {
				if err := r.Close(context.Background()); err != nil {
					t.Error("Close:", err)
				}
			}()
			work, other := k.setup(t, r)
			code, stdout, stderr := runPython(t, r, wasm, script, work, other)
			ok := code == 0 && strings.Contains(stdout, "\nRESULT: PASS 11 checks\n")
			for _, l := range strings.Split(stdout, "\n") {
				if strings.HasPrefix(l, "FAIL") {
					ok = false
					t.Error(l)
				}
			}
			if !ok {
				t.Errorf("files.py on %s exited %d\nstdout:\n%s\nstderr:\n%s", k.name, code, stdout, stderr)
			}
		})
	}
}

// TestPythonPersistence writes files and a sqlite3 database to the stable root from one
// Runtime, closes it, and reads them back from a new Runtime on the same store file, while what
// was in /tmp is gone.
func TestPythonPersistence(t *testing.T) {
	wasm := pythonWasm(t)
	store := filepath.Join(t.TempDir(), "root.store")
	const write = `
import json, os, sqlite3
os.makedirs("/data/app", exist_ok=True)
with open("/data/app/state.json", "w") as f:
    json.dump({"runs": 1, "words": ["persist", "me"]}, f)
con = sqlite3.connect("/data/app/db.sqlite")
con.execute("create table kv (k text primary key, v text)")
with con:
    con.executemany("insert into kv values (?, ?)", [("k%d" % i, "v%d" % i) for i in range(1000)])
con.close()
with open("/tmp/scratch.txt", "w") as f:
    f.write("gone after the runtime closes")
print("written")
`
	const read = `
import json, os, sqlite3
with open("/data/app/state.json") as f:
    assert json.load(f) == {"runs": 1, "words": ["persist", "me"]}
con = sqlite3.connect("/data/app/db.sqlite")
assert con.execute("select count(*), max(v) from kv").fetchone() == (1000, "v999")
assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
con.close()
assert not os.path.exists("/tmp/scratch.txt"), "/tmp survived the runtime"
print("read back")
`
	for i, step := range []struct{ script, want string }{{write, "written\n"}, {read, "read back\n"}} {
		r := newPythonRuntime(t, store)
		code, stdout, stderr := runPython(t, r, wasm, step.script)
		if err := r.Close(context.Background()); err != nil {
			t.Fatalf("step %d: Close: %v", i, err)
		}
		if code != 0 || stdout != step.want {
			t.Fatalf("step %d: exit %d, stdout %q, want 0 and %q\nstderr:\n%s", i, code, stdout, step.want, stderr)
		}
	}
}
