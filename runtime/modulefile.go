package runtime

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"unicode/utf8"
)

// CompileFile reads the WebAssembly module in the file name and compiles it, as Compile does
// with its bytes. Without Options.DebugInfo it reads only what compilation uses: the custom
// sections at the end of the file (DWARF, producers...; see Compile) are never read, which for
// python.wasm is half of its 26 MB. What it reads is compiled as read, so a file changed at
// any time is compiled as some version of its bytes, never mixed with another's machine code.
//
// Errors: those of os.Open and of reading (*fs.PathError), ErrNotWasm, and Compile's.
func (r *Runtime) CompileFile(ctx context.Context, name string) (*Module, error) {
	wasm, key, err := r.readModule(name)
	if err != nil {
		return nil, err
	}
	if key == nil {
		return r.Compile(ctx, wasm)
	}
	if t := trimModule(wasm); len(t) != len(wasm) { // the file changed since moduleEnd read it
		return r.Compile(ctx, t)
	}
	return r.compileKeyed(ctx, wasm, *key)
}

// readModule reads the module in the file name. Without DebugInfo, it reads only up to the end
// of its last section that is not a droppable custom section (see moduleEnd), and returns the
// moduleKey of what it read too: each half is read and hashed by its own goroutine, on two
// cores. With DebugInfo, or if name is not a regular file, it reads the whole file and returns
// no key.
func (r *Runtime) readModule(name string) (wasm []byte, key *moduleKey, err error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() || r.debugInfo {
		// Sized from Stat (as os.ReadFile is) so a regular file is read in one buffer.
		buf := bytes.NewBuffer(make([]byte, 0, max(fi.Size(), 0)+bytes.MinRead))
		_, err = buf.ReadFrom(f)
		return buf.Bytes(), nil, err
	}
	var magic [4]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil || !bytes.Equal(magic[:], wasmMagic) {
		return nil, nil, fmt.Errorf("%s: %w (it does not start with \\0asm)", name, ErrNotWasm)
	}
	end := moduleEnd(f, fi.Size())
	wasm = make([]byte, end)
	k := moduleKey{size: len(wasm)}
	mid := len(wasm) / 2
	var err1 error
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err1 = f.ReadAt(wasm[mid:], int64(mid)); err1 == nil {
			k.hash[1] = maphash.Bytes(r.seed, wasm[mid:])
		}
	}()
	_, err = f.ReadAt(wasm[:mid], 0)
	if err == nil {
		k.hash[0] = maphash.Bytes(r.seed, wasm[:mid])
	}
	<-done
	if err == nil {
		err = err1
	}
	if err == io.EOF { // the file shrank since Stat: give wazero what there is
		wasm, err = io.ReadAll(io.NewSectionReader(f, 0, end))
		return wasm, nil, err
	}
	if err != nil {
		return nil, nil, &os.PathError{Op: "read", Path: name, Err: err}
	}
	return wasm, &k, nil
}

// trimModule returns wasm without the custom sections at its end that compilation would skip
// (see moduleEnd). It does not copy: the result is a prefix of wasm.
func trimModule(wasm []byte) []byte {
	return wasm[:moduleEnd(bytes.NewReader(wasm), int64(len(wasm)))]
}

// moduleEnd returns the length of the prefix of the binary module in ra (size bytes long) that
// wazero, with DWARF off, decodes the same as the whole: the whole, less the run of custom
// sections at the end that wazero would skip without reading them (DWARF .debug_* sections,
// producers, target_features), which is what toolchains append to a module. A "name" section
// is kept (trap stack traces name functions with it), and so is everything before it.
//
// Only well-formed sections are left out: a section whose size runs past the end, a custom
// section whose name is not valid UTF-8 or is longer than its section, a LEB128 that is not a
// canonical-width u32 — anything wazero might reject — and everything before it is kept, so
// that wazero reports the same error as for the whole. When in doubt it returns size.
func moduleEnd(ra io.ReaderAt, size int64) int64 {
	const headerLen = 8 // magic, version
	if size < headerLen {
		return size
	}
	end := int64(headerLen) // end of the last section that must be kept
	var hdr [1 + 5 + 5 + maxSkippedName]byte
	for off := end; off < size; {
		n, _ := ra.ReadAt(hdr[:], off)
		h := hdr[:n]
		if len(h) == 0 {
			return size
		}
		id := h[0]
		secSize, l, ok := uleb32(h[1:])
		if !ok {
			return size
		}
		contentStart := off + 1 + int64(l)
		next := contentStart + int64(secSize)
		if next > size {
			return size // truncated: wazero's error
		}
		if id != 0 || !skippedCustom(h[1+l:], secSize) {
			end = next
		}
		off = next
	}
	return end
}

// maxSkippedName is the longest custom section name moduleEnd leaves out; a section with a
// longer name is kept (there is none in practice: .debug_pubtypes is the longest DWARF name).
const maxSkippedName = 64

// skippedCustom reports whether a custom section whose content (secSize bytes) starts with c
// is one wazero skips when DWARF is off: a well-formed UTF-8 name other than "name".
func skippedCustom(c []byte, secSize uint32) bool {
	nameLen, l, ok := uleb32(c)
	if !ok || nameLen > maxSkippedName || uint64(l)+uint64(nameLen) > uint64(secSize) ||
		l+int(nameLen) > len(c) {
		return false
	}
	name := c[l : l+int(nameLen)]
	return utf8.Valid(name) && string(name) != "name"
}

// uleb32 decodes an unsigned LEB128 u32 at the start of b: its value, its length in bytes and
// whether it is one (at most 5 bytes, no bits beyond the 32nd).
func uleb32(b []byte) (v uint32, n int, ok bool) {
	for i := 0; i < 5 && i < len(b); i++ {
		c := b[i]
		if i == 4 && c > 0x0f {
			return 0, 0, false
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1, true
		}
	}
	return 0, 0, false
}
