package stable

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/wasmrun/wasmrun/stable/internal/failpoint"
	"github.com/wasmrun/wasmrun/vfs"
)

// TestStoreReadOffLock stops a store read of each kind (file pages, an inode, a name, a
// listing) at failpoint.StoreRead and shows, while it is stopped, that FS.mu is free and that
// operations on other files, directories and the FS as a whole (reads and writes of cached
// files, lookups, creates, another store read, a commit) run to the end. Then it lets the read
// go and checks what it returns. No timing: if an operation needed the lock the stopped read
// held, the test would hang (and fail by the test timeout) instead of passing.
func TestStoreReadOffLock(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB: 16 pages of 4 KiB
	tests := []struct {
		name  string
		block func(t *testing.T, f *FS) string // the read to stop; it returns what it got
		want  string
	}{
		{"page", func(t *testing.T, f *FS) string {
			return string(readFileT(t, f, "/d/a"))
		}, string(data)},
		{"page read at random", func(t *testing.T, f *FS) string {
			ino, e := walk(t, f, "/d/a")
			must(t, e, "walk")
			h, e := f.Open(ino, vfs.OpenRead)
			must(t, e, "open")
			defer h.Close()
			buf := make([]byte, 100)
			_, e = h.ReadAt(buf, 5000) // not sequential: through the cache
			must(t, e, "read")
			return string(buf)
		}, string(data[5000:5100])},
		{"inode", func(t *testing.T, f *FS) string {
			st, e := f.Stat(f.ino(t, "/d/a"))
			must(t, e, "stat")
			return strconv.FormatInt(st.Size, 10)
		}, "65536"},
		{"name", func(t *testing.T, f *FS) string {
			_, e := walk(t, f, "/d/a")
			return strconv.Itoa(int(e))
		}, "0"},
		{"listing", func(t *testing.T, f *FS) string {
			var names []byte
			for name := range listT(t, f, "/d") {
				names = append(names, name...)
			}
			return string(names)
		}, "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r.store")
			opts := Options{PageSize: 4096, CommitInterval: -1, NoSync: true}
			f := openT(t, path, opts)
			mkdirT(t, f, "/d")
			writeFileT(t, f, "/d/a", data)
			writeFileT(t, f, "/b", data)
			closeChecked(t, f)

			// Reopened: nothing is cached. Warm up what the other operations use.
			f = openT(t, path, opts)
			t.Cleanup(func() { closeChecked(t, f) })
			ino := f.ino(t, "/d/a") // its inode and name, cached to stop a read of another kind
			wantFile(t, f, "/b", data)
			hb, e := f.Open(f.ino(t, "/b"), vfs.OpenRead|vfs.OpenWrite)
			must(t, e, "open /b")
			defer hb.Close()
			mkdirT(t, f, "/new") // born here: its names need no store read
			switch tc.name {
			case "inode":
				f.forgetInode(t, ino)
			case "name":
				f.forgetName(t, "/d", "a")
			}

			var armed atomic.Bool
			entered, release := make(chan struct{}), make(chan struct{})
			failpoint.Set(func(n failpoint.Name) error {
				if n == failpoint.StoreRead && armed.CompareAndSwap(true, false) {
					close(entered)
					<-release
				}
				return nil
			})
			defer failpoint.Set(nil)
			armed.Store(true)
			got := make(chan string)
			go func() { got <- tc.block(t, f) }()
			<-entered

			// The read is stopped inside the store: the lock is free, and every operation
			// that does not need what it reads goes through.
			if !f.mu.TryLock() {
				close(release)
				<-got
				t.Fatal("FS.mu is held during a store read")
			}
			f.mu.Unlock()
			others := []struct {
				what string
				do   func() vfs.Errno
			}{
				{"stat /b", func() vfs.Errno { _, e := f.Stat(f.ino(t, "/b")); return e }},
				{"read /b", func() vfs.Errno {
					buf := make([]byte, 8192)
					_, e := hb.ReadAt(buf, 4096)
					return e
				}},
				{"write /b", func() vfs.Errno { _, e := hb.WriteAt([]byte("xyz"), 100); return e }},
				{"create /new/c", func() vfs.Errno {
					_, e := f.Create(f.ino(t, "/new"), "c", vfs.TypeRegular, 0o644, "")
					return e
				}},
				{"rename /new/c", func() vfs.Errno { return f.Rename(f.ino(t, "/new"), "c", f.ino(t, "/new"), "e") }},
				{"another store read", func() vfs.Errno { _, _, e := f.Lookup(f.Root(), "nothing"); return e }},
				{"commit", f.Commit},
			}
			for _, o := range others {
				if e := o.do(); e != vfs.ESUCCESS && !(o.what == "another store read" && e == vfs.ENOENT) {
					t.Errorf("%s while a read is stopped: %v", o.what, e)
				}
			}
			close(release)
			if g := <-got; g != tc.want {
				t.Errorf("the stopped read got %.40q, want %.40q", g, tc.want)
			}
		})
	}
}

