package stable

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

// openT opens (creating) the store at path and fails the test on error.
func openT(t testing.TB, path string, opts Options) *FS {
	t.Helper()
	f, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return f
}

// newT opens a fresh store in a temporary directory; at the end of the test it commits,
// checks the store with Fsck and closes it.
func newT(t testing.TB, opts Options) *FS {
	t.Helper()
	f := openT(t, filepath.Join(t.TempDir(), "test.store"), opts)
	t.Cleanup(func() { closeChecked(t, f) })
	return f
}

// closeChecked commits, checks and closes f (if not closed yet).
func closeChecked(t testing.TB, f *FS) {
	t.Helper()
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return
	}
	if e := f.Commit(); e != vfs.ESUCCESS {
		t.Errorf("Commit: %v", e)
	}
	checkFsck(t, f)
	if err := f.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func checkFsck(t testing.TB, f *FS) *FsckReport {
	t.Helper()
	r, err := f.Fsck()
	if err != nil {
		t.Fatalf("Fsck: %v", err)
	}
	if !r.OK() {
		t.Errorf("Fsck: %v", r)
	}
	return r
}

// crash abandons f's dirty set as a crash of the process would: nothing uncommitted is
// committed. It is not a whole crash: the engine is then closed cleanly (its log checkpointed
// into the bbolt file and removed), so the reopen that follows does not replay a log, and the
// page cache keeps whatever was written. Replays after a crash are tested in kv/boltkv
// (TestLogTornTail, TestStaleRecordBehindOldHeader, ...), by the failpoint crash tests in
// crash_test.go (a child process killed), and under power cuts by cmd/run's TestPowerCut*.
func crash(t testing.TB, f *FS) {
	t.Helper()
	f.mu.Lock()
	for f.commit.committing {
		f.cond.Wait()
	}
	f.closed = true
	for f.rd.reading > 0 {
		f.cond.Wait() // the store must not close under a read
	}
	f.mu.Unlock()
	if f.commit.stop != nil {
		close(f.commit.stop)
		<-f.commit.done
	}
	if err := f.store.Close(); err != nil {
		t.Fatalf("closing the store: %v", err)
	}
}

// must fails the test if e is not ESUCCESS.
func must(t testing.TB, e vfs.Errno, what string) {
	t.Helper()
	if e != vfs.ESUCCESS {
		t.Fatalf("%s: %v", what, e)
	}
}

// walk resolves the slash-separated path p (no symlinks) from the root.
func walk(t testing.TB, f vfs.FS, p string) (vfs.Ino, vfs.Errno) {
	t.Helper()
	ino := f.Root()
	for c := range strings.SplitSeq(p, "/") {
		if c == "" {
			continue
		}
		var e vfs.Errno
		if ino, _, e = f.Lookup(ino, c); e != vfs.ESUCCESS {
			return 0, e
		}
	}
	return ino, vfs.ESUCCESS
}

func parentOf(t testing.TB, f vfs.FS, p string) (vfs.Ino, string) {
	t.Helper()
	i := strings.LastIndexByte(p, '/')
	dir, e := walk(t, f, p[:i])
	must(t, e, "walk "+p[:i])
	return dir, p[i+1:]
}

func mkdirT(t testing.TB, f vfs.FS, p string) vfs.Ino {
	t.Helper()
	d, name := parentOf(t, f, p)
	ino, e := f.Create(d, name, vfs.TypeDir, 0o755, "")
	must(t, e, "mkdir "+p)
	return ino
}

// writeFileT creates (or truncates) p and writes data into it.
func writeFileT(t testing.TB, f vfs.FS, p string, data []byte) vfs.Ino {
	t.Helper()
	d, name := parentOf(t, f, p)
	ino, _, e := f.Lookup(d, name)
	if e == vfs.ENOENT {
		ino, e = f.Create(d, name, vfs.TypeRegular, 0o644, "")
	}
	must(t, e, "create "+p)
	must(t, f.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize}), "truncate "+p)
	h, e := f.Open(ino, vfs.OpenWrite)
	must(t, e, "open "+p)
	defer h.Close()
	n, e := h.WriteAt(data, 0)
	must(t, e, "write "+p)
	if n != len(data) {
		t.Fatalf("write %s: %d of %d bytes", p, n, len(data))
	}
	return ino
}

func readFileT(t testing.TB, f vfs.FS, p string) []byte {
	t.Helper()
	ino, e := walk(t, f, p)
	must(t, e, "walk "+p)
	st, e := f.Stat(ino)
	must(t, e, "stat "+p)
	h, e := f.Open(ino, vfs.OpenRead)
	must(t, e, "open "+p)
	defer h.Close()
	buf := make([]byte, st.Size+10)
	n, e := h.ReadAt(buf, 0)
	must(t, e, "read "+p)
	return buf[:n]
}

func wantFile(t testing.TB, f vfs.FS, p string, want []byte) {
	t.Helper()
	if got := readFileT(t, f, p); !bytes.Equal(got, want) {
		t.Errorf("%s: got %d bytes %.40q..., want %d bytes %.40q...", p, len(got), got, len(want), want)
	}
}

// listT lists directory p: name -> ino.
func listT(t testing.TB, f vfs.FS, p string) map[string]vfs.Ino {
	t.Helper()
	ino, e := walk(t, f, p)
	must(t, e, "walk "+p)
	h, e := f.Open(ino, vfs.OpenRead)
	must(t, e, "open "+p)
	defer h.Close()
	m := map[string]vfs.Ino{}
	must(t, h.ReadDir(0, func(d *vfs.DirEntry) bool {
		if _, dup := m[string(d.Name)]; dup {
			t.Errorf("%s: %q listed twice", p, d.Name)
		}
		m[string(d.Name)] = d.Ino
		return true
	}), "readdir "+p)
	return m
}

// bbCheck runs bbolt's own consistency check of f's store, with no commit in flight.
func bbCheck(t *testing.T, f *FS, where string) {
	f.mu.Lock()
	for f.commit.committing {
		f.cond.Wait()
	}
	err := f.store.Check(func(e error) { t.Errorf("%s: bbolt: %v", where, e) })
	f.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
}
