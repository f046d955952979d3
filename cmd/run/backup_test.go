//go:build unix

package run

import (
	"bufio"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBackupOfStoreInUse checks the way to back up a store a running wasmrun writes to:
// wasmrun fs backup cannot open it and says to ask the writer; SIGUSR1 makes the writer commit
// and write STORE.backup, a consistent store holding what the guest wrote, while it runs on.
func TestBackupOfStoreInUse(t *testing.T) {
	py := python(t)
	store := newStore(t)
	writer := exec.Command(wasmrunBin, "--store", store, py, "-c",
		"open('/kept.txt', 'w').write('written while in use'); import sys; print('ready', flush=True); sys.stdin.read()")
	writer.Env = testEnv(store)
	in, _ := writer.StdinPipe()
	out, _ := writer.StdoutPipe()
	errPipe, _ := writer.StderrPipe()
	if err := writer.Start(); err != nil {
		t.Fatal(err)
	}
	defer writer.Wait()
	defer in.Close()
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("the guest said %q, %v", line, err)
	}
	got := fsCLI(t, store, "backup", "--lock-timeout", "100ms", store+".other")
	if got.code != 1 || !strings.Contains(got.stderr, "in use by another process") || !strings.Contains(got.stderr, "kill -USR1") ||
		!strings.Contains(got.stderr, store+".backup") {
		t.Errorf("fs backup of a store in use: %d %q; want 1 and how to ask the writer", got.code, got.stderr)
	}
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	if err := writer.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	want := "wasmrun: backup of " + store + " written to " + store + ".backup"
	select {
	case line := <-lines:
		if !strings.HasPrefix(line, want) {
			t.Fatalf("stderr %q, want %q", line, want)
		}
	case <-time.After(time.Minute):
		t.Fatal("no backup reported a minute after SIGUSR1")
	}
	// The writer goes on; the backup is a store of its own.
	if got := fsOK(t, store+".backup", "cat", "/kept.txt"); got != "written while in use" {
		t.Errorf("the backup holds %q", got)
	}
	if got := fsOK(t, store+".backup", "fsck"); !strings.Contains(got, ": ok") {
		t.Errorf("fsck of the backup: %q", got)
	}
	in.Close()
	io.Copy(io.Discard, out)
	if err := writer.Wait(); err != nil {
		t.Errorf("the writer: %v", err)
	}
}
