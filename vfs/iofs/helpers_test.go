package iofs_test

import (
	"bytes"
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

func check(t testing.TB, what string, e vfs.Errno) {
	t.Helper()
	if e != 0 {
		t.Fatalf("%s: %v", what, e)
	}
}

func writeFile(t testing.TB, ns *vfs.Namespace, path, data string) {
	t.Helper()
	h, e := ns.Open(ns.Root(), path, vfs.OWrite|vfs.OCreate|vfs.OTrunc, 0o644)
	check(t, "open "+path, e)
	defer h.File.Close()
	if _, e := h.File.WriteAt([]byte(data), 0); e != 0 {
		t.Fatalf("write %s: %v", path, e)
	}
}

func readFile(t testing.TB, ns *vfs.Namespace, path string) string {
	t.Helper()
	h, e := ns.Open(ns.Root(), path, vfs.ORead, 0)
	check(t, "open "+path, e)
	defer h.File.Close()
	var buf bytes.Buffer
	p := make([]byte, 4096)
	for off := int64(0); ; {
		n, e := h.File.ReadAt(p, off)
		check(t, "read "+path, e)
		if n == 0 {
			return buf.String()
		}
		buf.Write(p[:n])
		off += int64(n)
	}
}
