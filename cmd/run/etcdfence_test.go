package run

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wasmrun/wasmrun/internal/etcdtest"
)

// fencedScript writes and fsyncs /first, says so, waits for a line, then writes and fsyncs
// /late and /first again: a fenced writer's fsync fails with EIO.
const fencedScript = `
import errno, os, sys
def put(name, data):
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.write(fd, data)
    os.fsync(fd)
    os.close(fd)
put("/first", b"a1")
print("committed", flush=True)
sys.stdin.readline()
try:
    put("/late", b"a2")
    put("/first", b"a2")
    print("committed again", flush=True)
except OSError as e:
    print("fsync failed:", e.errno == errno.EIO, flush=True)
    sys.exit(1)
`

// TestEtcdFencedWriter: a wasmrun process stopped (SIGSTOP) past its lease loses the store to
// a second wasmrun; continued (SIGCONT), its guest's next fsync fails with EIO and wasmrun
// exits with an error saying the lock was lost. The store holds the first's commit before the
// pause and the second's, nothing of the first's after.
func TestEtcdFencedWriter(t *testing.T) {
	py := python(t)
	p := etcdtest.StartProcesses(t)
	name := "fenced"
	url := "etcd://" + strings.Join(p.Endpoints, ",") + "/" + name
	cmd := exec.Command(wasmrunBin, "--store", url, py, "-c", fencedScript)
	cmd.Env = testEnv(url)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
	})
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "committed" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("first writer: %q\n%s", lines.Text(), stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// The cluster expires the stopped writer's lease (10 s): its lock key goes.
	cli := p.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		resp, err := cli.Get(ctx, name+"\x00lock", clientv3.WithCountOnly())
		if err != nil {
			t.Fatalf("waiting for the lease to expire: %v", err)
		}
		if resp.Count == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := cli2(t, url, g("write"), "second", "b1"); got.code != 0 {
		t.Fatalf("second writer: %d\n%s", got.code, got.stderr)
	}
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(stdin, "go")
	var rest []string
	for lines.Scan() {
		rest = append(rest, lines.Text())
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 0 {
		t.Errorf("the fenced wasmrun exited with %v, want an error", err)
	}
	if strings.Join(rest, "\n") != "fsync failed: True" || !strings.Contains(stderr.String(), "lost the store's lock") {
		t.Errorf("the fenced writer said %q, stderr %q; want its fsync to fail with EIO and wasmrun to say the lock was lost", rest, stderr.String())
	}
	for file, want := range map[string]string{"first": "a1", "second": "b1"} {
		if got := cli2(t, url, "fs", "cat", "/"+file); got.code != 0 || got.stdout != want {
			t.Errorf("/%s: %d %q, want %q\n%s", file, got.code, got.stdout, want, got.stderr)
		}
	}
	if got := cli2(t, url, "fs", "cat", "/late"); got.code == 0 {
		t.Errorf("/late, written after the fencing, is in the store: %q", got.stdout)
	}
}

// cli2 is cli with the store given by --store.
func cli2(t *testing.T, url string, args ...string) result {
	t.Helper()
	if len(args) > 0 && args[0] == "fs" {
		return cli(t, url, append([]string{"fs", "--store", url}, args[1:]...)...)
	}
	return cli(t, url, append([]string{"--store", url}, args...)...)
}
