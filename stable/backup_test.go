package stable

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/vfs"
)

// content is the deterministic content of test file i.
func content(i, size int) []byte {
	b := make([]byte, size)
	for j := range b {
		b[j] = byte(i*7 + j/97)
	}
	return b
}

// storeFiles lists the root of the store at path (opened read-only) and checks it with Fsck.
func storeFiles(t *testing.T, path string) (*FS, map[string]vfs.Ino) {
	t.Helper()
	f := openT(t, path, Options{ReadOnly: true})
	t.Cleanup(func() { f.Close() })
	checkFsck(t, f)
	return f, listT(t, f, "/")
}

// TestCompact fills a store, deletes most of it, and compacts it: the file shrinks, keeps its
// page size and permissions, and holds exactly the files that were left. (bbolt grows a file in
// steps of up to 16 MiB, so the sizes are compared with room for one step.)
func TestCompact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.store")
	f := openT(t, path, Options{PageSize: 16 << 10, NoSync: true})
	const n, size = 600, 64 << 10
	for i := range n {
		writeFileT(t, f, fmt.Sprintf("/f%03d", i), content(i, size))
	}
	must(t, f.Commit(), "commit")
	// Close checkpoints the write-ahead log into the file: only then does the file hold the
	// data that the removals below free (removed before a checkpoint, it never reaches it).
	closeChecked(t, f)
	f = openT(t, path, Options{PageSize: 16 << 10, NoSync: true})
	for i := range n {
		if i%10 != 0 {
			must(t, f.Remove(f.Root(), fmt.Sprintf("f%03d", i), false), "remove")
		}
	}
	closeChecked(t, f)
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	var calls []int64
	var total int64
	stats, err := Compact(path, CompactOptions{NoSync: true, Progress: func(done, tot int64) {
		calls = append(calls, done)
		total = tot
	}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if stats.After != st.Size() || stats.After > stats.Before/2 || stats.After > n/10*size+20<<20 {
		t.Errorf("compact: %+v (file now %d bytes): want at most half, and the live data plus 20 MiB", stats, st.Size())
	}
	if st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", st.Mode())
	}
	if len(calls) < 2 || calls[len(calls)-1] != total || total != stats.Before {
		t.Errorf("progress: %d calls, last %v of %d; want the last to reach the old size %d", len(calls), calls[len(calls)-1:], total, stats.Before)
	}
	g, names := storeFiles(t, path)
	if g.PageSize() != 16<<10 {
		t.Errorf("page size %d after compact, want 16K", g.PageSize())
	}
	if len(names) != n/10 {
		t.Errorf("%d files after compact, want %d", len(names), n/10)
	}
	for i := 0; i < n; i += 10 {
		wantFile(t, g, fmt.Sprintf("/f%03d", i), content(i, size))
	}
	if left, _ := filepath.Glob(path + ".*"); len(left) != 0 {
		t.Errorf("left behind: %q", left)
	}
}

