package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"

	"github.com/tetratelabs/wazero"
)

// ErrNotWasm is returned (wrapped) by Compile for bytes that do not start with the WebAssembly
// magic number "\x00asm": a text file, a native executable, a .wat source...
var ErrNotWasm = errors.New("not a WebAssembly binary module")

// ErrClosed is returned by Compile and Run after Close.
var ErrClosed = errors.New("runtime is closed")

// Module is a compiled WebAssembly module, ready to run any number of times, one after another or
// concurrently, by the Runtime that compiled it. It stays valid until that Runtime is closed.
type Module struct {
	r *Runtime

	mu sync.Mutex
	// checked is the module compiled on r.wz (with wazero's interrupt checks), fast on
	// r.wzFast; each is compiled at its first use. wasm is kept until both are.
	checked, fast wazero.CompiledModule
	wasm          []byte
}

// variant returns m compiled with wazero's interrupt checks (checked) or without, compiling
// it on first use.
func (m *Module) variant(ctx context.Context, checked bool) (wazero.CompiledModule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, w := &m.fast, m.r.wzFast
	if checked {
		c, w = &m.checked, m.r.wz
	}
	if *c == nil {
		compiled, err := w.CompileModule(ctx, m.wasm)
		if err != nil {
			return nil, err
		}
		*c = compiled
		if m.checked != nil && (m.fast != nil || m.r.wzFast == nil) || m.fast != nil && m.r.wz == nil {
			m.wasm = nil
		}
	}
	return *c, nil
}

// moduleKey identifies a module's bytes in the memo: their length and a 64-bit hash/maphash of
// each half (split at size/2), seeded at random per Runtime so that no module's author can aim
// at a collision. maphash reads python.wasm's 13 MB in about 2 ms, where SHA-256 takes about 9
// ms (wazero hashes the bytes again with SHA-256 for its own cache key); the two halves are
// hashed on two cores, and CompileFile reads each half in the goroutine that hashes it.
type moduleKey struct {
	size int
	hash [2]uint64
}

// parallelMin is the size from which Compile hashes moduleKey's halves concurrently
// (CompileFile always reads and hashes them on two goroutines).
const parallelMin = 1 << 20

// key returns the moduleKey of wasm.
func (r *Runtime) key(wasm []byte) moduleKey {
	k := moduleKey{size: len(wasm)}
	mid := len(wasm) / 2
	if len(wasm) < parallelMin {
		k.hash[0] = maphash.Bytes(r.seed, wasm[:mid])
		k.hash[1] = maphash.Bytes(r.seed, wasm[mid:])
		return k
	}
	done := make(chan struct{})
	go func() {
		k.hash[1] = maphash.Bytes(r.seed, wasm[mid:])
		close(done)
	}()
	k.hash[0] = maphash.Bytes(r.seed, wasm[:mid])
	<-done
	return k
}

// compileCall is one memoised compilation; done is closed once m or err is set.
type compileCall struct {
	done chan struct{}
	m    *Module
	err  error
}

var wasmMagic = []byte("\x00asm")

// Compile validates and compiles wasm to machine code. Compilations are memoised by a hash of
// wasm: compiling the same bytes again on this Runtime returns the same *Module at once, and
// concurrent calls with the same bytes compile only once. With the on-disk cache (the default),
// a module compiled by an earlier process is loaded instead of compiled.
//
// Without Options.DebugInfo, the custom sections at the end of wasm other than "name" (DWARF,
// producers: half of python.wasm) are left out before wazero sees the bytes: wazero would skip
// them anyway, but hash them (its cache key is a SHA-256 of the bytes it compiles). The cache
// key is thus a hash of every byte that affects the machine code.
//
// A module must be a WASI command: it must export a "_start" function. Errors: ErrNotWasm for
// bytes that are not a binary module, ErrClosed, a decoding or validation error from wazero, or
// ctx's error.
func (r *Runtime) Compile(ctx context.Context, wasm []byte) (*Module, error) {
	if !bytes.HasPrefix(wasm, wasmMagic) {
		return nil, fmt.Errorf("%w (it does not start with \\0asm)", ErrNotWasm)
	}
	if !r.debugInfo {
		wasm = trimModule(wasm)
	}
	return r.compileKeyed(ctx, wasm, r.key(wasm))
}

// compileKeyed is Compile of wasm, trimmed, whose moduleKey is key.
func (r *Runtime) compileKeyed(ctx context.Context, wasm []byte, key moduleKey) (*Module, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	if c, ok := r.modules[key]; ok {
		r.mu.Unlock()
		select {
		case <-c.done:
			return c.m, c.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c := &compileCall{done: make(chan struct{})}
	r.modules[key] = c
	r.mu.Unlock()

	c.m, c.err = r.compile(ctx, wasm)
	if c.err != nil {
		// Forget failures, so that a compilation cut short by ctx can be tried again.
		r.mu.Lock()
		delete(r.modules, key)
		r.mu.Unlock()
	}
	close(c.done)
	return c.m, c.err
}

// compile compiles wasm to the variant (see Interrupt) that a Run with a context like ctx
// uses: with the checks if ctx can end, without if it cannot. The other is compiled by the
// first Run that needs it, from wasm, which the Module keeps until then.
func (r *Runtime) compile(ctx context.Context, wasm []byte) (*Module, error) {
	m := &Module{r: r, wasm: wasm}
	compiled, err := m.variant(ctx, r.wz != nil && (r.wzFast == nil || ctx.Done() != nil))
	if err != nil {
		return nil, err
	}
	if _, ok := compiled.ExportedFunctions()["_start"]; !ok {
		_ = compiled.Close(ctx)
		return nil, errors.New(`the module exports no "_start" function: it is not a WASI command`)
	}
	return m, nil
}
