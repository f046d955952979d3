package etcdkv

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/wasmrun/wasmrun/stable/internal/failpoint"
	"github.com/wasmrun/wasmrun/stable/internal/kv"
)

// Defaults of Config.
const (
	// DefaultLeaseTTL is the time-to-live of the store's lock: a writer that stops renewing
	// it (dead, paused, partitioned) loses the store this long after its last renewal.
	DefaultLeaseTTL = 10 * time.Second
	// DefaultRequestTimeout bounds one request to the cluster, leader elections included.
	DefaultRequestTimeout = 15 * time.Second
	// DefaultDialTimeout bounds reaching the cluster at Open.
	DefaultDialTimeout = 5 * time.Second
	// DefaultCompactRetention is how long the cluster keeps the revisions a store overwrote
	// before the store compacts them away.
	DefaultCompactRetention = 5 * time.Second
	// DefaultCompactBytes is how many bytes a store commits between compactions, at most.
	DefaultCompactBytes = 8 << 20
)

// compactEvery is the longest time between two compactions of a store that commits.
const compactEvery = 30 * time.Second

// Config configures Open.
type Config struct {
	// Endpoints are the cluster's client addresses, "HOST:PORT" (or URLs).
	Endpoints []string
	// Name is the store's name: the prefix of its keys in the cluster. It must not be empty
	// or hold a NUL byte.
	Name string
	// Buckets are the buckets of the store; a kv.Bucket indexes this list.
	Buckets []kv.BucketSpec
	// ReadOnly opens the store for reading: Update fails. A reader holds the store's lock as
	// a writer does (so that what it reads cannot change under it).
	ReadOnly bool
	// LockTimeout is how long Open waits for another holder of the store to let go before
	// it fails with kv.ErrLocked. Zero means one try.
	LockTimeout time.Duration
	// LeaseTTL is the time-to-live of the store's lock (0: DefaultLeaseTTL).
	LeaseTTL time.Duration
	// Holder describes this process in the lock, for the message another one gets (empty:
	// "HOST (pid N)").
	Holder string
	// DialTimeout bounds reaching the cluster (0: DefaultDialTimeout).
	DialTimeout time.Duration
	// RequestTimeout bounds each request (0: DefaultRequestTimeout).
	RequestTimeout time.Duration
	// CertFile and KeyFile are a client certificate and its key for TLS, CAFile the
	// certificate authority that signed the cluster's certificates; any of them set (or
	// InsecureSkipVerify) turns TLS on, as etcdctl's --cert, --key and --cacert do.
	CertFile, KeyFile, CAFile string
	// Username and Password authenticate to a cluster with authentication on.
	Username, Password string
	// CompactRetention is how long overwritten revisions are kept (0: the default; negative:
	// compact at once, for tests).
	CompactRetention time.Duration
	// CompactBytes is how many bytes are committed between compactions (0: the default).
	CompactBytes int
	// TxnBytes is the most bytes of keys and values one transaction carries (0: 1 MiB, the
	// most that fits etcd's default request limit); a commit of more is staged.
	TxnBytes int
	// Fault, if not nil, makes Puts fail on demand (see kv.Fault): a test seam.
	Fault *kv.Fault
	// Accept, if not nil, reads the store before Open applies a commit a crash left
	// published (see kv.Options.Accept): an error from it ends Open.
	Accept func(r kv.Reader) error
}

// Errors of Store, beside the seam's.
var (
	// ErrFenced means the store's lock was lost (the lease expired while this process was
	// paused or cut off) and another writer may own the store: this Store commits nothing
	// more. Test with errors.Is.
	ErrFenced = errors.New("lost the store's lock: another writer may own it now")
)

// LockedError is Open's error when another process holds the store: it Is kv.ErrLocked.
type LockedError struct {
	// Holder is what the holder wrote in the lock: "HOST (pid N) since T".
	Holder string
}

func (e *LockedError) Error() string        { return "store is in use by " + e.Holder }
func (e *LockedError) Is(target error) bool { return target == kv.ErrLocked }

