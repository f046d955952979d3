package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	wasmrt "github.com/wasmrun/wasmrun/runtime"
	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/hostfs"
)

// WASI preview1 errno values the test guests exit with.
const (
	wasiEMFILE = 33
	wasiENOENT = 44
	wasiENOSPC = 51
)

// newRuntime returns a Runtime closed at the end of the test; "/" is a fresh store in a
// temporary directory unless opts says otherwise.
func newRuntime(t testing.TB, opts wasmrt.Options) *wasmrt.Runtime {
	t.Helper()
	if opts.Root == nil && opts.Store == "" {
		opts.Store = filepath.Join(t.TempDir(), "root.store")
	}
	r, err := wasmrt.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(context.Background()); err != nil {
			t.Error("Close:", err)
		}
	})
	return r
}

// result is what one Run gave.
type result struct {
	code           int
	err            error
	stdout, stderr string
}

// run compiles wasm on r and runs it with args (argv[0] included) and cfg's other fields.
func run(t *testing.T, ctx context.Context, r *wasmrt.Runtime, wasm []byte, cfg wasmrt.RunConfig) result {
	t.Helper()
	m, err := r.Compile(ctx, wasm)
	if err != nil {
		t.Fatal("Compile:", err)
	}
	var stdout, stderr bytes.Buffer
	cfg.Stdout, cfg.Stderr = &stdout, &stderr
	code, err := r.Run(ctx, m, cfg)
	return result{code, err, stdout.String(), stderr.String()}
}

func args(a ...string) wasmrt.RunConfig { return wasmrt.RunConfig{Args: a} }

