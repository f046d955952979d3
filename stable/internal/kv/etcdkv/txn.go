package etcdkv

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"syscall"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
)

// reader reads the store at one etcd revision, with change sets over it: the pending commit
// (published, not applied in full) and, in an Update, the transaction's own changes.
type reader struct {
	s      *Store
	rev    int64
	layers []*changeSet
}

// readFailure carries a failed read out of the closure of View or Update: kv.Reader's Get
// and Exists have no error to return, and a missing value must not stand for a failed read.
type readFailure struct{ err error }

func recoverRead(err *error) {
	if r := recover(); r != nil {
		if f, ok := r.(readFailure); ok {
			*err = f.err
			return
		}
		panic(r)
	}
}

// Exists implements kv.Reader.Exists.
func (r *reader) Exists(b kv.Bucket) bool { return r.exists(b) }

func (r *reader) exists(b kv.Bucket) bool {
	if int(b) >= len(r.s.known) {
		return false
	}
	_, ok := r.lookup(r.s.markerKey(b))
	return ok
}

// Get implements kv.Reader.Get.
func (r *reader) Get(b kv.Bucket, key []byte) []byte {
	v, ok := r.lookup(r.s.dataKey(b, key))
	if !ok {
		return nil
	}
	v, err := r.value(v)
	if err != nil {
		panic(readFailure{err})
	}
	return v
}

// value decodes a data key's stored value: a tag byte, then the value (tagInline) or the
// descriptor of a value kept in parts (tagParts), which it reads.
func (r *reader) value(stored []byte) ([]byte, error) {
	if len(stored) == 0 {
		return nil, fmt.Errorf("%s: %w: a data key with no value tag", r.s.url, kv.ErrCorrupt)
	}
	switch stored[0] {
	case tagInline:
		return stored[1:], nil
	case tagParts:
		id, n, size, err := parseParts(stored[1:])
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %w", r.s.url, kv.ErrCorrupt, err)
		}
		out := make([]byte, 0, size)
		for i := range n {
			part, ok := r.lookup(r.s.partKey(id, i))
			if !ok {
				return nil, fmt.Errorf("%s: %w: part %d of %d of value %016x is missing", r.s.url, kv.ErrCorrupt, i, n, id)
			}
			out = append(out, part...)
		}
		if uint64(len(out)) != size {
			return nil, fmt.Errorf("%s: %w: value %016x has %d bytes, its descriptor says %d", r.s.url, kv.ErrCorrupt, id, len(out), size)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: %w: value tag %d", r.s.url, kv.ErrCorrupt, stored[0])
}

// lookup returns the value of the full key k and whether it is there.
func (r *reader) lookup(k string) ([]byte, bool) {
	for i := len(r.layers) - 1; i >= 0; i-- {
		if v, found := r.layers[i].lookup(k); found {
			return v, v != nil
		}
	}
	resp, err := r.get(k)
	if err != nil {
		panic(readFailure{err})
	}
	if len(resp.Kvs) == 0 {
		return nil, false
	}
	if v := resp.Kvs[0].Value; v != nil {
		return v, true
	}
	return []byte{}, true
}

// get reads k (with opts) at the reader's revision, moving to a newer one if the cluster
// compacted it away and nothing of the store changed since.
func (r *reader) get(k string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	for {
		ctx, cancel := context.WithTimeout(r.s.ctx, r.s.cfg.RequestTimeout)
		resp, err := r.s.cli.Get(ctx, k, append(opts, clientv3.WithRev(r.rev))...)
		cancel()
		if err == nil {
			return resp, nil
		}
		if errors.Is(err, rpctypes.ErrCompacted) && r.refresh() {
			continue
		}
		return nil, fmt.Errorf("%s: %w", r.s.url, mapErr(err))
	}
}

// refresh moves the reader to the cluster's latest revision if this store wrote nothing
// since the reader's revision (the store's keys are then the same there), and reports
// whether it did. Writes of the store are held off meanwhile.
func (r *reader) refresh() bool {
	s := r.s
	s.gate.RLock()
	defer s.gate.RUnlock()
	s.mu.Lock()
	ok := s.wrev <= r.rev
	s.mu.Unlock()
	if !ok {
		return false
	}
	resp, err := s.get(s.key(kRoot), clientv3.WithKeysOnly())
	if err != nil {
		return false
	}
	s.mu.Lock()
	s.rev = max(s.rev, resp.Header.Revision)
	s.mu.Unlock()
	r.rev = resp.Header.Revision
	return true
}

// Scan implements kv.Reader.Scan.
func (r *reader) Scan(b kv.Bucket, from, to []byte, fn func(k, v []byte) bool) error {
	bp := r.s.bucketPrefix(b)
	lo, hi := bp+string(from), clientv3.GetPrefixRangeEnd(bp)
	if to != nil {
		hi = bp + string(to)
	}
	if lo >= hi {
		return nil
	}
	var err error
	seq := r.base(lo, hi, false, &err)
	for _, l := range r.layers {
		seq = l.over(seq, lo, hi)
	}
	for k, v := range seq {
		if v, err = r.value(v); err != nil {
			break
		}
		if !fn([]byte(k[len(bp):]), v) {
			break
		}
	}
	return err
}

// scanRaw calls fn for each key of the cluster in [lo, hi) at the reader's revision, with no
// change set over them.
func (r *reader) scanRaw(lo, hi string, keysOnly bool, fn func(k string, v []byte) bool) error {
	var err error
	for k, v := range r.base(lo, hi, keysOnly, &err) {
		if !fn(k, v) {
			break
		}
	}
	return err
}

// base yields the keys and values of [lo, hi) at the reader's revision, reading them in
// pages that grow from a few keys (a scan often stops at its first key) to a few hundred.
// A failed read ends it and is stored in *errp.
func (r *reader) base(lo, hi string, keysOnly bool, errp *error) iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) {
		limit := int64(8)
		for lo < hi {
			opts := []clientv3.OpOption{clientv3.WithRange(hi), clientv3.WithLimit(limit)}
			if keysOnly {
				opts = append(opts, clientv3.WithKeysOnly())
			}
			resp, err := r.get(lo, opts...)
			if err != nil {
				*errp = err
				return
			}
			for _, kvp := range resp.Kvs {
				if !yield(string(kvp.Key), kvp.Value) {
					return
				}
			}
			if !resp.More || len(resp.Kvs) == 0 {
				return
			}
			lo = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
			limit = min(2*limit, 512)
		}
	}
}

