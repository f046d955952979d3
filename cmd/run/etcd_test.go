package run

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/internal/etcdtest"
	"github.com/wasmrun/wasmrun/stable"
)

// TestEtcdStore runs wasmrun on a store in a cluster of etcd server processes (started by
// scripts/etcd-cluster.sh): --store URL, --mount GUEST=stable:URL, wasmrun fs on it, and the
// lock's message naming the process that holds the store.
func TestEtcdStore(t *testing.T) {
	p := etcdtest.StartProcesses(t)
	url := "etcd://" + strings.Join(p.Endpoints, ",") + "/cli"
	if got := cli(t, url, g("write"), "kept", "in etcd"); got.code != 0 {
		t.Fatalf("write: %d\n%s", got.code, got.stderr)
	}
	if got := cli(t, newStore(t), "--store", url, g("cat"), "kept"); got.code != 0 || got.stdout != "in etcd" {
		t.Fatalf("cat kept: %d, %q\n%s", got.code, got.stdout, got.stderr)
	}
	if got := cli(t, newStore(t), "--mount", "/e=stable:"+url, g("cat"), "e/kept"); got.code != 0 || got.stdout != "in etcd" {
		t.Fatalf("cat e/kept: %d, %q\n%s", got.code, got.stdout, got.stderr)
	}
	if got := cli(t, url, "fs", "cat", "/kept"); got.code != 0 || got.stdout != "in etcd" {
		t.Fatalf("fs cat: %d, %q\n%s", got.code, got.stdout, got.stderr)
	}
	host := filepath.Join(t.TempDir(), "f.txt")
	if err := os.WriteFile(host, []byte("put from the host"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := cli(t, url, "fs", "put", host, "/d/f.txt", "-p"); got.code != 0 {
		t.Fatalf("fs put: %d\n%s", got.code, got.stderr)
	}
	if got := cli(t, url, "fs", "ls", "-R", "/"); got.code != 0 || !strings.Contains(got.stdout, "f.txt") || !strings.Contains(got.stdout, "kept") {
		t.Fatalf("fs ls: %d, %q\n%s", got.code, got.stdout, got.stderr)
	}
	if got := cli(t, url, "fs", "fsck"); got.code != 0 {
		t.Fatalf("fs fsck: %d, %q\n%s", got.code, got.stdout, got.stderr)
	}
	// A store held by this process: wasmrun says who holds it.
	f, err := stable.Open(url, stable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := cli(t, url, "--lock-timeout", "0", g("cat"), "kept")
	host2, _ := os.Hostname()
	if want := fmt.Sprintf("store is in use by %s (pid %d) since ", host2, os.Getpid()); got.code != 2 || !strings.Contains(got.stderr, want) {
		t.Errorf("a second writer: %d, %q; want exit 2 and %q", got.code, got.stderr, want)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// Moving the store out of etcd and into another name of it: one command each way.
	local := filepath.Join(t.TempDir(), "moved.store")
	if got := cli(t, url, "fs", "backup", local); got.code != 0 {
		t.Fatalf("fs backup to a file: %d\n%s", got.code, got.stderr)
	}
	if got := cli(t, local, "fs", "cat", "/d/f.txt"); got.code != 0 || got.stdout != "put from the host" {
		t.Fatalf("cat in the moved store: %d, %q\n%s", got.code, got.stdout, got.stderr)
	}
	url2 := url + "-moved"
	if got := cli(t, local, "fs", "backup", url2); got.code != 0 || !strings.Contains(got.stdout, "backed up") {
		t.Fatalf("fs backup into etcd: %d, %q\n%s", got.code, got.stdout, got.stderr)
	}
	if got := cli(t, url2, g("cat"), "kept"); got.code != 0 || got.stdout != "in etcd" {
		t.Fatalf("cat kept in the store moved back: %d, %q\n%s", got.code, got.stdout, got.stderr)
	}
	if got := cli(t, local, "fs", "backup", url2); got.code == 0 || !strings.Contains(got.stderr, "-f") {
		t.Errorf("backup over an existing etcd store: %d, %q; want a refusal", got.code, got.stderr)
	}
	// Credentials never go in the URL.
	bad := "etcd://user:secret@" + p.Endpoints[0] + "/cli"
	if got := cli(t, bad, g("cat"), "kept"); got.code != 2 || strings.Contains(got.stderr, "secret") || !strings.Contains(got.stderr, "credentials do not go in the URL") {
		t.Errorf("credentials in the URL: %d, %q", got.code, got.stderr)
	}
}
