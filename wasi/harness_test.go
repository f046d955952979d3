package wasi

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/experimental/logging"
	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/vfs"
)

// signature is one import of the host module as the proxy sees it.
type signature struct {
	name    string
	params  []api.ValueType
	results []api.ValueType
}

// signatures lists every import in witx order, proc_exit included.
func signatures() []signature {
	var sigs []signature
	for i := range functions {
		f := &functions[i]
		if f.name == "proc_raise" {
			sigs = append(sigs, signature{"proc_exit", []api.ValueType{i32}, nil})
		}
		sigs = append(sigs, signature{f.name, f.params, []api.ValueType{i32}})
	}
	return sigs
}

func uleb(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
		} else {
			return append(b, c)
		}
	}
}

func wasmName(b []byte, s string) []byte { return append(uleb(b, uint64(len(s))), s...) }

func section(b []byte, id byte, body []byte) []byte {
	return append(uleb(append(b, id), uint64(len(body))), body...)
}

// proxyBinary encodes a wasm module that imports every preview1 function and exports a wasm
// function of the same name that forwards its arguments to it, plus its memory as "memory"
// (pages pages). Calling an export from Go then reaches the host function with this module as the
// caller, exactly as a guest's call would, and a function listener sees it (wazero's tests use
// the same trick, internal/testing/proxy).
func proxyBinary(pages uint32) []byte { return encodeProxy(true, pages) }

func encodeProxy(withMemory bool, pages uint32) []byte {
	sigs := signatures()
	n := uint64(len(sigs))
	var types, imports, funcs, exports, code []byte
	types = uleb(types, n)
	imports = uleb(imports, n)
	funcs = uleb(funcs, n)
	nexports := n
	if withMemory {
		nexports++
	}
	exports = uleb(exports, nexports)
	code = uleb(code, n)
	for i, s := range sigs {
		types = append(types, 0x60)
		types = uleb(types, uint64(len(s.params)))
		types = append(types, s.params...)
		types = uleb(types, uint64(len(s.results)))
		types = append(types, s.results...)

		imports = wasmName(imports, ModuleName)
		imports = wasmName(imports, s.name)
		imports = append(imports, 0x00)
		imports = uleb(imports, uint64(i))

		funcs = uleb(funcs, uint64(i))

		exports = wasmName(exports, s.name)
		exports = append(exports, 0x00)
		exports = uleb(exports, n+uint64(i))

		var body []byte
		body = append(body, 0x00) // no locals
		for j := range s.params {
			body = append(body, 0x20)
			body = uleb(body, uint64(j))
		}
		body = append(body, 0x10)
		body = uleb(body, uint64(i))
		body = append(body, 0x0b)
		code = uleb(code, uint64(len(body)))
		code = append(code, body...)
	}
	if withMemory {
		exports = wasmName(exports, "memory")
		exports = append(exports, 0x02, 0x00)
	}
	mem := uleb([]byte{1, 0x00}, uint64(pages)) // one memory, no maximum, pages pages

	b := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}
	b = section(b, 1, types)
	b = section(b, 2, imports)
	b = section(b, 3, funcs)
	if withMemory {
		b = section(b, 5, mem)
	}
	b = section(b, 7, exports)
	b = section(b, 10, code)
	return b
}

// env is a wazero runtime with our host module, a proxy guest and its Process. Calls through
// call are logged by wazero's host logging listener into log.
type env struct {
	t      testing.TB
	ctx    context.Context // carries p
	r      wazero.Runtime
	mod    api.Module
	p      *Process
	ns     *vfs.Namespace
	log    bytes.Buffer
	stdout bytes.Buffer
	stderr bytes.Buffer
}

type envOption func(*Config)

// newEnv starts a runtime with the host module and a proxy guest of one memory page, over a
// namespace whose root is a heap FS with a second heap FS mounted at /tmp. Options adjust cfg.
func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	return newEnvLog(t, true, opts...)
}

