package stable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
	"github.com/wasmrun/wasmrun/vfs"
)

// TestPersist checks that everything a store holds survives Close and Open: a tree of
// directories, file contents (with holes), renames, hard links, symlinks, modes and times.
func TestPersist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.store")
	f := openT(t, path, Options{NoSync: true})
	mkdirT(t, f, "/a")
	mkdirT(t, f, "/a/b")
	mkdirT(t, f, "/c")
	big := bytes.Repeat([]byte("0123456789"), 10000)
	writeFileT(t, f, "/a/b/big", big)
	writeFileT(t, f, "/a/small", []byte("small"))
	writeFileT(t, f, "/c/tmp", []byte("renamed over"))
	// A sparse file: data, a hole of a megabyte, data.
	sparse := writeFileT(t, f, "/sparse", []byte("head"))
	h, e := f.Open(sparse, vfs.OpenWrite)
	must(t, e, "open sparse")
	_, e = h.WriteAt([]byte("tail"), 1<<20)
	must(t, e, "write tail")
	h.Close()
	// Renames: a file across directories onto an existing one, a directory.
	must(t, f.Rename(mustIno(t, f, "/a"), "small", mustIno(t, f, "/c"), "tmp"), "rename file")
	must(t, f.Rename(mustIno(t, f, "/a"), "b", mustIno(t, f, "/c"), "b2"), "rename dir")
	// A hard link and a symlink.
	must(t, f.Link(mustIno(t, f, "/c/b2/big"), f.Root(), "biglink"), "link")
	_, e = f.Create(f.Root(), "sym", vfs.TypeSymlink, 0o777, "/c/b2/big")
	must(t, e, "symlink")
	// Mode and times.
	ino := mustIno(t, f, "/c/tmp")
	must(t, f.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrMode | vfs.AttrAtime | vfs.AttrMtime,
		Mode: 0o600, Atime: 1e9, Mtime: 2e9}), "setattr")
	stats := map[string]vfs.Stat{}
	for _, p := range []string{"/", "/a", "/c", "/c/b2", "/c/b2/big", "/c/tmp", "/sparse", "/sym", "/biglink"} {
		st, e := f.Stat(mustIno(t, f, p))
		must(t, e, "stat "+p)
		stats[p] = st
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	f = openT(t, path, Options{NoSync: true})
	defer closeChecked(t, f)
	for p, want := range stats {
		ino, e := walk(t, f, p)
		must(t, e, "walk "+p)
		got, e := f.Stat(ino)
		must(t, e, "stat "+p)
		if got != want {
			t.Errorf("stat %s after reopen:\n got %+v\nwant %+v", p, got, want)
		}
	}
	wantFile(t, f, "/c/b2/big", big)
	wantFile(t, f, "/biglink", big)
	wantFile(t, f, "/c/tmp", []byte("small"))
	sp := make([]byte, 1<<20+4)
	copy(sp, "head")
	copy(sp[1<<20:], "tail")
	wantFile(t, f, "/sparse", sp)
	if tg, e := f.Readlink(mustIno(t, f, "/sym")); e != vfs.ESUCCESS || tg != "/c/b2/big" {
		t.Errorf("readlink = %q, %v", tg, e)
	}
	if got := listT(t, f, "/a"); len(got) != 0 {
		t.Errorf("/a = %v, want empty", got)
	}
	if st := stats["/c/b2/big"]; st.Nlink != 2 {
		t.Errorf("nlink of a linked file = %d", st.Nlink)
	}
	r := checkFsck(t, f)
	// "head" and "tail" take one page each, the hole between them is not stored; "small" one.
	if r.Pages != 3+int64(len(big)+DefaultPageSize-1)/DefaultPageSize {
		t.Errorf("pages stored = %d", r.Pages)
	}
}

func mustIno(t testing.TB, f vfs.FS, p string) vfs.Ino {
	t.Helper()
	ino, e := walk(t, f, p)
	must(t, e, "walk "+p)
	return ino
}

