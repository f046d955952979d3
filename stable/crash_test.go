package stable_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/stable/internal/crashtest"
)

// TestCrashKill runs the crash workload in a child process (this test binary, run again) with
// real fdatasync, kills it with SIGKILL at a random moment, and checks the store: every record
// and state the child reported synced is intact, no rename-over left a half file, and Fsck
// passes. It does so several times on the same store, each child carrying on where the last
// one died. Background commits (a tiny cache, a short interval) land at random points too.
func TestCrashKill(t *testing.T) {
	if path := os.Getenv("STABLE_CRASH_CHILD"); path != "" {
		seed, _ := strconv.ParseUint(os.Getenv("STABLE_CRASH_SEED"), 10, 64)
		f, err := stable.Open(path, stable.Options{CacheBytes: 256 << 10, CommitInterval: 5 * time.Millisecond})
		if err == nil {
			err = crashtest.Run(f, os.Stdout, seed, crashtest.Options{})
		}
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	seed := seedOf(t)
	rng := rand.New(rand.NewPCG(seed, 2))
	path := filepath.Join(t.TempDir(), "crash.store")
	rounds := 8
	if testing.Short() {
		rounds = 3
	}
	var last crashtest.Result
	for round := range rounds {
		delay := time.Duration(30+rng.IntN(400)) * time.Millisecond
		out, stderr := runChild(t, []string{
			"STABLE_CRASH_CHILD=" + path,
			"STABLE_CRASH_SEED=" + strconv.FormatUint(rng.Uint64(), 10),
		}, delay)
		rep := crashtest.ParseReport(out)
		res, err := crashtest.Check(path)
		t.Logf("round %d: killed after %v; child reported %+v; store holds %+v", round, delay, rep, res)
		if err != nil {
			t.Fatalf("round %d: %v\nchild stderr:\n%s", round, err, stderr)
		}
		if res.Records < rep.Synced || res.State < rep.State {
			t.Fatalf("round %d: the store holds %+v, less than the child reported durable (%+v)", round, res, rep)
		}
		if res.Records < last.Records || res.State < last.State {
			t.Fatalf("round %d: the store went back from %+v to %+v", round, last, res)
		}
		last = res
	}
	if last.Records == 0 {
		t.Errorf("no record ever reached the store: the children did nothing")
	}
}

// runChild runs this test binary as a child with env added, kills it with SIGKILL after delay
// (or when it exits, which is a failure) and returns its stdout and stderr.
func runChild(t *testing.T, env []string, delay time.Duration) (stdout, stderr []byte) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("child exited by itself (%v):\n%s", err, errb.Bytes())
	case <-time.After(delay):
		cmd.Process.Kill()
		<-done
	}
	return out.Bytes(), errb.Bytes()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// seedOf returns the seed of a randomised test: $STABLE_SEED if set, else a fresh one, logged
// so that a failure can be replayed.
func seedOf(t *testing.T) uint64 {
	t.Helper()
	seed := rand.Uint64()
	if s := os.Getenv("STABLE_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("STABLE_SEED: %v", err)
		}
	}
	t.Logf("seed %d (replay with STABLE_SEED=%d)", seed, seed)
	return seed
}