// Store is a kv.Store in an etcd cluster. See the package documentation.
type Store struct {
	cli    *clientv3.Client
	cfg    Config
	url    string
	prefix string // Name + "\x00"
	ctx    context.Context
	cancel context.CancelFunc

	lease   clientv3.LeaseID
	lockCmp clientv3.Cmp // the lock key is still the one this store created
	kaDone  chan struct{}

	wmu sync.Mutex // serializes Update, Close

	// gate is held shared by a View refreshing its revision (see reader.refresh) and
	// exclusively around each write of the store's keys, so that a refresh never sees half
	// of a write.
	gate sync.RWMutex

	mu       sync.Mutex // guards below
	rev      int64      // a revision at which the data keys (with pending over them) are the store's state
	wrev     int64      // the revision of the store's last write (noWrite: unknown)
	pending  *changeSet // a published commit not yet applied in full
	pendID   uint64
	views    map[*reader]struct{}
	known    []bool            // buckets that exist
	big      map[string]uint64 // a writer's data keys with big values, and their ids (Update only)
	closed   bool
	dead     error // set once fenced (or crashed by a failpoint): every commit fails with it
	hist     []revAt
	lastComp time.Time
	compRev  int64
	since    int // bytes committed since the last compaction
}

type revAt struct {
	t   time.Time
	rev int64
}

// The keys of a store, under its prefix.
const (
	kLock   = "lock"
	kRoot   = "root"
	kBucket = "b" // + bucket byte: the bucket exists
	kData   = "d" // + bucket byte + key: tag byte + value or parts descriptor
	kStage  = "s" // + commit id (8 BE) + chunk index (4 BE)
	kPart   = "v" // + value id (8 BE) + part index (4 BE): a part of a big value
	kIndex  = "X" // + bucket byte + key: the id (8 BE) of the key's big value
)

// The tags of a data key's value.
const (
	tagInline = 0 // the value follows
	tagParts  = 1 // a parts descriptor follows: id (8 BE), parts (4 BE), size (8 BE)
)

// Big values.
const (
	// inlineBytes is the largest value kept in its data key; a larger one is kept in parts
	// of partBytes.
	inlineBytes = 256 << 10
	partBytes   = 1 << 20
	// maxKeyBytes is the longest key.
	maxKeyBytes = 32 << 10
)

func (s *Store) partKey(id uint64, i uint32) string {
	var k [12]byte
	binary.BigEndian.PutUint64(k[:8], id)
	binary.BigEndian.PutUint32(k[8:], i)
	return s.prefix + kPart + string(k[:])
}

func (s *Store) partPrefix(id uint64) string {
	return s.prefix + kPart + string(binary.BigEndian.AppendUint64(nil, id))
}

// indexKey is the index key of the data key dk.
func (s *Store) indexKey(dk string) string {
	return s.prefix + kIndex + dk[len(s.prefix)+len(kData):]
}

func partsDescriptor(id uint64, n uint32, size uint64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, id), n), size)
}

func parseParts(d []byte) (id uint64, n uint32, size uint64, err error) {
	if len(d) != 20 {
		return 0, 0, 0, fmt.Errorf("a parts descriptor of %d bytes, want 20", len(d))
	}
	return binary.BigEndian.Uint64(d), binary.BigEndian.Uint32(d[8:]), binary.BigEndian.Uint64(d[12:]), nil
}

// retireBig adds to cs the deletion of the parts of big values that cs overwrites or deletes
// (those of the store, named by s.big, and those cs itself made and then replaced), and of
// their index keys; it returns the changes to s.big once cs is committed (0: gone).
func (s *Store) retireBig(cs *changeSet, made map[uint64]string) map[string]uint64 {
	final := func(dk string) uint64 { // the id of dk's big value after cs, or 0
		if e, ok := cs.keys.Get(dk); ok && !e.del && len(e.val) > 0 && e.val[0] == tagParts {
			id, _, _, err := parseParts(e.val[1:])
			if err == nil {
				return id
			}
		}
		return 0
	}
	for id, dk := range made {
		if final(dk) != id {
			cs.delRange(s.partPrefix(id), clientv3.GetPrefixRangeEnd(s.partPrefix(id)))
		}
	}
	changes := map[string]uint64{}
	for dk, old := range s.big {
		if _, touched := cs.lookup(dk); !touched {
			continue
		}
		if id := final(dk); id != old {
			cs.delRange(s.partPrefix(old), clientv3.GetPrefixRangeEnd(s.partPrefix(old)))
			if id == 0 {
				cs.del(s.indexKey(dk))
			}
			changes[dk] = id
		}
	}
	for _, dk := range made {
		if id := final(dk); id != 0 {
			changes[dk] = id
		}
	}
	return changes
}

