package etcdkv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"sort"

	"github.com/tidwall/btree"
)

// A changeSet is the net effect of one transaction on the store's etcd keys (full keys, prefix
// included): keys set or deleted one by one, and deleted ranges. A key's own entry wins over a
// range that holds it (a Put after a DeleteRange), and a DeleteRange drops the entries of the
// keys it covers (a DeleteRange after a Put), so the order of the operations is folded in and
// applying the set in any order gives the same state. That is what lets one etcd transaction,
// which refuses a key that is both put and inside a deleted range, or one published commit
// applied over many transactions, carry it.
//
// A changeSet owns its keys and values. Once committed it is immutable and shared by readers.
type changeSet struct {
	keys   btree.Map[string, entry]
	ranges []keyRange // disjoint, ascending
	bytes  int        // about the bytes of keys and values
}

// entry is a key's own change: a value, or a deletion.
type entry struct {
	val []byte
	del bool
}

// keyRange is [from, to) over full keys; to is never empty.
type keyRange struct{ from, to string }

func (c *changeSet) empty() bool { return c.keys.Len() == 0 && len(c.ranges) == 0 }

func (c *changeSet) put(k string, v []byte) {
	c.keys.Set(k, entry{val: append(make([]byte, 0, len(v)), v...)}) // never nil
	c.bytes += len(k) + len(v)
}

// putTagged sets k to the tag byte followed by v.
func (c *changeSet) putTagged(k string, tag byte, v []byte) {
	val := make([]byte, 1+len(v))
	val[0] = tag
	copy(val[1:], v)
	c.keys.Set(k, entry{val: val})
	c.bytes += len(k) + len(val)
}

func (c *changeSet) del(k string) {
	c.keys.Set(k, entry{del: true})
	c.bytes += len(k)
}

// delRange deletes [from, to): the key entries inside go, and the range joins the ranges.
func (c *changeSet) delRange(from, to string) {
	if from >= to {
		return
	}
	var drop []string
	c.keys.Ascend(from, func(k string, _ entry) bool {
		if k >= to {
			return false
		}
		drop = append(drop, k)
		return true
	})
	for _, k := range drop {
		c.keys.Delete(k)
	}
	// Merge with the ranges it overlaps or touches.
	var out []keyRange
	r := keyRange{from, to}
	for _, x := range c.ranges {
		switch {
		case x.to < r.from || x.from > r.to:
			out = append(out, x)
		default:
			r.from, r.to = min(r.from, x.from), max(r.to, x.to)
		}
	}
	out = append(out, r)
	sort.Slice(out, func(i, j int) bool { return out[i].from < out[j].from })
	c.ranges = out
	c.bytes += len(from) + len(to)
}

// inRange reports whether k is inside one of the deleted ranges.
func (c *changeSet) inRange(k string) bool {
	i := sort.Search(len(c.ranges), func(i int) bool { return c.ranges[i].to > k })
	return i < len(c.ranges) && c.ranges[i].from <= k
}

// lookup returns the set's word on k: found is false if the set does not touch k; otherwise
// v is k's value, nil if deleted.
func (c *changeSet) lookup(k string) (v []byte, found bool) {
	if e, ok := c.keys.Get(k); ok {
		if e.del {
			return nil, true
		}
		return e.val, true
	}
	if c.inRange(k) {
		return nil, true
	}
	return nil, false
}

// over returns the keys and values of [from, to) in base with c applied over them, in order.
func (c *changeSet) over(base iter.Seq2[string, []byte], from, to string) iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) {
		it := c.keys.Iter()
		ok := it.Seek(from)
		// emitBefore yields c's values at keys before k ("" for all up to to).
		emitBefore := func(k string, all bool) bool {
			for ok && it.Key() < to && (all || it.Key() < k) {
				if e := it.Value(); !e.del {
					if !yield(it.Key(), e.val) {
						return false
					}
				}
				ok = it.Next()
			}
			return true
		}
		for k, v := range base {
			if !emitBefore(k, false) {
				return
			}
			if ok && it.Key() == k {
				e := it.Value()
				ok = it.Next()
				if !e.del && !yield(k, e.val) {
					return
				}
				continue
			}
			if c.inRange(k) {
				continue
			}
			if !yield(k, v) {
				return
			}
		}
		emitBefore("", true)
	}
}

// The encoding of a change set in staged chunks: records of
//
//	op (1 byte: 'p' put, 'd' delete, 'r' delete range), uvarint len(a), a, uvarint len(b), b
//
// (a put's key and value, a deletion's key and nothing, a range's from and to).

// records yields c's records, ranges first (applying them in order gives c's state).
func (c *changeSet) records() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for _, r := range c.ranges {
			if !yield(record('r', r.from, []byte(r.to))) {
				return
			}
		}
		c.keys.Scan(func(k string, e entry) bool {
			if e.del {
				return yield(record('d', k, nil))
			}
			return yield(record('p', k, e.val))
		})
	}
}

func record(op byte, a string, b []byte) []byte {
	out := make([]byte, 0, 1+2*binary.MaxVarintLen32+len(a)+len(b))
	out = append(out, op)
	out = binary.AppendUvarint(out, uint64(len(a)))
	out = append(out, a...)
	out = binary.AppendUvarint(out, uint64(len(b)))
	return append(out, b...)
}

var errBadChunk = errors.New("bad staged chunk")

// decodeInto applies the records of one chunk to c.
func (c *changeSet) decodeInto(chunk []byte) error {
	for len(chunk) > 0 {
		op := chunk[0]
		chunk = chunk[1:]
		a, rest, err := field(chunk)
		if err != nil {
			return err
		}
		b, rest, err := field(rest)
		if err != nil {
			return err
		}
		chunk = rest
		switch op {
		case 'p':
			c.put(string(a), b)
		case 'd':
			c.del(string(a))
		case 'r':
			c.delRange(string(a), string(b))
		default:
			return fmt.Errorf("%w: record type %q", errBadChunk, op)
		}
	}
	return nil
}

func field(b []byte) (f, rest []byte, err error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || uint64(len(b)-w) < n {
		return nil, nil, fmt.Errorf("%w: truncated record", errBadChunk)
	}
	return b[w : w+int(n)], b[w+int(n):], nil
}
