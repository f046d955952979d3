package wasi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/sys"
	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/vfs"
)

// buildWAT assembles testdata/<name>.wat with wat2wasm into t.TempDir().
func buildWAT(t *testing.T, name string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), name+".wasm")
	cmd := exec.Command("wat2wasm", filepath.Join("testdata", name+".wat"), "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s\n(install: apt-get install wabt)", cmd, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// traceGolden is the trace of testdata/trace.wat over an empty heap namespace.
var traceGolden = `
path_create_directory(fd=3, path="data") = 0
path_open(fd=3, dirflags=SYMLINK_FOLLOW, path="data/x.txt", oflags=CREAT|TRUNC, fs_rights_base=FD_READ|FD_SEEK|FD_TELL|FD_WRITE, fs_rights_inheriting=0, fdflags=APPEND) = fd 4
fd_write(fd=4, iovs=[0x300:6, 0x306:6] (2)) = 12
fd_seek(fd=4, offset=0, whence=SET) = 0
fd_read(fd=4, iovs=[0x1000:4096] (1)) = 12
fd_seek(fd=4, offset=-5, whence=CUR) = 7
path_filestat_get(fd=3, flags=SYMLINK_FOLLOW, path="data/x.txt") = {ino=3, type=file, nlink=1, size=12}
path_open(fd=3, dirflags=0, path="missing/file", oflags=0, fs_rights_base=FD_READ, fs_rights_inheriting=0, fdflags=0) = -1 ENOENT
path_open(fd=3, dirflags=SYMLINK_FOLLOW, path=<EFAULT 0xfffffff0:8>, oflags=0, fs_rights_base=FD_READ, fs_rights_inheriting=0, fdflags=0) = -1 EFAULT
path_symlink(old_path="x.txt", fd=3, new_path="data/link") = 0
path_readlink(fd=3, path="data/link", buf=0xa00, buf_len=64) = 5 "x.txt"
path_filestat_get(fd=3, flags=0, path="` + aaa256 + `"...) = -1 ENAMETOOLONG
path_unlink_file(fd=3, path="tab\there\"q\n\xff") = -1 ENOENT
path_rename(fd=3, old_path="data/x.txt", new_fd=3, new_path="data/y.txt") = 0
path_unlink_file(fd=3, path="data") = -1 EISDIR
fd_fdstat_get(fd=4) = {type=file, flags=APPEND, rights=FD_READ|FD_SEEK|FD_TELL|FD_WRITE, inheriting=0}
fd_close(fd=4) = 0
fd_close(fd=4) = -1 EBADF
fd_write(fd=1, iovs=[0x300:12] (1)) = 12
fd_write(fd=1, iovs=[0xfffffff0:16] (1)) = -1 EFAULT
fd_read(fd=0, iovs=<EFAULT 0xfffffff0> (1)) = -1 EFAULT
clock_time_get(id=MONOTONIC, precision=1000) = 42
proc_exit(code=3)
`

var aaa256 = strings.Repeat("a", 256)

// runTraced runs bin over a fresh heap namespace with its trace going to w, and checks that it
// exits with code 3 after writing "hello world\n".
func runTraced(t *testing.T, r wazero.Runtime, compiled wazero.CompiledModule, w io.Writer, tag string) {
	ctx := context.Background()
	var stdout bytes.Buffer
	p, err := NewProcess(Config{
		Stdout: &stdout, NS: vfs.NewNamespace(heap.New(heap.Options{})),
		Nanotime: func() int64 { return 42 },
		Trace:    w, TraceTag: tag,
	})
	if err != nil {
		t.Error(err)
		return
	}
	defer p.Close()
	_, err = r.InstantiateModule(WithProcess(ctx, p), compiled, wazero.NewModuleConfig().WithName(""))
	var exit *sys.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Errorf("run: %v", err)
	}
	if stdout.String() != "hello world\n" {
		t.Errorf("stdout %q", stdout.String())
	}
}

func newTraceRuntime(t *testing.T) (wazero.Runtime, wazero.CompiledModule) {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	t.Cleanup(func() { r.Close(ctx) })
	if _, err := Instantiate(ctx, r); err != nil {
		t.Fatal(err)
	}
	compiled, err := r.CompileModule(ctx, buildWAT(t, "trace"))
	if err != nil {
		t.Fatal(err)
	}
	return r, compiled
}

