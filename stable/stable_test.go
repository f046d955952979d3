package stable

import (
	"bytes"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"strconv"
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

// TestReadWindow reads a file sequentially in small pieces through one File while another
// File writes and truncates it ahead of the reader, and checks every read against a model:
// the reader's read-ahead window must never serve stale data.
func TestReadWindow(t *testing.T) {
	seed := seedFor(t)
	rng := rand.New(rand.NewPCG(seed, 5))
	for _, opts := range []Options{
		{PageSize: 4096, CommitInterval: -1},
		{PageSize: 4096, CacheBytes: 1, CommitInterval: 1, NoSync: true},
	} {
		f := newT(t, opts)
		model := make([]byte, 600<<10)
		for i := range model {
			model[i] = byte(i * 13)
		}
		ino := writeFileT(t, f, "/f", model)
		must(t, f.Commit(), "commit")
		r, _ := f.Open(ino, vfs.OpenRead)
		w, _ := f.Open(ino, vfs.OpenWrite)
		off := 0
		buf := make([]byte, 20000)
		for step := 0; step < 2000; step++ {
			switch rng.IntN(10) {
			case 0: // write somewhere, often just ahead of the reader
				at := off + rng.IntN(64<<10)
				if rng.IntN(3) == 0 {
					at = rng.IntN(len(model) + 1)
				}
				data := bytes.Repeat([]byte{byte(step)}, 1+rng.IntN(9000))
				_, e := w.WriteAt(data, int64(at))
				must(t, e, "write")
				if at+len(data) > len(model) {
					model = append(model, make([]byte, at+len(data)-len(model))...)
				}
				copy(model[at:], data)
			case 1: // truncate, and sometimes grow back
				size := off + rng.IntN(100<<10)
				must(t, f.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: int64(size)}), "truncate")
				if size < len(model) {
					model = model[:size]
				} else {
					model = append(model, make([]byte, size-len(model))...)
				}
			case 2: // commit and drop the clean pages: the next reads go to the store
				must(t, f.Commit(), "commit")
				f.mu.Lock()
				for f.commit.committing {
					f.cond.Wait()
				}
				cc := f.cacheCap
				f.cacheCap = 0
				f.evictLocked()
				f.cacheCap = cc
				f.mu.Unlock()
			default: // read on
				n := 1 + rng.IntN(len(buf))
				if rng.IntN(3) == 0 {
					n = 4096
				}
				if off >= len(model) {
					off = 0
				}
				got, e := r.ReadAt(buf[:n], int64(off))
				must(t, e, "read")
				want := model[off:min(off+n, len(model))]
				if !bytes.Equal(buf[:got], want) {
					t.Fatalf("step %d: read %d at %d: got %d bytes differing from the %d wanted", step, n, off, got, len(want))
				}
				off += got
			}
		}
		r.Close()
		w.Close()
	}
}

// TestCookiesSurviveReopen lists half a directory, reopens the store, removes the last entry
// listed and adds others, and resumes from the cookie: the rest of the old entries come exactly
// once, none of those listed before comes again. With "warm", lookups load some of the
// entries into the cache before the listing loads the rest from the store.
func TestCookiesSurviveReopen(t *testing.T) {
	for _, warm := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "c.store")
		f := openT(t, path, Options{NoSync: true})
		d := mkdirT(t, f, "/d")
		const n = 300
		for i := range n {
			writeFileT(t, f, "/d/"+strconv.Itoa(i), nil)
		}
		h, _ := f.Open(d, vfs.OpenRead)
		seen := map[string]bool{}
		var cookie uint64
		var last string
		must(t, h.ReadDir(0, func(e *vfs.DirEntry) bool {
			seen[string(e.Name)] = true
			cookie, last = e.Next, string(e.Name)
			return len(seen) < n/2
		}), "readdir")
		h.Close()
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		f = openT(t, path, Options{NoSync: true})
		if warm {
			for i := 0; i < n; i += 3 {
				_, _, e := f.Lookup(d, strconv.Itoa(i))
				must(t, e, "lookup")
			}
		}
		must(t, f.Remove(d, last, false), "remove "+last)
		for i := range 20 {
			writeFileT(t, f, "/d/new"+strconv.Itoa(i), nil)
		}
		h, _ = f.Open(d, vfs.OpenRead)
		rest := map[string]bool{}
		must(t, h.ReadDir(cookie, func(e *vfs.DirEntry) bool {
			name := string(e.Name)
			if seen[name] || rest[name] {
				t.Errorf("warm %v: %q listed again after resuming", warm, name)
			}
			rest[name] = true
			return true
		}), "readdir")
		h.Close()
		for i := range n {
			name := strconv.Itoa(i)
			if !seen[name] && !rest[name] {
				t.Errorf("warm %v: %q never listed", warm, name)
			}
		}
		closeChecked(t, f)
	}
}