func TestRunExit(t *testing.T) {
	tests := []struct {
		name       string
		guest      string
		cfg        wasmrt.RunConfig
		timeout    time.Duration // a deadline for the run
		cancel     time.Duration // cancel the run after this long
		wantCode   int
		wantErr    error  // errors.Is target; nil for success
		wantInErr  string // part of the error message
		wantStdout string
	}{
		{name: "return", guest: "echo", cfg: args("echo", "a", "b c"),
			wantStdout: "arg: echo\narg: a\narg: b c\n"},
		{name: "proc_exit", guest: "exit", cfg: args("exit"), wantCode: 3},
		{name: "trap", guest: "trap", cfg: args("trap"), wantCode: -1, wantErr: wasmrt.ErrTrap,
			wantInErr: "unreachable"},
		{name: "deadline", guest: "loop", timeout: 50 * time.Millisecond, wantCode: -1,
			wantErr: context.DeadlineExceeded},
		{name: "cancel", guest: "loop", cancel: 50 * time.Millisecond, wantCode: -1,
			wantErr: context.Canceled},
		{name: "missing import", guest: "noimport", wantCode: -1, wantInErr: "env"},
	}
	r := newRuntime(t, wasmrt.Options{Interruptible: true})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			if tc.cancel > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				time.AfterFunc(tc.cancel, cancel)
			}
			start := time.Now()
			got := run(t, ctx, r, guest(t, tc.guest), tc.cfg)
			if got.code != tc.wantCode {
				t.Errorf("exit code %d, want %d (err %v)", got.code, tc.wantCode, got.err)
			}
			switch {
			case tc.wantErr == nil && tc.wantInErr == "" && got.err != nil:
				t.Errorf("err %v, want nil", got.err)
			case tc.wantErr != nil && !errors.Is(got.err, tc.wantErr):
				t.Errorf("err %v, want one that is %v", got.err, tc.wantErr)
			case tc.wantInErr != "" && (got.err == nil || !strings.Contains(got.err.Error(), tc.wantInErr)):
				t.Errorf("err %v, want one containing %q", got.err, tc.wantInErr)
			}
			if tc.wantErr != wasmrt.ErrTrap && errors.Is(got.err, wasmrt.ErrTrap) {
				t.Errorf("err %v is ErrTrap", got.err)
			}
			if got.stdout != tc.wantStdout {
				t.Errorf("stdout %q, want %q", got.stdout, tc.wantStdout)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestInterruptible checks each Interrupt mode: by default and with InterruptAlways, a deadline
// stops a guest that computes without calling the host; with InterruptAtHostCalls the deadline
// stops a guest only at a host call or while it waits in one, and one that computes runs to its
// end.
func TestInterruptible(t *testing.T) {
	tests := []struct {
		name     string
		mode     wasmrt.Interrupt
		guest    string
		stdin    bool          // the guest reads a pipe nobody writes
		timeout  time.Duration // a deadline for the run
		wantCode int
		wantErr  error
		fast     bool // Run returns well before the guest would have ended
	}{
		{name: "default/computing", guest: "spin", timeout: 20 * time.Millisecond,
			wantCode: -1, wantErr: context.DeadlineExceeded, fast: true},
		{name: "default/waiting", guest: "cat", stdin: true, timeout: 20 * time.Millisecond,
			wantCode: -1, wantErr: context.DeadlineExceeded, fast: true},
		{name: "default/calling", guest: "hostloop", timeout: 20 * time.Millisecond,
			wantCode: -1, wantErr: context.DeadlineExceeded, fast: true},
		{name: "always/computing", mode: wasmrt.InterruptAlways, guest: "spin", timeout: 20 * time.Millisecond,
			wantCode: -1, wantErr: context.DeadlineExceeded, fast: true},
		{name: "host calls/computing", mode: wasmrt.InterruptAtHostCalls, guest: "spin", timeout: 20 * time.Millisecond},
		// A guest that keeps calling the host stops at its next host call.
		{name: "host calls/calling", mode: wasmrt.InterruptAtHostCalls, guest: "hostloop", timeout: 20 * time.Millisecond,
			wantCode: -1, wantErr: context.DeadlineExceeded, fast: true},
		{name: "host calls/waiting", mode: wasmrt.InterruptAtHostCalls, guest: "cat", stdin: true, timeout: 20 * time.Millisecond,
			wantCode: -1, wantErr: context.DeadlineExceeded, fast: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRuntime(t, wasmrt.Options{Interrupt: tc.mode})
			m, err := r.Compile(context.Background(), guest(t, tc.guest))
			if err != nil {
				t.Fatal(err)
			}
			cfg := args(tc.guest)
			if tc.stdin {
				pr, pw := io.Pipe()
				defer pw.Close()
				cfg.Stdin = pr
			}
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			start := time.Now()
			code, err := r.Run(ctx, m, cfg)
			took := time.Since(start)
			if code != tc.wantCode || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Errorf("Run: %d, %v; want %d, %v", code, err, tc.wantCode, tc.wantErr)
			}
			if tc.fast && took > 2*time.Second {
				t.Errorf("Run returned after %v, want soon after the %v deadline", took, tc.timeout)
			}
			if !tc.fast && took < tc.timeout {
				t.Errorf("Run returned after %v, before the %v deadline: did the guest compute at all?", took, tc.timeout)
			}
			// The same module with a context that cannot end runs to its end (the variant
			// without the checks, in the default mode).
			if tc.guest == "spin" {
				if code, err := r.Run(context.Background(), m, args(tc.guest)); code != 0 || err != nil {
					t.Errorf("Run with context.Background(): %d, %v", code, err)
				}
			}
		})
	}
}

// BenchmarkInterruptible runs a guest that computes without calling the host (100 million
// loop iterations, each a call) with a context that can end, so with wazero's interrupt checks
// (the default), and with one that cannot, or with InterruptAtHostCalls, so without them.
func BenchmarkInterruptible(b *testing.B) {
	for _, tc := range []struct {
		name        string
		mode        wasmrt.Interrupt
		cancellable bool
	}{
		{"default/cancellable", wasmrt.InterruptIfCancellable, true},
		{"default/background", wasmrt.InterruptIfCancellable, false},
		{"at-host-calls/cancellable", wasmrt.InterruptAtHostCalls, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r := newRuntime(b, wasmrt.Options{Interrupt: tc.mode})
			m, err := r.Compile(context.Background(), guest(b, "spin"))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if tc.cancellable {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
			}
			for b.Loop() {
				if code, err := r.Run(ctx, m, args("spin")); code != 0 || err != nil {
					b.Fatal(code, err)
				}
			}
		})
	}
}

