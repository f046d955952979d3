package run

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// openPty opens a pseudo-terminal pair: what the child writes to tty, the test reads from pty.
func openPty(t *testing.T) (pty, tty *os.File) {
	t.Helper()
	pty, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal("the test needs a pseudo-terminal (/dev/ptmx):", err)
	}
	fd := int(pty.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal("unlockpt:", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal("ptsname:", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pty.Close(); tty.Close() })
	return pty, tty
}

// TestFSProgressOnTerminal runs import, export, backup and compact of a store of some
// megabytes with standard error on a terminal (a pseudo-terminal) and checks that each draws a
// progress bar that reaches its end; with standard error on a pipe (TestFSExportImport and the
// others) nothing is drawn.
func TestFSProgressOnTerminal(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "s.store")
	host := hostTree(t)
	if err := os.WriteFile(filepath.Join(host, "large"), bytes.Repeat([]byte("wasmrun!"), 3<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	tarball := filepath.Join(dir, "x.tar")
	for _, step := range []struct {
		args []string
		want []string
	}{
		{[]string{"import", host, "/h"}, []string{"\rimport   [", "100%"}},
		{[]string{"export", "-o", tarball, "/h"}, []string{"\rexport   [", "100%", "26M / 26M"}},
		{[]string{"import", tarball, "/again"}, []string{"\rimport   [", "100%"}},
		{[]string{"put", filepath.Join(host, "large"), "/large"}, []string{"\rput large [", "100%"}},
		{[]string{"backup", filepath.Join(dir, "b.store")}, []string{"\rbackup   [", "100%"}},
		{[]string{"compact"}, []string{"\rcompact  [", "100%"}},
	} {
		pty, tty := openPty(t)
		cmd := exec.Command(wasmrunBin, append([]string{"fs"}, step.args...)...)
		cmd.Env = testEnv(store)
		var stdout bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, tty
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		tty.Close() // the child has its own copy
		var drawn bytes.Buffer
		done := make(chan struct{})
		go func() {
			drawn.ReadFrom(pty) // until the child exits (EIO on Linux)
			close(done)
		}()
		err := cmd.Wait()
		<-done
		if err != nil {
			t.Fatalf("wasmrun fs %q: %v\n%s", step.args, err, &drawn)
		}
		out := drawn.String()
		for _, want := range step.want {
			if !strings.Contains(out, want) {
				t.Errorf("wasmrun fs %q on a terminal: the progress output lacks %q:\n%q", step.args, want, out)
			}
		}
		if !strings.HasSuffix(out, "\x1b[K\r\n") { // the terminal turns \n into \r\n
			t.Errorf("wasmrun fs %q: the bar's line is not ended: %q", step.args, out)
		}
	}
}

// TestFSExportToTerminal: export refuses to write a tar archive to a terminal.
func TestFSExportToTerminal(t *testing.T) {
	store := newStore(t)
	fsOK(t, store, "mkdir", "/d")
	pty, tty := openPty(t)
	cmd := exec.Command(wasmrunBin, "fs", "export")
	cmd.Env = testEnv(store)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = tty, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var out bytes.Buffer
	done := make(chan struct{})
	go func() { out.ReadFrom(pty); close(done) }()
	err := cmd.Wait()
	<-done
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "refusing to write a tar archive to a terminal") || out.Len() != 0 {
		t.Errorf("export to a terminal: %v, stderr %q, terminal got %q", err, &stderr, &out)
	}
}