// URL returns the etcd URL of a store: "etcd://HOST:PORT,.../NAME".
func URL(endpoints []string, name string) string {
	return "etcd://" + strings.Join(endpoints, ",") + "/" + name
}

// Open opens (creating it if it has no keys yet) the store cfg.Name in the cluster at
// cfg.Endpoints, takes its lock, and finishes a commit a crash left published but not
// applied. Errors: kv.ErrLocked (another process holds the store: the message names it),
// kv.ErrInvalid (a bad name), and the cluster's errors (unreachable, authentication), each
// naming the store's URL.
func Open(cfg Config) (*Store, error) {
	u := URL(cfg.Endpoints, cfg.Name)
	if cfg.Name == "" || strings.ContainsRune(cfg.Name, 0) {
		return nil, fmt.Errorf("%s: %w: the store name must be non-empty and hold no NUL byte", u, kv.ErrInvalid)
	}
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("%s: %w: no endpoints", u, kv.ErrInvalid)
	}
	if len(cfg.Buckets) > 255 {
		return nil, fmt.Errorf("%s: %w: too many buckets", u, kv.ErrInvalid)
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.CompactRetention == 0 {
		cfg.CompactRetention = DefaultCompactRetention
	}
	if cfg.TxnBytes <= 0 || cfg.TxnBytes > maxTxnBytes {
		cfg.TxnBytes = maxTxnBytes
	}
	if cfg.CompactBytes <= 0 {
		cfg.CompactBytes = DefaultCompactBytes
	}
	if cfg.Holder == "" {
		host, _ := os.Hostname()
		cfg.Holder = fmt.Sprintf("%s (pid %d)", host, os.Getpid())
	}
	var tlsCfg *tls.Config
	if cfg.CertFile != "" || cfg.KeyFile != "" || cfg.CAFile != "" {
		info := transport.TLSInfo{CertFile: cfg.CertFile, KeyFile: cfg.KeyFile, TrustedCAFile: cfg.CAFile}
		var err error
		if tlsCfg, err = info.ClientConfig(); err != nil {
			return nil, fmt.Errorf("%s: TLS: %w", u, err)
		}
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: cfg.DialTimeout,
		TLS:         tlsCfg,
		Username:    cfg.Username,
		Password:    cfg.Password,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Store{
		cli: cli, cfg: cfg, url: u, prefix: cfg.Name + "\x00", ctx: ctx, cancel: cancel,
		views: make(map[*reader]struct{}), known: make([]bool, len(cfg.Buckets)),
		lastComp: time.Now(),
	}
	if err := s.open(); err != nil {
		s.shutdown()
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	return s, nil
}

func (s *Store) open() error {
	if err := s.lock(); err != nil {
		return err
	}
	// The buckets that exist.
	resp, err := s.get(s.key(kBucket), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return err
	}
	for _, kvp := range resp.Kvs {
		b := kvp.Key[len(s.prefix)+len(kBucket):]
		if len(b) == 1 && int(b[0]) < len(s.known) {
			s.known[b[0]] = true
		}
	}
	s.rev = resp.Header.Revision
	if s.cfg.Accept != nil {
		// The data keys as they are, before a pending commit is applied.
		r := &reader{s: s, rev: s.rev}
		err := func() (err error) {
			defer recoverRead(&err)
			return s.cfg.Accept(r)
		}()
		if err != nil {
			return err
		}
	}
	// A published commit that a crash left half applied.
	root, err := s.get(s.key(kRoot))
	if err != nil {
		return err
	}
	if len(root.Kvs) > 0 {
		id, n, err := parseRoot(root.Kvs[0].Value)
		if err != nil {
			return fmt.Errorf("%w: root: %w", kv.ErrCorrupt, err)
		}
		cs, err := s.loadStaged(id, n, root.Header.Revision)
		if err != nil {
			return err
		}
		s.pending, s.pendID, s.rev = cs, id, root.Header.Revision
		if !s.cfg.ReadOnly {
			if err := s.finishPending(); err != nil {
				return err
			}
		}
	}
	if !s.cfg.ReadOnly {
		// The keys with big values, from the index.
		s.big = map[string]uint64{}
		idx, err := s.get(s.key(kIndex), clientv3.WithPrefix())
		if err != nil {
			return err
		}
		for _, kvp := range idx.Kvs {
			if len(kvp.Value) != 8 {
				return fmt.Errorf("%w: index key %q: %d bytes", kv.ErrCorrupt, kvp.Key, len(kvp.Value))
			}
			s.big[s.prefix+kData+string(kvp.Key[len(s.prefix)+len(kIndex):])] = binary.BigEndian.Uint64(kvp.Value)
		}
		// Chunks of commits a crash stopped before they were published.
		if _, err := s.txn(clientv3.OpDelete(s.key(kStage), clientv3.WithPrefix())); err != nil {
			return err
		}
	}
	return nil
}

// lock takes the store's lock: a key bound to a lease this process keeps alive.
func (s *Store) lock() error {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.DialTimeout+s.cfg.RequestTimeout)
	defer cancel()
	lg, err := s.cli.Grant(ctx, int64((s.cfg.LeaseTTL+time.Second-1)/time.Second))
	if err != nil {
		return mapErr(err)
	}
	s.lease = lg.ID
	// Kept alive from now on: waiting for the lock may take longer than its TTL.
	ch, err := s.cli.KeepAlive(s.ctx, s.lease)
	if err != nil {
		return mapErr(err)
	}
	s.kaDone = make(chan struct{})
	go func() {
		defer close(s.kaDone)
		for range ch {
		}
	}()
	key := s.key(kLock)
	holder := s.cfg.Holder + " since " + time.Now().UTC().Format(time.RFC3339)
	deadline := time.Now().Add(s.cfg.LockTimeout)
	for {
		rctx, rcancel := context.WithTimeout(s.ctx, s.cfg.RequestTimeout)
		resp, err := s.cli.Txn(rctx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, holder, clientv3.WithLease(s.lease))).
			Else(clientv3.OpGet(key)).Commit()
		rcancel()
		if err != nil {
			return mapErr(err)
		}
		if resp.Succeeded {
			s.lockCmp = clientv3.Compare(clientv3.CreateRevision(key), "=", resp.Header.Revision)
			break
		}
		if time.Now().After(deadline) {
			other := "another process"
			if r := resp.Responses[0].GetResponseRange(); r != nil && len(r.Kvs) > 0 {
				other = string(r.Kvs[0].Value)
			}
			return &LockedError{Holder: other}
		}
		select {
		case <-time.After(min(100*time.Millisecond, time.Until(deadline)+time.Millisecond)):
		case <-s.ctx.Done():
			return s.ctx.Err()
		}
	}
	return nil
}

