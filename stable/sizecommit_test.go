package stable

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/vfs"
)

// TestSizeCommits checks when the dirty-size bound starts commits (see wantCommitLocked): a
// file written in order is committed in the background once a quarter of the cache is dirty,
// scattered pages once half of it is. After a crash with no Sync, the file written in order is
// one of the states the size commits left: a prefix of what was written, with the size to
// match.
func TestSizeCommits(t *testing.T) {
	const cache = 8 << 20 // pages in runs from 2 MiB, scattered pages from 4 MiB
	opts := Options{CacheBytes: cache, CommitInterval: time.Hour}
	tests := []struct {
		name    string
		pages   []uint64 // page indexes written, in order, one 8 KiB write each
		commits bool     // whether size commits must have started
	}{
		{"sequential-3MiB", seqPages(0, 384), true},
		{"sequential-1MiB", seqPages(0, 128), false},
		{"scattered-3MiB", scatteredPages(384), false},
		{"scattered-6MiB", scatteredPages(768), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "wb.store")
			f := openT(t, path, opts)
			ino := writeFileT(t, f, "/big", nil)
			if tt.pages[0] != 0 || tt.pages[1] != 1 {
				// A file of 2048 pages, committed, to scatter writes over.
				h, e := f.Open(ino, vfs.OpenWrite)
				must(t, e, "open")
				_, e = h.WriteAt(make([]byte, 1), 2048*8192-1)
				must(t, e, "extend")
				h.Close()
				must(t, f.Commit(), "commit")
			}
			before := f.Stats().SizeCommits
			h, e := f.Open(ino, vfs.OpenWrite)
			must(t, e, "open")
			want := []byte(nil)
			for i, idx := range tt.pages {
				buf := bytes.Repeat([]byte{byte(i + 1)}, 8192)
				if _, e := h.WriteAt(buf, int64(idx)*8192); e != vfs.ESUCCESS {
					t.Fatal(e)
				}
				want = append(want, buf...)
			}
			h.Close()
			// Wait for a size commit in flight, without committing.
			f.mu.Lock()
			for f.commit.committing {
				f.cond.Wait()
			}
			f.mu.Unlock()
			got := f.Stats().SizeCommits - before
			if (got > 0) != tt.commits {
				t.Fatalf("%d size commits, want some: %v", got, tt.commits)
			}
			if !tt.commits || tt.pages[1] != 1 {
				closeChecked(t, f)
				return
			}
			crash(t, f)
			f = openT(t, path, opts)
			defer closeChecked(t, f)
			data := readFileT(t, f, "/big")
			if len(data) == 0 || len(data)%8192 != 0 || !bytes.Equal(data, want[:len(data)]) {
				t.Fatalf("after a crash: %d bytes, want a prefix of the %d written, whole pages", len(data), len(want))
			}
			t.Logf("after a crash: %d of %d bytes", len(data), len(want))
		})
	}
}

func seqPages(from, n uint64) []uint64 {
	var p []uint64
	for i := range n {
		p = append(p, from+i)
	}
	return p
}

// scatteredPages returns n distinct page indexes below 2048, none next to the one before.
func scatteredPages(n int) []uint64 {
	var p []uint64
	for i := range n {
		p = append(p, uint64(i*1031)%2048)
	}
	return p
}
