package vfstest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

// errs collects failures from goroutines, which must not call t.Fatal.
type errs struct {
	mu   sync.Mutex
	list []string
}

func (e *errs) add(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.list) < 20 {
		e.list = append(e.list, fmt.Sprintf(format, args...))
	}
}

func (e *errs) report(t *testing.T) {
	t.Helper()
	for _, s := range e.list {
		t.Error(s)
	}
}

func (k *kit) testConcurrent(t *testing.T) {
	k.sub(t, "DirChurnWithLister", func(t *testing.T, h *harness) {
		// Workers create, write, rename, link and remove their own files and directories in
		// one directory (and move some to another) while a lister lists it over and over and
		// a statter stats: every listing holds each untouched file exactly once and no name
		// twice, and at the end only the untouched files remain.
		const statics, workers, iters = 30, 4, 150
		d := h.mkdir("/d")
		e := h.mkdir("/e")
		staticIno := map[string]vfs.Ino{}
		for i := range statics {
			name := fmt.Sprintf("s%02d", i)
			staticIno[name] = h.writeFile("/d/"+name, []byte(name))
		}
		fsys := h.fs
		var bad errs
		var running atomic.Int32
		running.Store(workers)
		var wg sync.WaitGroup
		for g := range workers {
			wg.Go(func() {
				defer running.Add(-1)
				check := func(e vfs.Errno, op string, args ...any) bool {
					if e != vfs.ESUCCESS {
						bad.add("worker %d: %s = %s, want ESUCCESS", g, fmt.Sprintf(op, args...), e.Name())
						return false
					}
					return true
				}
				for i := range iters {
					a, b, c := fmt.Sprintf("w%d-%d-a", g, i), fmt.Sprintf("w%d-%d-b", g, i), fmt.Sprintf("w%d-%d-c", g, i)
					ino, err := fsys.Create(d, a, vfs.TypeRegular, 0o644, "")
					if !check(err, "Create(/d/%s)", a) {
						return
					}
					f, err := fsys.Open(ino, vfs.OpenWrite)
					if !check(err, "Open(/d/%s)", a) {
						return
					}
					if n, err := f.WriteAt([]byte(a), int64(i)); n != len(a) || !check(err, "WriteAt(/d/%s)", a) {
						return
					}
					f.Close()
					if !check(fsys.Rename(d, a, d, b), "Rename(/d/%s, /d/%s)", a, b) {
						return
					}
					if !k.opts.NoHardLinks {
						if !check(fsys.Link(ino, d, c), "Link(/d/%s, /d/%s)", b, c) ||
							!check(fsys.Remove(d, c, false), "Remove(/d/%s)", c) {
							return
						}
					}
					if i%5 == 0 {
						if _, err := fsys.Create(d, c, vfs.TypeDir, 0o755, ""); !check(err, "Create(/d/%s, dir)", c) ||
							!check(fsys.Rename(d, c, e, c), "Rename(/d/%s, /e/%s)", c, c) ||
							!check(fsys.Rename(e, c, d, c), "Rename(/e/%s, /d/%s)", c, c) ||
							!check(fsys.Remove(d, c, true), "Remove(/d/%s, dirOnly)", c) {
							return
						}
					}
					if i%3 == 0 {
						if !check(fsys.Rename(d, b, e, b), "Rename(/d/%s, /e/%s)", b, b) ||
							!check(fsys.Remove(e, b, false), "Remove(/e/%s)", b) {
							return
						}
					} else if !check(fsys.Remove(d, b, false), "Remove(/d/%s)", b) {
						return
					}
				}
			})
		}
		listings := 0
		wg.Go(func() {
			for running.Load() > 0 {
				f, err := fsys.Open(d, vfs.OpenRead)
				if err != vfs.ESUCCESS {
					bad.add("lister: Open(/d) = %s", err.Name())
					return
				}
				// POSIX leaves it unspecified whether a name added or removed during a
				// listing is reported: a churned name may come twice, as two files (the
				// link, then the directory made under the same name) or as one file renamed
				// away and back, which gets a new position, as on Linux tmpfs. The same name
				// at the same position twice is a paging bug, and so is an untouched name
				// missing or repeated.
				type pos struct {
					name string
					next uint64
				}
				seen := map[string]int{}
				at := map[pos]int{}
				err = f.ReadDir(0, func(e *vfs.DirEntry) bool {
					seen[string(e.Name)]++
					at[pos{string(e.Name), e.Next}]++
					if ino, ok := staticIno[string(e.Name)]; ok && e.Ino != ino {
						bad.add("lister: ReadDir(/d) reports %s with Ino %d, want %d", e.Name, e.Ino, ino)
					}
					return true
				})
				f.Close()
				if err != vfs.ESUCCESS {
					bad.add("lister: ReadDir(/d) = %s", err.Name())
					return
				}
				for name := range staticIno {
					if seen[name] != 1 {
						bad.add("lister: ReadDir(/d) during churn reports untouched %s %d times, want once", name, seen[name])
					}
				}
				for p, c := range at {
					if c > 1 {
						bad.add("lister: ReadDir(/d) reports %s at cookie %d %d times in one listing", p.name, p.next, c)
					}
				}
				listings++
			}
		})
		wg.Go(func() {
			for running.Load() > 0 {
				for name, ino := range staticIno {
					if got, _, err := fsys.Lookup(d, name); err != vfs.ESUCCESS || got != ino {
						bad.add("statter: Lookup(/d/%s) = (%d, %s), want (%d, ESUCCESS)", name, got, err.Name(), ino)
						return
					}
					if st, err := fsys.Stat(ino); err != vfs.ESUCCESS || st.Size != 3 || st.Nlink != 1 {
						bad.add("statter: Stat(/d/%s) = (size %d nlink %d, %s), want (size 3 nlink 1, ESUCCESS)", name, st.Size, st.Nlink, err.Name())
						return
					}
				}
			}
		})
		wg.Wait()
		bad.report(t)
		t.Logf("%d listings raced the workers", listings)
		es := h.list(d, "/d")
		if len(es) != statics {
			t.Errorf("ReadDir(/d) after the churn = %d entries, want the %d untouched ones: %s", len(es), statics, clip(names(es)))
		}
		if es := h.list(e, "/e"); len(es) != 0 {
			t.Errorf("ReadDir(/e) after the churn = %s, want empty", clip(names(es)))
		}
		h.wantNlink("/d", 2)
		h.wantNlink("/e", 2)
		h.wantNlink("/", 4)
	})
	k.sub(t, "WritersDistinctFiles", func(t *testing.T, h *harness) {
		const writers, size, chunk = 4, 256 << 10, 4097
		inos := make([]vfs.Ino, writers)
		for g := range writers {
			inos[g] = h.mkfile(fmt.Sprintf("/f%d", g))
		}
		var bad errs
		var wg sync.WaitGroup
		for g := range writers {
			wg.Go(func() {
				f, err := h.fs.Open(inos[g], vfs.OpenWrite)
				if err != vfs.ESUCCESS {
					bad.add("Open(/f%d) = %s", g, err.Name())
					return
				}
				defer f.Close()
				data := pattern(byte(g), 0, size)
				for off := 0; off < size; off += chunk {
					end := min(off+chunk, size)
					if n, err := f.WriteAt(data[off:end], int64(off)); n != end-off || err != vfs.ESUCCESS {
						bad.add("WriteAt(/f%d, off=%d) = (%d, %s)", g, off, n, err.Name())
						return
					}
				}
			})
		}
		wg.Wait()
		bad.report(t)
		for g := range writers {
			h.checkContent(inos[g], fmt.Sprintf("/f%d", g), pattern(byte(g), 0, size))
		}
	})
	k.sub(t, "WritersOneFile", func(t *testing.T, h *harness) {
		// Writers fill interleaved, disjoint, unaligned chunks of one file through their own
		// handles; readers read meanwhile.
		const writers, chunks, chunk = 4, 64, 4097
		ino := h.mkfile("/f")
		want := pattern(12, 0, writers*chunks*chunk)
		var bad errs
		var wg sync.WaitGroup
		var done atomic.Bool
		for g := range writers {
			wg.Go(func() {
				f, err := h.fs.Open(ino, vfs.OpenWrite)
				if err != vfs.ESUCCESS {
					bad.add("Open(/f) = %s", err.Name())
					return
				}
				defer f.Close()
				for i := range chunks {
					off := (i*writers + g) * chunk
					if n, err := f.WriteAt(want[off:off+chunk], int64(off)); n != chunk || err != vfs.ESUCCESS {
						bad.add("WriteAt(/f, off=%d) = (%d, %s)", off, n, err.Name())
						return
					}
				}
			})
		}
		var readers sync.WaitGroup
		readers.Go(func() {
			f, err := h.fs.Open(ino, vfs.OpenRead)
			if err != vfs.ESUCCESS {
				bad.add("Open(/f) = %s", err.Name())
				return
			}
			defer f.Close()
			buf := make([]byte, 3*chunk)
			for !done.Load() {
				for off := int64(0); off < int64(len(want)); off += int64(len(buf)) {
					if _, err := f.ReadAt(buf, off); err != vfs.ESUCCESS {
						bad.add("ReadAt(/f, off=%d) = %s during writes", off, err.Name())
						return
					}
				}
			}
		})
		wg.Wait()
		done.Store(true)
		readers.Wait()
		bad.report(t)
		h.checkContent(ino, "/f", want)
	})
	k.sub(t, "LinkCount", func(t *testing.T, h *harness) {
		if k.opts.NoHardLinks {
			return
		}
		const workers, iters = 4, 200
		ino := h.mkfile("/f")
		root := h.fs.Root()
		var bad errs
		var wg sync.WaitGroup
		for g := range workers {
			wg.Go(func() {
				name := fmt.Sprintf("l%d", g)
				for range iters {
					if err := h.fs.Link(ino, root, name); err != vfs.ESUCCESS {
						bad.add("Link(/f, /%s) = %s", name, err.Name())
						return
					}
					if st, err := h.fs.Stat(ino); err != vfs.ESUCCESS || st.Nlink < 2 || st.Nlink > workers+1 {
						bad.add("Stat(/f).Nlink = %d (%s) with 1 to %d extra links, want 2 to %d", st.Nlink, err.Name(), workers, workers+1)
						return
					}
					if err := h.fs.Remove(root, name, false); err != vfs.ESUCCESS {
						bad.add("Remove(/%s) = %s", name, err.Name())
						return
					}
				}
			})
		}
		wg.Wait()
		bad.report(t)
		h.wantNlink("/f", 1)
	})
}