// ino returns the inode of path p, failing the test if there is none.
func (f *FS) ino(t testing.TB, p string) vfs.Ino {
	t.Helper()
	ino, e := walk(t, f, p)
	must(t, e, "walk "+p)
	return ino
}

// forgetInode drops inode ino, clean and closed, from the cache if it is there.
func (f *FS) forgetInode(t testing.TB, ino vfs.Ino) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.meta.inodes[ino]
	if n == nil {
		return
	}
	if !f.inodeEvictable(n) {
		t.Fatalf("inode %d: not evictable", ino)
	}
	f.dropPagesLocked(n, 0)
	delete(f.meta.inodes, ino)
}

// forgetName drops the clean name of directory dir from the cache.
func (f *FS) forgetName(t testing.TB, dir, name string) {
	t.Helper()
	d := f.ino(t, dir)
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.cachedName(d, name)
	if !ok || e.dirty || e.flight {
		t.Fatalf("%s/%s: not cached, or dirty", dir, name)
	}
	f.dir.names.Delete(e)
	f.dir.seqs.Delete(e)
	f.meta.inodes[d].listed = false
}

// TestConcurrentReads runs goroutines that each own a file and a directory and change and
// read them back at random, sharing one FS whose page and metadata caches are so small that
// pages, inodes and names are evicted and read from the store again all the time, with
// commits from writers, from the age bound and from Syncs in between: every store read
// without FS.mu races with commits and evictions. Each goroutine checks its file against its
// own copy and its directory against its own list. Replay with STABLE_SEED.
func TestConcurrentReads(t *testing.T) {
	seed := seedFor(t)
	const workers = 4
	steps := 400
	if raceEnabled || testing.Short() {
		steps = 150
	}
	f := newT(t, WithMaxMeta(Options{PageSize: 4096, CacheBytes: 1, CommitInterval: 1, NoSync: true}, 8))
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			errs <- concurrentWorker(f, w, rand.New(rand.NewPCG(seed, uint64(w))), steps)
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// concurrentWorker is one goroutine of TestConcurrentReads.
func concurrentWorker(f *FS, w int, rng *rand.Rand, steps int) error {
	dir, e := f.Create(f.Root(), fmt.Sprintf("w%d", w), vfs.TypeDir, 0o755, "")
	if e != vfs.ESUCCESS {
		return fmt.Errorf("worker %d: mkdir: %v", w, e)
	}
	ino, e := f.Create(dir, "file", vfs.TypeRegular, 0o644, "")
	if e != vfs.ESUCCESS {
		return fmt.Errorf("worker %d: create: %v", w, e)
	}
	var model []byte
	names := map[string]vfs.Ino{"file": ino}
	const maxSize = 24 << 10 // 6 pages
	for step := range steps {
		fail := func(format string, args ...any) error {
			return fmt.Errorf("worker %d, step %d: %s", w, step, fmt.Sprintf(format, args...))
		}
		switch rng.IntN(8) {
		case 0, 1: // write
			off := rng.Int64N(maxSize)
			p := make([]byte, 1+rng.IntN(9000))
			for i := range p {
				p[i] = byte(rng.Uint32())
			}
			p = p[:min(int64(len(p)), maxSize-off)]
			h, e := f.Open(ino, vfs.OpenWrite)
			if e != vfs.ESUCCESS {
				return fail("open: %v", e)
			}
			_, e = h.WriteAt(p, off)
			h.Close()
			if e != vfs.ESUCCESS {
				return fail("write: %v", e)
			}
			if end := off + int64(len(p)); end > int64(len(model)) {
				model = append(model, make([]byte, end-int64(len(model)))...)
			}
			copy(model[off:], p)
		case 2: // truncate
			size := rng.Int64N(maxSize)
			if e := f.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: size}); e != vfs.ESUCCESS {
				return fail("truncate: %v", e)
			}
			if size < int64(len(model)) {
				model = model[:size]
			} else {
				model = append(model, make([]byte, size-int64(len(model)))...)
			}
		case 3, 4: // read, at random or all of it in small sequential reads
			h, e := f.Open(ino, vfs.OpenRead)
			if e != vfs.ESUCCESS {
				return fail("open: %v", e)
			}
			got := make([]byte, len(model)+100)
			chunk := len(got)
			if rng.IntN(2) == 0 {
				chunk = 1 + rng.IntN(5000)
			}
			n := 0
			for n < len(got) {
				k, e := h.ReadAt(got[n:min(n+chunk, len(got))], int64(n))
				if e != vfs.ESUCCESS {
					h.Close()
					return fail("read: %v", e)
				}
				if k == 0 {
					break
				}
				n += k
			}
			h.Close()
			if !bytes.Equal(got[:n], model) {
				return fail("read %d bytes, want %d; they differ", n, len(model))
			}
		case 5: // a name comes or goes
			name := fmt.Sprintf("n%d", rng.IntN(6))
			if _, ok := names[name]; ok {
				if e := f.Remove(dir, name, false); e != vfs.ESUCCESS {
					return fail("remove %s: %v", name, e)
				}
				delete(names, name)
			} else {
				if e := f.Link(ino, dir, name); e != vfs.ESUCCESS {
					return fail("link %s: %v", name, e)
				}
				names[name] = ino
			}
		case 6: // lookups and a listing
			for name := range names {
				if got, _, e := f.Lookup(dir, name); e != vfs.ESUCCESS || got != names[name] {
					return fail("lookup %s: %d, %v", name, got, e)
				}
			}
			if _, _, e := f.Lookup(dir, "absent"); e != vfs.ENOENT {
				return fail("lookup of an absent name: %v", e)
			}
			h, e := f.Open(dir, vfs.OpenRead)
			if e != vfs.ESUCCESS {
				return fail("open dir: %v", e)
			}
			listed := map[string]vfs.Ino{}
			e = h.ReadDir(0, func(d *vfs.DirEntry) bool { listed[string(d.Name)] = d.Ino; return true })
			h.Close()
			if e != vfs.ESUCCESS || !maps.Equal(listed, names) {
				return fail("readdir: %v %v, want %v", e, listed, names)
			}
		case 7: // stat, and now and then a sync
			st, e := f.Stat(ino)
			if e != vfs.ESUCCESS || st.Size != int64(len(model)) || st.Nlink != uint64(len(names)) {
				return fail("stat: %+v %v, want size %d, nlink %d", st, e, len(model), len(names))
			}
			if rng.IntN(4) == 0 {
				if e := f.Commit(); e != vfs.ESUCCESS {
					return fail("commit: %v", e)
				}
			}
		}
	}
	return nil
}