// shutdown lets go of the lock and the client.
func (s *Store) shutdown() {
	s.cancel()
	if s.lease != 0 {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
		_, _ = s.cli.Revoke(ctx, s.lease)
		cancel()
	}
	if s.kaDone != nil {
		<-s.kaDone
	}
	_ = s.cli.Close()
}

func (s *Store) key(parts ...string) string {
	return s.prefix + strings.Join(parts, "")
}

func (s *Store) bucketPrefix(b kv.Bucket) string {
	return s.prefix + kData + string([]byte{byte(b)})
}

func (s *Store) dataKey(b kv.Bucket, key []byte) string {
	return s.bucketPrefix(b) + string(key)
}

func (s *Store) markerKey(b kv.Bucket) string {
	return s.prefix + kBucket + string([]byte{byte(b)})
}

func (s *Store) stageKey(id uint64, i uint32) string {
	var k [12]byte
	binary.BigEndian.PutUint64(k[:8], id)
	binary.BigEndian.PutUint32(k[8:], i)
	return s.prefix + kStage + string(k[:])
}

func (s *Store) stagePrefix(id uint64) string {
	return s.prefix + kStage + string(binary.BigEndian.AppendUint64(nil, id))
}

func rootValue(id uint64, n uint32) string {
	return string(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, id), n))
}

