package benchmarks

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/wasi"
)

// The proxy guest: a wasm module that imports a few wasi_snapshot_preview1 functions and exports
// each under the same name as a function that passes its arguments through, plus its memory. The
// benchmark calls the exports from Go, so every call crosses into wasm and out to the host
// function exactly as a guest's call does.
var proxyImports = []struct {
	name   string
	params []byte
}{
	{"fd_write", []byte{i32, i32, i32, i32}},
	{"fd_read", []byte{i32, i32, i32, i32}},
	{"fd_pwrite", []byte{i32, i32, i32, i64, i32}},
	{"fd_pread", []byte{i32, i32, i32, i64, i32}},
	{"fd_seek", []byte{i32, i64, i32, i32}},
	{"path_open", []byte{i32, i32, i32, i32, i32, i64, i64, i32, i32}},
	{"path_filestat_get", []byte{i32, i32, i32, i32, i32}},
	{"fd_readdir", []byte{i32, i32, i32, i64, i32}},
	{"fd_close", []byte{i32}},
}

const (
	i32 = 0x7f
	i64 = 0x7e
)

func uleb(v uint32) []byte { return binary.AppendUvarint(nil, uint64(v)) }

func section(id byte, items ...[]byte) []byte {
	body := uleb(uint32(len(items)))
	for _, it := range items {
		body = append(body, it...)
	}
	return append(append([]byte{id}, uleb(uint32(len(body)))...), body...)
}

func name(s string) []byte { return append(uleb(uint32(len(s))), s...) }

// proxyModule encodes the proxy guest with a memory of pages 64 KiB pages.
func proxyModule(pages uint32) []byte {
	var types, imports, funcs, exports, code [][]byte
	n := uint32(len(proxyImports))
	for i, im := range proxyImports {
		t := append([]byte{0x60}, uleb(uint32(len(im.params)))...)
		t = append(append(t, im.params...), 1, i32)
		types = append(types, t)
		imports = append(imports, append(append(name("wasi_snapshot_preview1"), name(im.name)...), 0x00, byte(i)))
		funcs = append(funcs, uleb(uint32(i)))
		exports = append(exports, append(append(name(im.name), 0x00), uleb(n+uint32(i))...))
		body := []byte{0x00} // no locals
		for p := range im.params {
			body = append(append(body, 0x20), uleb(uint32(p))...) // local.get p
		}
		body = append(append(body, 0x10), uleb(uint32(i))...) // call import i
		body = append(body, 0x0b)
		code = append(code, append(uleb(uint32(len(body))), body...))
	}
	exports = append(exports, append(name("memory"), 0x02, 0x00))
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, section(1, types...)...)
	m = append(m, section(2, imports...)...)
	m = append(m, section(3, funcs...)...)
	m = append(m, section(5, append([]byte{0x00}, uleb(pages)...))...)
	m = append(m, section(7, exports...)...)
	m = append(m, section(10, code...)...)
	return m
}

// guest is an instantiated proxy guest whose Process sees ns at fd 3, with the file "f" open at fd.
type guest struct {
	ctx context.Context
	mod api.Module
	fd  uint64
}

const (
	pathAt  = 100  // the path "f"
	fdAt    = 200  // path_open's result
	iovAt   = 4000 // one iovec: 4 KiB at bufAt
	countAt = 4008 // nwritten / nread / new offset
	bufAt   = 8192
)

