package runtime

import (
	"bytes"
	"testing"
)

// section encodes one section: its id, its size as a canonical LEB128 and content.
func section(id byte, content []byte) []byte {
	return append(append([]byte{id}, leb(uint32(len(content)))...), content...)
}

// custom encodes a custom section named name with data after the name.
func custom(name string, data []byte) []byte {
	return section(0, append(append(leb(uint32(len(name))), name...), data...))
}

func leb(v uint32) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestModuleEnd(t *testing.T) {
	head := []byte("\x00asm\x01\x00\x00\x00")
	typ := section(1, []byte{1, 0x60, 0, 0}) // one type: () -> ()
	mem := section(5, []byte{1, 0, 1})       // one memory, min 1 page
	debug := custom(".debug_info", bytes.Repeat([]byte{0xaa}, 300))
	names := custom("name", []byte{1, 2, 0, 0}) // a function names subsection
	body := cat(head, typ, mem)
	tests := []struct {
		name string
		wasm []byte
		want int // length of the kept prefix
	}{
		{"no sections", head, len(head)},
		{"shorter than a header", head[:5], 5},
		{"no custom section", body, len(body)},
		{"trailing debug sections", cat(body, debug, custom(".debug_str", []byte("abc")), custom("producers", nil)), len(body)},
		{"custom section with an empty name", cat(body, custom("", []byte{1})), len(body)},
		{"name section kept, and what is before it", cat(body, debug, names), len(body) + len(debug) + len(names)},
		{"debug after the name section", cat(body, names, debug), len(body) + len(names)},
		{"custom section in the middle", cat(head, typ, debug, mem, debug), len(head) + len(typ) + len(debug) + len(mem)},
		{"a trailing section that is not custom", cat(body, debug, section(11, []byte{0})), len(body) + len(debug) + 2 + 1},
		// Malformed: everything is kept, so that wazero reports it.
		{"section size past the end", cat(body, debug[:len(debug)-1]), len(body) + len(debug) - 1},
		{"invalid UTF-8 name", cat(body, custom("\xff\xfe", nil)), len(body) + 5},
		{"name longer than its section", cat(body, []byte{0, 2, 5, 'a'}), len(body) + 4},
		{"size LEB128 too long", cat(body, []byte{0, 0x80, 0x80, 0x80, 0x80, 0x80, 0}), len(body) + 7},
		{"size LEB128 beyond 32 bits", cat(body, []byte{0, 0x80, 0x80, 0x80, 0x80, 0x10}), len(body) + 6},
		{"unterminated size", cat(body, []byte{0, 0x80}), len(body) + 2},
		{"name too long to be skipped", cat(body, custom(string(bytes.Repeat([]byte{'x'}, maxSkippedName+1)), nil)),
			len(body) + 2 + maxSkippedName + 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := moduleEnd(bytes.NewReader(tc.wasm), int64(len(tc.wasm))); got != int64(tc.want) {
				t.Errorf("moduleEnd = %d, want %d (of %d)", got, tc.want, len(tc.wasm))
			}
			if got := trimModule(tc.wasm); !bytes.Equal(got, tc.wasm[:tc.want]) {
				t.Errorf("trimModule kept %d bytes, want %d", len(got), tc.want)
			}
		})
	}
}

func TestUleb32(t *testing.T) {
	tests := []struct {
		in     []byte
		v      uint32
		n      int
		wantOK bool
	}{
		{[]byte{0}, 0, 1, true},
		{[]byte{0x7f, 0xff}, 127, 1, true},
		{[]byte{0x80, 0x01}, 128, 2, true},
		{[]byte{0x80, 0x00}, 0, 2, true}, // padded: valid
		{[]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, 1<<32 - 1, 5, true},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0x1f}, 0, 0, false},
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 0, 0, false},
		{[]byte{0x80}, 0, 0, false},
		{nil, 0, 0, false},
	}
	for _, tc := range tests {
		v, n, ok := uleb32(tc.in)
		if v != tc.v || n != tc.n || ok != tc.wantOK {
			t.Errorf("uleb32(% x) = %d, %d, %v; want %d, %d, %v", tc.in, v, n, ok, tc.v, tc.n, tc.wantOK)
		}
	}
}
