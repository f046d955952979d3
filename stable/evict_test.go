package stable

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

// WithMaxMeta returns opts with the metadata cache bounded to n inodes and n names, for the
// tests of package stable_test.
func WithMaxMeta(opts Options, n int) Options {
	opts.maxMeta = n
	return opts
}

// metaCounts returns the number of cached inodes and names.
func metaCounts(f *FS) (inodes, names int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.meta.inodes), f.dir.names.Len()
}

// TestEvictManyFiles creates many files in a few directories, with hard links and a file kept
// open while unlinked, under a metadata bound much smaller than their number: the cached
// inodes and names stay within the bound (plus what one commit's dirty set holds), and every
// file, link, listing and the open orphan read back right, before and after a reopen.
func TestEvictManyFiles(t *testing.T) {
	const (
		bound = 64
		dirs  = 4
		per   = 300 // files per directory
		batch = 50  // files created between commits
	)
	tests := []struct {
		name string
		opts Options
	}{
		{"default-cache", Options{NoSync: true, CommitInterval: -1, maxMeta: bound}},
		{"tiny-cache", Options{NoSync: true, PageSize: 4096, CacheBytes: 1, CommitInterval: 1, maxMeta: bound}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newT(t, tt.opts)
			content := func(d, i int) []byte {
				return bytes.Repeat([]byte(fmt.Sprintf("d%d/f%d;", d, i)), 1+i%7)
			}
			// An unlinked file kept open: its inode is pinned while others come and go.
			orphan := writeFileT(t, f, "/orphan", []byte("still here"))
			oh, e := f.Open(orphan, vfs.OpenRead)
			must(t, e, "open orphan")
			must(t, f.Remove(f.Root(), "orphan", false), "remove orphan")

			peakInodes, peakNames := 0, 0
			for d := range dirs {
				mkdirT(t, f, "/d"+strconv.Itoa(d))
			}
			for d := range dirs {
				for i := range per {
					writeFileT(t, f, fmt.Sprintf("/d%d/f%d", d, i), content(d, i))
					if i%10 == 0 {
						// A hard link in the next directory.
						src, _ := walk(t, f, fmt.Sprintf("/d%d/f%d", d, i))
						dir, _ := walk(t, f, fmt.Sprintf("/d%d", (d+1)%dirs))
						must(t, f.Link(src, dir, fmt.Sprintf("link-d%d-f%d", d, i)), "link")
					}
					if i%batch == batch-1 {
						must(t, f.Commit(), "commit")
					}
					ni, nn := metaCounts(f)
					peakInodes, peakNames = max(peakInodes, ni), max(peakNames, nn)
				}
			}
			// Dirty entries cannot go before their commit: a batch adds about two inodes and
			// three names per file, and the sweep keeps a quarter of slack.
			if limit := bound + bound/4 + 3*batch; peakInodes > limit || peakNames > limit {
				t.Errorf("peak cache: %d inodes, %d names; want at most %d", peakInodes, peakNames, limit)
			}
			st := f.Stats()
			if st.InodesEvicted == 0 || st.NamesEvicted == 0 {
				t.Errorf("nothing evicted: %+v", st)
			}

			check := func(f *FS) {
				t.Helper()
				for d := range dirs {
					names := listT(t, f, "/d"+strconv.Itoa(d))
					links := 0
					for name := range names {
						if len(name) > 5 && name[:5] == "link-" {
							links++
						}
					}
					if want := per + per/10; len(names) != want {
						t.Errorf("/d%d lists %d entries, want %d", d, len(names), want)
					}
					if links != per/10 {
						t.Errorf("/d%d lists %d links, want %d", d, links, per/10)
					}
					for i := 0; i < per; i += 7 {
						wantFile(t, f, fmt.Sprintf("/d%d/f%d", d, i), content(d, i))
					}
					for i := 0; i < per; i += 10 {
						p := fmt.Sprintf("/d%d/link-d%d-f%d", (d+1)%dirs, d, i)
						wantFile(t, f, p, content(d, i))
						ino, _ := walk(t, f, p)
						st, e := f.Stat(ino)
						must(t, e, "stat link")
						if st.Nlink != 2 {
							t.Errorf("%s: nlink %d, want 2", p, st.Nlink)
						}
					}
				}
				// Reads set atimes (dirty inodes): commit, then any operation sweeps.
				must(t, f.Commit(), "commit")
				f.Stat(f.Root())
				ni, nn := metaCounts(f)
				if limit := bound + bound/4 + 8; ni > limit || nn > limit {
					t.Errorf("after reading: %d inodes, %d names cached; want at most %d", ni, nn, limit)
				}
			}
			check(f)
			buf := make([]byte, 32)
			if n, e := oh.ReadAt(buf, 0); e != vfs.ESUCCESS || string(buf[:n]) != "still here" {
				t.Errorf("orphan reads %q, %v", buf[:n], e)
			}
			must(t, oh.Close(), "close orphan")

			// A rename and a removal of evicted entries, then everything again after a reopen.
			must(t, f.Commit(), "commit")
			d0, _ := walk(t, f, "/d0")
			must(t, f.Rename(d0, "f1", d0, "f2"), "rename over")
			must(t, f.Remove(d0, "f3", false), "remove")
			must(t, f.Commit(), "commit")
			if _, e := walk(t, f, "/d0/f3"); e != vfs.ENOENT {
				t.Errorf("removed /d0/f3: %v", e)
			}
			wantFile(t, f, "/d0/f2", content(0, 1))
			path := f.Path()
			closeChecked(t, f)
			g := openT(t, path, tt.opts)
			defer closeChecked(t, g)
			wantFile(t, g, "/d0/f2", content(0, 1))
			if _, e := walk(t, g, "/d0/f1"); e != vfs.ENOENT {
				t.Errorf("renamed /d0/f1: %v", e)
			}
			if len(listT(t, g, "/")) != dirs {
				t.Errorf("root lists %v", listT(t, g, "/"))
			}
		})
	}
}