// TestCrashLosesOnlyUncommitted checks that a crash keeps exactly the committed state.
func TestCrashLosesOnlyUncommitted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.store")
	f := openT(t, path, Options{CommitInterval: -1})
	writeFileT(t, f, "/kept", []byte("committed"))
	mkdirT(t, f, "/dir")
	must(t, f.Commit(), "commit")
	writeFileT(t, f, "/lost", []byte("not committed"))
	writeFileT(t, f, "/kept", []byte("overwritten, not committed"))
	must(t, f.Rename(f.Root(), "dir", f.Root(), "dir2"), "rename")
	crash(t, f)

	f = openT(t, path, Options{})
	defer closeChecked(t, f)
	wantFile(t, f, "/kept", []byte("committed"))
	if _, e := walk(t, f, "/lost"); e != vfs.ENOENT {
		t.Errorf("uncommitted file: %v, want ENOENT", e)
	}
	if _, e := walk(t, f, "/dir"); e != vfs.ESUCCESS {
		t.Errorf("committed dir: %v", e)
	}
	if _, e := walk(t, f, "/dir2"); e != vfs.ENOENT {
		t.Errorf("uncommitted rename: %v, want ENOENT", e)
	}
}

// TestSyncIsDurable checks that File.Sync commits: after Sync and a crash the data is there.
func TestSyncIsDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.store")
	f := openT(t, path, Options{CommitInterval: -1})
	ino := writeFileT(t, f, "/f", []byte("synced"))
	h, e := f.Open(ino, vfs.OpenWrite)
	must(t, e, "open")
	must(t, h.Sync(true), "sync")
	before := f.Stats().Commits
	must(t, h.Sync(false), "sync with nothing dirty")
	if got := f.Stats().Commits; got != before {
		t.Errorf("a Sync with nothing dirty committed (%d commits, want %d)", got, before)
	}
	crash(t, f)
	f = openT(t, path, Options{})
	defer closeChecked(t, f)
	wantFile(t, f, "/f", []byte("synced"))
}

// TestOrphans checks unlink-while-open: the data stays readable through the open File, its
// space is reclaimed at the last close, and after a crash on the next Open.
func TestOrphans(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.store")
	f := openT(t, path, Options{CommitInterval: -1})
	data := bytes.Repeat([]byte("orphan"), 5000)
	ino := writeFileT(t, f, "/o", data)
	writeFileT(t, f, "/p", data)
	must(t, f.Commit(), "commit")
	h, e := f.Open(ino, vfs.OpenRead|vfs.OpenWrite)
	must(t, e, "open")
	must(t, f.Remove(f.Root(), "o", false), "unlink")
	must(t, f.Commit(), "commit")
	r := checkFsck(t, f)
	if r.Orphans != 1 {
		t.Errorf("orphans = %d, want 1", r.Orphans)
	}
	buf := make([]byte, len(data))
	if n, e := h.ReadAt(buf, 0); e != vfs.ESUCCESS || !bytes.Equal(buf[:n], data) {
		t.Errorf("reading the unlinked file: %d, %v", n, e)
	}
	if st, e := f.Stat(ino); e != vfs.ESUCCESS || st.Nlink != 0 {
		t.Errorf("stat of the unlinked file: %+v, %v", st, e)
	}
	// Unlink /p while open too, then close it: reclaimed at once.
	pino := mustIno(t, f, "/p")
	h2, e := f.Open(pino, vfs.OpenRead)
	must(t, e, "open p")
	must(t, f.Remove(f.Root(), "p", false), "unlink p")
	must(t, h2.Close(), "close p")
	if _, e := f.Stat(pino); e != vfs.ENOENT {
		t.Errorf("stat after last close = %v, want ENOENT", e)
	}
	must(t, f.Commit(), "commit")
	if r := checkFsck(t, f); r.Orphans != 1 || r.Files != 1 {
		t.Errorf("after closing p: %v", r)
	}
	crash(t, f) // /o is still open: the crash leaves it on the orphan list

	f = openT(t, path, Options{})
	defer closeChecked(t, f)
	r = checkFsck(t, f)
	if r.Orphans != 0 || r.Files != 0 || r.Pages != 0 || r.Bytes != 0 {
		t.Errorf("after reopen: %v, want no orphan, file or page", r)
	}
	if _, e := f.Stat(ino); e != vfs.ENOENT {
		t.Errorf("stat of the reclaimed orphan = %v, want ENOENT", e)
	}
	if u := f.Usage(); u.Inodes != 1 || u.Bytes != 0 {
		t.Errorf("usage = %+v", u)
	}
}