// listCookies lists directory ino: name -> cookie.
func listCookies(t *testing.T, f *FS, ino vfs.Ino) map[string]uint64 {
	t.Helper()
	h, e := f.Open(ino, vfs.OpenRead)
	must(t, e, "open")
	defer h.Close()
	m := map[string]uint64{}
	must(t, h.ReadDir(0, func(e *vfs.DirEntry) bool {
		m[string(e.Name)] = e.Next
		return true
	}), "readdir")
	return m
}

// TestSeqExhausted starts a directory's sequence counter just below vfs.MaxCookie: the last
// sequence numbers are cookies below it, then adding an entry (create, link, rename into the
// directory) fails with ENOSPC until the directory is empty, after which it is renumbered
// from 1. The counter and the refusal survive a reopen, and every commit passes fsck.
func TestSeqExhausted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seq.store")
	f := openT(t, path, Options{NoSync: true, CommitInterval: -1})
	d := mkdirT(t, f, "/d")
	other := writeFileT(t, f, "/other", []byte("x"))
	f.mu.Lock()
	dn := f.meta.inodes[d]
	dn.nextSeq = vfs.MaxCookie - 2
	f.markDirty(dn)
	f.mu.Unlock()
	writeFileT(t, f, "/d/a", nil)
	writeFileT(t, f, "/d/b", nil)
	if got, want := listCookies(t, f, d), (map[string]uint64{"a": vfs.MaxCookie - 2, "b": vfs.MaxCookie - 1}); !maps.Equal(got, want) {
		t.Fatalf("cookies %v, want %v", got, want)
	}
	full := func(f *FS) {
		t.Helper()
		if _, e := f.Create(d, "c", vfs.TypeRegular, 0o644, ""); e != vfs.ENOSPC {
			t.Errorf("create in a full directory = %v, want ENOSPC", e)
		}
		if e := f.Link(other, d, "c"); e != vfs.ENOSPC {
			t.Errorf("link into a full directory = %v, want ENOSPC", e)
		}
		if e := f.Rename(f.Root(), "other", d, "c"); e != vfs.ENOSPC {
			t.Errorf("rename into a full directory = %v, want ENOSPC", e)
		}
		// Replacing an entry takes no new sequence number.
		must(t, f.Rename(f.Root(), "other", d, "a"), "rename over /d/a")
		other = writeFileT(t, f, "/other", []byte("y"))
		checkFsck(t, f)
	}
	must(t, f.Commit(), "commit")
	full(f)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	f = openT(t, path, Options{NoSync: true, CommitInterval: -1})
	defer closeChecked(t, f)
	full(f)
	if got := listCookies(t, f, d); got["a"] != vfs.MaxCookie-2 || got["b"] != vfs.MaxCookie-1 || len(got) != 2 {
		t.Errorf("after reopen: cookies %v", got)
	}
	must(t, f.Remove(d, "a", false), "remove a")
	if _, e := f.Create(d, "c", vfs.TypeRegular, 0o644, ""); e != vfs.ENOSPC {
		t.Errorf("create in a full directory with one entry = %v, want ENOSPC", e)
	}
	must(t, f.Remove(d, "b", false), "remove b")
	for _, name := range []string{"b", "c", "a"} { // b comes back: its old key must go
		writeFileT(t, f, "/d/"+name, nil)
	}
	if got, want := listCookies(t, f, d), (map[string]uint64{"b": 1, "c": 2, "a": 3}); !maps.Equal(got, want) {
		t.Errorf("renumbered: cookies %v, want %v", got, want)
	}
	must(t, f.Commit(), "commit")
	checkFsck(t, f)
}