func parseRoot(v []byte) (id uint64, n uint32, err error) {
	if len(v) != 12 {
		return 0, 0, fmt.Errorf("%d bytes, want 12", len(v))
	}
	return binary.BigEndian.Uint64(v), binary.BigEndian.Uint32(v[8:]), nil
}

// get reads at the latest revision (linearizable).
func (s *Store) get(key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.RequestTimeout)
	defer cancel()
	resp, err := s.cli.Get(ctx, key, opts...)
	return resp, mapErr(err)
}

// txn commits ops if the store's lock is still this store's, and moves s.rev to the
// transaction's revision. A failed comparison is ErrFenced, and the store is dead.
func (s *Store) txn(ops ...clientv3.Op) (*clientv3.TxnResponse, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.RequestTimeout)
	defer cancel()
	s.gate.Lock()
	defer s.gate.Unlock()
	resp, err := s.cli.Txn(ctx).If(s.lockCmp).Then(ops...).Commit()
	if err != nil {
		s.mu.Lock()
		s.wrev = noWrite // it may have landed
		s.mu.Unlock()
		return nil, mapErr(err)
	}
	if !resp.Succeeded {
		err := fmt.Errorf("%s: %w", s.url, ErrFenced)
		s.mu.Lock()
		s.dead = err
		s.mu.Unlock()
		return nil, err
	}
	s.mu.Lock()
	s.rev = max(s.rev, resp.Header.Revision)
	s.wrev = resp.Header.Revision
	s.mu.Unlock()
	return resp, nil
}

// mapErr maps the client's errors: a full cluster is kv.ErrNoSpace.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, rpctypes.ErrNoSpace), strings.Contains(err.Error(), "database space exceeded"):
		return kv.NoSpace(fmt.Errorf("etcd cluster is full: %w", err))
	}
	return err
}

// loadStaged reads the chunks of commit id.
func (s *Store) loadStaged(id uint64, n uint32, rev int64) (*changeSet, error) {
	cs := &changeSet{}
	for i := range n {
		resp, err := s.get(s.stageKey(id, i), clientv3.WithRev(rev))
		if err != nil {
			return nil, err
		}
		if len(resp.Kvs) == 0 {
			return nil, fmt.Errorf("%w: staged chunk %d of %d of commit %016x is missing", kv.ErrCorrupt, i, n, id)
		}
		if err := cs.decodeInto(resp.Kvs[0].Value); err != nil {
			return nil, fmt.Errorf("%w: commit %016x chunk %d: %w", kv.ErrCorrupt, id, i, err)
		}
	}
	return cs, nil
}

// Path implements kv.Store.Path: the store's URL.
func (s *Store) Path() string { return s.url }

// View implements kv.Store.View: fn reads the store as of one commit, at one etcd revision.
// A read that fails (the cluster unreachable past the request timeout) ends fn and View
// returns its error.
func (s *Store) View(fn func(r kv.Reader) error) (err error) {
	r, err := s.begin()
	if err != nil {
		return err
	}
	defer s.end(r)
	defer recoverRead(&err)
	return fn(r)
}

// begin starts a reader at the store's current state.
func (s *Store) begin() (*reader, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, kv.ErrClosed
	}
	r := &reader{s: s, rev: s.rev}
	if s.pending != nil {
		r.layers = append(r.layers, s.pending)
	}
	s.views[r] = struct{}{}
	return r, nil
}

func (s *Store) end(r *reader) {
	s.mu.Lock()
	delete(s.views, r)
	s.mu.Unlock()
}

