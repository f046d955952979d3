package etcdtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Processes is a 3-member cluster of etcd server processes (Debian's etcd-server, 3.4 or
// later) started by the project's scripts/etcd-cluster.sh.
type Processes struct {
	// Endpoints are the members' client addresses ("127.0.0.1:PORT").
	Endpoints []string
	// Dir holds the members' data, pids and logs.
	Dir    string
	script string
	env    []string
}

// Script returns the path of scripts/etcd-cluster.sh in this checkout.
func Script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "scripts", "etcd-cluster.sh")
}

// StartProcesses starts a cluster of etcd processes on free loopback ports with the project's
// script and stops it when tb's test ends. Without an etcd binary it skips tb, except in CI
// (CI=true), where that is a failure.
func StartProcesses(tb testing.TB) *Processes {
	tb.Helper()
	if _, err := exec.LookPath("etcd"); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("etcdtest: no etcd binary in CI (.ci/run installs etcd-server): %v", err)
		}
		tb.Skipf("etcdtest: no etcd binary (Debian: apt-get install etcd-server etcd-client): %v", err)
	}
	p := &Processes{Dir: tb.TempDir(), script: Script()}
	var out []byte
	var err error
	for range 5 {
		base, perr := freeRun(6)
		if perr != nil {
			tb.Fatal(perr)
		}
		p.env = append(os.Environ(), fmt.Sprintf("ETCD_CLUSTER_PORT=%d", base))
		out, err = p.run("up")
		if err == nil {
			tb.Cleanup(func() {
				if out, err := p.run("down"); err != nil {
					tb.Errorf("etcd-cluster.sh down: %v\n%s", err, out)
				}
			})
			eps, err := p.run("endpoints")
			if err != nil {
				tb.Fatalf("etcd-cluster.sh endpoints: %v", err)
			}
			p.Endpoints = strings.Split(strings.TrimSpace(string(eps)), ",")
			return p
		}
		_, _ = p.run("down")
		if !strings.Contains(string(out), "address already in use") {
			break
		}
	}
	tb.Fatalf("etcd-cluster.sh up: %v\n%s", err, out)
	return nil
}

func (p *Processes) run(cmd string) ([]byte, error) {
	c := exec.Command("bash", p.script, cmd, p.Dir)
	c.Env = p.env
	return c.CombinedOutput()
}

// freeRun returns the first of n consecutive loopback ports that were free a moment ago.
func freeRun(n int) (int, error) {
	for range 100 {
		ports, err := freePorts(1)
		if err != nil {
			return 0, err
		}
		base := ports[0]
		if base+n > 65535 {
			continue
		}
		ok := true
		var ls []net.Listener
		for i := range n {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				ok = false
				break
			}
			ls = append(ls, l)
		}
		for _, l := range ls {
			_ = l.Close()
		}
		if ok {
			return base, nil
		}
	}
	return 0, fmt.Errorf("etcdtest: no %d consecutive free ports", n)
}

// Client returns a client of the processes' cluster, closed when tb's test ends.
func (p *Processes) Client(tb testing.TB) *clientv3.Client {
	tb.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: p.Endpoints, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		tb.Fatalf("etcdtest: client: %v", err)
	}
	tb.Cleanup(func() { _ = cli.Close() })
	return cli
}
