package runtime

import (
	"bytes"
	"context"
	"fmt"
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
	wasm, err := r.readModule(name)
	if err != nil {
		return nil, err
	}
	return r.Compile(ctx, wasm)
}

// readModule reads the module in the file name: without DebugInfo, up to the end of its last
// section that is not a droppable custom section (see moduleEnd); the whole file otherwise,
// or if it is not a regular file.
func (r *Runtime) readModule(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || r.debugInfo {
		return io.ReadAll(f)
	}
	size := fi.Size()
	var magic [4]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil || !bytes.Equal(magic[:], wasmMagic) {
		return nil, fmt.Errorf("%s: %w (it does not start with \\0asm)", name, ErrNotWasm)
	}
	end := moduleEnd(f, size)
	wasm := make([]byte, end)
	if _, err := f.ReadAt(wasm, 0); err != nil {
		if err == io.EOF { // the file shrank since Stat: give wazero what there is
			return io.ReadAll(io.NewSectionReader(f, 0, end))
		}
		return nil, &os.PathError{Op: "read", Path: name, Err: err}
	}
	return wasm, nil
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