// TestTraceGolden runs a WAT guest with tracing on and compares the whole trace: path strings
// (escaped, cut at 256 bytes, wild), flags, rights, results and errors, EFAULT, proc_exit.
func TestTraceGolden(t *testing.T) {
	r, compiled := newTraceRuntime(t)
	var trace bytes.Buffer
	runTraced(t, r, compiled, &trace, "")
	if got, want := strings.TrimSpace(trace.String()), strings.TrimSpace(traceGolden); got != want {
		t.Fatalf("trace:\n%s\n\nwant:\n%s", got, want)
	}
}

// oneWritePerLine is a trace writer that checks each Write is exactly one whole line.
type oneWritePerLine struct {
	t     testing.TB
	lines []string
}

func (w *oneWritePerLine) Write(b []byte) (int, error) {
	s := string(b)
	if !strings.HasSuffix(s, "\n") || strings.Count(s, "\n") != 1 {
		w.t.Errorf("a Write that is not one line: %q", s)
	}
	w.lines = append(w.lines, strings.TrimSuffix(s, "\n"))
	return len(b), nil
}

// TestTraceConcurrent runs guests concurrently, each with its own tag, all tracing into one
// file: every line is whole, and each guest's lines are its trace in order.
func TestTraceConcurrent(t *testing.T) {
	r, compiled := newTraceRuntime(t)
	f, err := os.Create(filepath.Join(t.TempDir(), "trace"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const guests = 4
	var wg sync.WaitGroup
	for i := range guests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				runTraced(t, r, compiled, f, strconv.Itoa(i))
			}
		}()
	}
	wg.Wait()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	golden := strings.Split(strings.TrimSpace(traceGolden), "\n")
	per := make([][]string, guests)
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		tag, rest, ok := strings.Cut(line, "] ")
		i, err := strconv.Atoi(strings.TrimPrefix(tag, "["))
		if !ok || !strings.HasPrefix(tag, "[") || err != nil || i < 0 || i >= guests {
			t.Fatalf("line without a tag: %q", line)
		}
		if want := golden[len(per[i])%len(golden)]; rest != want {
			t.Fatalf("guest %d line %d: %q, want %q", i, len(per[i]), rest, want)
		}
		per[i] = append(per[i], rest)
	}
	for i, lines := range per {
		if len(lines) != 5*len(golden) {
			t.Errorf("guest %d: %d lines, want %d", i, len(lines), 5*len(golden))
		}
	}
}