// TestGroupCommit checks that concurrent Syncs share commits and that each Sync costs at most
// one commit of its own.
func TestGroupCommit(t *testing.T) {
	f := newT(t, Options{CommitInterval: -1})
	const workers, rounds = 16, 20
	var files []vfs.File
	for i := range workers {
		ino := writeFileT(t, f, "/w"+string(rune('a'+i)), nil)
		h, e := f.Open(ino, vfs.OpenWrite)
		must(t, e, "open")
		files = append(files, h)
	}
	before := f.Stats().Commits
	var wg sync.WaitGroup
	for i, h := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				if _, e := h.WriteAt([]byte{byte(r)}, int64(r)); e != vfs.ESUCCESS {
					t.Errorf("write: %v", e)
				}
				if e := h.Sync(true); e != vfs.ESUCCESS {
					t.Errorf("worker %d sync: %v", i, e)
				}
			}
		}()
	}
	wg.Wait()
	commits := f.Stats().Commits - before
	t.Logf("%d syncs took %d commits", workers*rounds, commits)
	if commits > workers*rounds {
		t.Errorf("%d syncs took %d commits, want at most one each", workers*rounds, commits)
	}
	for _, h := range files {
		h.Close()
	}
}

// TestCommitTriggers checks the commits that come with no call: when the dirty pages reach a
// quarter of the cache, when the oldest change is CommitInterval old, and on Close.
func TestCommitTriggers(t *testing.T) {
	t.Run("dirty bytes", func(t *testing.T) {
		f := newT(t, Options{CommitInterval: -1, CacheBytes: 1 << 20, NoSync: true})
		ino := writeFileT(t, f, "/f", nil)
		h, _ := f.Open(ino, vfs.OpenWrite)
		defer h.Close()
		buf := make([]byte, 64<<10)
		for i := range buf {
			buf[i] = byte(i)
		}
		for i := range 64 { // 4 MiB through a 1 MiB cache
			if _, e := h.WriteAt(buf, int64(i*len(buf))); e != vfs.ESUCCESS {
				t.Fatal(e)
			}
		}
		f.mu.Lock()
		for f.commit.committing {
			f.cond.Wait()
		}
		f.mu.Unlock()
		if st := f.Stats(); st.Commits < 3 || st.SizeCommits != st.Commits {
			t.Errorf("%d commits (%d for size) while writing 4 MiB through a 1 MiB cache, want 3 or more, all for size", st.Commits, st.SizeCommits)
		}
		f.mu.Lock()
		dirty := f.pc.dirtyBytes
		f.mu.Unlock()
		if dirty > 1<<20 {
			t.Errorf("%d bytes dirty, want at most CacheBytes", dirty)
		}
	})
	t.Run("age", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "a.store")
		f := openT(t, path, Options{CommitInterval: 20 * time.Millisecond, NoSync: true})
		writeFileT(t, f, "/f", []byte("background"))
		deadline := time.Now().Add(5 * time.Second)
		for f.Stats().Commits == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if st := f.Stats(); st.AgeCommits != st.Commits || st.Commits == 0 {
			t.Errorf("%d commits, %d for age; want them all for age", st.Commits, st.AgeCommits)
		}
		crash(t, f)
		f = openT(t, path, Options{})
		defer closeChecked(t, f)
		wantFile(t, f, "/f", []byte("background"))
	})
	t.Run("close", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "c.store")
		f := openT(t, path, Options{CommitInterval: -1})
		writeFileT(t, f, "/f", []byte("closed"))
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if b := f.BackendStats(); b["commits_explicit"] != 1 {
			t.Errorf("after Close: %v, want one explicit commit", b)
		}
		f = openT(t, path, Options{})
		defer closeChecked(t, f)
		wantFile(t, f, "/f", []byte("closed"))
	})
}

