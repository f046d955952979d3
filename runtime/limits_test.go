package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/internal/guests"
	wasmrt "github.com/wasmrun/wasmrun/runtime"
	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/iofs"
)

// The limits of DESIGN.md ("Limits"), each an Options field with an exact errno, run into by
// the C guest testdata/guests/c/limits.c. The CLI flags for them are checked end to end in
// cmd/run (TestLimitFlags).

// limitsOut parses the guest's "key=value ..." line.
func limitsOut(t *testing.T, out string) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	for _, f := range strings.Fields(out) {
		k, v, ok := strings.Cut(f, "=")
		var n int64
		if _, err := fmt.Sscan(v, &n); !ok || err != nil {
			t.Fatalf("bad output %q", out)
		}
		m[k] = n
	}
	return m
}

// limitPattern is the content limits.c writes: byte k is k % 251.
func limitPattern(n int64) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(int64(i) % 251)
	}
	return b
}

func TestLimitErrnos(t *testing.T) {
	wasm := readFile(t, guests.Build(t, "c/limits"))
	const mib = 1 << 20
	tests := []struct {
		name  string
		opts  wasmrt.Options
		cfg   wasmrt.RunConfig
		check func(t *testing.T, got map[string]int64)
		after func(t *testing.T, store string, got map[string]int64) // with the Runtime closed
	}{
		{name: "tmp bytes", opts: wasmrt.Options{TmpBytes: mib}, cfg: args("limits", "fill", "/tmp/big"),
			check: func(t *testing.T, got map[string]int64) {
				// The heap charges its bookkeeping too: the data stops at most a chunk short.
				if got["errno"] != wasiENOSPC || got["bytes"] > mib || got["bytes"] < mib-64<<10 {
					t.Errorf("got %v; want ENOSPC (%d) after (1 MiB - 64 KiB, 1 MiB] bytes", got, wasiENOSPC)
				}
			}},
		{name: "tmp inodes", opts: wasmrt.Options{TmpInodes: 100}, cfg: args("limits", "inodes", "/tmp"),
			check: func(t *testing.T, got map[string]int64) {
				if got["errno"] != wasiENOSPC || got["count"] != 99 { // /tmp itself is the 100th
					t.Errorf("got %v; want 99 files, then ENOSPC (%d)", got, wasiENOSPC)
				}
			}},
		{name: "store quota", opts: wasmrt.Options{StoreOptions: stable.Options{QuotaBytes: mib}}, cfg: args("limits", "fill", "/big"),
			check: func(t *testing.T, got map[string]int64) {
				if got["errno"] != wasiENOSPC || got["bytes"] > mib || got["bytes"] < mib-64<<10 {
					t.Errorf("got %v; want ENOSPC (%d) after (1 MiB - 64 KiB, 1 MiB] bytes", got, wasiENOSPC)
				}
			},
			after: func(t *testing.T, store string, got map[string]int64) {
				// The store stays consistent and holds what was written up to the quota.
				st, err := stable.Open(store, stable.Options{ReadOnly: true})
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				rep, err := st.Fsck()
				if err != nil || !rep.OK() {
					t.Fatalf("fsck after ENOSPC: %v\n%v", err, rep)
				}
				if u := st.Usage(); u.Bytes > mib {
					t.Errorf("usage %d bytes, over the %d quota", u.Bytes, mib)
				}
				b, err := fs.ReadFile(iofs.Of(vfs.NewNamespace(st)), "big")
				if err != nil || !bytes.Equal(b, limitPattern(got["bytes"])) {
					t.Errorf("/big after ENOSPC: %d bytes, %v; want the %d bytes written", len(b), err, got["bytes"])
				}
			}},
		{name: "fds", opts: wasmrt.Options{MaxFDs: 16}, cfg: args("limits", "fds", "/"),
			check: func(t *testing.T, got map[string]int64) {
				if got["errno"] != wasiEMFILE || got["count"] != 12 { // 0, 1, 2 and the preopen 3
					t.Errorf("got %v; want 12 opens, then EMFILE (%d)", got, wasiEMFILE)
				}
			}},
		{name: "fds per run", opts: wasmrt.Options{MaxFDs: 16}, cfg: wasmrt.RunConfig{Args: []string{"limits", "fds", "/"}, MaxFDs: 40},
			check: func(t *testing.T, got map[string]int64) {
				if got["errno"] != wasiEMFILE || got["count"] != 36 {
					t.Errorf("got %v; want 36 opens, then EMFILE (%d)", got, wasiEMFILE)
				}
			}},
		{name: "memory pages", opts: wasmrt.Options{MemoryLimitPages: 256}, cfg: args("limits", "mem"),
			check: func(t *testing.T, got map[string]int64) {
				// malloc fails when memory.grow would pass 256 pages (16 MiB): the memory is
				// within the limit, and less than 1 MiB (16 pages) short of it.
				if p := got["pages"]; p > 256 || p+16 <= 256 || got["mib"] < 12 {
					t.Errorf("got %v; want malloc to fail with 240 to 256 pages in use", got)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			store := filepath.Join(t.TempDir(), "root.store")
			tc.opts.Store = store
			r, err := wasmrt.New(context.Background(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := run(t, context.Background(), r, wasm, tc.cfg)
			if err := r.Close(context.Background()); err != nil {
				t.Fatal("Close:", err)
			}
			if got.err != nil || got.code != 0 {
				t.Fatalf("exit %d, %v, stderr %q", got.code, got.err, got.stderr)
			}
			out := limitsOut(t, got.stdout)
			tc.check(t, out)
			if tc.after != nil {
				tc.after(t, store, out)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the guest's writes and the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLimitDeadline: a guest that writes and fsyncs files forever is stopped by the context's
// deadline (Options.Interruptible); Run says so, and every file it reported synced is in the store, intact, and the
// store passes fsck.
func TestLimitDeadline(t *testing.T) {
	t.Parallel()
	wasm := readFile(t, guests.Build(t, "c/limits"))
	store := filepath.Join(t.TempDir(), "root.store")
	// Interruptible: the guest computes between its host calls, and none of them waits.
	r, err := wasmrt.New(context.Background(), wasmrt.Options{Store: store, Interruptible: true})
	if err != nil {
		t.Fatal(err)
	}
	ns := r.Namespace()
	if e := ns.Mkdir(ns.Root(), "data", 0o755); e != vfs.ESUCCESS {
		t.Fatal(e)
	}
	m, err := r.Compile(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	const deadline = 500 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	var stdout syncBuffer
	start := time.Now()
	code, err := r.Run(ctx, m, wasmrt.RunConfig{Args: []string{"limits", "sync", "/data"}, Stdout: &stdout})
	took := time.Since(start)
	if code != -1 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run: %d, %v; want -1 and context.DeadlineExceeded", code, err)
	}
	if took > deadline+5*time.Second {
		t.Errorf("Run returned %v after a %v deadline", took, deadline)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal("Close:", err)
	}
	synced := strings.Count(stdout.String(), "SYNCED ")
	if synced == 0 || strings.Contains(stdout.String(), "FAILED") {
		t.Fatalf("the guest synced nothing before the deadline:\n%s", stdout.String())
	}
	st, err := stable.Open(store, stable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rep, err := st.Fsck()
	if err != nil || !rep.OK() {
		t.Fatalf("fsck after the deadline: %v\n%v", err, rep)
	}
	fsys := iofs.Of(vfs.NewNamespace(st))
	want := limitPattern(4096)
	for i := range synced {
		if b, err := fs.ReadFile(fsys, fmt.Sprintf("data/r%d", i)); err != nil || !bytes.Equal(b, want) {
			t.Fatalf("data/r%d, reported synced: %d bytes, %v", i, len(b), err)
		}
	}
	t.Logf("stopped after %v (deadline %v); %d files synced before, all intact", took.Round(time.Millisecond), deadline, synced)
}

// TestTmpFillMemory fills a 64 MiB /tmp until ENOSPC and measures the Go heap of the process
// (which holds /tmp): at its peak during the run, and after it while /tmp stays full. Both must
// stay within the limit plus a small constant. (The resident memory of a real wasmrun process
// doing the same is measured in cmd/run, TestTmpFillRSS, outside the race detector.)
func TestTmpFillMemory(t *testing.T) {
	const limit = 64 << 20
	const slack = 8 << 20
	wasm := readFile(t, guests.Build(t, "c/limits"))
	r := newRuntime(t, wasmrt.Options{TmpBytes: limit})
	ctx := context.Background()
	m, err := r.Compile(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	// A first run instantiates everything once (it fails at once: no such directory).
	if got := run(t, ctx, r, wasm, args("limits", "fill", "/tmp/none/x")); got.code != 0 {
		t.Fatalf("warm-up run: %d, %v", got.code, got.err)
	}
	var base, peak, after goruntime.MemStats
	goruntime.GC()
	goruntime.ReadMemStats(&base)
	peakInuse := base.HeapInuse
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				goruntime.ReadMemStats(&peak)
				peakInuse = max(peakInuse, peak.HeapInuse)
			}
		}
	}()
	var stdout bytes.Buffer
	code, err := r.Run(ctx, m, wasmrt.RunConfig{Args: []string{"limits", "fill", "/tmp/big"}, Stdout: &stdout})
	close(stop)
	<-sampled
	if code != 0 || err != nil {
		t.Fatalf("fill: %d, %v", code, err)
	}
	got := limitsOut(t, stdout.String())
	if got["errno"] != wasiENOSPC || got["bytes"] < limit-(64<<10) {
		t.Fatalf("fill: %v; want ENOSPC after about 64 MiB", got)
	}
	goruntime.GC()
	goruntime.ReadMemStats(&after)
	grewPeak := int64(peakInuse) - int64(base.HeapInuse)
	grewAfter := int64(after.HeapInuse) - int64(base.HeapInuse)
	t.Logf("a %d MiB /tmp filled to ENOSPC (%d bytes written): Go heap in use grew %.1f MiB at the peak, %.1f MiB retained with /tmp full (limit + %.1f MiB, + %.1f MiB)",
		limit>>20, got["bytes"], float64(grewPeak)/(1<<20), float64(grewAfter)/(1<<20),
		float64(grewPeak-limit)/(1<<20), float64(grewAfter-limit)/(1<<20))
	if grewPeak > limit+slack || grewAfter > limit+slack {
		t.Errorf("the Go heap grew %d bytes at the peak, %d after: more than the %d limit plus %d", grewPeak, grewAfter, limit, slack)
	}
}
