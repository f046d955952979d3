package etcdkv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wasmrun/wasmrun/internal/etcdtest"
	"github.com/wasmrun/wasmrun/stable/internal/failpoint"
	"github.com/wasmrun/wasmrun/stable/internal/kv"
	"github.com/wasmrun/wasmrun/stable/internal/kv/kvtest"
)

// cluster is the package's one embedded cluster (TestMain); each test uses its own store names.
var cluster *etcdtest.Cluster

func TestMain(m *testing.M) {
	if url := os.Getenv(pauseChildEnv); url != "" {
		os.Exit(pauseChild(url))
	}
	if os.Getenv("KVTEST_CRASH_CHILD") != "" {
		// A crash child of the kit: it uses its parent's cluster, named in its store's URL.
		os.Exit(m.Run())
	}
	c, stop, err := etcdtest.StartMain()
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcdkv tests: cannot start an etcd cluster:", err)
		os.Exit(1)
	}
	cluster = c
	code := m.Run()
	stop()
	os.Exit(code)
}

var testBuckets = []kv.BucketSpec{{Name: "a"}, {Name: "b"}, {Name: "c"}}

var nameSeq atomic.Int64

// storeName returns a store name no other test uses.
func storeName(t testing.TB) string {
	return fmt.Sprintf("%s-%d", t.Name(), nameSeq.Add(1))
}

func testConfig(t testing.TB, name string) Config {
	return Config{
		Endpoints:   cluster.Endpoints(),
		Name:        name,
		Buckets:     testBuckets,
		LockTimeout: 5 * time.Second,
	}
}

