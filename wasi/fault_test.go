package wasi

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/vfs"
)

// isPointer reports whether the parameter named name is a guest address (not a length, fd,
// flag or value).
func isPointer(name string) bool {
	if strings.HasSuffix(name, "_len") || name == "len" {
		return false
	}
	switch strings.TrimPrefix(name, "result.") {
	case "iovs", "buf", "path", "old_path", "new_path", "argv", "argv_buf", "environ",
		"environ_buf", "in", "out", "ri_data", "si_data":
		return true
	}
	return strings.HasPrefix(name, "result.")
}

// faultArgs are arguments for each function that pass every check before guest memory is
// touched: fd 4 is a regular file, 5 a directory, "/f" is at 1000 and "/g" at 1100, one iovec at
// 4000 names 10 bytes at 5000, a zero-timeout clock subscription is at 20000.
var faultArgs = map[string][]uint64{
	"args_get":                {100, 200},
	"args_sizes_get":          {100, 104},
	"environ_get":             {100, 200},
	"environ_sizes_get":       {100, 104},
	"clock_res_get":           {0, 100},
	"clock_time_get":          {0, 0, 100},
	"fd_fdstat_get":           {4, 100},
	"fd_filestat_get":         {4, 100},
	"fd_pread":                {4, 4000, 1, 0, 100},
	"fd_prestat_get":          {3, 100},
	"fd_prestat_dir_name":     {3, 100, 1},
	"fd_pwrite":               {4, 4000, 1, 0, 100},
	"fd_read":                 {4, 4000, 1, 100},
	"fd_readdir":              {5, 10000, 100, 0, 100},
	"fd_seek":                 {4, 0, 0, 100},
	"fd_tell":                 {4, 100},
	"fd_write":                {4, 4000, 1, 100},
	"path_create_directory":   {3, 1000, 2},
	"path_filestat_get":       {3, 0, 1000, 2, 100},
	"path_filestat_set_times": {3, 0, 1000, 2, 0, 0, 0},
	"path_link":               {3, 0, 1000, 2, 3, 1100, 2},
	"path_open":               {3, 1, 1000, 2, 0, rightFdRead, 0, 0, 100},
	"path_readlink":           {3, 1000, 2, 2000, 10, 100},
	"path_remove_directory":   {3, 1000, 2},
	"path_rename":             {3, 1000, 2, 3, 1100, 2},
	"path_symlink":            {1000, 2, 3, 1100, 2},
	"path_unlink_file":        {3, 1000, 2},
	"poll_oneoff":             {20000, 30000, 1, 100},
	"random_get":              {100, 10},
}

// frozen is the Config of the random-call tests: nothing a call does may depend on timing, so
// that a printed seed replays its run exactly, under any load. Both clocks read a fixed time
// near the end of the monotonic clock's range, which makes every clock subscription of
// poll_oneoff due at once (a relative timeout saturates at the end of the clock, an absolute
// one is in the past); standard input is empty and at its end from the start (a nil Stdin,
// no pump goroutine); random_get draws from a fixed seed. So no call ever waits, and no call
// needs a deadline: a deadline could expire before a call reaches the host under load, which
// ends the guest at the call's entry, untraced (what TestTraceRandomHostCalls saw).
func frozen(c *Config) {
	c.Stdin = nil
	c.Nanotime = func() int64 { return math.MaxInt64 - 1 }
	c.Walltime = func() int64 { return 1_800_000_000_000_000_000 }
	c.Rand = rand.NewChaCha8([32]byte{'w', 'a', 's', 'i'})
}

func faultEnv(t testing.TB) *env {
	e := newEnvLog(t, false, frozen)
	if fd := e.open("/f", oflagCreat, 0); fd != 4 {
		t.Fatalf("fd %d", fd)
	}
	e.mkdir("/d")
	if fd := e.open("/d", oflagDirectory, 0); fd != 5 {
		t.Fatalf("fd %d", fd)
	}
	return e
}

func (e *env) faultSetup() {
	e.put(1000, []byte("/f"))
	e.put(1100, []byte("/g"))
	e.iov(4000, 5000, 10)
	e.put(20000, clockSub(1, clockMonotonic, 0, 0))
}