// TestTraceLines checks the line of single calls through the proxy guest, one table row each.
func TestTraceLines(t *testing.T) {
	w := &oneWritePerLine{t: t}
	e := newEnvLog(t, false, func(c *Config) {
		c.Trace = w
		c.TraceTag = "7"
		c.Nanotime = func() int64 { return 1000 }
	})
	fd := e.open("/f", oflagCreat, 0)
	dir := e.open("/", oflagDirectory, 0)
	e.put(1000, []byte("/f"))
	e.put(2000, clockSub(1, clockMonotonic, 5, 0))
	e.put(2048, fdSub(2, eventFdRead, uint32(fd)))
	e.put(2096, clockSub(3, clockRealtime, 1<<60, subclockAbstime))
	e.put(2144, fdSub(4, 9, 0))
	for i := uint32(0); i < 6; i++ {
		e.iov(3000+8*i, 4000+i, i)
	}
	for _, c := range []struct {
		name string
		args []uint64
		want string
	}{
		{"fd_fdstat_get", []uint64{uint64(dir), 100},
			"fd_fdstat_get(fd=5) = {type=dir, flags=0, rights=ALL&~(FD_DATASYNC|FD_READ|FD_SEEK|FD_TELL|FD_WRITE|FD_ADVISE|FD_ALLOCATE|FD_FILESTAT_SET_SIZE|POLL_FD_READWRITE|SOCK_SHUTDOWN|SOCK_ACCEPT), inheriting=ALL&~(SOCK_SHUTDOWN|SOCK_ACCEPT)}"},
		{"path_open", []uint64{3, 0x10, 1000, 2, 0x30, 1<<62 | uint64(rightFdRead), 0, 0x40, 100},
			`path_open(fd=3, dirflags=0x10, path="/f", oflags=0x30, fs_rights_base=FD_READ|0x4000000000000000, fs_rights_inheriting=0, fdflags=0x40) = -1 EINVAL`},
		{"fd_write", []uint64{uint64(fd), 3000, 6, 100}, "fd_write(fd=4, iovs=[0xfa0:0, 0xfa1:1, 0xfa2:2, 0xfa3:3, ...] (6)) = 15"},
		{"fd_pread", []uint64{uint64(fd), 3000, 2, 1<<63 - 1, 100}, "fd_pread(fd=4, iovs=[0xfa0:0, 0xfa1:1] (2), offset=9223372036854775807) = 0"},
		{"fd_seek", []uint64{uint64(fd), 2, whenceEnd, 100}, "fd_seek(fd=4, offset=2, whence=END) = 17"},
		{"fd_seek", []uint64{uint64(fd), 0, 7, 100}, "fd_seek(fd=4, offset=0, whence=7) = -1 EINVAL"},
		{"fd_tell", []uint64{uint64(fd), 100}, "fd_tell(fd=4) = 17"},
		{"fd_advise", []uint64{uint64(fd), 0, 10, 4}, "fd_advise(fd=4, offset=0, len=10, advice=DONTNEED) = 0"},
		{"fd_fdstat_set_flags", []uint64{uint64(fd), uint64(fdflagAppend | fdflagSync)}, "fd_fdstat_set_flags(fd=4, flags=APPEND|SYNC) = 0"},
		{"fd_filestat_set_times", []uint64{uint64(fd), 1, 2, uint64(fstAtim | fstMtimNow)}, "fd_filestat_set_times(fd=4, atim=1, mtim=2, fst_flags=ATIM|MTIM_NOW) = 0"},
		{"fd_filestat_get", []uint64{uint64(fd), 100}, "fd_filestat_get(fd=4) = {ino=3, type=file, nlink=1, size=15}"},
		{"fd_filestat_get", []uint64{uint64(fd), 1 << 20}, "fd_filestat_get(fd=4) = -1 EFAULT"},
		{"fd_prestat_get", []uint64{3, 100}, "fd_prestat_get(fd=3) = {dir, name_len=1}"},
		{"fd_prestat_dir_name", []uint64{3, 100, 1}, `fd_prestat_dir_name(fd=3, path_len=1) = "/"`},
		{"fd_readdir", []uint64{uint64(dir), 10000, 1000, 0, 100}, "fd_readdir(fd=5, buf=0x2710, buf_len=1000, cookie=0) = 103"},
		{"fd_renumber", []uint64{uint64(dir), 9}, "fd_renumber(fd=5, to=9) = -1 EBADF"},
		{"args_sizes_get", []uint64{100, 104}, "args_sizes_get() = count 2, size 8"},
		{"environ_get", []uint64{100, 200}, "environ_get(environ=0x64, environ_buf=0xc8) = 0"},
		{"clock_res_get", []uint64{9, 100}, "clock_res_get(id=9) = -1 EINVAL"},
		{"clock_time_get", []uint64{clockProcessCPU, 0, 100}, "clock_time_get(id=PROCESS_CPUTIME_ID, precision=0) = 0"},
		{"poll_oneoff", []uint64{2000, 5000, 2, 100}, "poll_oneoff(in=[clock(MONOTONIC, timeout=5), fd_read(4)] (2), out=0x1388) = 1"},
		{"poll_oneoff", []uint64{2000, 5000, 5, 100}, "poll_oneoff(in=[clock(MONOTONIC, timeout=5), fd_read(4), clock(REALTIME, timeout=1152921504606846976, ABSTIME), event(9), ...] (5), out=0x1388) = -1 EINVAL"},
		{"poll_oneoff", []uint64{65500, 5000, 2, 100}, "poll_oneoff(in=<EFAULT 0xffdc> (2), out=0x1388) = -1 EFAULT"},
		{"random_get", []uint64{100, 8}, "random_get(buf=0x64, buf_len=8) = 0"},
		{"path_filestat_set_times", []uint64{3, 0, 1000, 2, 0, 0, 0}, `path_filestat_set_times(fd=3, flags=0, path="/f", atim=0, mtim=0, fst_flags=0) = 0`},
		{"path_link", []uint64{3, 0, 1000, 2, 3, 65535, 2}, `path_link(old_fd=3, old_flags=0, old_path="/f", new_fd=3, new_path=<EFAULT 0xffff:2>) = -1 EFAULT`},
		{"path_open", []uint64{3, 1, 1000, 0, 0, rightsAll &^ rightFdWrite, 0, 0, 100}, `path_open(fd=3, dirflags=SYMLINK_FOLLOW, path="", oflags=0, fs_rights_base=ALL&~(FD_WRITE), fs_rights_inheriting=0, fdflags=0) = -1 ENOENT`},
		{"proc_raise", []uint64{9}, "proc_raise(sig=9) = -1 ENOSYS"},
		{"sched_yield", nil, "sched_yield() = 0"},
		{"sock_send", []uint64{uint64(fd), 3000, 1, 0, 100}, "sock_send(fd=4, si_data=[0xfa0:0] (1), si_flags=0) = -1 ENOTSOCK"},
	} {
		w.lines = nil
		e.call(c.name, c.args...)
		want := "[7] " + c.want
		if len(w.lines) != 1 || w.lines[0] != want {
			t.Errorf("%s%v:\n got %q\nwant %q", c.name, c.args, w.lines, want)
		}
	}
}

