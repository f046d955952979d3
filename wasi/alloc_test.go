package wasi

import (
	"testing"

	"github.com/tetratelabs/wazero/api"
)

// ioEnv is an env without the logging listener, with /f (4 KiB) open at fd 4, directory /d of
// 20 entries open at fd 5, and one iovec at 4000 naming 4096 bytes at 8192.
func ioEnv(tb testing.TB) *env {
	e := newEnvLog(tb, false)
	fd := e.open("/f", oflagCreat, 0)
	if fd != 4 {
		tb.Fatalf("fd %d", fd)
	}
	e.mkdir("/d")
	for i := 0; i < 20; i++ {
		f := e.open("/d/entry-"+string(rune('a'+i)), oflagCreat, 0)
		e.want(errSuccess, "fd_close", uint64(f))
	}
	if d := e.open("/d", oflagDirectory, 0); d != 5 {
		tb.Fatalf("dir fd %d", d)
	}
	e.iov(4000, 8192, 4096)
	e.want(errSuccess, "fd_pwrite", 4, 4000, 1, 0, 4008)
	return e
}

// hostCall calls the proxy export name with a reused stack, the way a guest's call costs.
type hostCall struct {
	fn    api.Function
	stack []uint64
	args  []uint64
}

func (e *env) hostCall(name string, args ...uint64) *hostCall {
	return &hostCall{fn: e.mod.ExportedFunction(name), stack: make([]uint64, len(args)), args: args}
}

func (c *hostCall) run(e *env) errno {
	copy(c.stack, c.args)
	if err := c.fn.CallWithStack(e.ctx, c.stack); err != nil {
		e.t.Fatal(err)
	}
	return errno(c.stack[0])
}

var allocCases = []struct {
	name string
	args []uint64
}{
	{"fd_write", []uint64{4, 4000, 1, 4008}},
	{"fd_read", []uint64{4, 4000, 1, 4008}},
	{"fd_pwrite", []uint64{4, 4000, 1, 0, 4008}},
	{"fd_pread", []uint64{4, 4000, 1, 0, 4008}},
	{"fd_readdir", []uint64{5, 16384, 4096, 0, 4008}},
	{"fd_seek", []uint64{4, 0, whenceSet, 4008}},
}

// TestNoAllocs enforces in every test run what the benchmarks report: the I/O calls allocate
// nothing in steady state.
func TestNoAllocs(t *testing.T) {
	e := ioEnv(t)
	rewind := e.hostCall("fd_seek", 4, 0, whenceSet, 4008)
	for _, c := range allocCases {
		call := e.hostCall(c.name, c.args...)
		call.run(e) // warm up: scratch slices grow once
		allocs := testing.AllocsPerRun(100, func() {
			if got := call.run(e); got != errSuccess {
				t.Fatalf("%s: %v", c.name, got)
			}
			rewind.run(e)
		})
		if allocs > 0 {
			t.Errorf("%s: %.1f allocations per call", c.name, allocs)
		}
	}
}

func benchCall(b *testing.B, name string, args ...uint64) {
	e := ioEnv(b)
	call := e.hostCall(name, args...)
	rewind := e.hostCall("fd_seek", 4, 0, whenceSet, 4008)
	call.run(e)
	b.ReportAllocs()
	b.SetBytes(4096)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if got := call.run(e); got != errSuccess {
			b.Fatal(got)
		}
		if name == "fd_write" || name == "fd_read" {
			rewind.run(e)
		}
	}
}

// BenchmarkFdWrite writes 4 KiB at the start of a heap file through the guest's import.
func BenchmarkFdWrite(b *testing.B) { benchCall(b, "fd_write", 4, 4000, 1, 4008) }

// BenchmarkFdRead reads 4 KiB from the start of a heap file.
func BenchmarkFdRead(b *testing.B) { benchCall(b, "fd_read", 4, 4000, 1, 4008) }

// BenchmarkFdPwrite and BenchmarkFdPread do the same without a position.
func BenchmarkFdPwrite(b *testing.B) { benchCall(b, "fd_pwrite", 4, 4000, 1, 0, 4008) }

func BenchmarkFdPread(b *testing.B) { benchCall(b, "fd_pread", 4, 4000, 1, 0, 4008) }

// BenchmarkFdReaddir lists a directory of 22 entries into a 4 KiB buffer.
func BenchmarkFdReaddir(b *testing.B) { benchCall(b, "fd_readdir", 5, 16384, 4096, 0, 4008) }