// TestRunTrace checks that RunConfig.Trace gets one tagged line per WASI call, with the
// decoded arguments and the result.
func TestRunTrace(t *testing.T) {
	r := newRuntime(t, wasmrt.Options{})
	var trace bytes.Buffer
	cfg := args("write", "dir/missing", "x")
	cfg.Trace, cfg.TraceTag = &trace, "w1"
	got := run(t, context.Background(), r, guest(t, "write"), cfg)
	if got.code != wasiENOENT {
		t.Fatalf("write into a missing directory: %d, %v; want ENOENT (%d)", got.code, got.err, wasiENOENT)
	}
	lines := strings.Split(strings.TrimSuffix(trace.String(), "\n"), "\n")
	for _, want := range []string{
		`[w1] args_sizes_get(`,
		`[w1] path_open(fd=3, dirflags=SYMLINK_FOLLOW, path="dir/missing", oflags=CREAT|TRUNC, `,
		`[w1] proc_exit(code=44)`,
	} {
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(l, want)
		}
		if !found {
			t.Errorf("no trace line starts with %q:\n%s", want, trace.String())
		}
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "[w1] path_open(") && !strings.HasSuffix(l, " = -1 ENOENT") {
			t.Errorf("path_open line %q does not end with its errno", l)
		}
	}
}

func TestRunArgsEnvStdin(t *testing.T) {
	r := newRuntime(t, wasmrt.Options{})
	got := run(t, context.Background(), r, guest(t, "echo"), wasmrt.RunConfig{
		Args: []string{"prog", "", "ünïcode", "with space"},
		Env:  []string{"A=1", "EMPTY=", "B=x=y"},
	})
	want := "arg: prog\narg: \narg: ünïcode\narg: with space\nenv: A=1\nenv: EMPTY=\nenv: B=x=y\n"
	if got.err != nil || got.code != 0 || got.stdout != want {
		t.Errorf("got %d, %v, stdout %q; want 0, nil, %q", got.code, got.err, got.stdout, want)
	}

	in := strings.Repeat("stdin line\n", 10000) // more than one read
	got = run(t, context.Background(), r, guest(t, "cat"), wasmrt.RunConfig{
		Args:  []string{"cat"},
		Stdin: strings.NewReader(in),
	})
	if got.err != nil || got.code != 0 || got.stdout != in {
		t.Errorf("cat of stdin: %d, %v, %d bytes of stdout; want 0, nil, %d bytes", got.code, got.err, len(got.stdout), len(in))
	}

	// A bad environment is refused before the guest runs.
	m, err := r.Compile(context.Background(), guest(t, "echo"))
	if err != nil {
		t.Fatal(err)
	}
	if code, err := r.Run(context.Background(), m, wasmrt.RunConfig{Env: []string{"NOEQUALS"}}); err == nil || code != -1 {
		t.Errorf("Env without '=': %d, %v; want -1 and an error", code, err)
	}
}

func TestCompile(t *testing.T) {
	r := newRuntime(t, wasmrt.Options{})
	tests := []struct {
		name      string
		wasm      []byte
		wantErr   error
		wantInErr string
	}{
		{name: "empty", wasm: nil, wantErr: wasmrt.ErrNotWasm},
		{name: "wat text", wasm: []byte("(module)"), wantErr: wasmrt.ErrNotWasm},
		{name: "elf", wasm: []byte("\x7fELF\x02\x01\x01"), wantErr: wasmrt.ErrNotWasm},
		{name: "truncated", wasm: []byte("\x00asm\x01\x00"), wantInErr: "version"},
		{name: "no _start", wasm: guest(t, "nostart"), wantInErr: "_start"},
		{name: "command", wasm: guest(t, "echo")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := r.Compile(context.Background(), tc.wasm)
			switch {
			case tc.wantErr == nil && tc.wantInErr == "":
				if err != nil || m == nil {
					t.Errorf("got %v, %v; want a module", m, err)
				}
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Errorf("err %v, want %v", err, tc.wantErr)
			case tc.wantInErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantInErr)):
				t.Errorf("err %v, want one containing %q", err, tc.wantInErr)
			}
		})
	}
}

func TestCompileMemoised(t *testing.T) {
	r := newRuntime(t, wasmrt.Options{})
	wasm := guest(t, "echo")
	const n = 8
	mods := make([]*wasmrt.Module, n)
	var wg sync.WaitGroup
	for i := range mods {
		wg.Go(func() {
			m, err := r.Compile(context.Background(), bytes.Clone(wasm))
			if err != nil {
				t.Error(err)
			}
			mods[i] = m
		})
	}
	wg.Wait()
	for i, m := range mods {
		if m != mods[0] {
			t.Errorf("Compile %d returned another module than Compile 0", i)
		}
	}
	other, err := r.Compile(context.Background(), guest(t, "exit"))
	if err != nil {
		t.Fatal(err)
	}
	if other == mods[0] {
		t.Error("two different modules compiled to the same *Module")
	}
}