func newGuest(tb testing.TB, ns *vfs.Namespace) *guest {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	tb.Cleanup(func() { r.Close(ctx) })
	if _, err := wasi.Instantiate(ctx, r); err != nil {
		tb.Fatal(err)
	}
	p, err := wasi.NewProcess(wasi.Config{NS: ns})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	ctx = wasi.WithProcess(ctx, p)
	mod, err := r.InstantiateWithConfig(ctx, proxyModule(2), wazero.NewModuleConfig().WithStartFunctions())
	if err != nil {
		tb.Fatal(err)
	}
	g := &guest{ctx: ctx, mod: mod}
	mem := mod.Memory()
	mem.Write(pathAt, []byte("f"))
	mem.WriteUint32Le(iovAt, bufAt)
	mem.WriteUint32Le(iovAt+4, 4096)
	const oflagCreat = 1
	const allRights = 1<<29 - 1
	if e := g.call(tb, "path_open", 3, 0, pathAt, 1, oflagCreat, allRights, allRights, 0, fdAt); e != 0 {
		tb.Fatalf("path_open: errno %d", e)
	}
	fd, _ := mem.ReadUint32Le(fdAt)
	g.fd = uint64(fd)
	if e := g.call(tb, "fd_pwrite", g.fd, iovAt, 1, 0, countAt); e != 0 { // 4 KiB to read back
		tb.Fatalf("fd_pwrite: errno %d", e)
	}
	return g
}

// hostCall is one prepared call: the stack is reused, as a guest's call reuses wazero's.
type hostCall struct {
	fn    api.Function
	args  []uint64
	stack []uint64
}

func (g *guest) prepare(name string, args ...uint64) *hostCall {
	return &hostCall{fn: g.mod.ExportedFunction(name), args: args, stack: make([]uint64, len(args))}
}

func (g *guest) run(tb testing.TB, c *hostCall) uint64 {
	copy(c.stack, c.args)
	if err := c.fn.CallWithStack(g.ctx, c.stack); err != nil {
		tb.Fatal(err)
	}
	return c.stack[0]
}

func (g *guest) call(tb testing.TB, name string, args ...uint64) uint64 {
	return g.run(tb, g.prepare(name, args...))
}

// ioCalls are the calls measured: each moves 4 KiB between guest memory and the file. fd_write and
// fd_read are followed by an fd_seek back to 0 (not in the alloc check's count: it allocates
// nothing either, and is checked with them).
func ioCalls(g *guest) []struct {
	name   string
	call   *hostCall
	rewind bool
} {
	return []struct {
		name   string
		call   *hostCall
		rewind bool
	}{
		{"fd_write", g.prepare("fd_write", g.fd, iovAt, 1, countAt), true},
		{"fd_read", g.prepare("fd_read", g.fd, iovAt, 1, countAt), true},
		{"fd_pwrite", g.prepare("fd_pwrite", g.fd, iovAt, 1, 0, countAt), false},
		{"fd_pread", g.prepare("fd_pread", g.fd, iovAt, 1, 0, countAt), false},
	}
}

// BenchmarkWASI calls fd_write, fd_read, fd_pwrite and fd_pread of 4 KiB from a wasm guest
// through wasmrun's host module, over each backend. Expect 0 allocs/op.
func BenchmarkWASI(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			g := newGuest(b, vfs.NewNamespace(be.open(b)))
			rewind := g.prepare("fd_seek", g.fd, 0, 0, countAt)
			for _, c := range ioCalls(g) {
				b.Run(c.name, func(b *testing.B) {
					g.run(b, c.call) // warm up: scratch slices grow once
					b.ReportAllocs()
					b.SetBytes(4096)
					for b.Loop() {
						if e := g.run(b, c.call); e != 0 {
							b.Fatalf("errno %d", e)
						}
						if c.rewind {
							g.run(b, rewind)
						}
					}
				})
			}
		})
	}
}

// TestWASINoAllocs checks what BenchmarkWASI reports: the I/O calls allocate nothing in steady
// state, over either backend.
func TestWASINoAllocs(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			g := newGuest(t, vfs.NewNamespace(be.open(t)))
			rewind := g.prepare("fd_seek", g.fd, 0, 0, countAt)
			for _, c := range ioCalls(g) {
				g.run(t, c.call)
				g.run(t, rewind)
				allocs := testing.AllocsPerRun(200, func() {
					if e := g.run(t, c.call); e != 0 {
						t.Fatalf("%s: errno %d", c.name, e)
					}
					if n, _ := g.mod.Memory().ReadUint32Le(countAt); n != 4096 && c.name != "fd_seek" {
						t.Fatalf("%s: moved %d bytes, want 4096", c.name, n)
					}
					g.run(t, rewind)
				})
				if allocs != 0 {
					t.Errorf("%s over %s: %.1f allocations per call, want 0", c.name, be.name, allocs)
				}
			}
		})
	}
}

