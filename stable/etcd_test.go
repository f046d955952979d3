package stable_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/internal/etcdtest"
	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/vfstest"
)

// The package's etcd cluster, started by the first test that needs one and stopped by TestMain.
var (
	etcdOnce    sync.Once
	etcdCluster *etcdtest.Cluster
	etcdStop    func()
	etcdErr     error
	etcdSeq     atomic.Int64
)

func TestMain(m *testing.M) {
	if url := os.Getenv(etcdWriterEnv); url != "" {
		os.Exit(etcdWriterChild(url))
	}
	code := m.Run()
	if etcdStop != nil {
		etcdStop()
	}
	os.Exit(code)
}

// etcdURL returns the URL of a new store in the package's cluster.
func etcdURL(t *testing.T) string {
	t.Helper()
	etcdOnce.Do(func() { etcdCluster, etcdStop, etcdErr = etcdtest.StartMain() })
	if etcdErr != nil {
		t.Fatalf("etcd cluster: %v", etcdErr)
	}
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	return fmt.Sprintf("etcd://%s/%s-%d", strings.Join(etcdCluster.Endpoints(), ","), name, etcdSeq.Add(1))
}

// newEtcdStable opens a fresh store in the cluster for one subtest of the conformance kit;
// when the subtest ends it commits, checks the store with Fsck and closes it.
func newEtcdStable(opts stable.Options) func(t *testing.T) vfs.FS {
	return func(t *testing.T) vfs.FS {
		f, err := stable.Open(etcdURL(t), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if e := f.Commit(); e != vfs.ESUCCESS {
				t.Errorf("commit: %v", e)
			}
			if r, err := f.Fsck(); err != nil || !r.OK() {
				t.Errorf("fsck after the test: %v %v", err, r)
			}
			if err := f.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
		return f
	}
}

// TestVFSEtcd runs the conformance kit on stores in an etcd cluster (three embedded members).
func TestVFSEtcd(t *testing.T) {
	opts := stable.Options{}
	vfstest.Run(t, newEtcdStable(opts), vfstest.Options{
		NewLimitedFS: func(t *testing.T, maxBytes int64) vfs.FS {
			o := opts
			o.QuotaBytes = maxBytes
			return newEtcdStable(o)(t)
		},
		// The read-only mode: a store filled, closed and opened again with Options.ReadOnly.
		NewReadOnlyFS: func(t *testing.T, fill func(vfs.FS)) vfs.FS {
			url := etcdURL(t)
			w, err := stable.Open(url, opts)
			if err != nil {
				t.Fatal(err)
			}
			fill(w)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			r, err := stable.Open(url, stable.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			return r
		},
	})
}

// TestEtcdStore: a store in etcd keeps its files across a close and a reopen, is locked
// against a second opener with a message naming the holder, and refuses a read-only open of
// a name that holds no store.
func TestEtcdStore(t *testing.T) {
	url := etcdURL(t)
	f, err := stable.Open(url, stable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ino, e := f.Create(f.Root(), "hello.txt", vfs.TypeRegular, 0o644, "")
	if e != vfs.ESUCCESS {
		t.Fatalf("create: %v", e)
	}
	fl, e := f.Open(ino, vfs.OpenWrite)
	if e != vfs.ESUCCESS {
		t.Fatalf("open: %v", e)
	}
	if _, e := fl.WriteAt([]byte("hello, etcd"), 0); e != vfs.ESUCCESS {
		t.Fatalf("write: %v", e)
	}
	if e := fl.Sync(false); e != vfs.ESUCCESS {
		t.Fatalf("sync: %v", e)
	}
	_ = fl.Close()
	_, err = stable.Open(url, stable.Options{LockTimeout: -1})
	host, _ := os.Hostname()
	if !errors.Is(err, stable.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("store is in use by %s (pid %d) since ", host, os.Getpid())) {
		t.Fatalf("second open: %v, want ErrLocked naming this process", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	g, err := stable.Open(url, stable.Options{ReadOnly: true, LockTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	entIno, _, e := g.Lookup(g.Root(), "hello.txt")
	if e != vfs.ESUCCESS {
		t.Fatalf("lookup after reopen: %v", e)
	}
	fl, e = g.Open(entIno, vfs.OpenRead)
	if e != vfs.ESUCCESS {
		t.Fatalf("open after reopen: %v", e)
	}
	buf := make([]byte, 64)
	n, _ := fl.ReadAt(buf, 0)
	if string(buf[:n]) != "hello, etcd" {
		t.Fatalf("read %q", buf[:n])
	}
	_ = fl.Close()
	if _, err := stable.Open(etcdURL(t), stable.Options{ReadOnly: true}); !errors.Is(err, stable.ErrNotStore) {
		t.Fatalf("read-only open of an empty name: %v, want ErrNotStore", err)
	}
}

// tree describes every entry of f below the root, one line each: path, type, mode, link count,
// size, mtime, symlink target or a hash of the data, and which earlier path is the same inode.
func tree(t *testing.T, f *stable.FS) string {
	t.Helper()
	var b strings.Builder
	seen := map[vfs.Ino]string{}
	var walk func(dir vfs.Ino, path string)
	walk = func(dir vfs.Ino, path string) {
		h, e := f.Open(dir, vfs.OpenRead)
		if e != vfs.ESUCCESS {
			t.Fatalf("open %s: %v", path, e)
		}
		var names []string
		h.ReadDir(0, func(de *vfs.DirEntry) bool {
			if n := string(de.Name); n != "." && n != ".." {
				names = append(names, n)
			}
			return true
		})
		_ = h.Close()
		for _, n := range names {
			ino, typ, e := f.Lookup(dir, n)
			if e != vfs.ESUCCESS {
				t.Fatalf("lookup %s/%s: %v", path, n, e)
			}
			p := path + "/" + n
			st, _ := f.Stat(ino)
			fmt.Fprintf(&b, "%s type=%v mode=%o nlink=%d size=%d mtime=%d", p, typ, st.Mode, st.Nlink, st.Size, st.Mtime)
			if first, ok := seen[ino]; ok {
				fmt.Fprintf(&b, " same-as=%s\n", first)
				continue
			}
			seen[ino] = p
			switch typ {
			case vfs.TypeSymlink:
				target, _ := f.Readlink(ino)
				fmt.Fprintf(&b, " target=%q", target)
			case vfs.TypeRegular:
				fl, _ := f.Open(ino, vfs.OpenRead)
				buf := make([]byte, st.Size)
				n, _ := fl.ReadAt(buf, 0)
				_ = fl.Close()
				sum := 0
				for i, c := range buf[:n] {
					sum += (i + 1) * int(c)
				}
				fmt.Fprintf(&b, " read=%d sum=%d", n, sum)
			}
			b.WriteString("\n")
			if typ == vfs.TypeDir {
				walk(ino, p)
			}
		}
	}
	walk(f.Root(), "")
	return b.String()
}

// TestEtcdMove moves a store from a file into etcd and back with Backup, keeping hard links,
// symlinks, times and holes, and every copy passes fsck.
func TestEtcdMove(t *testing.T) {
	local := filepath.Join(t.TempDir(), "local.store")
	f, err := stable.Open(local, stable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	must := func(e vfs.Errno, what string) {
		t.Helper()
		if e != vfs.ESUCCESS {
			t.Fatalf("%s: %v", what, e)
		}
	}
	d, e := f.Create(f.Root(), "d", vfs.TypeDir, 0o750, "")
	must(e, "mkdir")
	a, e := f.Create(d, "a", vfs.TypeRegular, 0o640, "")
	must(e, "create a")
	h, e := f.Open(a, vfs.OpenWrite)
	must(e, "open a")
	_, e = h.WriteAt([]byte("hello"), 0)
	must(e, "write a")
	_ = h.Close()
	must(f.Link(a, f.Root(), "a2"), "link")
	_, e = f.Create(f.Root(), "s", vfs.TypeSymlink, 0o777, "d/a")
	must(e, "symlink")
	big, e := f.Create(f.Root(), "big", vfs.TypeRegular, 0o600, "")
	must(e, "create big")
	h, _ = f.Open(big, vfs.OpenWrite)
	_, e = h.WriteAt([]byte("x"), 0)
	must(e, "write big")
	_, e = h.WriteAt([]byte("y"), 10<<20)
	must(e, "write big far")
	_ = h.Close()
	must(f.SetAttr(a, &vfs.Attr{Valid: vfs.AttrMtime | vfs.AttrAtime, Mtime: 1e18, Atime: 2e18}), "set times")
	must(f.SetAttr(d, &vfs.Attr{Valid: vfs.AttrMtime, Mtime: 3e18}), "set dir time")
	must(f.Commit(), "commit")
	want := tree(t, f)
	if !strings.Contains(want, "same-as=/d/a") || !strings.Contains(want, `target="d/a"`) || !strings.Contains(want, "mtime=1000000000000000000") {
		t.Fatalf("the tree lacks what the test made:\n%s", want)
	}

	url := etcdURL(t)
	if _, err := f.Backup(url, stable.BackupOptions{}); err != nil {
		t.Fatalf("backup into etcd: %v", err)
	}
	if _, err := f.Backup(url, stable.BackupOptions{}); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("a second backup into the same name: %v, want ErrExist", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	g, err := stable.Open(url, stable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := tree(t, g); got != want {
		t.Fatalf("in etcd:\n%s\nwant:\n%s", got, want)
	}
	if r, err := g.Fsck(); err != nil || !r.OK() {
		t.Fatalf("fsck in etcd: %v %v", err, r)
	}
	back := filepath.Join(t.TempDir(), "back.store")
	if _, err := g.Backup(back, stable.BackupOptions{}); err != nil {
		t.Fatalf("backup out of etcd: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := stable.Open(back, stable.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := tree(t, b); got != want {
		t.Fatalf("back from etcd:\n%s\nwant:\n%s", got, want)
	}
	if r, err := b.Fsck(); err != nil || !r.OK() {
		t.Fatalf("fsck of the copy back: %v %v", err, r)
	}
}