// writer is the reader of an Update with its change set.
type writer struct {
	*reader
	cs      *changeSet
	created map[kv.Bucket]bool
	made    map[uint64]string // big values put: id -> data key
}

func (w *writer) check(b kv.Bucket, key []byte) error {
	switch {
	case int(b) >= len(w.s.known):
		return fmt.Errorf("%s: no bucket %d", w.s.url, b)
	case len(key) == 0:
		return fmt.Errorf("%s: empty key", w.s.url)
	}
	return nil
}

// Put implements kv.Writer.Put. A key and value larger than etcd's request limit (about
// 1.5 MiB) are refused.
func (w *writer) Put(b kv.Bucket, key, value []byte) error {
	if err := w.check(b, key); err != nil {
		return err
	}
	if len(key) > maxKeyBytes {
		return fmt.Errorf("%s: a key of %d bytes (at most %d)", w.s.url, len(key), maxKeyBytes)
	}
	if f := w.s.cfg.Fault; f != nil {
		if err := f.Charge(w.s.url, len(key)+len(value)); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				err = kv.NoSpace(err)
			}
			return err
		}
	}
	if !w.s.known[b] && !w.created[b] {
		if w.created == nil {
			w.created = make(map[kv.Bucket]bool)
		}
		w.cs.put(w.s.markerKey(b), nil)
		w.created[b] = true
	}
	dk := w.s.dataKey(b, key)
	if len(value) <= inlineBytes {
		w.cs.putTagged(dk, tagInline, value)
		return nil
	}
	// A value too big for one etcd request: in parts under a fresh id, the data key holding
	// their descriptor, the index naming the id (so that the parts go when the key does).
	id := rand.Uint64()
	n := uint32(0)
	for off := 0; off < len(value); off += partBytes {
		w.cs.put(w.s.partKey(id, n), value[off:min(off+partBytes, len(value))])
		n++
	}
	w.cs.putTagged(dk, tagParts, partsDescriptor(id, n, uint64(len(value))))
	if w.made == nil {
		w.made = make(map[uint64]string)
	}
	w.made[id] = dk
	w.cs.put(w.s.indexKey(dk), binary.BigEndian.AppendUint64(nil, id))
	return nil
}

// Delete implements kv.Writer.Delete.
func (w *writer) Delete(b kv.Bucket, key []byte) error {
	if err := w.check(b, key); err != nil {
		return err
	}
	w.cs.del(w.s.dataKey(b, key))
	return nil
}

// DeleteRange implements kv.Writer.DeleteRange. It reads the keys of the range (not their
// values) to count them.
func (w *writer) DeleteRange(b kv.Bucket, from, to []byte) (int, error) {
	if int(b) >= len(w.s.known) {
		return 0, fmt.Errorf("%s: no bucket %d", w.s.url, b)
	}
	bp := w.s.bucketPrefix(b)
	lo, hi := bp+string(from), clientv3.GetPrefixRangeEnd(bp)
	if to != nil {
		hi = bp + string(to)
	}
	if lo >= hi {
		return 0, nil
	}
	var err error
	seq := w.base(lo, hi, true, &err)
	for _, l := range w.layers {
		seq = l.over(seq, lo, hi)
	}
	n := 0
	for range seq {
		n++
	}
	if err != nil {
		return 0, err
	}
	w.cs.delRange(lo, hi)
	return n, nil
}

// noWrite is a write revision that rules out every refresh: a write whose outcome is not
// known (its answer was lost) may have landed at any revision.
const noWrite = math.MaxInt64