// TestOpenErrors checks the errors of Open on files that are not usable stores: each names
// the file, none panics, none changes the file.
func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.store")
	f := openT(t, good, Options{NoSync: true})
	writeFileT(t, f, "/f", bytes.Repeat([]byte("data"), 100000))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	goodBytes, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	used := usedLen(goodBytes)

	variant := func(name string, change func(b []byte) []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, change(bytes.Clone(goodBytes)), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bbolt := filepath.Join(dir, "other.bbolt")
	// A bbolt file without a stable superblock: make a store and delete its superblock.
	func() {
		f := openT(t, bbolt, Options{NoSync: true})
		f.Close()
		s, err := openRaw(bbolt)
		if err != nil {
			t.Fatal(err)
		}
		rawUpdate(t, s, func(w rawWriter) {
			for _, k := range superKeys {
				w.del(bSuper, k)
			}
		})
	}()
	newer := filepath.Join(dir, "newer.store")
	func() {
		f := openT(t, newer, Options{NoSync: true})
		f.Close()
		s, err := openRaw(newer)
		if err != nil {
			t.Fatal(err)
		}
		rawUpdate(t, s, func(w rawWriter) { w.put(bSuper, keyVersion, []byte{0, 0, 0, formatVersion + 1}) })
	}()
	older := filepath.Join(dir, "older.store")
	func() {
		f := openT(t, older, Options{NoSync: true})
		f.Close()
		s, err := openRaw(older)
		if err != nil {
			t.Fatal(err)
		}
		rawUpdate(t, s, func(w rawWriter) { w.put(bSuper, keyVersion, []byte{0, 0, 0, minFormatVersion - 1}) })
	}()
	psize := os.Getpagesize()
	for _, tc := range []struct {
		name string
		path string
		want error
	}{
		{"text file", variant("text.store", func([]byte) []byte { return []byte(strings.Repeat("hello\n", 2000)) }), ErrNotStore},
		{"short text file", variant("short.store", func([]byte) []byte { return []byte("hello\n") }), ErrNotStore},
		{"empty file", variant("empty.store", func([]byte) []byte { return nil }), ErrNotStore},
		{"directory", dir, ErrNotStore},
		{"zeroed header", variant("zeroed.store", func(b []byte) []byte { clear(b[:2*boltPageSize(DefaultPageSize)]); return b }), ErrNotStore},
		{"garbage header", variant("garbage.store", func(b []byte) []byte {
			for i := range 2 * boltPageSize(DefaultPageSize) {
				b[i] = byte(i*7 + 3)
			}
			return b
		}), ErrNotStore},
		{"truncated", variant("truncated.store", func(b []byte) []byte { return b[:used/3] }), ErrCorrupt},
		{"truncated to a page", variant("page.store", func(b []byte) []byte { return b[:psize] }), ErrCorrupt},
		{"garbage body", variant("body.store", func(b []byte) []byte {
			for i := 2 * boltPageSize(DefaultPageSize); i < used; i++ {
				b[i] = byte(i*13 + 1)
			}
			return b
		}), ErrCorrupt},
		{"garbage root page", variant("root.store", garbleRoot), ErrCorrupt},
		{"no superblock", bbolt, ErrNotStore},
		{"newer format", newer, ErrNewerFormat},
		{"older format", older, ErrOlderFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before []byte
			if st, err := os.Stat(tc.path); err == nil && !st.IsDir() {
				before, _ = os.ReadFile(tc.path)
			}
			f, err := Open(tc.path, Options{LockTimeout: -1})
			if err == nil {
				// Some damage is only found when reading: it must then be an error, not a panic.
				defer f.Close()
				r, ferr := f.Fsck()
				if ferr == nil && r.OK() {
					t.Fatalf("Open and Fsck of a damaged store succeeded")
				}
				t.Logf("opened; fsck: %v %v", ferr, r)
				return
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("Open = %v, want %v", err, tc.want)
			}
			var pe *fs.PathError
			if !errors.As(err, &pe) || pe.Path != tc.path || !strings.Contains(err.Error(), tc.path) {
				t.Errorf("error %q does not name the file %s", err, tc.path)
			}
			if before != nil {
				after, _ := os.ReadFile(tc.path)
				if !bytes.Equal(before, after) {
					t.Errorf("Open changed the file")
				}
			}
		})
	}
}