func openTest(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// dump returns the whole state of a store: bucket -> key -> value.
func dump(t testing.TB, s kv.Store) map[kv.Bucket]map[string]string {
	t.Helper()
	out := map[kv.Bucket]map[string]string{}
	err := s.View(func(r kv.Reader) error {
		for b := range testBuckets {
			bk := kv.Bucket(b)
			if !r.Exists(bk) {
				continue
			}
			m := map[string]string{}
			var prev []byte
			err := r.Scan(bk, nil, nil, func(k, v []byte) bool {
				if prev != nil && bytes.Compare(prev, k) >= 0 {
					t.Errorf("bucket %d: scan out of order: %q after %q", b, k, prev)
				}
				prev = bytes.Clone(k)
				m[string(k)] = string(v)
				if got := r.Get(bk, k); !bytes.Equal(got, v) {
					t.Errorf("bucket %d: Get(%q) = %q, Scan gave %q", b, k, got, v)
				}
				return true
			})
			if err != nil {
				return err
			}
			out[bk] = m
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	return out
}

func TestBasics(t *testing.T) {
	s := openTest(t, testConfig(t, storeName(t)))
	err := s.View(func(r kv.Reader) error {
		if r.Exists(0) {
			t.Error("fresh store: bucket exists")
		}
		if v := r.Get(0, []byte("x")); v != nil {
			t.Errorf("fresh store: Get = %q", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(w kv.Writer) error {
		for _, k := range []string{"b", "a", "\xff", "a\x00", "c", "ab"} {
			if err := w.Put(0, []byte(k), []byte("v"+k)); err != nil {
				return err
			}
		}
		if err := w.Put(1, []byte("empty"), nil); err != nil {
			return err
		}
		if v := w.Get(0, []byte("ab")); string(v) != "vab" {
			t.Errorf("own write: Get = %q", v)
		}
		return w.Delete(0, []byte("c"))
	})
	if err != nil {
		t.Fatal(err)
	}
	got := dump(t, s)
	want := map[kv.Bucket]map[string]string{
		0: {"a": "va", "a\x00": "va\x00", "ab": "vab", "b": "vb", "\xff": "v\xff"},
		1: {"empty": ""},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("state:\n got %q\nwant %q", got, want)
	}
	_ = s.View(func(r kv.Reader) error {
		if v := r.Get(1, []byte("empty")); v == nil || len(v) != 0 {
			t.Errorf("empty value: Get = %#v, want empty non-nil", v)
		}
		if r.Exists(2) {
			t.Error("bucket 2 exists")
		}
		var keys []string
		_ = r.Scan(0, []byte("a\x00"), []byte("b"), func(k, _ []byte) bool { keys = append(keys, string(k)); return true })
		if strings.Join(keys, ",") != "a\x00,ab" {
			t.Errorf("Scan [a\\0, b) = %q", keys)
		}
		return nil
	})
	// DeleteRange counts, and a Put after it in the same transaction wins.
	err = s.Update(func(w kv.Writer) error {
		n, err := w.DeleteRange(0, []byte("a"), []byte("b"))
		if err != nil {
			return err
		}
		if n != 3 {
			t.Errorf("DeleteRange [a, b) = %d, want 3", n)
		}
		if err := w.Put(0, []byte("a\x00"), []byte("again")); err != nil {
			return err
		}
		n, err = w.DeleteRange(0, []byte("a"), nil)
		if n != 3 || err != nil {
			t.Errorf("DeleteRange [a, nil) = %d, %v, want 3 (a\\0, b, \\xff)", n, err)
		}
		return w.Put(0, []byte("z"), []byte("vz"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := dump(t, s); fmt.Sprint(got[0]) != fmt.Sprint(map[string]string{"z": "vz"}) {
		t.Fatalf("after DeleteRange: %q", got)
	}
	// An error from fn rolls back.
	boom := errors.New("boom")
	err = s.Update(func(w kv.Writer) error {
		_ = w.Put(2, []byte("k"), []byte("v"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	if got := dump(t, s); got[2] != nil {
		t.Fatalf("rolled back Update left %q", got[2])
	}
}

// TestViewIsolation: a View sees the state it began with while Updates commit.
func TestViewIsolation(t *testing.T) {
	s := openTest(t, testConfig(t, storeName(t)))
	put := func(k, v string) {
		t.Helper()
		if err := s.Update(func(w kv.Writer) error { return w.Put(0, []byte(k), []byte(v)) }); err != nil {
			t.Fatal(err)
		}
	}
	put("k", "1")
	err := s.View(func(r kv.Reader) error {
		put("k", "2")
		put("k2", "x")
		if v := r.Get(0, []byte("k")); string(v) != "1" {
			t.Errorf("View sees %q after a later commit, want 1", v)
		}
		if v := r.Get(0, []byte("k2")); v != nil {
			t.Errorf("View sees a later key: %q", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// bigCommit puts n values of size bytes in bucket 1 keyed by index, each starting with tag.
func bigCommit(w kv.Writer, n, size int, tag string) error {
	for i := range n {
		v := bytes.Repeat([]byte{byte(i)}, size)
		copy(v, tag)
		if err := w.Put(1, fmt.Appendf(nil, "%08d", i), v); err != nil {
			return err
		}
	}
	return nil
}

func checkBig(t *testing.T, s kv.Store, n, size int, tag string) {
	t.Helper()
	count := 0
	err := s.View(func(r kv.Reader) error {
		return r.Scan(1, nil, nil, func(k, v []byte) bool {
			i, _ := strconv.Atoi(string(k))
			if i != count || len(v) != size || !bytes.HasPrefix(v, []byte(tag)) || v[size-1] != byte(i) {
				t.Errorf("key %q: %d bytes starting %q, want #%d of %d bytes starting %q", k, len(v), v[:min(len(v), len(tag))], count, size, tag)
				return false
			}
			count++
			return true
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if count != n {
		t.Fatalf("%d keys, want %d", count, n)
	}
}

// TestLargeCommit: commits past etcd's 128 operations and 1.5 MiB per transaction are atomic
// and leave no staged chunks behind.
func TestLargeCommit(t *testing.T) {
	for _, tc := range []struct {
		n, size int
	}{
		{129, 100},      // too many operations
		{300, 8 << 10},  // 2.4 MiB: 3 chunks
		{3, 1200 << 10}, // values near the request limit, a chunk each
	} {
		t.Run(fmt.Sprintf("%dx%d", tc.n, tc.size), func(t *testing.T) {
			name := storeName(t)
			s := openTest(t, testConfig(t, name))
			if err := s.Update(func(w kv.Writer) error { return bigCommit(w, tc.n, tc.size, "one") }); err != nil {
				t.Fatal(err)
			}
			checkBig(t, s, tc.n, tc.size, "one")
			// Overwrite all and delete a range in one commit.
			err := s.Update(func(w kv.Writer) error {
				if err := bigCommit(w, tc.n, tc.size, "two"); err != nil {
					return err
				}
				_, err := w.DeleteRange(1, fmt.Appendf(nil, "%08d", tc.n/2), nil)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			checkBig(t, s, tc.n/2, tc.size, "two")
			checkClean(t, s)
		})
	}
}

// checkClean fails t if Check reports a problem or the store has staged chunks or a root.
func checkClean(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Check(func(p error) { t.Errorf("Check: %v", p) }); err != nil {
		t.Fatalf("Check: %v", err)
	}
	cli := cluster.Client(t)
	for _, k := range []string{s.key(kStage), s.key(kRoot)} {
		resp, err := cli.Get(context.Background(), k, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		if resp.Count != 0 {
			t.Errorf("%d keys under %q left", resp.Count, k)
		}
	}
}

func TestLocked(t *testing.T) {
	name := storeName(t)
	cfg := testConfig(t, name)
	cfg.Holder = "hostA (pid 1)"
	a := openTest(t, cfg)
	cfg.Holder = "hostB (pid 2)"
	cfg.LockTimeout = 300 * time.Millisecond
	_, err := Open(cfg)
	if !errors.Is(err, kv.ErrLocked) || !strings.Contains(err.Error(), "store is in use by hostA (pid 1) since ") {
		t.Fatalf("second Open: %v, want ErrLocked naming hostA", err)
	}
	cfg.ReadOnly = true
	if _, err := Open(cfg); !errors.Is(err, kv.ErrLocked) {
		t.Fatalf("read-only Open beside a writer: %v, want ErrLocked", err)
	}
	// Once a lets go, a waiting Open gets the store.
	done := make(chan error, 1)
	cfg.ReadOnly = false
	cfg.LockTimeout = 30 * time.Second
	go func() {
		b, err := Open(cfg)
		if err == nil {
			err = b.Close()
		}
		done <- err
	}()
	time.Sleep(100 * time.Millisecond) // not a timing assertion: b must merely wait either way
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Open after the holder closed: %v", err)
	}
}

// TestFenced: a writer whose lease expired (here: revoked, as the cluster does when it
// expires) commits nothing more, even after another writer took the store.
func TestFenced(t *testing.T) {
	name := storeName(t)
	cfg := testConfig(t, name)
	a := openTest(t, cfg)
	if err := a.Update(func(w kv.Writer) error { return w.Put(0, []byte("k"), []byte("a1")) }); err != nil {
		t.Fatal(err)
	}
	cli := cluster.Client(t)
	if _, err := cli.Revoke(context.Background(), a.lease); err != nil {
		t.Fatal(err)
	}
	b := openTest(t, cfg)
	if err := b.Update(func(w kv.Writer) error { return w.Put(0, []byte("k"), []byte("b1")) }); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 3000} { // a small commit and a staged one
		err := a.Update(func(w kv.Writer) error { return bigCommit(w, n, 1000, "a") })
		if !errors.Is(err, ErrFenced) {
			t.Fatalf("fenced writer's Update (%d keys) = %v, want ErrFenced", n, err)
		}
	}
	got := dump(t, b)
	if fmt.Sprint(got) != fmt.Sprint(map[kv.Bucket]map[string]string{0: {"k": "b1"}}) {
		t.Fatalf("store after the fenced writer: %q", got)
	}
	checkClean(t, b)
}

// TestCrashCampaign stops staged commits at each failpoint (staging each chunk, before
// publishing, after publishing, applying each batch, before retiring) as a crash would, and
// checks that the next Open finds exactly the last published state. Seed: ETCDKV_SEED.
func TestCrashCampaign(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("ETCDKV_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("seed %d (ETCDKV_SEED=%d to repeat)", seed, seed)
	defer failpoint.Set(nil)
	rng := rand.New(rand.NewPCG(seed, seed))
	name := storeName(t)
	cfg := testConfig(t, name)
	state := map[string]string{} // the last published state of bucket 1
	steps := failpoint.Etcd
	for round := range 10 {
		step := steps[round%len(steps)]
		at := 0 // which occurrence of step fails (stage and apply happen many times a commit)
		if step == failpoint.EtcdStaged || step == failpoint.EtcdApplied {
			at = rng.IntN(3)
		}
		var seen int
		var armed atomic.Bool // not while Open finishes the last round's commit
		failpoint.Set(func(s failpoint.Name) error {
			if s != step || !armed.Load() {
				return nil
			}
			seen++
			if seen > at {
				return errCrash
			}
			return nil
		})
		s, err := Open(cfg)
		if err != nil {
			t.Fatalf("round %d: Open: %v", round, err)
		}
		armed.Store(true)
		if got := dump(t, s)[1]; fmt.Sprint(got) != fmt.Sprint(state) && !(len(got) == 0 && len(state) == 0) {
			t.Fatalf("round %d: reopened store holds %d keys, want the last published %d", round, len(got), len(state))
		}
		// A staged commit: overwrite some keys, delete some, add some.
		next := map[string]string{}
		for k, v := range state {
			next[k] = v
		}
		n := 150 + rng.IntN(300)
		err = s.Update(func(w kv.Writer) error {
			if rng.IntN(2) == 0 {
				from := fmt.Sprintf("%04d", rng.IntN(600))
				if _, err := w.DeleteRange(1, []byte(from), nil); err != nil {
					return err
				}
				for k := range next {
					if k >= from {
						delete(next, k)
					}
				}
			}
			for range n {
				k := fmt.Sprintf("%04d", rng.IntN(600))
				v := fmt.Sprintf("r%d-%s", round, bytes.Repeat([]byte{'x'}, rng.IntN(4000)))
				if err := w.Put(1, []byte(k), []byte(v)); err != nil {
					return err
				}
				next[k] = v
			}
			return nil
		})
		published := step == failpoint.EtcdPublished || step == failpoint.EtcdApplied || step == failpoint.EtcdRetire
		crashed := seen > at
		switch {
		case crashed && !published && err == nil:
			t.Fatalf("round %d: Update crashed at %s succeeded", round, step)
		case !crashed && err != nil:
			t.Fatalf("round %d: Update: %v", round, err)
		}
		if err == nil {
			state = next
		}
		// The "process" dies: its lease ends (as it would expire), nothing else is cleaned up.
		s.shutdown()
		t.Logf("round %d: crash at %s #%d (reached: %v), Update: %v", round, step, at, crashed, err)
	}
	failpoint.Set(nil)
	s := openTest(t, cfg)
	if got := dump(t, s)[1]; fmt.Sprint(got) != fmt.Sprint(state) {
		t.Fatalf("final store holds %d keys, want %d", len(got), len(state))
	}
	checkClean(t, s)
}

// errCrash is what a failpoint returns to stop a commit as a crash would.
var errCrash = errors.New("crashed at a failpoint")

// TestCompaction: overwritten values do not pile up as old revisions: the store compacts the
// cluster's history behind its commits.
func TestCompaction(t *testing.T) {
	cfg := testConfig(t, storeName(t))
	cfg.CompactRetention = -1
	cfg.CompactBytes = 64 << 10
	s := openTest(t, cfg)
	var first int64
	for i := range 40 {
		if err := s.Update(func(w kv.Writer) error { return w.Put(0, []byte("k"), bytes.Repeat([]byte{byte(i)}, 8<<10)) }); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = s.rev
		}
	}
	cli := cluster.Client(t)
	_, err := cli.Get(context.Background(), s.dataKey(0, []byte("k")), clientv3.WithRev(first))
	if err == nil || !strings.Contains(err.Error(), "compacted") {
		t.Fatalf("read at the first commit's revision after 40 overwrites: %v, want compacted", err)
	}
	// A View still reads (its revision is never compacted under it).
	if got := dump(t, s)[0]["k"]; len(got) != 8<<10 || got[0] != 39 {
		t.Fatalf("value after compaction: %d bytes, first %d", len(got), got[0])
	}
}

// TestReadAfterForeignCompaction: a View whose revision another store compacted away moves to
// a newer revision, its store having not changed.
func TestReadAfterForeignCompaction(t *testing.T) {
	s := openTest(t, testConfig(t, storeName(t)))
	if err := s.Update(func(w kv.Writer) error { return w.Put(0, []byte("k"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	cli := cluster.Client(t)
	resp, err := cli.Put(context.Background(), "other-store-key", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(context.Background(), resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	if got := dump(t, s)[0]["k"]; got != "v" {
		t.Fatalf("Get after a foreign compaction = %q", got)
	}
}

// TestNoSpace: a full cluster (its space quota reached) is kv.ErrNoSpace, and the store is intact.
func TestNoSpace(t *testing.T) {
	c := etcdtest.StartOpts(t, etcdtest.Options{QuotaBackendBytes: 16 << 20})
	cfg := testConfig(t, storeName(t))
	cfg.Endpoints = c.Endpoints()
	s := openTest(t, cfg)
	if err := s.Update(func(w kv.Writer) error { return w.Put(0, []byte("keep"), []byte("me")) }); err != nil {
		t.Fatal(err)
	}
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = s.Update(func(w kv.Writer) error { return bigCommit(w, 100, 8<<10, fmt.Sprint(i)) })
	}
	if !errors.Is(err, kv.ErrNoSpace) {
		t.Fatalf("Update on a full cluster = %v, want kv.ErrNoSpace", err)
	}
	if got := dump(t, s)[0]["keep"]; got != "me" {
		t.Fatalf("after ENOSPC: keep = %q", got)
	}
}

// TestEtcd34Processes runs the store against a cluster of etcd server processes (Debian's
// etcd-server, version 3.4) started by scripts/etcd-cluster.sh: the client works with them as
// with the embedded 3.7 members.
func TestEtcd34Processes(t *testing.T) {
	p := etcdtest.StartProcesses(t)
	cfg := testConfig(t, storeName(t))
	cfg.Endpoints = p.Endpoints
	s := openTest(t, cfg)
	if err := s.Update(func(w kv.Writer) error { return w.Put(0, []byte("k"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(w kv.Writer) error { return bigCommit(w, 400, 8<<10, "big") }); err != nil {
		t.Fatal(err)
	}
	checkBig(t, s, 400, 8<<10, "big")
	cfg.LockTimeout = 0
	if _, err := Open(cfg); !errors.Is(err, kv.ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, cfg)
	if got := dump(t, s)[0]["k"]; got != "v" {
		t.Fatalf("reopened: k = %q", got)
	}
	checkBig(t, s, 400, 8<<10, "big")
}

// TestKit runs the kv conformance kit on the engine, crash children included (each a process
// that dies at a failpoint of a staged commit, or is killed, and whose lock then expires).
// Damage is not run: any key prefix is a store (an empty one), and the crash test covers a
// commit left half done.
func TestKit(t *testing.T) {
	// Commits of more than 64 KiB are staged, so that the crash test's children, whose
	// commits are mostly small, reach the staging failpoints often. The lease outlives a
	// starved process's keep-alives on a loaded machine, and expires within the kit's 10 s
	// lock timeout after a child dies.
	open := Opener(Config{LeaseTTL: 4 * time.Second, TxnBytes: 64 << 10})
	kvtest.Run(t, kvtest.Engine{
		New: func(t *testing.T) string {
			if cluster == nil {
				t.Fatal("no cluster")
			}
			return URL(cluster.Endpoints(), storeName(t))
		},
		Open:       open,
		Fault:      true,
		Failpoints: failpoint.Etcd,
	})
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url, eps, name, err string
	}{
		{url: "etcd://127.0.0.1:2379/data", eps: "127.0.0.1:2379", name: "data"},
		{url: "etcd://a:1,b:2,c:3/team/prod", eps: "a:1,b:2,c:3", name: "team/prod"},
		{url: "etcd://[::1]:2379/x", eps: "[::1]:2379", name: "x"},
		{url: "http://a:1/x", err: `"http://a:1/x" is not an etcd URL`},
		{url: "etcd://a:1", err: "has no store name"},
		{url: "etcd://a:1/", err: "has no store name"},
		{url: "etcd:///x", err: "has no endpoints"},
		{url: "etcd://a/x", err: `endpoint "a" is not HOST:PORT`},
		{url: "etcd://user:secret@a:1/x", err: `"etcd://a:1/x": credentials do not go in the URL`},
	} {
		eps, name, err := ParseURL(tc.url)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, kv.ErrInvalid) || strings.Contains(err.Error(), "secret") {
				t.Errorf("ParseURL(%q) = %v, want ErrInvalid with %q", tc.url, err, tc.err)
			}
			continue
		}
		if err != nil || strings.Join(eps, ",") != tc.eps || name != tc.name {
			t.Errorf("ParseURL(%q) = %q, %q, %v; want %q, %q", tc.url, eps, name, err, tc.eps, tc.name)
		}
	}
}
