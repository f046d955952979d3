package etcdkv

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
)

// BenchmarkCommit4KiB: one Update putting one 4 KiB value (an fsync'd append's commit).
func BenchmarkCommit4KiB(b *testing.B) {
	s := openTest(b, testConfig(b, storeName(b)))
	v := bytes.Repeat([]byte{1}, 4<<10)
	b.SetBytes(int64(len(v)))
	for i := 0; b.Loop(); i++ {
		if err := s.Update(func(w kv.Writer) error { return w.Put(0, fmt.Appendf(nil, "%d", i%64), v) }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawPut4KiB: a plain etcd Put of the same payload, for comparison.
func BenchmarkRawPut4KiB(b *testing.B) {
	cli := cluster.Client(b)
	v := string(bytes.Repeat([]byte{1}, 4<<10))
	b.SetBytes(int64(len(v)))
	for i := 0; b.Loop(); i++ {
		if _, err := cli.Put(context.Background(), fmt.Sprintf("raw-%d", i%64), v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommit64MiB: one Update of 8192 values of 8 KiB (a staged commit).
func BenchmarkCommit64MiB(b *testing.B) {
	s := openTest(b, testConfig(b, storeName(b)))
	b.SetBytes(64 << 20)
	for b.Loop() {
		if err := s.Update(func(w kv.Writer) error { return bigCommit(w, 8192, 8<<10, "bench") }); err != nil {
			b.Fatal(err)
		}
	}
}