// TestCompactLocked: a store another FS has open is not touched.
func TestCompactLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.store")
	f := openT(t, path, Options{NoSync: true})
	defer f.Close()
	writeFileT(t, f, "/x", []byte("x"))
	must(t, f.Commit(), "commit")
	before, _ := os.ReadFile(path)
	if _, err := Compact(path, CompactOptions{LockTimeout: -1}); !errors.Is(err, ErrLocked) {
		t.Errorf("Compact of an open store: %v, want ErrLocked", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the store changed")
	}
	if _, err := Compact(filepath.Join(t.TempDir(), "missing.store"), CompactOptions{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Compact of a missing store: %v, want ErrNotExist", err)
	}
}

// TestBackup covers the destination rules and what a backup holds: the committed state only.
func TestBackup(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "src.store")
	f := openT(t, path, Options{NoSync: true, CommitInterval: -1})
	defer closeChecked(t, f)
	mkdirT(t, f, "/d")
	writeFileT(t, f, "/d/committed", []byte("in the backup"))
	must(t, f.Commit(), "commit")
	writeFileT(t, f, "/d/dirty", []byte("not yet committed"))

	dst := filepath.Join(dir, "b.store")
	size, err := f.Backup(dst, BackupOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(dst); st == nil || st.Size() != size {
		t.Errorf("Backup returned size %d, file is %v", size, st)
	}
	g, _ := storeFiles(t, dst)
	if got := listT(t, g, "/d"); len(got) != 1 || got["committed"] == 0 {
		t.Errorf("backup holds %v, want only the committed file", got)
	}
	wantFile(t, g, "/d/committed", []byte("in the backup"))
	g.Close()

	if _, err := f.Backup(dst, BackupOptions{NoSync: true}); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Backup over an existing file: %v, want ErrExist", err)
	}
	must(t, f.Commit(), "commit")
	if _, err := f.Backup(dst, BackupOptions{NoSync: true, Replace: true}); err != nil {
		t.Fatal(err)
	}
	g, _ = storeFiles(t, dst)
	wantFile(t, g, "/d/dirty", []byte("not yet committed"))
	g.Close()

	for _, bad := range []string{path, dir, filepath.Join(dir, "no-such-dir", "b.store")} {
		if _, err := f.Backup(bad, BackupOptions{Replace: true}); err == nil {
			t.Errorf("Backup to %s succeeded", bad)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.backup-*")); len(left) != 0 {
		t.Errorf("left behind: %q", left)
	}
}

// TestBackupHot takes backups while a writer keeps creating and committing files: each backup
// is one committed state (files f0..fk, each whole), and passes Fsck.
func TestBackupHot(t *testing.T) {
	dir := t.TempDir()
	f := openT(t, filepath.Join(dir, "src.store"), Options{NoSync: true, CommitInterval: -1})
	defer closeChecked(t, f)
	var stop atomic.Bool
	var written atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load() && i < 5000; i++ {
			ino, e := f.Create(f.Root(), fmt.Sprintf("f%04d", i), vfs.TypeRegular, 0o644, "")
			var h vfs.File
			if e == 0 {
				h, e = f.Open(ino, vfs.OpenWrite)
			}
			if e == 0 {
				_, e = h.WriteAt(content(i, 3000+i), 0)
				h.Close()
			}
			if e == 0 {
				e = f.Commit()
			}
			if e != 0 {
				t.Errorf("file %d: %v", i, e)
				return
			}
			written.Store(int64(i + 1))
		}
	}()
	var seen []int
	for b := 0; b < 5; b++ {
		for written.Load() < int64(10*(b+1)) {
			time.Sleep(time.Millisecond)
		}
		dst := filepath.Join(dir, fmt.Sprintf("b%d.store", b))
		if _, err := f.Backup(dst, BackupOptions{NoSync: true}); err != nil {
			t.Fatal(err)
		}
		g, names := storeFiles(t, dst)
		for i := range names {
			var k int
			fmt.Sscanf(i, "f%04d", &k)
			wantFile(t, g, "/"+i, content(k, 3000+k))
		}
		for i := range len(names) {
			if _, ok := names[fmt.Sprintf("f%04d", i)]; !ok {
				t.Errorf("backup %d: %d files but f%04d missing", b, len(names), i)
			}
		}
		g.Close()
		seen = append(seen, len(names))
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("files in the backups: %v", seen)
}

// TestBackupWhileReading: a store opened read-only by one FS can be backed up through another
// read-only FS at the same time (a shared lock), while a writer is kept out.
func TestBackupWhileReading(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "src.store")
	f := openT(t, path, Options{NoSync: true})
	writeFileT(t, f, "/x", []byte("shared"))
	closeChecked(t, f)
	reader := openT(t, path, Options{ReadOnly: true})
	defer reader.Close()
	backer := openT(t, path, Options{ReadOnly: true, LockTimeout: -1})
	defer backer.Close()
	if _, err := backer.Backup(filepath.Join(dir, "b.store"), BackupOptions{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	wantFile(t, reader, "/x", []byte("shared"))
	if w, err := Open(path, Options{LockTimeout: -1}); !errors.Is(err, ErrLocked) {
		if w != nil {
			w.Close()
		}
		t.Errorf("a writer opened a store being read: %v", err)
	}
	g, _ := storeFiles(t, filepath.Join(dir, "b.store"))
	wantFile(t, g, "/x", []byte("shared"))
}

// openFds counts this process's file descriptors open on the file at path.
func openFds(t *testing.T, path string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("listing open files: %v", err)
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && l == path {
			n++
		}
	}
	return n
}

// TestCompactWhileWaiting: an Open that has opened the store file and waits for its lock while
// Compact renames the compacted file over it ends up on the new file, not on the old one, which
// is gone: what it writes is in the store afterwards.
func TestCompactWhileWaiting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.store")
	f := openT(t, path, Options{NoSync: true, CommitInterval: -1})
	writeFileT(t, f, "/before", []byte("before compact"))
	for i := range 50 {
		writeFileT(t, f, fmt.Sprintf("/gone%d", i), content(i, 20000))
	}
	must(t, f.Commit(), "commit")
	for i := range 50 {
		must(t, f.Remove(f.Root(), fmt.Sprintf("gone%d", i), false), "remove")
	}
	must(t, f.Commit(), "commit")
	type result struct {
		g   *FS
		err error
	}
	waiter := make(chan result, 1)
	go func() {
		g, err := Open(path, Options{NoSync: true, LockTimeout: 30 * time.Second})
		waiter <- result{g, err}
	}()
	for deadline := time.Now().Add(10 * time.Second); openFds(t, path) < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the second Open never opened the file")
		}
	}
	// What Compact does once it holds the store: copy, rename over, close.
	if _, err := f.compact(CompactOptions{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	r := <-waiter
	if r.err != nil {
		t.Fatal(r.err)
	}
	writeFileT(t, r.g, "/after", []byte("written after compact"))
	if err := r.g.Close(); err != nil {
		t.Fatal(err)
	}
	g, names := storeFiles(t, path)
	if len(names) != 2 {
		t.Errorf("after compact: %v, want before and after", names)
	}
	wantFile(t, g, "/before", []byte("before compact"))
	wantFile(t, g, "/after", []byte("written after compact"))
}
