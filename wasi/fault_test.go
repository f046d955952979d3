package wasi

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/sys"
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

func faultEnv(t testing.TB) *env {
	e := newEnvLog(t, false, func(c *Config) { c.Stdin = strings.NewReader("") })
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

// checkCall calls name and fails unless the result is a WASI errno (or, for proc_exit and a
// wait cut short, an exit), with no host panic; a closed module is replaced.
func checkCall(t testing.TB, e *env, name string, args []uint64) {
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Millisecond)
	defer cancel()
	res, err := e.mod.ExportedFunction(name).Call(ctx, args...)
	if err != nil {
		var exit *sys.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("%s%v: %v", name, args, err)
		}
		if name != "proc_exit" && exit.ExitCode() != sys.ExitCodeDeadlineExceeded {
			t.Fatalf("%s%v: exit %d", name, args, exit.ExitCode())
		}
		mod, err := e.r.Instantiate(e.ctx, proxyBinary(1))
		if err != nil {
			t.Fatal(err)
		}
		e.mod = mod
		return
	}
	if errno(res[0]) > errNotcapable {
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

// FuzzHostCall calls an arbitrary import with arbitrary arguments over arbitrary memory: the host
// never panics and only returns WASI errnos.
func FuzzHostCall(f *testing.F) {
	f.Add(uint8(20), []byte{4, 0, 0, 0, 160, 15, 0, 0, 1, 0, 0, 0, 100}, []byte("hello"))
	f.Add(uint8(31), []byte{3, 0, 0, 0, 1, 0, 0, 0, 232, 3}, []byte("/f"))
	f.Add(uint8(37), []byte{32, 78, 0, 0, 48, 117, 0, 0, 1}, []byte{1, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(uint8(21), []byte{5, 0, 0, 0, 16, 39, 0, 0, 100}, []byte{})
	e := faultEnv(f)
	sigs := signatures()
	f.Fuzz(func(t *testing.T, which uint8, argBytes []byte, mem []byte) {
		s := sigs[int(which)%len(sigs)]
		args := make([]uint64, len(s.params))
		for i := range args {
			var b [8]byte
			if len(argBytes) > 0 {
				n := copy(b[:], argBytes)
				argBytes = argBytes[n:]
			}
			args[i] = le.Uint64(b[:])
			if s.params[i] == i32 {
				args[i] = uint64(uint32(args[i]))
			}
		}
		if len(mem) > 65536 {
			mem = mem[:65536]
		}
		e.mem().Write(0, mem)
		checkCall(t, e, s.name, args)
	})
}
