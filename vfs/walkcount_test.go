package vfs_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/stats"
)

// opCounts sums the calls counted by each StatsFS, by Op.
func opCounts(ss ...*stats.Counter) [stats.NumOps]int64 {
	var n [stats.NumOps]int64
	for _, s := range ss {
		st := s.Stats()
		for op := range st.Ops {
			n[op] += st.Ops[op].Count
		}
	}
	return n
}

// TestBackendCalls counts the backend calls of namespace operations on /data/a/b.txt, with "/"
// and "/data" two heaps behind stats.Wrap. Lookup reports the entry's type and ".." comes
// from the backend, so a walk spends one Lookup per component and no Stat (a path relative to a
// directory handle whose only component is "." or ".." spends one Stat, on the handle's node,
// whose type a Node does not carry). The figures are exact: a change that adds a call per
// component fails here. Before Lookup reported types, the first four cost 6, 5, 7 and 5 calls
// (a Stat for each of the last two components).
func TestBackendCalls(t *testing.T) {
	tests := []struct {
		name string
		at   string // the directory a relative path starts from, "" for none
		op   func(ns *vfs.Namespace, at vfs.Node) (*vfs.Handle, vfs.Errno)
		want string
	}{
		{"open /data/a/b.txt", "", func(ns *vfs.Namespace, at vfs.Node) (*vfs.Handle, vfs.Errno) {
			return ns.Open(at, "/data/a/b.txt", vfs.ORead, 0)
		}, "lookup=3 open=1"},
		{"open a/b.txt at /data", "/data", func(ns *vfs.Namespace, at vfs.Node) (*vfs.Handle, vfs.Errno) {
			return ns.Open(at, "a/b.txt", vfs.ORead, 0)
		}, "lookup=2 open=1"},
		{"create /data/a/c.txt", "", func(ns *vfs.Namespace, at vfs.Node) (*vfs.Handle, vfs.Errno) {
			return ns.Open(at, "/data/a/c.txt", vfs.OWrite|vfs.OCreate|vfs.OExcl, 0o644)
		}, "lookup=3 create=1 open=1"},
		{"stat /data/a/b.txt", "", func(ns *vfs.Namespace, at vfs.Node) (*vfs.Handle, vfs.Errno) {
			_, e := ns.StatAt(at, "/data/a/b.txt", true)
			return nil, e
		}, "lookup=3 stat=1"},
		{"resolve .. at /data/a", "/data/a", func(ns *vfs.Namespace, at vfs.Node) (*vfs.Handle, vfs.Errno) {
			_, e := ns.Resolve(at, "..", true)
			return nil, e
		}, "lookup=1 stat=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, data := stats.Wrap(heap.New(heap.Options{})), stats.Wrap(heap.New(heap.Options{}))
			ns := vfs.NewNamespace(root.FS())
			t.Cleanup(func() { ns.Close() })
			if err := ns.Mount("/data", data.FS()); err != nil {
				t.Fatal(err)
			}
			if e := ns.Mkdir(vfs.Node{}, "/data/a", 0o755); e != 0 {
				t.Fatal(e)
			}
			h, e := ns.Open(vfs.Node{}, "/data/a/b.txt", vfs.OWrite|vfs.OCreate, 0o644)
			if e != 0 {
				t.Fatal(e)
			}
			h.File.Close()
			var at vfs.Node
			if tt.at != "" {
				if at, e = ns.Resolve(vfs.Node{}, tt.at, true); e != 0 {
					t.Fatal(e)
				}
			}

			before := opCounts(root, data)
			h, e = tt.op(ns, at)
			after := opCounts(root, data)
			if e != 0 {
				t.Fatal(e)
			}
			if h != nil {
				h.File.Close()
			}
			var total int64
			var b strings.Builder
			for op := range after {
				if d := after[op] - before[op]; d != 0 {
					total += d
					fmt.Fprintf(&b, " %s=%d", stats.Op(op), d)
				}
			}
			got := strings.TrimSpace(b.String())
			t.Logf("%s: %d backend calls (%s)", tt.name, total, got)
			if got != tt.want {
				t.Errorf("%s: backend calls %s, want %s", tt.name, got, tt.want)
			}
		})
	}
}
