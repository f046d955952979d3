package boltkv_test

import (
	"encoding/binary"
	"testing"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
	"github.com/wasmrun/wasmrun/stable/internal/kv/boltkv"
)

// BenchmarkCommit measures one durable commit (real fdatasync) of one value, of the plain bbolt
// engine and of bbolt with its log in front (through the log, and UpdateBackground, straight
// into bbolt), in the test's temporary directory: what the log layer buys and costs.
//
//	go test ./stable/internal/kv/boltkv -run '^$' -bench Commit -count 6
func BenchmarkCommit(b *testing.B) {
	engines := []struct {
		name string
		open func(b *testing.B) kv.Store
		bg   bool
	}{
		{"bolt", func(b *testing.B) kv.Store {
			s, err := boltkv.OpenBolt(newFile(b), boltkv.BoltOptions{Buckets: benchBuckets})
			if err != nil {
				b.Fatal(err)
			}
			return s
		}, false},
		{"log", openLocal, false},
		{"logBackground", openLocal, true},
	}
	for _, size := range []int{100, 64 << 10, 1 << 20} {
		for _, e := range engines {
			b.Run(sizeName(size)+"/"+e.name, func(b *testing.B) {
				s := e.open(b)
				defer s.Close()
				update := s.Update
				if e.bg {
					update = s.UpdateBackground
				}
				val := make([]byte, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					key := binary.BigEndian.AppendUint64(nil, uint64(i))
					if err := update(func(w kv.Writer) error { return w.Put(0, key, val) }); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

var benchBuckets = []kv.BucketSpec{{Name: "b", FillPercent: 1}}

func openLocal(b *testing.B) kv.Store {
	s, err := boltkv.Open(newFile(b), kv.Options{Buckets: benchBuckets})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return "1MiB"
	case n >= 1<<10:
		return "64KiB"
	}
	return "100B"
}