// TestConcurrentRuns runs many guests at once on one Runtime, each writing and reading back its
// own file in the shared store. Run it with -race.
func TestConcurrentRuns(t *testing.T) {
	r := newRuntime(t, wasmrt.Options{})
	ctx := context.Background()
	write, cat := guest(t, "write"), guest(t, "cat")
	const workers, rounds = 8, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				name := fmt.Sprintf("w%d", w)
				data := fmt.Sprintf("worker %d round %d", w, i)
				if got := run(t, ctx, r, write, args("write", name, data)); got.code != 0 || got.err != nil {
					t.Errorf("write %s: %d, %v", name, got.code, got.err)
					return
				}
				got := run(t, ctx, r, cat, args("cat", name))
				if got.code != 0 || got.err != nil || got.stdout != data {
					t.Errorf("cat %s: %d, %v, %q; want 0, nil, %q", name, got.code, got.err, got.stdout, data)
					return
				}
			}
		})
	}
	wg.Wait()
}

// crashImage copies the store file and its write-ahead log (the file named with the suffix
// "-wal", which holds the commits not yet checkpointed) as this process sees them now, through
// the page cache, and returns a Runtime on the copy: it holds exactly what was committed. That
// is what a crash of the process leaves, not a power cut (the copy includes writes never
// fsynced): the exit commit under a power cut is proven by cmd/run's TestPowerCut* (its "exit"
// rounds), on internal/powercut.
func crashImage(t *testing.T, store string) *wasmrt.Runtime {
	t.Helper()
	img := filepath.Join(t.TempDir(), "crash.store")
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(store + suffix)
		if suffix != "" && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(img+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return newRuntime(t, wasmrt.Options{Store: img})
}

// TestCommitAtExit checks the durability contract's point 3: however the guest ends, what it
// wrote without fd_sync is on disk when Run returns, with no background commit and before
// Close.
func TestCommitAtExit(t *testing.T) {
	tests := []struct {
		mode     string
		timeout  time.Duration
		wantCode int
	}{
		{mode: "return"},
		{mode: "exit", wantCode: 7},
		{mode: "trap", wantCode: -1},
		{mode: "loop", timeout: time.Hour, wantCode: -1}, // cancelled once f is written
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			store := filepath.Join(t.TempDir(), "root.store")
			r := newRuntime(t, wasmrt.Options{
				Store:         store,
				StoreOptions:  stable.Options{CommitInterval: time.Hour},
				Interruptible: tc.timeout > 0,
			})
			ctx := context.Background()
			data := "written before " + tc.mode
			if tc.timeout > 0 {
				// The guest is stopped once it has written f, whatever the machine's load:
				// a fixed deadline could end it before the write.
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
				stop := make(chan struct{})
				defer close(stop)
				go func() {
					for {
						if b, err := r.FS().ReadFile("f"); err == nil && string(b) == data {
							cancel()
							return
						}
						select {
						case <-stop:
							return
						case <-time.After(time.Millisecond):
						}
					}
				}()
			}
			got := run(t, ctx, r, guest(t, "write"), args("write", "f", data, tc.mode))
			if got.code != tc.wantCode {
				t.Fatalf("exit code %d (%v), want %d", got.code, got.err, tc.wantCode)
			}

			// The control: a write that no guest exit followed is not in the crash image,
			// so the image does tell committed from uncommitted.
			ns := r.Namespace()
			h, e := ns.Open(ns.Root(), "control", vfs.OWrite|vfs.OCreate, 0o644)
			if e != vfs.ESUCCESS {
				t.Fatal("open control:", e)
			}
			if _, e := h.File.WriteAt([]byte("uncommitted"), 0); e != vfs.ESUCCESS {
				t.Fatal("write control:", e)
			}
			h.File.Close()

			img := crashImage(t, store)
			cat := guest(t, "cat")
			if got := run(t, context.Background(), img, cat, args("cat", "f")); got.code != 0 || got.stdout != data {
				t.Errorf("after the crash: cat f: %d, %v, %q; want 0, nil, %q", got.code, got.err, got.stdout, data)
			}
			if got := run(t, context.Background(), img, cat, args("cat", "control")); got.code != wasiENOENT {
				t.Errorf("after the crash: cat control: %d, %v, %q; want ENOENT (%d): the image is not a crash image",
					got.code, got.err, got.stdout, wasiENOENT)
			}
		})
	}
}

