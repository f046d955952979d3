package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/internal/guests"
	wasmrt "github.com/wasmrun/wasmrun/runtime"
	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/hostfs"
)

// sharedCacheDir is a compilation cache that outlives the test process (TestMain points the
// default one at a temporary directory), so that large guests (python.wasm, the standard-library
// test binaries) are compiled to machine code once per machine, not once per test run.
func sharedCacheDir(t testing.TB) string {
	t.Helper()
	dir, err := guests.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "wazero")
}

// mountKind is one column of the matrix: where the guest's working directory lives, and a
// directory on another mount (for EXDEV).
type mountKind struct {
	name string
	// setup prepares r and returns the guest's working directory and a directory on another
	// mount. Neither exists yet: the guests create them.
	setup func(t *testing.T, r *wasmrt.Runtime) (work, other string)
}

var mountKinds = []mountKind{
	{"heap", func(t *testing.T, r *wasmrt.Runtime) (string, string) {
		return "/tmp/work", "/other" // /tmp is the heap, / the stable root store
	}},
	{"stable", func(t *testing.T, r *wasmrt.Runtime) (string, string) {
		return "/data/work", "/tmp/other"
	}},
	{"stable-mount", func(t *testing.T, r *wasmrt.Runtime) (string, string) {
		st, err := stable.Open(filepath.Join(t.TempDir(), "mnt.store"), stable.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Mount("/mnt", st); err != nil {
			t.Fatal(err)
		}
		return "/mnt/work", "/tmp/other"
	}},
	{"hostdir", func(t *testing.T, r *wasmrt.Runtime) (string, string) {
		host, err := hostfs.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Mount("/host", host); err != nil {
			t.Fatal(err)
		}
		return "/host/work", "/tmp/other"
	}},
}

// workload is one row of the matrix: a guest built from testdata/guests and what it must print.
type workload struct {
	name  string
	guest string
	// args returns argv for the working directory and the directory on another mount.
	args      func(work, other string) []string
	env       []string
	stdin     string
	wantCode  int
	wantErr   error    // errors.Is target for Run's error; nil means Run must succeed
	stdout    *string  // exact stdout, when not nil
	wantLines []string // lines stdout must contain
	stderr    string   // exact stderr
	// transcript means stdout is a PASS/FAIL check list: no line may start with "FAIL".
	transcript bool
	// cleans means the guest removes its working directory at the end.
	cleans bool
}

func stdioInput() string {
	var b strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&b, "line %d of the stdio workload: mixed Case text\n", i)
	}
	return b.String()
}

func workloads() []workload {
	in := stdioInput()
	upper := strings.ToUpper(in)
	return []workload{
		{
			name:  "c-fsops",
			guest: "c/fsops",
			args:  func(w, o string) []string { return []string{"fsops", w, o} },
			wantLines: []string{
				"PASS path_rename across mounts EXDEV", "PASS symlink loop ELOOP",
				"PASS fd_readdir cookie resumes after entries change", "PASS telldir/seekdir cookies stay valid while entries change",
				"PASS unlink while open: data still readable",
				"PASS holes: read as zeros", "PASS fd_renumber", "RESULT: PASS 154 checks",
			},
			transcript: true,
			cleans:     true,
		},
		{
			name:       "go-fsops",
			guest:      "go/fsops",
			args:       func(w, o string) []string { return []string{"fsops", w, o} },
			wantLines:  []string{"PASS Rename across mounts is EXDEV", "PASS fstest.TestFS(os.DirFS)", "RESULT: PASS 64 checks"},
			transcript: true,
			cleans:     true,
		},
		{
			name:       "go-files",
			guest:      "go/files",
			args:       func(w, o string) []string { return []string{"files", w} },
			wantLines:  []string{"PASS walk and verify", "RESULT: PASS 7 checks"},
			transcript: true,
		},
		{
			name:   "c-stdio",
			guest:  "c/stdio",
			args:   func(w, o string) []string { return []string{"stdio", w} },
			stdin:  in,
			stdout: &upper,
			stderr: fmt.Sprintf("stdio: %d bytes, 3000 lines\n", len(in)),
		},
		{
			name:     "c-sys",
			guest:    "c/sys",
			args:     func(w, o string) []string { return []string{"sys", w, "two words", "ünï", "", "exit", "7"} },
			env:      []string{"A=1", "GREETING=hello world", "EMPTY="},
			wantCode: 7,
			wantLines: []string{
				"argc=7", "argv[0]=sys", "argv[2]=two words", "argv[3]=ünï", "argv[4]=", "argv[6]=7",
				"environ[0]=A=1", "environ[1]=GREETING=hello world", "environ[2]=EMPTY=", "environc=3",
				"PASS poll_oneoff clock: nanosleep 20ms", "PASS poll_oneoff fd_write: stdout is writable",
				"RESULT: PASS 10 checks",
			},
			transcript: true,
		},
		{
			name:    "wat-trap",
			guest:   "wat/trap",
			args:    func(w, o string) []string { return []string{"trap"} },
			wantErr: wasmrt.ErrTrap,
			stdout:  ptr("before trap\n"),
		},
	}
}

func ptr[T any](v T) *T { return &v }

// TestGuestMatrix runs every workload guest against every kind of mount through the embedding
// API, in process, and checks the exit code and the transcript.
func TestGuestMatrix(t *testing.T) {
	for _, w := range workloads() {
		wasmPath := guests.Build(t, w.guest)
		wasm, err := os.ReadFile(wasmPath)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range mountKinds {
			t.Run(w.name+"/"+k.name, func(t *testing.T) {
				t.Parallel()
				runWorkload(t, w, k, wasm)
			})
		}
	}
}

func runWorkload(t *testing.T, w workload, k mountKind, wasm []byte) {
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
	work, other := k.setup(t, r)
	m, err := r.Compile(ctx, wasm)
	if err != nil {
		t.Fatal("Compile:", err)
	}
	var stdout, stderr bytes.Buffer
	code, err := r.Run(ctx, m, wasmrt.RunConfig{
		Args:   w.args(work, other),
		Env:    w.env,
		Stdin:  strings.NewReader(w.stdin),
		Stdout: &stdout,
		Stderr: &stderr,
	})
	failed := false
	report := func(format string, args ...any) {
		t.Helper()
		failed = true
		t.Errorf(format, args...)
	}
	switch {
	case w.wantErr != nil && !errors.Is(err, w.wantErr):
		report("Run error %v, want %v", err, w.wantErr)
	case w.wantErr == nil && err != nil:
		report("Run error: %v", err)
	case w.wantErr == nil && code != w.wantCode:
		report("exit code %d, want %d", code, w.wantCode)
	}
	out := stdout.String()
	if w.stdout != nil && out != *w.stdout {
		report("stdout differs: got %d bytes, want %d", len(out), len(*w.stdout))
	}
	if stderr.String() != w.stderr {
		report("stderr %q, want %q", stderr.String(), w.stderr)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		lines[l] = true
		if w.transcript && strings.HasPrefix(l, "FAIL") {
			report("%s", l)
		}
	}
	for _, want := range w.wantLines {
		if !lines[want] {
			report("stdout lacks the line %q", want)
		}
	}
	if w.cleans {
		ns := r.Namespace()
		if _, errno := ns.StatAt(ns.Root(), work, false); errno != vfs.ENOENT {
			report("after the guest removed %s, the host stat says %v, want ENOENT", work, errno)
		}
	}
	if failed && w.stdout == nil {
		t.Logf("stdout:\n%s", out)
	}
}