// Update implements kv.Store.Update. A commit that fits one etcd transaction is one
// transaction; a larger one is staged and published (see the package documentation).
// Errors: fn's; kv.ErrNoSpace (the cluster's space quota is reached); ErrFenced; an error that
// Is fs.ErrPermission on a read-only store; kv.ErrClosed; the cluster's errors.
func (s *Store) Update(fn func(w kv.Writer) error) (err error) {
	if s.cfg.ReadOnly {
		return fmt.Errorf("%s: %w: store is open read-only", s.url, fs.ErrPermission)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	closed, dead, pending := s.closed, s.dead, s.pending
	s.mu.Unlock()
	switch {
	case closed:
		return kv.ErrClosed
	case dead != nil:
		return dead
	case pending != nil:
		if err := s.finishPending(); err != nil {
			return err
		}
	}
	r, err := s.begin()
	if err != nil {
		return err
	}
	defer s.end(r)
	w := &writer{reader: r, cs: &changeSet{}}
	r.layers = append(r.layers, w.cs)
	if err := func() (err error) {
		defer recoverRead(&err)
		return fn(w)
	}(); err != nil {
		return err
	}
	if w.cs.empty() {
		return nil
	}
	big := s.retireBig(w.cs, w.made)
	if err := s.commit(w.cs); err != nil {
		return err
	}
	for dk, id := range big {
		if id == 0 {
			delete(s.big, dk)
		} else {
			s.big[dk] = id
		}
	}
	for b, ok := range w.created {
		if ok {
			s.known[b] = true
		}
	}
	return nil
}

// UpdateBackground is Update: etcd has no cheaper way to commit.
func (s *Store) UpdateBackground(fn func(w kv.Writer) error) error { return s.Update(fn) }

// Detach does nothing: the store has no file beside it.
func (s *Store) Detach() error { return nil }

// commit makes cs the store's state.
func (s *Store) commit(cs *changeSet) error {
	ops := cs.ops()
	if fitsOne(ops, 0, s.cfg.TxnBytes) {
		thens := make([]clientv3.Op, len(ops))
		for i, o := range ops {
			thens[i] = o.op
		}
		if _, err := s.txn(thens...); err != nil {
			return err
		}
		s.compact(cs.bytes)
		return nil
	}
	return s.commitStaged(cs)
}

// commitStaged writes cs in chunks under a fresh commit id, invisible to readers, then
// publishes it with one small transaction (the root key names it), then applies it to the
// data keys and retires it. The commit is durable, and Update succeeds, once it is published:
// a failure after that leaves it pending (readers see it over the data keys) and the next
// Update, or the next Open after a crash, applies it.
func (s *Store) commitStaged(cs *changeSet) error {
	id := rand.Uint64()
	var chunks uint32
	var buf []byte
	flush := func() error {
		if _, err := s.txn(clientv3.OpPut(s.stageKey(id, chunks), string(buf))); err != nil {
			return err
		}
		chunks++
		buf = buf[:0]
		return s.fail(failpoint.EtcdStaged)
	}
	var err error
	for rec := range cs.records() {
		if len(rec) > maxValueBytes {
			err = fmt.Errorf("%s: a key and value of %d bytes exceed etcd's request limit", s.url, len(rec))
			break
		}
		if len(buf) > 0 && len(buf)+len(rec) > chunkBytes {
			if err = flush(); err != nil {
				break
			}
		}
		buf = append(buf, rec...)
	}
	if err == nil && len(buf) > 0 {
		err = flush()
	}
	if err == nil {
		err = s.fail(failpoint.EtcdPublish)
	}
	if err != nil {
		s.dropStaged(id)
		return err
	}
	root := rootValue(id, chunks)
	err = s.publish(root, cs, id)
	if err != nil {
		// Was it published? The transaction may have committed though its answer was lost.
		resp, gerr := s.get(s.key(kRoot))
		if gerr != nil || len(resp.Kvs) == 0 || string(resp.Kvs[0].Value) != root {
			s.dropStaged(id)
			return err
		}
		s.mu.Lock()
		s.pending, s.pendID = cs, id
		s.mu.Unlock()
	}
	if err := s.fail(failpoint.EtcdPublished); err != nil {
		return nil
	}
	if err := s.finishPending(); err != nil {
		return nil // durable: the next Update finishes it
	}
	s.compact(2 * cs.bytes)
	return nil
}

// publish sets the root to name commit id, and makes cs pending. The data keys are
// untouched, so a View that begins between the two sees the old state either way.
func (s *Store) publish(root string, cs *changeSet, id uint64) error {
	if _, err := s.txn(clientv3.OpPut(s.key(kRoot), root)); err != nil {
		return err
	}
	s.mu.Lock()
	s.pending, s.pendID = cs, id
	s.mu.Unlock()
	return nil
}

// dropStaged deletes the chunks of an unpublished commit (best effort: Open deletes what is
// left).
func (s *Store) dropStaged(id uint64) {
	s.mu.Lock()
	dead := s.dead
	s.mu.Unlock()
	if dead == nil {
		_, _ = s.txn(clientv3.OpDelete(s.stagePrefix(id), clientv3.WithPrefix()))
	}
}

// finishPending applies the pending commit to the data keys, in transactions under etcd's
// limits, then deletes the root and the commit's chunks in one transaction.
func (s *Store) finishPending() error {
	s.mu.Lock()
	cs, id := s.pending, s.pendID
	s.mu.Unlock()
	for _, b := range batches(cs.ops(), s.cfg.TxnBytes) {
		if _, err := s.txn(b...); err != nil {
			return err
		}
		if err := s.fail(failpoint.EtcdApplied); err != nil {
			return err
		}
	}
	if err := s.fail(failpoint.EtcdRetire); err != nil {
		return err
	}
	// The data keys hold the commit: a View that begins between this transaction and
	// the end of pending sees it twice over, which is the same state.
	if _, err := s.txn(clientv3.OpDelete(s.key(kRoot)), clientv3.OpDelete(s.stagePrefix(id), clientv3.WithPrefix())); err != nil {
		return err
	}
	s.mu.Lock()
	s.pending, s.pendID = nil, 0
	s.mu.Unlock()
	return nil
}

// fail runs the failpoint of step. Once one fails, the store is dead: it writes nothing more,
// as a process that died there would not.
func (s *Store) fail(step failpoint.Name) error {
	if err := failpoint.Inject(step); err != nil {
		s.mu.Lock()
		s.dead = fmt.Errorf("%s: %w (%s)", s.url, err, step)
		s.mu.Unlock()
		return s.dead
	}
	return nil
}

// compact records the revision of a commit of n bytes and, every CompactBytes committed (or
// every compactEvery), compacts the cluster's history up to the newest revision of this
// store that is at least CompactRetention old and that no View of this store still reads.
// Compaction is cluster-wide: the retention leaves other stores' Views time to end, and a
// View of any store that finds its revision compacted moves to a newer one when nothing of
// its store changed meanwhile (see reader.refresh).
func (s *Store) compact(n int) {
	s.mu.Lock()
	now := time.Now()
	s.hist = append(s.hist, revAt{now, s.rev})
	s.since += n
	if s.dead != nil || (s.since < s.cfg.CompactBytes && now.Sub(s.lastComp) < compactEvery) {
		s.mu.Unlock()
		return
	}
	target := int64(0)
	keep := 0
	for i, h := range s.hist {
		if s.cfg.CompactRetention < 0 || now.Sub(h.t) >= s.cfg.CompactRetention {
			target, keep = h.rev, i
		}
	}
	if target == 0 {
		s.mu.Unlock()
		return
	}
	for r := range s.views {
		target = min(target, r.rev)
	}
	if target <= s.compRev {
		s.mu.Unlock()
		return
	}
	s.hist = s.hist[keep:]
	s.since, s.lastComp, s.compRev = 0, now, target
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.RequestTimeout)
	defer cancel()
	// A cluster compacted past target already (by another store) answers ErrCompacted.
	_, _ = s.cli.Compact(ctx, target)
}