// newEnvLog is newEnv with the logging listener on or off (benchmarks and allocation tests
// measure the calls alone).
func newEnvLog(t testing.TB, withLog bool, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t}
	ns := vfs.NewNamespace(heap.New(heap.Options{}))
	if err := ns.Mount("/tmp", heap.New(heap.Options{})); err != nil {
		t.Fatal(err)
	}
	e.ns = ns
	cfg := Config{Args: []string{"prog", "a1"}, Env: []string{"A=1"}, Stdout: &e.stdout, Stderr: &e.stderr, NS: ns}
	for _, o := range opts {
		o(&cfg)
	}
	p, err := NewProcess(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.p = p
	base := context.Background()
	lctx := base
	if withLog {
		lctx = experimental.WithFunctionListenerFactory(base, logging.NewHostLoggingListenerFactory(&e.log, logging.LogScopeAll))
	}
	e.r = wazero.NewRuntime(lctx)
	if _, err := Instantiate(lctx, e.r); err != nil {
		t.Fatal(err)
	}
	e.ctx = WithProcess(base, p)
	e.mod, err = e.r.Instantiate(e.ctx, proxyBinary(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.p.Close()
		e.r.Close(base)
	})
	return e
}

// call calls the host function name through the proxy and returns its errno.
func (e *env) call(name string, args ...uint64) errno {
	e.t.Helper()
	res, err := e.mod.ExportedFunction(name).Call(e.ctx, args...)
	if err != nil {
		e.t.Fatalf("%s: %v", name, err)
	}
	return errno(res[0])
}

// want calls name and fails the test unless it returns want.
func (e *env) want(want errno, name string, args ...uint64) {
	e.t.Helper()
	if got := e.call(name, args...); got != want {
		e.t.Fatalf("%s%v = %v, want %v", name, args, got, want)
	}
}

func (e *env) mem() api.Memory { return e.mod.Memory() }

// put writes b at off.
func (e *env) put(off uint32, b []byte) {
	e.t.Helper()
	if !e.mem().Write(off, b) {
		e.t.Fatalf("write at %d", off)
	}
}

// str writes s at off and returns (off, len) as call arguments.
func (e *env) str(off uint32, s string) (uint64, uint64) {
	e.put(off, []byte(s))
	return uint64(off), uint64(len(s))
}

func (e *env) u32(off uint32) uint32 {
	v, ok := e.mem().ReadUint32Le(off)
	if !ok {
		e.t.Fatalf("read at %d", off)
	}
	return v
}

func (e *env) u64(off uint32) uint64 {
	v, ok := e.mem().ReadUint64Le(off)
	if !ok {
		e.t.Fatalf("read at %d", off)
	}
	return v
}

func (e *env) bytes(off, n uint32) []byte {
	b, ok := e.mem().Read(off, n)
	if !ok {
		e.t.Fatalf("read at %d", off)
	}
	return append([]byte(nil), b...)
}

// iov writes one iovec at off naming (buf, n).
func (e *env) iov(off, buf, n uint32) {
	var b [8]byte
	le.PutUint32(b[:], buf)
	le.PutUint32(b[4:], n)
	e.put(off, b[:])
}

// open opens path from the preopen as wasi-libc's open(O_RDWR) does, asking for every right, or
// for every right but the write ones with oflags DIRECTORY (opendir), and returns the fd.
func (e *env) open(path string, oflags uint16, fdflags uint16) uint32 {
	e.t.Helper()
	base := uint64(rightsAll)
	if oflags&oflagDirectory != 0 {
		base &^= rightFdWrite | rightFdAllocate | rightFdFilestatSetSize | rightFdDatasync
	}
	p, n := e.str(1000, path)
	e.want(errSuccess, "path_open", 3, uint64(lookupSymlinkFollow), p, n, uint64(oflags), base, rightsAll, uint64(fdflags), 900)
	return e.u32(900)
}

// transcript returns the log so far, trimmed, and resets it.
func (e *env) transcript() string {
	s := strings.TrimSpace(e.log.String())
	e.log.Reset()
	return s
}

// requireTranscript compares the log with want (both trimmed) and resets it.
func (e *env) requireTranscript(want string) {
	e.t.Helper()
	if got := e.transcript(); got != strings.TrimSpace(want) {
		e.t.Fatalf("transcript:\n%s\n\nwant:\n%s", got, strings.TrimSpace(want))
	}
}