// TestEFAULT passes wild addresses, one parameter at a time, to every function that takes an
// address: each call must fail with EFAULT (not panic, not succeed, not touch memory it may not).
func TestEFAULT(t *testing.T) {
	e := faultEnv(t)
	// Past the end of the one-page memory, or straddling it (every record and path here is at
	// least 2 bytes, but the 1-byte name fd_prestat_dir_name writes).
	wild := []uint64{1<<32 - 1, 1<<32 - 8, 70000, 65536, 65535}
	for _, sig := range signatures() {
		base, ok := faultArgs[sig.name]
		if !ok {
			continue
		}
		f := &functions[0]
		for i := range functions {
			if functions[i].name == sig.name {
				f = &functions[i]
			}
		}
		tested := false
		for i, name := range f.names {
			if !isPointer(name) {
				continue
			}
			for _, w := range wild {
				if w == 65535 && sig.name == "fd_prestat_dir_name" {
					continue
				}
				e.faultSetup()
				args := append([]uint64(nil), base...)
				args[i] = w
				if got := e.call(sig.name, args...); got != errFault {
					t.Errorf("%s with %s=%d: %v, want EFAULT", sig.name, name, w, got)
				}
				tested = true
			}
		}
		if !tested {
			t.Errorf("%s: no address parameter tested", sig.name)
		}
	}
	// Wild buffers inside a valid iovec array.
	for _, name := range []string{"fd_read", "fd_write", "fd_pread", "fd_pwrite"} {
		e.faultSetup()
		e.iov(4008, 65530, 10)
		args := append([]uint64(nil), faultArgs[name]...)
		args[2] = 2
		if got := e.call(name, args...); got != errFault {
			t.Errorf("%s with a wild iovec: %v", name, got)
		}
	}
	// Lengths that run past the end of memory.
	for _, c := range []struct {
		name string
		args []uint64
	}{
		{"random_get", []uint64{65000, 1000}},
		{"fd_readdir", []uint64{5, 65000, 1000, 0, 100}},
		{"path_open", []uint64{3, 1, 65530, 100, 0, 0, 0, 0, 100}},
		{"path_readlink", []uint64{3, 1000, 2, 65530, 100, 100}},
		{"path_symlink", []uint64{65530, 1 << 31, 3, 1100, 2}},
		{"fd_write", []uint64{4, 65530, 1, 100}},
		{"fd_write", []uint64{4, 4000, 1 << 29, 100}},
		{"poll_oneoff", []uint64{20000, 30000, 1000, 100}},
	} {
		e.faultSetup()
		if got := e.call(c.name, c.args...); got != errFault {
			t.Errorf("%s%v: %v, want EFAULT", c.name, c.args, got)
		}
	}
}

// TestNoMemory calls every import from a guest without memory: every address is out of range.
func TestNoMemory(t *testing.T) {
	e := faultEnv(t)
	mod, err := e.r.Instantiate(e.ctx, proxyBinaryNoMemory())
	if err != nil {
		t.Fatal(err)
	}
	for name, args := range faultArgs {
		res, err := mod.ExportedFunction(name).Call(e.ctx, args...)
		if err != nil || errno(res[0]) != errFault {
			t.Errorf("%s: %v %v", name, res, err)
		}
	}
}

// proxyBinaryNoMemory is proxyBinary without its memory.
func proxyBinaryNoMemory() []byte {
	return encodeProxy(false, 0)
}