// TestStaleRead stops a store read of each kind at failpoint.StoreRead and, while it is
// stopped, changes what it reads, commits the change and drops it from the cache, so that the
// store read began before a commit that the cache no longer remembers: the read must not put
// what it saw into the cache (it reads again), and the operation must return the new state.
func TestStaleRead(t *testing.T) {
	old := bytes.Repeat([]byte("o"), 8192) // pages 0 and 1 of 4 KiB
	tests := []struct {
		name   string
		before func(t *testing.T, f *FS)        // a change before the read
		block  func(t *testing.T, f *FS) string // the read to stop
		change func(t *testing.T, f *FS)        // while it is stopped, before the commit
		forget func(t *testing.T, f *FS)        // after the commit
		want   string
	}{
		{"pages", func(t *testing.T, f *FS) {
			// Page 1 is dirty when the read begins: the store's copy the read sees is old,
			// and the commit makes the new one clean and so evictable before the read ends.
			h, e := f.Open(f.ino(t, "/d/a"), vfs.OpenWrite)
			must(t, e, "open")
			defer h.Close()
			_, e = h.WriteAt([]byte("NEW"), 4096)
			must(t, e, "write")
		}, func(t *testing.T, f *FS) string {
			h, e := f.Open(f.ino(t, "/d/a"), vfs.OpenRead)
			must(t, e, "open")
			defer h.Close()
			buf := make([]byte, 5000)
			_, e = h.ReadAt(buf, 100) // pages 0 and 1, neither cached: one fetch of both
			must(t, e, "read")
			return string(buf[3992:4002]) // bytes 4092 to 4102 of the file
		}, func(t *testing.T, f *FS) {}, func(t *testing.T, f *FS) {
			f.mu.Lock()
			for f.pc.lru.tail != nil {
				f.evictTailLocked() // every clean page
			}
			f.mu.Unlock()
		}, "ooooNEWooo"},
		{"inode", nil, func(t *testing.T, f *FS) string {
			st, e := f.Stat(f.ino(t, "/d/a"))
			must(t, e, "stat")
			return strconv.FormatUint(uint64(st.Mode), 8)
		}, func(t *testing.T, f *FS) {
			must(t, f.SetAttr(f.ino(t, "/d/a"), &vfs.Attr{Valid: vfs.AttrMode, Mode: 0o600}), "chmod")
		}, func(t *testing.T, f *FS) {
			f.forgetInode(t, f.ino(t, "/d/a"))
		}, "600"},
		{"name", nil, func(t *testing.T, f *FS) string {
			_, e := walk(t, f, "/d/a")
			return strconv.Itoa(int(e))
		}, func(t *testing.T, f *FS) {
			must(t, f.Remove(f.ino(t, "/d"), "a", false), "remove")
		}, func(t *testing.T, f *FS) {
			f.forgetName(t, "/d", "a")
		}, strconv.Itoa(int(vfs.ENOENT))},
		{"listing", nil, func(t *testing.T, f *FS) string {
			var names []byte
			for name := range listT(t, f, "/d") {
				names = append(names, name...)
			}
			return string(names)
		}, func(t *testing.T, f *FS) {
			must(t, f.Rename(f.ino(t, "/d"), "a", f.ino(t, "/d"), "z"), "rename")
		}, func(t *testing.T, f *FS) {
			f.forgetName(t, "/d", "a")
			f.forgetName(t, "/d", "z")
		}, "z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r.store")
			opts := Options{PageSize: 4096, CommitInterval: -1, NoSync: true}
			f := openT(t, path, opts)
			mkdirT(t, f, "/d")
			writeFileT(t, f, "/d/a", old)
			closeChecked(t, f)
			f = openT(t, path, opts)
			t.Cleanup(func() { closeChecked(t, f) })
			f.ino(t, "/d/a") // the names on the way are cached, not the inode of a
			if tc.before != nil {
				tc.before(t, f)
			}
			if tc.name == "name" {
				f.forgetName(t, "/d", "a")
			}

			var armed atomic.Bool
			entered, release := make(chan struct{}), make(chan struct{})
			failpoint.Set(func(n failpoint.Name) error {
				if n == failpoint.StoreRead && armed.CompareAndSwap(true, false) {
					close(entered)
					<-release
				}
				return nil
			})
			defer failpoint.Set(nil)
			armed.Store(true)
			got := make(chan string)
			go func() { got <- tc.block(t, f) }()
			<-entered
			tc.change(t, f)
			must(t, f.Commit(), "commit")
			tc.forget(t, f)
			close(release)
			if g := <-got; g != tc.want {
				t.Errorf("the stopped read got %q, want %q", g, tc.want)
			}
		})
	}
}