// TestDefaultNamespace checks that "/" persists across Runtimes and /tmp does not.
func TestDefaultNamespace(t *testing.T) {
	store := filepath.Join(t.TempDir(), "root.store")
	ctx := context.Background()
	write, cat := guest(t, "write"), guest(t, "cat")

	r, err := wasmrt.New(ctx, wasmrt.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"kept", "tmp/gone"} {
		if got := run(t, ctx, r, write, args("write", f, "data of "+f)); got.code != 0 || got.err != nil {
			t.Fatalf("write %s: %d, %v", f, got.code, got.err)
		}
		if got := run(t, ctx, r, cat, args("cat", f)); got.stdout != "data of "+f {
			t.Fatalf("cat %s in the same runtime: %q", f, got.stdout)
		}
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}

	r = newRuntime(t, wasmrt.Options{Store: store})
	if got := run(t, ctx, r, cat, args("cat", "kept")); got.code != 0 || got.stdout != "data of kept" {
		t.Errorf("cat kept: %d, %v, %q; want the data back", got.code, got.err, got.stdout)
	}
	if got := run(t, ctx, r, cat, args("cat", "tmp/gone")); got.code != wasiENOENT {
		t.Errorf("cat tmp/gone: %d, %v, %q; want ENOENT (%d): /tmp must start empty", got.code, got.err, got.stdout, wasiENOENT)
	}
}

func TestMountHostDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("from the host"), 0o644); err != nil {
		t.Fatal(err)
	}
	host, err := hostfs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := newRuntime(t, wasmrt.Options{})
	if err := r.Mount("/host", host); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if got := run(t, ctx, r, guest(t, "cat"), args("cat", "host/hello.txt")); got.code != 0 || got.stdout != "from the host" {
		t.Errorf("cat host/hello.txt: %d, %v, %q", got.code, got.err, got.stdout)
	}
	if got := run(t, ctx, r, guest(t, "write"), args("write", "host/new.txt", "from the guest")); got.code != 0 {
		t.Errorf("write host/new.txt: %d, %v", got.code, got.err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "new.txt")); err != nil || string(b) != "from the guest" {
		t.Errorf("new.txt on the host: %q, %v", b, err)
	}
}

func TestLimits(t *testing.T) {
	ctx := context.Background()
	big := strings.Repeat("x", 20000)
	tests := []struct {
		name     string
		opts     wasmrt.Options
		cfg      wasmrt.RunConfig
		guest    string
		wantCode int
		wantErr  bool // Compile or Run fails
	}{
		{name: "memory over limit", opts: wasmrt.Options{MemoryLimitPages: 16}, guest: "bigmem", wantErr: true},
		{name: "memory at limit", opts: wasmrt.Options{MemoryLimitPages: 32}, guest: "bigmem"},
		{name: "fds over limit", opts: wasmrt.Options{MaxFDs: 4}, cfg: args("cat", "f"), guest: "cat", wantCode: wasiEMFILE},
		{name: "fds at limit", opts: wasmrt.Options{MaxFDs: 5}, cfg: args("cat", "f"), guest: "cat"},
		{name: "fds per run", opts: wasmrt.Options{MaxFDs: 4}, cfg: wasmrt.RunConfig{Args: []string{"cat", "f"}, MaxFDs: 5}, guest: "cat"},
		{name: "tmp over limit", opts: wasmrt.Options{TmpBytes: 8192}, cfg: args("write", "tmp/big", big), guest: "write", wantCode: wasiENOSPC},
		{name: "tmp unbounded", opts: wasmrt.Options{TmpBytes: -1}, cfg: args("write", "tmp/big", big), guest: "write"},
		{name: "no tmp mount", opts: wasmrt.Options{NoTmp: true}, cfg: args("cat", "tmp"), guest: "cat", wantCode: wasiENOENT},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRuntime(t, tc.opts)
			ns := r.Namespace()
			h, e := ns.Open(ns.Root(), "f", vfs.OWrite|vfs.OCreate, 0o644)
			if e != vfs.ESUCCESS {
				t.Fatal(e)
			}
			h.File.Close()
			m, err := r.Compile(ctx, guest(t, tc.guest))
			code := -1
			if err == nil {
				code, err = r.Run(ctx, m, tc.cfg)
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error: %v", err, tc.wantErr)
			}
			if err == nil && code != tc.wantCode {
				t.Errorf("exit code %d, want %d", code, tc.wantCode)
			}
		})
	}
}

func TestStoreErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("not a store\n", 1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := wasmrt.New(context.Background(), wasmrt.Options{Store: text})
	if !errors.Is(err, stable.ErrNotStore) || !strings.Contains(err.Error(), text) {
		t.Errorf("New on a text file: %v; want stable.ErrNotStore naming %s", err, text)
	}

	store := filepath.Join(dir, "busy.store")
	newRuntime(t, wasmrt.Options{Store: store})
	_, err = wasmrt.New(context.Background(), wasmrt.Options{
		Store:        store,
		StoreOptions: stable.Options{LockTimeout: 50 * time.Millisecond},
	})
	if !errors.Is(err, stable.ErrLocked) || !strings.Contains(err.Error(), store) {
		t.Errorf("New on a store in use: %v; want stable.ErrLocked naming %s", err, store)
	}
}

func TestClosed(t *testing.T) {
	r, err := wasmrt.New(context.Background(), wasmrt.Options{Store: filepath.Join(t.TempDir(), "s")})
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.Compile(context.Background(), guest(t, "echo"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := r.Compile(context.Background(), guest(t, "exit")); !errors.Is(err, wasmrt.ErrClosed) {
		t.Errorf("Compile after Close: %v", err)
	}
	if _, err := r.Run(context.Background(), m, args("echo")); !errors.Is(err, wasmrt.ErrClosed) {
		t.Errorf("Run after Close: %v", err)
	}
}

func TestDefaultPaths(t *testing.T) {
	tests := []struct {
		name             string
		store, xdg, home string
		want             string
	}{
		{name: "WASMRUN_STORE", store: "/s/my.store", xdg: "/x", home: "/h", want: "/s/my.store"},
		{name: "XDG_DATA_HOME", xdg: "/x", home: "/h", want: "/x/wasmrun/default.store"},
		{name: "relative XDG_DATA_HOME is ignored", xdg: "x", home: "/h", want: "/h/.local/share/wasmrun/default.store"},
		{name: "HOME", home: "/h", want: "/h/.local/share/wasmrun/default.store"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(wasmrt.EnvStore, tc.store)
			t.Setenv("XDG_DATA_HOME", tc.xdg)
			t.Setenv("HOME", tc.home)
			got, err := wasmrt.DefaultStorePath()
			if err != nil || got != tc.want {
				t.Errorf("DefaultStorePath() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if goruntime.GOOS != "linux" {
		return // os.UserCacheDir follows XDG_CACHE_HOME on Linux only
	}
	t.Setenv(wasmrt.EnvCacheDir, "")
	t.Setenv("XDG_CACHE_HOME", "/c")
	if got, err := wasmrt.DefaultCacheDir(); err != nil || got != "/c/wasmrun" {
		t.Errorf("DefaultCacheDir() = %q, %v; want /c/wasmrun", got, err)
	}
}

func TestCacheDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	unusable := filepath.Join(file, "cache") // below a regular file: cannot be created

	// An explicit directory that cannot be used is an error.
	if _, err := wasmrt.New(context.Background(), wasmrt.Options{Store: filepath.Join(dir, "a.store"), CacheDir: unusable}); err == nil {
		t.Errorf("New with CacheDir %s succeeded", unusable)
	}

	// An unusable default is not: the runtime works without an on-disk cache.
	t.Setenv(wasmrt.EnvCacheDir, unusable)
	r := newRuntime(t, wasmrt.Options{})
	if got := run(t, context.Background(), r, guest(t, "exit"), args("exit")); got.code != 3 {
		t.Errorf("without a cache: exit %d, %v", got.code, got.err)
	}

	// A usable directory receives the compiled code.
	cache := filepath.Join(dir, "cache")
	r = newRuntime(t, wasmrt.Options{CacheDir: cache})
	if _, err := r.Compile(context.Background(), guest(t, "echo")); err != nil {
		t.Fatal(err)
	}
	var files int
	filepath.WalkDir(cache, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files++
		}
		return nil
	})
	if files == 0 {
		t.Errorf("no compiled code in %s after Compile", cache)
	}
}