// TestTraceNoMemory traces calls from a guest without memory: every address is EFAULT, and
// the trace says so without touching memory.
func TestTraceNoMemory(t *testing.T) {
	w := &oneWritePerLine{t: t}
	e := newEnvLog(t, false, func(c *Config) { c.Trace = w })
	mod, err := e.r.Instantiate(e.ctx, proxyBinaryNoMemory())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []uint64
		want string
	}{
		{"path_open", []uint64{3, 1, 1000, 2, 0, 2, 0, 0, 100}, "path_open(fd=3, dirflags=SYMLINK_FOLLOW, path=<EFAULT 0x3e8:2>, oflags=0, fs_rights_base=FD_READ, fs_rights_inheriting=0, fdflags=0) = -1 EFAULT"},
		{"fd_write", []uint64{1, 0, 0, 100}, "fd_write(fd=1, iovs=<EFAULT 0x0> (0)) = -1 EFAULT"},
		{"poll_oneoff", []uint64{0, 0, 1, 100}, "poll_oneoff(in=<EFAULT 0x0> (1), out=0x0) = -1 EFAULT"},
	} {
		w.lines = nil
		if _, err := mod.ExportedFunction(c.name).Call(e.ctx, c.args...); err != nil {
			t.Fatal(err)
		}
		if len(w.lines) != 1 || w.lines[0] != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, w.lines, c.want)
		}
	}
}

// TestTraceExit checks the line of a call that unwinds the guest: a poll cut short by the
// context, and proc_exit.
func TestTraceExit(t *testing.T) {
	w := &oneWritePerLine{t: t}
	e := newEnvLog(t, false, func(c *Config) { c.Trace = w })
	e.put(2000, clockSub(1, clockMonotonic, uint64(time.Hour), 0))
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Millisecond)
	defer cancel()
	_, err := e.mod.ExportedFunction("poll_oneoff").Call(ctx, 2000, 5000, 1, 100)
	var exit *sys.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != sys.ExitCodeDeadlineExceeded {
		t.Fatalf("poll_oneoff: %v", err)
	}
	want := "poll_oneoff(in=[clock(MONOTONIC, timeout=3600000000000)] (1), out=0x1388) = ? (exit " +
		strconv.FormatUint(uint64(sys.ExitCodeDeadlineExceeded), 10) + ")"
	if len(w.lines) != 1 || w.lines[0] != want {
		t.Fatalf("got %q\nwant %q", w.lines, want)
	}

	w.lines = nil
	mod, err := e.r.Instantiate(e.ctx, proxyBinary(1))
	if err != nil {
		t.Fatal(err)
	}
	_, err = mod.ExportedFunction("proc_exit").Call(e.ctx, 1<<32-1)
	if !errors.As(err, &exit) || exit.ExitCode() != 1<<32-1 {
		t.Fatalf("proc_exit: %v", err)
	}
	if len(w.lines) != 1 || w.lines[0] != "proc_exit(code=4294967295)" {
		t.Fatalf("got %q", w.lines)
	}
}

// TestTraceRandomHostCalls makes random calls with random arguments with tracing on: no host
// panic, and one whole line per call naming the import. Set WASI_SEED to replay a run.
func TestTraceRandomHostCalls(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("WASI_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		seed = v
	}
	t.Logf("WASI_SEED=%d", seed)
	r := rand.New(rand.NewPCG(seed, seed))
	w := &oneWritePerLine{t: t}
	e := newEnvLog(t, false, frozen, func(c *Config) { c.Trace = w })
	n := 3000
	if testing.Short() {
		n = 300
	}
	prev := ""
	for i := 0; i < n; i++ {
		name, args := randomCall(e, r)
		w.lines = nil
		checkCall(t, e, name, args)
		if len(w.lines) != 1 || !strings.HasPrefix(w.lines[0], name+"(") {
			t.Fatalf("call %d, %s%v, traced as %q (the call before: %s)", i, name, args, w.lines, prev)
		}
		prev = w.lines[0]
	}
}