// randomCall makes one call of a random import with random arguments drawn around the
// interesting values, against memory filled with random bytes in places.
func randomCall(e *env, r *rand.Rand) (string, []uint64) {
	sigs := signatures()
	s := sigs[r.IntN(len(sigs))]
	interesting := []uint64{0, 1, 2, 3, 4, 5, 6, 8, 24, 100, 1000, 4000, 65535, 65536, 1<<31 - 1, 1 << 31, 1<<32 - 1, 1<<63 - 1, 1 << 63, 1<<64 - 1}
	args := make([]uint64, len(s.params))
	for i := range args {
		switch r.IntN(3) {
		case 0:
			args[i] = interesting[r.IntN(len(interesting))]
		case 1:
			args[i] = uint64(r.IntN(70000))
		default:
			args[i] = r.Uint64()
		}
		if s.params[i] == i32 {
			args[i] = uint64(uint32(args[i]))
		}
	}
	if r.IntN(4) == 0 {
		b := make([]byte, r.IntN(256))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		e.mem().Write(uint32(r.IntN(65536-len(b))), b)
	}
	return s.name, args
}

// checkCall calls name and fails unless the result is a WASI errno (or, for proc_exit, an
// exit), with no host panic; a closed module is replaced. The call has no deadline: in a
// frozen env no call waits (a call that hangs is a bug, which the test's -timeout reports with
// its stack).
func checkCall(t testing.TB, e *env, name string, args []uint64) {
	res, err := e.mod.ExportedFunction(name).Call(e.ctx, args...)
	if err != nil {
		var exit *sys.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("%s%v: %v", name, args, err)
		}
		if name != "proc_exit" {
			t.Fatalf("%s%v: exit %d", name, args, exit.ExitCode())
		}
		mod, err := e.r.Instantiate(e.ctx, proxyBinary(1))
		if err != nil {
			t.Fatal(err)
		}
		e.mod = mod
		return
	}
	if res[0] > uint64(errNotcapable) {
		t.Fatalf("%s%v = %d, not a WASI errno", name, args, res[0])
	}
}

// TestRandomHostCalls makes random calls with random arguments; set WASI_SEED to replay a run.
func TestRandomHostCalls(t *testing.T) {
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
	e := faultEnv(t)
	n := 5000
	if testing.Short() {
		n = 500
	}
	for i := 0; i < n; i++ {
		name, args := randomCall(e, r)
		checkCall(t, e, name, args)
	}
}

// fuzzCalls is the most host calls one FuzzHostCall input makes.
const fuzzCalls = 8

// fuzzRig is what FuzzHostCall shares between inputs: a wazero runtime with the host module and
// the compiled proxy guest. Each input gets its own namespace, Process and guest instance.
type fuzzRig struct {
	r      wazero.Runtime
	proxy  wazero.CompiledModule
	sigs   []signature
	strict bool // processes in strict mode, "/" their only preopen (FuzzHostCallStrict)
}

func newFuzzRig(tb testing.TB) *fuzzRig {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	tb.Cleanup(func() { r.Close(ctx) })
	if _, err := Instantiate(ctx, r); err != nil {
		tb.Fatal(err)
	}
	proxy, err := r.CompileModule(ctx, proxyBinary(1))
	if err != nil {
		tb.Fatal(err)
	}
	return &fuzzRig{r: r, proxy: proxy, sigs: signatures()}
}

// gateReader is a standard input that hands out data, then blocks, like a terminal nobody types
// into, until gate is closed, and then reports the end of input.
type gateReader struct {
	data []byte
	gate chan struct{}
	once sync.Once
}

// release lets a blocked Read return the end of input.
func (g *gateReader) release() { g.once.Do(func() { close(g.gate) }) }

func (g *gateReader) Read(b []byte) (int, error) {
	if len(g.data) > 0 {
		n := copy(b, g.data)
		g.data = g.data[n:]
		return n, nil
	}
	<-g.gate
	return 0, io.EOF
}