// Check implements kv.Store.Check: it reports keys under the store's prefix that fit no part
// of its layout, data in a bucket that does not exist, and chunks of unpublished commits.
func (s *Store) Check(fn func(problem error)) error {
	r, err := s.begin()
	if err != nil {
		return err
	}
	defer s.end(r)
	s.mu.Lock()
	pendID := s.pendID
	s.mu.Unlock()
	return r.scanRaw(s.prefix, s.prefix+"\xff", true, func(k string, _ []byte) bool {
		rest := k[len(s.prefix):]
		switch {
		case rest == kLock || rest == kRoot:
		case strings.HasPrefix(rest, kBucket) && len(rest) == 2:
		case strings.HasPrefix(rest, kData) && len(rest) >= 2:
			b := rest[1]
			if int(b) >= len(s.known) {
				fn(fmt.Errorf("key %q: bucket %d is not one of the store's %d", k, b, len(s.known)))
			} else if !r.exists(kv.Bucket(b)) {
				fn(fmt.Errorf("key %q: bucket %s has no marker", k, s.cfg.Buckets[b].Name))
			}
		case strings.HasPrefix(rest, kIndex) && len(rest) >= 2, strings.HasPrefix(rest, kPart) && len(rest) == 13:
		case strings.HasPrefix(rest, kStage) && len(rest) == 13:
			if id := binary.BigEndian.Uint64([]byte(rest[1:9])); id != pendID || pendID == 0 {
				fn(fmt.Errorf("chunk of commit %016x that was never published", id))
			}
		default:
			fn(fmt.Errorf("key %q fits no part of the store's layout", k))
		}
		return true
	})
}