// TestLocked checks that a second Open of a store in use fails with ErrLocked after
// LockTimeout, and succeeds once the first FS is closed.
func TestLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.store")
	f := openT(t, path, Options{})
	start := time.Now()
	_, err := Open(path, Options{LockTimeout: 100 * time.Millisecond})
	took := time.Since(start)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path+": store is in use by another process") {
		t.Errorf("second Open = %v, want %q", err, "open "+path+": store is in use by another process")
	}
	if took < 50*time.Millisecond || took > 2*time.Second {
		t.Errorf("second Open gave up after %v, want about 100ms", took)
	}
	if _, err := Open(path, Options{ReadOnly: true, LockTimeout: -1}); !errors.Is(err, ErrLocked) {
		t.Errorf("read-only Open of a store open for writing = %v, want ErrLocked", err)
	}
	f.Close()
	f = openT(t, path, Options{})
	f.Close()
}

// TestReadOnly checks a store opened read-only: readable, every change EROFS, and two readers
// at once.
func TestReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.store")
	f := openT(t, path, Options{})
	writeFileT(t, f, "/f", []byte("read only"))
	f.Close()
	if _, err := Open(filepath.Join(t.TempDir(), "missing"), Options{ReadOnly: true}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("read-only Open of a missing store = %v, want ErrNotExist", err)
	}
	r1 := openT(t, path, Options{ReadOnly: true})
	defer r1.Close()
	r2 := openT(t, path, Options{ReadOnly: true})
	defer r2.Close()
	wantFile(t, r1, "/f", []byte("read only"))
	ino := mustIno(t, r2, "/f")
	if _, e := r2.Open(ino, vfs.OpenWrite); e != vfs.EROFS {
		t.Errorf("Open for writing = %v, want EROFS", e)
	}
	if _, e := r2.Create(r2.Root(), "x", vfs.TypeRegular, 0o644, ""); e != vfs.EROFS {
		t.Errorf("Create = %v, want EROFS", e)
	}
	for name, e := range map[string]vfs.Errno{
		"remove": r2.Remove(r2.Root(), "f", false),
		"rename": r2.Rename(r2.Root(), "f", r2.Root(), "g"),
		"link":   r2.Link(ino, r2.Root(), "g"),
		"attr":   r2.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize}),
	} {
		if e != vfs.EROFS {
			t.Errorf("%s = %v, want EROFS", name, e)
		}
	}
	if r, err := r2.Fsck(); err != nil || !r.OK() {
		t.Errorf("fsck: %v %v", r, err)
	}
}

// TestQuota checks Options.QuotaBytes.
func TestQuota(t *testing.T) {
	f := newT(t, Options{QuotaBytes: 10000})
	ino := writeFileT(t, f, "/f", make([]byte, 6000))
	h, _ := f.Open(ino, vfs.OpenWrite)
	defer h.Close()
	if _, e := h.WriteAt(make([]byte, 5000), 6000); e != vfs.ENOSPC {
		t.Errorf("write past the quota = %v, want ENOSPC", e)
	}
	if e := f.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: 20000}); e != vfs.ENOSPC {
		t.Errorf("truncate past the quota = %v, want ENOSPC", e)
	}
	if _, e := h.WriteAt(make([]byte, 4000), 6000); e != vfs.ESUCCESS {
		t.Errorf("write up to the quota = %v", e)
	}
	if u := f.Usage(); u.Bytes != 10000 || u.LimitBytes != 10000 {
		t.Errorf("usage = %+v", u)
	}
}

