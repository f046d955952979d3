package stable_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/internal/etcdtest"
	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/vfs"
)

// appendRecords appends n 64-byte records to /log of f, each followed by a Sync (fsync), and
// returns how many were fsynced (Sync returned success); it stops at the first failure.
// between is called after each fsynced record.
func appendRecords(t *testing.T, f *stable.FS, n int, between func(i int)) int {
	t.Helper()
	ino, _, e := f.Lookup(f.Root(), "log")
	if e == vfs.ENOENT {
		ino, e = f.Create(f.Root(), "log", vfs.TypeRegular, 0o644, "")
	}
	if e != vfs.ESUCCESS {
		t.Fatalf("log: %v", e)
	}
	h, e := f.Open(ino, vfs.OpenWrite)
	if e != vfs.ESUCCESS {
		t.Fatalf("open log: %v", e)
	}
	defer h.Close()
	st, _ := f.Stat(ino)
	next := int(st.Size / 64)
	synced := 0
	for i := range n {
		rec := make([]byte, 64)
		binary.BigEndian.PutUint64(rec, uint64(next+i))
		copy(rec[8:], fmt.Sprintf("record %d", next+i))
		if _, _, e := h.Append(rec); e != vfs.ESUCCESS {
			t.Logf("append %d: %v", next+i, e)
			return synced
		}
		if e := h.Sync(false); e != vfs.ESUCCESS {
			t.Logf("fsync of record %d: %v", next+i, e)
			return synced
		}
		synced++
		between(i)
	}
	return synced
}

// checkRecords checks that /log of the store at url holds at least want whole records, in
// order.
func checkRecords(t *testing.T, url string, want int) {
	t.Helper()
	f, err := stable.Open(url, stable.Options{ReadOnly: true, LockTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ino, _, e := f.Lookup(f.Root(), "log")
	if e != vfs.ESUCCESS {
		t.Fatalf("log: %v", e)
	}
	st, _ := f.Stat(ino)
	h, _ := f.Open(ino, vfs.OpenRead)
	defer h.Close()
	buf := make([]byte, st.Size)
	n, _ := h.ReadAt(buf, 0)
	if n/64 < want {
		t.Fatalf("the log holds %d records, %d were fsynced", n/64, want)
	}
	for i := range n / 64 {
		rec := buf[i*64 : (i+1)*64]
		if got := binary.BigEndian.Uint64(rec); got != uint64(i) || !strings.HasPrefix(string(rec[8:]), fmt.Sprintf("record %d", i)) {
			t.Fatalf("record %d reads %q", i, rec)
		}
	}
	if r, err := f.Fsck(); err != nil || !r.OK() {
		t.Fatalf("fsck: %v %v", err, r)
	}
}

// TestEtcdFaults: a writer appending and fsyncing records loses none of the fsynced ones when
// the cluster's leader is stopped mid-run (the next fsyncs wait for the election), when one
// member is down for the whole run (quorum holds), and when the writer dies without a word
// (a process killed with SIGKILL: its lease expires) and another writer carries on.
func TestEtcdFaults(t *testing.T) {
	c := etcdtest.Start(t)
	url := "etcd://" + strings.Join(c.Endpoints(), ",") + "/faults"
	opts := stable.Options{Etcd: stable.EtcdOptions{LeaseTTL: 3 * time.Second}}
	total := 0

	t.Run("leader", func(t *testing.T) {
		f, err := stable.Open(url, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		stopped := -1
		total += appendRecords(t, f, 40, func(i int) {
			if i == 10 {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				l, err := c.WaitLeader(ctx)
				if err != nil {
					t.Fatal(err)
				}
				c.StopMember(l)
				stopped = l
			}
		})
		if total != 40 {
			t.Errorf("%d of 40 records fsynced across the leader's loss (the rest failed with EIO)", total)
		}
		if err := c.RestartMember(stopped); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("memberDown", func(t *testing.T) {
		c.StopMember(1)
		defer func() {
			if err := c.RestartMember(1); err != nil {
				t.Fatal(err)
			}
		}()
		f, err := stable.Open(url, opts)
		if err != nil {
			t.Fatal(err)
		}
		n := appendRecords(t, f, 30, func(int) {})
		total += n
		if n != 30 {
			t.Errorf("%d of 30 records fsynced with one member down", n)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("writerKilled", func(t *testing.T) {
		// A writer process appends and fsyncs records and is killed (SIGKILL): its lease
		// expires, and another writer (this process, with its own cache) carries on.
		child := exec.Command(os.Args[0], "-test.run=^$")
		child.Env = append(os.Environ(), etcdWriterEnv+"="+url)
		out, err := child.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		child.Stderr = os.Stderr
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
		lines := bufio.NewScanner(out)
		n := 0
		for n < 20 && lines.Scan() {
			if !strings.HasPrefix(lines.Text(), "synced ") {
				t.Fatalf("writer: %s", lines.Text())
			}
			n++
		}
		if err := child.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = child.Wait()
		total += n
		o := opts
		o.LockTimeout = 30 * time.Second
		g, err := stable.Open(url, o)
		if err != nil {
			t.Fatalf("a second writer after the first was killed: %v", err)
		}
		total += appendRecords(t, g, 10, func(int) {})
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
	})
	checkRecords(t, url, total)
}

// etcdWriterEnv names the store URL of a writer child (see TestEtcdFaults/writerKilled).
const etcdWriterEnv = "STABLE_ETCD_WRITER"

// etcdWriterChild appends and fsyncs records to the store at url, saying "synced N" after
// each, until it is killed.
func etcdWriterChild(url string) int {
	f, err := stable.Open(url, stable.Options{LockTimeout: 30 * time.Second, Etcd: stable.EtcdOptions{LeaseTTL: 3 * time.Second}})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	ino, _, e := f.Lookup(f.Root(), "log")
	if e != vfs.ESUCCESS {
		fmt.Println("error", e)
		return 1
	}
	h, _ := f.Open(ino, vfs.OpenWrite)
	st, _ := f.Stat(ino)
	for i := int(st.Size / 64); ; i++ {
		rec := make([]byte, 64)
		binary.BigEndian.PutUint64(rec, uint64(i))
		copy(rec[8:], fmt.Sprintf("record %d", i))
		if _, _, e := h.Append(rec); e != vfs.ESUCCESS {
			fmt.Println("error", e)
			return 1
		}
		if e := h.Sync(false); e != vfs.ESUCCESS {
			fmt.Println("error", e)
			return 1
		}
		fmt.Printf("synced %d\n", i)
	}
}
