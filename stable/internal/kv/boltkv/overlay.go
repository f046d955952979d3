package boltkv

import (
	"bytes"
	"sort"

	"github.com/tidwall/btree"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
)

// entry is one key of an overlay: its newest value, or a tombstone (del) that hides the key
// of the inner store.
type entry struct {
	b        kv.Bucket
	key, val []byte
	del      bool
}

func entryLess(x, y entry) bool {
	if x.b != y.b {
		return x.b < y.b
	}
	return bytes.Compare(x.key, y.key) < 0
}

// span is a range tombstone [from, to) of a bucket; a nil to means no upper bound.
type span struct{ from, to []byte }

// overlay holds the changes committed to the log and not yet checkpointed into the inner store:
// per-key values and tombstones in one ordered tree, and per bucket a sorted list of disjoint
// range tombstones. An entry is always newer than a range tombstone that covers it (deleting a
// range drops the entries inside it). An overlay that has been published (read by Views) is
// never changed again: the writer changes a clone, whose tree is a copy-on-write copy.
type overlay struct {
	tree   *btree.BTreeG[entry]
	ranges map[kv.Bucket][]span // each slice is replaced, never changed in place
	made   uint64               // bit b: a Put created bucket b
	ops    int                  // ops applied since the last checkpoint
	// base is the ID of the inner store's transaction the overlay sits on; 0 means any (the
	// inner store is read-only, or the WAL is detached and its overlay stays empty).
	base uint64
}

func newOverlay() *overlay {
	return &overlay{
		tree:   btree.NewBTreeGOptions(entryLess, btree.Options{NoLocks: true}),
		ranges: map[kv.Bucket][]span{},
	}
}

// clone returns a copy of o that can be changed without changing o. It changes o's tree
// (a copy-on-write copy marks it), so o must be private to the caller.
func (o *overlay) clone() *overlay {
	c := &overlay{tree: o.tree.Copy(), ranges: make(map[kv.Bucket][]span, len(o.ranges)), made: o.made, ops: o.ops, base: o.base}
	for b, s := range o.ranges {
		c.ranges[b] = s
	}
	return c
}

func (o *overlay) empty() bool { return o.tree.Len() == 0 && len(o.ranges) == 0 }

func (o *overlay) put(b kv.Bucket, key, val []byte) {
	if val == nil {
		val = []byte{} // a present key with an empty value, as the inner store gives it
	}
	o.tree.Set(entry{b: b, key: key, val: val})
	o.made |= 1 << b
	o.ops++
}

func (o *overlay) del(b kv.Bucket, key []byte) {
	o.tree.Set(entry{b: b, key: key, del: true})
	o.ops++
}

func (o *overlay) delRange(b kv.Bucket, from, to []byte) {
	max := entry{b: b + 1}
	if to != nil {
		max = entry{b: b, key: to}
	}
	if b == 255 && to == nil {
		var dead []entry
		o.tree.Ascend(entry{b: b, key: from}, func(e entry) bool {
			dead = append(dead, e)
			return true
		})
		for _, e := range dead {
			o.tree.Delete(e)
		}
	} else {
		o.tree.DeleteRange(entry{b: b, key: from}, max, &btree.DeleteRangeOptions{NoReturn: true})
	}
	o.ranges[b] = addSpan(o.ranges[b], span{from, to})
	o.ops++
}

// before reports whether key < to, where a nil to is +infinity.
func before(key, to []byte) bool { return to == nil || bytes.Compare(key, to) < 0 }

// lessTo reports whether a < b for upper bounds, where nil is +infinity.
func lessTo(a, b []byte) bool {
	switch {
	case a == nil:
		return false
	case b == nil:
		return true
	}
	return bytes.Compare(a, b) < 0
}

// addSpan returns a new sorted list of disjoint spans: ss with n merged in.
func addSpan(ss []span, n span) []span {
	if n.to != nil && bytes.Compare(n.from, n.to) >= 0 {
		return ss // empty
	}
	out := make([]span, 0, len(ss)+1)
	i := 0
	// Spans that end before n starts.
	for ; i < len(ss) && ss[i].to != nil && bytes.Compare(ss[i].to, n.from) < 0; i++ {
		out = append(out, ss[i])
	}
	// Spans that overlap or touch n: merge.
	for ; i < len(ss) && (n.to == nil || bytes.Compare(ss[i].from, n.to) <= 0); i++ {
		if bytes.Compare(ss[i].from, n.from) < 0 {
			n.from = ss[i].from
		}
		if lessTo(n.to, ss[i].to) {
			n.to = ss[i].to
		}
	}
	out = append(out, n)
	return append(out, ss[i:]...)
}

// covered reports whether a range tombstone of b covers key.
func (o *overlay) covered(b kv.Bucket, key []byte) bool {
	ss := o.ranges[b]
	// The first span that ends after key.
	i := sort.Search(len(ss), func(i int) bool { return before(key, ss[i].to) })
	return i < len(ss) && bytes.Compare(ss[i].from, key) <= 0
}

// view reads an overlay over a Reader of the inner store.
type view struct {
	o *overlay
	r kv.Reader
}

func (v *view) Exists(b kv.Bucket) bool {
	return v.o.made&(1<<b) != 0 || v.r.Exists(b)
}

func (v *view) Get(b kv.Bucket, key []byte) []byte {
	if e, ok := v.o.tree.Get(entry{b: b, key: key}); ok {
		if e.del {
			return nil
		}
		return e.val
	}
	if v.o.covered(b, key) {
		return nil
	}
	return v.r.Get(b, key)
}

// Scan merges the overlay's entries with the inner store's keys, in key order: the inner store
// is scanned only in the gaps between range tombstones, and an overlay entry replaces (or, a
// tombstone, hides) the inner key it equals.
func (v *view) Scan(b kv.Bucket, from, to []byte, fn func(k, val []byte) bool) error {
	it := v.o.tree.Iter()
	defer it.Release()
	valid := it.Seek(entry{b: b, key: from})
	inRange := func() bool {
		return valid && it.Item().b == b && (to == nil || bytes.Compare(it.Item().key, to) < 0)
	}
	valid = inRange()
	stopped := false
	// emit passes the overlay's entries below k (all of them if k is nil) to fn.
	emit := func(k []byte) bool {
		for valid && (k == nil || bytes.Compare(it.Item().key, k) < 0) {
			e := it.Item()
			if !e.del && !fn(e.key, e.val) {
				stopped = true
				return false
			}
			valid = it.Next() && inRange()
		}
		return true
	}
	inner := func(k, val []byte) bool {
		if !emit(k) {
			return false
		}
		if valid && bytes.Equal(it.Item().key, k) {
			e := it.Item()
			valid = it.Next() && inRange()
			if !e.del && !fn(e.key, e.val) {
				stopped = true
				return false
			}
			return true
		}
		if !fn(k, val) {
			stopped = true
			return false
		}
		return true
	}
	cur := from
	for _, s := range v.o.ranges[b] {
		if !before(cur, s.to) {
			continue // the span ends before cur
		}
		if to != nil && bytes.Compare(s.from, to) >= 0 {
			break
		}
		if bytes.Compare(cur, s.from) < 0 {
			if err := v.r.Scan(b, cur, s.from, inner); err != nil || stopped {
				return err
			}
		}
		if s.to == nil {
			emit(nil)
			return nil
		}
		cur = s.to
	}
	if to == nil || bytes.Compare(cur, to) < 0 {
		if err := v.r.Scan(b, cur, to, inner); err != nil || stopped {
			return err
		}
	}
	emit(nil)
	return nil
}
