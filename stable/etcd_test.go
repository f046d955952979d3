package stable_test

import (
	"errors"
	"fmt"
	"os"
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
