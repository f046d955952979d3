package run

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/internal/guests"
)

// TestCommitFailsAtExit: when the commit at module exit cannot write the store (here the file
// size limit, RLIMIT_FSIZE, stops the store file from growing: the operating system's EFBIG,
// which the store reports as EIO), wasmrun says so on standard error and exits 2, and the
// store keeps its last commit: fsck passes, what was committed before is there, what the
// failed commit held is not.
func TestCommitFailsAtExit(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Fatalf("prlimit (util-linux) not found: %v", err)
	}
	mixer := guests.Build(t, "go/mixer")
	store := newStore(t)
	// Commit a first file, and fill the compilation cache, with no limit.
	if r := cliIn(t, store, "write /before b 1000\n", mixer); r.code != 0 || r.stdout != "ok\nEND\n" {
		t.Fatalf("first run: %d %q %s", r.code, r.stdout, r.stderr)
	}
	st, err := os.Stat(store)
	if err != nil {
		t.Fatal(err)
	}
	limit := st.Size() + 2<<20
	cmd := exec.Command(prlimit, "--fsize="+strconv.FormatInt(limit, 10), "--", wasmrunBin, mixer)
	cmd.Env = testEnv(store)
	cmd.Stdin = strings.NewReader("write /big x 8000000\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != exitUsage {
		t.Fatalf("a run whose final commit fails: %v, want exit status %d\nstdout: %s\nstderr: %s", err, exitUsage, stdout.String(), stderr.String())
	}
	if stdout.String() != "ok\nEND\n" {
		t.Errorf("the guest's output: %q, want its write to succeed (in the cache)", stdout.String())
	}
	msg := stderr.String()
	if !strings.Contains(msg, "wasmrun: ") || !strings.Contains(msg, "commit at exit failed") || !strings.Contains(msg, store) ||
		!(strings.Contains(msg, "EIO") || strings.Contains(msg, "ENOSPC")) {
		t.Errorf("stderr %q: want wasmrun's message naming the failed commit, its errno and the store", msg)
	}
	t.Logf("stderr: %s", msg)
	if r := fsCLI(t, store, "fsck"); r.code != 0 {
		t.Errorf("fsck after the failed commit: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := fsCLI(t, store, "cat", "/before"); r.code != 0 || r.stdout != strings.Repeat("b|", 500) {
		t.Errorf("/before after the failed commit: %d %q %s", r.code, r.stdout, r.stderr)
	}
	if r := fsCLI(t, store, "stat", "/big"); r.code == 0 {
		t.Errorf("/big is in the store after its commit failed: %s", r.stdout)
	}
}