// TestEvictListedDir checks that a directory listed whole and then losing a cached entry to
// eviction looks its names up in the store again: an entry evicted from a listed directory
// must neither vanish from lookups nor from listings.
func TestEvictListedDir(t *testing.T) {
	f := newT(t, Options{NoSync: true, CommitInterval: -1, maxMeta: 8})
	for i := range 40 {
		writeFileT(t, f, "/f"+strconv.Itoa(i), []byte{byte(i)})
	}
	must(t, f.Commit(), "commit")
	for round := range 3 {
		if got := len(listT(t, f, "/")); got != 40 {
			t.Fatalf("round %d: root lists %d entries, want 40", round, got)
		}
		for i := range 40 {
			wantFile(t, f, "/f"+strconv.Itoa(i), []byte{byte(i)})
			if _, e := walk(t, f, "/g"+strconv.Itoa(i)); e != vfs.ENOENT {
				t.Fatalf("round %d: /g%d: %v, want ENOENT", round, i, e)
			}
		}
	}
}

// TestListBigDir lists a directory much bigger than the metadata bound, a few entries per
// ReadDir call as a guest's readdir does, after removing, adding and renaming entries since the
// last commit (so the store and the cache disagree), and checks that each entry comes once, in
// sequence order, and that the listing did not pull the directory into the cache.
func TestListBigDir(t *testing.T) {
	const n = 2000
	f := newT(t, Options{NoSync: true, CommitInterval: -1, maxMeta: 64})
	dir := mkdirT(t, f, "/big")
	for i := range n {
		_, e := f.Create(dir, "f"+strconv.Itoa(i), vfs.TypeRegular, 0o644, "")
		must(t, e, "create")
	}
	must(t, f.Commit(), "commit")
	want := map[string]bool{}
	for i := range n {
		want["f"+strconv.Itoa(i)] = true
	}
	for i := 0; i < n; i += 3 {
		must(t, f.Remove(dir, "f"+strconv.Itoa(i), false), "remove")
		delete(want, "f"+strconv.Itoa(i))
	}
	for i := range 50 {
		_, e := f.Create(dir, "new"+strconv.Itoa(i), vfs.TypeRegular, 0o644, "")
		must(t, e, "create new")
		want["new"+strconv.Itoa(i)] = true
	}
	must(t, f.Rename(dir, "f1", dir, "renamed"), "rename")
	delete(want, "f1")
	want["renamed"] = true
	must(t, f.Rename(dir, "f4", dir, "f5"), "rename over")
	delete(want, "f4")

	for _, chunk := range []int{5, 1000} {
		h, e := f.Open(dir, vfs.OpenRead)
		must(t, e, "open")
		got := map[string]bool{}
		cookie, last := uint64(0), uint64(0)
		for {
			k := 0
			must(t, h.ReadDir(cookie, func(de *vfs.DirEntry) bool {
				if de.Next <= last {
					t.Fatalf("chunk %d: %s at cookie %d after %d", chunk, de.Name, de.Next, last)
				}
				last = de.Next
				if got[string(de.Name)] {
					t.Fatalf("chunk %d: %s listed twice", chunk, de.Name)
				}
				got[string(de.Name)] = true
				cookie = de.Next
				k++
				return k < chunk
			}), "readdir")
			if k < chunk {
				break
			}
		}
		must(t, h.Close(), "close")
		if len(got) != len(want) {
			t.Errorf("chunk %d: listed %d entries, want %d", chunk, len(got), len(want))
		}
		for name := range want {
			if !got[name] {
				t.Errorf("chunk %d: %s not listed", chunk, name)
			}
		}
		must(t, f.Commit(), "commit")
		f.Stat(f.Root())
		if _, nn := metaCounts(f); nn > 64+64/4+8 {
			t.Errorf("chunk %d: %d names cached after the listing", chunk, nn)
		}
	}
}