// TestTraceAllocs checks that a traced call allocates no more than the same call untraced: the
// line buffer is reused and strings are quoted from views of guest memory.
func TestTraceAllocs(t *testing.T) {
	e := ioEnvTraced(t, io.Discard)
	tr := e.p.trace
	rewind := e.hostCall("fd_seek", 4, 0, whenceSet, 4008)
	e.put(1000, []byte("/f"))
	cases := append(allocCases[:len(allocCases):len(allocCases)], struct {
		name string
		args []uint64
	}{"path_filestat_get", []uint64{3, 1, 1000, 2, 100}})
	for _, c := range cases {
		call := e.hostCall(c.name, c.args...)
		call.run(e)
		measure := func(trace *tracer) float64 {
			e.p.trace = trace
			return testing.AllocsPerRun(100, func() {
				call.run(e)
				rewind.run(e)
			})
		}
		if off, on := measure(nil), measure(tr); on > off {
			t.Errorf("%s: %.1f allocations per call traced, %.1f untraced", c.name, on, off)
		}
	}
}

// ioEnvTraced is ioEnv with tracing into w.
func ioEnvTraced(tb testing.TB, w io.Writer) *env {
	e := ioEnv(tb)
	e.p.trace = newTracer(w, "")
	return e
}

func TestLockedWriter(t *testing.T) {
	var buf bytes.Buffer
	w := LockedWriter(&buf)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				w.Write([]byte(strconv.Itoa(i) + "\n"))
			}
		}()
	}
	wg.Wait()
	if n := strings.Count(buf.String(), "\n"); n != 400 {
		t.Fatalf("%d lines", n)
	}
}

// BenchmarkFdWriteTraced is BenchmarkFdWrite with tracing on, into io.Discard: the cost of
// formatting a line. BenchmarkFdWrite itself is the cost with tracing off.
func BenchmarkFdWriteTraced(b *testing.B) {
	e := ioEnvTraced(b, io.Discard)
	call := e.hostCall("fd_write", 4, 4000, 1, 4008)
	rewind := e.hostCall("fd_seek", 4, 0, whenceSet, 4008)
	call.run(e)
	b.ReportAllocs()
	b.SetBytes(4096)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if got := call.run(e); got != errSuccess {
			b.Fatal(got)
		}
		rewind.run(e)
	}
}

// TestTraceCGuest runs the C guest that calls every fd_* and path_* import, and then the same
// through wasi-libc, traced: its output is the same as untraced, every line is whole and well
// formed, and some lines libc is known to cause are there.
func TestTraceCGuest(t *testing.T) {
	bin := buildC(t, "allcalls")
	untraced, _ := runGuest(t, bin, vfs.NewNamespace(heap.New(heap.Options{})))

	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	if _, err := Instantiate(ctx, r); err != nil {
		t.Fatal(err)
	}
	w := &oneWritePerLine{t: t}
	var stdout bytes.Buffer
	p, err := NewProcess(Config{Args: []string{"guest"}, Stdout: &stdout, NS: vfs.NewNamespace(heap.New(heap.Options{})), Trace: w})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = r.InstantiateWithConfig(WithProcess(ctx, p), bin, wazero.NewModuleConfig().WithStartFunctions("_start"))
	var exit *sys.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 7 {
		t.Fatalf("run: %v", err)
	}
	if stdout.String() != untraced {
		t.Fatalf("traced output differs:\n%s\nuntraced:\n%s", stdout.String(), untraced)
	}
	line := regexp.MustCompile(`^[a-z_]+\(.*\)( = (-1 E[A-Z0-9]+|.+))?$`)
	for _, l := range w.lines {
		if !line.MatchString(l) {
			t.Errorf("malformed line %q", l)
		}
	}
	all := strings.Join(w.lines, "\n")
	for _, want := range []string{
		`fd_prestat_dir_name(fd=3, path_len=1) = "/"`,
		`fd_fdstat_set_flags(fd=4, flags=APPEND) = 0`,
		`, fs_rights_base=ALL, fs_rights_inheriting=ALL, fdflags=0) = fd 4`,
		`path_remove_directory(fd=3, path="work") = -1 ENOTEMPTY`,
		`fd_prestat_dir_name(fd=3, path_len=256) = "/"`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no line with %q in\n%s", want, all)
		}
	}
	if last := w.lines[len(w.lines)-1]; last != "proc_exit(code=7)" {
		t.Errorf("last line %q", last)
	}
}