// BenchmarkWASIWalk makes the calls of the suite's tree_walk phase (Python's os.walk with an
// lstat per file) from a wasm guest, over the suite's layout: a stable store at "/" and a heap
// mounted at /tmp holding /tmp/tree/dNNNN/fNNN (10 directories of 20 files). "stat" is one
// path_filestat_get of a file, by its path from the preopened "/" (5 components, one mount
// crossing); "dir" is a directory's listing, path_open with DIRECTORY, fd_readdir and fd_close.
func BenchmarkWASIWalk(b *testing.B) {
	const dirs, files = 10, 20
	ns := vfs.NewNamespace(backends[1].open(b))
	if err := ns.Mount("/tmp", heap.New(heap.Options{})); err != nil {
		b.Fatal(err)
	}
	var dirPaths, filePaths []string
	ns.Mkdir(ns.Root(), "tmp/tree", 0o755)
	for i := range dirs {
		d := fmt.Sprintf("tmp/tree/d%04d", i)
		if e := ns.Mkdir(ns.Root(), d, 0o755); e != vfs.ESUCCESS {
			b.Fatal(e)
		}
		dirPaths = append(dirPaths, d)
		for j := range files {
			f := fmt.Sprintf("%s/f%03d", d, j)
			h := open(b, ns, f, vfs.OWrite|vfs.OCreate|vfs.OExcl)
			h.File.Close()
			filePaths = append(filePaths, f)
		}
	}
	g := newGuest(b, ns)
	mem := g.mod.Memory()
	// Paths at 16 KiB, 32 bytes apart; the stat buffer at statAt; the dirent buffer at 64 KiB.
	const pathsAt, statAt, direntsAt, fdOut = 16384, 4096 + 64, 65536, 4200
	put := func(i int, p string) uint64 {
		mem.Write(uint32(pathsAt+32*i), []byte(p))
		return uint64(pathsAt + 32*i)
	}
	var stats, opens []*hostCall
	for i, f := range filePaths {
		stats = append(stats, g.prepare("path_filestat_get", 3, 0, put(i, f), uint64(len(f)), statAt))
	}
	for i, d := range dirPaths {
		const oflagDirectory = 2
		const rightsRead = 1<<1 | 1<<14 // fd_read, fd_readdir
		at := put(len(filePaths)+i, d)
		opens = append(opens, g.prepare("path_open", 3, 1, at, uint64(len(d)), oflagDirectory, rightsRead, 1<<29-1, 0, fdOut))
	}
	b.Run("stat", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if e := g.run(b, stats[i%len(stats)]); e != 0 {
				b.Fatalf("errno %d", e)
			}
			i++
		}
	})
	readdir := g.prepare("fd_readdir", 0, direntsAt, 4096, 0, countAt)
	closeFd := g.prepare("fd_close", 0)
	b.Run("dir", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if e := g.run(b, opens[i%len(opens)]); e != 0 {
				b.Fatalf("path_open: errno %d", e)
			}
			fd, _ := mem.ReadUint32Le(fdOut)
			readdir.args[0], closeFd.args[0] = uint64(fd), uint64(fd)
			if e := g.run(b, readdir); e != 0 {
				b.Fatalf("fd_readdir: errno %d", e)
			}
			if n, _ := mem.ReadUint32Le(countAt); n < files*24 {
				b.Fatalf("fd_readdir: %d bytes", n)
			}
			if e := g.run(b, closeFd); e != 0 {
				b.Fatalf("fd_close: errno %d", e)
			}
			i++
		}
	})
}