// TestDamagedPages damages the inside of a store (not its header) and checks that reading it
// gives EIO or the right data, never a panic or wrong data, and that Fsck reports the damage.
func TestDamagedPages(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.store")
	f := openT(t, good, Options{NoSync: true})
	var want [][]byte
	for i := range 40 {
		data := bytes.Repeat([]byte{byte('a' + i%26)}, 20000+i*1000)
		writeFileT(t, f, "/f"+strings.Repeat("x", i), data)
		want = append(want, data)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	detected := 0
	defer func() {
		if detected == 0 {
			t.Errorf("no damage was detected anywhere")
		}
	}()
	for _, frac := range []int{2, 3, 4, 5, 6, 7, 8, 9} { // damage the page at frac/10 of the file
		t.Run(strings.Repeat("I", frac), func(t *testing.T) {
			d := bytes.Clone(b)
			bp := boltPageSize(DefaultPageSize)
			at := usedLen(d) * frac / 10 / bp * bp
			for i := at; i < at+bp && i < len(d); i++ {
				d[i] = byte(i*31 + 7)
			}
			p := filepath.Join(dir, "damaged.store")
			if err := os.WriteFile(p, d, 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := Open(p, Options{NoSync: true})
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Open = %v, want ErrCorrupt or success", err)
				}
				detected++
				return
			}
			defer f.Close()
			eio := 0
			for i, data := range want {
				name := "f" + strings.Repeat("x", i)
				ino, _, e := f.Lookup(f.Root(), name)
				if e != vfs.ESUCCESS {
					if e != vfs.EIO && e != vfs.ENOENT {
						t.Errorf("lookup %s: %v", name, e)
					}
					eio++
					continue
				}
				h, e := f.Open(ino, vfs.OpenRead)
				if e != vfs.ESUCCESS {
					eio++
					continue
				}
				buf := make([]byte, len(data))
				n, e := h.ReadAt(buf, 0)
				h.Close()
				switch {
				case e == vfs.EIO:
					eio++
				case e != vfs.ESUCCESS:
					t.Errorf("read %s: %v", name, e)
				case !bytes.Equal(buf[:n], data):
					t.Errorf("read %s: wrong data and no error", name)
				}
			}
			r, err := f.Fsck()
			t.Logf("%d files unreadable; fsck: %v %v", eio, err, r)
			switch {
			case err != nil || !r.OK():
				detected++
			case eio > 0:
				t.Errorf("fsck found nothing wrong in a store with unreadable files")
			default:
				// The damage hit free pages: every file read back right.
			}
		})
	}
}

// usedLen returns the length of b without its trailing zeros: the part of a store file bbolt
// has written (it grows the file ahead of its use).
func usedLen(b []byte) int { return len(trimZeros(b)) }

// garbleRoot overwrites the page of the root bucket (the page that names every bucket) that
// both of bbolt's meta pages point to with garbage: the file opens, and the first transaction
// that reads a bucket fails.
func garbleRoot(b []byte) []byte {
	// A bbolt meta page: a 16-byte page header, then magic, version, page size and flags
	// (4 bytes each), then the root bucket's page id.
	ps := int(binary.LittleEndian.Uint32(b[16+8:]))
	for _, meta := range []int{0, ps} {
		root := int(binary.LittleEndian.Uint64(b[meta+32:]))
		for i := root * ps; i < (root+1)*ps && i < len(b); i++ {
			b[i] = byte(i*31 + 7)
		}
	}
	return b
}

