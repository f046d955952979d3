package etcdkv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
)

// pauseChildEnv names the store URL a paused-writer child opens (see TestPausedWriterFenced).
const pauseChildEnv = "ETCDKV_PAUSE_CHILD"

// pauseChild is the writer the test pauses: it commits a1, says so, waits for a line on
// stdin, tries to commit a2 and says how that went.
func pauseChild(url string) int {
	eps, name, err := ParseURL(url)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	s, err := Open(Config{Endpoints: eps, Name: name, Buckets: testBuckets, LeaseTTL: 2 * time.Second, Holder: "child"})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	if err := s.Update(func(w kv.Writer) error { return w.Put(0, []byte("first"), []byte("a1")) }); err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("committed")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	err = s.Update(func(w kv.Writer) error {
		if err := w.Put(0, []byte("first"), []byte("a2")); err != nil {
			return err
		}
		return w.Put(0, []byte("second"), []byte("a2"))
	})
	switch {
	case errors.Is(err, ErrFenced):
		fmt.Println("fenced")
	case err == nil:
		fmt.Println("committed again")
	default:
		fmt.Println("error", err)
	}
	_ = s.Close()
	return 0
}

// TestPausedWriterFenced: a writer process stopped (SIGSTOP) past its lease's TTL loses the
// store to a second writer, and once continued (SIGCONT) cannot commit: the store holds what
// the first committed before and what the second committed, nothing of the first after.
func TestPausedWriterFenced(t *testing.T) {
	name := storeName(t)
	url := URL(cluster.Endpoints(), name)
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), pauseChildEnv+"="+url)
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = child.Process.Signal(syscall.SIGCONT)
		_ = child.Process.Kill()
		_ = child.Wait()
	})
	lines := bufio.NewScanner(stdout)
	next := func() string {
		if !lines.Scan() {
			t.Fatalf("child ended: %v", lines.Err())
		}
		return lines.Text()
	}
	if l := next(); l != "committed" {
		t.Fatalf("child: %s", l)
	}
	if err := child.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// Wait for the cluster to expire the stopped writer's lease: its lock key goes.
	cli := cluster.Client(t)
	lockKey := name + "\x00" + kLock
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		resp, err := cli.Get(ctx, lockKey, clientv3.WithCountOnly())
		if err != nil {
			t.Fatalf("waiting for the lease to expire: %v", err)
		}
		if resp.Count == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cfg := testConfig(t, name)
	b := openTest(t, cfg)
	if err := b.Update(func(w kv.Writer) error { return w.Put(0, []byte("second"), []byte("b1")) }); err != nil {
		t.Fatal(err)
	}
	if err := child.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintln(stdin, "go"); err != nil {
		t.Fatal(err)
	}
	if l := next(); l != "fenced" {
		t.Fatalf("the continued writer's commit: %s, want fenced", l)
	}
	got := dump(t, b)
	want := map[kv.Bucket]map[string]string{0: {"first": "a1", "second": "b1"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("store: %q, want %q", got, want)
	}
}