// fuzzProcess makes the world of one FuzzHostCall input and the guest that calls into it: a heap
// root with a heap at /tmp, the file /f (fd 4, read and write), the directory /d (fd 5) holding
// a file, a symlink and a subdirectory, /tmp/t, at most 12 fds, and a standard input that blocks
// after its first line.
func (rig *fuzzRig) fuzzProcess(t testing.TB, trace bool) (context.Context, api.Module, *Process, *gateReader) {
	ns := vfs.NewNamespace(heap.New(heap.Options{MaxBytes: 1 << 20, MaxInodes: 64}))
	if err := ns.Mount("/tmp", heap.New(heap.Options{MaxBytes: 1 << 20, MaxInodes: 64})); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	root := ns.Root()
	for _, d := range []string{"/d", "/d/sub", "/tmp/t"} {
		if e := ns.Mkdir(root, d, 0o755); e != 0 {
			t.Fatal(d, e)
		}
	}
	for _, f := range []string{"/f", "/d/file"} {
		h, e := ns.Open(root, f, vfs.OWrite|vfs.OCreate, 0o644)
		if e != 0 {
			t.Fatal(f, e)
		}
		h.File.WriteAt([]byte("0123456789abcdef"), 0)
		h.File.Close()
	}
	if e := ns.Symlink("../f", root, "/d/link"); e != 0 {
		t.Fatal(e)
	}
	stdin := &gateReader{data: []byte("line\n"), gate: make(chan struct{})}
	t.Cleanup(stdin.release)
	cfg := Config{Args: []string{"prog", "a1"}, Env: []string{"A=1"}, Stdin: stdin, NS: ns, MaxFDs: 12}
	if trace {
		cfg.Trace = io.Discard
	}
	if rig.strict {
		cfg.Strict, cfg.Preopens = true, []string{"/"}
	}
	p, err := NewProcess(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := WithProcess(context.Background(), p)
	mod, err := rig.r.InstantiateModule(ctx, rig.proxy, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatal(err)
	}
	open := func(path string, oflags uint16, base uint64) {
		mod.Memory().Write(0, []byte(path))
		res, err := mod.ExportedFunction("path_open").Call(ctx, 3, uint64(lookupSymlinkFollow), 0, uint64(len(path)), uint64(oflags), base, rightsAll, 0, 64)
		if err != nil || res[0] != 0 {
			t.Fatalf("open %s: %v %v", path, res, err)
		}
	}
	open("f", 0, rightsAll) // relative: strict mode refuses absolute paths
	open("d", oflagDirectory, rightsAll&^(rightFdWrite|rightFdAllocate|rightFdFilestatSetSize|rightFdDatasync))
	return ctx, mod, p, stdin
}

// decodeCalls reads up to fuzzCalls calls from prog: a byte that picks the import (modulo their
// number), then its arguments little-endian, 4 bytes for an i32 and 8 for an i64; bytes missing
// at the end read as zeros.
func (rig *fuzzRig) decodeCalls(prog []byte) (names []string, args [][]uint64) {
	for len(prog) > 0 && len(names) < fuzzCalls {
		s := rig.sigs[int(prog[0])%len(rig.sigs)]
		prog = prog[1:]
		a := make([]uint64, len(s.params))
		for i, typ := range s.params {
			size := 4
			if typ == i64 {
				size = 8
			}
			var b [8]byte
			n := copy(b[:size], prog)
			prog = prog[n:]
			a[i] = le.Uint64(b[:])
		}
		names = append(names, s.name)
		args = append(args, a)
	}
	return names, args
}

// FuzzHostCall makes a few calls of arbitrary imports with arbitrary arguments, over guest
// memory filled with arbitrary bytes, in a fresh process each time (with trace, through the
// trace formatter too). Each call returns one of WASI's 77 errnos, or
// exits (proc_exit, or a wait cut short by the deadline), never a host panic. Once the guest and
// the Process are closed, the goroutines are back to their number before the input: the stdin
// goroutine may only outlive Close while its reader blocks (package doc), and it ends when the
// reader returns. The seed corpus is in testdata/fuzz/FuzzHostCall.
func FuzzHostCall(f *testing.F) {
	rig := newFuzzRig(f)
	f.Fuzz(rig.fuzzHostCalls)
}

// FuzzHostCallStrict is FuzzHostCall in strict mode (rights enforced, paths confined beneath
// their directory fd), with the same world and the same checks. Its seeds are FuzzHostCall's.
func FuzzHostCallStrict(f *testing.F) {
	sigs := signatures()
	for _, build := range hostCallSeeds() {
		s := &seedProg{sigs: sigs}
		build(s)
		f.Add(false, s.prog, s.mem)
	}
	rig := newFuzzRig(f)
	rig.strict = true
	f.Fuzz(rig.fuzzHostCalls)
}

// fuzzHostCalls is the body of FuzzHostCall and FuzzHostCallStrict.
func (rig *fuzzRig) fuzzHostCalls(t *testing.T, trace bool, prog []byte, mem []byte) {
	{
		before := runtime.NumGoroutine()
		ctx, mod, p, stdin := rig.fuzzProcess(t, trace)
		if len(mem) > 65536 {
			mem = mem[:65536]
		}
		mod.Memory().Write(0, mem)
		names, args := rig.decodeCalls(prog)
		for i, name := range names {
			cctx, cancel := context.WithTimeout(ctx, 3*time.Millisecond)
			res, err := mod.ExportedFunction(name).Call(cctx, args[i]...)
			cancel()
			if err != nil {
				var exit *sys.ExitError
				if !errors.As(err, &exit) {
					t.Fatalf("call %d: %s%v: %v", i, name, args[i], err)
				}
				if name != "proc_exit" && exit.ExitCode() != sys.ExitCodeDeadlineExceeded {
					t.Fatalf("call %d: %s%v: exit %d", i, name, args[i], exit.ExitCode())
				}
				break // the guest is closed
			}
			if res[0] > uint64(errNotcapable) {
				t.Fatalf("call %d: %s%v = %d, not a WASI errno", i, name, args[i], res[0])
			}
		}
		mod.Close(context.Background())
		p.Close()
		stdin.release()
		for deadline := time.Now().Add(2 * time.Second); runtime.NumGoroutine() > before; {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Fatalf("%d goroutines before the calls %v%v, %d after Close:\n%s", before, names, args, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// updateSeeds rewrites the committed seed corpus of FuzzHostCall from hostCallSeeds.
var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz/FuzzHostCall from the seed generator")

// seedProg builds a FuzzHostCall input: calls encoded as decodeCalls reads them, and memory.
type seedProg struct {
	sigs []signature
	prog []byte
	mem  []byte
}

func (s *seedProg) call(name string, args ...uint64) *seedProg {
	for i, sig := range s.sigs {
		if sig.name != name {
			continue
		}
		if len(args) != len(sig.params) {
			panic(fmt.Sprintf("%s takes %d arguments", name, len(sig.params)))
		}
		s.prog = append(s.prog, byte(i))
		for j, typ := range sig.params {
			if typ == i64 {
				s.prog = le.AppendUint64(s.prog, args[j])
			} else {
				s.prog = le.AppendUint32(s.prog, uint32(args[j]))
			}
		}
		return s
	}
	panic("no import " + name)
}

func (s *seedProg) put(off int, b []byte) *seedProg {
	if len(s.mem) < off+len(b) {
		s.mem = append(s.mem, make([]byte, off+len(b)-len(s.mem))...)
	}
	copy(s.mem[off:], b)
	return s
}

// str puts path at off and returns (off, len) as arguments.
func (s *seedProg) str(off int, path string) (uint64, uint64) {
	s.put(off, []byte(path))
	return uint64(off), uint64(len(path))
}

func (s *seedProg) iov(off, buf, n uint32) *seedProg {
	return s.put(int(off), le.AppendUint32(le.AppendUint32(nil, buf), n))
}

// hostCallSeeds are FuzzHostCall's seed inputs: short programs that reach every import past its
// argument checks, plus wild arguments, in the world fuzzProcess makes.
func hostCallSeeds() map[string]func(s *seedProg) {
	// The layout keeps the inputs small (the fuzzer's minimizer works byte by byte): results at
	// 8, paths in 32-byte slots from 64, iovecs at 256, data at 320, read buffers at 384,
	// subscriptions at 512, and output areas (events, dirents, stats) past what is written.
	const (
		res  = 8
		iovs = 256
		data = 320
		rbuf = 384
		subs = 512
		out  = 1024
	)
	dirRights := uint64(rightsAll &^ (rightFdWrite | rightFdAllocate | rightFdFilestatSetSize | rightFdDatasync))
	return map[string]func(s *seedProg){
		"write-seek-read": func(s *seedProg) {
			s.put(data, []byte("hello")).iov(iovs, data, 5).iov(iovs+8, rbuf, 16)
			s.call("fd_write", 4, iovs, 1, res).call("fd_seek", 4, 0, 0, res).
				call("fd_read", 4, iovs+8, 1, res).call("fd_tell", 4, res).
				call("fd_pwrite", 4, iovs, 1, 1<<20, res).call("fd_pread", 4, iovs+8, 1, 3, res).
				call("fd_close", 4).call("fd_read", 4, iovs+8, 1, res)
		},
		"readdir": func(s *seedProg) {
			s.call("fd_readdir", 5, out, 200, 0, res).call("fd_readdir", 5, out, 24, 3, res).
				call("fd_readdir", 5, out, 30, 1<<63, res).call("fd_readdir", 4, out, 200, 0, res).
				call("fd_readdir", 3, 65500, 36, 2, res)
		},
		"paths": func(s *seedProg) {
			p, n := s.str(64, "/d/new")
			f, fn := s.str(96, "/d/file")
			x, xn := s.str(128, "/tmp/t/x")
			y, yn := s.str(160, "sub/y")
			h, hn := s.str(192, "/d/link")
			s.call("path_create_directory", 3, p, n).call("path_rename", 3, f, fn, 3, x, xn).
				call("path_rename", 3, f, fn, 5, y, yn).call("path_filestat_get", 3, 1, h, hn, out).
				call("path_unlink_file", 5, y, yn).call("path_link", 3, 0, h, hn, 5, y, yn).
				call("path_remove_directory", 3, p, n).
				call("path_filestat_set_times", 3, 0, h, hn, 1, 2, uint64(fstAtimNow|fstMtim))
		},
		"symlinks": func(s *seedProg) {
			tgt, tn := s.str(64, "/tmp/../d")
			up, un := s.str(96, "/tmp/t/up")
			via, vn := s.str(128, "/tmp/t/up/link")
			loop, ln := s.str(160, "loop")
			s.call("path_symlink", tgt, tn, 3, up, un).call("path_readlink", 3, up, un, out, 3, res).
				call("path_open", 3, 1, via, vn, 0, rightsAll, rightsAll, 0, res).
				call("path_open", 3, 0, via, vn, 0, rightsAll, rightsAll, 0, res).
				call("path_symlink", loop, ln, 5, loop, ln).
				call("path_open", 5, 1, loop, ln, 0, rightsAll, rightsAll, 0, res)
		},
		"stdin": func(s *seedProg) {
			s.iov(iovs, rbuf, 3).put(subs, fdSub(1, eventFdRead, 0)).put(subs+48, clockSub(2, clockMonotonic, 0, 0))
			s.call("fd_read", 0, iovs, 1, res).call("poll_oneoff", subs, out, 2, res).
				call("fd_read", 0, iovs, 1, res).call("fd_read", 0, iovs, 1, res).
				call("fd_read", 0, iovs, 1, res)
		},
		"stdin-partial": func(s *seedProg) {
			// The guest leaves part of the line unread: the stdin goroutine waits for it to
			// ask for more until Close.
			s.iov(iovs, rbuf, 2)
			s.call("fd_read", 0, iovs, 1, res).call("fd_fdstat_get", 0, out)
		},
		"poll": func(s *seedProg) {
			s.put(subs, clockSub(1, clockRealtime, 1, subclockAbstime)).
				put(subs+48, fdSub(2, eventFdWrite, 1)).put(subs+96, fdSub(3, eventFdRead, 4)).
				put(subs+144, clockSub(4, clockMonotonic, 1<<40, 0))
			s.call("poll_oneoff", subs, out, 4, res).call("poll_oneoff", subs, out, 0, res).
				call("poll_oneoff", subs+144, out, 1, res)
		},
		"fds": func(s *seedProg) {
			s.put(data, []byte("appended")).iov(iovs, data, 8)
			s.call("fd_renumber", 4, 5).call("fd_fdstat_set_flags", 5, uint64(fdflagAppend)).
				call("fd_write", 5, iovs, 1, res).call("fd_fdstat_get", 5, out).
				call("fd_fdstat_set_rights", 5, 0, 0).call("fd_write", 5, iovs, 1, res).
				call("fd_prestat_get", 3, res).call("fd_prestat_dir_name", 3, out, 1)
		},
		"emfile": func(s *seedProg) {
			f, n := s.str(64, "/f")
			for i := 0; i < fuzzCalls; i++ {
				s.call("path_open", 3, 0, f, n, 0, rightsAll, rightsAll, 0, res)
			}
		},
		"open-flags": func(s *seedProg) {
			f, n := s.str(64, "/tmp/new")
			d, dn := s.str(96, "/d/")
			s.call("path_open", 3, 0, f, n, uint64(oflagCreat|oflagExcl|oflagTrunc), rightsAll, rightsAll, uint64(fdflagAppend), res).
				call("path_open", 3, 0, f, n, uint64(oflagCreat|oflagExcl), rightsAll, rightsAll, 0, res).
				call("path_open", 3, 0, d, dn, uint64(oflagDirectory|oflagCreat), dirRights, rightsAll, 0, res).
				call("path_open", 3, 0, d, dn, uint64(oflagTrunc), rightsAll, rightsAll, 0, res).
				call("path_open", 3, 0, f, n, 0xffff, 1<<63, 1<<63, 0xffff, res)
		},
		"sizes": func(s *seedProg) {
			s.iov(iovs, data, 10)
			s.call("fd_filestat_set_size", 4, 1<<62).call("fd_allocate", 4, 1<<62, 1<<62).
				call("fd_pwrite", 4, iovs, 1, 1<<63-1, res).call("fd_pread", 4, iovs, 1, 1<<62, res).
				call("fd_advise", 4, 0, 1<<63, 5).call("fd_sync", 4).call("fd_datasync", 4).
				call("fd_filestat_set_times", 4, 1<<63, 1<<63, 0xf)
		},
		"args-environ-clocks": func(s *seedProg) {
			s.call("args_sizes_get", res, res+4).call("args_get", out, out+64).
				call("environ_sizes_get", res, res+4).call("environ_get", 65528, 65533).
				call("random_get", 65000, 536).call("clock_time_get", 2, 1, res).
				call("clock_time_get", 3, 0, 65532).call("clock_res_get", 4, res)
		},
		"exit": func(s *seedProg) { s.call("sched_yield").call("proc_exit", 7) },
		"sockets": func(s *seedProg) {
			s.iov(iovs, data, 4)
			s.call("sock_accept", 3, 0, res).call("sock_recv", 4, iovs, 1, 0, res, res+4).
				call("sock_send", 4, iovs, 1, 0, res).call("sock_shutdown", 4, 3).call("proc_raise", 9)
		},
		"wild": func(s *seedProg) {
			for i := 0; i < fuzzCalls*40; i++ {
				s.prog = append(s.prog, 0xff)
			}
			s.put(0, []byte{0xff, 0xff, 0xff, 0xff})
		},
	}
}

// TestFuzzHostCallSeeds checks that testdata/fuzz/FuzzHostCall holds exactly the seeds
// hostCallSeeds makes; with -update-seeds it writes them.
func TestFuzzHostCallSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzHostCall")
	sigs := signatures()
	for name, build := range hostCallSeeds() {
		for _, trace := range []bool{false, true} {
			s := &seedProg{sigs: sigs}
			build(s)
			want := fmt.Sprintf("go test fuzz v1\nbool(%v)\n[]byte(%q)\n[]byte(%q)\n", trace, s.prog, s.mem)
			p := filepath.Join(dir, "seed-"+name)
			if trace {
				p += "-traced"
			}
			if *updateSeeds {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(p)
			if err != nil {
				t.Errorf("%v (go test ./wasi -run TestFuzzHostCallSeeds -update-seeds writes it)", err)
			} else if string(got) != want {
				t.Errorf("%s is not what the generator makes now: run go test ./wasi -run TestFuzzHostCallSeeds -update-seeds", p)
			}
		}
	}
}