// TestNewStoreSize: a new, empty store is small on disk and in apparent size (bbolt alone
// would grow it by 16 MiB at its first commit), and a store grows in steps of an eighth of its
// size: a file of 1 MiB leaves at most 1 MiB (the smallest step) unused at the end.
func TestNewStoreSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.store")
	f := openT(t, path, Options{})
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	disk := st.Sys().(*syscall.Stat_t).Blocks * 512
	t.Logf("new store: %d bytes, %d on disk", st.Size(), disk)
	if st.Size() > 2<<20 || disk > 1<<20 {
		t.Errorf("new store: %d bytes, %d on disk; want at most 2 MiB and 1 MiB", st.Size(), disk)
	}
	f = openT(t, path, Options{NoSync: true})
	writeFileT(t, f, "/f", bytes.Repeat([]byte("x"), 1<<20))
	closeChecked(t, f)
	if st, err = os.Stat(path); err != nil {
		t.Fatal(err)
	}
	if st.Size() > 4<<20 {
		t.Errorf("store with 1 MiB of data: %d bytes, want at most 4 MiB", st.Size())
	}
}

// TestSpareBuffers: page buffers freed by a deletion are kept for reuse within the room dirty
// pages leave in the cache, and trimmed to a quarter of the cache once nothing was written for
// CommitInterval.
func TestSpareBuffers(t *testing.T) {
	const cache = 4 << 20
	f := newT(t, Options{PageSize: 4096, CacheBytes: cache, CommitInterval: 20 * time.Millisecond, NoSync: true})
	spare := func() (spare, dirty int64) {
		f.mu.Lock()
		defer f.mu.Unlock()
		return int64(len(f.pc.free)) * f.ps, f.pc.dirtyBytes + f.pc.flightBytes
	}
	writeFileT(t, f, "/f", bytes.Repeat([]byte("x"), 3<<20))
	must(t, f.Commit(), "commit")
	must(t, f.Remove(f.Root(), "f", false), "remove")
	if s, d := spare(); s <= cache/4 || s+d > cache {
		t.Errorf("after deleting a 3 MiB file: %d bytes of spare buffers, %d dirty; want more than a quarter of the %d-byte cache, and both within it", s, d, cache)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s, _ := spare(); s > cache/4 && time.Now().Before(deadline); s, _ = spare() {
		time.Sleep(5 * time.Millisecond)
	}
	if s, _ := spare(); s > cache/4 {
		t.Errorf("%d bytes of spare buffers after the store was idle, want at most a quarter of the cache", s)
	}
}

// TestUpgradeVersion2 opens a store of format version 2 (no write-ahead log): read-only, it is
// left as it is; read-write, its data is kept and its version becomes 3 before any commit, so
// that a program reading only version 2 refuses it.
func TestUpgradeVersion2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v2.store")
	f := openT(t, path, Options{NoSync: true})
	writeFileT(t, f, "/keep", []byte("version 2 data"))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := openRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	rawUpdate(t, s, func(w rawWriter) { w.put(bSuper, keyVersion, []byte{0, 0, 0, 2}) })
	version := func() uint32 {
		t.Helper()
		s, err := openRaw(path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var v uint32
		if err := s.View(func(r kv.Reader) error { v = binary.BigEndian.Uint32(r.Get(bSuper, keyVersion)); return nil }); err != nil {
			t.Fatal(err)
		}
		return v
	}

	ro := openT(t, path, Options{ReadOnly: true})
	if got := string(readFileT(t, ro, "/keep")); got != "version 2 data" {
		t.Errorf("read-only: /keep = %q", got)
	}
	ro.Close()
	if v := version(); v != 2 {
		t.Fatalf("after a read-only open: version %d, want 2 (untouched)", v)
	}

	rw := openT(t, path, Options{NoSync: true})
	if got := string(readFileT(t, rw, "/keep")); got != "version 2 data" {
		t.Errorf("read-write: /keep = %q", got)
	}
	rw.Close()
	if v := version(); v != formatVersion {
		t.Fatalf("after a read-write open: version %d, want %d", v, formatVersion)
	}
}
