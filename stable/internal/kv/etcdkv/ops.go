package etcdkv

import (
	clientv3 "go.etcd.io/etcd/client/v3"
)

// etcd's default server limits, which every commit stays under so that a cluster needs no
// flags: a request of at most 1.5 MiB (--max-request-bytes) and a transaction of at most 128
// operations (--max-txn-ops).
const (
	maxTxnOps = 128
	// maxTxnBytes is the bytes of keys and values one transaction carries, leaving room under
	// the 1.5 MiB request limit for its framing.
	maxTxnBytes = 1 << 20
	// chunkBytes is the size of a staged chunk (one Put).
	chunkBytes = 1 << 20
	// maxValueBytes is the largest key plus value one Put can carry.
	maxValueBytes = 1536<<10 - 4<<10
)

// op is one etcd operation of a change set, with its size.
type op struct {
	op   clientv3.Op
	size int
}

// ops returns the etcd operations that apply c. A deleted range holding keys that c sets is
// split around them (etcd refuses a transaction that puts a key inside a range it deletes).
func (c *changeSet) ops() []op {
	var out []op
	for _, r := range c.ranges {
		from := r.from
		c.keys.Ascend(r.from, func(k string, _ entry) bool {
			if k >= r.to {
				return false
			}
			if from < k {
				out = append(out, op{clientv3.OpDelete(from, clientv3.WithRange(k)), len(from) + len(k)})
			}
			from = k + "\x00"
			return true
		})
		if from < r.to {
			out = append(out, op{clientv3.OpDelete(from, clientv3.WithRange(r.to)), len(from) + len(r.to)})
		}
	}
	c.keys.Scan(func(k string, e entry) bool {
		if e.del {
			out = append(out, op{clientv3.OpDelete(k), len(k)})
		} else {
			out = append(out, op{clientv3.OpPut(k, string(e.val)), len(k) + len(e.val)})
		}
		return true
	})
	return out
}

// fitsOne reports whether ops fit in one transaction beside extra more small operations.
func fitsOne(ops []op, extra, maxBytes int) bool {
	if len(ops)+extra > maxTxnOps {
		return false
	}
	n := 0
	for _, o := range ops {
		n += o.size
	}
	return n <= maxBytes
}

// batches splits ops into groups that each fit one transaction.
func batches(ops []op, maxBytes int) [][]clientv3.Op {
	var out [][]clientv3.Op
	var cur []clientv3.Op
	n := 0
	for _, o := range ops {
		if len(cur) > 0 && (len(cur)+1 > maxTxnOps-1 || n+o.size > maxBytes) {
			out = append(out, cur)
			cur, n = nil, 0
		}
		cur = append(cur, o.op)
		n += o.size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
