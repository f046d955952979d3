package stable

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

func TestSmoke(t *testing.T) {
	f := newT(t, Options{})
	mkdirT(t, f, "/a")
	mkdirT(t, f, "/a/b")
	data := bytes.Repeat([]byte("hello world "), 5000)
	writeFileT(t, f, "/a/b/c.txt", data)
	wantFile(t, f, "/a/b/c.txt", data)
	must(t, f.Commit(), "commit")
	checkFsck(t, f)
	wantFile(t, f, "/a/b/c.txt", data)
	if got := listT(t, f, "/a"); len(got) != 1 {
		t.Errorf("list /a = %v", got)
	}
}

func TestPersistSimple(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.store")
	f := openT(t, path, Options{})
	mkdirT(t, f, "/d")
	data := bytes.Repeat([]byte("0123456789abcdef"), 3000)
	writeFileT(t, f, "/d/f", data)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	f = openT(t, path, Options{})
	defer closeChecked(t, f)
	wantFile(t, f, "/d/f", data)
	st, e := f.Stat(f.Root())
	must(t, e, "stat root")
	if st.Nlink != 3 {
		t.Errorf("root nlink %d, want 3", st.Nlink)
	}
	_ = vfs.ESUCCESS
}
