// Package etcdtest starts real etcd clusters for tests: three members of go.etcd.io's embedded
// server (the same server as the etcd binary) in this process, on free loopback ports, each
// with its own data directory on disk.
//
// Starting a cluster takes about a second; a package's tests share one, started in TestMain
// with StartMain, and keep apart by key prefix (every store has its own NAME). Tests that kill
// or stop members start their own with Start.
package etcdtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Members is the number of members of a cluster.
const Members = 3

// startTimeout bounds how long the members take to elect a leader and serve clients.
const startTimeout = 60 * time.Second

// Cluster is a running 3-member etcd cluster. Its methods are safe for concurrent use.
type Cluster struct {
	dir  string // parent of the members' data directories
	opts Options

	mu      sync.Mutex
	members [Members]*member
}

type member struct {
	name       string
	dataDir    string
	clientURL  url.URL
	peerURL    url.URL
	etcd       *embed.Etcd // nil while stopped
	initialCfg string
	started    bool // has run once: restarts join the existing cluster
}

// Options change a cluster's server settings from etcd's defaults.
type Options struct {
	// QuotaBackendBytes is each member's space quota (0: etcd's default, 2 GiB).
	QuotaBackendBytes int64
}

// Start starts a cluster in a temporary directory and stops it (removing its data) when tb's
// test ends. It fails tb if the cluster does not start.
func Start(tb testing.TB) *Cluster { return StartOpts(tb, Options{}) }

// StartOpts is Start with server settings.
func StartOpts(tb testing.TB, opts Options) *Cluster {
	tb.Helper()
	c, err := StartDir(tb.TempDir(), opts)
	if err != nil {
		tb.Fatalf("etcdtest: %v", err)
	}
	tb.Cleanup(c.Stop)
	return c
}

// StartMain starts a cluster for a package's TestMain, in a new temporary directory. The
// returned function stops it and removes the directory.
func StartMain() (*Cluster, func(), error) {
	dir, err := os.MkdirTemp("", "etcdtest-")
	if err != nil {
		return nil, nil, err
	}
	c, err := StartDir(dir, Options{})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, err
	}
	return c, func() { c.Stop(); _ = os.RemoveAll(dir) }, nil
}

// StartDir starts a cluster whose members keep their data under dir (one subdirectory each).
// It retries on another set of ports if one was taken meanwhile.
func StartDir(dir string, opts Options) (*Cluster, error) {
	var err error
	for try := 0; try < 5; try++ {
		var c *Cluster
		c, err = startOnce(filepath.Join(dir, fmt.Sprintf("c%d", try)), opts)
		if err == nil {
			return c, nil
		}
		if !isAddrInUse(err) {
			return nil, err
		}
	}
	return nil, err
}

func isAddrInUse(err error) bool {
	return err != nil && strings.Contains(err.Error(), "address already in use")
}

func startOnce(dir string, opts Options) (*Cluster, error) {
	c := &Cluster{dir: dir, opts: opts}
	ports, err := freePorts(2 * Members)
	if err != nil {
		return nil, err
	}
	var initial []string
	for i := range c.members {
		m := &member{
			name:      fmt.Sprintf("m%d", i),
			dataDir:   filepath.Join(dir, fmt.Sprintf("m%d", i)),
			clientURL: url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[2*i])},
			peerURL:   url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[2*i+1])},
		}
		initial = append(initial, m.name+"="+m.peerURL.String())
		c.members[i] = m
	}
	for _, m := range c.members {
		m.initialCfg = strings.Join(initial, ",")
	}
	// The members wait for each other to elect a leader: start them all, then wait.
	errs := make(chan error, Members)
	for i := range c.members {
		go func() { errs <- c.start(i, false) }()
	}
	var first error
	for range c.members {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		c.Stop()
		return nil, first
	}
	return c, nil
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// start starts member i and waits until it serves clients (wait: a restart, which can serve
// at once since the others have quorum).
func (c *Cluster) start(i int, restart bool) error {
	c.mu.Lock()
	m := c.members[i]
	if m.etcd != nil {
		c.mu.Unlock()
		return nil
	}
	cfg := embed.NewConfig()
	cfg.Name = m.name
	cfg.Dir = m.dataDir
	cfg.ListenClientUrls = []url.URL{m.clientURL}
	cfg.AdvertiseClientUrls = []url.URL{m.clientURL}
	cfg.ListenPeerUrls = []url.URL{m.peerURL}
	cfg.AdvertisePeerUrls = []url.URL{m.peerURL}
	cfg.InitialCluster = m.initialCfg
	cfg.InitialClusterToken = "etcdtest-" + filepath.Base(c.dir)
	cfg.ClusterState = embed.ClusterStateFlagNew
	if m.started || restart {
		cfg.ClusterState = embed.ClusterStateFlagExisting
	}
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.Logger = "zap"
	cfg.LogLevel = "error"
	cfg.QuotaBackendBytes = c.opts.QuotaBackendBytes
	c.mu.Unlock()

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("start member %s: %w", m.name, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return fmt.Errorf("member %s: %w", m.name, err)
	case <-time.After(startTimeout):
		e.Close()
		return fmt.Errorf("member %s not ready after %v", m.name, startTimeout)
	}
	c.mu.Lock()
	m.etcd = e
	m.started = true
	c.mu.Unlock()
	return nil
}

// Endpoints returns the client URLs of every member, running or not ("127.0.0.1:PORT").
func (c *Cluster) Endpoints() []string {
	var eps []string
	for _, m := range c.members {
		eps = append(eps, m.clientURL.Host)
	}
	return eps
}

// Endpoint returns member i's client address ("127.0.0.1:PORT").
func (c *Cluster) Endpoint(i int) string { return c.members[i].clientURL.Host }

// Client returns a client of the whole cluster, closed when tb's test ends.
func (c *Cluster) Client(tb testing.TB) *clientv3.Client {
	tb.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		tb.Fatalf("etcdtest: client: %v", err)
	}
	tb.Cleanup(func() { _ = cli.Close() })
	return cli
}

// StopMember stops member i (as a clean shutdown; its data stays). The other two keep quorum.
func (c *Cluster) StopMember(i int) {
	c.mu.Lock()
	e := c.members[i].etcd
	c.members[i].etcd = nil
	c.mu.Unlock()
	if e != nil {
		e.Close()
	}
}

// RestartMember starts member i again on its data directory after StopMember.
func (c *Cluster) RestartMember(i int) error { return c.start(i, true) }

// Leader returns the index of the member that is the leader now, or -1 if none is known.
func (c *Cluster) Leader() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, m := range c.members {
		if m.etcd != nil && m.etcd.Server.Leader() == m.etcd.Server.MemberID() {
			return i
		}
	}
	return -1
}

// WaitLeader waits until a running member is the leader and returns its index.
func (c *Cluster) WaitLeader(ctx context.Context) (int, error) {
	for {
		if i := c.Leader(); i >= 0 {
			return i, nil
		}
		select {
		case <-ctx.Done():
			return -1, errors.New("etcdtest: no leader elected")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop stops every member. The data directories stay (Start's TempDir or StartMain's function
// removes them).
func (c *Cluster) Stop() {
	for i := range c.members {
		c.StopMember(i)
	}
}