// Close implements kv.Store.Close: it lets go of the lock (revokes its lease). A commit
// published but not applied stays published (the next Open applies it).
func (s *Store) Close() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.shutdown()
	return nil
}

// Opener returns a kv.Opener of stores in etcd clusters: where is an etcd URL
// ("etcd://HOST:PORT[,HOST:PORT...]/NAME", see ParseURL), and base gives what a URL does not
// say (TLS files, credentials, lease and timeouts); its Endpoints, Name, Buckets, ReadOnly,
// LockTimeout and Accept are set from the URL and opts.
func Opener(base Config) kv.Opener {
	return func(where string, opts kv.Options) (kv.Store, error) {
		eps, name, err := ParseURL(where)
		if err != nil {
			return nil, err
		}
		cfg := base
		cfg.Endpoints, cfg.Name = eps, name
		cfg.Buckets, cfg.ReadOnly, cfg.LockTimeout, cfg.Accept = opts.Buckets, opts.ReadOnly, opts.LockTimeout, opts.Accept
		if opts.Fault != nil {
			cfg.Fault = opts.Fault
		}
		s, err := Open(cfg)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

// ParseURL splits an etcd store URL, "etcd://HOST:PORT[,HOST:PORT...]/NAME", into its
// endpoints and name. The URL holds no credentials: a user:password@ part is refused (they
// would show wherever the URL is printed). Errors are kv.ErrInvalid and quote the URL.
func ParseURL(u string) (endpoints []string, name string, err error) {
	rest, ok := strings.CutPrefix(u, "etcd://")
	if !ok {
		return nil, "", badURL("%q is not an etcd URL (etcd://HOST:PORT[,HOST:PORT...]/NAME)", u)
	}
	hosts, name, ok := strings.Cut(rest, "/")
	switch {
	case strings.Contains(hosts, "@"):
		redacted := "etcd://" + hosts[strings.LastIndex(hosts, "@")+1:] + "/" + name
		return nil, "", badURL("%q: credentials do not go in the URL (give them by flag or environment)", redacted)
	case !ok || name == "":
		return nil, "", badURL("%q has no store name (etcd://HOST:PORT[,HOST:PORT...]/NAME)", u)
	case hosts == "":
		return nil, "", badURL("%q has no endpoints (etcd://HOST:PORT[,HOST:PORT...]/NAME)", u)
	case strings.ContainsRune(name, 0):
		return nil, "", badURL("%q: the store name holds a NUL byte", u)
	}
	for _, h := range strings.Split(hosts, ",") {
		if _, _, err := net.SplitHostPort(h); err != nil {
			return nil, "", badURL("%q: endpoint %q is not HOST:PORT", u, h)
		}
		endpoints = append(endpoints, h)
	}
	return endpoints, name, nil
}

// badURL is an error of ParseURL: it Is kv.ErrInvalid.
func badURL(format string, args ...any) error {
	return invalidURL{fmt.Errorf("bad store URL: "+format, args...)}
}

type invalidURL struct{ error }

func (e invalidURL) Unwrap() error        { return e.error }
func (e invalidURL) Is(target error) bool { return target == kv.ErrInvalid }
